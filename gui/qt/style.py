"""The one palette module: the few semantic colours, made readable in whatever theme is active.

Everything else takes its colours from the palette (``palette(base)``, ``palette(mid)`` … in
style sheets), so light, dark and high-contrast themes all work. A semantic colour (error,
warning, ok, running, muted) has a light-theme and a dark-theme shade; whichever is chosen must
reach WCAG's 4.5:1 contrast against the background it is drawn on, else the theme's own text
colour is used, since a readable message in the "wrong" colour beats an unreadable red one.
"""

from __future__ import annotations

import enum

from PySide6.QtGui import QBrush, QColor, QGuiApplication, QPalette

# WCAG 2.x: normal text needs 4.5:1 against its background.
MIN_CONTRAST = 4.5


class Tone(enum.Enum):
    ERROR = ("#b3261e", "#f2b8b5")
    WARNING = ("#8a5300", "#ffd27a")
    OK = ("#1e7b34", "#8fdca4")
    RUNNING = ("#0b57d0", "#a8c7fa")
    MUTED = ("#5f6368", "#bdc1c6")

    def __init__(self, light: str, dark: str) -> None:
        self.light = light
        self.dark = dark


def _palette(palette: QPalette | None) -> QPalette:
    return palette if palette is not None else QGuiApplication.palette()


def _luminance(color: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(color.redF()) + 0.7152 * channel(color.greenF())
            + 0.0722 * channel(color.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    """WCAG contrast ratio of two colours, 1.0 (none) to 21.0 (black on white)."""
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def is_dark(palette: QPalette | None = None) -> bool:
    return _palette(palette).color(QPalette.ColorRole.Window).lightness() < 128


def color(tone: Tone, palette: QPalette | None = None,
          on: QPalette.ColorRole = QPalette.ColorRole.Window) -> QColor:
    """``tone`` as a colour readable on the ``on`` role of ``palette`` (the app's by default)."""
    pal = _palette(palette)
    background = pal.color(on)
    shade = QColor(tone.dark if background.lightness() < 128 else tone.light)
    if contrast(shade, background) >= MIN_CONTRAST:
        return shade
    text_role = (QPalette.ColorRole.Text if on == QPalette.ColorRole.Base
                 else QPalette.ColorRole.WindowText)
    return pal.color(text_role)


def brush(tone: Tone, palette: QPalette | None = None) -> QBrush:
    """For item models' ForegroundRole (items are drawn on the view's Base colour)."""
    return QBrush(color(tone, palette, QPalette.ColorRole.Base))


def text_style(tone: Tone, palette: QPalette | None = None) -> str:
    """A style-sheet fragment that colours a label's text."""
    return f"color: {color(tone, palette).name()};"


def badge_style(tone: Tone, palette: QPalette | None = None) -> str:
    """A rounded pill: the tone's colour on a faint wash of it over the window colour."""
    pal = _palette(palette)
    window = pal.color(QPalette.ColorRole.Window)
    fg = color(tone, pal)
    wash = QColor(
        round(window.red() * 0.85 + fg.red() * 0.15),
        round(window.green() * 0.85 + fg.green() * 0.15),
        round(window.blue() * 0.85 + fg.blue() * 0.15),
    )
    if contrast(fg, wash) < MIN_CONTRAST:
        wash = window
    return (f"QLabel {{ background: {wash.name()}; color: {fg.name()}; border: 1px solid "
            f"{fg.name()}; border-radius: 9px; padding: 2px 10px; font-weight: 600; }}")


def panel_style(selector: str, *, dashed: bool = False) -> str:
    """A framed panel in the theme's own colours (``palette()`` references follow the theme)."""
    border = "2px dashed" if dashed else "1px solid"
    return (f"{selector} {{ background: palette(alternate-base); color: palette(text); "
            f"border: {border} palette(mid); border-radius: 8px; padding: 6px; }}")

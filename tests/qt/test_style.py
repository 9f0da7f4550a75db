"""Colours come from the palette: semantic tones stay readable in light, dark and high-contrast
themes, and no widget hard-codes a colour of its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from gui.qt import style
from gui.qt.style import Tone

QT_DIR = Path(__file__).resolve().parents[2] / "gui" / "qt"


def _palette(window: str, base: str, text: str) -> QPalette:
    palette = QPalette()
    palette.setColor(QPalette.ColorRole.Window, QColor(window))
    palette.setColor(QPalette.ColorRole.Base, QColor(base))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(text))
    palette.setColor(QPalette.ColorRole.Text, QColor(text))
    return palette


THEMES = {
    "light": _palette("#efefef", "#ffffff", "#000000"),
    "dark": _palette("#2b2b2b", "#1e1e1e", "#f0f0f0"),
    "high contrast black": _palette("#000000", "#000000", "#ffffff"),
    "high contrast white": _palette("#ffffff", "#ffffff", "#000000"),
    # A theme whose window colour is mid-grey: neither shade of a tone may be readable on it.
    "mid grey": _palette("#808080", "#808080", "#000000"),
}


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("tone", list(Tone))
def test_every_tone_is_readable_in_every_theme(qapp: QApplication, theme: str, tone: Tone) -> None:
    palette = THEMES[theme]
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
        shade = style.color(tone, palette, role)
        assert style.contrast(shade, palette.color(role)) >= style.MIN_CONTRAST, (theme, tone)


def test_dark_theme_takes_the_light_shade(qapp: QApplication) -> None:
    assert style.color(Tone.ERROR, THEMES["dark"]).name() == Tone.ERROR.dark
    assert style.color(Tone.ERROR, THEMES["light"]).name() == Tone.ERROR.light


@pytest.mark.parametrize("theme", THEMES)
def test_badges_are_readable(qapp: QApplication, theme: str) -> None:
    sheet = style.badge_style(Tone.WARNING, THEMES[theme])
    background, foreground = re.findall(r"(?:background|color): (#[0-9a-f]{6})", sheet)
    assert style.contrast(QColor(background), QColor(foreground)) >= style.MIN_CONTRAST


# A hex colour, a named QColor, or a Qt colour constant (a transparent fill is no colour choice).
HARD_CODED = r"#[0-9a-fA-F]{6}\b|QColor\(\s*[\"']|Qt\.GlobalColor\.(?!transparent)"


def test_no_widget_hard_codes_a_colour() -> None:
    offenders = []
    for path in QT_DIR.rglob("*.py"):
        if path.name == "style.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(HARD_CODED, line):
                offenders.append(f"{path.relative_to(QT_DIR)}:{number}: {line.strip()}")
    assert not offenders, "colours belong in gui/qt/style.py:\n" + "\n".join(offenders)

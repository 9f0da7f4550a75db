"""Durations and speeds in the window's language, for the progress views (transfers, steps).

Sizes and numbers come from ``gui.qt.i18n`` (QLocale); these add the units that QLocale has no
formatter for. ``gui.units`` stays the terminal's English version.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication

from gui.qt.i18n import format_number, format_size

CONTEXT = "Measures"
UNKNOWN = "—"  # not known yet (no rate to go by): the same in every language


def format_duration(seconds: float | None, *, tenths: bool = False) -> str:
    """75 → "1 min 15 s"; below a minute with ``tenths`` "3.2 s" (a step's duration);
    ``None`` (not known yet) → "—"."""
    if seconds is None or seconds < 0:
        return UNKNOWN
    if seconds < 60 and tenths:
        return QCoreApplication.translate("Measures", "{seconds} s").format(
            seconds=format_number(seconds, 1)
        )
    whole = round(seconds)
    if whole < 60:
        return QCoreApplication.translate("Measures", "{seconds} s").format(
            seconds=format_number(whole)
        )
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return QCoreApplication.translate("Measures", "{minutes} min {seconds} s").format(
            minutes=format_number(minutes), seconds=format_number(rest)
        )
    hours, minutes = divmod(minutes, 60)
    return QCoreApplication.translate("Measures", "{hours} h {minutes} min").format(
        hours=format_number(hours), minutes=format_number(minutes)
    )


def format_rate(bytes_per_second: float) -> str:
    """5242880 → "5.0 MiB/s"."""
    return QCoreApplication.translate("Measures", "{size}/s").format(
        size=format_size(round(bytes_per_second))
    )


def format_percent(fraction: float, decimals: int = 0) -> str:
    """0.425 → "42.5 %" (English) / "42,5 %" (German); never rounds up to 100 before the end."""
    scale = 10**decimals
    value = int(fraction * 100 * scale) / scale  # floor: 99.96 % is not done
    return QCoreApplication.translate("Measures", "{percent} %").format(
        percent=format_number(value, decimals)
    )

"""Sizes and durations as people read them (no Qt: the terminal command shows them too)."""

from __future__ import annotations


def human_bytes(count: float) -> str:
    """1536 → '1.5 KiB'; binary units, as Azure sizes disks."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


def human_duration(seconds: float | None) -> str:
    """75 → '1 min 15 s'; None (not known yet) → '—'."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

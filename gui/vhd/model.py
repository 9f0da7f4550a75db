"""Plain data the engine hands out: formats, findings and byte ranges."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ImageFormat(enum.Enum):
    VHD_FIXED = "VHD (fixed)"
    VHD_DYNAMIC = "VHD (dynamic)"
    VHD_DIFFERENCING = "VHD (differencing)"
    VHDX_FIXED = "VHDX (fixed)"
    VHDX_DYNAMIC = "VHDX (dynamic)"
    RAW = "raw disk image"

    @property
    def label(self) -> str:
        return self.value


class Level(enum.IntEnum):
    """How much a finding matters; ERROR blocks the upload."""

    INFO = 0
    WARNING = 1
    ERROR = 2


@dataclass(frozen=True)
class Finding:
    level: Level
    code: str
    message: str


@dataclass(frozen=True, order=True)
class Range:
    """``length`` bytes starting at ``offset`` of the fixed-layout stream."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


def merge_ranges(ranges: list[Range]) -> list[Range]:
    """Sort and merge touching or overlapping ranges; drop empty ones."""
    merged: list[Range] = []
    for r in sorted(r for r in ranges if r.length > 0):
        if merged and r.offset <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Range(last.offset, max(last.end, r.end) - last.offset)
        else:
            merged.append(r)
    return merged

"""Plain data the engine hands out: formats, findings and byte ranges."""

from __future__ import annotations

import enum
from array import array
from dataclasses import dataclass

from gui.i18n import QT_TR_NOOP, Message, Render, Text, message

# The most ranges a disk's data map keeps. A block table can claim millions of separate blocks;
# past this many, neighbouring ranges are joined (see RangeCollector), so memory stays bounded.
MAX_RANGES = 1 << 16
# The first gap joined when there are too many ranges: the upload reads in 64 KiB granules, so
# joining gaps this small costs next to nothing.
FIRST_JOIN_GAP = 64 * 1024


class ImageFormat(enum.Enum):
    VHD_FIXED = "VHD (fixed)"
    VHD_DYNAMIC = "VHD (dynamic)"
    VHD_DIFFERENCING = "VHD (differencing)"
    VHDX_FIXED = "VHDX (fixed)"
    VHDX_DYNAMIC = "VHDX (dynamic)"
    RAW = "raw disk image"
    QCOW2 = "qcow2"
    VMDK_SPARSE = "VMDK (monolithic sparse)"
    VMDK_STREAM_OPTIMIZED = "VMDK (stream-optimized)"
    VMDK_SPLIT_SPARSE = "VMDK (sparse, split in 2 GB extents)"
    VMDK_FLAT = "VMDK (flat)"
    VMDK_SPLIT_FLAT = "VMDK (flat, split in 2 GB extents)"
    VDI_STATIC = "VDI (fixed)"
    VDI_DYNAMIC = "VDI (dynamic)"
    # An OVF appliance: the disk read is one member of the tar, named in the image's details.
    OVA = "OVA appliance"

    @property
    def label(self) -> Text:
        """The format for people ("VHD (dynamic)"), translatable; ``name`` stays the machine
        word (``inspect --json``), ``value`` the English label."""
        return Text(_FORMAT_LABELS[self])


class Level(enum.IntEnum):
    """How much a finding matters; ERROR blocks the upload."""

    INFO = 0
    WARNING = 1
    ERROR = 2

    @property
    def label(self) -> Text:
        """The level for people ("Warning"), translatable; ``name`` stays the machine word."""
        return Text(_LEVEL_LABELS[self])


_LEVEL_LABELS = {
    Level.INFO: message(QT_TR_NOOP("Information")),
    Level.WARNING: message(QT_TR_NOOP("Warning")),
    Level.ERROR: message(QT_TR_NOOP("Error")),
}


# Written out, not taken from the enum's values: lupdate reads the literals in QT_TR_NOOP.
_FORMAT_LABELS = {
    ImageFormat.VHD_FIXED: message(QT_TR_NOOP("VHD (fixed)")),
    ImageFormat.VHD_DYNAMIC: message(QT_TR_NOOP("VHD (dynamic)")),
    ImageFormat.VHD_DIFFERENCING: message(QT_TR_NOOP("VHD (differencing)")),
    ImageFormat.VHDX_FIXED: message(QT_TR_NOOP("VHDX (fixed)")),
    ImageFormat.VHDX_DYNAMIC: message(QT_TR_NOOP("VHDX (dynamic)")),
    ImageFormat.RAW: message(QT_TR_NOOP("raw disk image")),
    # QEMU's own name for its format, the same in every language: nothing to translate.
    ImageFormat.QCOW2: message(ImageFormat.QCOW2.value),
    ImageFormat.VMDK_SPARSE: message(QT_TR_NOOP("VMDK (monolithic sparse)")),
    ImageFormat.VMDK_STREAM_OPTIMIZED: message(QT_TR_NOOP("VMDK (stream-optimized)")),
    ImageFormat.VMDK_SPLIT_SPARSE: message(QT_TR_NOOP("VMDK (sparse, split in 2 GB extents)")),
    ImageFormat.VMDK_FLAT: message(QT_TR_NOOP("VMDK (flat)")),
    ImageFormat.VMDK_SPLIT_FLAT: message(QT_TR_NOOP("VMDK (flat, split in 2 GB extents)")),
    ImageFormat.VDI_STATIC: message(QT_TR_NOOP("VDI (fixed)")),
    ImageFormat.VDI_DYNAMIC: message(QT_TR_NOOP("VDI (dynamic)")),
    ImageFormat.OVA: message(QT_TR_NOOP("OVA appliance")),
}


@dataclass(frozen=True)
class Finding:
    """What a reader noticed about an image. ``message`` is the English sentence (as the
    ``inspect`` command prints it); made from a :class:`Message`, it is a :class:`Text`, and
    :meth:`localized` gives it in the window's language."""

    level: Level
    code: str
    message: str

    def __init__(self, level: Level, code: str, message: Message | str) -> None:
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "message", Text(message))

    def localized(self, render: Render) -> str:
        return Text(self.message).localized(render)


@dataclass(frozen=True, order=True, slots=True)
class Range:
    """``length`` bytes starting at ``offset`` of the fixed-layout stream."""

    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


class RangeCollector:
    """Merges (start, end) pairs, given in order of start, as they arrive; memory stays bounded.

    Touching and overlapping pairs merge. When more than ``max_ranges`` separate ranges build up,
    ranges closer than a gap are joined, and the gap doubles until at most half remain: the
    result then also covers some bytes that hold no data. That is safe, since everything outside
    the stored blocks reads as zeros and the upload's zero scan skips them, and it keeps a crafted
    file from costing memory in proportion to what it claims. Starts and ends live in two
    ``array('q')``: 16 bytes a range while collecting.
    """

    def __init__(self, max_ranges: int = MAX_RANGES) -> None:
        self._starts = array("q")
        self._ends = array("q")
        self._max = max(2, max_ranges)
        self.gap = 0  # ranges closer than this are joined; grows only past max_ranges

    def add(self, start: int, end: int) -> None:
        if start >= end:
            return
        starts, ends = self._starts, self._ends
        if ends:
            if start < starts[-1]:
                raise AssertionError("ranges must come in order")  # engine bug, not user input
            if start <= ends[-1] + self.gap:
                ends[-1] = max(ends[-1], end)
                return
        starts.append(start)
        ends.append(end)
        if len(starts) > self._max:
            self._coarsen()

    def _coarsen(self) -> None:
        # The gap that leaves at most half the ranges is found from the sorted gaps in one go,
        # then rounded up to a power of two (at least FIRST_JOIN_GAP) so it only ever grows in
        # a few big steps.
        starts, ends = self._starts, self._ends
        gaps = sorted(s - e for s, e in zip(starts[1:], ends[:-1], strict=True))
        needed = gaps[len(starts) - self._max // 2 - 1]
        gap = max(FIRST_JOIN_GAP, self.gap * 2)
        while gap < needed:
            gap *= 2
        self.gap = gap
        merged_starts, merged_ends = array("q", starts[:1]), array("q", ends[:1])
        for start, end in zip(starts[1:], ends[1:], strict=True):
            if start <= merged_ends[-1] + gap:
                merged_ends[-1] = max(merged_ends[-1], end)
            else:
                merged_starts.append(start)
                merged_ends.append(end)
        self._starts, self._ends = merged_starts, merged_ends

    def ranges(self) -> list[Range]:
        return [Range(s, e - s) for s, e in zip(self._starts, self._ends, strict=True)]

"""How a format maps the virtual disk onto its file(s).

Each format module provides a :class:`Layout`: it reads any piece of the virtual disk into a
caller's buffer (zeros where nothing is stored) and lists where data can be. Layouts hold no
per-read state, so one layout serves many threads at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

from gui.diskimage.footer import VhdFooter
from gui.diskimage.model import Finding, ImageFormat
from gui.diskimage.packed import GapSource
from gui.diskimage.pio import PositionalFile, SourceFile

ZERO_CHUNK = bytes(1 << 20)


def fill_zero(view: memoryview) -> None:
    """Zero ``view`` in place without allocating in proportion to its length."""
    pos = 0
    total = len(view)
    step = len(ZERO_CHUNK)
    while pos < total:
        n = min(step, total - pos)
        view[pos : pos + n] = ZERO_CHUNK[:n] if n < step else ZERO_CHUNK
        pos += n


class Layout(Protocol):
    @property
    def virtual_size(self) -> int: ...

    def read(self, offset: int, view: memoryview) -> None:
        """Fill ``view`` with the virtual disk from ``offset``; the range is inside the disk."""

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        """Sorted (start, end) virtual ranges that can hold data; everything else reads as zero.

        Ranges closer than ``join.gap`` bytes (read again as the walk goes) may be yielded as one:
        a collector that has grown its gap then stops paying for each of a million tiny runs.
        """


class FlatLayout:
    """The disk's bytes lie at the start of one file (raw image, fixed VHD, and its data area)."""

    def __init__(self, file: SourceFile, data_length: int, virtual_size: int) -> None:
        self._file = file
        # Bytes past the stored data (a truncated copy) read as zero; never past the file end.
        self._stored = max(0, min(data_length, virtual_size, file.size))
        self._virtual_size = virtual_size

    @property
    def virtual_size(self) -> int:
        return self._virtual_size

    def read(self, offset: int, view: memoryview) -> None:
        end = offset + len(view)
        stored_end = min(end, self._stored)
        split = max(0, stored_end - offset)
        if split:
            self._file.readinto(offset, view[:split])
        if split < len(view):
            fill_zero(view[split:])

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        return self._file.data_extents(0, self._stored)  # as many as the file system's extents


@dataclass
class OpenedLayout:
    """What a format module found in a file: enough for :class:`gui.diskimage.image.DiskImage`."""

    format: ImageFormat
    layout: Layout
    disk_id: uuid.UUID
    timestamp: int
    source_footer: VhdFooter | None = None
    findings: list[Finding] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)
    # Further files the layout reads (the parents of a differencing disk), closed with the image.
    other_files: list[PositionalFile] = field(default_factory=list)

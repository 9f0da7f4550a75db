"""A byte range of one file read as a file of its own: an OVA's disk, read in place in the tar.

Extracting a disk from an OVA would cost a full-size temporary copy; a window instead maps every
read onto the member's bytes inside the archive. It is read-only, checks every read against its
own bounds (a structure in the member that claims bytes past it gets fewer, as at a file's end,
never the next member's), and reports the archive's file-system holes in its own offsets.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from gui.diskimage.pio import SourceFile


class FileWindow:
    """``length`` bytes of ``file`` from ``offset``, as a :class:`~gui.diskimage.pio.SourceFile`.

    ``path`` is the archive's path with the member's name appended (``appliance.ova/disk1.vmdk``):
    it names the member in messages, and a reader that looks beside it for further files (a
    VMDK's extents) finds nothing there, so refuses them by name.
    """

    def __init__(self, file: SourceFile, offset: int, length: int, name: str) -> None:
        if offset < 0 or length < 0 or offset + length > file.size:
            raise ValueError(f"window [{offset}, {offset + length}) is outside a "
                             f"{file.size}-byte file")  # the caller checked the archive first
        self._file = file
        self.offset = offset
        self.size = length
        self.name = name
        # Only the last part of the member's name: a crafted '../x' never makes a path elsewhere.
        self.path = file.path / (PurePosixPath(name).name or "member")
        # The archive's modification time stands for the member's (readers stamp footers by it).
        mtime_ns = getattr(file, "mtime_ns", None)
        self.mtime_ns: int = mtime_ns if isinstance(mtime_ns, int) else 0

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or offset + length > self.size:
            raise AssertionError("read outside the window requested")  # engine bug, not input

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; fewer only where the window ends."""
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return b""
        return self._file.read(self.offset + offset, length)

    def readinto(self, offset: int, view: memoryview) -> None:
        self._check(offset, len(view))
        self._file.readinto(self.offset + offset, view)

    def readv_into(self, offset: int, views: list[memoryview]) -> None:
        self._check(offset, sum(len(v) for v in views))
        self._file.readv_into(self.offset + offset, views)

    def data_extents(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        start, end = max(0, start), min(end, self.size)
        if start >= end:
            return
        for a, b in self._file.data_extents(self.offset + start, self.offset + end):
            yield a - self.offset, b - self.offset

    def __repr__(self) -> str:
        return f"FileWindow({str(self.path)!r}, offset={self.offset}, size={self.size})"


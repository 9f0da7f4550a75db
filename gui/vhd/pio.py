"""Positional, thread-safe reads of one file that never reach past its end.

Every read names its offset (``os.pread``/``os.preadv``), so many threads can share one descriptor
without a shared file position. Reads are clamped to the file size taken at open time: a structure
that claims bytes beyond the end gets fewer bytes, never bytes from elsewhere.
"""

from __future__ import annotations

import errno
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from gui.vhd.errors import ImageChangedError, ImageClosedError, ImageUnreadableError

_HAS_PREADV = hasattr(os, "preadv")
_HAS_PREAD = hasattr(os, "pread")
_SEEK_DATA = getattr(os, "SEEK_DATA", None)
_SEEK_HOLE = getattr(os, "SEEK_HOLE", None)


class PositionalFile:
    """A read-only file read at explicit offsets; ``size`` is fixed when opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except OSError as exc:
            raise ImageUnreadableError(path, exc.strerror or str(exc)) from exc
        try:
            st = os.fstat(self._fd)
            if not _is_regular_or_block(st.st_mode):
                raise ImageUnreadableError(path, "it is not a regular file")
            self.size = st.st_size if _is_regular(st.st_mode) else _block_device_size(self._fd)
            self.mtime_ns = st.st_mtime_ns
        except BaseException:
            os.close(self._fd)
            self._fd = None
            raise
        # Only used where the OS has no pread (Windows): serialises seek + read.
        self._seek_lock = threading.Lock()

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise ImageClosedError(self.path)
        return self._fd

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset``; fewer only where the file ends."""
        length = max(0, min(length, self.size - offset))
        if length == 0:
            return b""
        buf = bytearray(length)
        self.readinto(offset, memoryview(buf))
        return bytes(buf)

    def readinto(self, offset: int, view: memoryview) -> None:
        """Fill ``view`` exactly from ``offset``; the caller keeps the range inside the file."""
        if offset < 0 or offset + len(view) > self.size:
            raise AssertionError("read outside the file requested")  # engine bug, not user input
        fd = self.fd
        done = 0
        total = len(view)
        while done < total:
            part = view[done:]
            try:
                if _HAS_PREADV:
                    n = os.preadv(fd, [part], offset + done)
                elif _HAS_PREAD:
                    data = os.pread(fd, len(part), offset + done)
                    n = len(data)
                    part[:n] = data
                else:  # pragma: no cover - Windows
                    with self._seek_lock:
                        os.lseek(fd, offset + done, os.SEEK_SET)
                        data = os.read(fd, len(part))
                    n = len(data)
                    part[:n] = data
            except OSError as exc:
                raise ImageUnreadableError(self.path, exc.strerror or str(exc)) from exc
            if n == 0:
                raise ImageChangedError(self.path)
            done += n

    def readv_into(self, offset: int, views: list[memoryview]) -> None:
        """Fill consecutive ``views`` from one contiguous run of the file at ``offset``."""
        if not _HAS_PREADV:
            for view in views:
                self.readinto(offset, view)
                offset += len(view)
            return
        total = sum(len(v) for v in views)
        if offset < 0 or offset + total > self.size:
            raise AssertionError("read outside the file requested")  # engine bug, not user input
        try:
            n = os.preadv(self.fd, views, offset)
        except OSError as exc:
            raise ImageUnreadableError(self.path, exc.strerror or str(exc)) from exc
        if n < total:  # short read (rare): finish piece by piece
            done = n
            for view in views:
                if done >= len(view):
                    done -= len(view)
                    continue
                self.readinto(offset + n, view[done:])
                n += len(view) - done
                done = 0

    def data_extents(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """(offset, end) pieces of [start, end) that may hold data, skipping file-system holes.

        Without SEEK_DATA/SEEK_HOLE (or on file systems that do not report holes) the whole range
        is one piece, which is always correct, just not as small as it could be.
        """
        end = min(end, self.size)
        if start >= end:
            return
        if _SEEK_DATA is None or _SEEK_HOLE is None:
            yield start, end
            return
        fd = self.fd
        pos = start
        while pos < end:
            try:
                data = os.lseek(fd, pos, _SEEK_DATA)
            except OSError as exc:
                if exc.errno == errno.ENXIO:  # no data after pos
                    return
                yield pos, end  # SEEK_DATA not supported here: assume data
                return
            if data >= end:
                return
            try:
                hole = os.lseek(fd, data, _SEEK_HOLE)
            except OSError:
                hole = end
            hole = min(hole, end)
            yield data, hole
            pos = hole


def _is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def _is_regular_or_block(mode: int) -> bool:
    return stat.S_ISREG(mode) or stat.S_ISBLK(mode)


def _block_device_size(fd: int) -> int:
    return os.lseek(fd, 0, os.SEEK_END)

"""Positional, thread-safe reads of one file that never reach past its end.

Every read names its offset (``os.pread``/``os.preadv``), so many threads can share one descriptor
without a shared file position. Reads are clamped to the file size taken at open time: a structure
that claims bytes beyond the end gets fewer bytes, never bytes from elsewhere.

Windows has neither ``pread`` nor ``SEEK_DATA``/``SEEK_HOLE``. There reads take a lock, seek and
``readinto`` one handle, and every byte counts as data. The module-level ``read_method`` and
``use_holes`` pick the paths for files opened afterwards (a :class:`PositionalFile` argument
overrides them for one file), so the portable paths can be forced, and tested, on any system.
"""

from __future__ import annotations

import enum
import errno
import io
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from gui.diskimage.errors import ImageChangedError, ImageClosedError, ImageUnreadableError

_SEEK_DATA = getattr(os, "SEEK_DATA", None)
_SEEK_HOLE = getattr(os, "SEEK_HOLE", None)


class ReadMethod(enum.Enum):
    PREADV = "preadv"  # Linux, BSD, macOS 11+: scatter reads at an offset
    PREAD = "pread"  # other Unix
    SEEK = "seek"  # anything (Windows): lock, seek, readinto


def best_read_method() -> ReadMethod:
    if hasattr(os, "preadv"):
        return ReadMethod.PREADV
    if hasattr(os, "pread"):
        return ReadMethod.PREAD
    return ReadMethod.SEEK


def holes_supported() -> bool:
    return _SEEK_DATA is not None and _SEEK_HOLE is not None


# Defaults for files opened from now on; tests set them to force the portable paths.
read_method: ReadMethod = best_read_method()
use_holes: bool = holes_supported()


class SourceFile(Protocol):
    """What a format reader needs of the file it reads: positional reads and where data is.

    :class:`PositionalFile` is one; a window onto one member of a tar (an OVA's disk, read in
    place without extracting it) is another, so a reader typed on this protocol reads both.
    """

    path: Path
    size: int

    def read(self, offset: int, length: int) -> bytes: ...

    def readinto(self, offset: int, view: memoryview) -> None: ...

    def readv_into(self, offset: int, views: list[memoryview]) -> None: ...

    def data_extents(self, start: int, end: int) -> Iterator[tuple[int, int]]: ...


class PositionalFile:
    """A read-only file read at explicit offsets; ``size`` is fixed when opened."""

    def __init__(self, path: Path, *, method: ReadMethod | None = None,
                 holes: bool | None = None) -> None:
        self.path = path
        chosen = method or read_method
        if (chosen is ReadMethod.PREADV and not hasattr(os, "preadv")) or (
                chosen is ReadMethod.PREAD and not hasattr(os, "pread")):
            chosen = ReadMethod.SEEK  # asked for a call this OS lacks: the portable path
        self.read_method = chosen
        self.use_holes = (use_holes if holes is None else holes) and holes_supported()
        # Only for ReadMethod.SEEK: one unbuffered handle on the descriptor, its position
        # guarded by the lock (readinto fills the caller's buffer without a copy).
        self._seek_lock = threading.Lock()
        self._seek_file: io.FileIO | None = None
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

    @property
    def fd(self) -> int:
        if self._fd is None:
            raise ImageClosedError(self.path)
        return self._fd

    def close(self) -> None:
        with self._seek_lock:
            fd, self._fd = self._fd, None
            seek_file, self._seek_file = self._seek_file, None
        if seek_file is not None:
            seek_file.close()  # closefd=False: the descriptor is closed below
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
        method = self.read_method
        while done < total:
            part = view[done:]
            try:
                if method is ReadMethod.PREADV:
                    n = os.preadv(fd, [part], offset + done)
                elif method is ReadMethod.PREAD:
                    data = os.pread(fd, len(part), offset + done)
                    n = len(data)
                    part[:n] = data
                else:
                    n = self._seek_readinto(offset + done, part)
            except OSError as exc:
                raise ImageUnreadableError(self.path, exc.strerror or str(exc)) from exc
            if n == 0:
                raise ImageChangedError(self.path)
            done += n

    def _seek_readinto(self, offset: int, part: memoryview) -> int:
        with self._seek_lock:
            if self._seek_file is None:
                self._seek_file = io.FileIO(self.fd, "rb", closefd=False)
            self._seek_file.seek(offset)
            return self._seek_file.readinto(part) or 0

    def readv_into(self, offset: int, views: list[memoryview]) -> None:
        """Fill consecutive ``views`` from one contiguous run of the file at ``offset``."""
        if self.read_method is not ReadMethod.PREADV:
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
        if not self.use_holes or _SEEK_DATA is None or _SEEK_HOLE is None:
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

"""The output file of a download: created sparse, written at planned offsets, finished once.

Positional writes (``os.pwrite``) let any number of threads share the one descriptor with no
shared file position; where there is no ``pwrite`` (Windows) a lock serialises seek + write.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path
from types import TracebackType

from gui.diskimage.writers.errors import (
    DiskFullError,
    DiskImageWriteError,
    OutputFileTooLargeError,
    OutputNotWritableError,
    OutputWriteFailedError,
    PartialFileMissingError,
    ResumeMismatchError,
    WriterClosedError,
)
from gui.diskimage.writers.layout import PAGE, OutputLayout

_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR, errno.EISDIR,
                 errno.EROFS, errno.ENAMETOOLONG, errno.ELOOP}
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_COMPARE_CHUNK = 1 << 20


class DiskFileWriter:
    """Writes one disk image file laid out by ``layout``.

    ``resume=False`` creates (or replaces) the file: sized to its final length without writing
    zeros (so every hole stays a hole), with the layout's headers and tables. ``resume=True``
    reopens the partial file of an earlier writer with an equal layout, checks that its size and
    structures are exactly those planned (else :class:`ResumeMismatchError`), and writes on.
    :meth:`write` may be called from many threads at once; :meth:`finish` (once every write has
    returned) writes the footers and flushes the file to the drive.
    """

    def __init__(self, path: Path | str, layout: OutputLayout, *, resume: bool = False) -> None:
        self.path = Path(path)
        self.layout = layout
        # _closed and _active (writes in flight) change under _state; close waits for the
        # writes in flight, since a closed descriptor's number can be reused by the next open.
        self._state = threading.Condition()
        self._active = 0
        self._seek_lock = threading.Lock()  # seek + write where there is no pwrite
        self._closed = False
        if not resume:
            self._check_space(already_used=0)
        self._fd = self._open(resume)
        try:
            if resume:
                self._check_resumable()
                self._check_space(already_used=self._used())
            else:
                self._truncate(layout.file_size)
                for offset, data in layout.prologue():
                    self._pwrite(memoryview(data), offset)
        except BaseException:
            os.close(self._fd)
            self._closed = True
            if not resume:  # a file just created and not usable: leave nothing behind
                self.path.unlink(missing_ok=True)
            raise

    # ---- the public surface -----------------------------------------------------------------

    def write(self, virtual_offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``virtual_offset`` of the disk. Thread-safe and zero-copy.

        The bytes must lie in the blocks the layout planned (the allocated ranges' blocks);
        anything else raises :class:`UnplannedWriteError` or :class:`InvalidRangeError`.
        """
        with self._state:
            if self._closed:
                raise WriterClosedError(self.path)
            self._active += 1
        try:
            view = memoryview(data).cast("B") if not isinstance(data, memoryview) or (
                data.format != "B" or data.ndim != 1) else data
            for file_offset, start, end in self.layout.pieces(virtual_offset, len(view)):
                self._pwrite(view[start:end], file_offset)
        finally:
            with self._state:
                self._active -= 1
                if not self._active:
                    self._state.notify_all()

    def finish(self) -> None:
        """Write the trailing structures (footers, VHDX headers), flush to the drive, close.

        Call it once every write has returned; writes after it are refused."""
        if not self._stop():
            raise WriterClosedError(self.path)
        try:
            for offset, data in self.layout.epilogue():
                self._pwrite(memoryview(data), offset)
            os.fsync(self._fd)
        except OSError as error:
            raise self._error(error) from error
        finally:
            os.close(self._fd)

    def close(self) -> None:
        """Close without finishing (a paused or cancelled download); safe to call twice and
        from any thread: it refuses new writes and waits for those in flight."""
        if self._stop():
            os.close(self._fd)

    def _stop(self) -> bool:
        """Refuse new writes and wait for those in flight; False if already stopped."""
        with self._state:
            if self._closed:
                return False
            self._closed = True
            self._state.wait_for(lambda: self._active == 0)
            return True

    def __enter__(self) -> DiskFileWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ---- opening ------------------------------------------------------------------------------

    def _open(self, resume: bool) -> int:
        flags = os.O_RDWR | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        if not resume:
            flags |= os.O_CREAT | os.O_TRUNC
        try:
            return os.open(self.path, flags, 0o644)
        except FileNotFoundError as error:
            if resume and self.path.parent.is_dir():
                raise PartialFileMissingError(self.path) from error
            raise OutputNotWritableError(self.path, error.strerror or str(error)) from error
        except OSError as error:
            if error.errno in _NOT_WRITABLE:
                raise OutputNotWritableError(self.path, error.strerror or str(error)) from error
            raise self._error(error) from error

    def _check_resumable(self) -> None:
        """The partial file must be exactly what this layout created: same size, same headers."""
        if os.fstat(self._fd).st_size != self.layout.file_size:
            raise ResumeMismatchError(self.path)
        for offset, expected in self.layout.prologue():
            for start in range(0, len(expected), _COMPARE_CHUNK):
                part = expected[start:start + _COMPARE_CHUNK]
                if self._pread(len(part), offset + start) != part:
                    raise ResumeMismatchError(self.path)

    def _check_space(self, *, already_used: int) -> None:
        """Refuse up front when the drive cannot hold what is still to come (a sparse file
        takes its space as data arrives, so a full drive would otherwise show up hours in)."""
        needed = self._expected_usage() - already_used
        try:
            free = shutil.disk_usage(self.path.parent).free
        except OSError as error:
            raise OutputNotWritableError(self.path, error.strerror or str(error)) from error
        if needed > free:
            raise DiskFullError(self.path, needed, free)

    def _expected_usage(self) -> int:
        """Bytes the finished file takes on the drive, about: the data plus each structure
        rounded to a page (the file system allocates whole pages)."""
        structures = sum(-(-len(data) // PAGE) * PAGE for _, data in self.layout.prologue())
        structures += sum(-(-len(data) // PAGE) * PAGE for _, data in self.layout.epilogue())
        return self.layout.data_bytes + structures

    def _used(self) -> int:
        blocks = getattr(os.fstat(self._fd), "st_blocks", None)
        return 0 if blocks is None else blocks * 512

    def _truncate(self, size: int) -> None:
        try:
            os.ftruncate(self._fd, size)
        except OSError as error:
            raise self._error(error) from error

    def _pread(self, length: int, offset: int) -> bytes:
        if _HAS_PWRITE:
            return os.pread(self._fd, length, offset)
        with self._seek_lock:
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, length)

    # ---- writing ------------------------------------------------------------------------------

    def _pwrite(self, view: memoryview, offset: int) -> None:
        try:
            while len(view):
                if _HAS_PWRITE:
                    written = os.pwrite(self._fd, view, offset)
                else:
                    with self._seek_lock:
                        os.lseek(self._fd, offset, os.SEEK_SET)
                        written = os.write(self._fd, view)
                view = view[written:]
                offset += written
        except OSError as error:
            raise self._error(error) from error

    def _error(self, error: OSError) -> DiskImageWriteError:
        """The one error type for an OSError's cause."""
        reason = error.strerror or str(error)
        if error.errno in _FULL:
            needed = max(self._expected_usage() - self._used(), 1)
            try:
                free = shutil.disk_usage(self.path.parent).free
            except OSError:
                free = 0
            return DiskFullError(self.path, needed, free)
        if error.errno == errno.EFBIG:
            return OutputFileTooLargeError(self.path, self.layout.file_size)
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return OutputNotWritableError(self.path, reason)
        return OutputWriteFailedError(self.path, reason)


_HAS_PWRITE = hasattr(os, "pwrite")

"""The fixed-layout view of a disk image: what Azure receives, read straight from the source."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from types import TracebackType

from gui.diskimage.detect import detect, refusal
from gui.diskimage.errors import (
    DiskImageError,
    EmptyImageError,
    ImageClosedError,
    ImplausibleSizeError,
)
from gui.diskimage.footer import FOOTER_SIZE, build_fixed_footer
from gui.diskimage.layout import OpenedLayout, fill_zero
from gui.diskimage.model import Finding, ImageFormat, Level, Range, RangeCollector
from gui.diskimage.pio import PositionalFile
from gui.diskimage.raw import open_raw
from gui.diskimage.rules import round_up_to_mib, size_findings
from gui.diskimage.vhd import has_vhd_footer, open_vhd

VHDX_SIGNATURE = b"vhdxfile"
# Far above Azure's 32 TiB and VHDX's 64 TiB, yet low enough that every size field we build fits.
MAX_PLAUSIBLE_SIZE = 1 << 52


class DiskImage:
    """A disk image presented as the fixed VHD Azure accepts.

    The stream is ``[0, fixed_size)`` disk data (zeros past the source's end) followed by the
    512-byte footer. Reads are positional, so any number of threads may call :meth:`readinto`.
    """

    def __init__(self, path: Path, file: PositionalFile, opened: OpenedLayout) -> None:
        self.path = path
        self._file = file
        self._opened = opened
        self._layout = opened.layout
        self._closed = False
        self._close_lock = threading.Lock()
        self.format: ImageFormat = opened.format
        self.virtual_size: int = opened.layout.virtual_size
        if self.virtual_size > MAX_PLAUSIBLE_SIZE:
            raise ImplausibleSizeError(self.virtual_size)
        self.fixed_size: int = round_up_to_mib(self.virtual_size)
        self.upload_size: int = self.fixed_size + FOOTER_SIZE
        self.disk_id: uuid.UUID = opened.disk_id
        self.footer: bytes = build_fixed_footer(
            self.fixed_size, self.disk_id, timestamp=opened.timestamp, source=opened.source_footer)
        self.findings: list[Finding] = [*opened.findings, *size_findings(self.virtual_size)]
        self.details: list[tuple[str, str]] = list(opened.details)
        # Every file the stream is read from: a resume identity must cover a differencing disk's
        # parents too, since a changed parent changes the uploaded bytes.
        self.source_files: tuple[Path, ...] = (
            path, *(other.path for other in opened.other_files))
        self._ranges: list[Range] | None = None
        self._ranges_lock = threading.Lock()

    @property
    def acceptable(self) -> bool:
        """True when Azure would accept the image after our conversion (no ERROR finding)."""
        return not any(f.level is Level.ERROR for f in self.findings)

    @property
    def file_size(self) -> int:
        return self._file.size

    def data_ranges(self) -> list[Range]:
        """Where data can be, in fixed-stream offsets: sorted, merged, never covering the footer.

        Computed once (a walk of the block table, or of the file's holes) and then kept. Ranges
        are merged as the walk yields them and never number more than ``MAX_RANGES``: past that,
        close neighbours are joined (the extra bytes read as zeros), so a table that claims
        millions of blocks costs no more memory than an ordinary one.
        """
        self._check_open()
        with self._ranges_lock:
            if self._ranges is None:
                collector = RangeCollector()
                limit = self.virtual_size
                for start, stop in self._layout.allocated(collector):
                    collector.add(start, min(stop, limit))
                self._ranges = collector.ranges()
            return list(self._ranges)

    @property
    def allocated_bytes(self) -> int:
        """How many bytes ``data_ranges()`` covers: the most an upload can have to send."""
        return sum(r.length for r in self.data_ranges())

    def readinto(self, offset: int, buf: bytearray | memoryview) -> int:
        """Fill ``buf`` from the fixed stream at ``offset``; returns the bytes filled.

        Fewer than ``len(buf)`` bytes only at the end of the stream (``upload_size``).
        """
        self._check_open()
        if offset < 0:
            raise ValueError("offset must not be negative")
        view = memoryview(buf).cast("B")
        count = max(0, min(len(view), self.upload_size - offset))
        end = offset + count
        # 1: the source disk
        disk_end = min(end, self.virtual_size)
        if offset < disk_end:
            self._layout.read(offset, view[: disk_end - offset])
        # 2: zeros up to the whole MiB
        pad_start, pad_end = max(offset, self.virtual_size), min(end, self.fixed_size)
        if pad_start < pad_end:
            fill_zero(view[pad_start - offset : pad_end - offset])
        # 3: the footer
        foot_start = max(offset, self.fixed_size)
        if foot_start < end:
            view[foot_start - offset : end - offset] = self.footer[
                foot_start - self.fixed_size : end - self.fixed_size]
        return count

    def read(self, offset: int, length: int) -> bytes:
        """Convenience for small reads (tests, previews); prefer :meth:`readinto` for bulk data."""
        buf = bytearray(max(0, min(length, self.upload_size - offset)))
        n = self.readinto(offset, buf)
        return bytes(buf[:n])

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        for other in self._opened.other_files:
            other.close()
        self._file.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise ImageClosedError(self.path)

    def __enter__(self) -> DiskImage:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"DiskImage({str(self.path)!r}, {self.format.name}, "
                f"virtual_size={self.virtual_size}, upload_size={self.upload_size})")


def open_image(path: str | Path) -> DiskImage:
    """Open a .vhd, .vhdx or raw disk image as the fixed VHD Azure accepts.

    The format comes from the file's content, never its name. Raises a
    :class:`~gui.diskimage.errors.DiskImageError` subclass when the file cannot be read as a
    disk (an :class:`~gui.diskimage.errors.UnsupportedFormatError` one for QCOW2, VMDK, VDI,
    archives, ISOs and encrypted volumes, with the command that makes them uploadable); problems
    Azure would refuse but that do not stop reading are ``findings``.
    """
    path = Path(path)
    file = PositionalFile(path)
    opened: OpenedLayout | None = None
    try:
        if file.size == 0:
            raise EmptyImageError(path)
        opened = _open_layout(file)
        return DiskImage(path, file, opened)
    except BaseException:
        for other in opened.other_files if opened else ():
            other.close()
        file.close()
        raise


def _open_layout(file: PositionalFile) -> OpenedLayout:
    if file.read(0, 8) == VHDX_SIGNATURE:
        from gui.diskimage.vhdx import open_vhdx

        return open_vhdx(file)
    if has_vhd_footer(file):
        return open_vhd(file)
    # Raw is only what remains: a file another format claims by its content is refused with
    # advice, whatever its name says.
    found = detect(file)
    if found is not None:
        raise refusal(file.path, found)
    return open_raw(file)


__all__ = ["DiskImage", "DiskImageError", "open_image"]

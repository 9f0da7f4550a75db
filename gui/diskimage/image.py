"""The fixed-layout view of a disk image: what Azure receives, read straight from the source."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from gui.diskimage.detect import Kind, detect, refusal
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
from gui.i18n import plural, tr

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
        # An OVA's disks (all of them, this one at ``disk_index``); empty for other formats.
        self.appliance_disks: list[ApplianceEntry] = []
        self.disk_index = 0

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


def open_image(path: str | Path, disk_index: int = 0) -> DiskImage:
    """Open any disk image a user brings as the fixed VHD Azure accepts.

    The container comes from the file's content, never its name: VHD (fixed, dynamic,
    differencing), VHDX, qcow2, VMDK (every sub-format, descriptors with their extents), VDI,
    an OVA appliance (``disk_index`` picks its disk: 0 is the OS disk, then the data disks in
    LUN order), else raw. Raises a :class:`~gui.diskimage.errors.DiskImageError` subclass when
    the file cannot be read as a disk (an :class:`~gui.diskimage.errors.UnsupportedFormatError`
    one for the formats still refused: QCOW v1, QED, Parallels, DMG, archives, ISOs, encrypted
    volumes, each with the command that makes it uploadable); problems Azure would refuse but
    that do not stop reading are ``findings``.
    """
    path = Path(path)
    file = PositionalFile(path)
    opened: OpenedLayout | None = None
    try:
        if file.size == 0:
            raise EmptyImageError(path)
        appliance: list[ApplianceEntry] = []
        opened = _open_layout(file, disk_index, appliance)
        image = DiskImage(path, file, opened)
        image.appliance_disks = appliance
        image.disk_index = disk_index
        return image
    except BaseException:
        for other in opened.other_files if opened else ():
            other.close()
        file.close()
        raise


class DiskNotInApplianceError(DiskImageError):
    """A disk index asked of a file that holds fewer disks (a plan saved for an OVA that has
    changed since, or an index given for a single disk)."""

    def __init__(self, path: Path, index: int, count: int) -> None:
        super().__init__(plural(
            tr("{name} holds %n disk, so it has no disk number {number}. Choose the file again "
               "to see its disks.", "", count),
            "{name} holds %n disks, so it has no disk number {number}. Choose the file again to "
            "see its disks.", count, name=path.name, number=index + 1))
        self.path = path


@dataclass(frozen=True)
class ApplianceEntry:
    """One disk of an OVA, as the upload wizard lists them (the disk itself opens with
    ``open_image(path, index)``)."""

    index: int
    role: str  # "OS disk", "data disk at LUN 0", ...
    lun: int | None
    name: str  # the member's name in the archive
    capacity: int | None


def _open_layout(file: PositionalFile, disk_index: int,
                 appliance: list[ApplianceEntry]) -> OpenedLayout:
    head = file.read(0, 8)
    if head == VHDX_SIGNATURE:
        from gui.diskimage.vhdx import open_vhdx

        return _only_disk(open_vhdx(file), disk_index, file.path)
    if has_vhd_footer(file):
        return _only_disk(open_vhd(file), disk_index, file.path)
    # Raw is only what remains: a file another format claims by its content is read by that
    # format's reader, or refused with advice, whatever its name says.
    found = detect(file)
    if found is None:
        return _only_disk(open_raw(file), disk_index, file.path)
    # Each reader is imported when a file needs it: start-up and the VHD path load none of them.
    if found.kind is Kind.DISK and found.name == "qcow2":
        from gui.diskimage.qcow2 import open_qcow2

        return _only_disk(open_qcow2(file), disk_index, file.path)
    if found.kind is Kind.DISK and found.name == "vmdk":
        from gui.diskimage.vmdk import open_vmdk

        return _only_disk(open_vmdk(file), disk_index, file.path)
    if found.kind is Kind.DISK and found.name == "vdi":
        from gui.diskimage.vdi import open_vdi

        return _only_disk(open_vdi(file), disk_index, file.path)
    if found.kind is Kind.ARCHIVE and found.name == "ova":
        from gui.diskimage.ova import appliance_from, open_ova_disk

        ova = appliance_from(file)
        if not 0 <= disk_index < len(ova.disks):
            raise DiskNotInApplianceError(file.path, disk_index, len(ova.disks))
        appliance.extend(
            ApplianceEntry(d.index, d.role, d.lun, d.href, d.capacity) for d in ova.disks)
        return open_ova_disk(ova, disk_index)
    raise refusal(file.path, found)


def _only_disk(opened: OpenedLayout, disk_index: int, path: Path) -> OpenedLayout:
    if disk_index != 0:
        raise DiskNotInApplianceError(path, disk_index, 1)
    return opened


__all__ = ["ApplianceEntry", "DiskImage", "DiskImageError", "open_image"]

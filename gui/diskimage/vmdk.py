"""VMDK disks: sparse (monolithic, split, streamOptimized), flat (monolithic, split, ESXi), deltas.

A VMDK is a descriptor (text) and one or more extents laid end to end on the disk. The descriptor
is embedded in a sparse extent (monolithicSparse, streamOptimized) or is its own small file naming
the extent files (``disk-s001.vmdk``, ``disk-flat.vmdk``…), which are found beside it. A snapshot
(delta) disk names its parent by ``parentFileNameHint``; grains it does not hold are the parent's.
Sparse extents are read in :mod:`gui.diskimage.vmdk_sparse`, flat ones straight from their file.

Entry points: :func:`open_vmdk` for a file (a sparse extent or a descriptor) and
:func:`open_vmdk_stream` for a single self-contained sparse extent, such as the streamOptimized
disk inside an OVA, which has no folder to find further files in.
"""

from __future__ import annotations

import bisect
import heapq
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Protocol

from gui.diskimage.errors import (
    DiskImageError,
    ImplausibleSizeError,
    ParentChainError,
    ParentMismatchError,
    ParentNotFoundError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.footer import vhd_timestamp
from gui.diskimage.layout import Layout, OpenedLayout, fill_zero
from gui.diskimage.model import Finding, ImageFormat, Level
from gui.diskimage.packed import GapSource
from gui.diskimage.pio import PositionalFile, SourceFile
from gui.diskimage.rules import human_size
from gui.diskimage.vmdk_descriptor import (
    MAX_DESCRIPTOR_BYTES,
    Descriptor,
    ExtentLine,
    VmdkDescriptorError,
    decode_descriptor,
    looks_like_descriptor,
    parse_descriptor,
)
from gui.diskimage.vmdk_sparse import (
    GD_AT_END,
    MAGIC,
    SECTOR,
    CorruptGrainError,
    GrainIndex,
    GrainTables,
    ScannedIndex,
    SparseExtent,
    SparseHeader,
    read_header,
)
from gui.i18n import QT_TR_NOOP, Text, message

MAX_CHAIN = 32  # snapshot chains deeper than this are not real (VMware allows 32 snapshots)
MAX_DISK_BYTES = 1 << 52
# VMDKs carry no disk id qemu or VMware agree on; derive a stable one, as for raw files.
_VMDK_ID_NAMESPACE = uuid.UUID("0b6b7d0e-4a1c-5d8e-9f57-2a6f61c3e9d4")

_FLAT_KINDS = {"FLAT", "VMFS"}
_REFUSED_KINDS = {
    "VMFSSPARSE": message(QT_TR_NOOP("it is an ESXi snapshot (vmfsSparse/COWD delta) disk; "
                                     "consolidate the snapshots in vSphere, or clone the disk "
                                     "with 'vmkfstools -i', first")),
    "SESPARSE": message(QT_TR_NOOP("it is an ESXi space-efficient sparse (seSparse) snapshot "
                                   "disk; consolidate the snapshots in vSphere, or clone the "
                                   "disk with 'vmkfstools -i', first")),
    "VMFSRDM": message(QT_TR_NOOP("it is a raw device mapping: the data lives on a SAN LUN, not "
                                  "in a file; clone it to a virtual disk with 'vmkfstools -i' "
                                  "first")),
    "VMFSRAW": message(QT_TR_NOOP("it is a raw device mapping: the data lives on a SAN LUN, not "
                                  "in a file; clone it to a virtual disk with 'vmkfstools -i' "
                                  "first")),
}
_REFUSED_TYPES = {
    "vmfssparse": _REFUSED_KINDS["VMFSSPARSE"],
    "sesparse": _REFUSED_KINDS["SESPARSE"],
    "vmfsrdm": _REFUSED_KINDS["VMFSRDM"],
    "vmfsrawdevicemap": _REFUSED_KINDS["VMFSRDM"],
    "vmfsraw": _REFUSED_KINDS["VMFSRAW"],
    "vmfspassthroughrawdevicemap": _REFUSED_KINDS["VMFSRDM"],
    "fulldevice": message(QT_TR_NOOP("it maps a whole physical disk of the host, not a file")),
    "partitioneddevice": message(QT_TR_NOOP("it maps partitions of a physical disk of the host, "
                                            "not a file")),
}


class ExtentNotFoundError(DiskImageError):
    """A file the VMDK descriptor names as part of the disk is not where the descriptor says."""

    def __init__(self, descriptor: Path, extent: str, searched: list[Path]) -> None:
        places = ", ".join(str(p) for p in searched) or message(QT_TR_NOOP("nowhere"))
        super().__init__(
            message(QT_TR_NOOP("{name} describes a disk stored in several files, and its part "
                               "'{extent}' was not found (looked at: {places}). Put all the "
                               "disk's files (the descriptor and every -flat/-sNNN/-fNNN .vmdk "
                               "it names) in one folder, then choose the descriptor again."),
                    name=descriptor.name, extent=extent, places=places))
        self.descriptor = descriptor
        self.extent = extent
        self.searched = searched


class _Extent(Protocol):
    size: int

    def read(self, offset: int, view: memoryview) -> None: ...

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]: ...


class FlatExtent:
    """``size`` bytes of the disk stored as they are in ``file`` from byte ``offset``."""

    def __init__(self, file: SourceFile, offset: int, size: int) -> None:
        if offset + size > file.size:
            raise TruncatedImageError(message(QT_TR_NOOP("flat extent {name}"),
                                              name=file.path.name), offset + size, file.size)
        self._file = file
        self._offset = offset
        self.size = size

    def read(self, offset: int, view: memoryview) -> None:
        self._file.readinto(self._offset + offset, view)

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        # A flat file is often sparse on disk (ESXi thin disks copied off the datastore).
        base = self._offset
        for a, b in self._file.data_extents(base, base + self.size):
            yield a - base, b - base


class ZeroExtent:
    def __init__(self, size: int) -> None:
        self.size = size

    def read(self, offset: int, view: memoryview) -> None:
        fill_zero(view)

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        return iter(())


class VmdkLayout:
    """Extents laid end to end; a snapshot disk's parent supplies what its sparse extents lack."""

    def __init__(self, extents: list[_Extent], parent: Layout | None = None) -> None:
        self._extents = extents
        self._starts: list[int] = []
        pos = 0
        for extent in extents:
            self._starts.append(pos)
            pos += extent.size
        self._virtual_size = pos
        self._parent = parent

    @property
    def virtual_size(self) -> int:
        return self._virtual_size

    def read(self, offset: int, view: memoryview) -> None:
        index = bisect.bisect_right(self._starts, offset) - 1
        done = 0
        while done < len(view):
            start = self._starts[index]
            extent = self._extents[index]
            take = min(len(view) - done, start + extent.size - (offset + done))
            if take > 0:
                extent.read(offset + done - start, view[done : done + take])
                done += take
            index += 1

    def _own(self, join: GapSource | None) -> Iterator[tuple[int, int]]:
        for start, extent in zip(self._starts, self._extents, strict=True):
            for a, b in extent.allocated(join):
                yield start + a, start + b

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        ranges: Iterator[tuple[int, int]] = self._own(join)
        if self._parent is not None:
            limit = min(self._parent.virtual_size, self._virtual_size)
            inherited = ((a, min(b, limit)) for a, b in self._parent.allocated(join) if a < limit)
            ranges = heapq.merge(ranges, inherited)
        return _merged(ranges)


def _merged(ranges: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Sorted ranges with touching and overlapping ones joined (extents meet end to end)."""
    current: tuple[int, int] | None = None
    for a, b in ranges:
        if a >= b:
            continue
        if current is not None and a <= current[1]:
            current = (current[0], max(current[1], b))
            continue
        if current is not None:
            yield current
        current = (a, b)
    if current is not None:
        yield current


# ---- opening -------------------------------------------------------------------------------------

@dataclass
class _Disk:
    """One opened disk of a chain, with what its child needs to check it is the right parent."""

    opened: OpenedLayout
    descriptor: Descriptor | None
    path: Path
    depth: int = 0  # how many parents it has


class _Opening:
    """What one open call (with its parents) gathers, so a failure closes every file it opened."""

    def __init__(self, *, may_open_files: bool) -> None:
        self.may_open_files = may_open_files
        self.files: list[PositionalFile] = []
        self.chain: list[Path] = []

    def open(self, path: Path) -> PositionalFile:
        file = PositionalFile(path)
        self.files.append(file)
        return file


def open_vmdk(file: SourceFile, *, descriptor_dir: Path | None = None) -> OpenedLayout:
    """Open a VMDK from its sparse extent (``KDMV``) or its text descriptor.

    A descriptor's extent files, and a snapshot disk's parent, are looked for relative to
    ``descriptor_dir`` (default: the file's folder) and opened as further files, which the
    returned layout lists in ``other_files`` (the caller closes them with the image).
    """
    return _open_top(file, descriptor_dir, may_open_files=True)


def open_vmdk_stream(file: SourceFile) -> OpenedLayout:
    """Open a self-contained sparse VMDK (an OVA's streamOptimized disk) without other files."""
    return _open_top(file, None, may_open_files=False)


def _open_top(file: SourceFile, descriptor_dir: Path | None, *,
              may_open_files: bool) -> OpenedLayout:
    opening = _Opening(may_open_files=may_open_files)
    try:
        opened = _open(file, descriptor_dir or file.path.parent, opening).opened
    except BaseException:
        for other in opening.files:
            other.close()
        raise
    opened.other_files = list(opening.files)
    return opened


def _open(file: SourceFile, base: Path, opening: _Opening) -> _Disk:
    head = file.read(0, SECTOR)
    if head[:4] == b"COWD":
        raise UnsupportedImageError(_REFUSED_KINDS["VMFSSPARSE"])
    if head[:4] == MAGIC:
        return _open_sparse(file, base, opening)
    return _open_descriptor(file, base, opening)


def _open_sparse(file: SourceFile, base: Path, opening: _Opening) -> _Disk:
    header = read_header(file)
    findings: list[Finding] = []
    descriptor = _embedded_descriptor(file, header)
    parent: _Disk | None = None
    if descriptor is None:
        findings.append(Finding(
            Level.WARNING, "vmdk-no-descriptor",
            message(QT_TR_NOOP("{name} holds no descriptor. If it is one part (-s001, -s002…) of "
                               "a disk split in several files, choose the small descriptor .vmdk "
                               "that names them all instead, or the upload holds only this part."),
                    name=file.path.name)))
    else:
        _refuse_unsupported(descriptor)
        if descriptor.sectors != header.capacity:
            if len(descriptor.extents) > 1:
                findings.append(Finding(
                    Level.ERROR, "vmdk-split-part",
                    message(QT_TR_NOOP("{name} is one of {parts} parts of a split disk; its "
                                       "descriptor names the others. Choose the descriptor .vmdk "
                                       "(or the first part beside all the others) instead."),
                            name=file.path.name, parts=len(descriptor.extents))))
            else:
                raise VmdkDescriptorError(
                    message(QT_TR_NOOP("the embedded descriptor gives {sectors:,} sectors, but "
                                       "the extent holds {capacity:,}"),
                            sectors=descriptor.sectors, capacity=header.capacity))
        parent = _open_parent(file.path, descriptor, base, opening)
    index = _index(file, header)
    parent_layout = parent.opened.layout if parent else None
    extent = SparseExtent(file, header, index, parent=parent_layout)
    stream = header.compressed
    fmt = ImageFormat.VMDK_STREAM_OPTIMIZED if stream else ImageFormat.VMDK_SPARSE
    details = _details(descriptor)
    details.append((Text(QT_TR_NOOP("Grain size")), human_size(header.grain_bytes)))
    if isinstance(index, ScannedIndex):
        details.append((Text(QT_TR_NOOP("Stored grains")), Text(message(
            QT_TR_NOOP("{stored:,} of {total:,} (indexed from the stream's markers: it has no "
                       "grain directory)"),
            stored=index.stored, total=header.grains))))
    if header.unclean:
        findings.append(Finding(
            Level.WARNING, "vmdk-unclean",
            message(QT_TR_NOOP("The VMDK was not closed cleanly (its VM or host stopped while it "
                               "was open). Its data may be incomplete; power the VM on and off "
                               "once, or run 'qemu-img check', before uploading it."))))
    _add_parent(parent, findings, details)
    return _Disk(OpenedLayout(
        format=fmt,
        layout=VmdkLayout([extent], parent_layout),
        disk_id=_disk_id(file, descriptor),
        timestamp=_timestamp(file),
        findings=findings,
        details=details,
    ), descriptor, file.path, parent.depth + 1 if parent else 0)


def _index(file: SourceFile, header: SparseHeader) -> GrainIndex:
    if header.markers and header.gd_offset in (0, GD_AT_END):
        # A stream without a usable grain directory: its markers say where every grain is.
        return ScannedIndex(file, header)
    return GrainTables(file, header)


def _embedded_descriptor(file: SourceFile, header: SparseHeader) -> Descriptor | None:
    if header.descriptor_offset == 0 or header.descriptor_sectors == 0:
        return None
    at = header.descriptor_offset * SECTOR
    length = header.descriptor_sectors * SECTOR
    if length > MAX_DESCRIPTOR_BYTES:
        raise VmdkDescriptorError(message(QT_TR_NOOP("the embedded descriptor claims {length:,} "
                                                     "bytes"),
                                          length=length))
    if at + length > file.size:
        raise TruncatedImageError(message(QT_TR_NOOP("embedded VMDK descriptor")),
                                  at + length, file.size)
    text = decode_descriptor(file.read(at, length))
    if not text.strip():
        return None  # qemu reserves the space in each part of a split disk but leaves it empty
    return parse_descriptor(text)


def _open_descriptor(file: SourceFile, base: Path, opening: _Opening) -> _Disk:
    if file.size > MAX_DESCRIPTOR_BYTES:
        raise VmdkDescriptorError(
            message(QT_TR_NOOP("{name} neither starts with a sparse header ('KDMV') nor is a "
                               "text descriptor small enough to be one ({size:,} bytes)"),
                    name=file.path.name, size=file.size))
    data = file.read(0, file.size)
    if not looks_like_descriptor(data):
        raise VmdkDescriptorError(
            message(QT_TR_NOOP("{name} neither starts with a sparse header ('KDMV') nor is a "
                               "text descriptor ('# Disk DescriptorFile')"),
                    name=file.path.name))
    descriptor = parse_descriptor(decode_descriptor(data))
    _refuse_unsupported(descriptor)
    if descriptor.sectors * SECTOR > MAX_DISK_BYTES:
        raise ImplausibleSizeError(descriptor.sectors * SECTOR)
    if not opening.may_open_files:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("{name} is a VMDK descriptor whose data is in other files, which "
                               "an archive cannot point to; extract the archive and choose the "
                               "descriptor"),
                    name=file.path.name))
    parent = _open_parent(file.path, descriptor, base, opening)
    parent_layout = parent.opened.layout if parent else None
    extents: list[_Extent] = []
    position = 0
    findings: list[Finding] = []
    for line in descriptor.extents:
        extents.append(_open_extent(file.path, line, base, opening, parent=parent_layout,
                                    position=position))
        position += line.sectors * SECTOR
    fmt = _descriptor_format(descriptor)
    details = _details(descriptor)
    names = [line.file_name for line in descriptor.extents if line.file_name]
    details.append((Text(QT_TR_NOOP("Extent files")), _list_names(names)))
    _add_parent(parent, findings, details)
    return _Disk(OpenedLayout(
        format=fmt,
        layout=VmdkLayout(extents, parent_layout),
        disk_id=_disk_id(file, descriptor),
        timestamp=_timestamp(file),
        findings=findings,
        details=details,
    ), descriptor, file.path, parent.depth + 1 if parent else 0)


def _open_extent(descriptor_path: Path, line: ExtentLine, base: Path, opening: _Opening, *,
                 parent: Layout | None, position: int) -> _Extent:
    size = line.sectors * SECTOR
    if line.kind == "ZERO":
        return ZeroExtent(size)
    if line.kind in _REFUSED_KINDS:
        raise UnsupportedImageError(_REFUSED_KINDS[line.kind])
    if line.kind not in _FLAT_KINDS and line.kind != "SPARSE":
        raise UnsupportedImageError(message(QT_TR_NOOP("its descriptor names an extent of type "
                                                       "{kind}, which this program does not read"),
                                            kind=line.kind))
    if line.access == "NOACCESS":
        raise UnsupportedImageError(message(QT_TR_NOOP("its extent '{file_name}' is marked "
                                                       "NOACCESS"),
                                            file_name=line.file_name))
    assert line.file_name is not None  # the parser requires a name for every non-ZERO extent
    file = opening.open(_find(descriptor_path, line.file_name, base))
    if line.kind in _FLAT_KINDS:
        return FlatExtent(file, line.offset * SECTOR, size)
    head = file.read(0, 4)
    if head == b"COWD":
        raise UnsupportedImageError(_REFUSED_KINDS["VMFSSPARSE"])
    header = read_header(file)
    if header.capacity != line.sectors:
        raise VmdkDescriptorError(
            message(QT_TR_NOOP("the extent '{file_name}' holds {capacity:,} sectors, but the "
                               "descriptor gives it {sectors:,}"),
                    file_name=line.file_name, capacity=header.capacity, sectors=line.sectors))
    return SparseExtent(file, header, _index(file, header), parent=parent, base=position)


def _find(descriptor: Path, name: str, base: Path) -> Path:
    """Where a file a descriptor names is: as written (relative to ``base``), else beside it."""
    candidates = _candidates(name, base)
    for path in candidates:
        if path.is_file():
            return path
    raise ExtentNotFoundError(descriptor, name, candidates)


def _candidates(name: str, base: Path) -> list[Path]:
    windows = "\\" in name or (len(name) > 1 and name[1] == ":")
    pure = PureWindowsPath(name) if windows else PurePosixPath(name)
    found: list[Path] = []
    if not pure.is_absolute() and not pure.drive:
        found.append(Path(os.path.normpath(base.joinpath(*pure.parts))))
    elif not windows:
        found.append(Path(name))
    if pure.name:
        found.append(base / pure.name)  # the whole set of files moved to another folder
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique


def _open_parent(child: Path, descriptor: Descriptor, base: Path,
                 opening: _Opening) -> _Disk | None:
    expected = descriptor.parent_cid
    if expected is None:
        return None
    hint = descriptor.parent_hint
    if not hint:
        raise ParentNotFoundError(child, message(QT_TR_NOOP("(the descriptor names no "
                                                            "parentFileNameHint)")), [])
    candidates = _candidates(hint, base) if opening.may_open_files else []
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise ParentNotFoundError(child, hint, candidates)
    resolved = path.resolve()
    if resolved in opening.chain:
        raise ParentChainError(message(QT_TR_NOOP("{name}'s parents loop back to {parent}"),
                                       name=child.name, parent=path.name))
    if len(opening.chain) >= MAX_CHAIN:
        raise ParentChainError(message(QT_TR_NOOP("it is more than {depth} snapshots deep"),
                                       depth=MAX_CHAIN))
    opening.chain.append(resolved)
    parent = _open(opening.open(path), path.parent, opening)
    parent_cid = parent.descriptor.cid if parent.descriptor else None
    if parent_cid is not None and parent_cid != expected:
        raise ParentMismatchError(
            child, path, message(QT_TR_NOOP("its content id (CID) is {parent_cid}, but the "
                                            "snapshot was taken of CID {expected}"),
                                 parent_cid=parent_cid, expected=expected))
    return parent


def _add_parent(parent: _Disk | None, findings: list[Finding],
                details: list[tuple[str, str]]) -> None:
    if parent is None:
        return
    details.append((Text(QT_TR_NOOP("Parent")), str(parent.path)))
    findings.append(Finding(
        Level.INFO, "vmdk-snapshot",
        message(QT_TR_NOOP("This is a snapshot (delta) disk over {name} and {more} more: the "
                           "upload holds the disk as the snapshot sees it, parent data "
                           "included."),
                name=parent.path.name, more=parent.depth) if parent.depth else
        message(QT_TR_NOOP("This is a snapshot (delta) disk over {name}: the upload holds the "
                           "disk as the snapshot sees it, parent data included."),
                name=parent.path.name)))
    findings.extend(f for f in parent.opened.findings if f.level >= Level.WARNING)


def _refuse_unsupported(descriptor: Descriptor) -> None:
    reason = _REFUSED_TYPES.get(descriptor.create_type.lower())
    if reason:
        raise UnsupportedImageError(reason)
    if descriptor.encrypted:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("it is an encrypted VMware disk (VM encryption); decrypt the VM "
                               "in vSphere, or clone the disk unencrypted, first")))


def _descriptor_format(descriptor: Descriptor) -> ImageFormat:
    kinds = {line.kind for line in descriptor.extents if line.kind != "ZERO"}
    create_type = descriptor.create_type.lower()
    if create_type == "streamoptimized":
        return ImageFormat.VMDK_STREAM_OPTIMIZED
    # qemu writes a twoGbMaxExtent disk under 2 GiB as one extent: still the split kind.
    several = len(descriptor.extents) > 1 or create_type.startswith("twogbmaxextent")
    if "SPARSE" in kinds:
        return ImageFormat.VMDK_SPLIT_SPARSE if several else ImageFormat.VMDK_SPARSE
    return ImageFormat.VMDK_SPLIT_FLAT if several else ImageFormat.VMDK_FLAT


def _details(descriptor: Descriptor | None) -> list[tuple[str, str]]:
    details: list[tuple[str, str]] = []
    if descriptor is None:
        return details
    details.append((Text(QT_TR_NOOP("VMDK type")), descriptor.create_type))
    if descriptor.cid:
        details.append((Text(QT_TR_NOOP("Content id (CID)")), descriptor.cid))
    adapter = descriptor.values.get("ddb.adaptertype")
    if adapter:
        details.append((Text(QT_TR_NOOP("Adapter type")), adapter))
    hardware = descriptor.values.get("ddb.virtualhwversion")
    if hardware:
        details.append((Text(QT_TR_NOOP("Virtual hardware version")), hardware))
    return details


def _list_names(names: list[str]) -> str:
    if len(names) <= 4:
        return ", ".join(names) or Text(QT_TR_NOOP("none (all zero extents)"))
    return Text(message(QT_TR_NOOP("{count} files: {first} … {last}"), count=len(names),
                        first=names[0], last=names[-1]))


def _disk_id(file: SourceFile, descriptor: Descriptor | None) -> uuid.UUID:
    """VMware's ``ddb.uuid.image`` when present; else one derived from the file, so the same
    file always gets the same footer (an interrupted upload can then resume)."""
    if descriptor is not None:
        text = descriptor.values.get("ddb.uuid.image", "").replace(" ", "").replace("-", "")
        try:
            if len(text) == 32:
                return uuid.UUID(hex=text)
        except ValueError:
            pass
    mtime = getattr(file, "mtime_ns", 0)
    cid = descriptor.cid if descriptor else ""
    key = f"{file.path.absolute()}\0{file.size}\0{mtime}\0{cid}"
    return uuid.uuid5(_VMDK_ID_NAMESPACE, key)


def _timestamp(file: SourceFile) -> int:
    mtime = getattr(file, "mtime_ns", 0)
    if not isinstance(mtime, int) or mtime <= 0:
        return 0
    return vhd_timestamp(datetime.fromtimestamp(mtime / 1e9, tz=UTC))


__all__ = [
    "CorruptGrainError",
    "ExtentNotFoundError",
    "VmdkDescriptorError",
    "VmdkLayout",
    "open_vmdk",
    "open_vmdk_stream",
]

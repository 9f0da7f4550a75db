"""VirtualBox VDI files: the header, the block map, static and dynamic images.

Layout (VirtualBox's VDICore.h, header version 1.1, all fields little-endian): a 64-byte text
line, the signature ``0xbeda107f`` and the version, then the header (its own size first). The
header names the block map's offset (one ``uint32`` per block: the block's index in the data
area, ``0xFFFFFFFF`` for a block never written, ``0xFFFFFFFE`` for a discarded one, which reads
as zeros) and the data area's offset. A block's data lies at
``data offset + index * (block size + extra) + extra``.

Static ("fixed") images have every block allocated in order; dynamic ones allocate on write.
The block map is read in pages as requests need it (:class:`~gui.diskimage.table.TableReader`),
never loaded whole, so memory does not grow with the disk.
"""

from __future__ import annotations

import os
import struct
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from gui.diskimage.bits import block_reads
from gui.diskimage.errors import (
    CorruptBlockTableError,
    CorruptHeaderError,
    DiskImageError,
    InvalidBlockSizeError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.footer import vhd_timestamp
from gui.diskimage.layout import OpenedLayout, fill_zero
from gui.diskimage.model import Finding, ImageFormat, Level
from gui.diskimage.packed import GapSource, Packed, runs
from gui.diskimage.pio import SourceFile
from gui.diskimage.rules import human_size
from gui.diskimage.table import TableReader
from gui.i18n import QT_TR_NOOP, Message, Text, message, plural, tr

SIGNATURE = 0xBEDA107F
PRE_HEADER_SIZE = 72  # 64 bytes of text, the signature, the version
VERSION_1_1 = 0x00010001
# The version-1 header up to and including the last field read here (uuidParentModify).
HEADER_1_SIZE = 384
SECTOR = 512
TYPE_DYNAMIC = 1  # VDI_IMAGE_TYPE_NORMAL
TYPE_STATIC = 2  # VDI_IMAGE_TYPE_FIXED
TYPE_UNDO = 3
TYPE_DIFF = 4
BLOCK_FREE = 0xFFFFFFFF  # never written: reads as zeros (from the parent in a differencing image)
BLOCK_ZERO = 0xFFFFFFFE  # discarded: reads as zeros
MAX_BLOCK_SIZE = 1 << 30
_TABLE_CHUNK_ENTRIES = 1 << 17  # 512 KiB of block map per step of a walk

_PRE_HEADER = struct.Struct("<64sII")
# cbHeader, type, flags, comment, offBlocks, offData, geometry (C, H, S, sector size),
# translation, cbDisk, cbBlock, cbBlockExtra, cBlocks, cBlocksAllocated, four UUIDs.
_HEADER_1 = struct.Struct("<III256sII4IIQIIII16s16s16s16s")


class VdiDifferencingError(DiskImageError):
    """A VDI that holds only the changes over another VDI (a VirtualBox snapshot or diff image)."""

    def __init__(self, name: str, parent: uuid.UUID) -> None:
        super().__init__(
            message(QT_TR_NOOP("{name} is a differencing VDI (a VirtualBox snapshot): it holds "
                               "only the changes over its parent disk {{{parent}}}, which "
                               "VirtualBox finds through its media registry, not beside the "
                               "file. Clone the current state into one disk first ('VBoxManage "
                               "clonemedium disk {name} merged.vdi', with the VM shut down), "
                               "then upload merged.vdi."),
                    name=name, parent=parent))
        self.parent = parent


@dataclass(frozen=True)
class VdiHeader:
    version: int
    header_size: int
    image_type: int
    flags: int
    comment: str
    blocks_offset: int
    data_offset: int
    sector_size: int
    disk_size: int
    block_size: int
    block_extra: int
    block_count: int
    blocks_allocated: int
    uuid_create: uuid.UUID
    uuid_modify: uuid.UUID
    uuid_link: uuid.UUID
    uuid_parent_modify: uuid.UUID

    @property
    def stride(self) -> int:
        """Bytes from one block's start in the data area to the next one's."""
        return self.block_size + self.block_extra


def has_vdi_signature(file: SourceFile) -> bool:
    """Whether ``file`` starts with VirtualBox's pre-header (the signature at byte 64)."""
    head = file.read(0, PRE_HEADER_SIZE)
    return len(head) == PRE_HEADER_SIZE and _PRE_HEADER.unpack(head)[1] == SIGNATURE


def read_header(file: SourceFile) -> VdiHeader:
    """The checked header: every offset inside the file, every size one the reader can use."""
    if file.size < PRE_HEADER_SIZE + HEADER_1_SIZE:
        raise TruncatedImageError(message(QT_TR_NOOP("VDI header")),
                                  PRE_HEADER_SIZE + HEADER_1_SIZE, file.size)
    data = file.read(0, PRE_HEADER_SIZE + HEADER_1_SIZE)
    _text, signature, version = _PRE_HEADER.unpack_from(data, 0)
    if signature != SIGNATURE:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the VirtualBox signature 0xbeda107f is not at byte 64 (found "
                               "{signature:#010x})"),
                    signature=signature))
    if version >> 16 != 1:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("the VDI header has version {major}.{minor}, made by a "
                               "VirtualBox older than 1.4; only version 1.x is read (VirtualBox "
                               "converts it when you clone it: 'VBoxManage clonemedium disk "
                               "OLD.vdi NEW.vdi')"),
                    major=version >> 16, minor=version & 0xFFFF))
    (header_size, image_type, flags, comment, blocks_offset, data_offset, _cylinders, _heads,
     _sectors, sector_size, _translation, disk_size, block_size, block_extra, block_count,
     allocated, create, modify, link, parent_modify) = _HEADER_1.unpack_from(
        data, PRE_HEADER_SIZE)
    header = VdiHeader(
        version=version, header_size=header_size, image_type=image_type, flags=flags,
        comment=comment.split(b"\0", 1)[0].decode("utf-8", "replace"),
        blocks_offset=blocks_offset, data_offset=data_offset, sector_size=sector_size,
        disk_size=disk_size, block_size=block_size, block_extra=block_extra,
        block_count=block_count, blocks_allocated=allocated,
        uuid_create=uuid.UUID(bytes_le=create), uuid_modify=uuid.UUID(bytes_le=modify),
        uuid_link=uuid.UUID(bytes_le=link), uuid_parent_modify=uuid.UUID(bytes_le=parent_modify))
    _check_header(file, header)
    return header


def _check_header(file: SourceFile, h: VdiHeader) -> None:
    if h.header_size < HEADER_1_SIZE:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the VDI header says it is {header_size} bytes, too short for the "
                               "fields every version-1 header has ({needed})"),
                    header_size=h.header_size, needed=HEADER_1_SIZE))
    if h.image_type in (TYPE_DIFF, TYPE_UNDO) or h.uuid_link.int:
        raise VdiDifferencingError(file.path.name, h.uuid_link)
    if h.image_type not in (TYPE_DYNAMIC, TYPE_STATIC):
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the VDI image type is {image_type}, not dynamic (1) or fixed (2)"),
                    image_type=h.image_type))
    if h.sector_size != SECTOR:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("the VDI declares {sector_size}-byte sectors; VirtualBox and "
                               "Azure use 512"),
                    sector_size=h.sector_size))
    bs = h.block_size
    if bs < SECTOR or bs > MAX_BLOCK_SIZE or bs & (bs - 1):
        raise InvalidBlockSizeError(bs)
    if h.block_extra > bs or h.block_extra % SECTOR:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("each block claims {block_extra:,} bytes of extra data before it, "
                               "which is not a whole number of sectors up to the block size"),
                    block_extra=h.block_extra))
    header_end = PRE_HEADER_SIZE + h.header_size
    map_end = h.blocks_offset + 4 * h.block_count
    if h.blocks_offset < header_end or h.data_offset < map_end:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the block map (bytes {blocks_offset:,} to {map_end:,}) overlaps "
                               "the header (which ends at byte {header_end:,}) or the data area "
                               "(from byte {data_offset:,})"),
                    blocks_offset=h.blocks_offset, map_end=map_end, header_end=header_end,
                    data_offset=h.data_offset))
    if map_end > file.size:
        raise TruncatedImageError(message(QT_TR_NOOP("VDI block map")), map_end, file.size)


class VdiLayout:
    """The blocks of a static or dynamic VDI, looked up in its block map as requests need."""

    def __init__(self, file: SourceFile, header: VdiHeader) -> None:
        self._file = file
        self._virtual_size = header.disk_size
        self.block_size = header.block_size
        self._data_offset = header.data_offset
        self._extra = header.block_extra
        self._stride = header.stride
        self._entries = header.block_count
        # Blocks past the map (a damaged header; reported at open) read as zeros.
        self.block_count = min(header.block_count, -(-header.disk_size // header.block_size))
        self._table = TableReader(file, header.blocks_offset, header.block_count, itemsize=4,
                                  big_endian=False)

    @property
    def virtual_size(self) -> int:
        return self._virtual_size

    # ---- the block map ----------------------------------------------------------------------

    def _entries_for(self, first: int, last: int) -> list[int]:
        """Map entries for blocks [first, last], "never written" past the map's end."""
        have = max(0, min(last + 1, self._entries) - first)
        entries = self._table.entries(first, first + have) if have else []
        entries.extend([BLOCK_FREE] * (last - first + 1 - have))
        return entries

    def _block_at(self, entry: int) -> int:
        return self._data_offset + entry * self._stride + self._extra

    def _block_problem(self, block: int, entry: int) -> Message | None:
        """Why an allocated block's data cannot be where its entry says, or None when it can."""
        start = self._block_at(entry)
        end = start + min(self.block_size, self._virtual_size - block * self.block_size)
        if end > self._file.size:
            return message(QT_TR_NOOP("its data would end at byte {end:,} of a {size:,}-byte file"),
                           end=end, size=self._file.size)
        return None

    def _last_good_entry(self) -> int:
        """The largest entry whose whole block lies inside the file (-1 when none fits)."""
        room = self._file.size - self._data_offset - self._extra - self.block_size
        return room // self._stride if room >= 0 else -1

    def _chunks(self, limit: int) -> Iterator[tuple[int, array[int], Packed, int]]:
        """(first block, entries, packed, map of allocated entries) per chunk of the first
        ``limit`` blocks that has any allocated block; judged in C (:mod:`packed`)."""
        for start in range(0, limit, _TABLE_CHUNK_ENTRIES):
            entries = self._table.array(start, min(limit, start + _TABLE_CHUNK_ENTRIES))
            packed = Packed(entries)
            used = packed.below(BLOCK_ZERO)
            if used:
                yield start, entries, packed, used

    def check_map(self) -> tuple[int, int, list[Finding]]:
        """(allocated blocks, discarded blocks, findings) from one walk of the block map.

        Entries pointing past the file's end are counted a chunk at a time in C; only the
        disk's last block, which may be shorter, is judged on its own.
        """
        stored = discarded = bad = 0
        first_bad: int | None = None
        good_below = self._last_good_entry() + 1
        # Only the entries of blocks inside the disk: the rest are never read.
        for start in range(0, self.block_count, _TABLE_CHUNK_ENTRIES):
            packed = Packed(self._table.array(start, min(self.block_count,
                                                         start + _TABLE_CHUNK_ENTRIES)))
            used = packed.below(BLOCK_ZERO)
            discarded += packed.between(BLOCK_ZERO, BLOCK_FREE).bit_count()
            if not used:
                continue
            stored += used.bit_count()
            bad_map = used & ~packed.below(good_below)
            last = self.block_count - 1 - start
            if 0 <= last < packed.count and used >> (8 * last) & 1:
                entry = self._table.entries(start + last, start + last + 1)[0]
                bit = 1 << (8 * last)
                bad_map = (bad_map | bit) if self._block_problem(start + last, entry) else (
                    bad_map & ~bit)
            if bad_map:
                bad += bad_map.bit_count()
                if first_bad is None:
                    first_bad = start + packed.first(bad_map)
        findings: list[Finding] = []
        if bad:
            findings.append(Finding(
                Level.ERROR, "vdi-block-outside-file",
                plural(tr("%n block map entry points past the end of the file (first: block "
                          "{first}): the file is truncated or damaged, and those blocks cannot "
                          "be read. Copy the file again from its source.", "", bad),
                       "%n block map entries point past the end of the file (first: block "
                       "{first}): the file is truncated or damaged, and those blocks cannot be "
                       "read. Copy the file again from its source.",
                       bad, first=first_bad)))
        needed = -(-self._virtual_size // self.block_size)
        if self._entries < needed:
            findings.append(Finding(
                Level.ERROR, "vdi-map-too-small",
                message(QT_TR_NOOP("The block map has {entries:,} entries but the disk needs "
                                   "{needed:,}; the end of the disk has no place to be stored. "
                                   "The file is damaged."),
                        entries=self._entries, needed=needed)))
        return stored, discarded, findings

    # ---- reading ----------------------------------------------------------------------------

    def read(self, offset: int, view: memoryview) -> None:
        bs = self.block_size
        # Blocks that follow each other in the file (a static image; a dynamic one written
        # front to back) are read with one call: a 4 MiB read of 1 MiB blocks is one pread,
        # not four, the same calls a plain file's read makes (tests/benchmarks/bench_vdi.py).
        run_at = run_start = run_end = 0  # file offset, view offsets of the pending run
        for block, pos, dest, entry in block_reads(offset, view, bs, self._entries_for):
            if entry >= BLOCK_ZERO:
                fill_zero(dest)
                continue
            problem = self._block_problem(block, entry)
            if problem:
                raise CorruptBlockTableError(message(QT_TR_NOOP("block {block} cannot be read: "
                                                                "{problem}"),
                                                     block=block, problem=problem))
            at = self._block_at(entry) + pos - block * bs
            start = pos - offset
            if run_end > run_start and start == run_end and at == run_at + run_end - run_start:
                run_end += len(dest)
                continue
            if run_end > run_start:
                self._file.readinto(run_at, view[run_start:run_end])
            run_at, run_start, run_end = at, start, start + len(dest)
        if run_end > run_start:
            self._file.readinto(run_at, view[run_start:run_end])

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        """Runs of allocated blocks; where a run lies in order in the file (a static image, or
        a dynamic one written front to back), the file system's holes inside it are skipped."""
        bs = self.block_size
        for start, entries, packed, used in self._chunks(self.block_count):
            spans = (iter([(0, packed.count)]) if used == packed.all
                     else runs(used, packed.count, bs, join))
            for first, end in spans:
                begin = (start + first) * bs
                stop = min((start + end) * bs, self._virtual_size)
                if self._extra == 0 and _in_order(entries, first, end):
                    file_at = self._block_at(entries[first])
                    file_end = min(file_at + stop - begin, self._file.size)
                    for a, b in self._file.data_extents(file_at, file_end):
                        yield begin + a - file_at, begin + b - file_at
                else:
                    yield begin, stop


def _in_order(entries: array[int], first: int, end: int) -> bool:
    """Whether entries [first, end) are allocated and consecutive (n, n+1, …): the ends are
    checked first (O(1)); only then the whole run, as one array comparison."""
    head = entries[first]
    if head >= BLOCK_ZERO or entries[end - 1] != head + (end - 1 - first):
        return False
    if end - first <= 2:
        return True
    return entries[first:end] == array(entries.typecode, range(head, head + end - first))


def _timestamp(file: SourceFile) -> int:
    """The footer's timestamp: the file's modification time (VDI records none of its own)."""
    mtime_ns = getattr(file, "mtime_ns", None)
    if not isinstance(mtime_ns, int):
        try:
            mtime_ns = os.stat(file.path).st_mtime_ns
        except OSError:
            mtime_ns = 0
    return vhd_timestamp(datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC))


def open_vdi(file: SourceFile) -> OpenedLayout:
    """Open a static or dynamic VDI; a differencing one is refused with the way to merge it."""
    header = read_header(file)
    layout = VdiLayout(file, header)
    stored, discarded, findings = layout.check_map()
    static = header.image_type == TYPE_STATIC
    if header.uuid_create.int:
        disk_id = header.uuid_create
    else:  # never written by VirtualBox or qemu; derive a stable id so a resume still matches
        disk_id = uuid.uuid5(uuid.NAMESPACE_URL, f"vdi:{file.path}:{file.size}")
    details: list[tuple[str, str]] = [
        (Text(QT_TR_NOOP("Disk id")), str(header.uuid_create)),
        (Text(QT_TR_NOOP("VDI version")),
         f"{header.version >> 16}.{header.version & 0xFFFF}"),
        (Text(QT_TR_NOOP("Block size")), human_size(header.block_size)),
        (Text(QT_TR_NOOP("Stored blocks")), Text(message(
            QT_TR_NOOP("{stored:,} of {total:,} ({discarded:,} discarded)"),
            stored=stored, total=header.block_count, discarded=discarded))
         if discarded else Text(message(QT_TR_NOOP("{stored:,} of {total:,}"), stored=stored,
                                        total=header.block_count))),
    ]
    if header.comment:
        details.append((Text(QT_TR_NOOP("Description")), header.comment))
    return OpenedLayout(
        format=ImageFormat.VDI_STATIC if static else ImageFormat.VDI_DYNAMIC,
        layout=layout,
        disk_id=disk_id,
        timestamp=_timestamp(file),
        findings=findings,
        details=details,
    )

"""VHDX files: headers, region table, metadata and block table (MS-VHDX v1.0).

All fields are little-endian; GUIDs are stored in Microsoft's mixed-endian form. The block table
is read entry by entry as requests need it, never loaded whole.
"""

from __future__ import annotations

import struct
import uuid
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

from gui.diskimage.bits import block_reads
from gui.diskimage.crc32c import crc32c
from gui.diskimage.errors import (
    CorruptBlockTableError,
    CorruptHeaderError,
    CorruptMetadataError,
    CorruptRegionTableError,
    DirtyLogError,
    InvalidBlockSizeError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.layout import OpenedLayout, fill_zero
from gui.diskimage.model import Finding, ImageFormat, Level
from gui.diskimage.packed import GapSource, Packed, runs
from gui.diskimage.pio import PositionalFile
from gui.diskimage.rules import human_size
from gui.diskimage.table import TableReader
from gui.i18n import QT_TR_NOOP, Message, Text, message, plural, tr

KIB = 1024
MIB = 1024 * KIB
HEADER_OFFSETS = (64 * KIB, 128 * KIB)
HEADER_SIZE = 4 * KIB
REGION_TABLE_OFFSETS = (192 * KIB, 256 * KIB)
REGION_TABLE_SIZE = 64 * KIB
MAX_TABLE_ENTRIES = 2047  # region and metadata tables alike
METADATA_TABLE_SIZE = 64 * KIB

BAT_REGION = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
METADATA_REGION = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")

FILE_PARAMETERS = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
VIRTUAL_DISK_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
VIRTUAL_DISK_ID = uuid.UUID("BECA12AB-B2E6-4523-93EF-C309E000C746")
LOGICAL_SECTOR_SIZE = uuid.UUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
PHYSICAL_SECTOR_SIZE = uuid.UUID("CDA348C7-445D-4471-9CC9-E9885251C556")
PARENT_LOCATOR = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")
# The virtual disk id is the item the specification also calls "Page 83 data".
KNOWN_METADATA = {FILE_PARAMETERS, VIRTUAL_DISK_SIZE, VIRTUAL_DISK_ID, LOGICAL_SECTOR_SIZE,
                  PHYSICAL_SECTOR_SIZE, PARENT_LOCATOR}

# Payload block states (the low three bits of a block-table entry).
PAYLOAD_NOT_PRESENT = 0
PAYLOAD_UNDEFINED = 1
PAYLOAD_ZERO = 2
PAYLOAD_UNMAPPED = 3
PAYLOAD_FULLY_PRESENT = 6
PAYLOAD_PARTIALLY_PRESENT = 7
_READS_AS_ZERO = {PAYLOAD_NOT_PRESENT, PAYLOAD_UNDEFINED, PAYLOAD_ZERO, PAYLOAD_UNMAPPED}
_TABLE_CHUNK_ENTRIES = 1 << 16  # 512 KiB of block table per step of a walk
# An entry's state is its low three bits: the low byte of each entry, masked by a table.
_STATE_OF_BYTE = bytes(b & 7 for b in range(256))
_ZERO_STATES = bytes(sorted(_READS_AS_ZERO))  # deleted by translate: what is left matters
_IS_PRESENT = bytes(int(b == PAYLOAD_FULLY_PRESENT) for b in range(256))
# Refused in a disk without a parent: "partially present" and the undefined states 4 and 5.
_IS_UNDEFINED = bytes(int(b in (4, 5, PAYLOAD_PARTIALLY_PRESENT)) for b in range(256))

_HEADER = struct.Struct("<4sIQ16s16s16sHHIQ")
_REGION_HEADER = struct.Struct("<4sIII")
_REGION_ENTRY = struct.Struct("<16sQII")
_METADATA_HEADER = struct.Struct("<8sHH20x")
_METADATA_ENTRY = struct.Struct("<16sIII4x")


@dataclass(frozen=True)
class VhdxHeader:
    sequence_number: int
    log_guid: uuid.UUID
    version: int
    log_length: int
    log_offset: int


def _read_exact(file: PositionalFile, offset: int, length: int, what: Message) -> bytes:
    if offset + length > file.size:
        raise TruncatedImageError(what, offset + length, file.size)
    return file.read(offset, length)


def _valid_with_crc(data: bytes, signature: bytes) -> bool:
    if data[:4] != signature:
        return False
    stored: int = struct.unpack_from("<I", data, 4)[0]
    return crc32c(data[:4] + b"\0\0\0\0" + data[8:]) == stored


def read_current_header(file: PositionalFile) -> tuple[VhdxHeader, list[Finding]]:
    """The valid header with the highest sequence number; one damaged copy is only a warning."""
    found: list[VhdxHeader] = []
    for offset in HEADER_OFFSETS:
        if offset + HEADER_SIZE > file.size:
            continue
        data = file.read(offset, HEADER_SIZE)
        if not _valid_with_crc(data, b"head"):
            continue
        _sig, _crc, seq, _fw, _dw, log_guid, _log_version, version, log_len, log_off = (
            _HEADER.unpack_from(data, 0))
        found.append(VhdxHeader(seq, uuid.UUID(bytes_le=log_guid), version, log_len, log_off))
    if not found:
        if file.size < HEADER_OFFSETS[1] + HEADER_SIZE:
            raise TruncatedImageError(message(QT_TR_NOOP("VHDX headers")),
                                      HEADER_OFFSETS[1] + HEADER_SIZE, file.size)
        raise CorruptHeaderError(message(QT_TR_NOOP("neither of the two VHDX headers has a valid "
                                                    "signature and checksum")))
    findings: list[Finding] = []
    if len(found) == 1:
        findings.append(Finding(
            Level.WARNING, "vhdx-header-copy",
            message(QT_TR_NOOP("One of the two VHDX headers is damaged; the intact one was used. "
                               "Hyper-V repairs this the next time it opens the disk for "
                               "writing."))))
    header = max(found, key=lambda h: h.sequence_number)
    if header.version != 1:
        raise UnsupportedImageError(message(QT_TR_NOOP("the VHDX header has version {version}, "
                                                       "not 1"),
                                            version=header.version))
    if header.log_guid.int != 0:
        raise DirtyLogError()
    return header, findings


@dataclass(frozen=True)
class Region:
    offset: int
    length: int


def read_regions(file: PositionalFile) -> tuple[Region, Region, list[Finding]]:
    """The block-table and metadata regions from the first intact region table."""
    findings: list[Finding] = []
    table: bytes | None = None
    for index, offset in enumerate(REGION_TABLE_OFFSETS):
        data = _read_exact(file, offset, REGION_TABLE_SIZE,
                           message(QT_TR_NOOP("VHDX region table")))
        if _valid_with_crc(data, b"regi"):
            table = data
            if index:
                findings.append(Finding(
                    Level.WARNING, "vhdx-region-table-copy",
                    message(QT_TR_NOOP("The first VHDX region table is damaged; the copy was "
                                       "used."))))
            break
    if table is None:
        raise CorruptRegionTableError(message(QT_TR_NOOP("neither copy has a valid signature and "
                                                         "checksum")))
    _sig, _crc, count, _reserved = _REGION_HEADER.unpack_from(table, 0)
    regions: dict[uuid.UUID, Region] = {}
    entries = _table_entries(table, _REGION_ENTRY, 16, count, CorruptRegionTableError)
    for region_id, offset, length, required in entries:
        if region_id in (BAT_REGION, METADATA_REGION):
            if offset % MIB or offset < MIB or length % MIB or length == 0:
                raise CorruptRegionTableError(
                    message(QT_TR_NOOP("a region is placed at byte {offset:,} with length "
                                       "{length:,}, which is not a whole number of MiB after the "
                                       "first MiB"),
                            offset=offset, length=length))
            if offset + length > file.size:
                raise TruncatedImageError(message(QT_TR_NOOP("VHDX region")),
                                          offset + length, file.size)
            regions[region_id] = Region(offset, length)
        elif required & 1:
            raise UnsupportedImageError(
                message(QT_TR_NOOP("the VHDX needs a region this program does not know "
                                   "({region_id})"),
                        region_id=region_id))
    if BAT_REGION not in regions or METADATA_REGION not in regions:
        raise CorruptRegionTableError(message(QT_TR_NOOP("the block table or the metadata region "
                                                         "is missing")))
    return regions[BAT_REGION], regions[METADATA_REGION], findings


def _table_entries(table: bytes, entry: struct.Struct, first: int, count: int,
                   error: type[CorruptRegionTableError | CorruptMetadataError]
                   ) -> Iterator[tuple[uuid.UUID, int, int, int]]:
    """The 32-byte entries of a region or metadata table: (GUID, then three numbers).

    Both tables hold at most 2,047 entries: a larger count is damage, reported as ``error``."""
    if count > MAX_TABLE_ENTRIES:
        raise error(f"it claims {count:,} entries (at most 2,047 fit)")
    for i in range(count):
        guid, a, b, c = entry.unpack_from(table, first + 32 * i)
        yield uuid.UUID(bytes_le=guid), a, b, c


@dataclass(frozen=True)
class VhdxMetadata:
    block_size: int
    leave_blocks_allocated: bool
    has_parent: bool
    virtual_size: int
    disk_id: uuid.UUID
    logical_sector_size: int
    physical_sector_size: int


def read_metadata(file: PositionalFile, region: Region) -> VhdxMetadata:
    table = file.read(region.offset, min(METADATA_TABLE_SIZE, region.length))
    signature, _reserved, count = _METADATA_HEADER.unpack_from(table, 0)
    if signature != b"metadata":
        raise CorruptMetadataError(message(QT_TR_NOOP("the metadata table does not start with "
                                                      "'metadata'")))
    items: dict[uuid.UUID, bytes] = {}
    for item, offset, length, flags in _table_entries(table, _METADATA_ENTRY, 32, count,
                                                      CorruptMetadataError):
        if item not in KNOWN_METADATA:
            if flags & 4:  # IsRequired
                raise UnsupportedImageError(
                    message(QT_TR_NOOP("the VHDX needs a metadata item this program does not "
                                       "know ({item})"),
                            item=item))
            continue
        if length > 64 * KIB or offset + length > region.length or (length and offset < 64 * KIB):
            raise CorruptMetadataError(message(QT_TR_NOOP("item {item} lies outside the metadata "
                                                          "region"),
                                               item=item))
        items[item] = file.read(region.offset + offset, length)

    def need(item: uuid.UUID, size: int, name: str) -> bytes:
        data = items.get(item)
        if data is None or len(data) < size:
            raise CorruptMetadataError(message(QT_TR_NOOP("the required item '{name}' is missing"),
                                               name=name))
        return data

    block_size, flags = struct.unpack_from("<II", need(FILE_PARAMETERS, 8, "file parameters"))
    virtual_size = struct.unpack_from("<Q", need(VIRTUAL_DISK_SIZE, 8, "virtual disk size"))[0]
    disk_id = uuid.UUID(bytes_le=need(VIRTUAL_DISK_ID, 16, "virtual disk id")[:16])
    logical = struct.unpack_from("<I", need(LOGICAL_SECTOR_SIZE, 4, "logical sector size"))[0]
    physical = struct.unpack_from("<I", need(PHYSICAL_SECTOR_SIZE, 4, "physical sector size"))[0]
    if block_size < MIB or block_size > 256 * MIB or block_size & (block_size - 1):
        raise InvalidBlockSizeError(block_size)
    if logical not in (512, 4096):
        raise CorruptMetadataError(message(QT_TR_NOOP("the logical sector size is {logical}, not "
                                                      "512 or 4096"),
                                           logical=logical))
    if virtual_size == 0 or virtual_size % logical or virtual_size > 64 * 1024**4:
        raise CorruptMetadataError(message(QT_TR_NOOP("the virtual disk size {virtual_size:,} is "
                                                      "impossible"),
                                           virtual_size=virtual_size))
    return VhdxMetadata(block_size, bool(flags & 1), bool(flags & 2), virtual_size, disk_id,
                        logical, physical)


class VhdxLayout:
    """The payload blocks of a VHDX (fixed or dynamic, no parent)."""

    def __init__(self, file: PositionalFile, bat: Region, meta: VhdxMetadata) -> None:
        self._file = file
        self._bat = bat
        self._virtual_size = meta.virtual_size
        self.block_size = meta.block_size
        self._chunk_ratio = (1 << 23) * meta.logical_sector_size // meta.block_size
        self.block_count = -(-meta.virtual_size // meta.block_size)
        entries_needed = self._table_index(self.block_count - 1) + 1
        if entries_needed * 8 > bat.length:
            raise CorruptRegionTableError(
                message(QT_TR_NOOP("the block table region holds {entries:,} entries, the disk "
                                   "needs {entries_needed:,}"),
                        entries=bat.length // 8, entries_needed=entries_needed))
        self._fixed = meta.leave_blocks_allocated
        self._table = TableReader(file, bat.offset, bat.length // 8, itemsize=8,
                                  big_endian=False)

    @property
    def virtual_size(self) -> int:
        return self._virtual_size

    def _table_index(self, block: int) -> int:
        # A sector-bitmap entry follows every chunk_ratio payload entries.
        return block + block // self._chunk_ratio

    def _entries(self, first: int, last: int) -> list[int]:
        """Payload entries for blocks [first, last]."""
        raw = self._table.entries(self._table_index(first), self._table_index(last) + 1)
        return self._payload(raw, first, last)

    def _payload(self, raw: list[int], first: int, last: int) -> list[int]:
        """Drop the sector-bitmap entries from table entries covering blocks [first, last]."""
        if len(raw) == last - first + 1:  # no sector-bitmap entry in between
            return raw
        # Bitmap entries sit at table indices k * (ratio + 1) + ratio; delete them by slicing.
        payload = list(raw)
        del payload[self._first_bitmap(first)::self._chunk_ratio + 1]
        return payload

    def _first_bitmap(self, first: int) -> int:
        period = self._chunk_ratio + 1
        return (self._chunk_ratio - self._table_index(first) % period) % period

    def _stored_chunks(self) -> Iterator[tuple[int, array[int], Packed, bytes]]:
        """(first block, payload entries, the same packed, their states) for each chunk that
        holds any block with a state other than "reads as zero".

        Nothing loops over entries in Python: the entries come as an array, the sector-bitmap
        entries are dropped by slice deletion, and the states (the low three bits) are the low
        byte lane masked by ``bytes.translate``.
        """
        for start in range(0, self.block_count, _TABLE_CHUNK_ENTRIES):
            last = min(self.block_count, start + _TABLE_CHUNK_ENTRIES) - 1
            entries = self._table.array(self._table_index(start), self._table_index(last) + 1)
            if len(entries) != last - start + 1:
                del entries[self._first_bitmap(start)::self._chunk_ratio + 1]
            packed = Packed(entries)
            states = packed.lane(0).translate(_STATE_OF_BYTE)
            # States 0-3 ("not present", "undefined", "zero", "unmapped") read as zeros: the
            # usual case in a sparse disk.
            if not states.translate(None, _ZERO_STATES):
                continue
            yield start, entries, packed, states

    def _block_problem(self, block: int, entry: int) -> Message | None:
        state = entry & 7
        if state in _READS_AS_ZERO:
            return None
        if state == PAYLOAD_PARTIALLY_PRESENT:
            return message(QT_TR_NOOP("it is marked partially present, which only differencing "
                                      "disks may use"))
        if state != PAYLOAD_FULLY_PRESENT:
            return message(QT_TR_NOOP("its state {state} is not defined"),
                           state=state)
        offset = (entry >> 20) * MIB
        length = min(self.block_size, self._virtual_size - block * self.block_size)
        if offset < MIB:
            return message(QT_TR_NOOP("it would lie in the file's header area"))
        if offset + length > self._file.size:
            return (message(QT_TR_NOOP("it would reach byte {end:,} of a {size:,}-byte file"),
                            end=offset + length, size=self._file.size))
        return None

    def _bad_map(self, start: int, entries: array[int], packed: Packed, states: bytes) -> int:
        """The map of a chunk's entries that :meth:`_block_problem` refuses, built in C.

        Undefined states are refused outright. A present block is good when its MiB offset (bits
        20 and up) is at least 1 and the block ends inside the file: one span of entry values.
        Only the disk's last block, which may be shorter, is judged on its own.
        """
        bad = packed.map_of(states, _IS_UNDEFINED)
        present = packed.map_of(states, _IS_PRESENT)
        if not present:
            return bad
        end_mib = (self._file.size - self.block_size) // MIB  # the last MiB a block may start at
        lowest = 1 << 20
        highest = (end_mib + 1) << 20 if end_mib >= 1 else lowest  # exclusive
        bad |= present & ~packed.between(lowest, highest)
        last = packed.count - 1
        if start + last == self.block_count - 1 and states[last] == PAYLOAD_FULLY_PRESENT:
            bit = 1 << (8 * last)
            if self._block_problem(start + last, entries[last]) is None:
                bad &= ~bit
            else:
                bad |= bit
        return bad

    def check_table(self) -> tuple[int, list[Finding]]:
        stored = 0
        bad = 0
        first_bad: int | None = None
        for start, entries, packed, states in self._stored_chunks():
            stored += states.count(PAYLOAD_FULLY_PRESENT)
            bad_map = self._bad_map(start, entries, packed, states)
            if bad_map:
                bad += bad_map.bit_count()
                if first_bad is None:
                    first_bad = start + packed.first(bad_map)
        findings: list[Finding] = []
        if bad:
            findings.append(Finding(
                Level.ERROR, "vhdx-bad-block-entry",
                plural(tr("%n block table entry is invalid or point outside the file (first: "
                          "block {first}): the file is truncated or damaged. Copy it again or "
                          "repair it in Hyper-V ('Inspect Disk').", "", bad),
                       "%n block table entries are invalid or point outside the file (first: "
                       "block {first}): the file is truncated or damaged. Copy it again or "
                       "repair it in Hyper-V ('Inspect Disk').",
                       bad, first=first_bad)))
        return stored, findings

    def read(self, offset: int, view: memoryview) -> None:
        bs = self.block_size
        for block, pos, dest, entry in block_reads(offset, view, bs, self._entries):
            if entry & 7 in _READS_AS_ZERO:
                fill_zero(dest)
            else:
                problem = self._block_problem(block, entry)
                if problem:
                    raise CorruptBlockTableError(message(QT_TR_NOOP("block {block} cannot be "
                                                                    "read: {problem}"),
                                                         block=block, problem=problem))
                self._file.readinto((entry >> 20) * MIB + pos - block * bs, dest)

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        """Runs of present blocks, found by a regular expression over each chunk's 0/1 map."""
        bs = self.block_size
        for start, entries, packed, states in self._stored_chunks():
            present = packed.map_of(states, _IS_PRESENT)
            if not present:
                continue
            spans = (iter([(0, packed.count)]) if present == packed.all
                     else runs(present, packed.count, bs, join))
            for first, end in spans:
                begin, stop = (start + first) * bs, min((start + end) * bs, self._virtual_size)
                if self._fixed and self._file_contiguous(entries, first, end):
                    # Fixed VHDX files are often sparse on disk: skip the file-system holes.
                    file_at = (entries[first] >> 20) * MIB
                    for a, b in self._file.data_extents(file_at, file_at + stop - begin):
                        yield begin + a - file_at, begin + b - file_at
                else:
                    # Dynamic, or blocks scattered in the file (or joined across a gap): all of
                    # the run may hold data. Always true, only less exact about holes.
                    yield begin, stop

    def _file_contiguous(self, entries: array[int], first: int, end: int) -> bool:
        """Whether blocks [first, end) are present and lie one after another in the file, as
        every tool writes a fixed VHDX. The ends are checked first (O(1)); only then the whole
        run, as one array comparison."""
        step = (self.block_size // MIB) << 20
        head = entries[first]
        if entries[end - 1] != head + (end - 1 - first) * step:
            return False
        if end - first <= 2:
            return True
        return entries[first:end] == array(entries.typecode,
                                           range(head, head + (end - first) * step, step))


def open_vhdx(file: PositionalFile) -> OpenedLayout:
    _header, findings = read_current_header(file)
    bat, meta_region, region_findings = read_regions(file)
    findings.extend(region_findings)
    meta = read_metadata(file, meta_region)
    if meta.has_parent:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("it is a differencing VHDX (it has a parent disk); merge it into "
                               "its parent first (Hyper-V 'Edit Disk > Merge')")))
    if meta.logical_sector_size != 512:
        findings.append(Finding(
            Level.WARNING, "vhdx-4k-sectors",
            message(QT_TR_NOOP("The VHDX uses 4096-byte logical sectors, but an Azure disk has "
                               "512-byte sectors. Partition tables written for 4096-byte sectors "
                               "will not be found in Azure; make sure the guest's partitions "
                               "were created on a 512-byte-sector disk."))))
    layout = VhdxLayout(file, bat, meta)
    stored, table_findings = layout.check_table()
    findings.extend(table_findings)
    return OpenedLayout(
        format=ImageFormat.VHDX_FIXED if meta.leave_blocks_allocated else ImageFormat.VHDX_DYNAMIC,
        layout=layout,
        disk_id=meta.disk_id,
        timestamp=_timestamp_from_mtime(file),
        findings=findings,
        details=[
            (Text(QT_TR_NOOP("Disk id")), str(meta.disk_id)),
            (Text(QT_TR_NOOP("Created by")), _creator(file)),
            (Text(QT_TR_NOOP("Block size")), human_size(meta.block_size)),
            (Text(QT_TR_NOOP("Sector size")), Text(message(
                QT_TR_NOOP("{logical} logical, {physical} physical"),
                logical=meta.logical_sector_size, physical=meta.physical_sector_size))),
            (Text(QT_TR_NOOP("Stored blocks")), Text(message(
                QT_TR_NOOP("{stored:,} of {total:,}"), stored=stored, total=layout.block_count))),
        ],
    )


def _creator(file: PositionalFile) -> str:
    """The creator string after the file signature (UTF-16, informational only)."""
    text = file.read(8, 512).decode("utf-16-le", errors="replace").split("\0", 1)[0]
    return text.strip() or Text(QT_TR_NOOP("unknown"))


def _timestamp_from_mtime(file: PositionalFile) -> int:
    from datetime import UTC, datetime

    from gui.diskimage.footer import vhd_timestamp

    return vhd_timestamp(datetime.fromtimestamp(file.mtime_ns / 1e9, tz=UTC))

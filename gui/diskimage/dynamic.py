"""Dynamic and differencing VHDs: the ``cxsparse`` header, the block table and sector bitmaps.

Nothing is loaded in proportion to the disk: block-table entries and bitmap bytes are read with
``pread`` for each request, and the open-time check walks the table in fixed-size chunks.
"""

from __future__ import annotations

import heapq
import struct
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from gui.diskimage.bits import bitmap_runs, block_reads
from gui.diskimage.errors import (
    CorruptBlockTableError,
    CorruptHeaderError,
    InvalidBlockSizeError,
    TruncatedImageError,
)
from gui.diskimage.footer import FOOTER_SIZE, VhdFooter
from gui.diskimage.layout import Layout, fill_zero
from gui.diskimage.model import Finding, Level
from gui.diskimage.packed import GapSource, Packed, runs
from gui.diskimage.pio import PositionalFile
from gui.diskimage.table import TableReader
from gui.i18n import QT_TR_NOOP, Message, message, plural, tr

HEADER_SIZE = 1024
HEADER_COOKIE = b"cxsparse"
HEADER_VERSION = 0x00010000
UNUSED = 0xFFFFFFFF
SECTOR = 512
MAX_BLOCK_SIZE = 1 << 31
_TABLE_CHUNK_ENTRIES = 1 << 17  # 512 KiB of block table per step of a walk
_HEADER = struct.Struct(">8sQQIIII16sI4x512s")
_LOCATOR = struct.Struct(">4sIII Q")


@dataclass(frozen=True)
class ParentLocator:
    platform_code: bytes
    data_space: int
    data_length: int
    data_offset: int


@dataclass(frozen=True)
class DynamicHeader:
    cookie: bytes
    data_offset: int
    table_offset: int
    version: int
    max_table_entries: int
    block_size: int
    checksum: int
    parent_id: uuid.UUID
    parent_timestamp: int
    parent_name: str
    locators: tuple[ParentLocator, ...]
    computed_checksum: int


def parse_header(data: bytes) -> DynamicHeader:
    (cookie, data_offset, table_offset, version, entries, block_size, checksum, parent_id,
     parent_ts, name) = _HEADER.unpack_from(data, 0)
    locators = tuple(
        ParentLocator(code, space, length, offset)
        for code, space, length, _reserved, offset in (
            _LOCATOR.unpack_from(data, 576 + 24 * i) for i in range(8))
        if code != b"\0\0\0\0"
    )
    computed = (~(sum(data[:36]) + sum(data[40:HEADER_SIZE]))) & 0xFFFFFFFF
    parent_name = name.decode("utf-16-be", errors="replace").split("\0", 1)[0]
    return DynamicHeader(cookie, data_offset, table_offset, version, entries, block_size,
                         checksum, uuid.UUID(bytes=parent_id), parent_ts, parent_name, locators,
                         computed)


def read_header(file: PositionalFile, footer: VhdFooter) -> tuple[DynamicHeader, list[Finding]]:
    offset = footer.data_offset
    if offset + HEADER_SIZE > file.size:
        raise TruncatedImageError(message(QT_TR_NOOP("dynamic disk header")),
                                  offset + HEADER_SIZE, file.size)
    header = parse_header(file.read(offset, HEADER_SIZE))
    if header.cookie != HEADER_COOKIE:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the dynamic disk header at byte {offset:,} does not start with "
                               "'cxsparse'"),
                    offset=offset))
    findings: list[Finding] = []
    if header.checksum != header.computed_checksum:
        findings.append(Finding(
            Level.ERROR, "vhd-header-checksum",
            message(QT_TR_NOOP("The dynamic disk header's checksum is wrong (stored "
                               "{checksum:#010x}, computed {computed_checksum:#010x}): the file "
                               "is damaged. Check it with 'qemu-img check' or export the disk "
                               "again."),
                    checksum=header.checksum, computed_checksum=header.computed_checksum)))
    if header.version != HEADER_VERSION:
        findings.append(Finding(
            Level.WARNING, "vhd-header-version",
            message(QT_TR_NOOP("The dynamic disk header has version {version:#010x}, not 1.0; it "
                               "was read as 1.0."),
                    version=header.version)))
    block_size = header.block_size
    if block_size < SECTOR or block_size > MAX_BLOCK_SIZE or block_size & (block_size - 1):
        raise InvalidBlockSizeError(block_size)
    table_end = header.table_offset + 4 * header.max_table_entries
    if table_end > file.size:
        raise TruncatedImageError(message(QT_TR_NOOP("block allocation table")),
                                  table_end, file.size)
    return header, findings


def bitmap_size(block_size: int) -> int:
    """Bytes of sector bitmap before each block: one bit per sector, padded to whole sectors."""
    bitmap_bytes = -(-(block_size // SECTOR) // 8)
    return -(-bitmap_bytes // SECTOR) * SECTOR


class DynamicVhdLayout:
    """A dynamic VHD, or a differencing one when ``parent`` is given."""

    def __init__(self, file: PositionalFile, footer: VhdFooter, header: DynamicHeader,
                 parent: Layout | None = None, *, footer_at_end: bool = True) -> None:
        self._file = file
        self._virtual_size = footer.current_size
        self._table_offset = header.table_offset
        self._entries = header.max_table_entries
        self.block_size = header.block_size
        self._sectors_per_block = self.block_size // SECTOR
        self._bitmap_size = bitmap_size(self.block_size)
        # Blocks must end before the footer at the end of the file (when it is still there).
        self._data_limit = file.size - FOOTER_SIZE if footer_at_end else file.size
        self._header_offset = footer.data_offset
        self._table_end = self._table_offset + 4 * self._entries
        self._table = TableReader(file, self._table_offset, self._entries, itemsize=4,
                                  big_endian=True)
        self._parent = parent

    @property
    def virtual_size(self) -> int:
        return self._virtual_size

    # ---- the block table --------------------------------------------------------------------

    def _entries_for(self, first: int, last: int) -> list[int]:
        """Block-table entries for blocks [first, last], UNUSED past the table's end."""
        count = last - first + 1
        have = max(0, min(last + 1, self._entries) - first)
        table = self._table.entries(first, first + have) if have else []
        if len(table) < count:
            table.extend([UNUSED] * (count - len(table)))
        return table

    def _block_problem(self, entry: int) -> Message | None:
        """Why a stored block cannot be where its entry says, or None when it can."""
        start = entry * SECTOR
        end = start + self._bitmap_size + self.block_size
        if end > self._data_limit:
            return (message(QT_TR_NOOP("it would reach byte {end:,} of a file whose data ends at "
                                       "byte {data_limit:,}"),
                            end=end, data_limit=self._data_limit))
        if start < FOOTER_SIZE:
            return message(QT_TR_NOOP("it would overlap the footer copy at the start of the file"))
        if start < self._header_offset + HEADER_SIZE and end > self._header_offset:
            return message(QT_TR_NOOP("it would overlap the dynamic disk header"))
        if start < self._table_end and end > self._table_offset:
            return message(QT_TR_NOOP("it would overlap the block table"))
        return None

    def _block_location(self, block: int, entry: int) -> int:
        """File offset of the block's bitmap, checked to lie inside the file's data."""
        problem = self._block_problem(entry)
        if problem:
            raise CorruptBlockTableError(
                message(QT_TR_NOOP("block {block} is recorded at byte {at:,}, but {problem}"),
                        block=block, at=entry * SECTOR, problem=problem))
        return entry * SECTOR

    def _good_entry_spans(self) -> list[tuple[int, int]]:
        """Half-open spans of the entry values :meth:`_block_problem` accepts (usually one).

        Its four conditions solved for the entry (the block's sector number), so a whole chunk
        of the table is judged with a few comparisons in C instead of entry by entry.
        """
        span = self._bitmap_size + self.block_size  # bytes from the bitmap to the block's end
        forbidden = sorted([
            (0, -(-FOOTER_SIZE // SECTOR)),  # the footer copy at the start
            ((self._data_limit - span) // SECTOR + 1, UNUSED),  # past the data's end
            ((self._header_offset - span) // SECTOR + 1,
             -(-(self._header_offset + HEADER_SIZE) // SECTOR)),  # the dynamic header
            ((self._table_offset - span) // SECTOR + 1, -(-self._table_end // SECTOR)),
        ])
        good: list[tuple[int, int]] = []
        pos = 0
        for low, high in forbidden:
            if low > pos:
                good.append((pos, low))
            pos = max(pos, high)
        if pos < UNUSED:
            good.append((pos, UNUSED))
        return good

    def check_table(self) -> tuple[int, list[Finding]]:
        """Count stored blocks and report entries that point outside the file.

        Each chunk of the table is judged whole, in C (see :mod:`gui.diskimage.packed`): millions of
        entries take a fraction of a second, and memory is one chunk whatever the table claims.
        """
        findings: list[Finding] = []
        stored = 0
        bad = 0
        first_bad: int | None = None
        needed = -(-self._virtual_size // self.block_size)
        good = self._good_entry_spans()
        for start in range(0, self._entries, _TABLE_CHUNK_ENTRIES):
            packed = Packed(self._table.array(start, min(self._entries,
                                                         start + _TABLE_CHUNK_ENTRIES)))
            used = packed.below(UNUSED)
            if not used:  # nothing stored here
                continue
            stored += used.bit_count()
            good_map = 0
            for low, high in good:
                good_map |= packed.between(low, high)
            bad_map = used & ~good_map
            if bad_map:
                bad += bad_map.bit_count()
                if first_bad is None:
                    first_bad = start + packed.first(bad_map)
        if bad:
            findings.append(Finding(
                Level.ERROR, "vhd-block-outside-file",
                plural(tr("%n block table entry points outside the file's data (first: block "
                          "{first}): the file is truncated or damaged, and those blocks cannot "
                          "be read. Copy the file again or run 'qemu-img check'.", "", bad),
                       "%n block table entries point outside the file's data (first: block "
                       "{first}): the file is truncated or damaged, and those blocks cannot be "
                       "read. Copy the file again or run 'qemu-img check'.",
                       bad, first=first_bad)))
        if self._entries < needed:
            findings.append(Finding(
                Level.ERROR, "vhd-table-too-small",
                message(QT_TR_NOOP("The block table has {entries:,} entries but the disk needs "
                                   "{needed:,}; the end of the disk has no place to be stored. "
                                   "The file is damaged."),
                        entries=self._entries, needed=needed)))
        return stored, findings

    # ---- reading ----------------------------------------------------------------------------

    def read(self, offset: int, view: memoryview) -> None:
        for block, pos, dest, entry in block_reads(offset, view, self.block_size,
                                                   self._entries_for):
            if entry == UNUSED:
                self._read_absent(pos, dest)
            else:
                self._read_block(block, entry, pos, dest)

    def _read_absent(self, pos: int, dest: memoryview) -> None:
        if self._parent is None:
            fill_zero(dest)
            return
        parent_end = self._parent.virtual_size
        inside = max(0, min(len(dest), parent_end - pos))
        if inside:
            self._parent.read(pos, dest[:inside])
        if inside < len(dest):
            fill_zero(dest[inside:])

    def _read_block(self, block: int, entry: int, pos: int, dest: memoryview) -> None:
        bitmap_at = self._block_location(block, entry)
        data_at = bitmap_at + self._bitmap_size
        within = pos - block * self.block_size
        first_sector = within // SECTOR
        last_sector = (within + len(dest) - 1) // SECTOR
        first_byte, last_byte = first_sector // 8, last_sector // 8
        if within == 0:
            # Streaming reads start at block starts: take the bitmap and the data in one call,
            # then patch whatever the bitmap says is not stored (usually nothing).
            whole = bytearray(self._bitmap_size)
            self._file.readv_into(bitmap_at, [memoryview(whole), dest])
            bitmap = bytes(whole[first_byte : last_byte + 1])
            data_read = True
        else:
            bitmap = self._file.read(bitmap_at + first_byte, last_byte - first_byte + 1)
            data_read = False
        if bitmap.count(0xFF) == len(bitmap):  # the usual case: every sector is stored
            if not data_read:
                self._file.readinto(data_at + within, dest)
            return
        runs = bitmap_runs(bitmap, first_sector, last_sector - first_sector + 1)
        for run_first, run_end, present in runs:
            a = max(within, run_first * SECTOR)
            b = min(within + len(dest), run_end * SECTOR)
            part = dest[a - within : b - within]
            if not present:
                self._read_absent(block * self.block_size + a, part)
            elif not data_read:
                self._file.readinto(data_at + a, part)

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        own = self._own_allocated(join)
        if self._parent is None:
            return own
        parent_limit = min(self._parent.virtual_size, self._virtual_size)
        parent = ((s, min(e, parent_limit)) for s, e in self._parent.allocated(join)
                  if s < parent_limit)
        return _union(own, parent)

    def _own_allocated(self, join: GapSource | None) -> Iterator[tuple[int, int]]:
        """Runs of stored blocks, found by a regular expression over the chunk's 0/1 map."""
        bs = self.block_size
        blocks = min(self._entries, -(-self._virtual_size // bs))
        for start in range(0, blocks, _TABLE_CHUNK_ENTRIES):
            packed = Packed(self._table.array(start, min(blocks, start + _TABLE_CHUNK_ENTRIES)))
            used = packed.below(UNUSED)
            if not used:
                continue
            if used == packed.all:
                yield start * bs, min((start + packed.count) * bs, self._virtual_size)
                continue
            for first, end in runs(used, packed.count, bs, join):
                yield (start + first) * bs, min((start + end) * bs, self._virtual_size)


def _union(a: Iterator[tuple[int, int]],
           b: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Merge two sorted range streams into one sorted stream (overlaps are merged later)."""
    return heapq.merge(a, b)

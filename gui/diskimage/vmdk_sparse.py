"""Hosted sparse VMDK extents (``KDMV``): monolithicSparse, split sparse, and streamOptimized.

The grain directory (GD) points at grain tables (GT), each entry of which is the sector where a
grain of the disk is stored: 0 when it is not (zeros, or the parent's data in a snapshot disk), 1
for a grain known to be zero. A streamOptimized extent stores every grain deflated behind a
12-byte marker (its LBA and compressed size), and VMware writes its GD at the end of the file,
named by a footer copy of the header. Tables are read as reads need them and kept in a small LRU,
so memory does not grow with the disk. A stream whose GD cannot be found is indexed once by
walking its markers: two compact arrays (grain number, sector), a few bytes per stored grain.
"""

from __future__ import annotations

import bisect
import struct
import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from gui.diskimage.errors import (
    CorruptBlockTableError,
    CorruptHeaderError,
    DiskImageError,
    ImplausibleSizeError,
    InvalidBlockSizeError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.inflate import ZLIB, InflateError, inflate
from gui.diskimage.layout import Layout, fill_zero
from gui.diskimage.packed import GapSource, Packed, runs
from gui.diskimage.pio import SourceFile
from gui.i18n import QT_TR_NOOP, Message, message

SECTOR = 512
MAGIC = b"KDMV"
GD_AT_END = 0xFFFFFFFFFFFFFFFF
FLAG_NEWLINE_TEST = 1 << 0
FLAG_ZERO_GRAIN = 1 << 2
FLAG_COMPRESSED = 1 << 16
FLAG_MARKERS = 1 << 17
COMPRESS_NONE = 0
COMPRESS_DEFLATE = 1
NEWLINE_TEST = b"\n \r\n"
MARKER_EOS = 0
MARKER_GT = 1
MARKER_GD = 2
MARKER_FOOTER = 3
GTE_ZERO = 1  # a grain-table entry that means "this grain reads as zeros"
# qemu refuses grains above 1 GiB; real ones are 64 KiB. 16 MiB keeps one inflated grain small.
MAX_GRAIN_SECTORS = 1 << 15
MAX_GTES = 4096  # VMware always writes 512
MAX_CAPACITY_BYTES = 1 << 52
_HEADER = struct.Struct("<4sIIQQQQIQQQB4sH")
_MARKER = struct.Struct("<QII")
_GRAIN_MARKER_BYTES = 12  # lba (8) + compressed size (4), then the deflated data
_TABLE_CACHE_ENTRIES = 1 << 18  # 1 MiB of GD pages and GTs at most, whatever the disk size
_GD_PAGE_ENTRIES = 1 << 14
_GRAIN_CACHE_BYTES = 4 << 20  # recently inflated grains, for small reads that land in one
_SCAN_WINDOW = 1 << 20
_GRAIN_BATCH_BYTES = 4 << 20  # compressed grains read with one call while they lie this close
_WALK_BATCH_BYTES = 1 << 19  # grain tables read in one call while listing allocated grains


class CorruptGrainError(DiskImageError):
    """A streamOptimized grain or marker is damaged: it does not inflate, or names another place."""

    def __init__(self, detail: Message | str) -> None:
        super().__init__(
            message(QT_TR_NOOP("The VMDK's compressed data is damaged: {detail}. The disk cannot "
                               "be read safely; copy the file again, or export the disk again "
                               "from its source (VMware 'Export OVF Template', ovftool)."),
                    detail=detail))


def deflate_bound(length: int) -> int:
    """The most bytes zlib's deflate makes of ``length`` bytes (zlib's ``compressBound``)."""
    return length + (length >> 12) + (length >> 14) + (length >> 25) + 13


@dataclass(frozen=True)
class SparseHeader:
    version: int
    flags: int
    capacity: int  # sectors
    grain_sectors: int
    descriptor_offset: int  # sectors
    descriptor_sectors: int
    gtes_per_gt: int
    gd_offset: int  # sectors, or GD_AT_END
    overhead: int  # sectors
    unclean: bool
    newline_test: bytes
    compression: int

    @property
    def compressed(self) -> bool:
        return self.compression == COMPRESS_DEFLATE

    @property
    def markers(self) -> bool:
        return bool(self.flags & FLAG_MARKERS)

    @property
    def grain_bytes(self) -> int:
        return self.grain_sectors * SECTOR

    @property
    def grains(self) -> int:
        return -(-self.capacity // self.grain_sectors)

    @property
    def gd_entries(self) -> int:
        return -(-self.grains // self.gtes_per_gt)


def parse_header(data: bytes) -> SparseHeader:
    (_magic, version, flags, capacity, grain, desc_off, desc_size, gtes, _rgd, gd, overhead,
     unclean, newline, compression) = _HEADER.unpack_from(data, 0)
    return SparseHeader(version, flags, capacity, grain, desc_off, desc_size, gtes, gd, overhead,
                        bool(unclean), newline, compression)


def read_header(file: SourceFile) -> SparseHeader:
    """The extent's header, checked; for a stream with its GD at the end, the footer's copy."""
    if file.size < SECTOR:
        raise TruncatedImageError(message(QT_TR_NOOP("VMDK sparse header")), SECTOR, file.size)
    data = file.read(0, SECTOR)
    if data[:4] != MAGIC:
        raise CorruptHeaderError(message(QT_TR_NOOP("the VMDK sparse extent does not start with "
                                                    "'KDMV'")))
    header = parse_header(data)
    if header.gd_offset == GD_AT_END:
        footer = _footer_header(file)
        if footer is not None:
            header = footer
    _check(header)
    return header


def _footer_header(file: SourceFile) -> SparseHeader | None:
    """The header copy VMware writes before the end-of-stream marker (None when absent)."""
    if file.size < 4 * SECTOR:
        return None
    tail = file.read(file.size - 3 * SECTOR, 3 * SECTOR)
    _sectors, size, kind = _MARKER.unpack_from(tail, 0)
    eos_value, eos_size, eos_kind = _MARKER.unpack_from(tail, 2 * SECTOR)
    if size or kind != MARKER_FOOTER or eos_value or eos_size or eos_kind != MARKER_EOS:
        return None
    if tail[SECTOR : SECTOR + 4] != MAGIC:
        return None
    return parse_header(tail[SECTOR : 2 * SECTOR])


def _check(header: SparseHeader) -> None:
    if header.version not in (1, 2, 3):
        raise UnsupportedImageError(
            message(QT_TR_NOOP("its VMDK sparse header has version {version}, which this program "
                               "does not know"),
                    version=header.version))
    if header.flags & FLAG_NEWLINE_TEST and header.newline_test != NEWLINE_TEST:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the VMDK's line-end test bytes were changed, which happens when "
                               "a file is copied in text mode (FTP 'ASCII'): copy it again in "
                               "binary mode")))
    grain = header.grain_sectors
    if grain < 1 or grain > MAX_GRAIN_SECTORS or grain & (grain - 1):
        raise InvalidBlockSizeError(grain * SECTOR)
    if header.capacity * SECTOR > MAX_CAPACITY_BYTES:
        raise ImplausibleSizeError(header.capacity * SECTOR)
    if header.capacity == 0:
        raise CorruptHeaderError(message(QT_TR_NOOP("the VMDK sparse header gives a capacity of "
                                                    "zero sectors")))
    if not 1 <= header.gtes_per_gt <= MAX_GTES:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the VMDK sparse header gives {gtes_per_gt:,} entries per grain "
                               "table (VMware writes 512)"),
                    gtes_per_gt=header.gtes_per_gt))
    if header.compression not in (COMPRESS_NONE, COMPRESS_DEFLATE):
        raise UnsupportedImageError(
            message(QT_TR_NOOP("its grains are compressed with method {compression}; only "
                               "deflate is known"),
                    compression=header.compression))


# ---- the grain index ---------------------------------------------------------------------------

class GrainIndex(Protocol):
    def entries(self, first: int, stop: int) -> list[int]:
        """Grain-table entries for grains [first, stop): a sector, 0 (not stored) or 1 (zero)."""

    def stored_runs(self, join: GapSource | None, grain_bytes: int
                    ) -> Iterator[tuple[int, int]]:
        """(first, stop) grain numbers of runs of stored grains, in order."""


class _TableCache:
    """GD pages and grain tables read from the file, at most ``limit`` entries kept (LRU)."""

    def __init__(self, file: SourceFile, limit: int = _TABLE_CACHE_ENTRIES) -> None:
        self._file = file
        self._limit = limit
        self._held = 0
        self._tables: OrderedDict[tuple[int, int], array[int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, offset: int, count: int) -> array[int]:
        key = (offset, count)
        with self._lock:
            found = self._tables.get(key)
            if found is not None:
                self._tables.move_to_end(key)
                return found
        table = read_entries(self._file, offset, count)
        with self._lock:
            if key not in self._tables:
                self._tables[key] = table
                self._held += count
            while self._held > self._limit and len(self._tables) > 1:
                _key, dropped = self._tables.popitem(last=False)
                self._held -= len(dropped)
        return table


def read_entries(file: SourceFile, offset: int, count: int) -> array[int]:
    """``count`` little-endian 32-bit entries at ``offset`` (the caller checked the range)."""
    table = array("I")
    table.frombytes(file.read(offset, 4 * count))
    if sys.byteorder == "big":
        table.byteswap()
    return table


class GrainTables:
    """The GD and its GTs: the index of monolithicSparse, split sparse, and most streams."""

    def __init__(self, file: SourceFile, header: SparseHeader) -> None:
        self._file = file
        self._gtes = header.gtes_per_gt
        self._grains = header.grains
        self._gd_entries = header.gd_entries
        if header.gd_offset in (0, GD_AT_END):
            raise CorruptHeaderError(message(QT_TR_NOOP("the VMDK sparse header does not say "
                                                        "where its grain directory is")))
        self._gd_at = header.gd_offset * SECTOR
        gd_end = self._gd_at + 4 * self._gd_entries
        if gd_end > file.size:
            raise TruncatedImageError(message(QT_TR_NOOP("VMDK grain directory")),
                                      gd_end, file.size)
        self._cache = _TableCache(file)

    def _gd_page(self, page: int) -> array[int]:
        first = page * _GD_PAGE_ENTRIES
        count = min(_GD_PAGE_ENTRIES, self._gd_entries - first)
        return self._cache.get(self._gd_at + 4 * first, count)

    def _table_at(self, table: int, sector: int) -> int:
        """The byte offset of grain table ``table``, checked to lie inside the file."""
        at = sector * SECTOR
        if at + 4 * self._gtes > self._file.size:
            raise CorruptBlockTableError(
                message(QT_TR_NOOP("grain table {table} is recorded at byte {at:,}, past the end "
                                   "of the {size:,}-byte file"),
                        table=table, at=at, size=self._file.size))
        return at

    def entries(self, first: int, stop: int) -> list[int]:
        out: list[int] = []
        grain = first
        while grain < stop:
            table, within = divmod(grain, self._gtes)
            take = min(stop - grain, self._gtes - within)
            page, slot = divmod(table, _GD_PAGE_ENTRIES)
            sector = self._gd_page(page)[slot]
            if sector == 0:
                out.extend([0] * take)
            else:
                gt = self._cache.get(self._table_at(table, sector), self._gtes)
                out.extend(gt[within : within + take])
            grain += take
        return out

    def stored_runs(self, join: GapSource | None, grain_bytes: int
                    ) -> Iterator[tuple[int, int]]:
        """Walks the GD page by page; tables that lie one after another in the file (as every
        writer places them) are read in one call and judged whole in C (``packed``)."""
        per = self._gtes
        batch_tables = max(1, _WALK_BATCH_BYTES // (4 * per))
        for page_first in range(0, self._gd_entries, _GD_PAGE_ENTRIES):
            directory = read_entries(self._file, self._gd_at + 4 * page_first,
                                     min(_GD_PAGE_ENTRIES, self._gd_entries - page_first))
            slot = 0
            while slot < len(directory):
                if directory[slot] == 0:
                    slot += 1
                    continue
                # A batch: tables stored back to back in the file.
                end = slot + 1
                step = -(-4 * per // SECTOR)
                while (end < len(directory) and end - slot < batch_tables
                       and directory[end] == directory[end - 1] + step and 4 * per % SECTOR == 0):
                    end += 1
                first_table = page_first + slot
                at = self._table_at(first_table, directory[slot])
                self._table_at(page_first + end - 1, directory[end - 1])
                raw = self._file.read(at, 4 * per * (end - slot))
                slot = end
                if raw.count(0) == len(raw):
                    continue
                entries = array("I")
                entries.frombytes(raw)
                if sys.byteorder == "big":
                    entries.byteswap()
                first_grain = first_table * per
                count = min(len(entries), self._grains - first_grain)
                if count <= 0:
                    continue
                del entries[count:]
                packed = Packed(entries)
                stored = packed.all & ~packed.below(GTE_ZERO + 1)
                if not stored:
                    continue
                for a, b in runs(stored, count, grain_bytes, join):
                    yield first_grain + a, first_grain + b


class ScannedIndex:
    """A stream's grains found by walking its markers once: sorted grain numbers and sectors."""

    def __init__(self, file: SourceFile, header: SparseHeader) -> None:
        grain_sectors = header.grain_sectors
        grains = array("I" if header.grains < 1 << 32 else "Q")
        sectors = array("I" if file.size // SECTOR < 1 << 32 else "Q")
        bound = _GRAIN_MARKER_BYTES + deflate_bound(header.grain_bytes)
        pos = header.overhead * SECTOR
        window_at, window = 0, b""
        in_order = True
        while True:
            if pos + SECTOR > file.size:
                raise TruncatedImageError(message(QT_TR_NOOP("VMDK stream (its end-of-stream "
                                                             "marker)")), pos + SECTOR,
                                          file.size)
            if not window_at <= pos <= window_at + len(window) - _MARKER.size:
                window_at, window = pos, file.read(pos, _SCAN_WINDOW)
            value, size, kind = _MARKER.unpack_from(window, pos - window_at)
            if size:  # a grain: value is its first sector on the disk
                if value % grain_sectors or value >= header.capacity or size > bound:
                    raise CorruptGrainError(
                        message(QT_TR_NOOP("the marker at byte {pos:,} is garbled (sector "
                                           "{sector:,}, {size:,} bytes)"),
                                pos=pos, sector=value, size=size))
                grain = value // grain_sectors
                if grains and grain <= grains[-1]:
                    in_order = False
                grains.append(grain)
                sectors.append(pos // SECTOR)
                pos += -(-(_GRAIN_MARKER_BYTES + size) // SECTOR) * SECTOR
                continue
            if kind == MARKER_EOS and value == 0:
                break
            if kind not in (MARKER_GT, MARKER_GD, MARKER_FOOTER) or value > file.size // SECTOR:
                raise CorruptGrainError(message(QT_TR_NOOP("the marker at byte {pos:,} is "
                                                           "garbled (type {kind}, {sectors:,} "
                                                           "sectors)"),
                                                pos=pos, kind=kind, sectors=value))
            pos += SECTOR + value * SECTOR
        if not in_order:
            # Writers emit grains in disk order; sort the rare stream that does not.
            order = sorted(range(len(grains)), key=grains.__getitem__)
            grains = array(grains.typecode, (grains[i] for i in order))
            sectors = array(sectors.typecode, (sectors[i] for i in order))
            for i in range(1, len(grains)):
                if grains[i] == grains[i - 1]:
                    raise CorruptGrainError(
                        message(QT_TR_NOOP("grain {grain:,} is stored twice (markers at sectors "
                                           "{first:,} and {second:,})"),
                                grain=grains[i], first=sectors[i - 1], second=sectors[i]))
        self._grains = grains
        self._sectors = sectors

    @property
    def stored(self) -> int:
        return len(self._grains)

    def entries(self, first: int, stop: int) -> list[int]:
        out = [0] * (stop - first)
        i = bisect.bisect_left(self._grains, first)
        grains, sectors = self._grains, self._sectors
        while i < len(grains) and grains[i] < stop:
            out[grains[i] - first] = sectors[i]
            i += 1
        return out

    def stored_runs(self, join: GapSource | None, grain_bytes: int
                    ) -> Iterator[tuple[int, int]]:
        grains = self._grains
        if not grains:
            return
        start = previous = grains[0]
        for grain in grains[1:]:
            if grain != previous + 1:
                yield start, previous + 1
                start = grain
            previous = grain
        yield start, previous + 1


# ---- the extent ----------------------------------------------------------------------------------

class SparseExtent:
    """One hosted sparse extent, read grain by grain; ``parent`` supplies grains it lacks."""

    def __init__(self, file: SourceFile, header: SparseHeader, index: GrainIndex, *,
                 parent: Layout | None = None, base: int = 0) -> None:
        self._file = file
        self._header = header
        self._index = index
        self.size = header.capacity * SECTOR
        self._grain_bytes = header.grain_bytes
        self._grain_sectors = header.grain_sectors
        self._compressed = header.compressed
        self._markers = header.markers
        self._parent = parent
        self._base = base  # where this extent starts on the whole disk (for the parent)
        self._bound = deflate_bound(self._grain_bytes)
        self._grain_cache: OrderedDict[int, bytes] = OrderedDict()
        self._grain_cache_lock = threading.Lock()
        self._grain_cache_max = max(0, _GRAIN_CACHE_BYTES // self._grain_bytes)

    def read(self, offset: int, view: memoryview) -> None:
        gbytes = self._grain_bytes
        end = offset + len(view)
        first = offset // gbytes
        entries = self._index.entries(first, (end - 1) // gbytes + 1)
        count = len(entries)
        i = 0
        while i < count:
            entry = entries[i]
            j = i + 1
            if entry <= GTE_ZERO:
                while j < count and entries[j] == entry:
                    j += 1
            elif not self._compressed:
                # Grains that follow each other in the file are read in one call.
                step = self._grain_sectors
                while j < count and entries[j] == entries[j - 1] + step:
                    j += 1
            else:
                # Compressed grains stored in order, close together (a stream writes them one
                # after another), are read in one call and inflated from that buffer.
                while (j < count and entries[j] > entries[j - 1]
                       and (entries[j] - entry) * SECTOR + self._bound <= _GRAIN_BATCH_BYTES):
                    j += 1
            a = max(offset, (first + i) * gbytes)
            b = min(end, (first + j) * gbytes)
            dest = view[a - offset : b - offset]
            if entry == 0:
                self._read_absent(a, dest)
            elif entry == GTE_ZERO:
                fill_zero(dest)
            elif self._compressed:
                self._read_compressed(first + i, entries[i:j], a, dest)
            else:
                at = entry * SECTOR + a - (first + i) * gbytes
                if at + len(dest) > self._file.size:
                    raise CorruptBlockTableError(
                        message(QT_TR_NOOP("grain {grain:,} is recorded at byte {at:,}, but "
                                           "its data would end at byte {end:,} of a "
                                           "{size:,}-byte file"),
                                grain=first + i, at=entry * SECTOR, end=at + len(dest),
                                size=self._file.size))
                self._file.readinto(at, dest)
            i = j

    def _read_absent(self, pos: int, dest: memoryview) -> None:
        parent = self._parent
        if parent is None:
            fill_zero(dest)
            return
        disk_pos = self._base + pos
        inside = max(0, min(len(dest), parent.virtual_size - disk_pos))
        if inside:
            parent.read(disk_pos, dest[:inside])
        if inside < len(dest):
            fill_zero(dest[inside:])

    def _read_compressed(self, grain: int, entries: list[int], pos: int,
                         dest: memoryview) -> None:
        """Grains ``grain``, ``grain + 1``, … (stored at ascending ``entries``) into ``dest``,
        which starts at disk byte ``pos``; their compressed data is read with one call."""
        gbytes = self._grain_bytes
        head = _GRAIN_MARKER_BYTES if self._markers else 0
        size = self._file.size
        start = entries[0] * SECTOR
        # Each grain's data is at most head + bound bytes from where it starts, as before.
        end = min(size, entries[-1] * SECTOR + head + self._bound)
        raw = memoryview(bytearray(max(0, end - start)))
        if start < end:
            self._file.readinto(start, raw)
        done = 0
        for k, entry in enumerate(entries):
            number = grain + k
            within = max(0, pos - number * gbytes)
            length = min(gbytes - within, len(dest) - done)
            whole = within == 0 and length == gbytes
            data = None if whole else self._cached_grain(number)
            if data is None:
                at = entry * SECTOR
                needed = min(gbytes, self.size - number * gbytes)
                data = self._inflate(number, entry, needed,
                                     raw[at - start : min(end, at + head + self._bound) - start])
                if not whole:
                    self._keep_grain(number, data)
            dest[done : done + length] = data[within : within + length]
            done += length

    def _cached_grain(self, grain: int) -> bytes | None:
        with self._grain_cache_lock:
            data = self._grain_cache.get(grain)
            if data is not None:
                self._grain_cache.move_to_end(grain)
            return data

    def _keep_grain(self, grain: int, data: bytes) -> None:
        with self._grain_cache_lock:
            self._grain_cache[grain] = data
            while len(self._grain_cache) > self._grain_cache_max:
                self._grain_cache.popitem(last=False)

    def _inflate(self, grain: int, entry: int, needed: int, raw: memoryview) -> bytes:
        """The grain's first ``needed`` bytes, inflated from its (marker and) deflated data:
        ``raw``, the file's bytes from the grain's start (up to head + bound, or the end)."""
        at = entry * SECTOR
        size = self._file.size
        head = _GRAIN_MARKER_BYTES if self._markers else 0
        if at + head >= size:
            raise CorruptBlockTableError(
                message(QT_TR_NOOP("grain {grain:,} is recorded at byte {at:,}, past the end of "
                                   "the {size:,}-byte file"),
                        grain=grain, at=at, size=size))
        if self._markers:
            lba, length = struct.unpack_from("<QI", raw, 0)
            if lba != grain * self._grain_sectors or not 0 < length <= self._bound:
                raise CorruptGrainError(
                    message(QT_TR_NOOP("the marker of grain {grain:,} (at byte {at:,}) says "
                                       "sector {lba:,} and {length:,} bytes"),
                            grain=grain, at=at, lba=lba, length=length))
            if head + length > len(raw):
                raise CorruptGrainError(
                    message(QT_TR_NOOP("grain {grain:,} at byte {at:,} claims {length:,} "
                                       "compressed bytes, past the end of the {size:,}-byte file"),
                            grain=grain, at=at, length=length, size=size))
            compressed = raw[head : head + length]
        else:
            compressed = raw
        try:
            # The limit bounds the output: a crafted grain cannot inflate to gigabytes.
            data = inflate(compressed, ZLIB, self._grain_bytes)
        except InflateError as exc:
            raise CorruptGrainError(message(QT_TR_NOOP("grain {grain:,} at byte {at:,} does not "
                                                       "inflate ({exc})"),
                                            grain=grain, at=at, exc=exc)) from exc
        if len(data) < needed:
            raise CorruptGrainError(message(QT_TR_NOOP("grain {grain:,} at byte {at:,} inflates "
                                                       "to {actual:,} bytes, not {needed:,}"),
                                            grain=grain, at=at, actual=len(data), needed=needed))
        return data

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        gbytes = self._grain_bytes
        for first, stop in self._index.stored_runs(join, gbytes):
            yield first * gbytes, min(stop * gbytes, self.size)

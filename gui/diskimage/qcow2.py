"""qcow2 images (versions 2 and 3): L1/L2 tables, zero clusters, subclusters, compression, backing.

A virtual offset maps through two tables: the L1 entry names an L2 table (one cluster), the L2
entry names the data cluster, or says it is compressed, reads as zeros or comes from the backing
file. With extended L2 entries (a v3 feature) each cluster has 32 subclusters with their own
"allocated" and "reads as zeros" bits.

Nothing is loaded in proportion to the disk: L1 pages and L2 slices (at most 64 KiB each) are read
as reads need them and kept in one small LRU cache, so a 2 TiB disk opens in the same memory as a
2 MiB one. The cache is the only shared state and a lock guards its bookkeeping; decompression
state is per thread, so reads from many threads need no other coordination.
"""

from __future__ import annotations

import hashlib
import heapq
import os
import sys
import threading
import uuid
from array import array
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gui.diskimage.errors import (
    CorruptBlockTableError,
    ParentChainError,
    UnsupportedImageError,
)
from gui.diskimage.footer import vhd_timestamp
from gui.diskimage.inflate import RAW, InflateError, inflate
from gui.diskimage.layout import Layout, OpenedLayout, fill_zero
from gui.diskimage.model import Finding, ImageFormat, Level
from gui.diskimage.packed import GapSource, Packed, runs
from gui.diskimage.pio import PositionalFile, SourceFile
from gui.diskimage.qcow2_header import (
    COMPRESSION_NAMES,
    COMPRESSION_ZSTD,
    INCOMPAT_CORRUPT,
    INCOMPAT_DIRTY,
    MAGIC,
    BackingFileNotFoundError,
    CorruptCompressedClusterError,
    Qcow2Header,
    is_qcow2,
    read_header,
    snapshot_names,
)
from gui.diskimage.raw import open_raw
from gui.diskimage.rules import human_size
from gui.diskimage.vhd import has_vhd_footer, open_vhd
from gui.diskimage.vhdx import open_vhdx
from gui.i18n import QT_TR_NOOP, Message, Text, message, plural, tr

MAX_CHAIN_DEPTH = 32  # as for differencing VHDs
OFFSET_MASK = 0x00FFFFFFFFFFFE00  # bits 9-55 of L1 and standard L2 entries
COMPRESSED = 1 << 62
ZERO_FLAG = 1  # v3 "reads as zeros" (ignored with extended L2 entries, as qemu does)
SUBCLUSTERS = 32
ALL_SUBCLUSTERS = 0xFFFFFFFF
SLICE_BYTES = 64 * 1024  # the unit of table reads and of the cache
CACHE_BYTES = 4 << 20  # every cached L1 page and L2 slice together
SECTOR = 512
# zstd frames from qemu use windows of a few MiB; a crafted frame may not make us allocate more.
ZSTD_MAX_WINDOW = 8 << 20
# Compressed clusters read with one pread while they lie this close together in the file.
COMPRESSED_BATCH_GAP = 4096
COMPRESSED_BATCH_BYTES = 4 << 20
# Clusters of one L2 slice whose stored subclusters are listed exactly; beyond, whole clusters.
MAX_EXACT_PARTIAL = 256

_ID_NAMESPACE = uuid.UUID("1f6a2c7e-3b8d-4f5e-9c1a-7d2e4b6f8a90")
_SWAP = sys.byteorder == "little"  # tables are big-endian

# What a piece of a read is.
_DATA, _ZERO, _BACKING, _COMPRESSED = range(4)

_NONZERO = bytes(int(b != 0) for b in range(256))
_NONZERO_HIGH7 = bytes(int(b & 0xFE != 0) for b in range(256))
_BIT0 = bytes(b & 1 for b in range(256))
_BIT6 = bytes(int(b & 0x40 != 0) for b in range(256))
_FULL = bytes(int(b == 0xFF) for b in range(256))


class _TableCache:
    """Big-endian 64-bit table pieces by file offset, least recently used dropped first.

    The file is read-only while open, so a piece read by one thread is valid for all: the lock
    guards only the dictionary, and two threads missing the same piece both read it (harmless).
    """

    def __init__(self, file: SourceFile, max_bytes: int = CACHE_BYTES) -> None:
        self._file = file
        self._max = max_bytes
        self._held = 0
        self._pieces: OrderedDict[int, array[int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, offset: int, length: int) -> array[int]:
        with self._lock:
            piece = self._pieces.get(offset)
            if piece is not None:
                self._pieces.move_to_end(offset)
                return piece
        piece = array("Q")
        piece.frombytes(self._file.read(offset, length))
        if _SWAP:
            piece.byteswap()
        with self._lock:
            if offset not in self._pieces:
                self._pieces[offset] = piece
                self._held += 8 * len(piece)
                while self._held > self._max and len(self._pieces) > 1:
                    _old, dropped = self._pieces.popitem(last=False)
                    self._held -= 8 * len(dropped)
        return piece


class _Pieces:
    """Consecutive pieces of one read, joined while they continue each other.

    Data clusters that follow each other in the file become one positional read, runs of zero
    clusters one fill, runs of backing clusters one read of the backing file.
    """

    def __init__(self, layout: Qcow2Layout, offset: int, view: memoryview) -> None:
        self._layout = layout
        self._offset = offset
        self._view = view
        self._kind = -1
        self._start = self._end = self._host = 0
        self._compressed: list[tuple[int, int, int, int]] = []

    def add(self, kind: int, start: int, end: int, host: int = 0) -> None:
        if kind == _COMPRESSED:
            self._flush_run()
            self._compressed.append((start, end, host, (start - self._offset)))
            return
        if self._compressed:
            self._flush_compressed()
        if kind == self._kind and start == self._end and (
                kind != _DATA or host == self._host + (self._end - self._start)):
            self._end = end
            return
        self._flush_run()
        self._kind, self._start, self._end, self._host = kind, start, end, host

    def flush(self) -> None:
        self._flush_run()
        if self._compressed:
            self._flush_compressed()

    def _flush_run(self) -> None:
        kind, self._kind = self._kind, -1
        if kind < 0:
            return
        dest = self._view[self._start - self._offset : self._end - self._offset]
        if kind == _DATA:
            self._layout._read_data(self._host, dest)
        elif kind == _ZERO:
            fill_zero(dest)
        else:
            self._layout._read_backing(self._start, dest)

    def _flush_compressed(self) -> None:
        pieces, self._compressed = self._compressed, []
        self._layout._read_compressed(pieces, self._view)


class Qcow2Layout:
    """The active state of a qcow2 image, over its backing layout when it has one."""

    def __init__(self, file: SourceFile, header: Qcow2Header,
                 backing: Layout | None = None) -> None:
        self._file = file
        self._header = header
        # qemu counts whole sectors: a size that is not a multiple of 512 is cut down to one.
        self._virtual_size = header.size // SECTOR * SECTOR
        self._cluster_bits = cb = header.cluster_bits
        self.cluster_size = cs = 1 << cb
        self._extended = header.extended_l2
        self._words = 2 if self._extended else 1
        self._l2_entries = cs // (8 * self._words)
        self._l2_bits = self._l2_entries.bit_length() - 1
        self._l2_mask = self._l2_entries - 1
        self._slice_bytes = min(cs, SLICE_BYTES)
        self._slice_entries = self._slice_bytes // (8 * self._words)
        self._subcluster_bits = cb - 5
        self._zero_flag = header.version >= 3 and not self._extended
        self._csize_shift = 62 - (cb - 8)
        self._csize_mask = (1 << (cb - 8)) - 1
        self._coffset_mask = (1 << self._csize_shift) - 1
        self._zstd = header.compression_type == COMPRESSION_ZSTD
        self._l1_offset = header.l1_offset
        self._l1_size = header.l1_size
        self._l1_end = header.l1_offset + 8 * header.l1_size
        self._backing = backing
        self._cache = _TableCache(file)
        self._local = threading.local()

    @property
    def virtual_size(self) -> int:
        return self._virtual_size

    # ---- tables -----------------------------------------------------------------------------

    def _l1_page(self, page: int) -> array[int]:
        per_page = SLICE_BYTES // 8
        count = min(per_page, self._l1_size - page * per_page)
        return self._cache.get(self._l1_offset + page * SLICE_BYTES, 8 * count)

    def _l2_problem(self, l2: int) -> Message | None:
        if l2 % self.cluster_size:
            return message(QT_TR_NOOP("it is not on a cluster boundary"))
        if l2 + self.cluster_size > self._file.size:
            return message(QT_TR_NOOP("it would end at byte {end:,}, past the end of the file"),
                           end=l2 + self.cluster_size)
        if l2 < self._l1_end and l2 + self.cluster_size > self._l1_offset:
            return message(QT_TR_NOOP("it overlaps the L1 table"))
        return None

    def _l2_table(self, l1_index: int) -> int:
        """File offset of the L2 table for ``l1_index``, 0 when it has none; checked."""
        entry = self._l1_page(l1_index // (SLICE_BYTES // 8))[l1_index % (SLICE_BYTES // 8)]
        l2 = entry & OFFSET_MASK
        if l2:
            problem = self._l2_problem(l2)
            if problem:
                raise CorruptBlockTableError(
                    message(QT_TR_NOOP("L1 entry {l1_index} names an L2 table at byte {l2:,}, "
                                       "but {problem}"),
                            l1_index=l1_index, l2=l2, problem=problem))
        return l2

    def _l2_slice(self, l2: int, number: int) -> array[int]:
        return self._cache.get(l2 + number * self._slice_bytes, self._slice_bytes)

    # ---- reading ----------------------------------------------------------------------------

    def read(self, offset: int, view: memoryview) -> None:
        cb = self._cluster_bits
        end = offset + len(view)
        pieces = _Pieces(self, offset, view)
        pos = offset
        while pos < end:
            cluster = pos >> cb
            l1_index = cluster >> self._l2_bits
            l2 = self._l2_table(l1_index)
            if not l2:
                stop = min(end, (l1_index + 1) << (self._l2_bits + cb))
                pieces.add(_BACKING, pos, stop)
                pos = stop
                continue
            within = cluster & self._l2_mask
            number = within // self._slice_entries
            entries = self._l2_slice(l2, number)
            slice_first = (l1_index << self._l2_bits) + number * self._slice_entries
            last = min((end - 1) >> cb, slice_first + self._slice_entries - 1)
            if not self._extended and self._contiguous(entries, cluster - slice_first,
                                                       last - cluster + 1):
                # The usual case: clusters written in order lie in order. One comparison in C
                # instead of a Python step per cluster.
                host = entries[cluster - slice_first] & OFFSET_MASK
                self._check_host(cluster, host)
                self._check_host(last, host + ((last - cluster) << cb))
                stop = min(end, (last + 1) << cb)
                pieces.add(_DATA, pos, stop, host + (pos - (cluster << cb)))
                pos = stop
                continue
            for c in range(cluster, last + 1):
                start = c << cb
                a = max(pos, start)
                b = min(end, start + self.cluster_size)
                i = (c - slice_first) * self._words
                entry = entries[i]
                if self._extended:
                    self._add_extended(pieces, c, (entry, entries[i + 1]), (a, b))
                else:
                    self._add_standard(pieces, c, entry, a, b)
            pos = min(end, (last + 1) << cb)
        pieces.flush()

    def _contiguous(self, entries: array[int], first: int, count: int) -> bool:
        """Whether ``count`` entries from ``first`` are plain data clusters, one after another
        in the file (flags equal, offsets a cluster apart): the ends first, then the whole run."""
        if count < 2:
            return False
        head = entries[first]
        if not head & OFFSET_MASK or head & (COMPRESSED | ZERO_FLAG):
            return False
        step = self.cluster_size
        if head + count * step >= 1 << 64 or entries[first + count - 1] != head + (
                count - 1) * step:
            return False
        return entries[first : first + count] == array("Q", range(head, head + count * step,
                                                                  step))

    def _add_standard(self, pieces: _Pieces, cluster: int, entry: int, a: int, b: int) -> None:
        if entry & COMPRESSED:
            pieces.add(_COMPRESSED, a, b, entry)
            return
        host = entry & OFFSET_MASK
        if entry & ZERO_FLAG:
            if not self._zero_flag:
                raise CorruptBlockTableError(
                    message(QT_TR_NOOP("cluster {cluster} is marked as reading zeros, which a "
                                       "version 2 image cannot record"),
                            cluster=cluster))
            pieces.add(_ZERO, a, b)
        elif not host:
            pieces.add(_BACKING, a, b)
        else:
            self._check_host(cluster, host)
            pieces.add(_DATA, a, b, host + (a - (cluster << self._cluster_bits)))

    def _add_extended(self, pieces: _Pieces, cluster: int, entries: tuple[int, int],
                      span: tuple[int, int]) -> None:
        entry, bitmap = entries
        a, b = span
        if entry & COMPRESSED:
            pieces.add(_COMPRESSED, a, b, entry)
            return
        host = entry & OFFSET_MASK
        alloc = bitmap & ALL_SUBCLUSTERS
        zero = bitmap >> 32
        if host:
            if alloc & zero:
                raise CorruptBlockTableError(
                    message(QT_TR_NOOP("cluster {cluster} has subclusters marked both stored and "
                                       "zero"),
                            cluster=cluster))
            self._check_host(cluster, host)
        elif alloc:
            raise CorruptBlockTableError(
                message(QT_TR_NOOP("cluster {cluster} has subclusters marked stored but no place "
                                   "in the file"),
                        cluster=cluster))
        start = cluster << self._cluster_bits
        if alloc == ALL_SUBCLUSTERS:
            pieces.add(_DATA, a, b, host + (a - start))
        elif not alloc and not zero:
            pieces.add(_BACKING, a, b)
        elif zero == ALL_SUBCLUSTERS:
            pieces.add(_ZERO, a, b)
        else:
            sb = self._subcluster_bits
            for sc in range((a - start) >> sb, ((b - 1 - start) >> sb) + 1):
                sa = max(a, start + (sc << sb))
                sz = min(b, start + ((sc + 1) << sb))
                if zero >> sc & 1:
                    pieces.add(_ZERO, sa, sz)
                elif alloc >> sc & 1:
                    pieces.add(_DATA, sa, sz, host + (sa - start))
                else:
                    pieces.add(_BACKING, sa, sz)

    def _check_host(self, cluster: int, host: int) -> None:
        if host % self.cluster_size:
            raise CorruptBlockTableError(
                message(QT_TR_NOOP("cluster {cluster} is recorded at byte {host:,}, which is not "
                                   "a cluster boundary"),
                        cluster=cluster, host=host))
        if host >= self._file.size:
            raise CorruptBlockTableError(
                message(QT_TR_NOOP("cluster {cluster} is recorded at byte {host:,}, past the end "
                                   "of the {size:,}-byte file"),
                        cluster=cluster, host=host, size=self._file.size))

    def _read_data(self, host: int, dest: memoryview) -> None:
        # A last cluster that the file ends inside reads as zeros past the end, as in qemu.
        inside = max(0, min(len(dest), self._file.size - host))
        if inside:
            self._file.readinto(host, dest[:inside])
        if inside < len(dest):
            fill_zero(dest[inside:])

    def _read_backing(self, pos: int, dest: memoryview) -> None:
        if self._backing is None:
            fill_zero(dest)
            return
        inside = max(0, min(len(dest), self._backing.virtual_size - pos))
        if inside:
            self._backing.read(pos, dest[:inside])
        if inside < len(dest):
            fill_zero(dest[inside:])

    # ---- compressed clusters ----------------------------------------------------------------

    def _compressed_span(self, entry: int) -> tuple[int, int]:
        """(file offset, end) of a compressed cluster's data, clamped to the file as qemu reads
        it; past the file's last sector is damage."""
        coffset = entry & self._coffset_mask
        sectors = ((entry >> self._csize_shift) & self._csize_mask) + 1
        end = (coffset // SECTOR + sectors) * SECTOR
        limit = -(-self._file.size // SECTOR) * SECTOR
        if coffset >= self._file.size or end > limit:
            raise CorruptBlockTableError(
                message(QT_TR_NOOP("a compressed cluster is recorded at bytes {coffset:,} to "
                                   "{end:,}, past the end of the {size:,}-byte file"),
                        coffset=coffset, end=end, size=self._file.size))
        return coffset, min(end, self._file.size)

    def _read_compressed(self, pieces: list[tuple[int, int, int, int]],
                         view: memoryview) -> None:
        """Decompress each piece's cluster into its place; neighbours in the file share a read."""
        spans = [self._compressed_span(entry) for _start, _end, entry, _at in pieces]
        i = 0
        while i < len(pieces):
            first, batch_end = spans[i][0], spans[i][1]
            j = i + 1
            while j < len(pieces) and first <= spans[j][0] <= batch_end + COMPRESSED_BATCH_GAP \
                    and spans[j][1] - first <= COMPRESSED_BATCH_BYTES:
                batch_end = max(batch_end, spans[j][1])
                j += 1
            # Read straight into the buffer the clusters inflate from (no copy of it as bytes).
            data = memoryview(bytearray(batch_end - first))
            self._file.readinto(first, data)
            for k in range(i, j):
                start, end, entry, at = pieces[k]
                cluster = self._cluster(entry, data[spans[k][0] - first : spans[k][1] - first],
                                        spans[k][0])
                within = start - ((start >> self._cluster_bits) << self._cluster_bits)
                view[at : at + end - start] = memoryview(cluster)[within : within + end - start]
            i = j

    def _cluster(self, entry: int, data: memoryview, offset: int) -> bytes:
        """One decompressed cluster; the thread's last one is kept for reads that split it."""
        local = self._local
        last = getattr(local, "last", None)
        if last is not None and last[0] == entry:
            cluster: bytes = last[1]
            return cluster
        cluster = self._decompress(data, offset)
        local.last = (entry, cluster)
        return cluster

    def _decompress(self, data: memoryview, offset: int) -> bytes:
        size = self.cluster_size
        if self._zstd:
            out = self._zstd_decompress(data, offset)
        else:
            try:
                out = inflate(data, RAW, size)
            except InflateError as exc:
                raise CorruptCompressedClusterError(offset, message(QT_TR_NOOP("deflate: {exc}"),
                                                                    exc=exc)) from None
        if len(out) != size:
            raise CorruptCompressedClusterError(
                offset, message(QT_TR_NOOP("it holds {actual:,} bytes instead of one "
                                           "{size:,}-byte cluster"),
                                actual=len(out), size=size))
        return out

    def _zstd_decompress(self, data: memoryview, offset: int) -> bytes:
        # Imported here, not at the top: only zstd images need it, and the window's start-up
        # (which imports this package) should not pay for it.
        import zstandard

        local = self._local
        dctx: Any = getattr(local, "zstd", None)
        if dctx is None:
            dctx = local.zstd = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        out = bytearray()
        try:
            # A stream reader stops at one cluster however much a damaged frame would expand;
            # qemu, too, reads on across frames until the cluster is full.
            with dctx.stream_reader(data, read_across_frames=True) as reader:
                while len(out) < self.cluster_size:
                    chunk = reader.read(self.cluster_size - len(out))
                    if not chunk:
                        break
                    out += chunk
        except zstandard.ZstdError as exc:
            raise CorruptCompressedClusterError(offset, message(QT_TR_NOOP("zstd: {exc}"),
                                                                exc=exc)) from None
        return bytes(out)

    # ---- where data is ----------------------------------------------------------------------

    def allocated(self, join: GapSource | None = None) -> Iterator[tuple[int, int]]:
        own = self._own_allocated(join)
        if self._backing is None:
            return own
        limit = min(self._backing.virtual_size, self._virtual_size)
        below = ((s, min(e, limit)) for s, e in self._backing.allocated(join) if s < limit)
        return _merged(heapq.merge(own, below))

    def _l2_tables(self) -> Iterator[tuple[int, int]]:
        """(L1 index, L2 table offset) of every L2 table the disk's size reaches; the offset is
        0 for an entry that cannot name one (reported by :meth:`check_l1`)."""
        needed = -(-self._virtual_size // (self.cluster_size << self._l2_bits))
        per_page = SLICE_BYTES // 8
        for page in range(-(-needed // per_page)):
            entries = self._l1_page(page)
            if not any(entries):
                continue
            for k, entry in enumerate(entries):
                index = page * per_page + k
                if index >= needed:
                    return
                l2 = entry & OFFSET_MASK
                if l2:
                    yield index, 0 if self._l2_problem(l2) else l2

    def _own_allocated(self, join: GapSource | None) -> Iterator[tuple[int, int]]:
        cb = self._cluster_bits
        size = self._virtual_size
        for l1_index, l2 in self._l2_tables():
            if not l2:
                # All of a damaged L2 table's range may hold data: listed, so that reading it
                # raises the documented error instead of an upload quietly sending zeros.
                start = l1_index << (self._l2_bits + cb)
                yield start, min(size, start + (self.cluster_size << self._l2_bits))
                continue
            for number in range(self._l2_entries // self._slice_entries):
                first = (l1_index << self._l2_bits) + number * self._slice_entries
                if first << cb >= size:
                    return
                entries = self._l2_slice(l2, number)
                for a, b in self._slice_ranges(entries, first, join):
                    if a >= size:
                        break
                    yield a, min(b, size)

    def _slice_ranges(self, entries: array[int], first: int,
                      join: GapSource | None) -> Iterator[tuple[int, int]]:
        """Virtual ranges of one L2 slice that hold data, judged a whole slice at a time in C
        (see :mod:`gui.diskimage.packed`)."""
        cs = self.cluster_size
        standard = entries if not self._extended else entries[0::2]
        packed = Packed(standard)
        compressed = packed.map_of(packed.lane(7), _BIT6)
        stored = packed.map_of(packed.lane(1), _NONZERO_HIGH7)
        for k in range(2, 7):
            stored |= packed.map_of(packed.lane(k), _NONZERO)
        stored &= ~compressed
        if not self._extended:
            data = compressed | stored
            if self._zero_flag:
                data &= ~(packed.map_of(packed.lane(0), _BIT0) & ~compressed)
            if data:
                for a, b in runs(data, packed.count, cs, join):
                    yield (first + a) * cs, (first + b) * cs
            return
        bitmaps = Packed(entries[1::2])
        any_alloc = 0
        full = packed.all
        for k in range(4):
            lane = bitmaps.lane(k)
            any_alloc |= bitmaps.map_of(lane, _NONZERO)
            full &= bitmaps.map_of(lane, _FULL)
        whole = compressed | (stored & full)
        partial = stored & any_alloc & ~full
        if partial.bit_count() > MAX_EXACT_PARTIAL:
            # Subclusters are listed one by one in Python; for a slice full of half-stored
            # clusters (a crafted file) take the clusters whole: more ranges read as zeros, never
            # fewer bytes of data.
            whole |= partial
            partial = 0
        whole_runs = (((first + a) * cs, (first + b) * cs) for a, b in (
            runs(whole, packed.count, cs, join) if whole else ()))
        yield from _merged(heapq.merge(whole_runs, self._partial_ranges(
            partial, packed.count, entries, first)))

    def _partial_ranges(self, partial: int, count: int, entries: array[int],
                        first: int) -> Iterator[tuple[int, int]]:
        if not partial:
            return
        marks = partial.to_bytes(count, "little")
        sb = self._subcluster_bits
        i = marks.find(1)
        while i >= 0:
            alloc = entries[2 * i + 1] & ALL_SUBCLUSTERS
            base = (first + i) << self._cluster_bits
            sc = 0
            while alloc:
                skip = (alloc & -alloc).bit_length() - 1
                alloc >>= skip
                sc += skip
                length = (~alloc & (alloc + 1)).bit_length() - 1  # trailing ones
                yield base + (sc << sb), base + ((sc + length) << sb)
                alloc >>= length
                sc += length
            i = marks.find(1, i + 1)

    # ---- open-time check --------------------------------------------------------------------

    def check_l1(self) -> tuple[int, list[Finding]]:
        """Count the L2 tables and report L1 entries that cannot name one."""
        tables = 0
        bad = 0
        first_bad: int | None = None
        per_page = SLICE_BYTES // 8
        for page in range(-(-self._l1_size // per_page)):
            entries = self._l1_page(page)
            if not any(entries):
                continue
            for k, entry in enumerate(entries):
                l2 = entry & OFFSET_MASK
                if not l2:
                    continue
                tables += 1
                if self._l2_problem(l2):
                    bad += 1
                    if first_bad is None:
                        first_bad = page * per_page + k
        findings: list[Finding] = []
        if bad:
            findings.append(Finding(
                Level.ERROR, "qcow2-bad-l1-entry",
                plural(tr("%n L1 table entry names an L2 table that cannot be there (first: "
                          "entry {first}): the file is truncated or damaged, and that part of "
                          "the disk cannot be read. Run 'qemu-img check' on it or copy it "
                          "again.", "", bad),
                       "%n L1 table entries name an L2 table that cannot be there (first: entry "
                       "{first}): the file is truncated or damaged, and that part of the disk "
                       "cannot be read. Run 'qemu-img check' on it or copy it again.",
                       bad, first=first_bad)))
        return tables, findings


def _merged(ranges: Iterator[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Sorted ranges with overlapping and touching ones joined."""
    current: tuple[int, int] | None = None
    for start, end in ranges:
        if start >= end:
            continue
        if current is not None and start <= current[1]:
            if end > current[1]:
                current = (current[0], end)
            continue
        if current is not None:
            yield current
        current = (start, end)
    if current is not None:
        yield current


# ---- opening ------------------------------------------------------------------------------------

def open_qcow2(file: SourceFile, *, chain: tuple[Path, ...] = ()) -> OpenedLayout:
    """Open a qcow2 image (and its backing chain); ``chain`` lists the images above it."""
    header = read_header(file)
    findings: list[Finding] = []
    details: list[tuple[str, str]] = [
        (Text(QT_TR_NOOP("Format")), Text(message(
            QT_TR_NOOP("qcow2 version {version} (compat={compat})"),
            version=header.version, compat="0.10" if header.version == 2 else "1.1"))),
        (Text(QT_TR_NOOP("Cluster size")), human_size(header.cluster_size)),
    ]
    if header.extended_l2:
        details.append((Text(QT_TR_NOOP("Subclusters")), Text(message(
            QT_TR_NOOP("32 of {size}"), size=human_size(header.cluster_size // 32)))))
    details.append((Text(QT_TR_NOOP("Compression")), COMPRESSION_NAMES[header.compression_type]))
    if header.incompatible & INCOMPAT_CORRUPT:
        findings.append(Finding(
            Level.ERROR, "qcow2-corrupt",
            message(QT_TR_NOOP("qemu marked this image corrupt (it found its tables "
                               "inconsistent), so data read from it may be wrong. Repair it with "
                               "'qemu-img check -r all' first."))))
    if header.incompatible & INCOMPAT_DIRTY:
        findings.append(Finding(
            Level.WARNING, "qcow2-dirty",
            message(QT_TR_NOOP("The image was not closed cleanly (its 'dirty' bit is set): only "
                               "its space accounting may be off, the data reads as qemu would "
                               "read it. 'qemu-img check -r all' clears the bit."))))
    if header.nb_snapshots:
        names = snapshot_names(file, header)
        shown = ", ".join(f"'{n}'" for n in names)
        more = header.nb_snapshots - len(names)
        listed = message(QT_TR_NOOP("{shown} and {more} more"), shown=shown, more=more) if (
            more) else shown
        findings.append(Finding(
            Level.WARNING, "qcow2-snapshots",
            plural(tr("The image holds %n internal snapshot ({names}). Only the current state of "
                      "the disk is uploaded, not the snapshots; to upload a snapshot, apply it "
                      "first ('qemu-img snapshot -a NAME') or convert it ('qemu-img convert -l "
                      "snapshot.name=NAME').", "", header.nb_snapshots),
                   "The image holds %n internal snapshots ({names}). Only the current state of "
                   "the disk is uploaded, not the snapshots; to upload a snapshot, apply it "
                   "first ('qemu-img snapshot -a NAME') or convert it ('qemu-img convert -l "
                   "snapshot.name=NAME').",
                   header.nb_snapshots, names=listed) if names else
            plural(tr("The image holds %n internal snapshot. Only the current state of the disk "
                      "is uploaded, not the snapshots; to upload a snapshot, apply it first "
                      "('qemu-img snapshot -a NAME') or convert it ('qemu-img convert -l "
                      "snapshot.name=NAME').", "", header.nb_snapshots),
                   "The image holds %n internal snapshots. Only the current state of the disk "
                   "is uploaded, not the snapshots; to upload a snapshot, apply it first "
                   "('qemu-img snapshot -a NAME') or convert it ('qemu-img convert -l "
                   "snapshot.name=NAME').",
                   header.nb_snapshots)))
        details.append((Text(QT_TR_NOOP("Internal snapshots")), str(header.nb_snapshots)))
    backing: OpenedLayout | None = None
    if header.backing_name:
        backing = _open_backing(file, header, chain)
    try:
        layout = Qcow2Layout(file, header, backing.layout if backing else None)
        tables, l1_findings = layout.check_l1()
    except BaseException:
        for other in backing.other_files if backing else ():
            other.close()
        raise
    findings.extend(l1_findings)
    if backing is not None:
        backing_path = backing.other_files[0].path
        details.append((Text(QT_TR_NOOP("Backing file")), Text(message(
            QT_TR_NOOP("{path} ({format})"), path=str(backing_path),
            format=backing.format.label))))
        if backing.layout.virtual_size != layout.virtual_size:
            findings.append(Finding(
                Level.INFO, "qcow2-backing-size",
                message(QT_TR_NOOP("The backing file is {backing_size:,} bytes but this image is "
                                   "{size:,} bytes; past the backing file's end the disk reads as "
                                   "zeros."),
                        backing_size=backing.layout.virtual_size, size=layout.virtual_size)))
        findings.extend(_from_backing(backing))
    details.append((Text(QT_TR_NOOP("L2 tables")), f"{tables:,}"))
    disk_id = _disk_id(file)
    details.insert(0, (Text(QT_TR_NOOP("Disk id")), Text(message(
        QT_TR_NOOP("{disk_id} (derived from the file: qcow2 images have none)"),
        disk_id=disk_id))))
    return OpenedLayout(
        format=ImageFormat.QCOW2,
        layout=layout,
        disk_id=disk_id,
        timestamp=_timestamp(file),
        findings=findings,
        details=details,
        other_files=backing.other_files if backing else [],
    )


def _disk_id(file: SourceFile) -> uuid.UUID:
    """A stable id: the same image gets the same footer, so an interrupted upload can resume."""
    digest = hashlib.sha256(file.read(0, min(file.size, SLICE_BYTES))).hexdigest()
    return uuid.uuid5(_ID_NAMESPACE, f"{file.path.resolve()}\0{file.size}\0{digest}")


def _timestamp(file: SourceFile) -> int:
    try:
        mtime_ns = os.stat(file.path).st_mtime_ns
    except OSError:
        mtime_ns = 946684800 * 10**9  # the VHD epoch: the file vanished between open and now
    return vhd_timestamp(datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC))


def _from_backing(backing: OpenedLayout) -> list[Finding]:
    """A backing file's problems are the image's problems; say where they come from."""
    name = backing.other_files[0].path.name if backing.other_files else "backing file"
    return [Finding(f.level, f.code if f.code.startswith("backing-") else f"backing-{f.code}",
                    message(QT_TR_NOOP("In the backing file {name}: {message}"),
                            name=name, message=f.message))
            for f in backing.findings]


def _backing_path(file: SourceFile, name: str) -> Path:
    if name.startswith("json:") or "://" in name:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("its backing file is given as '{name}', a qemu protocol or JSON "
                               "description, not a file this program can open"),
                    name=name))
    if name.startswith("file:"):  # qemu's explicit protocol prefix for plain files
        name = name[len("file:"):]
    path = Path(name)
    return path if path.is_absolute() else file.path.parent / path


def _open_backing(file: SourceFile, header: Qcow2Header,
                  chain: tuple[Path, ...]) -> OpenedLayout:
    """Open the backing file the header names (and its own chain); its file comes first in the
    returned ``other_files``, so closing the image closes the whole chain."""
    chain = (*chain, file.path.resolve())
    if len(chain) > MAX_CHAIN_DEPTH:
        raise ParentChainError(message(QT_TR_NOOP("it is more than {depth} images deep"),
                                       depth=MAX_CHAIN_DEPTH))
    path = _backing_path(file, header.backing_name)
    if not path.is_file():
        raise BackingFileNotFoundError(file.path, header.backing_name, [path])
    if path.resolve() in chain:
        raise ParentChainError(message(QT_TR_NOOP("{path} would be its own backing file"),
                                       path=path))
    backing_file = PositionalFile(path)
    try:
        fmt = header.backing_format or _probe(backing_file)
        opened = _open_as(backing_file, fmt, chain)
    except BaseException:
        backing_file.close()
        raise
    opened.other_files.insert(0, backing_file)
    return opened


def _probe(file: PositionalFile) -> str:
    """The backing file's format when the image does not name it, from its content as qemu
    probes it."""
    head = file.read(0, 8)
    if head[:4] == MAGIC:
        return "qcow2"
    if head == b"vhdxfile":
        return "vhdx"
    if has_vhd_footer(file):
        return "vpc"
    return "raw"


def _open_as(file: PositionalFile, fmt: str, chain: tuple[Path, ...]) -> OpenedLayout:
    if fmt == "qcow2":
        if not is_qcow2(file.read(0, 8)):
            raise UnsupportedImageError(
                message(QT_TR_NOOP("its backing file {name} is named as qcow2 but is not a qcow2 "
                                   "image"),
                        name=file.path.name))
        return open_qcow2(file, chain=chain)
    if fmt == "raw":
        return open_raw(file)
    if fmt == "vpc":
        return open_vhd(file, chain=chain)
    if fmt == "vhdx":
        return open_vhdx(file)
    raise UnsupportedImageError(
        message(QT_TR_NOOP("its backing file {name} is in qemu's '{fmt}' format; only qcow2, "
                           "raw, VHD and VHDX backing files are read"),
                name=file.path.name, fmt=fmt))


__all__ = ["Qcow2Layout", "is_qcow2", "open_qcow2"]

"""Where each byte of a downloaded disk goes in the output file, planned before any data arrives.

:func:`plan_output` turns (format, virtual size, allocated ranges) into an :class:`OutputLayout`:
the file's final size, the structures written when it is created (:meth:`OutputLayout.prologue`)
and when it is finished (:meth:`OutputLayout.epilogue`), and for each data byte its file offset
(:meth:`OutputLayout.pieces`). In the dynamic formats the blocks that hold data are known from
the ranges, and each gets its file place in block order, so the block table is written up front
and any number of workers can write any range, in any order, at a known offset.
"""

from __future__ import annotations

import bisect
import enum
import uuid
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from gui.diskimage.footer import FOOTER_SIZE, vhd_timestamp
from gui.diskimage.writers import vhd, vhdx
from gui.diskimage.writers.errors import (
    FormatSizeLimitError,
    InvalidDiskSizeError,
    InvalidRangeError,
    UnplannedWriteError,
)

SECTOR = 512
PAGE = 4096  # block data starts on a page, so a page of data never straddles two file pages


@dataclass(frozen=True)
class BlockRuns:
    """The blocks that get file space, as runs, so memory follows how scattered the data is,
    not how large the disk is (a dense 4 TiB disk is one run).

    Run ``i`` covers blocks ``starts[i]`` to ``starts[i] + ranks[i + 1] - ranks[i] - 1``, and its
    first block is planned block number ``ranks[i]`` (counted from 0, in disk order).
    """

    starts: array[int]
    ranks: array[int]  # one more than starts: the last is the number of planned blocks

    @property
    def count(self) -> int:
        return self.ranks[-1]

    def rank(self, block: int) -> int | None:
        """The planned block number of ``block``; None if it gets no file space."""
        run = bisect.bisect_right(self.starts, block) - 1
        if run < 0:
            return None
        rank = self.ranks[run] + block - self.starts[run]
        return rank if rank < self.ranks[run + 1] else None

    def placed(self) -> Iterator[tuple[int, int]]:
        """(block, planned block number) of every planned block, in disk order."""
        for run, first in enumerate(self.starts):
            rank = self.ranks[run]
            for offset in range(self.ranks[run + 1] - rank):
                yield first + offset, rank + offset

    def __iter__(self) -> Iterator[int]:
        return (block for block, _ in self.placed())


class OutputFormat(enum.Enum):
    """The formats a disk can be written in; the values are the command line's spellings."""

    RAW = "raw"
    VHD = "vhd"  # fixed: the data, then the 512-byte footer (what Azure stores)
    VHD_DYNAMIC = "vhd-dynamic"
    VHDX = "vhdx"  # dynamic

    @property
    def suffix(self) -> str:
        """The file name ending people and tools expect for the format."""
        return {"raw": ".raw", "vhd": ".vhd", "vhd-dynamic": ".vhd", "vhdx": ".vhdx"}[self.value]


@dataclass(frozen=True)
class OutputLayout:
    """The plan of one output file. Equal inputs give an equal plan (see :func:`plan_output`).

    ``blocks`` names the blocks that get file space (dynamic formats only); the n-th of them (in
    disk order) has its data at ``data_start + n * stride`` in the file.
    """

    format: OutputFormat
    virtual_size: int
    disk_id: uuid.UUID
    timestamp: int  # VHD time (seconds since 2000-01-01 UTC) written in footers
    file_size: int
    data_bytes: int  # bytes of data the ranges hold: what the file will use on disk, about
    block_size: int  # 0 for the flat formats (raw, fixed VHD)
    data_start: int
    stride: int
    blocks: BlockRuns

    @property
    def sparse_blocks(self) -> bool:
        return self.block_size != 0

    def pieces(self, offset: int, length: int) -> Iterator[tuple[int, int, int]]:
        """(file offset, start, end) for the bytes [offset, offset + length) of the disk, split
        where they cross from one block's place in the file to another's; start and end are
        positions within the written data. Raises if a byte has no place in the file."""
        if offset < 0 or length < 0 or offset + length > self.virtual_size:
            raise InvalidRangeError(offset, length, self.virtual_size)
        if not self.sparse_blocks:
            if length:
                yield offset, 0, length
            return
        pos, end = offset, offset + length
        while pos < end:
            block = pos // self.block_size
            piece_end = min(end, (block + 1) * self.block_size)
            rank = self.blocks.rank(block)
            if rank is None:
                raise UnplannedWriteError(pos, end - pos)
            within = pos - block * self.block_size
            yield self.data_start + rank * self.stride + within, pos - offset, piece_end - offset
            pos = piece_end

    def prologue(self) -> Iterator[tuple[int, bytes]]:
        """(file offset, bytes) of the structures written when the file is created."""
        if self.format is OutputFormat.VHD_DYNAMIC:
            entries = _blocks_for(self.virtual_size, self.block_size)
            yield 0, vhd.dynamic_footer(self.virtual_size, self.disk_id, self.timestamp)
            yield vhd.HEADER_OFFSET, vhd.dynamic_header(entries)
            yield from vhd.table_chunks(entries, self.blocks.placed(), self.data_start,
                                          self.stride)
            bitmap = vhd.block_bitmap()
            for rank in range(self.blocks.count):
                yield self.data_start + rank * self.stride - vhd.BITMAP_SIZE, bitmap
        elif self.format is OutputFormat.VHDX:
            yield 0, vhdx.identifier()
            yield from vhdx.region_tables(self.virtual_size)
            yield from vhdx.metadata(self.virtual_size, self.disk_id)
            yield from vhdx.table_chunks(self.virtual_size, self.blocks.placed(), self.data_start)

    def epilogue(self) -> Iterator[tuple[int, bytes]]:
        """(file offset, bytes) of the structures written when all data is in: until then the
        file is not a complete image in its format, so a cut-off download never looks whole."""
        if self.format is OutputFormat.VHD:
            yield self.virtual_size, vhd.fixed_footer(self.virtual_size, self.disk_id,
                                                      self.timestamp)
        elif self.format is OutputFormat.VHD_DYNAMIC:
            yield self.file_size - FOOTER_SIZE, vhd.dynamic_footer(
                self.virtual_size, self.disk_id, self.timestamp)
        elif self.format is OutputFormat.VHDX:
            yield from vhdx.headers(self.disk_id)

    @property
    def structure_bytes(self) -> int:
        """Bytes of headers, tables and footers the file holds besides the data."""
        return sum(len(data) for _, data in self.prologue()) + sum(
            len(data) for _, data in self.epilogue())


def plan_output(fmt: OutputFormat, virtual_size: int, allocated: Sequence[tuple[int, int]], *,
                disk_id: uuid.UUID | None = None,
                created: datetime | None = None) -> OutputLayout:
    """The layout of ``fmt`` for a disk of ``virtual_size`` bytes whose data lies in
    ``allocated`` ((offset, length) ranges, in any order, overlapping or not).

    ``disk_id`` and ``created`` are the identity written in the headers (a new one and now when
    left out). A resumed download must pass the same two (keep ``layout.disk_id`` and
    ``layout.timestamp`` in its journal, rebuilding ``created`` with :func:`created_from`), and
    then gets the same layout.
    """
    if virtual_size <= 0 or virtual_size % SECTOR:
        raise InvalidDiskSizeError(virtual_size)
    merged = _merged(allocated, virtual_size)
    data_bytes = sum(end - start for start, end in merged)
    identity = disk_id if disk_id is not None else uuid.uuid4()
    timestamp = vhd_timestamp(created if created is not None else datetime.now(UTC))
    empty = BlockRuns(array("Q"), array("Q", [0]))
    if fmt is OutputFormat.RAW:
        return OutputLayout(fmt, virtual_size, identity, timestamp, virtual_size, data_bytes,
                            0, 0, 0, empty)
    if fmt is OutputFormat.VHD:
        return OutputLayout(fmt, virtual_size, identity, timestamp, virtual_size + FOOTER_SIZE,
                            data_bytes, 0, 0, 0, empty)
    if fmt is OutputFormat.VHDX:
        if virtual_size > vhdx.MAX_SIZE:
            raise FormatSizeLimitError("VHDX", virtual_size, vhdx.MAX_SIZE)
        blocks = _planned_blocks(merged, vhdx.BLOCK_SIZE)
        data_start = vhdx.BAT_OFFSET + vhdx.table_length(virtual_size)
        return OutputLayout(fmt, virtual_size, identity, timestamp,
                            data_start + blocks.count * vhdx.BLOCK_SIZE, data_bytes,
                            vhdx.BLOCK_SIZE, data_start, vhdx.BLOCK_SIZE, blocks)
    if virtual_size > vhd.MAX_DYNAMIC_SIZE:
        raise FormatSizeLimitError("dynamic VHD", virtual_size, vhd.MAX_DYNAMIC_SIZE)
    block_size = vhd.BLOCK_SIZE
    blocks = _planned_blocks(merged, block_size)
    structures_end = vhd.TABLE_OFFSET + vhd.table_bytes(_blocks_for(virtual_size, block_size))
    # Each block is its bitmap sector followed by its data; the data starts on a page.
    data_start = _align(structures_end + vhd.BITMAP_SIZE, PAGE)
    stride = _align(block_size + vhd.BITMAP_SIZE, PAGE)
    count = blocks.count
    data_end = data_start + (count - 1) * stride + block_size if count else structures_end
    return OutputLayout(fmt, virtual_size, identity, timestamp, data_end + FOOTER_SIZE,
                        data_bytes, block_size, data_start, stride, blocks)


def created_from(timestamp: int) -> datetime:
    """The ``created`` time that gives ``timestamp`` again (for a resumed download's plan)."""
    return datetime.fromtimestamp(_VHD_EPOCH_SECONDS + timestamp, UTC)


_VHD_EPOCH_SECONDS = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp())


def _align(value: int, to: int) -> int:
    return -(-value // to) * to


def _blocks_for(size: int, block_size: int) -> int:
    return -(-size // block_size)


def _merged(allocated: Sequence[tuple[int, int]], virtual_size: int) -> list[tuple[int, int]]:
    """Half-open (start, end) runs of the ranges, sorted and joined where they touch."""
    merged: list[tuple[int, int]] = []
    for offset, length in sorted(allocated):
        if offset < 0 or length < 0 or offset + length > virtual_size:
            raise InvalidRangeError(offset, length, virtual_size)
        if not length:
            continue
        end = offset + length
        if merged and offset <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((offset, end))
    return merged


def _planned_blocks(merged: list[tuple[int, int]], block_size: int) -> BlockRuns:
    """The blocks any run of data touches, as runs of consecutive blocks."""
    starts: array[int] = array("Q")
    ranks: array[int] = array("Q", [0])
    last = -1  # the last block planned so far
    for start, end in merged:
        first = max(start // block_size, last + 1)
        final = (end - 1) // block_size
        if first > final:
            continue
        if first == last + 1 and starts:
            ranks[-1] += final - first + 1  # extends the current run
        else:
            starts.append(first)
            ranks.append(ranks[-1] + final - first + 1)
        last = final
    return BlockRuns(starts, ranks)

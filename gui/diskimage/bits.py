"""Sector bitmaps: which sectors of a block hold data of their own."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence


def bitmap_runs(bitmap: bytes, first_bit: int, count: int, *,
                msb_first: bool = True) -> Iterator[tuple[int, int, bool]]:
    """Runs (start, end, set) over bits [first_bit, first_bit + count) of ``bitmap``.

    ``bitmap`` starts at the byte holding ``first_bit``: bit ``first_bit`` is bit
    ``first_bit % 8`` of ``bitmap[0]``. Whole 0x00/0xFF bytes are taken at once, so runs of
    present or absent sectors cost one step per byte at most.
    """
    base = first_bit - first_bit % 8
    end = first_bit + count
    pos = first_bit
    run_start = pos
    run_value: bool | None = None
    while pos < end:
        byte = bitmap[(pos - base) // 8]
        if pos % 8 == 0 and pos + 8 <= end and byte in (0, 0xFF):
            value = byte == 0xFF
            step = 8
        else:
            bit = pos % 8
            value = bool(byte & (0x80 >> bit)) if msb_first else bool(byte & (1 << bit))
            step = 1
        if run_value is None:
            run_value = value
        elif value != run_value:
            yield run_start, pos, run_value
            run_start, run_value = pos, value
        pos += step
    if run_value is not None:
        yield run_start, end, run_value


def block_pieces(offset: int, length: int, block_size: int) -> Iterator[tuple[int, int, int]]:
    """Splits the byte range [offset, offset + length) at block boundaries: yields
    (block index, start, end) for each piece, in order."""
    pos, end = offset, offset + length
    while pos < end:
        block = pos // block_size
        piece_end = min(end, (block + 1) * block_size)
        yield block, pos, piece_end
        pos = piece_end


def block_reads(offset: int, view: memoryview, block_size: int,
                entries_for: Callable[[int, int], Sequence[int]]
                ) -> Iterator[tuple[int, int, memoryview, int]]:
    """A read of ``view`` at ``offset`` split at block boundaries: yields (block index, start,
    the part of ``view`` it fills, the block's table entry), the entries of all the blocks
    touched fetched with one ``entries_for(first, last)``."""
    if not len(view):
        return
    first = offset // block_size
    entries = entries_for(first, (offset + len(view) - 1) // block_size)
    for block, pos, piece_end in block_pieces(offset, len(view), block_size):
        yield block, pos, view[pos - offset : piece_end - offset], entries[block - first]

"""The VHD structures a writer puts around the data: footers, the dynamic header, the BAT.

Footers come from the one footer builder (:func:`gui.diskimage.footer.build_fixed_footer`); a
dynamic disk's footer is that footer with the disk type and the header's offset changed, its
checksum recomputed by :class:`~gui.diskimage.footer.VhdFooter`. The creator is the one that
builder writes (Hyper-V's ``win ``): qemu sizes a VHD by its ``current_size`` only for creators it
knows, and by the CHS geometry (up to ~240 KiB short) otherwise (see ARCHITECTURE.md, "Trust
decisions"), so any other creator would make a downloaded disk read short in qemu-img.
"""

from __future__ import annotations

import dataclasses
import struct
import sys
import uuid
from array import array
from collections.abc import Iterator

from gui.diskimage.dynamic import HEADER_COOKIE, HEADER_SIZE, HEADER_VERSION, parse_header
from gui.diskimage.footer import (
    DISK_TYPE_DYNAMIC,
    FOOTER_SIZE,
    NO_DATA_OFFSET,
    build_fixed_footer,
    parse_footer,
)

SECTOR = 512
BLOCK_SIZE = 2 * 1024 * 1024  # the VHD specification's default, and what Hyper-V writes
HEADER_OFFSET = FOOTER_SIZE  # the dynamic header follows the footer copy at the start
TABLE_OFFSET = HEADER_OFFSET + HEADER_SIZE
UNUSED = 0xFFFFFFFF
# A 2 MiB block has 4,096 sectors: its bitmap is 512 bytes, exactly one sector.
BITMAP_SIZE = -(-(BLOCK_SIZE // SECTOR) // 8 // SECTOR) * SECTOR
# Hyper-V and the specification stop dynamic VHDs at 2,040 GiB (qemu refuses larger ones too).
MAX_DYNAMIC_SIZE = 2040 * 1024**3
_TABLE_CHUNK = 1 << 16  # BAT entries built per write (256 KiB)
_HEADER = struct.Struct(">8sQQIIII16sI4x512s")


def fixed_footer(size: int, disk_id: uuid.UUID, timestamp: int) -> bytes:
    return build_fixed_footer(size, disk_id, timestamp=timestamp)


def dynamic_footer(size: int, disk_id: uuid.UUID, timestamp: int) -> bytes:
    footer = dataclasses.replace(parse_footer(fixed_footer(size, disk_id, timestamp)),
                                 disk_type=DISK_TYPE_DYNAMIC, data_offset=HEADER_OFFSET)
    return footer.pack(checksum=footer.computed_checksum)


def dynamic_header(entries: int) -> bytes:
    """The ``cxsparse`` header of a disk without a parent (no locators, no parent name)."""
    unsigned = _HEADER.pack(HEADER_COOKIE, NO_DATA_OFFSET, TABLE_OFFSET, HEADER_VERSION, entries,
                            BLOCK_SIZE, 0, bytes(16), 0, bytes(512)).ljust(HEADER_SIZE, b"\0")
    checksum = parse_header(unsigned).computed_checksum
    return unsigned[:36] + struct.pack(">I", checksum) + unsigned[40:]


def table_bytes(entries: int) -> int:
    """The BAT's size in the file: 4 bytes an entry, padded to whole sectors."""
    return -(-entries * 4 // SECTOR) * SECTOR


def table_chunks(entries: int, placed: Iterator[tuple[int, int]], data_start: int,
                 stride: int) -> Iterator[tuple[int, bytes]]:
    """(file offset, bytes) of the BAT, a chunk at a time: unused entries, and for the n-th
    planned block the sector of its bitmap (the sector before its data)."""
    pending = next(placed, None)
    padded = table_bytes(entries) // 4
    for start in range(0, padded, _TABLE_CHUNK):
        end = min(padded, start + _TABLE_CHUNK)
        chunk = array("I", [UNUSED]) * (end - start)
        while pending is not None and pending[0] < end:
            block, rank = pending
            chunk[block - start] = (data_start + rank * stride - BITMAP_SIZE) // SECTOR
            pending = next(placed, None)
        if sys.byteorder == "little":  # the BAT is big-endian
            chunk.byteswap()
        yield TABLE_OFFSET + start * 4, chunk.tobytes()


def block_bitmap() -> bytes:
    """Every sector of a planned block counts as stored: the block holds its data or zeros."""
    return b"\xff" * BITMAP_SIZE


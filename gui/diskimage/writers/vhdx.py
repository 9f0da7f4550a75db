"""The VHDX structures a writer puts around the data (MS-VHDX v1.0), for a disk without a parent.

File layout (every region on a whole MiB, as the specification requires)::

    0        file type identifier ("vhdxfile", creator)
    64 KiB   header 1, 128 KiB header 2     (written last, by finish)
    192 KiB  region table, 256 KiB its copy (BAT and metadata regions, both required)
    1 MiB    log (1 MiB, empty: the headers' log GUID is zero, so nothing is replayed)
    2 MiB    metadata (1 MiB): file parameters, virtual disk size, virtual disk id (page 83 data),
             logical sector size 512, physical sector size 4096
    3 MiB    BAT, then the payload blocks of the planned blocks, in disk order

Block size 2 MiB: a block is allocated when any byte of it holds data, so for scattered data
(Azure page ranges are often a few KiB) a large block would allocate far more than the data;
2 MiB keeps the VHDX's allocated size near the data, matches the dynamic VHD's blocks (one plan
granularity), and keeps the BAT small (4 TiB: 2 M entries, 16 MiB, written only where blocks
are). The disk is 512e, as Azure presents disks: logical sectors of 512 bytes, physical 4 KiB.
Blocks with data are FULLY_PRESENT; every other entry stays NOT_PRESENT (reads as zeros without
a parent), and its bytes are a hole. Structures are written without their zero padding: holes
read as zeros, and the CRC-32C covers the whole structure.
"""

from __future__ import annotations

import struct
import sys
import uuid
from array import array
from collections.abc import Iterator

from gui.diskimage.crc32c import crc32c
from gui.diskimage.vhdx import (
    BAT_REGION,
    FILE_PARAMETERS,
    HEADER_OFFSETS,
    HEADER_SIZE,
    LOGICAL_SECTOR_SIZE,
    METADATA_REGION,
    METADATA_TABLE_SIZE,
    PAYLOAD_FULLY_PRESENT,
    PHYSICAL_SECTOR_SIZE,
    REGION_TABLE_OFFSETS,
    REGION_TABLE_SIZE,
    VIRTUAL_DISK_ID,
    VIRTUAL_DISK_SIZE,
)

MIB = 1024 * 1024
BLOCK_SIZE = 2 * MIB
LOGICAL_SECTOR = 512
PHYSICAL_SECTOR = 4096
MAX_SIZE = 64 * 1024**4  # the specification's largest virtual disk
LOG_OFFSET = 1 * MIB
LOG_LENGTH = 1 * MIB
METADATA_OFFSET = 2 * MIB
METADATA_LENGTH = 1 * MIB
BAT_OFFSET = 3 * MIB
# Payload blocks per sector-bitmap block: 2^23 sectors' bitmap bits per 1 MiB bitmap block.
CHUNK_RATIO = (1 << 23) * LOGICAL_SECTOR // BLOCK_SIZE
CREATOR = "Azure Image Studio"
_TABLE_CHUNK = 1 << 16  # BAT entries built per write (512 KiB)

_IDENTIFIER = struct.Struct("<8s512s")
_HEADER = struct.Struct("<4sIQ16s16s16sHHIQ")
_REGION_HEADER = struct.Struct("<4sIII")
_REGION_ENTRY = struct.Struct("<16sQII")
_METADATA_HEADER = struct.Struct("<8sHH20x")
_METADATA_ENTRY = struct.Struct("<16sIII4x")
# Metadata entry flags (MS-VHDX 2.6.1.2): IsUser is bit 0, IsVirtualDisk bit 1, IsRequired bit 2.
_IS_VIRTUAL_DISK = 2
_IS_REQUIRED = 4


def table_entries(virtual_size: int) -> int:
    """BAT entries of a disk without a parent: the payload blocks and, after every
    CHUNK_RATIO of them, a sector-bitmap entry (MS-VHDX 2.5)."""
    blocks = -(-virtual_size // BLOCK_SIZE)
    return blocks + (blocks - 1) // CHUNK_RATIO


def table_length(virtual_size: int) -> int:
    """The BAT region's length: whole MiB."""
    return -(-table_entries(virtual_size) * 8 // MIB) * MIB


def identifier() -> bytes:
    creator = CREATOR.encode("utf-16-le")
    return _IDENTIFIER.pack(b"vhdxfile", creator)[:8 + len(creator)]


def _with_crc(data: bytes, size: int) -> bytes:
    """``data`` (with a zero checksum at bytes 4-8) with the CRC-32C of it padded to ``size``."""
    checksum = crc32c(data.ljust(size, b"\0"))
    return data[:4] + struct.pack("<I", checksum) + data[8:]


def header(sequence: int, disk_id: uuid.UUID) -> bytes:
    """One of the two headers (without its zero padding). The write GUIDs are derived from the
    disk id, so a resumed download writes the same bytes."""
    file_write = uuid.uuid5(disk_id, "vhdx-file-write")
    data_write = uuid.uuid5(disk_id, "vhdx-data-write")
    unsigned = _HEADER.pack(b"head", 0, sequence, file_write.bytes_le, data_write.bytes_le,
                            bytes(16), 0, 1, LOG_LENGTH, LOG_OFFSET)
    return _with_crc(unsigned, HEADER_SIZE)


def headers(disk_id: uuid.UUID) -> Iterator[tuple[int, bytes]]:
    # Both valid; the second, with the higher sequence number, is the current one.
    for sequence, offset in enumerate(HEADER_OFFSETS, start=1):
        yield offset, header(sequence, disk_id)


def region_tables(virtual_size: int) -> Iterator[tuple[int, bytes]]:
    regions = [(BAT_REGION, BAT_OFFSET, table_length(virtual_size)),
               (METADATA_REGION, METADATA_OFFSET, METADATA_LENGTH)]
    unsigned = _REGION_HEADER.pack(b"regi", 0, len(regions), 0) + b"".join(
        _REGION_ENTRY.pack(guid.bytes_le, offset, length, 1) for guid, offset, length in regions)
    table = _with_crc(unsigned, REGION_TABLE_SIZE)
    for offset in REGION_TABLE_OFFSETS:
        yield offset, table


def metadata(virtual_size: int, disk_id: uuid.UUID) -> Iterator[tuple[int, bytes]]:
    """The metadata table and its five items, packed one after the other from 64 KiB on."""
    items = [
        (FILE_PARAMETERS, struct.pack("<II", BLOCK_SIZE, 0), _IS_REQUIRED),
        (VIRTUAL_DISK_SIZE, struct.pack("<Q", virtual_size), _IS_VIRTUAL_DISK | _IS_REQUIRED),
        (VIRTUAL_DISK_ID, disk_id.bytes_le, _IS_VIRTUAL_DISK | _IS_REQUIRED),
        (LOGICAL_SECTOR_SIZE, struct.pack("<I", LOGICAL_SECTOR), _IS_VIRTUAL_DISK | _IS_REQUIRED),
        (PHYSICAL_SECTOR_SIZE, struct.pack("<I", PHYSICAL_SECTOR),
         _IS_VIRTUAL_DISK | _IS_REQUIRED),
    ]
    table = bytearray(_METADATA_HEADER.pack(b"metadata", 0, len(items)))
    values = bytearray()
    for guid, value, flags in items:
        table += _METADATA_ENTRY.pack(guid.bytes_le, METADATA_TABLE_SIZE + len(values),
                                      len(value), flags)
        values += value
    yield METADATA_OFFSET, bytes(table)
    yield METADATA_OFFSET + METADATA_TABLE_SIZE, bytes(values)


def table_chunks(virtual_size: int, placed: Iterator[tuple[int, int]],
                 data_start: int) -> Iterator[tuple[int, bytes]]:
    """(file offset, bytes) of the BAT chunks that hold a FULLY_PRESENT entry; the others are
    all NOT_PRESENT (zero) and stay holes."""
    entries = table_entries(virtual_size)
    pending = next(placed, None)
    for start in range(0, entries, _TABLE_CHUNK):
        end = min(entries, start + _TABLE_CHUNK)
        chunk: array[int] | None = None
        while pending is not None:
            block, rank = pending
            index = block + block // CHUNK_RATIO
            if index >= end:
                break
            if chunk is None:
                chunk = array("Q", bytes(8 * (end - start)))
            offset_mib = (data_start + rank * BLOCK_SIZE) // MIB
            chunk[index - start] = offset_mib << 20 | PAYLOAD_FULLY_PRESENT
            pending = next(placed, None)
        if chunk is not None:
            if sys.byteorder == "big":  # the BAT is little-endian
                chunk.byteswap()
            yield BAT_OFFSET + start * 8, chunk.tobytes()

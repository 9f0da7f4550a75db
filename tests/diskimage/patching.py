"""Edit image files in place the way damage or odd tools would, keeping checksums valid on demand.

The checksum code here is written from the specifications, independently of gui.diskimage, except
for CRC-32C, whose engine implementation is pinned to the standard check value in test_damaged.py.
"""

from __future__ import annotations

import struct
from pathlib import Path

from gui.diskimage.crc32c import crc32c

VHDX_HEADERS = (64 * 1024, 128 * 1024)
VHDX_REGION_TABLES = (192 * 1024, 256 * 1024)


def vhd_sum_checksum(block: bytes | bytearray, at: int) -> int:
    return (~(sum(block[:at]) + sum(block[at + 4 :]))) & 0xFFFFFFFF


def patch(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def read(path: Path, offset: int, length: int) -> bytearray:
    with open(path, "rb") as f:
        f.seek(offset)
        return bytearray(f.read(length))


def fix_vhd_footer(path: Path, offset: int) -> None:
    footer = read(path, offset, 512)
    footer[64:68] = b"\0\0\0\0"
    footer[64:68] = vhd_sum_checksum(footer, 64).to_bytes(4, "big")
    patch(path, offset, bytes(footer))


def fix_vhd_footers(path: Path) -> None:
    """Recompute the checksum of the footer at the end and, if present, its copy at the start."""
    size = path.stat().st_size
    fix_vhd_footer(path, size - 512)
    if read(path, 0, 8) == b"conectix":
        fix_vhd_footer(path, 0)


def set_vhd_footer_field(path: Path, offset_in_footer: int, data: bytes) -> None:
    size = path.stat().st_size
    patch(path, size - 512 + offset_in_footer, data)
    if read(path, 0, 8) == b"conectix":
        patch(path, offset_in_footer, data)
    fix_vhd_footers(path)


def dynamic_header_offset(path: Path) -> int:
    offset: int = struct.unpack(">Q", read(path, 16, 8))[0]
    return offset


def fix_dynamic_header(path: Path) -> None:
    at = dynamic_header_offset(path)
    header = read(path, at, 1024)
    header[36:40] = vhd_sum_checksum(header, 36).to_bytes(4, "big")
    patch(path, at, bytes(header))


def set_dynamic_header_field(path: Path, offset_in_header: int, data: bytes) -> None:
    patch(path, dynamic_header_offset(path) + offset_in_header, data)
    fix_dynamic_header(path)


def bat_entry_offset(path: Path, block: int) -> int:
    at = dynamic_header_offset(path)
    table: int = struct.unpack(">Q", read(path, at + 16, 8))[0]
    return table + 4 * block


def fix_vhdx_crc(path: Path, offset: int, length: int) -> None:
    block = read(path, offset, length)
    block[4:8] = b"\0\0\0\0"
    block[4:8] = crc32c(bytes(block)).to_bytes(4, "little")
    patch(path, offset, bytes(block))


def fix_vhdx_crcs(path: Path) -> None:
    for at in VHDX_HEADERS:
        if read(path, at, 4) == b"head":
            fix_vhdx_crc(path, at, 4096)
    for at in VHDX_REGION_TABLES:
        if read(path, at, 4) == b"regi":
            fix_vhdx_crc(path, at, 64 * 1024)


def vhdx_metadata_item(path: Path, item: str) -> int:
    """File offset of a metadata item's data, found by walking the region and metadata tables."""
    import uuid

    table = read(path, VHDX_REGION_TABLES[0], 64 * 1024)
    count = struct.unpack_from("<I", table, 8)[0]
    meta = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
    for i in range(count):
        guid, offset, _length, _req = struct.unpack_from("<16sQII", table, 16 + 32 * i)
        if uuid.UUID(bytes_le=guid) == meta:
            break
    else:
        raise AssertionError("no metadata region")
    entries = read(path, offset, 64 * 1024)
    n = struct.unpack_from("<H", entries, 10)[0]
    want = uuid.UUID(item)
    for i in range(n):
        guid, item_offset, _length, _flags = struct.unpack_from("<16sIII", entries, 32 + 32 * i)
        if uuid.UUID(bytes_le=guid) == want:
            return int(offset + item_offset)
    raise AssertionError(f"no metadata item {item}")


FILE_PARAMETERS = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B"
LOGICAL_SECTOR_SIZE = "8141BF1D-A96F-4709-BA47-F233A8FAAB5F"
VIRTUAL_DISK_SIZE = "2FA54224-CD1B-4876-B211-5DBED83BF4B8"

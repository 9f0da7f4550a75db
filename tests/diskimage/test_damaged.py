"""Damaged and unusual files give the documented error or finding, with a message to act on."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import pytest

from gui.diskimage import (
    CorruptBlockTableError,
    CorruptFooterError,
    CorruptHeaderError,
    CorruptRegionTableError,
    DirtyLogError,
    ImageFormat,
    ImplausibleSizeError,
    InvalidBlockSizeError,
    Level,
    TruncatedImageError,
    UnsupportedImageError,
    open_image,
)
from gui.diskimage.crc32c import crc32c
from tests.diskimage import patching
from tests.diskimage.helpers import read_stream
from tests.fixtures.disk_images import MIB, DiskImageFactory

SIZE = 24 * MIB


def codes(path: Path) -> dict[str, Level]:
    with open_image(path) as img:
        return {f.code: f.level for f in img.findings}


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283


def test_fixed_footer_checksum_error(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="fixed")
    size = made.path.stat().st_size
    patching.patch(made.path, size - 512 + 24, b"\x12\x34\x56\x78")  # timestamp, no re-checksum
    with open_image(made.path) as img:
        assert not img.acceptable
        finding = next(f for f in img.findings if f.code == "vhd-footer-checksum")
        assert finding.level is Level.ERROR
        assert "checksum" in finding.message and "qemu-img check" in finding.message


def test_dynamic_bad_tail_footer_uses_intact_copy(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "scattered", subformat="dynamic")
    expected = disk_images.expected_raw(made)
    size = made.path.stat().st_size
    patching.patch(made.path, size - 512 + 24, b"\x12\x34\x56\x78")
    assert codes(made.path)["vhd-footer-checksum"] is Level.WARNING
    with open_image(made.path) as img:
        assert img.acceptable
        assert read_stream(img)[: img.virtual_size] == expected


def test_dynamic_missing_tail_footer(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    expected = disk_images.expected_raw(made)
    with open(made.path, "r+b") as f:
        f.truncate(made.path.stat().st_size - 512)
    found = codes(made.path)
    assert found["vhd-footer-missing"] is Level.ERROR
    assert "vhd-block-outside-file" not in found  # the blocks themselves are all there
    with open_image(made.path) as img:
        assert img.read(0, img.virtual_size) == expected


def test_block_entry_outside_file(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    patching.patch(made.path, patching.bat_entry_offset(made.path, 0), b"\x0f\xff\xff\x00")
    with open_image(made.path) as img:
        assert not img.acceptable
        finding = next(f for f in img.findings if f.code == "vhd-block-outside-file")
        assert "block 0" in finding.message
        with pytest.raises(CorruptBlockTableError, match="block 0"):
            img.readinto(0, bytearray(4096))
        # Blocks that are fine still read.
        assert img.readinto(10 * MIB, bytearray(4096)) == 4096


def test_block_entry_overlapping_the_table(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    table = patching.bat_entry_offset(made.path, 0)
    patching.patch(made.path, table, (table // 512).to_bytes(4, "big"))
    assert codes(made.path)["vhd-block-outside-file"] is Level.ERROR


def test_dynamic_header_cookie(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    patching.patch(made.path, patching.dynamic_header_offset(made.path), b"notsparse")
    with pytest.raises(CorruptHeaderError, match="cxsparse"):
        open_image(made.path)


def test_dynamic_header_checksum(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    patching.patch(made.path, patching.dynamic_header_offset(made.path) + 60, b"\1")
    assert codes(made.path)["vhd-header-checksum"] is Level.ERROR


@pytest.mark.parametrize("block_size", [0, 3 * MIB, 256])
def test_invalid_block_size(disk_images: DiskImageFactory, block_size: int) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    patching.set_dynamic_header_field(made.path, 32, block_size.to_bytes(4, "big"))
    with pytest.raises(InvalidBlockSizeError):
        open_image(made.path)


def test_table_beyond_file(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    patching.set_dynamic_header_field(made.path, 28, (1 << 30).to_bytes(4, "big"))
    with pytest.raises(TruncatedImageError, match="block allocation table"):
        open_image(made.path)


def test_unknown_disk_type(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="fixed")
    patching.set_vhd_footer_field(made.path, 60, (5).to_bytes(4, "big"))
    with pytest.raises(UnsupportedImageError, match="disk type 5"):
        open_image(made.path)


def test_implausible_size(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="fixed")
    patching.set_vhd_footer_field(made.path, 48, (1 << 62).to_bytes(8, "big"))
    with pytest.raises(ImplausibleSizeError):
        open_image(made.path)


def test_fixed_vhd_shorter_than_declared(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "end", subformat="fixed")
    patching.set_vhd_footer_field(made.path, 48, (SIZE + 4 * MIB).to_bytes(8, "big"))
    with open_image(made.path) as img:
        assert not img.acceptable
        assert any(f.code == "vhd-truncated" for f in img.findings)
        assert img.read(SIZE, 4096) == bytes(4096)


def test_saved_state_warns(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", SIZE, "start", subformat="fixed")
    patching.set_vhd_footer_field(made.path, 84, b"\1")
    assert codes(made.path)["vhd-saved-state"] is Level.WARNING


def test_raw_named_vhd_warns(disk_images: DiskImageFactory, tmp_path: Path) -> None:
    path = tmp_path / "disk.vhd"
    path.write_bytes(bytes(SIZE))
    with open_image(path) as img:
        assert img.format is ImageFormat.RAW
        assert any(f.code == "raw-named-vhd" and f.level is Level.WARNING for f in img.findings)


def test_too_short_for_a_footer(tmp_path: Path) -> None:
    path = tmp_path / "tiny.vhd"
    path.write_bytes(b"conectix" + bytes(100))
    with pytest.raises(CorruptFooterError):
        open_image(path)


# ---- VHDX ----------------------------------------------------------------------------------


def vhdx(disk_images: DiskImageFactory) -> Path:
    return disk_images.make("vhdx", SIZE, "scattered", subformat="dynamic", block_size=MIB).path


def test_vhdx_dirty_log_is_refused(disk_images: DiskImageFactory) -> None:
    path = vhdx(disk_images)
    for at in patching.VHDX_HEADERS:
        patching.patch(path, at + 48, uuid.uuid4().bytes_le)  # LogGuid
    patching.fix_vhdx_crcs(path)
    with pytest.raises(DirtyLogError, match="unfinished writes"):
        open_image(path)


def test_vhdx_one_damaged_header_warns(disk_images: DiskImageFactory) -> None:
    path = vhdx(disk_images)
    expected = disk_images.expected_raw(path, "vhdx")
    patching.patch(path, patching.VHDX_HEADERS[0] + 100, b"\xff")
    with open_image(path) as img:
        assert any(f.code == "vhdx-header-copy" for f in img.findings)
        assert img.read(0, len(expected)) == expected


def test_vhdx_both_headers_damaged(disk_images: DiskImageFactory) -> None:
    path = vhdx(disk_images)
    for at in patching.VHDX_HEADERS:
        patching.patch(path, at + 100, b"\xff")
    with pytest.raises(CorruptHeaderError):
        open_image(path)


def test_vhdx_region_tables_damaged(disk_images: DiskImageFactory) -> None:
    path = vhdx(disk_images)
    patching.patch(path, patching.VHDX_REGION_TABLES[0] + 40, b"\xff")
    with open_image(path) as img:
        assert any(f.code == "vhdx-region-table-copy" for f in img.findings)
    patching.patch(path, patching.VHDX_REGION_TABLES[1] + 40, b"\xff")
    with pytest.raises(CorruptRegionTableError):
        open_image(path)


def test_vhdx_differencing_is_refused(disk_images: DiskImageFactory) -> None:
    path = vhdx(disk_images)
    at = patching.vhdx_metadata_item(path, patching.FILE_PARAMETERS)
    flags = struct.unpack("<I", patching.read(path, at + 4, 4))[0]
    patching.patch(path, at + 4, struct.pack("<I", flags | 2))
    with pytest.raises(UnsupportedImageError, match="differencing VHDX"):
        open_image(path)


def test_vhdx_4k_sectors_warn(disk_images: DiskImageFactory) -> None:
    path = vhdx(disk_images)
    at = patching.vhdx_metadata_item(path, patching.LOGICAL_SECTOR_SIZE)
    patching.patch(path, at, struct.pack("<I", 4096))
    assert codes(path)["vhdx-4k-sectors"] is Level.WARNING


def test_vhdx_bad_block_entry(disk_images: DiskImageFactory) -> None:
    path = disk_images.make("vhdx", SIZE, "start", subformat="dynamic", block_size=MIB).path
    table = patching.read(path, patching.VHDX_REGION_TABLES[0], 4096)
    count = struct.unpack_from("<I", table, 8)[0]
    bat_id = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
    bat = next(o for g, o, _l, _r in (struct.unpack_from("<16sQII", table, 16 + 32 * i)
                                      for i in range(count)) if uuid.UUID(bytes_le=g) == bat_id)
    patching.patch(path, bat, struct.pack("<Q", (1 << 40) | 6))  # block 0 far beyond the end
    with open_image(path) as img:
        assert not img.acceptable
        assert any(f.code == "vhdx-bad-block-entry" for f in img.findings)
        with pytest.raises(CorruptBlockTableError):
            img.readinto(0, bytearray(512))


def test_vhdx_truncated(disk_images: DiskImageFactory) -> None:
    path = vhdx(disk_images)
    with open(path, "r+b") as f:
        f.truncate(200 * 1024)
    with pytest.raises(TruncatedImageError):
        open_image(path)


@pytest.mark.parametrize("length", [0, 1, 9, 4096, 65536])
def test_crc32c_zero_skipping_matches_bytewise(length: int) -> None:
    from gui.diskimage.crc32c import crc32c_bytewise

    for data in (bytes(length), b"head" + bytes(length), bytes(range(256)) * (length // 256 + 1)):
        assert crc32c(data) == crc32c_bytewise(data)

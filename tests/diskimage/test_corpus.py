"""Every supported kind of image, made by qemu-img, read back byte for byte as qemu reads it.

For each file the fixed stream minus its footer must equal ``qemu-img convert -O raw`` of the file
(zero-padded to the whole MiB), the footer must parse in ``vhdiinfo`` as a fixed disk of the
rounded size, and every non-zero byte must lie inside ``data_ranges()``.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from gui.diskimage import DiskImage, ImageFormat, open_image
from gui.diskimage.zeros import nonzero_runs
from tests.diskimage.helpers import assert_footer_valid, assert_matches_reference
from tests.fixtures.disk_images import MIB, DiskImageFactory, pattern, vhdiinfo

SIZES = {
    "aligned": 24 * MIB,
    "sector-aligned": 24 * MIB + 3 * 512,
    "odd": 21 * MIB + 7,
}
LAYOUTS = ["start", "end", "scattered"]

# (id, how to make it, expected format)
KINDS = [
    ("raw", {"fmt": "raw"}, ImageFormat.RAW),
    ("vhd-fixed", {"fmt": "vpc", "subformat": "fixed"}, ImageFormat.VHD_FIXED),
    ("vhd-dynamic", {"fmt": "vpc", "subformat": "dynamic"}, ImageFormat.VHD_DYNAMIC),
    ("vhdx-fixed", {"fmt": "vhdx", "subformat": "fixed"}, ImageFormat.VHDX_FIXED),
    ("vhdx-dynamic-1M", {"fmt": "vhdx", "subformat": "dynamic", "block_size": MIB},
     ImageFormat.VHDX_DYNAMIC),
    ("vhdx-dynamic-8M", {"fmt": "vhdx", "subformat": "dynamic", "block_size": 8 * MIB},
     ImageFormat.VHDX_DYNAMIC),
    ("vhdx-dynamic-32M", {"fmt": "vhdx", "subformat": "dynamic", "block_size": 32 * MIB},
     ImageFormat.VHDX_DYNAMIC),
]


def check_ranges_cover_data(img: DiskImage, expected: bytes) -> None:
    ranges = img.data_ranges()
    assert ranges == sorted(ranges)
    assert all(r.length > 0 and r.end <= img.virtual_size for r in ranges)
    for a, b in itertools.pairwise(ranges):
        assert a.end < b.offset, "ranges must be merged"
    assert img.allocated_bytes == sum(r.length for r in ranges)
    for run in nonzero_runs(expected, granularity=512):
        covered = any(r.offset <= run.offset and run.end <= r.end for r in ranges) or all(
            any(r.offset <= s < r.end for r in ranges) for s in range(run.offset, run.end, 512))
        assert covered, f"non-zero data at {run} lies outside data_ranges()"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize(("kind", "options", "fmt"), KINDS, ids=[k[0] for k in KINDS])
def test_stream_matches_qemu(disk_images: DiskImageFactory, tmp_path: Path, kind: str,
                             options: dict[str, object], fmt: ImageFormat, size_name: str,
                             layout: str) -> None:
    made = disk_images.make(size=SIZES[size_name], writes=layout, **options)  # type: ignore[arg-type]
    expected = disk_images.expected_raw(made)
    with open_image(made.path) as img:
        assert img.format is fmt
        assert img.virtual_size == len(expected) or fmt is ImageFormat.RAW
        assert img.acceptable, img.findings
        assert_matches_reference(img, expected)
        assert_footer_valid(img, tmp_path)
        check_ranges_cover_data(img, expected)


@pytest.mark.parametrize("block_size", [512 * 1024, 4 * MIB, 16 * MIB])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_dynamic_vhd_other_block_sizes(disk_images: DiskImageFactory, tmp_path: Path,
                                       block_size: int, layout: str) -> None:
    made = disk_images.dynamic_vhd(24 * MIB + 3 * 512, layout, block_size=block_size)
    info = vhdiinfo(made.path)
    assert "Dynamic" in info
    expected = disk_images.expected_raw(made)
    with open_image(made.path) as img:
        assert img.format is ImageFormat.VHD_DYNAMIC
        assert img.acceptable, img.findings
        assert_matches_reference(img, expected)
        assert_footer_valid(img, tmp_path)
        check_ranges_cover_data(img, expected)
        stored = sum(1 for r in img.data_ranges() for _ in range(0, r.length, block_size))
        assert stored <= -(-img.virtual_size // block_size)


def test_dynamic_ranges_are_allocated_blocks_only(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", 64 * MIB, [(5 * MIB, b"\1" * 512), (40 * MIB, b"\2" * 512)],
                            subformat="dynamic")
    with open_image(made.path) as img:
        ranges = img.data_ranges()
        # qemu's dynamic VHD blocks are 2 MiB: exactly the two blocks holding data.
        assert [(r.offset, r.length) for r in ranges] == [(4 * MIB, 2 * MIB), (40 * MIB, 2 * MIB)]
        assert img.allocated_bytes == 4 * MIB


def test_vhdx_dynamic_ranges_follow_block_size(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vhdx", 64 * MIB, [(9 * MIB + 512, b"\1" * 512)],
                            subformat="dynamic", block_size=8 * MIB)
    with open_image(made.path) as img:
        assert [(r.offset, r.length) for r in img.data_ranges()] == [(8 * MIB, 8 * MIB)]


@pytest.mark.parametrize("block_size", [MIB, 32 * MIB])
def test_vhdx_past_the_first_bitmap_chunk(disk_images: DiskImageFactory,
                                          block_size: int) -> None:
    """Beyond 4 GiB the VHDX block table interleaves sector-bitmap entries; blocks after them
    must still be found. Sparse files keep this cheap; only the data is compared."""
    gib4 = 4 << 30
    size = gib4 + 40 * MIB + 3 * 512
    writes = [(0, pattern(0, MIB)), (gib4 - MIB // 2, pattern(gib4 - MIB // 2, MIB)),
              (gib4 + 33 * MIB + 512, pattern(gib4 + 33 * MIB + 512, 4096)),
              (size - 512, pattern(size - 512, 512))]
    made = disk_images.make("vhdx", size, writes, subformat="dynamic", block_size=block_size)
    reference = disk_images.expected_raw_file(made)
    with open_image(made.path) as img, open(reference, "rb") as ref:
        assert img.virtual_size == size
        ranges = img.data_ranges()
        for offset, data in writes:
            assert any(r.offset <= offset and offset + len(data) <= r.end for r in ranges)
        assert img.allocated_bytes <= 4 * max(block_size, 2 * MIB) + 2 * block_size
        for r in ranges:
            ref.seek(r.offset)
            assert img.read(r.offset, r.length) == ref.read(r.length), f"differs in {r}"
        assert img.read(2 << 30, 4096) == bytes(4096)

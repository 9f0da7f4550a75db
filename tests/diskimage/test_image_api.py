"""The DiskImage API: ids, ranges, rounding, concurrency, end of stream, closing."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest

from gui.diskimage import Level, Range, open_image
from tests.diskimage.helpers import read_stream
from tests.fixtures.disk_images import MIB, DiskImageFactory


def test_fixed_vhd_keeps_disk_id(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", 20 * MIB, "start", subformat="fixed")
    tail = made.path.read_bytes()[-512:]
    with open_image(made.path) as img:
        assert img.disk_id.bytes == tail[68:84]
        assert img.footer[68:84] == tail[68:84]


def test_raw_disk_id_is_stable(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("raw", 20 * MIB, "start")
    with open_image(made.path) as a, open_image(made.path) as b:
        assert a.disk_id == b.disk_id
        assert a.footer == b.footer


def test_data_ranges_skip_holes_in_raw(disk_images: DiskImageFactory) -> None:
    size = 64 * MIB
    path = disk_images.raw(size, [(0, b"\1" * MIB), (40 * MIB, b"\2" * (2 * MIB))])
    with open_image(path) as img:
        ranges = img.data_ranges()
        assert ranges, "some data must be found"
        covered = sum(r.length for r in ranges)
        if covered == size:
            pytest.skip("this file system does not report holes")
        # Every written byte is inside a range, and the long hole between is left out.
        assert any(r.offset <= 0 and r.end >= MIB for r in ranges)
        assert any(r.offset <= 40 * MIB and r.end >= 42 * MIB for r in ranges)
        assert not any(r.offset < 30 * MIB < r.end for r in ranges)
        assert img.allocated_bytes == covered


def test_data_ranges_never_cover_footer(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", 21 * MIB + 5, "end", subformat="fixed")
    with open_image(made.path) as img:
        ranges = img.data_ranges()
        assert ranges == sorted(ranges)
        assert all(r.end <= img.virtual_size for r in ranges)
        for a, b in itertools.pairwise(ranges):
            assert a.end < b.offset


def test_size_rounding_is_reported(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("raw", 21 * MIB + 7)
    with open_image(made.path) as img:
        assert img.fixed_size == 22 * MIB
        codes = {f.code: f for f in img.findings}
        assert codes["size-rounded"].level is Level.INFO
        assert "22 MiB" in codes["size-rounded"].message
        assert img.acceptable


def test_too_small_is_an_error(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", 10 * MIB, "start", subformat="fixed")
    with open_image(made.path) as img:
        assert not img.acceptable
        assert any(f.code == "too-small" and f.level is Level.ERROR for f in img.findings)


@pytest.mark.parametrize("kind", ["vhd-fixed", "vhd-dynamic", "vhdx-dynamic", "differencing"])
def test_concurrent_reads_agree(disk_images: DiskImageFactory, kind: str) -> None:
    if kind == "vhd-fixed":
        path = disk_images.make("vpc", 24 * MIB, "scattered", subformat="fixed").path
    elif kind == "vhd-dynamic":
        path = disk_images.dynamic_vhd(24 * MIB, "scattered", block_size=64 * 1024).path
    elif kind == "vhdx-dynamic":
        path = disk_images.make("vhdx", 24 * MIB, "scattered", subformat="dynamic",
                                block_size=MIB).path
    else:
        parent = disk_images.make("vpc", 24 * MIB, "scattered", subformat="dynamic").path
        path = disk_images.differencing_vhd(parent, [(512 * k * 997, b"\7" * 512)
                                                     for k in range(1, 40)])
    with open_image(path) as img:
        whole = read_stream(img)
        errors: list[str] = []

        def worker(seed: int) -> None:
            buf = bytearray(3 * 65536 + 512)
            for i in range(150):
                offset = ((seed * 7919 + i * 104729) * 512 + seed) % img.upload_size
                n = img.readinto(offset, buf)
                if bytes(buf[:n]) != whole[offset : offset + n]:
                    errors.append(f"mismatch at {offset}")

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []


def test_readinto_at_and_past_the_end(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("raw", 20 * MIB, "end")
    with open_image(made.path) as img:
        buf = bytearray(1024)
        assert img.readinto(img.upload_size - 100, buf) == 100
        assert bytes(buf[:100]) == img.footer[-100:]
        assert img.readinto(img.upload_size, buf) == 0
        with pytest.raises(ValueError):
            img.readinto(-1, buf)


def test_closed_image_refuses_reads(disk_images: DiskImageFactory) -> None:
    from gui.diskimage import ImageClosedError

    made = disk_images.make("raw", 20 * MIB)
    img = open_image(made.path)
    img.close()
    img.close()
    with pytest.raises(ImageClosedError):
        img.readinto(0, bytearray(10))


def test_missing_and_empty_files(tmp_path: Path) -> None:
    from gui.diskimage import EmptyImageError, ImageUnreadableError

    with pytest.raises(ImageUnreadableError, match="Cannot read"):
        open_image(tmp_path / "nope.vhd")
    with pytest.raises(ImageUnreadableError, match="not a regular file"):
        open_image(tmp_path)
    empty = tmp_path / "empty.raw"
    empty.write_bytes(b"")
    with pytest.raises(EmptyImageError):
        open_image(empty)


def test_range_helpers() -> None:
    assert Range(5, 10).end == 15
    assert os.path.exists("/dev/null")

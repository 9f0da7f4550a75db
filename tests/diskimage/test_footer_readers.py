"""The fixed stream, saved as a file (what a downloaded blob is), reads at full size everywhere.

qemu sizes a VHD by its CHS geometry unless the footer's creator is one it trusts for
``current_size``; CHS rounds down, so a footer qemu does not trust reads up to ~240 KiB short.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest

from gui.diskimage import DiskImage, open_image
from tests.diskimage import patching
from tests.fixtures.disk_images import MIB, DiskImageFactory, vhdiinfo

# Sizes whose CHS geometry covers less than the whole disk (33 MiB loses 60 sectors, 4099 MiB
# loses 128): a footer qemu sizes by CHS would read them short.
ODD_SIZES = [33 * MIB, 47 * MIB - 3 * 512, 77 * MIB]
LARGE_ODD_SIZE = 4099 * MIB


def save_stream(img: DiskImage, path: Path) -> bytes:
    """Write the fixed stream to a sparse file; returns the SHA-256 of its data part."""
    digest = hashlib.sha256()  # of the zeros between the ranges too, as qemu's copy has them
    buf = bytearray(4 * MIB)
    with open(path, "wb") as f:
        f.truncate(img.upload_size)
        pos = 0
        for r in img.data_ranges():
            if r.offset > pos:
                zeros = r.offset - pos
                while zeros:
                    step = min(zeros, len(buf))
                    digest.update(bytes(step))
                    zeros -= step
            pos = r.offset
            while pos < r.end:
                n = img.readinto(pos, memoryview(buf)[: min(len(buf), r.end - pos)])
                f.seek(pos)
                f.write(buf[:n])
                digest.update(buf[:n])
                pos += n
        rest = img.fixed_size - pos
        while rest:
            step = min(rest, len(buf))
            digest.update(bytes(step))
            rest -= step
        f.seek(img.fixed_size)
        f.write(img.footer)
    return digest.digest()


def qemu_virtual_size(path: Path) -> int:
    result = subprocess.run(["qemu-img", "info", "--output=json", "-f", "vpc", str(path)],
                            capture_output=True, text=True, check=True)
    size: int = json.loads(result.stdout)["virtual-size"]
    return size


def qemu_raw_digest(path: Path, out: Path) -> tuple[int, bytes]:
    subprocess.run(["qemu-img", "convert", "-q", "-f", "vpc", "-O", "raw", str(path), str(out)],
                   check=True)
    digest = hashlib.sha256()
    with open(out, "rb") as f:
        while chunk := f.read(4 * MIB):
            digest.update(chunk)
    size = out.stat().st_size
    out.unlink()
    return size, digest.digest()


def assert_read_at_full_size(img: DiskImage, directory: Path, *, content: bool = True) -> None:
    blob = directory / f"blob-{img.disk_id}.vhd"
    expected = save_stream(img, blob) if content else b""
    if not content:
        with open(blob, "wb") as f:  # sizes only: a sparse body and the footer
            f.truncate(img.fixed_size)
            f.seek(img.fixed_size)
            f.write(img.footer)
    assert qemu_virtual_size(blob) == img.fixed_size
    if content:
        size, digest = qemu_raw_digest(blob, directory / "back.raw")
        assert size == img.fixed_size
        assert digest == expected
    info = vhdiinfo(blob)
    assert re.search(r"Disk type\s*:\s*Fixed", info), info
    assert f"({img.fixed_size} bytes)" in info, info
    blob.unlink()


@pytest.mark.parametrize("size", ODD_SIZES)
def test_raw_source_reads_at_full_size(disk_images: DiskImageFactory, tmp_path: Path,
                                       size: int) -> None:
    made = disk_images.make("raw", size, "scattered")
    with open_image(made.path) as img:
        assert_read_at_full_size(img, tmp_path)


def test_large_raw_source_is_sized_in_full(disk_images: DiskImageFactory, tmp_path: Path) -> None:
    path = disk_images.raw(LARGE_ODD_SIZE, [(0, b"\x01" * 512)])
    with open_image(path) as img:
        assert_read_at_full_size(img, tmp_path, content=False)


@pytest.mark.parametrize("creator", [b"vpc ", b"qemu", b"ais "])
def test_source_creator_read_by_chs_is_replaced(disk_images: DiskImageFactory, tmp_path: Path,
                                                creator: bytes) -> None:
    made = disk_images.make("vpc", 33 * MIB, "end", subformat="dynamic")
    for at in (0, made.path.stat().st_size - 512):
        patching.patch(made.path, at + 28, creator)
        patching.fix_vhd_footer(made.path, at)
    with open_image(made.path) as img:
        assert img.footer[28:32] == b"win "
        assert_read_at_full_size(img, tmp_path)


def test_source_creator_read_by_size_is_kept(disk_images: DiskImageFactory,
                                             tmp_path: Path) -> None:
    # force_size=on makes qemu write "qem2", which qemu itself sizes by current_size.
    made = disk_images.make("vpc", 33 * MIB, "start", subformat="fixed")
    with open_image(made.path) as img:
        assert img.footer[28:32] == b"qem2"
        assert_read_at_full_size(img, tmp_path)

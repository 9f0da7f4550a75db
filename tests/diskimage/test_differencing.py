"""Differencing VHDs read through their parent chain, checked against libvhdi where FUSE works."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.diskimage import (
    DiskImageError,
    ImageFormat,
    ParentMismatchError,
    ParentNotFoundError,
    open_image,
)
from tests.diskimage.helpers import assert_footer_valid, read_stream
from tests.fixtures.disk_images import MIB, DiskImageFactory, pattern, vhdiinfo

SIZE = 24 * MIB


def child_writes() -> list[tuple[int, bytes]]:
    # Sectors over parent data, over unallocated parent blocks, and across a block boundary.
    return [
        (3 * 512, pattern(3 * 512, 512, 7)),
        (5 * MIB, pattern(5 * MIB, 2 * 512, 7)),
        (2 * MIB - 512, pattern(2 * MIB - 512, 1024, 7)),
        (SIZE - 512, pattern(SIZE - 512, 512, 7)),
    ]


def apply(base: bytes, writes: list[tuple[int, bytes]]) -> bytes:
    out = bytearray(base)
    for offset, data in writes:
        out[offset : offset + len(data)] = data
    return bytes(out)


@contextlib.contextmanager
def vhdimount(path: Path, where: Path) -> Iterator[Path | None]:
    """Mount ``path`` with libvhdi's FUSE tool; yields None where FUSE is not available."""
    where.mkdir()
    if shutil.which("vhdimount") is None or not Path("/dev/fuse").exists():
        yield None
        return
    result = subprocess.run(["vhdimount", str(path), str(where)], capture_output=True,
                            timeout=30, check=False)
    if result.returncode != 0 or not any(where.iterdir()):
        yield None
        return
    try:
        yield where
    finally:
        for tool in (["fusermount", "-u"], ["umount"]):
            if shutil.which(tool[0]):
                subprocess.run([*tool, str(where)], capture_output=True, check=False)
                break


@pytest.mark.parametrize("parent_kind", ["dynamic", "fixed"])
def test_child_reads_through_parent(disk_images: DiskImageFactory, tmp_path: Path,
                                    parent_kind: str) -> None:
    parent = disk_images.make("vpc", SIZE, "scattered", subformat=parent_kind,
                              name=f"parent-{parent_kind}.vhd")
    child = disk_images.differencing_vhd(parent.path, child_writes(), name="child.vhd")
    info = vhdiinfo(child)
    assert "Differential" in info
    assert f"parent-{parent_kind}.vhd" in info
    expected = apply(disk_images.expected_raw(parent), child_writes())
    with open_image(child) as img:
        assert img.format is ImageFormat.VHD_DIFFERENCING
        assert img.acceptable, img.findings
        stream = read_stream(img)
        assert stream[: img.virtual_size] == expected
        assert_footer_valid(img, tmp_path)
        for offset, data in child_writes():
            assert any(r.offset <= offset and offset + len(data) <= r.end
                       for r in img.data_ranges())
        with vhdimount(child, tmp_path / "mnt") as mounted:
            if mounted is not None:
                # libvhdi lists the chain from the base; the last layer is the child.
                layers = sorted(mounted.iterdir())
                assert layers[-1].read_bytes() == stream[: img.virtual_size]


def test_three_level_chain(disk_images: DiskImageFactory) -> None:
    base = disk_images.make("vpc", SIZE, "start", subformat="dynamic", name="base.vhd")
    middle_writes = [(10 * MIB, b"\x11" * 4096)]
    middle = disk_images.differencing_vhd(base.path, middle_writes, name="middle.vhd")
    top_writes = [(10 * MIB + 512, b"\x22" * 512), (0, b"\x33" * 512)]
    top = disk_images.differencing_vhd(middle, top_writes, name="top.vhd",
                                       block_size=512 * 1024)
    expected = apply(apply(disk_images.expected_raw(base), middle_writes), top_writes)
    with open_image(top) as img:
        assert img.read(0, img.virtual_size) == expected


@pytest.mark.parametrize("locators", [("W2ru",), ("W2ku",), ("MacX",), ()])
def test_each_locator_kind_finds_the_parent(disk_images: DiskImageFactory,
                                            locators: tuple[str, ...]) -> None:
    parent = disk_images.make("vpc", SIZE, "end", subformat="dynamic", name="p.vhd")
    child = disk_images.differencing_vhd(parent.path, child_writes(), locators=locators)
    with open_image(child) as img:
        assert img.read(0, img.virtual_size) == apply(
            disk_images.expected_raw(parent), child_writes())


def test_parent_moved_next_to_child(disk_images: DiskImageFactory, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = disk_images.make("vpc", SIZE, "start", subformat="dynamic")
    original = elsewhere / "base.vhd"
    shutil.copyfile(made.path, original)
    child = disk_images.differencing_vhd(original, child_writes(), locators=("W2ku",))
    moved = child.parent / "base.vhd"
    original.rename(moved)
    with open_image(child) as img:
        assert img.acceptable
        assert ("Parent", str(moved)) in img.details


def test_missing_parent_is_named(disk_images: DiskImageFactory) -> None:
    parent = disk_images.make("vpc", SIZE, "start", subformat="dynamic", name="gone.vhd")
    child = disk_images.differencing_vhd(parent.path, child_writes())
    parent.path.unlink()
    with pytest.raises(ParentNotFoundError) as caught:
        open_image(child)
    assert "gone.vhd" in str(caught.value)
    assert caught.value.parent_name == "gone.vhd"
    assert isinstance(caught.value, DiskImageError)


def test_wrong_parent_is_refused(disk_images: DiskImageFactory) -> None:
    parent = disk_images.make("vpc", SIZE, "start", subformat="dynamic", name="base.vhd")
    child = disk_images.differencing_vhd(parent.path, child_writes())
    impostor = disk_images.make("vpc", SIZE, "end", subformat="dynamic")
    shutil.copyfile(impostor.path, parent.path)
    with pytest.raises(ParentMismatchError, match="not the parent"):
        open_image(child)


def test_chain_files_are_closed_with_the_child(disk_images: DiskImageFactory) -> None:
    parent = disk_images.make("vpc", SIZE, "start", subformat="dynamic", name="base.vhd")
    child = disk_images.differencing_vhd(parent.path, child_writes())
    proc_fds = Path("/proc/self/fd")
    if not proc_fds.exists():
        pytest.skip("needs /proc")
    before = len(list(proc_fds.iterdir()))
    img = open_image(child)
    assert len(list(proc_fds.iterdir())) == before + 2
    img.close()
    assert len(list(proc_fds.iterdir())) == before


@pytest.mark.parametrize("locator", [
    ("W2ku", "C:\\Hyper-V\\Virtual Hard Disks\\winbase.vhd"),
    ("W2ru", ".\\winbase.vhd"),
    ("W2ru", "..\\" + "PLACEHOLDER" + "\\winbase.vhd"),
])
def test_windows_locators(disk_images: DiskImageFactory, locator: tuple[str, str]) -> None:
    parent = disk_images.make("vpc", SIZE, "start", subformat="dynamic", name="winbase.vhd")
    code, text = locator
    text = text.replace("PLACEHOLDER", disk_images.directory.name)
    child = disk_images.differencing_vhd(parent.path, child_writes(), locators=[(code, text)])
    with open_image(child) as img:
        assert ("Parent", str(parent.path)) in img.details


def test_source_files_name_the_whole_chain(disk_images: DiskImageFactory) -> None:
    base = disk_images.make("vpc", SIZE, "start", subformat="dynamic", name="sbase.vhd")
    middle = disk_images.differencing_vhd(base.path, [(0, b"\x11" * 512)], name="smiddle.vhd")
    top = disk_images.differencing_vhd(middle, [(512, b"\x22" * 512)], name="stop.vhd")
    with open_image(top) as img:
        assert img.source_files == (top, middle.resolve(), base.path.resolve())
    with open_image(base.path) as img:
        assert img.source_files == (base.path,)

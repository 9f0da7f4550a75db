"""VDI: static and dynamic images made by qemu-img, read back byte for byte as qemu reads them.

For each file the fixed stream minus its footer equals ``qemu-img convert -f vdi -O raw`` of the
file (zero-padded to the whole MiB), every non-zero byte lies inside ``data_ranges()``, and damage
gives only documented errors.
"""

from __future__ import annotations

import contextlib
import itertools
import shutil
import struct
import threading
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.diskimage import (
    CorruptBlockTableError,
    CorruptHeaderError,
    DiskImage,
    DiskImageError,
    ImageFormat,
    InvalidBlockSizeError,
    Level,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.pio import PositionalFile
from gui.diskimage.vdi import VdiDifferencingError, open_vdi
from gui.diskimage.zeros import nonzero_runs
from tests.diskimage.helpers import assert_footer_valid, assert_matches_reference, reads_checked
from tests.diskimage.patching import patch
from tests.fixtures.appliance_images import (
    VDI_BLOCK_ZERO,
    QemuWrites,
    expected_raw,
    make_vdi,
    set_vdi_map_entry,
    vdi_fields,
    vdi_from_raw,
    vdi_map_entry,
)
from tests.fixtures.disk_images import MIB, pattern

SIZES = {"aligned": 8 * MIB, "odd": 9 * MIB + 7 * 512 + 7}


def at_start(size: int) -> QemuWrites:
    return [(0, 3 * MIB + 512, 0x11)]


def at_end(size: int) -> QemuWrites:
    return [((size // 512 - 9) * 512, 9 * 512, 0x22)]


def scattered(size: int) -> QemuWrites:
    return [(512, 512, 0x31), (MIB - 1024, 2048, 0x32), (3 * MIB + 4096, 700, 0x33),
            (5 * MIB + 3 * 512, 512, 0x34), ((size // 512 - 1) * 512, 512, 0x35)]


# (offset, length, pattern byte) as written by qemu-io, for a disk of the given size.
LAYOUTS: dict[str, Callable[[int], QemuWrites]] = {
    "start": at_start, "end": at_end, "scattered": scattered}


def open_vdi_image(path: Path) -> DiskImage:
    """A DiskImage over the VDI reader, built as gui.diskimage.image builds one."""
    file = PositionalFile(path)
    try:
        return DiskImage(path, file, open_vdi(file))
    except BaseException:
        file.close()
        raise


def check_ranges_cover_data(img: DiskImage, expected: bytes) -> None:
    ranges = img.data_ranges()
    assert ranges == sorted(ranges)
    assert all(r.length > 0 and r.end <= img.virtual_size for r in ranges)
    for a, b in itertools.pairwise(ranges):
        assert a.end < b.offset, "ranges must be merged"
    for run in nonzero_runs(expected, granularity=512):
        assert all(any(r.offset <= s < r.end for r in ranges)
                   for s in range(run.offset, run.end, 512)), f"data at {run} outside ranges"


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("static", [False, True], ids=["dynamic", "static"])
def test_stream_matches_qemu(tmp_path: Path, static: bool, size_name: str, layout: str) -> None:
    size = SIZES[size_name]
    path = make_vdi(tmp_path / "disk.vdi", size, LAYOUTS[layout](size), static=static)
    expected = expected_raw(path, "vdi", tmp_path / "expected.raw")
    with open_vdi_image(path) as img:
        assert img.format is (ImageFormat.VDI_STATIC if static else ImageFormat.VDI_DYNAMIC)
        assert img.virtual_size == len(expected)
        assert not [f for f in img.findings if f.code.startswith("vdi-")]
        assert_matches_reference(img, expected)
        check_ranges_cover_data(img, expected)
        if not static:  # only the blocks written are stored, so only they are sent
            blocks = {b for o, n, _ in LAYOUTS[layout](size)
                      for b in range(o // MIB, (o + n - 1) // MIB + 1)}
            assert img.allocated_bytes <= len(blocks) * MIB


def test_converted_data_and_footer(tmp_path: Path) -> None:
    """Random data at every offset (a misplaced block can never compare equal), and a footer
    that vhdiinfo accepts, carrying the VDI's own UUID."""
    size = 5 * MIB + 3 * 512
    raw = tmp_path / "source.raw"
    with open(raw, "wb") as f:
        f.truncate(size)
        for offset in (0, 2 * MIB + 512, size - 4096):
            f.seek(offset)
            f.write(pattern(offset, min(300_000, size - offset)))
    for static in (False, True):
        path = vdi_from_raw(raw, tmp_path / f"converted-{static}.vdi", static=static)
        with open_vdi_image(path) as img:
            assert_matches_reference(img, raw.read_bytes())
            uuid_le = path.read_bytes()[392:408]
            assert img.disk_id == uuid.UUID(bytes_le=uuid_le)
            assert_footer_valid(img, tmp_path)


def test_discarded_block_reads_as_zero(tmp_path: Path) -> None:
    path = make_vdi(tmp_path / "discard.vdi", 4 * MIB,
                    [(0, 4096, 0x41), (MIB + 512, 4096, 0x42), (2 * MIB, 512, 0x43)])
    assert vdi_map_entry(path, 1) < VDI_BLOCK_ZERO
    set_vdi_map_entry(path, 1, VDI_BLOCK_ZERO)
    expected = expected_raw(path, "vdi", tmp_path / "expected.raw")
    assert expected[MIB : 2 * MIB].count(0) == MIB  # qemu reads the marker as zeros too
    with open_vdi_image(path) as img:
        assert_matches_reference(img, expected)
        assert all(not (r.offset < 2 * MIB and r.end > MIB) for r in img.data_ranges())
        assert ("Stored blocks", "2 of 4 (1 discarded)") in img.details


def test_blocks_out_of_order(tmp_path: Path) -> None:
    """Dynamic blocks are stored in the order they were first written, not the disk's."""
    writes = [(3 * MIB, 512, 0x51), (0, 512, 0x52), (2 * MIB + 7 * 512, 1024, 0x53)]
    path = make_vdi(tmp_path / "shuffled.vdi", 4 * MIB, writes)
    assert [vdi_map_entry(path, b) for b in (3, 0, 2)] == [0, 1, 2]
    with open_vdi_image(path) as img:
        assert_matches_reference(img, expected_raw(path, "vdi", tmp_path / "e.raw"))


def test_parallel_reads_agree(tmp_path: Path) -> None:
    path = make_vdi(tmp_path / "threads.vdi", 8 * MIB, LAYOUTS["scattered"](8 * MIB))
    expected = expected_raw(path, "vdi", tmp_path / "expected.raw")
    errors: list[str] = []
    with open_vdi_image(path) as img:
        def worker(seed: int) -> None:
            buf = bytearray(3 * MIB // 2 + 512)
            for i in range(12):
                offset = ((seed * 7 + i * 13) % 13) * (MIB // 2) + seed * 512
                n = img.readinto(offset, buf)
                want = expected[offset : offset + n].ljust(n, b"\0")
                if bytes(buf[:n]) != want[:n] and offset + n <= img.fixed_size:
                    errors.append(f"thread {seed} offset {offset}")

        threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []


# ---- refusals and damage -------------------------------------------------------------------

def test_differencing_vdi_refused_with_the_clone_command(tmp_path: Path) -> None:
    path = make_vdi(tmp_path / "snapshot.vdi", 2 * MIB, [(0, 512, 1)])
    parent = uuid.uuid4()
    patch(path, 76, struct.pack("<I", 4))  # VDI_IMAGE_TYPE_DIFF
    patch(path, 424, parent.bytes_le)  # uuidLinkage
    with pytest.raises(VdiDifferencingError) as caught:
        open_vdi_image(path)
    assert str(parent) in caught.value.message
    assert "VBoxManage clonemedium disk snapshot.vdi merged.vdi" in caught.value.message
    # A linkage UUID alone (qemu refuses such a file too) is the same case.
    patch(path, 76, struct.pack("<I", 1))
    with pytest.raises(VdiDifferencingError):
        open_vdi_image(path)


@pytest.mark.parametrize(("offset", "value", "error"), [
    (64, struct.pack("<I", 0x12345678), CorruptHeaderError),  # signature
    (68, struct.pack("<I", 0x00000001), UnsupportedImageError),  # version 0.1
    (72, struct.pack("<I", 100), CorruptHeaderError),  # header size
    (76, struct.pack("<I", 9), CorruptHeaderError),  # image type
    (364 - 4, struct.pack("<I", 4096), UnsupportedImageError),  # sector size
    (376, struct.pack("<I", 3 * MIB), InvalidBlockSizeError),  # block size
    (376, struct.pack("<I", 0), InvalidBlockSizeError),
    (380, struct.pack("<I", 100), CorruptHeaderError),  # extra data per block
    (340, struct.pack("<I", 100), CorruptHeaderError),  # block map inside the header
    (344, struct.pack("<I", 512), CorruptHeaderError),  # data area inside the block map
])
def test_damaged_header(tmp_path: Path, offset: int, value: bytes,
                        error: type[DiskImageError]) -> None:
    path = make_vdi(tmp_path / "damaged.vdi", 3 * MIB, [(0, 512, 1)])
    patch(path, offset, value)
    with pytest.raises(error) as caught:
        open_vdi_image(path)
    assert type(caught.value) is error


def test_block_map_past_the_end(tmp_path: Path) -> None:
    path = make_vdi(tmp_path / "long-map.vdi", 3 * MIB, [(0, 512, 1)])
    patch(path, 344, struct.pack("<I", 0x7FFFFE00))  # offData
    patch(path, 384, struct.pack("<I", 0x10000000))  # cBlocks: a 1 GiB map
    with pytest.raises(TruncatedImageError) as caught:
        open_vdi_image(path)
    assert "VDI block map" in caught.value.message


def test_truncated_file(tmp_path: Path) -> None:
    path = make_vdi(tmp_path / "cut.vdi", 4 * MIB, [(0, 512, 1), (2 * MIB, 512, 2),
                                                     (3 * MIB, 512, 3)])
    fields = vdi_fields(path)
    with open(path, "r+b") as f:  # the third stored block (disk block 3) loses its end
        f.truncate(fields.data_offset + 2 * MIB + 4096)
    with open_vdi_image(path) as img:
        finding = next(f for f in img.findings if f.code == "vdi-block-outside-file")
        assert finding.level is Level.ERROR and "block 3" in finding.message
        assert not img.acceptable
        assert img.read(0, 512) == b"\1" * 512  # what is there still reads
        with pytest.raises(CorruptBlockTableError):
            img.read(3 * MIB, 512)
    with open(path, "r+b") as f:
        f.truncate(300)
    with pytest.raises(TruncatedImageError):
        open_vdi_image(path)


def test_block_map_smaller_than_the_disk(tmp_path: Path) -> None:
    path = make_vdi(tmp_path / "short-map.vdi", 4 * MIB, [(0, 512, 1)])
    patch(path, 384, struct.pack("<I", 2))  # cBlocks: 2 of the 4 the disk needs
    with open_vdi_image(path) as img:
        assert any(f.code == "vdi-map-too-small" and f.level is Level.ERROR
                   for f in img.findings)
        assert img.read(3 * MIB, 512) == bytes(512)


def test_crafted_map_costs_bounded_memory(tmp_path: Path) -> None:
    """A tiny file whose block map claims four million 512-byte blocks, every one allocated and
    all pointing at the same block: open, map walk and reads never hold the map."""
    entries = 4 * MIB // 4 * 4  # 16 MiB of block map
    path = make_vdi(tmp_path / "crafted.vdi", MIB)
    head = bytearray(path.read_bytes()[:512])
    struct.pack_into("<II", head, 340, 512, 512 + 4 * entries)  # offBlocks, offData
    struct.pack_into("<QIII", head, 368, entries * 512, 512, 0, entries)  # size, block, count
    with open(path, "wb") as f:
        f.write(head)
        f.write(bytes(4 * entries))  # every entry is 0: the block right after the map
        f.write(b"\x5a" * 512)
    tracemalloc.start()
    try:
        with open_vdi_image(path) as img:
            assert img.virtual_size == entries * 512
            assert img.data_ranges()[0].offset == 0
            assert img.read(123 * MIB, 512) == b"\x5a" * 512
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 12 * MIB, f"peak {peak:,} bytes"


# ---- fuzzing -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("vdi-fuzz")
    size = 6 * MIB + 3 * 512
    return {kind: make_vdi(directory / f"{kind}.vdi", size, LAYOUTS["scattered"](size),
                           static=kind == "static")
            for kind in ("dynamic", "static")}


edit = st.tuples(st.sampled_from([(0, 512), (72, 384), (512, 64), (0, 6 * MIB)]),
                 st.floats(0, 1, allow_nan=False), st.binary(min_size=1, max_size=8))


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["dynamic", "static"]), edits=st.lists(edit, max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1, allow_nan=False)))
def test_damage_only_raises_documented_errors(fuzz_bases: dict[str, Path], kind: str,
                                              edits: list[Any], cut: float | None) -> None:
    source = fuzz_bases[kind]
    target = source.with_name(f"damaged-{kind}.vdi")
    shutil.copyfile(source, target)
    size = target.stat().st_size
    for (start, length), where, data in edits:
        patch(target, max(0, min(size - len(data), start + int(where * length))), data)
    if cut is not None:
        with open(target, "r+b") as f:
            f.truncate(int(cut * size))
    tracemalloc.start()
    try:
        with reads_checked() as problems, contextlib.suppress(DiskImageError), \
                open_vdi_image(target) as img:
            ranges = img.data_ranges()
            buf = bytearray(256 * 1024)
            for offset in [0, max(0, img.upload_size - len(buf))] + [r.offset for r in
                                                                     ranges[:6]]:
                with contextlib.suppress(DiskImageError):
                    img.readinto(offset, buf)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == []
    assert peak < 12 * MIB, f"peak {peak:,} bytes"

"""VMDK disks read directly: every sub-format qemu-img makes, ESXi and VMware-style files written
from the specification, snapshot chains, refusals and damage. The reference is always
``qemu-img convert -f vmdk -O raw`` (or the raw source, for files qemu cannot read), and libvmdk
(pyvmdk) reads the same files as a second, independent opinion.
"""

from __future__ import annotations

import itertools
import random
import shutil
import struct
import tarfile
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pyvmdk  # type: ignore[import-not-found]
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
    ParentMismatchError,
    ParentNotFoundError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.pio import PositionalFile, SourceFile
from gui.diskimage.vmdk import (
    CorruptGrainError,
    ExtentNotFoundError,
    VmdkDescriptorError,
    open_vmdk,
    open_vmdk_stream,
)
from gui.diskimage.window import FileWindow
from tests.diskimage.helpers import assert_footer_valid, assert_matches_reference
from tests.fixtures.disk_images import MIB, SECTOR, pattern, scattered_sectors
from tests.fixtures.vmdk_images import (
    GRAIN,
    SUBFORMATS,
    MadeVmdk,
    VmdkCorpus,
    qemu_raw,
    whole_mib,
    write_raw,
)

ODD_SIZE = 37 * MIB + 3 * SECTOR  # neither whole grains nor whole MiB
BIG_SIZE = 4 * 1024 * MIB + 5 * MIB + 7 * SECTOR  # three 2 GiB extents, little data


@pytest.fixture
def corpus(tmp_path: Path) -> VmdkCorpus:
    return VmdkCorpus(tmp_path)


def open_disk(path: Path, **kwargs: Any) -> DiskImage:
    """A full DiskImage over the VMDK reader, built as image.py builds one."""
    file = PositionalFile(path)
    try:
        return DiskImage(path, file, open_vmdk(file, **kwargs))
    except BaseException:
        file.close()
        raise


def assert_same_as_qemu(img: DiskImage, made: MadeVmdk, directory: Path) -> None:
    expected = qemu_raw(made.path, directory / f"{made.path.stem}-qemu.raw").read_bytes()
    assert img.virtual_size == len(expected)
    assert_matches_reference(img, expected)
    assert_ranges_cover(img, expected)


def assert_ranges_cover(img: DiskImage, expected: bytes) -> None:
    """data_ranges() are sorted, merged, and hold every non-zero byte of the disk."""
    ranges = img.data_ranges()
    for before, after in itertools.pairwise(ranges):
        assert before.end < after.offset  # merged: not even touching
    pos = 0
    for r in [*ranges, None]:
        gap_end = len(expected) if r is None else min(r.offset, len(expected))
        assert expected[pos:gap_end].count(0) == max(0, gap_end - pos)
        if r is None:
            break
        pos = r.end


def layout_writes(layout: str, size: int) -> list[tuple[int, bytes]]:
    if layout == "start":
        return [(0, pattern(0, 3 * MIB + 5 * SECTOR))]
    if layout == "end":
        start = size - 2 * MIB - 3 * SECTOR
        return [(start, pattern(start, size - start))]
    return scattered_sectors(size, count=60, seed=5)


# ---- the corpus made by qemu-img -------------------------------------------------------------

@pytest.mark.parametrize("layout", ["start", "end", "scattered"])
@pytest.mark.parametrize("subformat", SUBFORMATS)
def test_qemu_converted_disks_read_as_qemu_reads_them(corpus: VmdkCorpus, tmp_path: Path,
                                                     subformat: str, layout: str) -> None:
    made = corpus.convert(subformat, ODD_SIZE, layout_writes(layout, ODD_SIZE))
    with open_disk(made.path) as img:
        assert img.format is {
            "monolithicSparse": ImageFormat.VMDK_SPARSE,
            "streamOptimized": ImageFormat.VMDK_STREAM_OPTIMIZED,
            "twoGbMaxExtentSparse": ImageFormat.VMDK_SPLIT_SPARSE,
            "twoGbMaxExtentFlat": ImageFormat.VMDK_SPLIT_FLAT,
            "monolithicFlat": ImageFormat.VMDK_FLAT,
        }[subformat]
        assert img.virtual_size == ODD_SIZE
        assert img.fixed_size == whole_mib(ODD_SIZE)
        assert_same_as_qemu(img, made, tmp_path)
        assert ("VMDK type", subformat) in img.details
        if subformat in ("monolithicSparse", "streamOptimized", "twoGbMaxExtentSparse"):
            # Only the grains holding data, not the whole disk.
            assert img.allocated_bytes <= sum(len(d) for _o, d in made_writes(made)) + \
                2 * GRAIN * (len(made_writes(made)) + 1)
        assert not [f for f in img.findings if f.level is Level.ERROR]


def made_writes(made: MadeVmdk) -> list[tuple[int, bytes]]:
    """The runs of non-zero 64 KiB pieces of a made disk's source (what a sparse disk stores)."""
    data = made.source.read_bytes()
    runs = []
    for offset in range(0, len(data), GRAIN):
        piece = data[offset : offset + GRAIN]
        if piece.count(0) != len(piece):
            runs.append((offset, piece))
    return runs


@pytest.mark.parametrize("subformat", SUBFORMATS)
def test_empty_disks_made_by_qemu_img_create_read_as_zeros(corpus: VmdkCorpus,
                                                          tmp_path: Path, subformat: str) -> None:
    size = 5 * MIB + 1536
    made = corpus.create(subformat, size)
    with open_disk(made.path) as img:
        assert img.virtual_size == size
        assert_same_as_qemu(img, made, tmp_path)
        if "Flat" in subformat:  # the file system's holes: qemu-img writes the first block
            assert img.allocated_bytes <= 64 * 1024
        else:
            assert img.data_ranges() == []


@pytest.mark.parametrize("subformat", ["twoGbMaxExtentSparse", "twoGbMaxExtentFlat"])
def test_split_disks_over_2_gib_read_across_their_extents(corpus: VmdkCorpus, tmp_path: Path,
                                                         subformat: str) -> None:
    # Data at the start, across the first extent boundary (2 GiB), and at the very end.
    boundary = 2048 * MIB
    writes = [(0, pattern(0, MIB)), (boundary - 3 * SECTOR, pattern(boundary - 3 * SECTOR, 8192)),
              (BIG_SIZE - 5 * SECTOR, pattern(BIG_SIZE - 5 * SECTOR, 5 * SECTOR))]
    made = corpus.convert(subformat, BIG_SIZE, writes)
    assert len(made.files) == 4  # the descriptor and three extents
    reference = qemu_raw(made.path, tmp_path / "big-qemu.raw")
    with open_disk(made.path) as img:
        assert img.virtual_size == BIG_SIZE
        assert_streams_equal(img, reference)
        covered = img.allocated_bytes
        assert covered < 64 * MIB  # found from the tables (or file holes), not the whole disk
        for offset, data in writes:
            assert any(r.offset <= offset and offset + len(data) <= r.end
                       for r in img.data_ranges())


def assert_streams_equal(img: DiskImage, reference: Path, piece: int = 16 * MIB) -> None:
    """The whole fixed stream equals the reference file zero-padded to the MiB, plus the footer:
    compared piece by piece, so a 4 GiB disk needs no 4 GiB of memory. Only the reference's
    data is read from it; its file-system holes are zeros by definition."""
    # Buffers reused and compared whole (bytes equality is a memcmp): no allocation per piece.
    buf = bytearray(piece)
    want = bytearray(piece)
    zeros = bytes(piece)
    ref = PositionalFile(reference)
    try:
        offset = 0
        while offset < img.fixed_size:
            n = min(piece, img.fixed_size - offset)
            if n < piece:
                buf, want, zeros = bytearray(n), bytearray(n), bytes(n)
            assert img.readinto(offset, buf) == n
            want[:] = zeros
            for a, b in ref.data_extents(offset, offset + n):
                ref.readinto(a, memoryview(want)[a - offset : b - offset])
            assert buf == want, f"differs in [{offset}, {offset + n})"
            offset += n
    finally:
        ref.close()
    assert img.read(img.fixed_size, 512) == img.footer


def test_zeroed_grains_read_as_zeros_and_hold_no_data(corpus: VmdkCorpus,
                                                     tmp_path: Path) -> None:
    zeroed = [(GRAIN, 2 * GRAIN), (5 * MIB, GRAIN)]
    made = corpus.zeroed_grains(ODD_SIZE, [(0, pattern(0, 6 * MIB))], zeroed)
    gd = header_field(made.path, "<Q", 56) * SECTOR
    gt = header_field(made.path, "<I", gd) * SECTOR
    assert header_field(made.path, "<I", gt + 4) == 1  # qemu wrote a zero-grain entry
    with open_disk(made.path) as img:
        assert_same_as_qemu(img, made, tmp_path)
        for offset, length in zeroed:
            assert img.read(offset, length) == bytes(length)
            assert not any(r.offset < offset + length and offset < r.end
                           for r in img.data_ranges())


# ---- files qemu-img does not make --------------------------------------------------------------

@pytest.mark.parametrize(("create_type", "kind"), [
    ("vmfs", "VMFS"), ("vmfsThin", "VMFS"), ("monolithicFlat", "FLAT")])
def test_esxi_flat_disk_is_read_through_its_descriptor(corpus: VmdkCorpus, tmp_path: Path,
                                                       create_type: str, kind: str) -> None:
    made = corpus.esxi_flat(ODD_SIZE, layout_writes("scattered", ODD_SIZE),
                            create_type=create_type, kind=kind)
    with open_disk(made.path) as img:
        assert img.format is ImageFormat.VMDK_FLAT
        assert ("Extent files", made.files[1].name) in img.details
        assert ("Adapter type", "lsilogic") in img.details
        if create_type == "vmfsThin":  # qemu does not know it: the flat file is the reference
            assert_matches_reference(img, made.source.read_bytes())
        else:
            assert_same_as_qemu(img, made, tmp_path)
        assert_footer_valid(img, tmp_path)


def test_vmware_stream_with_its_grain_directory_at_the_end(corpus: VmdkCorpus,
                                                           tmp_path: Path) -> None:
    made = corpus.vmware_stream(ODD_SIZE, layout_writes("scattered", ODD_SIZE))
    with open_disk(made.path) as img:
        assert img.format is ImageFormat.VMDK_STREAM_OPTIMIZED
        assert not any(key == "Stored grains" for key, _ in img.details)  # the GD was used
        assert_same_as_qemu(img, made, tmp_path)


def test_stream_without_grain_directory_is_indexed_from_its_markers(corpus: VmdkCorpus) -> None:
    writes = layout_writes("end", ODD_SIZE) + layout_writes("start", ODD_SIZE)
    made = corpus.vmware_stream(ODD_SIZE, writes, directory=False)
    expected = made.source.read_bytes()
    with open_disk(made.path) as img:
        stored = dict(img.details)["Stored grains"]
        assert stored.startswith(f"{len(made_writes(made))} of ")
        assert_matches_reference(img, expected)
        assert_ranges_cover(img, expected)
        assert img.allocated_bytes <= 6 * MIB


def test_stream_inside_a_tar_is_read_through_a_window(corpus: VmdkCorpus, tmp_path: Path) -> None:
    made = corpus.convert("streamOptimized", ODD_SIZE, layout_writes("scattered", ODD_SIZE))
    ova = tmp_path / "appliance.ova"
    ovf = tmp_path / "appliance.ovf"
    ovf.write_text("<Envelope/>")
    with tarfile.open(ova, "w", format=tarfile.USTAR_FORMAT) as tar:
        tar.add(ovf, arcname="appliance.ovf")
        tar.add(made.path, arcname="disk1.vmdk")
    with tarfile.open(ova) as tar:
        member = tar.getmember("disk1.vmdk")
    expected = qemu_raw(made.path, tmp_path / "ova-qemu.raw").read_bytes()
    archive = PositionalFile(ova)
    try:
        window = FileWindow(archive, member.offset_data, member.size, member.name)
        opened = open_vmdk_stream(window)
        assert opened.format is ImageFormat.VMDK_STREAM_OPTIMIZED
        assert opened.other_files == []
        out = bytearray(opened.layout.virtual_size)
        opened.layout.read(0, memoryview(out))
        assert out == expected
    finally:
        archive.close()


def test_stream_entry_point_refuses_a_descriptor_naming_other_files(corpus: VmdkCorpus) -> None:
    made = corpus.esxi_flat(4 * MIB, "start")
    file = PositionalFile(made.path)
    try:
        with pytest.raises(UnsupportedImageError, match="descriptor"):
            open_vmdk_stream(file)
    finally:
        file.close()


def test_descriptor_with_zero_flat_and_sparse_extents(corpus: VmdkCorpus, tmp_path: Path) -> None:
    flat_size, zero_size = 3 * MIB, 2 * MIB + 4 * SECTOR
    write_raw(tmp_path / "part-flat.vmdk", flat_size + 8 * SECTOR,
              [(8 * SECTOR, pattern(1, flat_size))])  # data 8 sectors into the file
    sparse = corpus.convert("twoGbMaxExtentSparse", 6 * MIB, "scattered")
    sparse_extent = next(p for p in sparse.files if p.name.endswith("-s001.vmdk"))
    descriptor = tmp_path / "custom.vmdk"
    descriptor.write_text(
        "# Disk DescriptorFile\nversion=1\nCID=0badcafe\nparentCID=ffffffff\n"
        'createType="custom"\n\n'
        f'RW {flat_size // SECTOR} FLAT "part-flat.vmdk" 8\n'
        f"RW {zero_size // SECTOR} ZERO\n"
        f'RDONLY {6 * MIB // SECTOR} SPARSE "{sparse_extent.name}"\n')
    expected = pattern(1, flat_size) + bytes(zero_size) + sparse.source.read_bytes()
    with open_disk(descriptor) as img:
        assert img.virtual_size == len(expected)
        assert_matches_reference(img, expected)
        assert_ranges_cover(img, expected)
        assert img.format is ImageFormat.VMDK_SPLIT_SPARSE


def test_renamed_files_are_read_by_content(corpus: VmdkCorpus, tmp_path: Path) -> None:
    sparse = corpus.convert("monolithicSparse", ODD_SIZE, "scattered")
    renamed = sparse.path.rename(tmp_path / "disk.img")
    split = corpus.convert("twoGbMaxExtentSparse", ODD_SIZE, "end")
    descriptor = split.path.rename(tmp_path / "split-descriptor.img")
    for path, made in ((renamed, sparse), (descriptor, split)):
        expected = made.source.read_bytes()
        with open_disk(path) as img:
            assert_matches_reference(img, expected)


def test_extents_are_found_relative_to_the_descriptor_folder(corpus: VmdkCorpus,
                                                             tmp_path: Path) -> None:
    made = corpus.esxi_flat(4 * MIB, "start")
    elsewhere = tmp_path / "copied"
    elsewhere.mkdir()
    text = made.path.read_bytes()
    (elsewhere / "disk.vmdk").write_bytes(text)
    with open_disk(elsewhere / "disk.vmdk", descriptor_dir=tmp_path) as img:
        assert_matches_reference(img, made.source.read_bytes())
    with pytest.raises(ExtentNotFoundError) as caught:
        open_disk(elsewhere / "disk.vmdk")
    assert made.files[1].name in str(caught.value)


def test_single_part_of_a_split_disk_is_flagged(corpus: VmdkCorpus) -> None:
    made = corpus.convert("twoGbMaxExtentSparse", ODD_SIZE, "start")
    part = next(p for p in made.files if p.name.endswith("-s001.vmdk"))
    with open_disk(part) as img:
        assert any(f.code == "vmdk-no-descriptor" for f in img.findings)


# ---- refused by name -----------------------------------------------------------------------

@pytest.mark.parametrize("subformat", ["twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
                                       "monolithicFlat"])
def test_missing_extent_is_refused_by_name(corpus: VmdkCorpus, subformat: str) -> None:
    made = corpus.convert(subformat, BIG_SIZE if subformat != "monolithicFlat" else ODD_SIZE)
    extents = [p for p in made.files if p != made.path]
    missing = extents[len(extents) // 2]  # the only one, or one in the middle
    missing.unlink()
    with pytest.raises(ExtentNotFoundError) as caught:
        open_disk(made.path)
    assert f"'{missing.name}'" in caught.value.message
    assert str(missing) in caught.value.message
    assert caught.value.extent == missing.name


def test_snapshot_disk_reads_through_its_parent(corpus: VmdkCorpus, tmp_path: Path) -> None:
    parent = corpus.convert("monolithicSparse", ODD_SIZE, layout_writes("scattered", ODD_SIZE))
    changes = [(0, b"\x11" * 1024), (5 * MIB + 100 * SECTOR, pattern(3, 70_000)),
               (ODD_SIZE - SECTOR, b"\x22" * SECTOR)]
    child = corpus.snapshot(parent, changes)
    with open_disk(child.path) as img:
        assert img.format is ImageFormat.VMDK_SPARSE
        assert ("Parent", str(parent.path)) in img.details
        assert any(f.code == "vmdk-snapshot" for f in img.findings)
        assert_same_as_qemu(img, child, tmp_path)
        assert len(img.source_files) == 2
    # The parent's grains are still data ranges of the child.
    with open_disk(child.path) as img, open_disk(parent.path) as base:
        for r in base.data_ranges():
            assert any(c.offset <= r.offset and r.end <= c.end for c in img.data_ranges())


def test_snapshot_without_its_parent_is_refused_by_name(corpus: VmdkCorpus) -> None:
    parent = corpus.convert("monolithicSparse", ODD_SIZE, "start")
    child = corpus.snapshot(parent, [(0, b"\x11" * 1024)])
    parent.path.unlink()
    with pytest.raises(ParentNotFoundError) as caught:
        open_disk(child.path)
    assert parent.path.name in caught.value.message


def test_snapshot_over_a_changed_parent_is_refused(corpus: VmdkCorpus) -> None:
    parent = corpus.convert("monolithicSparse", ODD_SIZE, "start")
    child = corpus.snapshot(parent, [(0, b"\x11" * 1024)])
    data = bytearray(parent.path.read_bytes())
    at = data.index(b"\nCID=") + 5
    end = data.index(b"\n", at)  # qemu writes the CID without leading zeros: 1 to 8 digits
    data[at:end] = b"%0*x" % (end - at, int(data[at:end], 16) ^ 1)
    parent.path.write_bytes(bytes(data))
    with pytest.raises(ParentMismatchError, match="CID"):
        open_disk(child.path)


def _descriptor_file(tmp_path: Path, body: str, *, name: str = "disk.vmdk") -> Path:
    path = tmp_path / name
    path.write_text(f"# Disk DescriptorFile\nversion=1\nCID=12345678\n{body}")
    return path


@pytest.mark.parametrize(("body", "reason"), [
    ('parentCID=ffffffff\ncreateType="vmfsSparse"\nRW 8192 VMFSSPARSE "d-delta.vmdk"\n',
     "snapshot"),
    ('parentCID=ffffffff\ncreateType="seSparse"\nRW 8192 SESPARSE "d-sesparse.vmdk"\n',
     "seSparse"),
    ('parentCID=ffffffff\ncreateType="vmfsRawDeviceMap"\nRW 8192 VMFSRDM "d-rdm.vmdk"\n',
     "raw device mapping"),
    ('parentCID=ffffffff\ncreateType="vmfs"\nRW 8192 VMFS "d-flat.vmdk"\n'
     'encryption.keySafe = "vmware:key/list/(pair/(null/vmware:key/ovfID"\n'
     'encryption.data = "AAAA"\n', "encrypted"),
])
def test_unsupported_kinds_are_refused_with_the_reason(tmp_path: Path, body: str,
                                                       reason: str) -> None:
    write_raw(tmp_path / "d-flat.vmdk", 8192 * SECTOR, ())
    with pytest.raises(UnsupportedImageError, match=reason):
        open_disk(_descriptor_file(tmp_path, body))


def test_cowd_extent_is_refused(tmp_path: Path) -> None:
    cowd = tmp_path / "esx-delta.vmdk"
    cowd.write_bytes(b"COWD" + bytes(2044))
    with pytest.raises(UnsupportedImageError, match="snapshot"):
        open_disk(cowd)


# ---- damaged input -------------------------------------------------------------------------

def patched(source: Path, target: Path, offset: int, data: bytes) -> Path:
    shutil.copyfile(source, target)
    with open(target, "r+b") as f:
        f.seek(offset)
        f.write(data)
    return target


def header_field(path: Path, fmt: str, offset: int) -> int:
    with open(path, "rb") as f:
        f.seek(offset)
        value: int = struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
    return value


def test_damaged_sparse_headers_are_refused_with_documented_errors(corpus: VmdkCorpus,
                                                                   tmp_path: Path) -> None:
    made = corpus.convert("monolithicSparse", ODD_SIZE, "scattered")
    src = made.path
    with pytest.raises(InvalidBlockSizeError):
        open_disk(patched(src, tmp_path / "grain.vmdk", 20, struct.pack("<Q", 100)))
    with pytest.raises(InvalidBlockSizeError):
        open_disk(patched(src, tmp_path / "grain0.vmdk", 20, struct.pack("<Q", 0)))
    with pytest.raises(TruncatedImageError, match="grain directory"):
        open_disk(patched(src, tmp_path / "gd.vmdk", 56, struct.pack("<Q", 1 << 40)))
    with pytest.raises(CorruptHeaderError, match="text mode"):
        open_disk(patched(src, tmp_path / "ftp.vmdk", 73, b"\n \n\n"))
    with pytest.raises(UnsupportedImageError, match="version"):
        open_disk(patched(src, tmp_path / "version.vmdk", 4, struct.pack("<I", 9)))
    with pytest.raises(VmdkDescriptorError, match="sectors"):
        open_disk(patched(src, tmp_path / "capacity.vmdk", 12,
                          struct.pack("<Q", ODD_SIZE // SECTOR + 128)))


def test_grain_table_past_the_end_is_a_documented_error(corpus: VmdkCorpus,
                                                        tmp_path: Path) -> None:
    made = corpus.convert("monolithicSparse", ODD_SIZE, "start")
    gd = header_field(made.path, "<Q", 56) * SECTOR
    img = open_disk(patched(made.path, tmp_path / "gt.vmdk", gd, struct.pack("<I", 1 << 30)))
    with img, pytest.raises(CorruptBlockTableError, match="grain table 0"):
        img.read(0, 4096)
    gt = header_field(made.path, "<I", gd) * SECTOR
    img = open_disk(patched(made.path, tmp_path / "gte.vmdk", gt, struct.pack("<I", 1 << 30)))
    with img, pytest.raises(CorruptBlockTableError, match="grain 0"):
        img.read(0, 4096)


def test_damaged_streams_are_documented_errors(corpus: VmdkCorpus, tmp_path: Path) -> None:
    made = corpus.vmware_stream(4 * MIB, "start", directory=False)
    data = made.path.read_bytes()
    first_marker = 128 * SECTOR
    # A compressed size past the end of the file.
    with pytest.raises(CorruptGrainError):
        open_disk(patched(made.path, tmp_path / "size.vmdk", first_marker + 8,
                          struct.pack("<I", 1 << 30)))
    # A marker that is neither a grain nor a known kind of metadata.
    with pytest.raises(CorruptGrainError, match="garbled"):
        open_disk(patched(made.path, tmp_path / "kind.vmdk", first_marker,
                          struct.pack("<QII", 1, 0, 77)))
    # Cut before the end-of-stream marker.
    cut = tmp_path / "cut.vmdk"
    cut.write_bytes(data[: len(data) - 3 * SECTOR])
    with pytest.raises(TruncatedImageError, match="end-of-stream"):
        open_disk(cut)
    # Deflated bytes that do not inflate: found when the grain is read.
    with open_disk(patched(made.path, tmp_path / "inflate.vmdk", first_marker + 12,
                           b"\xff" * 64)) as img, pytest.raises(CorruptGrainError):
        img.read(0, 4096)
    qemu_stream = corpus.convert("streamOptimized", 4 * MIB, "start")
    gd = header_field(qemu_stream.path, "<Q", 56) * SECTOR
    gt = header_field(qemu_stream.path, "<I", gd) * SECTOR
    grain = header_field(qemu_stream.path, "<I", gt) * SECTOR
    # A grain table entry pointing at a marker for another place on the disk.
    with open_disk(patched(qemu_stream.path, tmp_path / "lba.vmdk", grain,
                           struct.pack("<Q", 128))) as img, \
            pytest.raises(CorruptGrainError, match="marker"):
        img.read(0, 4096)


@pytest.mark.parametrize(("body", "match"), [
    ('parentCID=ffffffff\ncreateType="vmfs"\nRW 8192 VMFS\n', "line 6"),
    ('parentCID=ffffffff\ncreateType="vmfs"\nRW lots VMFS "d-flat.vmdk"\n', "extent line"),
    ("parentCID=ffffffff\nRW 8192 VMFS \"d-flat.vmdk\"\n", "createType"),
    ('parentCID=ffffffff\ncreateType="vmfs"\n', "no extents"),
    ('parentCID=zz\ncreateType="vmfs"\nRW 8192 VMFS "d-flat.vmdk"\n', "hexadecimal"),
])
def test_malformed_descriptors_are_refused(tmp_path: Path, body: str, match: str) -> None:
    write_raw(tmp_path / "d-flat.vmdk", 8192 * SECTOR, ())
    with pytest.raises(VmdkDescriptorError, match=match):
        open_disk(_descriptor_file(tmp_path, body))


def test_descriptor_extents_must_match_their_files(corpus: VmdkCorpus, tmp_path: Path) -> None:
    made = corpus.convert("twoGbMaxExtentSparse", 6 * MIB, "start")
    text = made.path.read_bytes().split(b"\0", 1)[0].replace(b"RW 12288 SPARSE",
                                                             b"RW 12800 SPARSE")
    made.path.write_bytes(text)
    with pytest.raises(VmdkDescriptorError, match="12,288 sectors"):
        open_disk(made.path)
    write_raw(tmp_path / "short-flat.vmdk", 100 * SECTOR, ())
    short = _descriptor_file(tmp_path, 'parentCID=ffffffff\ncreateType="vmfs"\n'
                                       'RW 8192 VMFS "short-flat.vmdk"\n', name="short.vmdk")
    with pytest.raises(TruncatedImageError):
        open_disk(short)


def test_oversized_or_binary_file_is_not_taken_for_a_descriptor(tmp_path: Path) -> None:
    big = write_raw(tmp_path / "big.vmdk", 8 * MIB, [(0, b"# Disk DescriptorFile\n")])
    with pytest.raises(VmdkDescriptorError, match="small enough"):
        open_disk(big)
    binary = tmp_path / "binary.vmdk"
    binary.write_bytes(b"# Disk DescriptorFile\n\0\1\2" + bytes(600))
    with pytest.raises(VmdkDescriptorError, match="neither"):
        open_disk(binary)


# ---- concurrency and a second opinion ----------------------------------------------------------

def read_randomly(img: DiskImage, expected: bytes, seed: int, problems: list[str]) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        offset = rng.randrange(0, len(expected))
        length = rng.choice([SECTOR, 4096, GRAIN + 17, 300_000])
        got = img.read(offset, length)
        want = expected[offset : offset + length]
        if got[: len(want)] != want:
            problems.append(f"seed {seed} offset {offset} length {length}")


def test_concurrent_reads_agree_with_the_reference(corpus: VmdkCorpus, tmp_path: Path) -> None:
    for made in (corpus.convert("monolithicSparse", ODD_SIZE, "scattered"),
                 corpus.vmware_stream(ODD_SIZE, "scattered")):
        expected = qemu_raw(made.path, tmp_path / f"{made.path.stem}.raw").read_bytes()
        problems: list[str] = []
        with open_disk(made.path) as img:
            threads = [threading.Thread(target=read_randomly, args=(img, expected, seed, problems))
                       for seed in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        assert problems == []


@pytest.mark.parametrize("kind", ["monolithicSparse", "streamOptimized",
                                  "twoGbMaxExtentSparse", "vmware-stream", "esxi"])
def test_libvmdk_reads_the_same_disk(corpus: VmdkCorpus, kind: str) -> None:
    writes = layout_writes("scattered", ODD_SIZE) + layout_writes("start", ODD_SIZE)
    if kind == "vmware-stream":
        made = corpus.vmware_stream(ODD_SIZE, writes)
    elif kind == "esxi":
        made = corpus.esxi_flat(ODD_SIZE, writes)
    else:
        made = corpus.convert(kind, ODD_SIZE, writes)
    handle = pyvmdk.handle()
    handle.open(str(made.path))
    try:
        handle.open_extent_data_files()
        theirs = handle.read_buffer_at_offset(handle.get_media_size(), 0)
    finally:
        handle.close()
    with open_disk(made.path) as img:
        ours = img.read(0, img.virtual_size)
    assert len(theirs) == len(ours) == ODD_SIZE
    assert ours == theirs


# ---- fuzzing -------------------------------------------------------------------------------

class BytesFile:
    """A SourceFile over bytes that fails the test on any read outside them (a reader typed on
    the protocol, as for an OVA member, reads it)."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.size = len(data)
        self._data = data

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or length < 0 or offset + length > self.size:
            raise AssertionError(f"read outside the file: [{offset}, {offset + length})")

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise AssertionError(f"read at {offset} of {length} bytes")
        return self._data[offset : offset + length]

    def readinto(self, offset: int, view: memoryview) -> None:
        self._check(offset, len(view))
        view[:] = self._data[offset : offset + len(view)]

    def readv_into(self, offset: int, views: list[memoryview]) -> None:
        for view in views:
            self.readinto(offset, view)
            offset += len(view)

    def data_extents(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        end = min(end, self.size)
        if start < end:
            yield start, end


FUZZ_MEMORY_LIMIT = 24 * MIB


@pytest.fixture(scope="module")
def fuzz_bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    corpus = VmdkCorpus(tmp_path_factory.mktemp("vmdk-fuzz"))
    size = 3 * MIB + 5 * SECTOR
    return {
        "sparse": corpus.convert("monolithicSparse", size, "scattered").path.read_bytes(),
        "qemu-stream": corpus.convert("streamOptimized", size, "scattered").path.read_bytes(),
        "vmware-stream": corpus.vmware_stream(size, "scattered").path.read_bytes(),
        "marker-stream": corpus.vmware_stream(size, "start",
                                              directory=False).path.read_bytes(),
    }


def hot_spots(kind: str, size: int) -> list[tuple[int, int]]:
    """Where damage matters: the header, descriptor and tables, the markers, the footer."""
    return [(0, 80), (512, 1024), (10 * 1024, 20 * 1024), (64 * 1024, 4096),
            (max(0, size - 2048), 2048), (0, size)]


edit = st.tuples(st.integers(0, 5), st.floats(0, 1, allow_nan=False),
                 st.binary(min_size=1, max_size=8))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["sparse", "qemu-stream", "vmware-stream", "marker-stream"]),
       edits=st.lists(edit, max_size=5),
       cut=st.one_of(st.none(), st.floats(0, 1, allow_nan=False)))
def test_fuzzed_vmdk_gives_only_documented_errors(fuzz_bases: dict[str, bytes], kind: str,
                                                  edits: list[tuple[int, float, bytes]],
                                                  cut: float | None) -> None:
    data = bytearray(fuzz_bases[kind])
    spots = hot_spots(kind, len(data))
    for spot, where, patch in edits:
        start, length = spots[spot]
        at = max(0, min(len(data) - len(patch), start + int(where * length)))
        data[at : at + len(patch)] = patch
    if cut is not None:
        del data[int(cut * len(data)) :]
    file: SourceFile = BytesFile(Path(f"/nonexistent/fuzz-{kind}.vmdk"), bytes(data))
    tracemalloc.start()
    try:
        opened = open_vmdk_stream(file)
        layout = opened.layout
        size = layout.virtual_size
        buf = bytearray(256 * 1024)
        for offset in (0, size // 2, max(0, size - len(buf))):
            n = min(len(buf), size - offset)
            layout.read(offset, memoryview(buf)[:n])
        for count, _range in enumerate(layout.allocated()):
            if count > 10_000:
                break
    except DiskImageError:
        pass
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < FUZZ_MEMORY_LIMIT


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.one_of(
    st.sampled_from(['createType="monolithicFlat"', "parentCID=ffffffff", "CID=1234abcd",
                     'RW 8 FLAT "x-flat.vmdk" 0', "RW 8 ZERO", 'RDONLY 16 SPARSE "x-s001.vmdk"',
                     'parentFileNameHint="p.vmdk"', "parentCID=0000000a", "# comment",
                     'encryption.keySafe = "k"']),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60)), max_size=12))
def test_fuzzed_descriptor_text_gives_only_documented_errors(lines: list[str]) -> None:
    text = "# Disk DescriptorFile\n" + "\n".join(lines) + "\n"
    file = BytesFile(Path("/nonexistent-vmdk-folder/fuzz.vmdk"), text.encode("utf-8"))
    try:
        opened = open_vmdk(file)
    except DiskImageError:
        return
    # Only ZERO extents can open with no file at all: the disk is zeros.
    size = opened.layout.virtual_size
    assert list(opened.layout.allocated()) == []
    buf = bytearray(min(size, 4096))
    opened.layout.read(0, memoryview(buf))
    assert buf.count(0) == len(buf)


def test_huge_claimed_disk_costs_no_memory(tmp_path: Path, corpus: VmdkCorpus) -> None:
    """A header claiming a 16 TiB disk (whose directory is in the file) is read lazily."""
    made = corpus.convert("monolithicSparse", 4 * MIB, "start")
    data = bytearray(made.path.read_bytes())
    capacity = (16 << 40) // SECTOR
    struct.pack_into("<Q", data, 12, capacity)
    # The directory must hold one entry per 32 MiB: give it a place at the end of the file.
    entries = capacity // (GRAIN // SECTOR) // 512
    gd_at = len(data)
    old_gd = struct.unpack_from("<Q", data, 56)[0] * SECTOR
    data += data[old_gd : old_gd + 4] + bytes(4 * entries - 4)  # the first table is kept
    struct.pack_into("<Q", data, 56, gd_at // SECTOR)
    desc_at, desc_sectors = struct.unpack_from("<QQ", data, 28)
    start, end = desc_at * SECTOR, (desc_at + desc_sectors) * SECTOR
    text = bytes(data[start:end]).split(b"\0", 1)[0].replace(b"RW 8192 SPARSE",
                                                               b"RW %d SPARSE" % capacity)
    data[start:end] = text + bytes(end - start - len(text))
    huge = tmp_path / "huge.vmdk"
    huge.write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with open_disk(huge) as img:
            assert img.virtual_size == 16 << 40
            assert img.read(img.virtual_size - 4096, 4096) == bytes(4096)
            assert img.read(1 << 43, 4096) == bytes(4096)
            assert img.read(0, 4096) == made.source.read_bytes()[:4096]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB

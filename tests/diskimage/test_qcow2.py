"""The qcow2 reader against qemu: every stream equals ``qemu-img convert -O raw`` of the image.

Images are made by ``qemu-img`` (create, convert, snapshot, rebase) and written by ``qemu-io``;
the data ranges are checked against qemu's own ``qemu-img map``.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import struct
import subprocess
import threading
import tracemalloc
from collections.abc import Iterator
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
    EncryptedImageError,
    ImageFormat,
    InvalidBlockSizeError,
    Level,
    ParentChainError,
    ParentNotFoundError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.pio import PositionalFile
from gui.diskimage.qcow2 import open_qcow2
from gui.diskimage.qcow2_header import CorruptCompressedClusterError, is_qcow2
from tests.diskimage import patching
from tests.diskimage.helpers import assert_footer_valid, assert_matches_reference, read_stream
from tests.fixtures.disk_images import MIB, SECTOR, DiskImageFactory
from tests.fixtures.qcow2_images import (
    KIB,
    ODD_SIZE,
    compressible_source,
    convert_to_qcow2,
    create,
    pattern_writes,
    qemu_data_ranges,
    qemu_io,
    random_file,
    reference_raw,
)


def open_disk(path: Path) -> DiskImage:
    """The qcow2 reader's layout as the full fixed-VHD view, built as ``open_image`` builds it."""
    file = PositionalFile(path)
    opened = None
    try:
        opened = open_qcow2(file)
        return DiskImage(path, file, opened)
    except BaseException:
        for other in opened.other_files if opened else ():
            other.close()
        file.close()
        raise


@contextlib.contextmanager
def opened(path: Path) -> Iterator[DiskImage]:
    img = open_disk(path)
    try:
        yield img
    finally:
        img.close()


def assert_covers_data(img: DiskImage, expected: bytes) -> None:
    """Every non-zero byte of the disk lies inside ``data_ranges()``."""
    left = bytearray(expected)
    for r in img.data_ranges():
        left[r.offset : r.end] = bytes(min(r.end, len(left)) - r.offset)
    assert left.count(0) == len(left), f"data outside the ranges at {left.find(1)}"


def own_ranges(img: DiskImage) -> list[tuple[int, int]]:
    return [(r.offset, r.end) for r in img.data_ranges()]


def check_against_qemu(img: DiskImage, path: Path, work: Path, *, exact_map: bool = True) -> None:
    expected = reference_raw(path, work / f"{path.stem}-reference.raw")
    assert img.virtual_size == len(expected)
    assert_matches_reference(img, expected)
    assert_covers_data(img, expected)
    if exact_map:  # without a backing file, exactly where qemu says data is
        assert own_ranges(img) == qemu_data_ranges(path)


# ---- the corpus ------------------------------------------------------------------------------

CORPUS = {
    "v2-64k": ["compat=0.10"],
    "v2-512": ["compat=0.10", "cluster_size=512"],
    "v3-64k": ["compat=1.1"],
    "v3-512": ["compat=1.1", "cluster_size=512"],
    "v3-2m": ["compat=1.1", "cluster_size=2M"],
    "extended-l2-64k": ["compat=1.1", "extended_l2=on"],
    "extended-l2-2m": ["compat=1.1", "extended_l2=on", "cluster_size=2M"],
    "extended-l2-32k-lazy": ["compat=1.1", "extended_l2=on", "cluster_size=32K",
                             "lazy_refcounts=on"],
}


def zero_writes(size: int) -> list[str]:
    """Zero clusters and subclusters over data (kept allocated, and unmapped) and discards."""
    return [
        f"write -z {256 * KIB} {128 * KIB}",
        f"write -z -u {2 * MIB} {192 * KIB}",
        f"write -z {size - MIB} {4 * KIB}",
        f"write -z {MIB + 4 * KIB} {2 * KIB}",
        f"discard {1536 * KIB} {64 * KIB}",
    ]


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_corpus_reads_as_qemu_reads(disk_images: DiskImageFactory, case: str) -> None:
    work = disk_images.directory
    path = create(work / f"{case}.qcow2", ODD_SIZE, options=CORPUS[case])
    qemu_io(path, pattern_writes(ODD_SIZE, random_file(work), seed=len(case)))
    qemu_io(path, zero_writes(ODD_SIZE))
    with opened(path) as img:
        assert img.format is ImageFormat.QCOW2
        assert img.acceptable, img.findings
        assert img.fixed_size == 38 * MIB
        check_against_qemu(img, path, work)
        assert img.allocated_bytes < img.virtual_size


def test_converted_image_with_random_data(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("raw", ODD_SIZE, "scattered")
    path = convert_to_qcow2(made.path, disk_images.directory / "converted.qcow2",
                            options=["cluster_size=4K"])
    with opened(path) as img:
        check_against_qemu(img, path, disk_images.directory)
        assert_footer_valid(img, disk_images.directory)


@pytest.mark.parametrize(("compression", "options"), [
    ("zlib", ["compression_type=zlib"]),
    ("zstd", ["compression_type=zstd"]),
    ("zstd", ["compression_type=zstd", "extended_l2=on"]),
    ("zlib", ["compat=0.10", "cluster_size=4K"]),
])
def test_compressed_clusters(disk_images: DiskImageFactory, compression: str,
                             options: list[str]) -> None:
    work = disk_images.directory
    source = compressible_source(disk_images, ODD_SIZE)
    path = convert_to_qcow2(source, work / f"{compression}.qcow2", compress=True,
                            options=options)
    assert path.stat().st_size < 2 * MIB  # 4.4 MiB of data: most clusters are compressed
    with opened(path) as img:
        details = dict(img.details)
        assert details["Compression"].startswith("zstd" if compression == "zstd" else "deflate")
        check_against_qemu(img, path, work)
        # Reads that split clusters, from many threads at once.
        expected = reference_raw(path, work / "again.raw")
        assert_random_reads(img, expected, threads=6)


def test_compressed_writes_beside_plain_ones(disk_images: DiskImageFactory) -> None:
    """qemu-io's compressed writes land between plain clusters, and a cluster compressed once
    and then partly overwritten is no longer compressed."""
    work = disk_images.directory
    path = create(work / "mixed.qcow2", ODD_SIZE, options=["compression_type=zstd"])
    qemu_io(path, [f"write -c -P 0x41 {k * 64 * KIB} {64 * KIB}" for k in range(0, 40, 3)]
            + [f"write -P 0x42 {3 * 64 * KIB + 512} 512", f"write -c -P 0x43 {20 * MIB} {MIB}"])
    with opened(path) as img:
        check_against_qemu(img, path, work)


def assert_random_reads(img: DiskImage, expected: bytes, *, threads: int) -> None:
    problems: list[str] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        buf = bytearray(300 * KIB)
        for _ in range(40):
            offset = rng.randrange(0, len(expected))
            length = rng.randrange(1, len(buf))
            n = img.readinto(offset, memoryview(buf)[:length])
            want = expected[offset : offset + n]
            if bytes(buf[: len(want)]) != want:
                problems.append(f"read of {length} at {offset} differs")

    workers = [threading.Thread(target=worker, args=(s,)) for s in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert problems == []


def test_reads_from_many_threads(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    path = create(work / "threads.qcow2", ODD_SIZE, options=["cluster_size=512"])
    qemu_io(path, pattern_writes(ODD_SIZE, random_file(work), scattered=30))
    expected = reference_raw(path, work / "threads.raw")
    with opened(path) as img:
        assert_random_reads(img, expected, threads=8)


# ---- backing files -----------------------------------------------------------------------------

def test_backing_chain_of_three(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    source = random_file(work)
    base = create(work / "base.qcow2", ODD_SIZE)
    qemu_io(base, pattern_writes(ODD_SIZE, source, seed=1, scattered=20))
    mid = create(work / "mid.qcow2", ODD_SIZE, backing="base.qcow2", backing_format="qcow2",
                 options=["cluster_size=4K"])
    qemu_io(mid, pattern_writes(ODD_SIZE, source, seed=2))
    # Subclusters over a backing file: unallocated ones read from below.
    top = create(work / "top.qcow2", ODD_SIZE + 5 * MIB, backing="mid.qcow2",
                 backing_format="qcow2", options=["extended_l2=on"])
    qemu_io(top, [f"write -P 0x77 {5 * SECTOR} {3 * KIB}", f"write -s {source} {7 * MIB} 9000",
                  *zero_writes(ODD_SIZE)])
    with opened(top) as img:
        assert img.source_files == (top, base.parent / "mid.qcow2", base)
        details = dict(img.details)
        assert "mid.qcow2" in details["Backing file"]
        assert any(f.code == "qcow2-backing-size" for f in img.findings)
        check_against_qemu(img, top, work, exact_map=False)
        # Everything qemu finds anywhere in the chain is inside the ranges.
        ours = own_ranges(img)
        for start, end in qemu_data_ranges(top):
            assert any(a <= start and end <= b for a, b in ours), (start, end)


def test_raw_and_vhd_backing_files(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    raw = disk_images.make("raw", ODD_SIZE, "scattered", name="base.raw").path
    over_raw = create(work / "over-raw.qcow2", ODD_SIZE, backing="base.raw", backing_format="raw")
    qemu_io(over_raw, [*zero_writes(ODD_SIZE), f"write -P 0x99 {MIB} {100 * KIB}"])
    vhd = disk_images.make("vpc", 20 * MIB, "end", subformat="dynamic", name="base.vhd").path
    over_vhd = create(work / "over-vhd.qcow2", 20 * MIB, backing=str(vhd), backing_format="vpc")
    qemu_io(over_vhd, [f"write -P 0x98 {19 * MIB} {100 * KIB}"])
    for image, base in ((over_raw, raw), (over_vhd, vhd)):
        with opened(image) as img:
            assert img.source_files == (image, base)
            check_against_qemu(img, image, work, exact_map=False)


def test_relative_backing_name_is_taken_from_the_image_folder(
        disk_images: DiskImageFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bases = disk_images.directory / "bases"
    images = disk_images.directory / "images"
    bases.mkdir()
    images.mkdir()
    base = create(bases / "base.qcow2", 8 * MIB)
    qemu_io(base, ["write -P 0x61 0 1M"])
    top = create(images / "top.qcow2", 8 * MIB, backing="../bases/base.qcow2",
                 backing_format="qcow2", cwd=images)
    monkeypatch.chdir(tmp_path)  # the process's folder must not matter
    with opened(top) as img:
        assert img.read(0, 4) == b"\x61" * 4
        check_against_qemu(img, top, disk_images.directory, exact_map=False)


def test_missing_backing_file_is_refused_by_name(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    base = create(work / "gone-base.qcow2", 4 * MIB)
    top = create(work / "top.qcow2", 4 * MIB, backing="gone-base.qcow2", backing_format="qcow2")
    base.unlink()
    with pytest.raises(ParentNotFoundError) as caught:
        open_disk(top)
    assert "'gone-base.qcow2'" in caught.value.message
    assert str(base) in caught.value.message
    assert "qemu-img convert" in caught.value.message


def test_backing_loop_is_refused(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    a = create(work / "a.qcow2", 4 * MIB)
    b = create(work / "b.qcow2", 4 * MIB, backing="a.qcow2", backing_format="qcow2")
    subprocess.run(["qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2",
                    str(a)], check=True)
    with pytest.raises(ParentChainError, match="own backing file"):
        open_disk(b)
    same = create(work / "self.qcow2", 4 * MIB)
    subprocess.run(["qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "self.qcow2", "-F",
                    "qcow2", str(same)], check=True)
    with pytest.raises(ParentChainError):
        open_disk(same)


def test_backing_file_without_a_format_is_probed(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    base = create(work / "probed-base.qcow2", 4 * MIB)
    qemu_io(base, ["write -P 0x62 0 64k"])
    top = create(work / "probed-top.qcow2", 4 * MIB, backing="probed-base.qcow2",
                 backing_format="qcow2")
    # Turn the backing format extension into an unknown one (qemu-img no longer writes images
    # without it): qemu then probes the file's content, and so must we.
    first = patching.read(top, 0, 4096)
    at = first.find(struct.pack(">I", 0xE2792ACA))
    assert at >= 104
    patching.patch(top, at, struct.pack(">I", 0x12345678))
    with opened(top) as img:
        assert img.read(0, 2) == b"\x62\x62"


# ---- snapshots, refusals, header bits ----------------------------------------------------------

def test_internal_snapshots_read_the_active_state(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    path = create(work / "snap.qcow2", ODD_SIZE)
    qemu_io(path, pattern_writes(ODD_SIZE, random_file(work)))
    subprocess.run(["qemu-img", "snapshot", "-c", "before-update", str(path)], check=True)
    qemu_io(path, [f"write -P 0xee 0 {2 * MIB}", f"write -z {ODD_SIZE - MIB} {MIB}"])
    subprocess.run(["qemu-img", "snapshot", "-c", "after-update", str(path)], check=True)
    with opened(path) as img:
        snaps = [f for f in img.findings if f.code == "qcow2-snapshots"]
        assert len(snaps) == 1 and snaps[0].level is Level.WARNING
        assert "'before-update'" in snaps[0].message and "'after-update'" in snaps[0].message
        assert "not the snapshots" in snaps[0].message
        assert img.read(0, 4) == b"\xee" * 4
        check_against_qemu(img, path, work, exact_map=False)


def test_encrypted_image_is_refused(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    secret = work / "secret.txt"
    secret.write_text("not-a-real-passphrase")
    path = work / "encrypted.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "--object",
                    f"secret,id=sec0,file={secret}", "-o",
                    # iter-time: a 10 ms key derivation instead of qemu's 2 s; the header is alike
                    "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=10", str(path),
                    "4M"], check=True)
    with pytest.raises(EncryptedImageError) as caught:
        open_disk(path)
    assert "LUKS" in caught.value.message and "encrypted" in caught.value.message


def test_external_data_file_is_refused(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    path = create(work / "meta.qcow2", 4 * MIB, options=["data_file=meta.data"], cwd=work)
    with pytest.raises(UnsupportedImageError) as caught:
        open_disk(path)
    assert "external data file 'meta.data'" in caught.value.message


def header_bits(path: Path, mask: int) -> None:
    incompatible = struct.unpack(">Q", patching.read(path, 72, 8))[0]
    patching.patch(path, 72, struct.pack(">Q", incompatible | mask))


def test_dirty_and_corrupt_bits(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    path = create(work / "bits.qcow2", 4 * MIB)
    qemu_io(path, ["write -P 0x10 0 64k"])
    header_bits(path, 1)
    with opened(path) as img:
        own = [(f.level, f.code) for f in img.findings if f.code.startswith("qcow2")]
        assert own == [(Level.WARNING, "qcow2-dirty")]
        assert img.read(0, 1) == b"\x10"
    header_bits(path, 2)
    with opened(path) as img:
        assert not img.acceptable
        assert "qemu-img check -r all" in next(
            f.message for f in img.findings if f.code == "qcow2-corrupt")
    header_bits(path, 1 << 9)
    with pytest.raises(UnsupportedImageError, match="bit 9"):
        open_disk(path)


def test_legacy_aes_encryption_is_refused(disk_images: DiskImageFactory) -> None:
    path = create(disk_images.directory / "aes.qcow2", 4 * MIB)
    patching.patch(path, 32, struct.pack(">I", 1))
    with pytest.raises(EncryptedImageError, match="AES"):
        open_disk(path)


def test_recognises_its_header() -> None:
    assert is_qcow2(b"QFI\xfb\0\0\0\x03" + bytes(100))
    assert is_qcow2(b"QFI\xfb\0\0\0\x02")
    assert not is_qcow2(b"QFI\xfb\0\0\0\x01")
    assert not is_qcow2(b"conectix")


# ---- damage -----------------------------------------------------------------------------------

@pytest.fixture
def small_image(disk_images: DiskImageFactory) -> Path:
    path = create(disk_images.directory / "small.qcow2", 8 * MIB)
    qemu_io(path, ["write -P 0x21 0 1M", f"write -P 0x22 {7 * MIB} 1M"])
    return path


def l1_offset(path: Path) -> int:
    value: int = struct.unpack(">Q", patching.read(path, 40, 8))[0]
    return value


def test_damaged_headers(small_image: Path) -> None:
    copy = small_image.with_name("damaged.qcow2")
    cases: list[tuple[int, bytes, type[DiskImageError]]] = [
        (20, struct.pack(">I", 8), InvalidBlockSizeError),
        (20, struct.pack(">I", 22), InvalidBlockSizeError),
        (20, struct.pack(">I", 4000), CorruptHeaderError),
        (4, struct.pack(">I", 1), UnsupportedImageError),
        (4, struct.pack(">I", 4), UnsupportedImageError),
        (36, struct.pack(">I", 0), CorruptHeaderError),  # L1 too small for the disk
        (36, struct.pack(">I", 1 << 30), CorruptHeaderError),  # L1 beyond qemu's limit
        (40, struct.pack(">Q", 12345), CorruptHeaderError),  # L1 not on a cluster
        (40, struct.pack(">Q", 1 << 40), TruncatedImageError),  # L1 past the end
        (100, struct.pack(">I", 50), CorruptHeaderError),  # header_length below 104
        (24, struct.pack(">Q", 1 << 60), DiskImageError),  # absurd size
    ]
    for offset, data, error in cases:
        shutil.copyfile(small_image, copy)
        patching.patch(copy, offset, data)
        with pytest.raises(error):
            open_disk(copy)


def test_l2_entries_pointing_nowhere(small_image: Path) -> None:
    copy = small_image.with_name("bad-l2.qcow2")
    shutil.copyfile(small_image, copy)
    l2 = struct.unpack(">Q", patching.read(copy, l1_offset(copy), 8))[0] & 0x00FFFFFFFFFFFE00
    patching.patch(copy, l2, struct.pack(">Q", (1 << 40) | (1 << 63)))  # past the end
    patching.patch(copy, l2 + 8, struct.pack(">Q", 65536 + 512))  # not on a cluster
    with opened(copy) as img:
        with pytest.raises(CorruptBlockTableError, match="past the end"):
            img.read(0, 512)
        with pytest.raises(CorruptBlockTableError, match="cluster boundary"):
            img.read(65536, 512)
    # An L1 entry past the end: an ERROR finding at open, a documented error when read.
    patching.patch(copy, l1_offset(copy), struct.pack(">Q", 1 << 40))
    with opened(copy) as img:
        assert any(f.code == "qcow2-bad-l1-entry" for f in img.findings)
        assert not img.acceptable
        with pytest.raises(CorruptBlockTableError):
            img.read(0, 512)
        # The damaged table's whole range is listed, so an upload reads it and stops there.
        assert own_ranges(img)[0] == (0, min(img.virtual_size, 8192 * 65536))


def test_damaged_compressed_cluster(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    path = create(work / "c.qcow2", 4 * MIB)
    qemu_io(path, ["write -c -P 0x44 0 64k"])
    l2 = struct.unpack(">Q", patching.read(path, l1_offset(path), 8))[0] & 0x00FFFFFFFFFFFE00
    entry = struct.unpack(">Q", patching.read(path, l2, 8))[0]
    data_at = entry & ((1 << 54) - 1)
    patching.patch(path, data_at, b"\xff" * 16)
    with opened(path) as img, pytest.raises(CorruptCompressedClusterError):
        img.read(0, 512)
    patching.patch(path, l2, struct.pack(">Q", (1 << 62) | (path.stat().st_size + 4096)))
    with opened(path) as img, pytest.raises(CorruptBlockTableError, match="compressed"):
        img.read(0, 512)


def test_truncated_file(small_image: Path) -> None:
    size = small_image.stat().st_size
    for cut in (0, 10, 71, 100, 103, size // 2, size - 65536):
        copy = small_image.with_name(f"cut-{cut}.qcow2")
        shutil.copyfile(small_image, copy)
        with open(copy, "r+b") as f:
            f.truncate(cut)
        with contextlib.suppress(DiskImageError), opened(copy) as img:
            read_stream(img)
            img.data_ranges()


# ---- memory independent of disk size -----------------------------------------------------------

def test_two_tib_disk_opens_in_little_memory(disk_images: DiskImageFactory) -> None:
    work = disk_images.directory
    size = 2 << 40
    path = create(work / "huge.qcow2", size)
    qemu_io(path, [f"write -P 0xa1 0 {MIB}", f"write -P 0xa2 {size - MIB} {MIB}",
                   f"write -P 0xa3 {size // 3 // MIB * MIB} 64k"])
    tracemalloc.start()
    try:
        with opened(path) as img:
            assert img.virtual_size == size
            ranges = own_ranges(img)
            assert ranges == qemu_data_ranges(path)
            assert img.read(size - 4, 4) == b"\xa2" * 4
            assert img.read(size // 3 // MIB * MIB, 2) == b"\xa3\xa3"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB, f"peak {peak:,} bytes"


def test_large_l1_table_is_read_lazily(disk_images: DiskImageFactory) -> None:
    """512-byte clusters: a 96 GiB disk needs a 24 MiB L1 table, never loaded whole."""
    work = disk_images.directory
    size = 96 << 30
    path = create(work / "wide-l1.qcow2", size, options=["cluster_size=512"])
    qemu_io(path, [f"write -P 0xb1 {size - 4 * KIB} 4k", "write -P 0xb2 0 512"])
    tracemalloc.start()
    try:
        with opened(path) as img:
            assert own_ranges(img) == qemu_data_ranges(path)
            assert img.read(size - 1, 1) == b"\xb1"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB, f"peak {peak:,} bytes"


# ---- fuzzing: damaged headers and tables -------------------------------------------------------

FUZZ_MEMORY_LIMIT = 16 * MIB  # a first cluster of 2 MiB, the 4 MiB table cache, read buffers
FUZZ_PIECE = 256 * KIB


class CheckedFile:
    """A ``SourceFile`` over a :class:`PositionalFile` that records every read asking for bytes
    past the end of the file (the reader must clamp or refuse before it asks)."""

    def __init__(self, file: PositionalFile) -> None:
        self._file = file
        self.path = file.path
        self.size = file.size
        self.problems: list[str] = []

    def _check(self, offset: int, length: int) -> None:
        if offset < 0 or offset + length > self.size:
            self.problems.append(f"{length} bytes at {offset} of a {self.size}-byte file")

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return self._file.read(offset, length)

    def readinto(self, offset: int, view: memoryview) -> None:
        self._check(offset, len(view))
        self._file.readinto(offset, view)

    def readv_into(self, offset: int, views: list[memoryview]) -> None:
        self._check(offset, sum(len(v) for v in views))
        self._file.readv_into(offset, views)

    def data_extents(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        return self._file.data_extents(start, end)


@pytest.fixture(scope="module")
def fuzz_bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("qcow2-fuzz")
    factory = DiskImageFactory(work)
    size = 6 * MIB + 3 * SECTOR
    writes = [f"write -P 0x5a 0 {200 * KIB}", f"write -P 0x5b {size - 70 * KIB} {70 * KIB}",
              f"write -P 0x5c {3 * MIB + 1024} 3000", f"write -z {64 * KIB} {6 * KIB}"]
    made: dict[str, Path] = {}
    for name, options in (("v3-512", ["cluster_size=512"]), ("v2-64k", ["compat=0.10"]),
                          ("extended", ["extended_l2=on"]),
                          ("v3-2m", ["cluster_size=2M"])):
        made[name] = create(work / f"{name}.qcow2", size, options=options)
        qemu_io(made[name], writes)
    source = compressible_source(factory, 12 * MIB)
    for kind in ("zlib", "zstd"):
        made[kind] = convert_to_qcow2(source, work / f"{kind}.qcow2", compress=True,
                                      options=[f"compression_type={kind}"])
    base = create(work / "base.qcow2", size)
    qemu_io(base, ["write -P 0x31 0 1M"])
    made["backed"] = create(work / "backed.qcow2", size, backing="base.qcow2",
                            backing_format="qcow2", options=["extended_l2=on"])
    qemu_io(made["backed"], [f"write -P 0x32 {5 * KIB} 3k", f"write -z {40 * KIB} 4k"])
    made["snapshots"] = create(work / "snapshots.qcow2", size)
    qemu_io(made["snapshots"], writes)
    subprocess.run(["qemu-img", "snapshot", "-c", "one", str(made["snapshots"])], check=True)
    return made


def fuzz_spots(path: Path) -> list[tuple[int, int]]:
    """Where damage matters: the header cluster's start, its extensions, the L1 table, the first
    L2 table and (for a snapshot) the snapshot table; and anywhere."""
    head = patching.read(path, 0, 72)
    cluster = 1 << struct.unpack_from(">I", head, 20)[0]
    l1_size, l1_at = struct.unpack_from(">IQ", head, 36)
    snapshots_at = struct.unpack_from(">Q", head, 64)[0]
    size = path.stat().st_size
    spots = [(0, 112), (72, min(cluster, 4096) - 72), (l1_at, max(8, 8 * l1_size)), (0, size)]
    first_l2 = struct.unpack(">Q", patching.read(path, l1_at, 8))[0] & 0x00FFFFFFFFFFFE00
    if first_l2:
        spots.append((first_l2, min(cluster, 64 * KIB)))
    if snapshots_at:
        spots.append((snapshots_at, 512))
    return spots


HEADER_FIELDS = [(4, 4), (8, 8), (16, 4), (20, 4), (24, 8), (32, 4), (36, 4), (40, 8), (60, 4),
                 (64, 8), (72, 8), (100, 4), (104, 1)]
interesting = st.sampled_from([0, 1, 2, 3, 8, 9, 16, 21, 22, 63, 64, 104, 512, 4096, 65536,
                               1 << 21, 1 << 30, 1 << 31, 1 << 40, 1 << 52, (1 << 62) + 7,
                               (1 << 63) | 65536, (1 << 64) - 1])
qcow2_damage = st.fixed_dictionaries({
    "kind": st.sampled_from(["v3-512", "v2-64k", "extended", "v3-2m", "zlib", "zstd", "backed",
                             "snapshots"]),
    "edits": st.lists(st.tuples(st.integers(0, 8), st.floats(0, 1, allow_nan=False),
                                st.binary(min_size=1, max_size=8)), max_size=5),
    "fields": st.lists(st.tuples(st.sampled_from(HEADER_FIELDS), interesting), max_size=2),
    "truncate": st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),
})


def damage_copy(source: Path, spec: dict[str, Any]) -> Path:
    target = source.with_name(f"damaged-{source.name}")
    shutil.copyfile(source, target)
    spots = fuzz_spots(source)
    size = target.stat().st_size
    for spot, where, data in spec["edits"]:
        start, length = spots[spot % len(spots)]
        offset = max(0, min(size - len(data), start + int(where * length)))
        patching.patch(target, offset, data)
    for (offset, width), value in spec["fields"]:
        patching.patch(target, offset, (value % (1 << (8 * width))).to_bytes(width, "big"))
    if spec["truncate"] is not None:
        with open(target, "r+b") as f:
            f.truncate(int(spec["truncate"] * size))
    return target


def exercise(path: Path) -> list[str]:
    """Everything a caller does with an image; only DiskImageError may come out. Returns the
    reads that asked for bytes past the end of the file."""
    file = PositionalFile(path)
    checked = CheckedFile(file)
    img: DiskImage | None = None
    try:
        with contextlib.suppress(DiskImageError):
            opened_layout = open_qcow2(checked)
            img = DiskImage(path, file, opened_layout)
            _ = (img.findings, img.acceptable, img.details, img.footer)
            buf = bytearray(FUZZ_PIECE)
            offsets = [0, max(0, img.upload_size - FUZZ_PIECE - 4096)]
            with contextlib.suppress(DiskImageError):
                offsets += [r.offset for r in img.data_ranges()[:8]]
            for offset in offsets:
                with contextlib.suppress(DiskImageError):
                    assert img.readinto(offset, buf) == min(FUZZ_PIECE, img.upload_size - offset)
    finally:
        if img is not None:
            img.close()
        else:
            file.close()
    return checked.problems


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(spec=qcow2_damage)
def test_damage_only_raises_documented_errors(fuzz_bases: dict[str, Path],
                                              spec: dict[str, Any]) -> None:
    target = damage_copy(fuzz_bases[spec["kind"]], spec)
    tracemalloc.start()
    try:
        problems = exercise(target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == []
    assert peak < FUZZ_MEMORY_LIMIT, f"peak {peak:,} bytes"


@pytest.mark.parametrize("kind", ["v3-512", "extended", "zstd", "backed"])
def test_every_truncation_only_raises_documented_errors(fuzz_bases: dict[str, Path],
                                                        kind: str) -> None:
    source = fuzz_bases[kind]
    size = source.stat().st_size
    for cut in sorted({0, 1, 71, 72, 103, 104, 4096, 65536, size // 3, size // 2, size - 1,
                       *range(0, size, max(1, size // 12))}):
        spec = {"edits": [], "fields": [], "truncate": cut / size}
        assert exercise(damage_copy(source, spec)) == []


def test_size_not_a_whole_sector_is_cut_down_as_qemu_does(disk_images: DiskImageFactory) -> None:
    path = create(disk_images.directory / "odd-size.qcow2", MIB)
    qemu_io(path, [f"write -P 0x11 0 {MIB}"])
    patching.patch(path, 24, struct.pack(">Q", 1_000_001))
    with opened(path) as img:
        assert img.virtual_size == 1_000_001 // SECTOR * SECTOR
        check_against_qemu(img, path, disk_images.directory)

"""Compressed qcow2 clusters and VMDK grains: read as qemu reads them, through both inflate
backends (ISA-L and zlib), from many threads at once, without one read waiting for another.

The reference is always ``qemu-img convert -O raw`` of the same file.
"""

from __future__ import annotations

import queue
import random
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.diskimage import DiskImage
from gui.diskimage import inflate as inflate_module
from gui.diskimage.pio import PositionalFile, SourceFile
from gui.diskimage.qcow2 import open_qcow2
from gui.diskimage.qcow2_header import CorruptCompressedClusterError
from gui.diskimage.vmdk import open_vmdk
from gui.diskimage.vmdk_sparse import CorruptGrainError
from tests.diskimage import patching
from tests.fixtures.disk_images import MIB, SECTOR
from tests.fixtures.qcow2_images import KIB, convert_to_qcow2, create, qemu_io, reference_raw
from tests.fixtures.vmdk_images import VmdkCorpus, qemu_raw

BACKENDS = ["isal", "zlib"]
WINDOW = 4 * MIB  # what the upload engine reads at a time
CLUSTER = 64 * KIB


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    name: str = request.param
    monkeypatch.setattr(inflate_module, "backend", name)
    assert inflate_module.active_backend() == name
    return name


def text_like(length: int, seed: int) -> bytes:
    """Bytes that deflate about 2:1, as a used system disk does."""
    rng = random.Random(seed)
    words = [rng.randbytes(6).hex().encode() for _ in range(500)]
    return b" ".join(rng.choice(words) for _ in range(length // 6))[:length]


def raw_source(path: Path, size: int) -> Path:
    """A raw disk with compressible data at the start, scattered, and at the very end."""
    with open(path, "wb") as f:
        f.truncate(size)
        for k, offset in enumerate([0, 3 * MIB + 7 * SECTOR, 9 * MIB, size - 2 * MIB]):
            f.seek(offset)
            f.write(text_like(min(2 * MIB, size - offset), k))
    return path


def open_with(path: Path, file: SourceFile, kind: str) -> DiskImage:
    opened = open_qcow2(file) if kind == "qcow2" else open_vmdk(file)
    assert isinstance(file, (PositionalFile, BarrierFile))
    real = file if isinstance(file, PositionalFile) else file.inner
    return DiskImage(path, real, opened)


def compressed_image(work: Path, kind: str) -> tuple[Path, bytes]:
    """(image, what qemu reads from it) for a zlib or zstd qcow2 or a streamOptimized VMDK."""
    size = 13 * MIB + 5 * SECTOR
    source = raw_source(work / f"{kind}.raw", size)
    if kind == "vmdk":
        path = work / "stream.vmdk"
        subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o",
                        "subformat=streamOptimized", str(source), str(path)], check=True)
        return path, qemu_raw(path, work / "stream-ref.raw").read_bytes()
    path = convert_to_qcow2(source, work / f"{kind}.qcow2", compress=True,
                            options=[f"compression_type={kind}"])
    return path, reference_raw(path, work / f"{kind}-ref.raw")


@pytest.mark.parametrize("kind", ["zlib", "zstd", "vmdk"])
def test_windows_read_by_many_threads_equal_qemu(tmp_path: Path, backend: str,
                                                 kind: str) -> None:
    """As the upload reads: 4 MiB windows handed to 8 threads, and reads that split clusters."""
    path, expected = compressed_image(tmp_path, kind)
    jobs: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for pos in range(0, len(expected), WINDOW):
        jobs.put((pos, min(WINDOW, len(expected) - pos)))
    rng = random.Random(4)
    for _ in range(60):
        pos = rng.randrange(len(expected))
        jobs.put((pos, min(rng.randrange(1, 300 * KIB), len(expected) - pos)))
    problems: list[str] = []

    def worker(img: DiskImage) -> None:
        buf = bytearray(WINDOW)
        while True:
            try:
                offset, length = jobs.get_nowait()
            except queue.Empty:
                return
            view = memoryview(buf)[:length]
            try:
                img.readinto(offset, view)
            except Exception as exc:  # reported below with the read that raised it
                problems.append(f"{offset}+{length}: {exc!r}")
                continue
            if view != expected[offset : offset + length]:
                problems.append(f"{offset}+{length} differs")

    with open_with(path, PositionalFile(path), "vmdk" if kind == "vmdk" else "qcow2") as img:
        threads = [threading.Thread(target=worker, args=(img,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert problems == []


class BarrierFile:
    """A file whose first read in each thread, once armed, waits until ``parties`` threads are
    reading at the same time: a lock held around a read and its decompression would keep the
    others out and break the barrier."""

    def __init__(self, inner: PositionalFile, parties: int) -> None:
        self.inner = inner
        self.path = inner.path
        self.size = inner.size
        self.armed = False
        self._barrier = threading.Barrier(parties, timeout=20)
        self._waited: set[int] = set()

    def _maybe_wait(self) -> None:
        me = threading.get_ident()
        if self.armed and me not in self._waited:
            self._waited.add(me)
            self._barrier.wait()

    def read(self, offset: int, length: int) -> bytes:
        self._maybe_wait()
        return self.inner.read(offset, length)

    def readinto(self, offset: int, view: memoryview) -> None:
        self._maybe_wait()
        self.inner.readinto(offset, view)

    def readv_into(self, offset: int, views: list[memoryview]) -> None:
        self._maybe_wait()
        self.inner.readv_into(offset, views)

    def data_extents(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        return self.inner.data_extents(start, end)


@pytest.mark.parametrize("kind", ["zlib", "zstd", "vmdk"])
def test_reads_of_compressed_data_run_side_by_side(tmp_path: Path, kind: str) -> None:
    path, expected = compressed_image(tmp_path, kind)
    parties = 3
    file = BarrierFile(PositionalFile(path), parties)
    with open_with(path, file, "vmdk" if kind == "vmdk" else "qcow2") as img:
        img.read(0, len(expected))  # every table read once, so only data reads remain
        file.armed = True
        problems: list[str] = []

        def worker(k: int) -> None:
            offset = k * WINDOW  # each thread its own window, all of them compressed
            try:
                if img.read(offset, WINDOW) != expected[offset : offset + WINDOW]:
                    problems.append(f"window {k} differs")
            except threading.BrokenBarrierError:
                problems.append(f"window {k}: another read held it back")

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(parties)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert problems == []


def first_compressed_cluster(path: Path) -> tuple[int, int]:
    """(file offset, room in bytes) of the data of the qcow2's compressed cluster 1."""
    head = patching.read(path, 0, 72)
    l1_at = struct.unpack_from(">Q", head, 40)[0]
    l2 = struct.unpack(">Q", patching.read(path, l1_at, 8))[0] & 0x00FFFFFFFFFFFE00
    entry = struct.unpack(">Q", patching.read(path, l2 + 8, 8))[0]
    assert entry & (1 << 62), "cluster 1 is not compressed"
    shift = 62 - (16 - 8)
    offset = entry & ((1 << shift) - 1)
    sectors = ((entry >> shift) & 0xFF) + 1
    return offset, (offset // SECTOR + sectors) * SECTOR - offset


def test_cluster_deflated_with_a_32k_window_reads_as_qemu_reads_it(tmp_path: Path,
                                                                    backend: str) -> None:
    """qemu inflates a cluster in one call, so back-references up to 32 KiB inside it are
    fine whatever window the writer used; a reader limited to qemu's own 4 KiB window refused
    such a cluster (a qcow2 written by a tool using zlib's default window)."""
    source = tmp_path / "text.raw"
    source.write_bytes(text_like(4 * CLUSTER, 9))
    path = convert_to_qcow2(source, tmp_path / "far.qcow2", compress=True)
    at, room = first_compressed_cluster(path)
    block = random.Random(2).randbytes(8 * KIB)
    content = block * (CLUSTER // len(block))  # every repeat refers 8 KiB back
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = deflater.compress(content) + deflater.flush()
    assert len(stream) <= room
    patching.patch(path, at, stream)
    expected = reference_raw(path, tmp_path / "far-ref.raw")
    assert expected[CLUSTER : 2 * CLUSTER] == content  # qemu reads it
    with open_with(path, PositionalFile(path), "qcow2") as img:
        assert img.read(0, len(expected)) == expected


def test_damaged_cluster_is_the_documented_error(tmp_path: Path, backend: str) -> None:
    path = create(tmp_path / "c.qcow2", 4 * MIB)
    qemu_io(path, [f"write -c -P 0x44 0 {CLUSTER}", f"write -c -P 0x45 {CLUSTER} {CLUSTER}"])
    head = patching.read(path, 0, 72)
    l2 = struct.unpack(">Q", patching.read(path, struct.unpack_from(">Q", head, 40)[0], 8))[
        0] & 0x00FFFFFFFFFFFE00
    first = struct.unpack(">Q", patching.read(path, l2, 8))[0] & ((1 << 54) - 1)
    patching.patch(path, first, b"\xff" * 16)  # not a deflate stream
    with open_with(path, PositionalFile(path), "qcow2") as img:
        with pytest.raises(CorruptCompressedClusterError):
            img.read(0, SECTOR)
        assert img.read(CLUSTER, SECTOR) == b"\x45" * SECTOR


def test_damaged_grain_is_the_documented_error(tmp_path: Path, backend: str) -> None:
    corpus = VmdkCorpus(tmp_path)
    made = corpus.convert("streamOptimized", 4 * MIB, [(0, text_like(2 * CLUSTER, 1))])
    gd = struct.unpack("<Q", patching.read(made.path, 56, 8))[0] * SECTOR
    gt = struct.unpack("<I", patching.read(made.path, gd, 4))[0] * SECTOR
    grain = struct.unpack("<I", patching.read(made.path, gt, 4))[0] * SECTOR
    patching.patch(made.path, grain + 12, b"\xff" * 16)  # after the grain's marker
    with (open_with(made.path, PositionalFile(made.path), "vmdk") as img,
          pytest.raises(CorruptGrainError, match="inflate")):
        img.read(0, SECTOR)

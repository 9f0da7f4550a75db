"""The portable read paths (what Windows takes), forced on this system: the stream stays the same.

``gui.diskimage.pio.read_method`` and ``use_holes`` choose how files opened afterwards are read;
each test sets them (pytest's monkeypatch restores them) and compares against the default paths.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from gui.diskimage import DiskImage, open_image, pio
from gui.diskimage.pio import PositionalFile, ReadMethod
from tests.diskimage.helpers import read_stream
from tests.fixtures.disk_images import MIB, DiskImageFactory

SIZE = 20 * MIB + 3 * 512


Reference = dict[str, tuple[bytes, list[tuple[int, int]]]]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Path], Reference]:
    """Images of every kind, with their stream digest and ranges read the default way."""
    paths = images(DiskImageFactory(tmp_path_factory.mktemp("portable")))
    return paths, reference(paths)


def images(disk_images: DiskImageFactory) -> dict[str, Path]:
    parent = disk_images.make("vpc", SIZE, "scattered", subformat="dynamic", name="base.vhd")
    return {
        "raw": disk_images.raw(SIZE, [(0, b"\x01" * 4096), (9 * MIB, b"\x02" * 512)]),
        "vhd-fixed": disk_images.make("vpc", SIZE, "end", subformat="fixed").path,
        "vhd-dynamic": disk_images.dynamic_vhd(SIZE, "scattered", block_size=512 * 1024).path,
        "vhd-differencing": disk_images.differencing_vhd(
            parent.path, [(512, b"\x5a" * 1024), (SIZE - 2048, b"\xa5" * 1536)]),
        "vhdx-fixed": disk_images.make("vhdx", 24 * MIB, "scattered", subformat="fixed").path,
        "vhdx-dynamic": disk_images.make("vhdx", SIZE - 1536, "start", subformat="dynamic",
                                         block_size=MIB).path,
    }


def digest(img: DiskImage) -> bytes:
    return hashlib.sha256(read_stream(img)).digest()


def reference(paths: dict[str, Path]) -> Reference:
    out = {}
    for name, path in paths.items():
        with open_image(path) as img:
            out[name] = (digest(img), [(r.offset, r.end) for r in img.data_ranges()])
    return out


def covers(outer: list[tuple[int, int]], inner: list[tuple[int, int]]) -> bool:
    return all(any(a <= s and e <= b for a, b in outer) for s, e in inner)


@pytest.mark.parametrize("method", [ReadMethod.PREAD, ReadMethod.SEEK])
def test_forced_read_method_gives_the_same_stream(
        corpus: tuple[dict[str, Path], Reference], monkeypatch: pytest.MonkeyPatch,
        method: ReadMethod) -> None:
    paths, expected = corpus
    monkeypatch.setattr(pio, "read_method", method)
    for name, path in paths.items():
        with open_image(path) as img:
            assert img._file.read_method is method, name
            assert (digest(img), [(r.offset, r.end) for r in img.data_ranges()]) == \
                expected[name], name


def test_without_holes_everything_is_data_and_the_stream_is_the_same(
        corpus: tuple[dict[str, Path], Reference], monkeypatch: pytest.MonkeyPatch) -> None:
    paths, expected = corpus
    monkeypatch.setattr(pio, "use_holes", False)
    monkeypatch.setattr(pio, "read_method", ReadMethod.SEEK)  # all Windows paths at once
    for name, path in paths.items():
        with open_image(path) as img:
            ranges = [(r.offset, r.end) for r in img.data_ranges()]
            assert digest(img) == expected[name][0], name
            assert covers(ranges, expected[name][1]), name
    with open_image(paths["raw"]) as img:
        # The sparse raw file has holes; without SEEK_HOLE the whole file is one range.
        assert [(r.offset, r.end) for r in img.data_ranges()] == [(0, SIZE)]
        assert len(expected["raw"][1]) > 1


def test_seek_reads_are_safe_from_many_threads(disk_images: DiskImageFactory) -> None:
    path = disk_images.raw(8 * MIB, [(i * MIB, bytes([i + 1]) * MIB) for i in range(8)])
    file = PositionalFile(path, method=ReadMethod.SEEK)
    errors: list[str] = []

    def reader(i: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(200):
                block = (i * 7) % 8
                data = file.read(block * MIB + 4096 * i, 4096)
                if data != bytes([block + 1]) * 4096:
                    errors.append(f"thread {i} read the wrong bytes")
        return run

    threads = [threading.Thread(target=reader(i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    file.close()
    assert errors == []


def test_seek_handle_is_closed_with_the_file(disk_images: DiskImageFactory) -> None:
    path = disk_images.raw(MIB, [(0, b"\1" * 512)])
    fds = Path("/proc/self/fd")
    before = len(list(fds.iterdir()))
    file = PositionalFile(path, method=ReadMethod.SEEK, holes=False)
    assert file.read(0, 4) == b"\1\1\1\1"
    assert list(file.data_extents(0, MIB)) == [(0, MIB)]
    file.close()
    assert len(list(fds.iterdir())) == before

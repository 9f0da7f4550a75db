"""Benchmark of the disk-image engine (a script; pytest does not collect it).

    python3 tests/benchmarks/bench_vhd.py [--data-mib 512]

Prints, in one run:
1. zero-scan throughput of gui.diskimage.zeros.nonzero_runs on cached data (goal >= 2 GB/s), next to
   the alternatives it was chosen over;
2. the time to stream the allocated ranges of a dynamic VHD's fixed view (and a dynamic VHDX's)
   through DiskImage.readinto, against reading the same number of bytes from a plain file with
   os.preadv into the same buffer (goal: plain time / engine time >= 0.9).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gui.diskimage import DiskImage, open_image
from gui.diskimage.zeros import nonzero_runs
from tests.benchmarks.qemu import qemu_convert

MIB = 1 << 20
PIECE = 4 * MIB


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_zero_scan(size: int) -> None:
    buf = bytearray(size)
    # Mostly zeros (the common case in disk images) with a few non-zero granules.
    for offset in range(0, size, 97 * MIB):
        buf[offset + 12345] = 1
    view = memoryview(buf)
    granule = 65536
    zero = bytes(granule)
    zero_view = memoryview(zero)

    def memoryview_equality() -> int:
        return sum(1 for i in range(0, size, granule) if view[i : i + granule] != zero_view)

    def tobytes_equality() -> int:  # what nonzero_runs does
        return sum(1 for i in range(0, size, granule) if view[i : i + granule].tobytes() != zero)

    def count_zero_bytes() -> int:
        return sum(1 for i in range(0, size, granule) if buf.count(0, i, i + granule) != granule)

    candidates: list[tuple[str, Callable[[], object]]] = [
        ("nonzero_runs, 64 KiB granules", lambda: nonzero_runs(view, 0, 65536)),
        ("nonzero_runs, 4 KiB granules", lambda: nonzero_runs(view, 0, 4096)),
        ("alternative: bytes(slice) == zeros", tobytes_equality),
        ("alternative: bytearray.count(0) per granule", count_zero_bytes),
        ("alternative: memoryview == memoryview", memoryview_equality),
    ]
    try:
        libc = ctypes.CDLL(None)
        libc.memcmp.restype = ctypes.c_int
        base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        zero_ptr = ctypes.c_char_p(zero)

        def ctypes_memcmp() -> int:
            return sum(
                1
                for i in range(0, size, granule)
                if libc.memcmp(ctypes.c_void_p(base + i), zero_ptr, granule)
            )

        candidates.append(("alternative: ctypes memcmp per granule", ctypes_memcmp))
    except (OSError, AttributeError):
        pass
    print(f"Zero scan over {size // MIB} MiB in memory (goal >= 2 GB/s):")
    for name, fn in candidates:
        seconds = best_of(3, fn)
        print(f"  {name:<46} {size / seconds / 1e9:6.2f} GB/s")


def make_images(directory: Path, data_mib: int) -> tuple[Path, Path, Path]:
    """A raw source with ``data_mib`` MiB of random data spread over twice that disk size."""
    disk_size = 2 * data_mib * MIB
    raw = directory / "source.raw"
    with open(raw, "wb") as f:
        f.truncate(disk_size)
        chunk = os.urandom(8 * MIB)
        # Every other 8 MiB extent holds data: allocated and unallocated blocks alternate.
        for offset in range(0, disk_size, 16 * MIB):
            f.seek(offset)
            f.write(chunk)
    vhd = directory / "dynamic.vhd"
    vhdx = directory / "dynamic.vhdx"
    qemu_convert(raw, vhd, source_format="raw", to="vpc", options="subformat=dynamic,force_size=on")
    qemu_convert(
        raw, vhdx, source_format="raw", to="vhdx", options="subformat=dynamic,block_size=8M"
    )
    return raw, vhd, vhdx


def engine_reader(img: DiskImage) -> Callable[[], None]:
    ranges = img.data_ranges()
    view = memoryview(bytearray(PIECE))

    def run() -> None:
        for r in ranges:
            pos = r.offset
            while pos < r.end:
                pos += img.readinto(pos, view[: min(PIECE, r.end - pos)])

    return run


def plain_reader(fd: int, length: int) -> Callable[[], None]:
    view = memoryview(bytearray(PIECE))

    def run() -> None:
        pos = 0
        while pos < length:
            pos += os.preadv(fd, [view[: min(PIECE, length - pos)]], pos)

    return run


def interleaved(
    rounds: int, a: Callable[[], None], b: Callable[[], None]
) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` alternately, so load from other processes hits both alike."""
    a()
    b()
    times_a: list[float] = []
    times_b: list[float] = []
    for _ in range(rounds):
        times_a.append(best_of(1, a))
        times_b.append(best_of(1, b))
    return times_a, times_b


def plain_copy(image: Path, allocated: int, directory: Path) -> Path:
    """A plain file of ``allocated`` random bytes, written by qemu-img like the images are, so
    both sides sit in the page cache the same way."""
    source = directory / "plain-source.raw"
    with open(source, "wb") as f:
        f.write(os.urandom(allocated))
    plain = directory / f"plain-{image.suffix[1:]}.raw"
    subprocess.run(
        ["qemu-img", "convert", "-q", "-f", "raw", "-O", "raw", str(source), str(plain)], check=True
    )
    source.unlink()
    return plain


def recache(path: Path) -> None:
    """Drop the file's pages and read it back sequentially.

    How a file sits in the page cache depends on how it was written (qemu-img writes a VHD in
    2 MiB + 512 byte pieces, a raw file in large ones), and that alone changes cached read speed
    by a third. Re-reading both files the same way makes the comparison about the engine.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        view = memoryview(bytearray(PIECE))
        pos = 0
        while n := os.preadv(fd, [view], pos):
            pos += n
    finally:
        os.close(fd)


def bench_streaming(data_mib: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-vhd-") as tmp:
        directory = Path(tmp)
        _raw, vhd, vhdx = make_images(directory, data_mib)
        print(
            f"\nStreaming the allocated data of a {2 * data_mib} MiB disk holding "
            f"{data_mib} MiB, {rounds} interleaved rounds (goal: plain / engine >= 0.9):"
        )
        for label, path in (
            ("dynamic VHD, 2 MiB blocks", vhd),
            ("dynamic VHDX, 8 MiB blocks", vhdx),
        ):
            with open_image(path) as img:
                allocated = img.allocated_bytes
                plain = plain_copy(path, allocated, directory)
                recache(path)
                recache(plain)
                fd = os.open(plain, os.O_RDONLY)
                try:
                    engine, baseline = interleaved(
                        rounds, engine_reader(img), plain_reader(fd, allocated)
                    )
                finally:
                    os.close(fd)
                plain.unlink()
            e_best, p_best = min(engine), min(baseline)
            e_med, p_med = statistics.median(engine), statistics.median(baseline)
            print(f"  {label}: {allocated // MIB} MiB allocated")
            print(
                f"    engine  best {e_best * 1000:6.1f} ms ({allocated / e_best / 1e9:5.2f} GB/s)"
                f", median {e_med * 1000:6.1f} ms"
            )
            print(
                f"    plain   best {p_best * 1000:6.1f} ms ({allocated / p_best / 1e9:5.2f} GB/s)"
                f", median {p_med * 1000:6.1f} ms"
            )
            print(f"    ratio plain/engine: best {p_best / e_best:.2f}, median {p_med / e_med:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-mib", type=int, default=512)
    parser.add_argument("--scan-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    bench_zero_scan(args.scan_mib * MIB)
    bench_streaming(args.data_mib, args.rounds)


if __name__ == "__main__":
    main()

"""Benchmark of the VMDK reader (a script; pytest does not collect it).

    python3 tests/benchmarks/bench_vmdk.py [--data-mib 256] [--rounds 7]

Prints, in one run:
1. monolithicSparse: the time to stream the allocated ranges of its fixed view through
   DiskImage.readinto, against reading the same number of bytes from a plain file with os.preadv
   into the same buffer (goal: plain time / engine time >= 0.9);
2. streamOptimized (every grain deflated): the same stream through DiskImage.readinto, against
   ``qemu-img convert -f vmdk -O raw`` of the same file (goal: qemu time / engine time >= 1.0),
   by one thread and by as many as the upload engine reads with, each 4 MiB window to the next
   thread (as the upload reads), with each inflate backend (zlib and ISA-L release the GIL while
   they inflate).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gui.diskimage import DiskImage, Range
from gui.diskimage.pio import PositionalFile
from gui.diskimage.vmdk import open_vmdk
from gui.transfer.engine import UploadOptions
from tests.benchmarks.bench_qcow2 import engine_reader as window_reader
from tests.benchmarks.bench_qcow2 import paired_ratio, rounds_of, with_backend
from tests.benchmarks.qemu import qemu_convert

MIB = 1 << 20
PIECE = 4 * MIB


def disk_like_data(length: int, seed: int = 7) -> bytes:
    """Data that deflates about as much as a used OS disk: random halves, repetitive halves."""
    rng = random.Random(seed)
    text = b"".join(b"/usr/lib/x86_64-linux-gnu/libexample.so.%d\n" % i for i in range(1000))
    out = bytearray()
    while len(out) < length:
        out += rng.randbytes(32 * 1024)
        start = rng.randrange(0, len(text) - 32 * 1024)
        out += text[start : start + 32 * 1024]
    return bytes(out[:length])


def make_source(directory: Path, data_mib: int) -> Path:
    """A raw disk twice ``data_mib`` MiB in size, every other 8 MiB holding data."""
    disk_size = 2 * data_mib * MIB
    raw = directory / "source.raw"
    chunk = disk_like_data(8 * MIB)
    with open(raw, "wb") as f:
        f.truncate(disk_size)
        for offset in range(0, disk_size, 16 * MIB):
            f.seek(offset)
            f.write(chunk)
    return raw


def open_disk(path: Path) -> DiskImage:
    file = PositionalFile(path)
    return DiskImage(path, file, open_vmdk(file))


def read_ranges(img: DiskImage, ranges: list[Range]) -> None:
    view = memoryview(bytearray(PIECE))
    for r in ranges:
        pos = r.offset
        while pos < r.end:
            pos += img.readinto(pos, view[: min(PIECE, r.end - pos)])


def engine_reader(img: DiskImage, threads: int = 1) -> Callable[[], None]:
    ranges = img.data_ranges()
    if threads == 1:
        return lambda: read_ranges(img, ranges)
    shares = [ranges[i::threads] for i in range(threads)]

    def run() -> None:
        workers = [threading.Thread(target=read_ranges, args=(img, share)) for share in shares]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    return run


def plain_reader(fd: int, length: int) -> Callable[[], None]:
    view = memoryview(bytearray(PIECE))

    def run() -> None:
        pos = 0
        while pos < length:
            pos += os.preadv(fd, [view[: min(PIECE, length - pos)]], pos)

    return run


def qemu_reader(image: Path, directory: Path) -> Callable[[], None]:
    target = directory / "qemu-out.raw"

    def run() -> None:
        subprocess.run(["qemu-img", "convert", "-q", "-f", "vmdk", "-O", "raw", str(image),
                        str(target)], check=True)
        target.unlink()

    return run


def interleaved(rounds: int, a: Callable[[], None],
                b: Callable[[], None]) -> tuple[list[float], list[float]]:
    """Time ``a`` and ``b`` alternately, so load from other processes hits both alike."""
    a()
    b()
    times_a: list[float] = []
    times_b: list[float] = []
    for _ in range(rounds):
        for fn, times in ((a, times_a), (b, times_b)):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return times_a, times_b


def recache(path: Path) -> None:
    """Drop the file's pages and read it back sequentially, so both sides sit in the page cache
    the same way whatever wrote them."""
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


def report(label: str, allocated: int, ours: list[float], theirs: list[float],
           baseline: str) -> None:
    o_best, t_best = min(ours), min(theirs)
    o_med, t_med = statistics.median(ours), statistics.median(theirs)
    print(f"  {label}: {allocated // MIB} MiB of data")
    print(f"    engine   best {o_best * 1000:7.1f} ms ({allocated / o_best / 1e9:5.2f} GB/s), "
          f"median {o_med * 1000:7.1f} ms")
    print(f"    {baseline:<8} best {t_best * 1000:7.1f} ms ({allocated / t_best / 1e9:5.2f} GB/s), "
          f"median {t_med * 1000:7.1f} ms")
    paired = statistics.median(t / o for t, o in zip(theirs, ours, strict=True))
    print(f"    ratio {baseline}/engine: best {t_best / o_best:.2f}, median {t_med / o_med:.2f}, "
          f"median of the rounds' ratios {paired:.2f}")


def bench_sparse(directory: Path, raw: Path, rounds: int) -> None:
    image = qemu_convert(raw, directory / "sparse.vmdk", source_format="raw", to="vmdk",
                         options="subformat=monolithicSparse")
    with open_disk(image) as img:
        allocated = img.allocated_bytes
        plain = directory / "plain.raw"
        with open(plain, "wb") as f:
            f.write(os.urandom(allocated))
        recache(image)
        recache(plain)
        fd = os.open(plain, os.O_RDONLY)
        try:
            ours, theirs = interleaved(rounds, engine_reader(img), plain_reader(fd, allocated))
        finally:
            os.close(fd)
        plain.unlink()
    print("monolithicSparse VMDK against a plain read of as many bytes (goal >= 0.9):")
    report("monolithicSparse, 64 KiB grains", allocated, ours, theirs, "plain")


def bench_stream(directory: Path, raw: Path, rounds: int) -> None:
    image = qemu_convert(raw, directory / "stream.vmdk", source_format="raw", to="vmdk",
                         options="subformat=streamOptimized")
    recache(image)
    threads = UploadOptions().read_threads
    print(f"streamOptimized VMDK ({image.stat().st_size // MIB} MiB file) against qemu-img "
          f"convert -O raw of it (goal >= 1.0), {rounds} rounds, every candidate once per round "
          f"in rotating order; the median of the rounds' ratios, wall clock and CPU time; "
          f"inflate backends: zlib, the standard library's; isal, ISA-L:")
    with open_disk(image) as img:
        allocated = img.allocated_bytes
        candidates: dict[str, Callable[[], None]] = {"qemu-img": qemu_reader(image, directory)}
        for backend in ("zlib", "isal"):
            for count in (1, threads):
                label = f"{backend}, {count} thread{'s' if count > 1 else ''}"
                candidates[label] = with_backend(backend, window_reader(img, count))
        samples = rounds_of(rounds, candidates)
    base = samples.pop("qemu-img")
    print(f"  {allocated // MIB} MiB of data; qemu-img convert "
          f"{allocated / statistics.median(w for w, _c in base) / 1e6:5.0f} MB/s")
    for label, ours in samples.items():
        print(f"    engine {label:<18} "
              f"{allocated / statistics.median(w for w, _c in ours) / 1e6:5.0f} MB/s: ratio "
              f"qemu/engine {paired_ratio(base, ours, 0):.2f} wall, "
              f"{paired_ratio(base, ours, 1):.2f} CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-vmdk-") as tmp:
        directory = Path(tmp)
        raw = make_source(directory, args.data_mib)
        bench_sparse(directory, raw, args.rounds)
        bench_stream(directory, raw, args.rounds)


if __name__ == "__main__":
    main()

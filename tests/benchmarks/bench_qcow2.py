"""Benchmark of the qcow2 reader (a script; pytest does not collect it).

    python3 tests/benchmarks/bench_qcow2.py [--data-mib 256] [--rounds 5]

Prints, in one run:
1. streaming the allocated ranges of an uncompressed qcow2's fixed view through
   DiskImage.readinto, against reading the same number of bytes from a plain file with os.preadv
   (goal: plain time / engine time >= 0.9);
2. the same for a deflate- and a zstd-compressed qcow2, against ``qemu-img convert -O raw`` of the
   same file (goal: qemu time / engine time >= 1.0), read by one thread and by as many threads
   as the upload engine reads with (``UploadOptions.read_threads``), deflate with each inflate
   backend (the standard library's zlib and ISA-L), every candidate once per round;
3. the peak RSS of a child process that opens a 2 TiB qcow2 and streams a compressed one.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gui.diskimage import DiskImage, inflate
from gui.diskimage.pio import PositionalFile
from gui.diskimage.qcow2 import open_qcow2
from gui.transfer.engine import UploadOptions
from tests.benchmarks.bench_vhd import interleaved, plain_copy, plain_reader, recache
from tests.benchmarks.qemu import qemu_convert
from tests.diskimage.helpers import run_measured

MIB = 1 << 20
PIECE = 4 * MIB


def open_disk(path: Path) -> DiskImage:
    file = PositionalFile(path)
    return DiskImage(path, file, open_qcow2(file))


def engine_reader(img: DiskImage, threads: int = 1) -> Callable[[], None]:
    """Read every data range in PIECE-sized windows, as the upload engine's readers do."""
    windows = [(pos, min(PIECE, r.end - pos)) for r in img.data_ranges()
               for pos in range(r.offset, r.end, PIECE)]
    buffers = [memoryview(bytearray(PIECE)) for _ in range(threads)]

    def read_share(k: int) -> None:
        view = buffers[k]
        for offset, length in windows[k::threads]:
            img.readinto(offset, view[:length])

    if threads == 1:
        return lambda: read_share(0)
    pool = concurrent.futures.ThreadPoolExecutor(threads)

    def run() -> None:
        for future in [pool.submit(read_share, k) for k in range(threads)]:
            future.result()

    return run


def make_source(directory: Path, data_mib: int, *, compressible: bool) -> Path:
    """A raw disk twice ``data_mib`` in size with data in every other 8 MiB extent: random bytes,
    or for the compressed images text-like bytes that deflate about 3:1, as a system disk does."""
    disk_size = 2 * data_mib * MIB
    raw = directory / ("text.raw" if compressible else "random.raw")
    if compressible:
        words = [os.urandom(6).hex().encode() for _ in range(4000)]
        rng = random.Random(1)
        chunk = b" ".join(rng.choice(words) for _ in range(8 * MIB // 13))[: 8 * MIB]
    else:
        chunk = os.urandom(8 * MIB)
    with open(raw, "wb") as f:
        f.truncate(disk_size)
        for offset in range(0, disk_size, 16 * MIB):
            f.seek(offset)
            f.write(chunk)
    return raw


def bench_uncompressed(directory: Path, data_mib: int, rounds: int) -> None:
    raw = make_source(directory, data_mib, compressible=False)
    image = qemu_convert(raw, directory / "plain.qcow2", source_format="raw", to="qcow2",
                         options="cluster_size=65536")
    raw.unlink()
    print(f"\n1. Uncompressed qcow2 (64 KiB clusters), {2 * data_mib} MiB disk holding {data_mib} "
          f"MiB, {rounds} interleaved rounds (goal: plain / engine >= 0.9):")
    with open_disk(image) as img:
        allocated = img.allocated_bytes
        plain = plain_copy(image, allocated, directory)
        recache(image)
        recache(plain)
        fd = os.open(plain, os.O_RDONLY)
        try:
            engine_times, plain_times = interleaved(rounds, engine_reader(img),
                                                    plain_reader(fd, allocated))
        finally:
            os.close(fd)
    engine, baseline = statistics.median(engine_times), statistics.median(plain_times)
    print(f"   engine {allocated / engine / 1e6:8.0f} MB/s   plain preadv "
          f"{allocated / baseline / 1e6:8.0f} MB/s   ratio plain/engine {baseline / engine:.2f}")


def qemu_to_raw(image: Path, target: Path) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", str(image),
                        str(target)], check=True)
        target.unlink()

    return run


def cpu_seconds() -> float:
    """CPU time of this process (all its threads) and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def rounds_of(rounds: int, candidates: dict[str, Callable[[], None]]
              ) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds of every candidate in each round; all run once per round, the order
    rotating from round to round, so load from other processes hits them alike. On a shared
    machine the CPU time is the fairer figure: a process with more runnable threads (qemu-img)
    also gets a larger share of a contended CPU, which says nothing about how much work a byte
    costs."""
    names = list(candidates)
    for name in names:  # warm-up: caches, the thread pools, qemu-img's libraries
        candidates[name]()
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[: r % len(names)]:
            wall, cpu = time.perf_counter(), cpu_seconds()
            candidates[name]()
            samples[name].append((time.perf_counter() - wall, cpu_seconds() - cpu))
    return samples


def paired_ratio(base: list[tuple[float, float]], ours: list[tuple[float, float]],
                 index: int) -> float:
    """The median over rounds of base/ours (index 0: wall, 1: CPU), each round's pair measured
    side by side."""
    return statistics.median(b[index] / o[index] for b, o in zip(base, ours, strict=True))


def with_backend(name: str, fn: Callable[[], None]) -> Callable[[], None]:
    """``fn`` with the inflate backend forced to ``name`` while it runs."""
    def run() -> None:
        before, inflate.backend = inflate.backend, name
        try:
            fn()
        finally:
            inflate.backend = before

    return run


def bench_compressed(directory: Path, data_mib: int, rounds: int) -> None:
    raw = make_source(directory, data_mib, compressible=True)
    threads = UploadOptions().read_threads
    print(f"\n2. Compressed qcow2, {2 * data_mib} MiB disk holding {data_mib} MiB of text-like "
          f"data, {rounds} rounds, every candidate once per round in rotating order (goal: "
          f"qemu-img convert / engine >= 1.0; the median of the rounds' ratios, wall clock and "
          f"CPU time; inflate backends: zlib, the standard library's; isal, ISA-L):")
    for kind in ("zlib", "zstd"):
        image = directory / f"{kind}.qcow2"
        subprocess.run(["qemu-img", "convert", "-q", "-c", "-f", "raw", "-O", "qcow2", "-o",
                        f"compression_type={kind}", str(raw), str(image)], check=True)
        recache(image)
        with open_disk(image) as img:
            allocated = img.allocated_bytes
            candidates: dict[str, Callable[[], None]] = {
                "qemu-img": qemu_to_raw(image, directory / f"{kind}-out.raw")}
            backends = ["zlib", "isal"] if kind == "zlib" else ["default"]
            for backend in backends:
                for count in (1, threads):
                    reader = engine_reader(img, count)
                    label = f"{backend}, {count} thread{'s' if count > 1 else ''}"
                    candidates[label] = (reader if backend == "default"
                                         else with_backend(backend, reader))
            samples = rounds_of(rounds, candidates)
        base = samples.pop("qemu-img")
        print(f"   {kind} ({image.stat().st_size / MIB:.0f} MiB file): qemu-img convert "
              f"{allocated / statistics.median(w for w, _c in base) / 1e6:5.0f} MB/s")
        for label, ours in samples.items():
            print(f"     engine {label:<18} "
                  f"{allocated / statistics.median(w for w, _c in ours) / 1e6:5.0f} MB/s: ratio "
                  f"qemu/engine {paired_ratio(base, ours, 0):.2f} wall, "
                  f"{paired_ratio(base, ours, 1):.2f} CPU")
    raw.unlink()


_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests.benchmarks.bench_qcow2 import engine_reader, open_disk
for name in sys.argv[2:]:
    with open_disk(Path(name)) as img:
        engine_reader(img)()
print("ok")
"""


def bench_memory(directory: Path) -> None:
    huge = directory / "huge.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(huge), "2T"], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 64M", "-c",
                    f"write -P 0xcd {(2 << 40) - 64 * MIB} 64M", str(huge)], check=True,
                   capture_output=True)
    root = Path(__file__).resolve().parents[2]
    images = [str(path) for path in (huge, directory / "zstd.qcow2", directory / "plain.qcow2")
              if path.exists()]
    peak, seconds, code, out = run_measured([sys.executable, "-c", _CHILD, str(root), *images],
                                            cwd=root, env=dict(os.environ), timeout=600)
    baseline, _s, _c, _o = run_measured([sys.executable, "-c", "import gui.diskimage.qcow2"],
                                        cwd=root, env=dict(os.environ))
    print(f"\n3. Peak RSS of a process opening a 2 TiB qcow2 and streaming its data, the zstd and "
          f"the uncompressed image (exit {code}, {out.strip()}, {seconds:.1f} s): "
          f"{peak / MIB:.0f} MiB (the interpreter with the reader imported: "
          f"{baseline / MIB:.0f} MiB; goal <= 300 MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parts", default="123", help="which parts to run, e.g. 2 or 13")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-qcow2-") as tmp:
        directory = Path(tmp)
        if "1" in args.parts:
            bench_uncompressed(directory, args.data_mib, args.rounds)
        if "2" in args.parts or "3" in args.parts:  # part 3 streams part 2's zstd image
            bench_compressed(directory, args.data_mib, args.rounds)
        if "3" in args.parts:
            bench_memory(directory)
    print(f"\n(total {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()

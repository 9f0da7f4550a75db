"""Benchmark of the VDI reader (a script; pytest does not collect it).

    python3 tests/benchmarks/bench_vdi.py [--data-mib 512] [--rounds 15]

Streams the allocated ranges of a dynamic VDI's fixed view (1 MiB blocks, every other 8 MiB of
the disk holding data) through DiskImage.readinto, interleaved in the same run with:
- a plain file of the same number of bytes read with os.preadv into the same buffer
  (goal: plain time / engine time >= 0.9);
- the VDI's own data area read with exactly those calls, which isolates the engine's work from
  where the file's bytes lie.
Two files: as qemu-img writes a VDI (data area right after the block map, not page-aligned, which
by itself measured up to a tenth slower in cached reads) and as VirtualBox does (at 1 MiB).
Uses bench_vhd's readers so both benchmarks measure alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import struct
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gui.diskimage import DiskImage
from gui.diskimage.pio import PositionalFile
from gui.diskimage.vdi import open_vdi
from tests.benchmarks.bench_vhd import (
    engine_reader,
    interleaved,
    plain_copy,
    plain_reader,
    recache,
)
from tests.benchmarks.qemu import qemu_convert

MIB = 1 << 20


def make_vdi(directory: Path, data_mib: int) -> Path:
    """A dynamic VDI of twice ``data_mib`` MiB, every other 8 MiB extent holding random data."""
    disk_size = 2 * data_mib * MIB
    raw = directory / "source.raw"
    with open(raw, "wb") as f:
        f.truncate(disk_size)
        chunk = os.urandom(8 * MIB)
        for offset in range(0, disk_size, 16 * MIB):
            f.seek(offset)
            f.write(chunk)
    vdi = directory / "dynamic.vdi"
    qemu_convert(raw, vdi, source_format="raw", to="vdi", options="static=off")
    raw.unlink()
    return vdi


def realigned(vdi: Path) -> Path:
    """The same VDI with its data area moved to 1 MiB, where VirtualBox puts it."""
    out = vdi.with_name("virtualbox-layout.vdi")
    head = bytearray(vdi.read_bytes()[:512])
    blocks_offset, data_offset = struct.unpack_from("<II", head, 340)
    struct.pack_into("<I", head, 344, MIB)
    with open(vdi, "rb") as src, open(out, "wb") as dst:
        dst.write(head)
        src.seek(blocks_offset)
        dst.seek(blocks_offset)
        dst.write(src.read(data_offset - blocks_offset))
        src.seek(data_offset)
        dst.seek(MIB)
        while chunk := src.read(8 * MIB):
            dst.write(chunk)
    return out


def open_vdi_image(path: Path) -> DiskImage:
    file = PositionalFile(path)
    return DiskImage(path, file, open_vdi(file))


def report(label: str, times: list[float], allocated: int) -> None:
    best, median = min(times), statistics.median(times)
    print(f"    {label:<22} best {best * 1000:6.1f} ms ({allocated / best / 1e9:5.2f} GB/s), "
          f"median {median * 1000:6.1f} ms")


def bench(label: str, vdi: Path, rounds: int, directory: Path) -> None:
    with open_vdi_image(vdi) as img:
        allocated = img.allocated_bytes
        range_count = len(img.data_ranges())
        data_offset = struct.unpack_from("<I", vdi.read_bytes()[:512], 344)[0]
        plain = plain_copy(vdi, allocated, directory)
        recache(vdi)
        recache(plain)
        fd = os.open(plain, os.O_RDONLY)
        own = os.open(vdi, os.O_RDONLY)
        view = memoryview(bytearray(4 * MIB))

        def data_area() -> None:  # the blocks lie in order: one run from the data offset
            pos = 0
            while pos < allocated:
                pos += os.preadv(own, [view[: min(len(view), allocated - pos)]],
                                 data_offset + pos)

        try:
            engine, baseline = interleaved(rounds, engine_reader(img),
                                           plain_reader(fd, allocated))
            engine_again, direct = interleaved(rounds, engine_reader(img), data_area)
        finally:
            os.close(fd)
            os.close(own)
        plain.unlink()
    print(f"  {label}: {allocated // MIB} MiB allocated in {range_count} ranges, data area at "
          f"byte {data_offset:,}")
    report("engine", engine, allocated)
    report("plain file", baseline, allocated)
    report("engine (again)", engine_again, allocated)
    report("VDI data area, direct", direct, allocated)
    print(f"    ratio plain/engine: best {min(baseline) / min(engine):.2f}, median "
          f"{statistics.median(baseline) / statistics.median(engine):.2f}, median of the "
          f"rounds' ratios {paired(baseline, engine):.2f}")
    print(f"    ratio direct/engine: best {min(direct) / min(engine_again):.2f}, median "
          f"{statistics.median(direct) / statistics.median(engine_again):.2f}, median of the "
          f"rounds' ratios {paired(direct, engine_again):.2f}")


def paired(base: list[float], ours: list[float]) -> float:
    """The median of base/ours over the rounds, each pair measured side by side: on a shared
    machine less disturbed by a slow spell than the ratio of two medians."""
    return statistics.median(b / o for b, o in zip(base, ours, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-vdi-") as tmp:
        directory = Path(tmp)
        vdi = make_vdi(directory, args.data_mib)
        print(f"Streaming the allocated data of a {2 * args.data_mib} MiB dynamic VDI holding "
              f"{args.data_mib} MiB, {args.rounds} interleaved rounds "
              f"(goal: plain / engine >= 0.9):")
        bench("as qemu-img writes it", vdi, args.rounds, directory)
        bench("as VirtualBox lays it out", realigned(vdi), args.rounds, directory)


if __name__ == "__main__":
    main()

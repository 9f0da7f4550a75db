"""Benchmark of the VDI reader (a script; pytest does not collect it).

    python3 tests/benchmarks/bench_vdi.py [--data-mib 512] [--rounds 15]

Streams the allocated ranges of a dynamic VDI's fixed view (qemu-img's 1 MiB blocks, every other
8 MiB of the disk holding data) through DiskImage.readinto, against reading the same number of
bytes from a plain file with os.preadv into the same buffer, interleaved in the same run
(goal: plain time / engine time >= 0.9). Uses bench_vhd's readers so both benchmarks measure
alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def open_vdi_image(path: Path) -> DiskImage:
    file = PositionalFile(path)
    return DiskImage(path, file, open_vdi(file))


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
        with open_vdi_image(vdi) as img:
            allocated = img.allocated_bytes
            range_count = len(img.data_ranges())
            plain = plain_copy(vdi, allocated, directory)
            recache(vdi)
            recache(plain)
            fd = os.open(plain, os.O_RDONLY)
            try:
                engine, baseline = interleaved(args.rounds, engine_reader(img),
                                               plain_reader(fd, allocated))
            finally:
                os.close(fd)
        e_best, p_best = min(engine), min(baseline)
        e_med, p_med = statistics.median(engine), statistics.median(baseline)
        print(f"  {allocated // MIB} MiB allocated in {range_count} ranges")
        print(f"    engine  best {e_best * 1000:6.1f} ms ({allocated / e_best / 1e9:5.2f} GB/s), "
              f"median {e_med * 1000:6.1f} ms")
        print(f"    plain   best {p_best * 1000:6.1f} ms ({allocated / p_best / 1e9:5.2f} GB/s), "
              f"median {p_med * 1000:6.1f} ms")
        print(f"    ratio plain/engine: best {p_best / e_best:.2f}, median {p_med / e_med:.2f}")


if __name__ == "__main__":
    main()

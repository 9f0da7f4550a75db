"""End to end, a qcow2 uploaded as it is against the way every other tool does it (issue 11).

    PATH=/path/to/azurite/node_modules/.bin:$PATH python3 tests/benchmarks/bench_formats.py

A 4 GiB qcow2 holding 512 MiB of random data (extents of 64 KiB to 2 MiB at random offsets,
written with qemu-io) goes to Azurite twice, in the same run:
  (a) ours: the headless ``upload`` command reads the qcow2 directly (no temporary file);
  (b) the usual way: ``qemu-img convert -O vpc -o subformat=fixed,force_size=on`` to a 4 GiB
      temporary fixed VHD, then the same command uploads that file.
Both blobs are downloaded and compared (MD5 of the data part). Reported: the time of each, the
ratio (b)/(a) (goal >= 2), the temporary space (b) needs, and (a)'s peak RSS (goal <= 300 MB),
measured by wait4 on the child process. Each run has a fresh Azurite; the order alternates; the
summary gives the median of the runs' ratios. Both sides upload the same 512 MiB and hash the
same 4 GiB stream (Content-MD5), so (b)/(a) cannot pass 1 + convert / upload by much; ``--no-md5``
measures both without the hash, ``--dense`` also against a temporary file that is not sparse.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_upload import run_engine, warm_azurite  # noqa: E402
from tests.fixtures.azurite import Azurite  # noqa: E402

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30


def make_qcow2(path: Path, size: int, data: int, seed: int = 11) -> None:
    """A qcow2 of ``size`` bytes holding ``data`` random bytes in scattered extents (written to
    a sparse raw file first, then converted by qemu-img, the reference tool)."""
    rng = random.Random(seed)
    raw = path.with_suffix(".raw")
    taken: list[tuple[int, int]] = []
    left = data
    with open(raw, "wb") as out:
        out.truncate(size)
        while left > 0:
            length = min(left, rng.randrange(16, 513) * 4 * KIB)
            start = rng.randrange(0, (size - length) // (4 * KIB)) * 4 * KIB
            if any(start < e and s < start + length for s, e in taken):
                continue
            taken.append((start, start + length))
            out.seek(start)
            out.write(rng.randbytes(length))
            left -= length
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(raw), str(path)],
                   check=True)
    raw.unlink()


def blob_md5(az: Azurite, container: str, name: str, length: int) -> str:
    from azure.storage.blob import BlobClient

    digest = hashlib.md5()
    with BlobClient.from_connection_string(az.connection_string, container, name) as c:
        stream = c.download_blob(offset=0, length=length, max_concurrency=4)
        for chunk in stream.chunks():
            digest.update(chunk)
    return digest.hexdigest()


def ours(work: Path, qcow2: Path, size: int, extra: tuple[str, ...] = ()
         ) -> tuple[float, float, str]:
    with warm_azurite() as (az, container):
        url = az.blob_sas_url(container, "direct.vhd")
        result = run_engine(qcow2, url, work / "home-a", *extra)
        return result["wall"], result["peak_rss_mb"], blob_md5(az, container, "direct.vhd", size)


def usual(work: Path, qcow2: Path, size: int, dense: bool = False,
          extra: tuple[str, ...] = ()) -> tuple[float, float, int, str]:
    with warm_azurite() as (az, container):
        url = az.blob_sas_url(container, "converted.vhd")
        temp = work / "converted.vhd"
        start = time.perf_counter()
        # -S 0 writes every zero, as on a file system without sparse files (FAT, exFAT, SMB
        # shares, NTFS unless the file is marked sparse): the whole 4 GiB is written and read.
        sparse = ["-S", "0"] if dense else []
        subprocess.run(["qemu-img", "convert", "-q", *sparse, "-f", "qcow2", "-O", "vpc", "-o",
                        "subformat=fixed,force_size=on", str(qcow2), str(temp)], check=True)
        convert = time.perf_counter() - start
        space = temp.stat().st_blocks * 512
        result = run_engine(temp, url, work / "home-b", *extra)
        temp.unlink()
        return convert, result["wall"], space, blob_md5(az, container, "converted.vhd", size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gib", type=int, default=4)
    parser.add_argument("--data-mib", type=int, default=512)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dense", action="store_true",
                        help="also the usual way with a temporary file that is not sparse")
    parser.add_argument("--no-md5", action="store_true",
                        help="both uploads without Content-MD5 (the upload command's --no-md5)")
    args = parser.parse_args()
    size = args.size_gib * GIB
    extra = ("--no-md5",) if args.no_md5 else ()
    ratios: list[float] = []
    dense_ratios: list[float] = []
    peaks: list[float] = []
    converts: list[float] = []
    ceilings: list[float] = []  # the ratio if ours took as long as uploading the converted file
    with tempfile.TemporaryDirectory(prefix="bench-formats-") as tmp:
        work = Path(tmp)
        qcow2 = work / "cloud.qcow2"
        make_qcow2(qcow2, size, args.data_mib * MIB)
        print(f"qcow2: {args.size_gib} GiB virtual, {args.data_mib} MiB data, "
              f"{qcow2.stat().st_size / MIB:.0f} MiB file; Content-MD5 "
              f"{'off' if args.no_md5 else 'on'}")
        for run in range(args.runs):
            first_ours = run % 2 == 0
            if first_ours:
                a = ours(work, qcow2, size, extra)
                b = usual(work, qcow2, size, extra=extra)
            else:
                b = usual(work, qcow2, size, extra=extra)
                a = ours(work, qcow2, size, extra)
            wall_a, rss_a, md5_a = a
            convert_b, upload_b, space_b, md5_b = b
            assert md5_a == md5_b, "the two blobs differ"
            total_b = convert_b + upload_b
            ratios.append(total_b / wall_a)
            ceilings.append(total_b / upload_b)
            peaks.append(rss_a)
            converts.append(convert_b)
            print(f"run {run + 1}: ours {wall_a:.1f} s (peak RSS {rss_a:.0f} MB); "
                  f"sparse temp: convert {convert_b:.1f} s + upload {upload_b:.1f} s = "
                  f"{total_b:.1f} s, temporary file {space_b / MIB:.0f} MiB on disk; "
                  f"ratio {total_b / wall_a:.2f}x; blobs identical", flush=True)
            if args.dense:
                convert_d, upload_d, space_d, md5_d = usual(work, qcow2, size, dense=True,
                                                            extra=extra)
                assert md5_d == md5_a, "the dense-temp blob differs"
                total_d = convert_d + upload_d
                dense_ratios.append(total_d / wall_a)
                print(f"       dense temp (no sparse files): convert {convert_d:.1f} s + upload "
                      f"{upload_d:.1f} s = {total_d:.1f} s, temporary file "
                      f"{space_d / MIB:.0f} MiB on disk; ratio {total_d / wall_a:.2f}x",
                      flush=True)
        shutil.rmtree(work / "home-a", ignore_errors=True)
        shutil.rmtree(work / "home-b", ignore_errors=True)
    print(f"median ratio over {args.runs} runs: {statistics.median(ratios):.2f}x (runs: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}); median convert "
          f"{statistics.median(converts):.1f} s; ours' peak RSS at most {max(peaks):.0f} MB")
    print(f"the same upload work on both sides caps the ratio near (convert + upload) / upload: "
          f"median {statistics.median(ceilings):.2f}x")
    if dense_ratios:
        print(f"dense temp: median ratio {statistics.median(dense_ratios):.2f}x")


if __name__ == "__main__":
    main()

"""What the resume and verification checks of issue 9 cost, against Azurite.

  PATH=/path/to/azurite/node_modules/.bin:$PATH python3 tests/benchmarks/bench_resume_checks.py

1. The content fingerprint (SourceIdentity.of: stat every file, read 32 sampled 64 KiB blocks)
   of a 4 GiB fixed VHD holding 512 MiB of scattered data, as bench_upload's (a).
2. A 1 GiB fixed VHD of random data uploaded in this process: the time of the whole upload,
   of the verification step (page list, sampled read-back, footer; Upload._verify) and of
   the fingerprint, each as a share of the upload time; the CRC-32 of every run as the CPU
   time it takes over the same data.
3. bench_upload's scenario (a) with the engine before issue 9 (``--baseline REV``, default
   the commit before the first change) and now, alternating runs, as a ratio of medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.bench_upload import (  # noqa: E402
    GIB,
    MIB,
    make_random,
    make_scattered,
    run_engine,
    warm_azurite,
)

BASELINE = "6500cbf9696f12e8a73bff241870beea8e87aa54"  # main before issue 9's engine changes


def line(label: str, value: str) -> None:
    print(f"  {label:<62} {value}")


def fingerprint_time(path: Path, repeat: int) -> list[float]:
    from gui.diskimage import open_image
    from gui.transfer import SourceIdentity

    times = []
    with open_image(path) as image:
        for _ in range(repeat):
            start = time.perf_counter()
            SourceIdentity.of(image)
            times.append(time.perf_counter() - start)
    return times


def crc_time(path: Path) -> float:
    """CRC-32 over every byte of the file's data part, 4 MiB at a time (CPU, warm cache)."""
    buf = bytearray(4 * MIB)
    view = memoryview(buf)
    elapsed = 0.0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            start = time.perf_counter()
            zlib.crc32(view[:n])
            elapsed += time.perf_counter() - start
    return elapsed


def timed_upload(path: Path, url: str, journal: Path) -> dict[str, float]:
    """One upload in this process; the verification step timed by overriding Upload._verify."""
    from gui.diskimage import open_image
    from gui.transfer import SasUrlTarget, Upload, UploadOptions

    class TimedUpload(Upload):
        verify_seconds = 0.0

        async def _verify(self, *args: Any, **kwargs: Any) -> None:
            start = time.perf_counter()
            try:
                await super()._verify(*args, **kwargs)
            finally:
                self.verify_seconds += time.perf_counter() - start

    with open_image(path) as image:
        upload = TimedUpload(image, SasUrlTarget(url), UploadOptions(journal_dir=journal))
        result = upload.run()
    return {"upload": result.elapsed_seconds, "verify": upload.verify_seconds}


def baseline_tree(work: Path, rev: str) -> Path:
    tree = work / "baseline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", rev, "gui"], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def run_engine_from(tree: Path, path: Path, url: str, home: Path, *extra: str) -> float:
    """bench_upload's run_engine, running the ``gui`` package found in ``tree``."""
    return float(run_engine(path, url, home, *extra, cwd=tree)["elapsed_seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help="git revision to compare (a) with")
    parser.add_argument("--parts", default="123", help="which measurements to run, e.g. 3")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-checks-") as name:
        run(Path(name), args)


def run(work: Path, args: argparse.Namespace) -> None:
    home = work / "home"
    vhd_a = work / "a.vhd"
    make_scattered(vhd_a, 4 * GIB, 512 * MIB)
    if "1" in args.parts:
        part1(vhd_a, args)
    if "2" in args.parts:
        part2(work, args)
    if "3" in args.parts:
        part3(work, vhd_a, home, args)


def part1(vhd_a: Path, args: argparse.Namespace) -> None:
    print("1. fingerprint of a 4 GiB fixed VHD (512 MiB of scattered data)")
    times = fingerprint_time(vhd_a, args.repeat)
    line("SourceIdentity.of (median)", f"{statistics.median(times) * 1000:.1f} ms")


def part2(work: Path, args: argparse.Namespace) -> None:
    print("2. 1 GiB fixed VHD of random data, uploaded in this process")
    vhd_b = work / "b.vhd"
    make_random(vhd_b, GIB)
    rows: list[dict[str, float]] = []
    with warm_azurite() as (az, container):
        for i in range(args.repeat):
            url = az.blob_sas_url(container, f"checks-{i}.vhd")
            rows.append(timed_upload(vhd_b, url, work / "journal"))
    upload = statistics.median(r["upload"] for r in rows)
    verify = statistics.median(r["verify"] for r in rows)
    fingerprint = statistics.median(fingerprint_time(vhd_b, args.repeat))
    crc = crc_time(vhd_b)
    line("upload (median)", f"{upload:.2f} s")
    line("verification step / upload", f"{verify:.3f} s = {verify / upload:.2%}")
    line("fingerprint (done twice per upload) / upload", f"{2 * fingerprint / upload:.2%}")
    line("CRC-32 of every run, CPU / upload (on the read threads)", f"{crc / upload:.2%}")


def part3(work: Path, vhd_a: Path, home: Path, args: argparse.Namespace) -> None:
    print(f"3. bench_upload (a) before ({args.baseline[:10]}) and now, alternating")
    tree = baseline_tree(work, args.baseline)
    before: dict[str, list[float]] = {"nomd5": [], "md5": []}
    after: dict[str, list[float]] = {"nomd5": [], "md5": []}
    n = iter(range(1000))
    with warm_azurite() as (az, container):
        for _ in range(args.repeat):
            for key, extra in (("nomd5", ("--no-md5",)), ("md5", ())):
                url = az.blob_sas_url(container, f"a-{next(n)}.vhd")
                before[key].append(run_engine_from(tree, vhd_a, url, home, *extra))
                url = az.blob_sas_url(container, f"a-{next(n)}.vhd")
                after[key].append(run_engine_from(ROOT, vhd_a, url, home, *extra))
    for key, label in (("nomd5", "--no-md5"), ("md5", "with MD5")):
        b, a = statistics.median(before[key]), statistics.median(after[key])
        runs = ", ".join(f"{x:.2f}/{y:.2f}" for x, y in zip(before[key], after[key], strict=True))
        line(f"(a) {label}: before {b:.2f} s, now {a:.2f} s", f"now/before {a / b:.3f}  ({runs})")


if __name__ == "__main__":
    main()

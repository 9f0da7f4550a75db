"""Benchmark of the upload engine against Azurite, all scenarios of issue 4 in one run.

    PATH=/path/to/azurite/node_modules/.bin:$PATH python3 tests/benchmarks/bench_upload.py

Scenarios (each against a fresh Azurite with its own on-disk workspace, because Azurite never
frees the memory of deleted blobs):
  (a) a 4 GiB fixed VHD, sparse on disk, holding 512 MiB of random data in extents of 64 KiB to
      2 MiB at random 4 KiB-aligned offsets; the engine with --no-md5 and with MD5, against
      BlobClient.upload_blob(..., blob_type=PageBlob, max_concurrency=8) and against hashlib.md5
      alone over the fixed stream; bytes sent against the non-zero 64 KiB blocks;
  (b) a 1 GiB fixed VHD of random data: the engine against upload_blob and against a bare
      Put Page loop (aiohttp, 4 MiB pages, 8 in flight, no zero test, no hash);
  (c) the dynamic VHD of (a) (qemu-img convert): a correct fixed blob (MD5 of the downloaded
      blob equals that of (a)'s fixed stream), time against (a).
The engine runs as the headless command in a child process, so its peak RSS is measured alone
(wait4); its time is the engine's own elapsed time (interpreter start-up excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.qemu import qemu_convert  # noqa: E402
from tests.fixtures.azurite import Azurite, AzuriteProcess  # noqa: E402
from tests.fixtures.disk_images import _footer  # noqa: E402

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
GRANULE = 64 * KIB


def fixed_footer(size: int) -> bytes:
    return _footer(size, 2, uuid.uuid4(), 0xFFFFFFFFFFFFFFFF)


def make_scattered(path: Path, size: int, data: int, seed: int = 1) -> set[int]:
    """A sparse fixed VHD with ``data`` random bytes in extents; returns the non-zero granules."""
    rng = random.Random(seed)
    taken: list[tuple[int, int]] = []
    granules: set[int] = set()
    left = data
    with open(path, "wb") as f:
        f.truncate(size)
        while left > 0:
            length = min(left, rng.randrange(16, 513) * 4 * KIB)
            start = rng.randrange(0, (size - length) // (4 * KIB)) * 4 * KIB
            if any(start < e and s < start + length for s, e in taken):
                continue
            taken.append((start, start + length))
            f.seek(start)
            f.write(rng.randbytes(length))
            granules.update(range(start // GRANULE, (start + length - 1) // GRANULE + 1))
            left -= length
        f.seek(size)
        f.write(fixed_footer(size))
    return granules


def make_random(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        for _ in range(size // (64 * MIB)):
            f.write(os.urandom(64 * MIB))
        f.write(fixed_footer(size))


def md5_alone(path: Path) -> tuple[float, str, str]:
    """hashlib.md5 over the fixed stream (the file itself, holes read as zeros).

    Returns the time, the MD5 of the whole stream and the MD5 of its data part (footer left out:
    a converted image carries another disk id in its footer).
    """
    md5 = hashlib.md5(usedforsecurity=False)
    buf = bytearray(4 * MIB)
    view = memoryview(buf)
    data_end = path.stat().st_size - 512
    pos = 0
    data_md5 = None
    start = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            if pos + n > data_end and data_md5 is None:
                md5.update(view[: data_end - pos])
                data_md5 = md5.copy()
                md5.update(view[data_end - pos : n])
            else:
                md5.update(view[:n])
            pos += n
    elapsed = time.perf_counter() - start
    assert data_md5 is not None
    return elapsed, md5.hexdigest(), data_md5.hexdigest()


def md5_throughput_time(size: int) -> float:
    """hashlib.md5 alone over ``size`` bytes already in memory: the hash's own cost."""
    md5 = hashlib.md5(usedforsecurity=False)
    block = memoryview(bytes(4 * MIB))
    start = time.perf_counter()
    left = size
    while left > 0:
        n = min(left, len(block))
        md5.update(block[:n])
        left -= n
    return time.perf_counter() - start


def run_engine(path: Path, url: str, home: Path, *extra: str, cwd: Path = ROOT) -> dict[str, Any]:
    """The headless command in a child process; ``cwd`` holds the ``gui`` package to run (another
    revision's copy for a before/after comparison, see bench_resume_checks.py)."""
    command = [sys.executable, "-m", "gui", "upload", str(path), "--to", url, "--json"]
    env = {**os.environ, "AZURE_IMAGE_STUDIO_HOME": str(home)}
    wall = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--progress", "none", *extra],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - wall
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"engine failed ({proc.returncode}): {err.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(out)
    result["wall"] = wall
    result["peak_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    return result


def run_sdk(az: Azurite, container: str, name: str, path: Path) -> float:
    from azure.storage.blob import BlobClient, BlobType

    with (
        BlobClient.from_connection_string(az.connection_string, container, name) as client,
        open(path, "rb") as f,
    ):
        start = time.perf_counter()
        client.upload_blob(
            f, blob_type=BlobType.PAGEBLOB, length=path.stat().st_size, max_concurrency=8
        )
        return time.perf_counter() - start


def bare_put_page_loop(url: str, path: Path, concurrency: int = 8) -> float:
    """The simplest fast uploader: every 4 MiB page sent, reads by pread, no checks at all."""
    import aiohttp
    from azure.storage.blob import BlobClient

    size = path.stat().st_size
    BlobClient.from_blob_url(url).create_page_blob(size)
    base, sas = url.split("?", 1)

    async def main() -> float:
        offsets = list(range(0, size, 4 * MIB))
        fd = os.open(path, os.O_RDONLY)
        loop = asyncio.get_running_loop()
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                while offsets:
                    offset = offsets.pop(0)
                    length = min(4 * MIB, size - offset)
                    data = await loop.run_in_executor(None, os.pread, fd, length, offset)
                    headers = {
                        "x-ms-page-write": "update",
                        "x-ms-range": f"bytes={offset}-{offset + length - 1}",
                        "x-ms-version": "2021-08-06",
                    }
                    async with session.put(
                        f"{base}?comp=page&{sas}", data=memoryview(data), headers=headers
                    ) as resp:
                        assert resp.status == 201, await resp.text()

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
        os.close(fd)
        return elapsed

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # aiohttp warns about large bodies
        return asyncio.run(main())


def blob_data_md5(az: Azurite, container: str, name: str) -> str:
    """MD5 of the downloaded blob without its last 512 bytes (the footer)."""
    from azure.storage.blob import BlobClient

    md5 = hashlib.md5(usedforsecurity=False)
    with BlobClient.from_connection_string(az.connection_string, container, name) as client:
        size = client.get_blob_properties().size
        stream = client.download_blob(offset=0, length=size - 512, max_concurrency=4)
        for chunk in stream.chunks():
            md5.update(chunk)
    return md5.hexdigest()


@contextmanager
def warm_azurite() -> Iterator[tuple[Azurite, str]]:
    """A fresh Azurite (its own tmp workspace, removed at the end: Azurite never frees the memory
    of deleted blobs) with a container, warmed up; yields both."""
    with AzuriteProcess() as az:
        container = az.create_container()
        warm_up(az, container)
        yield az, container


def warm_up(az: Azurite, container: str) -> None:
    """Azurite (Node) runs slower until its JIT has warmed up: give it work before measuring."""
    from azure.storage.blob import BlobClient

    with BlobClient.from_connection_string(az.connection_string, container, "warm-up") as c:
        c.create_page_blob(256 * MIB)
        page = os.urandom(4 * MIB)
        for offset in range(0, 256 * MIB, 4 * MIB):
            c.upload_page(page, offset=offset, length=4 * MIB)
        for offset in range(0, 256 * MIB, 8 * MIB):
            c.upload_page(page[: 64 * KIB], offset=offset, length=64 * KIB)


class Runs:
    """Repeated measurements of the same thing; the best is reported (least disturbed run)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.results: dict[str, dict[str, Any]] = {}

    def add(self, key: str, seconds: float, result: dict[str, Any] | None = None) -> None:
        self.times.setdefault(key, []).append(seconds)
        if result is not None:
            best = self.results.get(key)
            if best is None or seconds <= min(self.times[key]):
                self.results[key] = result
            self.results[key]["peak_rss_mb"] = max(
                result["peak_rss_mb"], (best or result)["peak_rss_mb"]
            )

    def best(self, key: str) -> float:
        return min(self.times[key])

    def show(self, key: str) -> str:
        all_runs = ", ".join(f"{t:.2f}" for t in self.times[key])
        return f"{self.best(key):.2f} s (runs: {all_runs})"


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="shrink sizes for a quick run")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    try:
        run_all(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_all(args: argparse.Namespace, work: Path) -> None:
    size_a = int(4 * GIB * args.scale) // MIB * MIB
    data_a = int(512 * MIB * args.scale)
    size_b = int(GIB * args.scale) // (64 * MIB) * (64 * MIB)
    home = work / "home"
    summary: dict[str, Any] = {}
    names = iter(range(1_000_000))

    def engine(runs: Runs, key: str, az: Azurite, c: str, path: Path, *extra: str) -> None:
        r = run_engine(path, az.blob_sas_url(c, f"engine-{next(names)}.vhd"), home, *extra)
        runs.add(key, r["elapsed_seconds"], r)

    def engine_both(runs: Runs, az: Azurite, c: str, path: Path) -> None:
        """One run without MD5 and one with."""
        engine(runs, "nomd5", az, c, path, "--no-md5")
        engine(runs, "md5", az, c, path)

    def engine_concurrency(runs: Runs, az: Azurite, c: str, path: Path) -> None:
        """Runs with 4 and 16 requests in flight (the default is 8), without MD5."""
        for n in (4, 16):
            engine(runs, f"nomd5-c{n}", az, c, path, "--no-md5", "--concurrency", str(n))

    print(f"(a) {size_a / GIB:.2f} GiB fixed VHD, {data_a / MIB:.0f} MiB random data scattered")
    vhd_a = work / "a.vhd"
    granules = make_scattered(vhd_a, size_a, data_a)
    nonzero = len(granules) * GRANULE
    hash_time = md5_throughput_time(size_a + 512)
    _, hash_hex, data_hex = md5_alone(vhd_a)
    a = Runs()
    with warm_azurite() as (az, c):
        for _ in range(args.repeat):
            a.add("sdk", run_sdk(az, c, f"sdk-{next(names)}.vhd", vhd_a))
            engine_both(a, az, c, vhd_a)
        engine_concurrency(a, az, c, vhd_a)
    nomd5, withmd5 = a.results["nomd5"], a.results["md5"]
    engine_md5_hex = base64.b64decode(withmd5["content_md5"]).hex()
    line("upload_blob(PageBlob, max_concurrency=8)", a.show("sdk"))
    line("engine --no-md5 (8 in flight, the default)", a.show("nomd5"))
    line("  4 / 16 in flight", f"{a.best('nomd5-c4'):.2f} / {a.best('nomd5-c16'):.2f} s")
    line("  speed-up vs upload_blob (goal >= 8)", f"{a.best('sdk') / a.best('nomd5'):.1f}x")
    ratio = nomd5["bytes_sent"] / nonzero
    line("  bytes sent / non-zero 64 KiB blocks (goal <= 1.1)", f"{ratio:.3f}")
    line("engine with MD5", a.show("md5"))
    line("hashlib.md5 alone over the fixed stream (in memory)", f"{hash_time:.2f} s")
    bound = max(a.best("nomd5"), hash_time)
    line("  MD5 time / max(no-md5, md5 alone) (goal <= 1.15)", f"{a.best('md5') / bound:.3f}")
    line("  engine MD5 equals hashlib's over the file", str(engine_md5_hex == hash_hex))
    rss = f"{nomd5['peak_rss_mb']:.0f} / {withmd5['peak_rss_mb']:.0f} MB"
    line("peak RSS no-md5 / md5 (goal < 300 MB)", rss)
    summary["a"] = {"times": a.times, "md5_alone": hash_time, "results": a.results}

    print(f"(b) {size_b / GIB:.2f} GiB fixed VHD of random data")
    vhd_b = work / "b.vhd"
    make_random(vhd_b, size_b)
    b = Runs()
    with warm_azurite() as (az, c):
        for _ in range(args.repeat):
            b.add("sdk", run_sdk(az, c, f"sdk-{next(names)}.vhd", vhd_b))
            b.add("bare", bare_put_page_loop(az.blob_sas_url(c, f"bare-{next(names)}"), vhd_b))
            engine_both(b, az, c, vhd_b)
        engine_concurrency(b, az, c, vhd_b)
    line("upload_blob(PageBlob, max_concurrency=8)", b.show("sdk"))
    line("bare Put Page loop (8 in flight)", b.show("bare"))
    for label, key in (("engine --no-md5", "nomd5"), ("engine with MD5", "md5")):
        t = b.best(key)
        line(label, b.show(key))
        line(
            "  upload_blob time / engine time (goal >= 1)",
            f"{b.best('sdk') / t:.2f}",
        )
        line("  rate vs bare loop (goal >= 0.9)", f"{b.best('bare') / t:.2f}")
        line("  peak RSS (goal < 300 MB)", f"{b.results[key]['peak_rss_mb']:.0f} MB")
    line("  4 / 16 in flight, --no-md5", f"{b.best('nomd5-c4'):.2f} / {b.best('nomd5-c16'):.2f} s")
    summary["b"] = {"times": b.times, "results": b.results}

    print("(c) the dynamic VHD of (a)")
    vhd_c = work / "c.vhd"
    qemu_convert(
        vhd_a, vhd_c, source_format="vpc", to="vpc", options="subformat=dynamic,force_size=on"
    )
    vhd_a.unlink()
    cr = Runs()
    with warm_azurite() as (az, c):
        for _ in range(args.repeat):
            engine_both(cr, az, c, vhd_c)
        checked = run_engine(vhd_c, az.blob_sas_url(c, "checked.vhd"), home, "--no-md5")
        # The footer's disk id comes from the converted file: compare the data part.
        correct = blob_data_md5(az, c, "checked.vhd") == data_hex
    line("engine --no-md5", cr.show("nomd5"))
    line("  vs (a) (goal <= 1.2)", f"{cr.best('nomd5') / a.best('nomd5'):.2f}")
    line("engine with MD5", cr.show("md5"))
    line("  vs (a) with MD5", f"{cr.best('md5') / a.best('md5'):.2f}")
    rss = max(cr.results["nomd5"]["peak_rss_mb"], cr.results["md5"]["peak_rss_mb"])
    line("  peak RSS (goal < 300 MB)", f"{rss:.0f} MB")
    line("blob downloaded: data MD5 equals (a)'s fixed stream", str(correct))
    summary["c"] = {
        "times": cr.times,
        "results": cr.results,
        "correct": correct,
        "checked": checked,
    }
    shutil.rmtree(work, ignore_errors=True)  # gigabytes of images: never leave them behind
    details = Path(tempfile.gettempdir()) / "bench_upload_summary.json"
    details.write_text(json.dumps(summary, indent=1))
    print(f"details: {details}")


if __name__ == "__main__":
    main()

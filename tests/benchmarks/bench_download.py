"""Benchmark of the download engine against Azurite (issue 13), ratios measured in one run.

    PATH=/path/to/azurite/node_modules/.bin:$PATH python3 tests/benchmarks/bench_download.py

Scenarios, each on a fresh Azurite (it never frees deleted blobs' memory):
  (a) a 4 GiB page blob (a fixed VHD) holding 512 MiB of random data in extents of 64 KiB to
      2 MiB at random 4 KiB-aligned offsets: the engine (fixed VHD out, sparse) against
      ``BlobClient.download_blob(max_concurrency=8).readinto(file)``; bytes fetched against the
      allocated page ranges; both files' MD5 against the blob's;
  (b) a dense 1 GiB page blob of random data: the same two.
Each download runs in a child process of its own, alternating engine and baseline ``--rounds``
times, so each one's peak RSS is its own (ru_maxrss) and both see the same machine load; the
time is measured inside the child (interpreter start-up excluded). The blobs are put in place
by the upload engine from a sparse local file. ``--link-mbps N`` also runs (a) through
tests/benchmarks/link.py, a loopback relay capping what all connections receive together at N
Mbit/s, as the network between a desk and Azure does: straight on loopback, Azurite's own CPU
time per request and per byte (one Node.js thread on the same two cores) decides the ratio.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.fixtures.azurite import Azurite, AzuriteProcess  # noqa: E402

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
mode, out = sys.argv[1], sys.argv[2]
url = sys.stdin.readline().strip()
# Both sides' imports before the clock starts: the download is measured, not the start-up.
from pathlib import Path
from azure.storage.blob import BlobClient
from gui.transfer.download import Download, DownloadOptions, SasUrlSource
start = time.monotonic()
extra = {}
if mode == "engine":
    result = Download(SasUrlSource(url), out, "vhd",
                      DownloadOptions(journal_dir=Path(out).parent / "journals")).run()
    extra = {"fetched": result.bytes_fetched, "allocated": result.allocated_bytes}
else:
    with BlobClient.from_blob_url(url) as blob, open(out, "wb") as f:
        blob.download_blob(max_concurrency=8).readinto(f)
elapsed = time.monotonic() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "rss": rss, **extra}))
"""


def make_scattered(path: Path, size: int, data: int, seed: int = 1) -> None:
    """A sparse fixed VHD of ``size`` disk bytes with ``data`` random bytes in extents."""
    from gui.diskimage.writers.vhd import fixed_footer

    rng = random.Random(seed)
    taken: list[tuple[int, int]] = []
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
            left -= length
        f.seek(size)
        f.write(fixed_footer(size, uuid.uuid4(), 0))


def make_dense(path: Path, size: int) -> None:
    from gui.diskimage.writers.vhd import fixed_footer

    with open(path, "wb") as f:
        for _ in range(size // (64 * MIB)):
            f.write(os.urandom(64 * MIB))
        f.write(fixed_footer(size, uuid.uuid4(), 0))


def put_blob(azurite: Azurite, source: Path) -> str:
    """Upload ``source`` (a fixed VHD) with the upload engine; returns a read SAS URL."""
    from gui.diskimage import open_image
    from gui.transfer import SasUrlTarget, Upload, UploadOptions

    container = azurite.create_container()
    name = f"{uuid.uuid4().hex[:8]}.vhd"
    url = azurite.blob_sas_url(container, name)
    with open_image(source) as image:
        Upload(image, SasUrlTarget(url), UploadOptions(
            md5=False, verify=False, journal_dir=source.parent / "up-journals")).run()
    return azurite.blob_sas_url(container, name, permission="r")


def disk_md5(path: Path, size: int) -> str:
    """MD5 of the disk's bytes (the VHD footer left out: the upload engine wrote its own into
    the blob, and the download engine writes another, with the file's own identity)."""
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        left = size
        while left > 0 and (chunk := f.read(min(16 * MIB, left))):
            md5.update(chunk)
            left -= len(chunk)
    return md5.hexdigest()


def run_child(mode: str, url: str, out: Path) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(out), str(ROOT)],
        input=url + "\n", capture_output=True, text=True, check=True,
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    found["on_disk"] = os.stat(out).st_blocks * 512
    return found


@contextmanager
def link(port: int, mbps: float) -> Iterator[int]:
    """tests/benchmarks/link.py relaying to ``port`` at ``mbps``; yields the port to use."""
    relay = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("link.py")), "--to-port", str(port),
         "--mbps", str(mbps)], stdout=subprocess.PIPE, text=True)
    try:
        assert relay.stdout is not None
        yield int(relay.stdout.readline())
    finally:
        relay.kill()
        relay.wait()


def scenario(name: str, source: Path, rounds: int, work: Path,
             link_mbps: float = 0) -> dict[str, Any]:
    with AzuriteProcess(work / f"azurite-{name}") as azurite, ExitStack() as stack:
        url = put_blob(azurite, source)
        if link_mbps:
            relayed = stack.enter_context(link(azurite.port, link_mbps))
            url = url.replace(f"127.0.0.1:{azurite.port}/", f"127.0.0.1:{relayed}/", 1)
            assert str(relayed) in url
            name = f"{name}-over-{link_mbps:g}-Mbps"
        size = source.stat().st_size - 512
        expected = disk_md5(source, size)
        engine: list[dict[str, Any]] = []
        base: list[dict[str, Any]] = []
        for _ in range(rounds):
            engine.append(run_child("engine", url, work / f"{name}-engine.vhd"))
            base.append(run_child("baseline", url, work / f"{name}-baseline.vhd"))
        same = (disk_md5(work / f"{name}-engine.vhd", size) == expected
                and disk_md5(work / f"{name}-baseline.vhd", size) == expected)
    ratios = [b["seconds"] / e["seconds"] for e, b in zip(engine, base, strict=True)]
    last = engine[-1]
    return {
        "scenario": name,
        "engine_seconds": [round(e["seconds"], 2) for e in engine],
        "baseline_seconds": [round(b["seconds"], 2) for b in base],
        "speedup_median": round(statistics.median(ratios), 2),
        "speedups": [round(r, 2) for r in ratios],
        "fetched_over_allocated": round(last["fetched"] / last["allocated"], 4),
        "engine_peak_rss_mb": round(max(e["rss"] for e in engine) / 1e6, 1),
        "baseline_peak_rss_mb": round(max(b["rss"] for b in base) / 1e6, 1),
        "engine_file_on_disk_mb": round(last["on_disk"] / 1e6, 1),
        "baseline_file_on_disk_mb": round(base[-1]["on_disk"] / 1e6, 1),
        "both_files_are_the_blob": same,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--sparse-size", type=int, default=4 * GIB)
    parser.add_argument("--sparse-data", type=int, default=512 * MIB)
    parser.add_argument("--dense-size", type=int, default=1 * GIB)
    parser.add_argument("--link-mbps", type=float, action="append", default=[],
                        help="also the sparse scenario through a link of this many Mbit/s "
                             "(tests/benchmarks/link.py); may be given more than once")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        work = Path(tmp)
        sparse = work / "sparse.vhd"
        make_scattered(sparse, args.sparse_size, args.sparse_data)
        print(json.dumps(scenario("sparse-4GiB-512MiB", sparse, args.rounds, work)), flush=True)
        for mbps in args.link_mbps:
            print(json.dumps(scenario("sparse-4GiB-512MiB", sparse, args.rounds, work, mbps)),
                  flush=True)
        sparse.unlink()
        for leftover in work.glob("sparse-*"):
            leftover.unlink()
        dense = work / "dense.vhd"
        make_dense(dense, args.dense_size)
        print(json.dumps(scenario("dense-1GiB", dense, args.rounds, work)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark of the PyInstaller bundle (issue 16): its size, and its start-up time against the
same app run from the venv, measured in the same run.

Prints:
  1. the bundle's size on disk (and the .deb's, when given);
  2. median wall time of `--version` and of `inspect` on a 32 MiB raw disk (headless start);
  3. median time from launch to the sandbox listening in the window's process (offscreen), read
     from the log line the app writes then: the same marker for both, so the two are comparable.

Run: python tests/benchmarks/bench_bundle.py --bundle dist/azure-image-studio [--deb FILE]
(build the bundle first: pyinstaller packaging/azure-image-studio.spec).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "Sandbox listening at"


def size_mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir()) / 2**20


def timed(command: Sequence[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def until_sandbox(command: Sequence[str], runs: int) -> float:
    """Median seconds from launch to the log line that says the sandbox is listening."""
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, QT_QPA_PLATFORM="offscreen", AZURE_IMAGE_STUDIO_HOME=home)
            log = Path(home) / "azure-image-studio.log"
            started = time.time()
            process = subprocess.Popen([*command, "--sandbox"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = started + 120
                while time.time() < deadline:
                    text = log.read_text(encoding="utf-8") if log.exists() else ""
                    line = next((ln for ln in text.splitlines() if MARKER in ln), None)
                    if line:
                        # The log's own timestamp (milliseconds), not when this loop saw it.
                        stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
                        times.append(stamp.timestamp() - started)
                        break
                    time.sleep(0.02)
                else:
                    raise SystemExit(f"{command[0]} did not start its sandbox within 120 s")
            finally:
                process.terminate()
                process.wait(timeout=30)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "azure-image-studio")
    parser.add_argument("--deb", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bundled = args.bundle / "azure-image-studio"
    venv = Path(sys.prefix) / "bin" / "azure-image-studio"
    for path in (bundled, venv):
        if not path.is_file():
            raise SystemExit(f"{path} is missing (build the bundle / install the venv first)")
    print(f"bundle size: {size_mib(args.bundle):.0f} MiB ({args.bundle})")
    if args.deb:
        print(f".deb size:   {size_mib(args.deb):.0f} MiB ({args.deb.name})")
    with tempfile.TemporaryDirectory() as scratch:
        disk = Path(scratch) / "disk.raw"
        with disk.open("wb") as f:
            f.truncate(32 << 20)
        env = dict(os.environ, AZURE_IMAGE_STUDIO_HOME=scratch)
        rows = []
        for label, command in (("--version", ["--version"]),
                               ("inspect 32 MiB", ["inspect", str(disk)])):
            venv_s = timed([str(venv), *command], env, args.runs)
            bundle_s = timed([str(bundled), *command], env, args.runs)
            rows.append((label, venv_s, bundle_s))
    gui_runs = max(1, args.runs // 2)
    rows.append(("window to sandbox up", until_sandbox([str(venv)], gui_runs),
                 until_sandbox([str(bundled)], gui_runs)))
    print(f"{'start-up (median)':24} {'venv':>8} {'bundle':>8} {'bundle/venv':>12}")
    for label, venv_s, bundle_s in rows:
        print(f"{label:24} {venv_s:7.2f}s {bundle_s:7.2f}s {bundle_s / venv_s:11.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

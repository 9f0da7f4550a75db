"""Benchmark: crafted disk images claiming millions of blocks (a script, not collected by pytest).

    python3 tests/benchmarks/bench_crafted.py [--baseline DIR] [--runs 3]

Builds a 16 MiB dynamic VHD whose block table holds ~4.2 million 512-byte blocks and a 75 MiB VHDX
whose table holds ~9.3 million 1 MiB blocks (all stored, or every other one, all pointing at the
same stored block: every structure is valid), then runs ``azure-image-studio inspect --json`` on
each in a child process (open + block-table check + data ranges + report) and prints its peak RSS
(RUSAGE_CHILDREN of a small launcher, see tests/diskimage/helpers.py) and wall time. Goal: under
200 MB and about a second each.

``--baseline DIR`` runs the same files through another checkout first (e.g. one made with
``git worktree add /tmp/base HEAD``), so before and after are measured in one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.diskimage.helpers import run_measured  # noqa: E402
from tests.fixtures.disk_images import write_crafted_vhd, write_crafted_vhdx  # noqa: E402

MB = 1_000_000

CASES: list[tuple[str, str, Callable[[Path], int]]] = [
    ("VHD 16 MiB, all 4.2M blocks stored", "all.vhd", write_crafted_vhd),
    ("VHD 16 MiB, every other block", "half.vhd", lambda p: write_crafted_vhd(p, every=2)),
    ("VHDX 75 MiB dynamic, all 9.3M blocks", "all.vhdx", write_crafted_vhdx),
    ("VHDX 75 MiB dynamic, every other", "half.vhdx", lambda p: write_crafted_vhdx(p, every=2)),
    (
        "VHDX 75 MiB fixed, all 9.3M blocks",
        "fixed.vhdx",
        lambda p: write_crafted_vhdx(p, fixed=True),
    ),
]


def inspect_in_child(code: Path, image: Path, timeout: float) -> tuple[float, float, int | None]:
    """(peak RSS in MB, seconds, exit status) of ``inspect --json`` run from checkout ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    peak, seconds, status, _out = run_measured(
        [sys.executable, "-m", "gui", "inspect", "--json", str(image)],
        cwd=code,
        env=env,
        timeout=timeout,
    )
    return peak / MB, seconds, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to measure first")
    parser.add_argument("--runs", type=int, default=3, help="runs per case (best time, max RSS)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a kill")
    args = parser.parse_args()
    trees = ([("before", args.baseline.resolve())] if args.baseline else []) + [("after", ROOT)]
    with tempfile.TemporaryDirectory(prefix="bench-crafted-") as tmp:
        print(f"{'case':<40} {'tree':<7} {'peak RSS':>10} {'time':>8}  exit")
        for label, name, build in CASES:
            path = Path(tmp) / name
            claimed = build(path)
            results: dict[str, tuple[float, float]] = {}
            for tree, code in trees:
                rss_max, best = 0.0, float("inf")
                status: int | None = 0
                for _ in range(args.runs):
                    rss, seconds, status = inspect_in_child(code, path, args.timeout)
                    rss_max, best = max(rss_max, rss), min(best, seconds)
                results[tree] = (rss_max, best)
                print(
                    f"{label:<40} {tree:<7} {rss_max:>7.0f} MB {best:>7.2f}s  "
                    f"{'killed at timeout' if status is None else status}"
                )
            if len(results) == 2:
                (rss_b, t_b), (rss_a, t_a) = results["before"], results["after"]
                print(
                    f"{'':<40} {'ratio':<7} {rss_b / rss_a:>8.1f}x {t_b / t_a:>7.1f}x  "
                    f"({claimed:,} blocks claimed)"
                )
            path.unlink()


if __name__ == "__main__":
    main()

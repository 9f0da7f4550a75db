"""Benchmark of opening a large disk image in the upload wizard (issue 9, item 5): the longest
stall of the GUI event loop while the wizard opens a 2 TiB dynamic VHDX with 1 MiB blocks.

The file is made by ``qemu-img create -f vhdx -o block_size=1M f.vhdx 2T`` (sparse on disk; its
block allocation table alone is 16 MiB). A 10 ms QTimer probes the event loop from just before
the wizard is made until page 1 shows what the file is. Each round opens a fresh wizard; the
first round also pays for reading the file from disk, later ones find it in the page cache.

Printed: per round the longest stall over the whole opening (wizard made, shown, file read) and
over the reading alone (after the wizard is shown); then the worst of all rounds (goal ≤ 50 ms).
Each round also opens a 1 MiB raw file the same way (nothing to read): its stall is the floor
that the window and the machine's load cause by themselves, measured in the same run.

Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_open_stall.py [--rounds 5]
To compare with an earlier commit, copy this script into a worktree of it and run it there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.gui_loop import GuiLoop  # noqa: E402
from tests.benchmarks.probes import StallProbe  # noqa: E402

if TYPE_CHECKING:
    from gui.qt.transfers.model import TransferManager
    from gui.qt.upload.wizard import UploadContext


def make_vhdx(directory: Path, size: str = "2T") -> Path:
    path = directory / "big-dynamic.vhdx"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M", str(path), size],
        check=True,
    )
    return path


def open_once(
    gui: GuiLoop, context: UploadContext, manager: TransferManager, path: Path
) -> tuple[float, float, float]:
    """Opens a wizard on ``path``: (seconds until page 1 is ready, longest stall overall,
    longest stall while the file was read)."""
    from gui.qt.upload.wizard import UploadWizard

    probe = StallProbe()
    probe.start()
    started = time.perf_counter()
    wizard = UploadWizard(context, manager, path)
    wizard.show()
    gui.app.processEvents()
    # One probe throughout: the worst gap before the file is read, then the worst after.
    before_read, probe.worst = probe.worst, 0.0
    page = wizard.file_page
    gui.wait(lambda: page.image is not None or bool(page.error), timeout=120.0)
    elapsed = time.perf_counter() - started
    # A stall shows at the first tick after it: keep the loop turning a little longer.
    settle = time.perf_counter() + 0.1
    gui.wait(lambda: time.perf_counter() > settle)
    read_stall = probe.stop()
    if page.error:
        raise SystemExit(f"the wizard refused {path.name}: {page.error}")
    wizard.reject()
    gui.app.processEvents()
    wizard.deleteLater()
    gui.app.processEvents()
    return elapsed, max(read_stall, before_read), read_stall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", default="2T", help="virtual size for qemu-img (default 2T)")
    args = parser.parse_args()

    from gui.paths import HOME_ENV

    work = Path(tempfile.mkdtemp(prefix="ais-bench-open-"))
    os.environ[HOME_ENV] = str(work / "home")
    gui = GuiLoop()

    from gui.qt.transfers.model import TransferManager
    from gui.qt.upload.wizard import UploadContext

    vhdx = make_vhdx(work, args.size)
    print("Azure Image Studio — GUI stall while the upload wizard opens a large VHDX")
    print(
        f"source: {vhdx.name}, {args.size} virtual, {vhdx.stat().st_blocks * 512 / 2**20:.0f} MiB "
        "on disk (qemu-img, dynamic, 1 MiB blocks)"
    )
    small = work / "small.raw"
    small.write_bytes(b"\x00" * 2**20)
    manager = TransferManager()
    context = UploadContext(session=None, subscription_id="", location="")
    whole_stalls: list[float] = []
    read_stalls: list[float] = []
    floor_stalls: list[float] = []
    for round_ in range(args.rounds):
        _, floor, _ = open_once(gui, context, manager, small)
        elapsed, whole, read_stall = open_once(gui, context, manager, vhdx)
        floor_stalls.append(floor)
        whole_stalls.append(whole)
        read_stalls.append(read_stall)
        print(
            f"   round {round_ + 1}: page 1 ready after {elapsed:.2f} s; longest stall "
            f"{whole * 1000:.1f} ms overall, {read_stall * 1000:.1f} ms while reading the file "
            f"(1 MiB file: {floor * 1000:.1f} ms)"
        )
    print(
        f"longest stall while reading the file: {max(read_stalls) * 1000:.1f} ms (median "
        f"{statistics.median(read_stalls) * 1000:.1f} ms); over the whole opening (wizard made "
        f"and shown too): {max(whole_stalls) * 1000:.1f} ms (goal ≤ 50 ms); the same opening of "
        f"a 1 MiB file: {max(floor_stalls) * 1000:.1f} ms (median "
        f"{statistics.median(floor_stalls) * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    main()

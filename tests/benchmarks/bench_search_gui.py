"""The window's search box: the longest GUI event-loop stall while searching (issue 14).

The real window on the sandbox (Marketplace Catalog and ARM, 50 ms latency per request): the
Marketplace's publishers listed once (so the local index holds them), then queries typed key
by key (80 ms apart, as a quick typist) until each answer shows. A 10 ms QTimer probe measures
the longest stall, against the same probe over the same window sitting idle as the baseline.
Goal: ≤ 50 ms while searching.

By default the sandbox runs in this process (as the app's sandbox mode ran it until it got a
process of its own, and as the tests run it) and shares the GIL with the window. Its
Marketplace Catalog is built on the catalogue's first request (seconds of pure Python on the
sandbox's thread), so the first query is typed and reported apart: that stall is
the sandbox's, and Azure's catalogue does not run in the app. Besides the longest stall, each
stretch reports how many stalls passed 50 ms (the idle baseline's count says how loaded the
machine is) and the CPU seconds each thread used (who competed for the GIL).

With ``--sandbox-process`` the app's own sandbox mode runs: the controller starts the sandbox
in a process of its own (gui/sandbox/process.py), sharing no GIL with the window, as against
Azure, whose catalogue and ARM answer from elsewhere; that process builds its catalogue as soon
as it listens. Run both, interleaved, to see what the in-process sandbox costs.

Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_search_gui.py [--sandbox-process]
(BENCH_SAMPLE_STALLS=1 also prints where the GUI thread was while it stalled.)
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks.probes import StallProbe, StallSampler

ROOT = Path(__file__).resolve().parents[2]

QUERIES = (
    "ubuntu 24.04 arm64",
    "sql 2022 enterprise",
    "windows server 2022 datacenter",
    "rocky 9 lvm",
    "Ubuntu2404",
    "debian 12",
)
KEY_GAP_S = 0.08
LATENCY_S = 0.05
STALL_S = 0.050  # the goal: no stall longer than this


class GapProbe(StallProbe):
    """The stall probe keeping every stall past 25 ms, so a run reports how many stalls broke
    the goal and not only the worst one (one stall of a loaded machine decides the maximum)."""

    def __init__(self) -> None:
        super().__init__()
        self.stalls: list[float] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last and now - self.last - self.INTERVAL_S > 0.025:
            self.stalls.append(now - self.last - self.INTERVAL_S)
        super()._tick()

    def start(self) -> None:
        self.stalls = []
        super().start()

    def over(self, limit: float = STALL_S) -> int:
        return sum(1 for stall in self.stalls if stall > limit)


@dataclass(frozen=True)
class Phase:
    """What one stretch of typing measured."""

    stall: float  # the longest stall, seconds
    over: int  # stalls longer than STALL_S
    answers: list[float]  # per query: seconds from its last key to its answer shown
    cpu: dict[str, float]  # CPU seconds by thread role
    seconds: float  # how long the stretch took
    gc: str = ""  # the garbage collector's pauses meanwhile

    def cpu_text(self) -> str:
        ordered = sorted(self.cpu.items(), key=lambda kv: -kv[1])
        return ", ".join(f"{role} {seconds:.2f}" for role, seconds in ordered)


class GcPauses:
    """The cyclic garbage collector's pauses (any thread's: the collector holds the GIL, so a
    long one stalls the window whichever thread set it off)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []  # (generation, seconds)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def text(self) -> str:
        full = [seconds for generation, seconds in self.pauses if generation == 2]
        longest = max((seconds for _, seconds in self.pauses), default=0.0)
        return (
            f"{len(self.pauses)} garbage collections ({len(full)} full, longest full"
            f" {max(full, default=0.0) * 1000:.0f} ms), longest {longest * 1000:.0f} ms"
        )


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds a process of its own has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu(child: int | None = None) -> dict[str, float]:
    """CPU seconds each thread of this process has used, by role (Linux /proc): who competes
    with the window's thread for the GIL, independent of how loaded the machine is."""
    import threading

    tick = os.sysconf("SC_CLK_TCK")
    roles: dict[str, float] = {}
    for thread in threading.enumerate():
        stat = Path(f"/proc/self/task/{thread.native_id}/stat")
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        name = thread.name
        if name == "MainThread":
            role = "window (GUI thread)"
        elif name.startswith(("azure-sandbox", "asyncio_")):
            role = "sandbox (its loop and executor)"
        elif name.startswith("search-index"):
            role = "search-index writer"
        elif name.startswith("ThreadPoolExecutor"):
            role = "window's worker threads"
        else:
            role = "other"
        roles[role] = roles.get(role, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    if child is not None:
        roles["sandbox (its own process)"] = process_cpu_seconds(child)
    return roles


def cpu_since(before: dict[str, float], child: int | None) -> dict[str, float]:
    return {role: seconds - before.get(role, 0.0) for role, seconds in thread_cpu(child).items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--sandbox-process", action="store_true", help="run the sandbox in a process of its own"
    )
    args = parser.parse_args()
    from PySide6.QtCore import QModelIndex
    from PySide6.QtTest import QTest

    from gui.azure.account.session import sandbox_session
    from gui.paths import HOME_ENV
    from gui.qt.app_controller import AppController
    from gui.qt.browser.tree_model import LoadState
    from gui.qt.search.panel import DEBOUNCE_MS
    from gui.sandbox import SandboxServer
    from tests.benchmarks.gui_loop import GuiLoop
    from tests.qt.helpers import make_settings

    work = Path(tempfile.mkdtemp(prefix="ais-bench-search-gui-"))
    os.environ[HOME_ENV] = str(work / "home")
    gui = GuiLoop()
    wait, run = gui.wait, gui.run
    server: Any
    child: int | None = None  # the sandbox process's pid
    controller = AppController(make_settings(work / "home"))
    window = controller.window
    window.resize(1400, 900)
    window.show()
    if args.sandbox_process:
        # The app's own sandbox mode: the controller starts the sandbox process (which builds
        # its catalogue as soon as it listens) and connects to it.
        session = run(controller._sandbox_session())
        server = controller.server
        child = server.pid
    else:
        server = SandboxServer(work / "sandbox")
        server.start()
        controller.server = server  # sandbox mode: the sandbox's catalogue answers too
        session = sandbox_session(server.arm_url)
    run(controller.use(session))
    model = window.tree_model
    marketplace = model.index(0, 0, QModelIndex())
    window.tree.expand(window.proxy.mapFromSource(marketplace))
    wait(lambda: model.load_state(marketplace) is LoadState.LOADED)
    run(window.search_service.feed.drained())
    server.faults.latency = LATENCY_S

    probe = GapProbe()
    idle_before = thread_cpu(child)
    probe.start()
    gui.wait(lambda: time.perf_counter() - probe.started > 3.0)
    idle = probe.stop()
    idle_over = probe.over()
    idle_phase = Phase(idle, idle_over, [], cpu_since(idle_before, child), 3.0)

    panel = window.search_panel
    sampling = bool(os.environ.get("BENCH_SAMPLE_STALLS"))

    def typing(queries: tuple[str, ...], label: str) -> Phase:
        """Types ``queries`` key by key, each until its answer shows, under the probe."""
        answers: list[float] = []
        sampler = StallSampler(probe)
        cpu_before = thread_cpu(child)
        started = time.perf_counter()
        probe.start()
        if sampling:
            print(f"typing the queries now ({label})", flush=True)  # a profiler may attach
            sampler.start()
        pauses = GcPauses().__enter__()
        for query in queries:
            panel.box.clear()
            panel.box.setFocus()
            for char in query:
                QTest.keyClicks(panel.box, char)
                typed = time.perf_counter()
                wait(lambda t=typed: time.perf_counter() - t >= KEY_GAP_S)  # type: ignore[misc]
            done_typing = time.perf_counter()
            wait(lambda q=query: panel.model.query == q and not panel.busy)  # type: ignore[misc]
            answers.append(time.perf_counter() - done_typing)
        stall = probe.stop()
        pauses.__exit__()
        cpu = cpu_since(cpu_before, child)
        if sampling:
            sampler.stop()
            print(f"{label}: {sampler.report()}")
        seconds = time.perf_counter() - started
        return Phase(stall, probe.over(), answers, cpu, seconds, pauses.text())

    # The sandbox builds its Marketplace Catalog (thousands of generated products and their
    # index: seconds of pure Python on its thread) on its first request. Azure's catalogue
    # runs on Azure, so that build is the sandbox's own cost: the first query, typed while it
    # builds, is reported apart, and the goal is measured on the queries after it.
    cold = typing(QUERIES[:1], "first query, the sandbox's catalogue cold")
    warm = typing(QUERIES, "the queries, catalogue warm")
    # What the next full collection will cost (whenever it comes, it holds the GIL that long).
    collected = time.perf_counter()
    gc.collect()
    full_collection = time.perf_counter() - collected

    where = "its own process" if child is not None else "this process"
    print(f"Azure Image Studio — search box benchmark (sandbox in {where}, 50 ms per request)")
    print(f"  queries typed key by key ({KEY_GAP_S * 1000:.0f} ms apart): {len(QUERIES)}")
    print(f"  answer after the last key: median {median(warm.answers) * 1000:.0f} ms,"
          f" max {max(warm.answers) * 1000:.0f} ms (includes the {DEBOUNCE_MS} ms debounce)")
    print(f"  longest GUI stall while searching: {warm.stall * 1000:.1f} ms (goal ≤ 50 ms);"
          f" stalls over 50 ms: {warm.over} in {warm.seconds:.1f} s")
    print(f"  longest GUI stall idle (baseline, same window): {idle * 1000:.1f} ms;"
          f" stalls over 50 ms: {idle_over} in 3.0 s")
    print(f"  CPU seconds while searching, by thread: {warm.cpu_text()}")
    print(f"  meanwhile {warm.gc}; a full collection after searching: "
          f"{full_collection * 1000:.0f} ms (the window stalls as long)")
    print(f"  CPU seconds idle (3 s), by thread: {idle_phase.cpu_text()}")
    print(f"  first query while the sandbox builds its catalogue: longest stall"
          f" {cold.stall * 1000:.1f} ms, stalls over 50 ms: {cold.over} in {cold.seconds:.1f} s,"
          f" answer {cold.answers[0] * 1000:.0f} ms after the last key")
    print(f"    CPU seconds, by thread: {cold.cpu_text()}")
    print(f"    meanwhile {cold.gc}")
    window.cancel_tasks()
    run(controller.shutdown())


if __name__ == "__main__":
    main()

"""Measuring what a user feels: the longest stall of the GUI event loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


class StallProbe:
    """A 10 ms QTimer; the longest gap between two ticks minus 10 ms is the longest stall.

    ``worst_cpu`` is the most CPU time the GUI thread spent between two ticks: on a machine
    shared with other work a stall's wall time also counts the time the process waited for a
    core, while its CPU time is what the window's own work cost (what a quiet machine shows,
    as long as no other thread of the process holds the GIL meanwhile: StallSampler says).
    """

    INTERVAL_S = 0.010

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(round(self.INTERVAL_S * 1000))
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.last_cpu = 0.0
        self.worst = 0.0
        self.worst_cpu = 0.0
        self.started = 0.0
        self.worst_at = 0.0  # seconds after start() when the longest stall ended

    def _tick(self) -> None:
        now = time.perf_counter()
        cpu = time.thread_time()
        if self.last and now - self.last - self.INTERVAL_S > self.worst:
            self.worst = now - self.last - self.INTERVAL_S
            self.worst_at = now - self.started
        if self.last:
            self.worst_cpu = max(self.worst_cpu, cpu - self.last_cpu)
        self.last = now
        self.last_cpu = cpu

    def start(self) -> None:
        self.last = 0.0
        self.worst = 0.0
        self.worst_cpu = 0.0
        self.started = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst


class StallSampler:
    """Where the GUI thread is while it stalls: a watchdog thread samples the GUI thread's
    Python stack every ``period_s`` while the probe's last tick is older than ``threshold_s``,
    and counts the innermost frames of our code (and the stack's top) per sample.

    The stall probe says how long; this says why. A stall inside C code that holds the GIL
    (json.dumps of a big list in another thread, say) shows as the GUI thread waiting at a
    Python line that does nothing heavy: read such samples as "the GIL was elsewhere".

    To tell the two apart, each sample also counts the other threads that were in Python code
    of their own (not parked in a selector, a lock or a queue): the thread that held the GIL
    is among them, and ``others`` says which, while a stall in Qt's C++ work shows none.
    """

    def __init__(
        self, probe: StallProbe, threshold_s: float = 0.025, period_s: float = 0.002
    ) -> None:
        import threading

        self.probe = probe
        self.threshold_s = threshold_s
        self.period_s = period_s
        self.gui_thread_id = threading.get_ident()
        self.samples: dict[tuple[str, ...], int] = {}
        self.others: dict[str, int] = {}  # "thread name: innermost frame" -> samples
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import sys
        import traceback

        while not self._stop.wait(self.period_s):
            last = self.probe.last
            if not last or time.perf_counter() - last < self.threshold_s:
                continue
            frame = sys._current_frames().get(self.gui_thread_id)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [f for f in stack if "/gui/" in f.filename or "/tests/" in f.filename]

            def where(f: traceback.FrameSummary) -> str:
                return f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"

            key = (*(where(f) for f in ours[-3:]), "TOP " + where(stack[-1]))
            self.samples[key] = self.samples.get(key, 0) + 1
            self._count_others(sys._current_frames(), where)

    # Where a thread waits without wanting the GIL: not the culprit of a stall.
    _PARKED = ("selectors.py", "threading.py", "queue.py", "thread.py", "probes.py")

    def _count_others(self, frames: dict[int, Any], where: Callable[[Any], str]) -> None:
        import threading
        import traceback

        names = {t.ident: t.name for t in threading.enumerate()}
        for ident, frame in frames.items():
            if ident == self.gui_thread_id:
                continue
            top = traceback.extract_stack(frame, limit=1)[-1]
            if top.filename.endswith(self._PARKED):
                continue
            key = f"{names.get(ident, ident)}: {where(top)}"
            self.others[key] = self.others.get(key, 0) + 1

    def report(self, top: int = 12) -> str:
        total = sum(self.samples.values()) or 1
        lines = [
            f"stall samples: {total} (every {self.period_s * 1000:.0f} ms past "
            f"{self.threshold_s * 1000:.0f} ms without a tick)"
        ]
        for key, count in sorted(self.samples.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{count:5d} {100 * count / total:5.1f}%  " + "  <  ".join(reversed(key)))
        busy = sum(self.others.values())
        lines.append(f"other threads in Python code at those samples: {busy} thread-samples")
        for name, count in sorted(self.others.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{count:5d} {100 * count / total:5.1f}%  {name}")
        return "\n".join(lines)

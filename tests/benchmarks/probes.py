"""Measuring what a user feels: the longest stall of the GUI event loop."""

from __future__ import annotations

import time


class StallProbe:
    """A 10 ms QTimer; the longest gap between two ticks minus 10 ms is the longest stall."""

    INTERVAL_S = 0.010

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(round(self.INTERVAL_S * 1000))
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.worst = 0.0
        self.started = 0.0
        self.worst_at = 0.0  # seconds after start() when the longest stall ended

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last and now - self.last - self.INTERVAL_S > self.worst:
            self.worst = now - self.last - self.INTERVAL_S
            self.worst_at = now - self.started
        self.last = now

    def start(self) -> None:
        self.last = 0.0
        self.worst = 0.0
        self.started = time.perf_counter()
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.worst

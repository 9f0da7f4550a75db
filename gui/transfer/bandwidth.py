"""A bandwidth cap shared by any number of uploads: a token bucket, safe across threads and loops.

Each upload runs on its own event loop and thread, and a VM image's disks upload at the same time
within one budget, so the bucket is guarded by a plain lock and only *computes* how long a caller
waits; the caller sleeps on its own loop. A request larger than the bucket borrows against the
future (the bucket goes negative) rather than being refused: Put Page bodies are up to 4 MiB
whatever the cap, and the average rate is what the user asked for.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

# The bucket holds at most this much of a second's budget, so a pause does not let a burst
# of several seconds' worth through at once when sending resumes.
BURST_SECONDS = 0.5


class BandwidthCap:
    """At most ``bytes_per_second`` on average over every caller; None or 0 means no cap."""

    def __init__(self, bytes_per_second: int | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._rate = 0.0
        self._tokens = 0.0
        self._last = clock()
        self.set_rate(bytes_per_second)

    @property
    def rate(self) -> int | None:
        return int(self._rate) or None

    def set_rate(self, bytes_per_second: int | None) -> None:
        """Change the cap while uploads run (the settings dialog does); None lifts it."""
        with self._lock:
            self._refill()
            self._rate = float(max(0, bytes_per_second or 0))
            self._tokens = min(self._tokens, self._burst())

    def _burst(self) -> float:
        return self._rate * BURST_SECONDS

    def _refill(self) -> None:
        now = self._clock()
        if self._rate:
            self._tokens = min(self._burst(), self._tokens + (now - self._last) * self._rate)
        self._last = now

    def reserve(self, nbytes: int) -> float:
        """Take ``nbytes`` from the budget; returns the seconds to wait before sending them."""
        with self._lock:
            if not self._rate:
                return 0.0
            self._refill()
            self._tokens -= nbytes
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    async def acquire(self, nbytes: int) -> None:
        delay = self.reserve(nbytes)
        if delay > 0:
            await asyncio.sleep(delay)

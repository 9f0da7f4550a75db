"""Retry timing and the adaptive limit on requests in flight."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded per request and for the whole upload."""

    max_attempts: int = 10  # per request, the first try included
    budget: int = 1000  # retries allowed for the whole upload
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0
    request_timeout: float = 120.0  # one Put Page of 4 MiB on a slow link
    throttle_calm_seconds: float = 2.0  # without throttling before requests in flight rise again

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): half fixed, half random."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (the storage service sends seconds, never HTTP dates)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class AdaptiveLimiter:
    """Caps requests in flight: halved when the service throttles, raised by one when calm.

    Only used on the engine's loop; it is not thread-safe and needs none.
    """

    def __init__(self, limit: int, *, calm_seconds: float = 2.0) -> None:
        self.maximum = max(1, limit)
        self.limit = self.maximum
        self.in_flight = 0
        self._calm_seconds = calm_seconds
        self._last_throttle = -1e9
        self._last_halving = -1e9
        self._halving_interval = min(0.25, calm_seconds)
        self._successes = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1

    async def release(self) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def throttled(self) -> None:
        now = time.monotonic()
        # One halving per burst (requests in flight fail together when the service pushes
        # back), but again and again while the throttling goes on.
        if now - self._last_halving > self._halving_interval:
            self.limit = max(1, self.limit // 2)
            self._last_halving = now
        self._last_throttle = now
        self._successes = 0

    async def succeeded(self) -> None:
        self._successes += 1
        calm = time.monotonic() - self._last_throttle > self._calm_seconds
        if self.limit < self.maximum and calm and self._successes >= 2 * self.limit:
            self._successes = 0
            async with self._changed:
                self.limit += 1
                self._changed.notify_all()

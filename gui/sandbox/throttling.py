"""ARM's read throttling: a token bucket per subscription (and one for tenant-level reads).

Azure Resource Manager's current throttling ("Understand how Azure Resource Manager throttles
requests", learn.microsoft.com, azure-resource-manager/management/request-limits-and-throttling;
announced as "Modernizing Azure Resource Manager Throttling", March 2024) gives each subscription
and each tenant a bucket of 250 read tokens that refills by 25 tokens every second. Every read
takes a token; an empty bucket answers 429 with ``Retry-After``, and every read answer carries
``x-ms-ratelimit-remaining-subscription-reads`` (``...-tenant-reads`` for tenant-level reads).

Only reads (GET, HEAD) are modelled: the benchmark this exists for walks the Marketplace, which is
all reads. Off unless ``Faults.throttle_reads()`` switches it on, so tests that make many requests
are not slowed by a limit they do not test.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# The documented defaults: bucket size and refill per second, per subscription and per tenant.
READ_BUCKET = 250
READ_REFILL_PER_SECOND = 25.0

_SUBSCRIPTION = re.compile(r"^/subscriptions/([^/?]+)", re.IGNORECASE)
SUBSCRIPTION_READS_HEADER = "x-ms-ratelimit-remaining-subscription-reads"
TENANT_READS_HEADER = "x-ms-ratelimit-remaining-tenant-reads"


@dataclass
class _Bucket:
    tokens: float
    # When the bucket was last topped up: tokens arrive in whole refill intervals after it.
    last_refill: float


@dataclass(frozen=True)
class ReadAllowance:
    """One read's outcome: admitted or not, the tokens left, and when to try again."""

    allowed: bool
    remaining: int
    retry_after_s: int
    header: str  # the x-ms-ratelimit-remaining-* header this scope's answers carry
    scope: str  # the subscription id, or "" for a tenant-level read


@dataclass
class ReadThrottle:
    """Token buckets for ARM reads, keyed by subscription (tenant-level reads share one).

    ``refill_interval_s`` is how often tokens arrive (Azure: every second, ``refill_per_second``
    at a time); tests shorten it so a bucket recovers in milliseconds rather than a second.
    """

    bucket: int = READ_BUCKET
    refill_per_second: float = READ_REFILL_PER_SECOND
    refill_interval_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    # Requests are admitted on the server's loop while tests read the state from their thread.
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, path: str) -> ReadAllowance:
        """Takes one token for a read of ``path`` (its subscription's bucket, else the tenant's)."""
        m = _SUBSCRIPTION.match(path)
        scope = m.group(1).lower() if m else ""
        header = SUBSCRIPTION_READS_HEADER if scope else TENANT_READS_HEADER
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(scope)
            if bucket is None:
                bucket = self._buckets[scope] = _Bucket(float(self.bucket), now)
            self._refill(bucket, now)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return ReadAllowance(True, int(bucket.tokens), 0, header, scope)
            wait = bucket.last_refill + self.refill_interval_s - now
            # ARM names whole seconds; a token is there by then.
            return ReadAllowance(False, 0, max(1, math.ceil(wait)), header, scope)

    def remaining(self, subscription_id: str = "") -> int:
        """The tokens a subscription's bucket holds now (a full bucket if never used)."""
        with self._lock:
            bucket = self._buckets.get(subscription_id.lower())
            if bucket is None:
                return self.bucket
            self._refill(bucket, self.clock())
            return int(bucket.tokens)

    def _refill(self, bucket: _Bucket, now: float) -> None:
        # Tokens arrive in steps, one interval's worth at a time, never past the bucket's size
        # (Azure discards refill tokens that do not fit).
        intervals = math.floor((now - bucket.last_refill) / self.refill_interval_s)
        if intervals <= 0:
            return
        per_interval = self.refill_per_second * self.refill_interval_s
        bucket.tokens = min(float(self.bucket), bucket.tokens + intervals * per_interval)
        bucket.last_refill += intervals * self.refill_interval_s


def is_read(method: str) -> bool:
    return method.upper() in ("GET", "HEAD")

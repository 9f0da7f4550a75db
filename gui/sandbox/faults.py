"""Fault and latency injection for tests and benchmarks.

Rules are matched by a regular expression on the request path (and optionally the method); a rule
with ``times=N`` fires N times and then retires. Rules are changed from test threads while the
server's loop reads them, hence the lock.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from gui.sandbox.throttling import READ_BUCKET, READ_REFILL_PER_SECOND, ReadThrottle


@dataclass
class FaultRule:
    pattern: re.Pattern[str]
    status: int
    code: str
    message: str | None = None
    times: int | None = None
    retry_after: float | None = None
    method: str | None = None
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.pattern.search(path) is not None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


_DEFAULT_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "NotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


# Not Azure's text (its details for a failed region were not found in the specs, docs or issues
# read): the shape Azure uses, a sentence naming the region, what failed and what to do.
REPLICATION_FAILURE_DETAILS = (
    "Replication to region '{region}' failed: the replica's storage could not be written in "
    "that region. Update the image version's target regions to retry the replication."
)


@dataclass
class ReplicationFailure:
    """One region's replication fails (``times`` replications of it, then it works again)."""

    region: str  # the region's short name, e.g. "eastus"
    details: str
    times: int | None = 1
    fired: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


@dataclass
class Faults:
    """The set of active fault rules, the latency added to every request (seconds) and ARM's
    read throttling (off unless ``throttle_reads`` switches it on)."""

    latency: float = 0.0
    read_throttle: ReadThrottle | None = None
    _rules: list[FaultRule] = field(default_factory=list)
    _replication: list[ReplicationFailure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        path_regex: str,
        *,
        status: int,
        code: str | None = None,
        message: str | None = None,
        times: int | None = None,
        retry_after: float | None = None,
        method: str | None = None,
    ) -> FaultRule:
        """Answer requests whose path matches ``path_regex`` with an error.

        ``times=None`` fires forever; ``retry_after`` adds a Retry-After header (seconds).
        """
        rule = FaultRule(
            pattern=re.compile(path_regex, re.IGNORECASE),
            status=status,
            code=code or _DEFAULT_CODES.get(status, "InternalServerError"),
            message=message,
            times=times,
            retry_after=retry_after,
            method=method,
        )
        with self._lock:
            self._rules.append(rule)
        return rule

    def throttle_reads(
        self,
        *,
        bucket: int = READ_BUCKET,
        refill_per_second: float = READ_REFILL_PER_SECOND,
        refill_interval_s: float = 1.0,
    ) -> ReadThrottle:
        """Throttle ARM reads as Azure does (a token bucket per subscription, Azure's sizes unless
        given); a new call starts with full buckets."""
        throttle = ReadThrottle(
            bucket=bucket, refill_per_second=refill_per_second, refill_interval_s=refill_interval_s
        )
        self.read_throttle = throttle
        return throttle

    def fail_replication(
        self, region: str, *, details: str | None = None, times: int | None = 1
    ) -> ReplicationFailure:
        """Make the next ``times`` replications of a gallery image version to ``region`` (its
        short name) fail part-way, with ``details`` (Azure-like text naming the region unless
        given) in the version's regional replication status."""
        short = region.lower().replace(" ", "")
        failure = ReplicationFailure(
            short, details or REPLICATION_FAILURE_DETAILS.format(region=region), times
        )
        with self._lock:
            self._replication.append(failure)
        return failure

    def take_replication_failure(self, region: str) -> str | None:
        """The details of a failure planned for a replication to ``region`` now starting (counted
        as fired), or None when it replicates."""
        short = region.lower().replace(" ", "")
        with self._lock:
            for failure in self._replication:
                if failure.region == short and not failure.exhausted:
                    failure.fired += 1
                    return failure.details
        return None

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._replication.clear()
            self.latency = 0.0
            self.read_throttle = None

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first live rule matching this request, counted as fired."""
        with self._lock:
            for rule in self._rules:
                if not rule.exhausted and rule.matches(method, path):
                    rule.fired += 1
                    return rule
        return None

    @property
    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

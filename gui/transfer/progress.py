"""Progress as plain frozen snapshots, and the sliding-window rate behind rate and ETA."""

from __future__ import annotations

import enum
import time
from collections import deque
from dataclasses import dataclass


class UploadState(enum.StrEnum):  # a str: resume journals store it as it is
    PENDING = "pending"
    PREPARING = "preparing"  # checking the target, the journal and what is already there
    UPLOADING = "uploading"
    PAUSED = "paused"
    FINISHING = "finishing"  # footer, Content-MD5, verification
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (UploadState.COMPLETED, UploadState.FAILED, UploadState.CANCELLED)


@dataclass(frozen=True)
class ProgressSnapshot:
    """Everything a progress bar needs, at one moment; safe to hand to any thread."""

    state: UploadState
    total_bytes: int  # the whole fixed stream (upload size)
    bytes_sent: int  # sent over the network in this run
    bytes_skipped: int  # zeros, unallocated blocks and holes: never sent
    bytes_present: int  # already on the blob from an earlier run (resume)
    send_rate: float  # bytes/s sent over the last seconds
    rate: float  # bytes/s of the stream dealt with (sent + skipped + present) over the last seconds
    eta_seconds: float | None  # None while unknown
    elapsed_seconds: float
    in_flight_limit: int  # requests allowed in flight now (lowered while throttled)
    retries: int
    md5_bytes: int  # how far the Content-MD5 has got (0 when off)
    message: str = ""  # the error, when state is FAILED or CANCELLED
    # Requests on the wire now. PAUSED starts at once, but requests already sent still finish:
    # the pause has fully taken hold when this is 0 ("pausing..." until then).
    requests_in_flight: int = 0

    @property
    def bytes_done(self) -> int:
        return self.bytes_sent + self.bytes_skipped + self.bytes_present

    @property
    def fraction(self) -> float:
        return min(1.0, self.bytes_done / self.total_bytes) if self.total_bytes else 0.0


class RateMeter:
    """Bytes per second over the last ``horizon`` seconds."""

    def __init__(self, horizon: float = 5.0) -> None:
        self._horizon = horizon
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, value: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._samples.append((now, value))
        while len(self._samples) > 2 and now - self._samples[1][0] > self._horizon:
            self._samples.popleft()

    def rate(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, v0), (t1, v1) = self._samples[0], self._samples[-1]
        return (v1 - v0) / (t1 - t0) if t1 > t0 else 0.0

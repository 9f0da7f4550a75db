"""ARM's read throttling in the sandbox: a token bucket per subscription (and one for tenant-level
reads), 429 with Retry-After once it is empty, the remaining reads on every read answer, and
recovery as the bucket refills. Off unless switched on (the fixture clears it after each test)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from gui.sandbox import SandboxServer
from gui.sandbox.seed import DEVTEST_SUBSCRIPTION_ID, PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.throttling import READ_BUCKET, READ_REFILL_PER_SECOND, ReadThrottle

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
_REMAINING = "x-ms-ratelimit-remaining-subscription-reads"


def _send(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any, dict[str, str]]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": "Bearer test", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null"), dict(response.headers)
    except urllib.error.HTTPError as err:
        answer = (err.code, json.loads(err.read() or b"null"), dict(err.headers))
        err.close()
        return answer


def groups_url(sandbox: SandboxServer, subscription: str = PRODUCTION_SUBSCRIPTION_ID) -> str:
    return f"{sandbox.arm_url}/subscriptions/{subscription}/resourcegroups?api-version=2025-04-01"


def test_reads_are_not_throttled_unless_switched_on(sandbox: SandboxServer) -> None:
    for _ in range(5):
        status, _, headers = _send(groups_url(sandbox))
        assert status == 200
        assert _REMAINING not in headers


def test_an_empty_bucket_answers_429_with_retry_after_and_refills(sandbox: SandboxServer) -> None:
    # A clock of the test's own: no refill can slip in while the machine is slow.
    now = [0.0]
    sandbox.faults.read_throttle = ReadThrottle(bucket=4, refill_per_second=2, clock=lambda: now[0])
    remaining = []
    for _ in range(4):
        status, _, headers = _send(groups_url(sandbox))
        assert status == 200
        remaining.append(int(headers[_REMAINING]))
    assert remaining == [3, 2, 1, 0]
    status, body, headers = _send(groups_url(sandbox))
    assert status == 429
    assert body["error"]["code"] == "SubscriptionRequestsThrottled"
    assert PRODUCTION_SUBSCRIPTION_ID in body["error"]["message"]
    assert int(headers["Retry-After"]) >= 1
    assert headers[_REMAINING] == "0"
    now[0] += 1.0  # one refill interval: two tokens come back
    status, _, headers = _send(groups_url(sandbox))
    assert status == 200
    assert headers[_REMAINING] == "1"


def test_each_subscription_has_its_own_bucket(sandbox: SandboxServer) -> None:
    sandbox.faults.throttle_reads(bucket=1, refill_per_second=0.001, refill_interval_s=60)
    assert _send(groups_url(sandbox))[0] == 200
    assert _send(groups_url(sandbox))[0] == 429
    assert _send(groups_url(sandbox, DEVTEST_SUBSCRIPTION_ID))[0] == 200
    status, _, headers = _send(f"{sandbox.arm_url}/tenants?api-version=2022-12-01")
    assert status == 200  # tenant-level reads: a bucket of their own, with their own header
    assert headers["x-ms-ratelimit-remaining-tenant-reads"] == "0"


def test_writes_do_not_take_read_tokens(sandbox: SandboxServer) -> None:
    sandbox.faults.throttle_reads(bucket=1, refill_per_second=0.001, refill_interval_s=60)
    assert _send(groups_url(sandbox))[0] == 200
    assert _send(groups_url(sandbox))[0] == 429
    url = groups_url(sandbox).replace("resourcegroups?", "resourcegroups/rg-throttling?")
    status, _, headers = _send(url, "PUT", {"location": "westeurope"})
    assert status in (200, 201)
    assert _REMAINING not in headers


def test_clearing_the_faults_switches_it_off(sandbox: SandboxServer) -> None:
    sandbox.faults.throttle_reads(bucket=1, refill_per_second=0.001, refill_interval_s=60)
    _send(groups_url(sandbox))
    assert _send(groups_url(sandbox))[0] == 429
    sandbox.faults.clear()
    assert _send(groups_url(sandbox))[0] == 200


def test_azure_s_numbers_are_the_default() -> None:
    throttle = ReadThrottle()
    assert (throttle.bucket, throttle.refill_per_second) == (READ_BUCKET, READ_REFILL_PER_SECOND)
    assert (READ_BUCKET, READ_REFILL_PER_SECOND) == (250, 25.0)


def test_tokens_come_back_in_whole_intervals_up_to_the_bucket_size() -> None:
    now = [100.0]
    throttle = ReadThrottle(bucket=250, refill_per_second=25, clock=lambda: now[0])
    path = f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourcegroups"
    for _ in range(250):
        assert throttle.take(path).allowed
    refused = throttle.take(path)
    assert not refused.allowed
    assert refused.retry_after_s == 1
    now[0] += 0.99  # not a whole second yet: nothing back
    assert not throttle.take(path).allowed
    now[0] += 0.02
    assert throttle.remaining(PRODUCTION_SUBSCRIPTION_ID) == 25
    now[0] += 60  # a full bucket holds no more than its size
    assert throttle.remaining(PRODUCTION_SUBSCRIPTION_ID) == 250

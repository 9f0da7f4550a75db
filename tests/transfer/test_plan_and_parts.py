"""The pieces under the engine: range sets, the window plan, redaction, retry timing."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from gui.transfer.errors import InvalidTargetError
from gui.transfer.plan import GRANULE, WINDOW_SIZE, plan_windows
from gui.transfer.ranges import RangeSet
from gui.transfer.redact import redact
from gui.transfer.retry import RetryPolicy, parse_retry_after
from gui.transfer.targets import ConnectionStringTarget, SasUrlTarget, sas_expiry


@dataclass(frozen=True)
class R:
    offset: int
    length: int


def test_range_set_merges_touching_and_answers_coverage() -> None:
    rs = RangeSet()
    for start, end in [(10, 20), (30, 40), (20, 30), (50, 60), (5, 8)]:
        rs.add(start, end)
    assert list(rs) == [(5, 8), (10, 40), (50, 60)]
    assert rs.covers(12, 38)
    assert not rs.covers(8, 12)
    assert not rs.covers(55, 61)
    assert rs.covers(3, 3)
    assert rs.overlapping(0, 55) == [(5, 8), (10, 40), (50, 55)]
    assert RangeSet.from_json(rs.to_json()) == rs
    assert rs.total == 3 + 30 + 10


def test_range_set_matches_a_set_of_offsets() -> None:
    rng = random.Random(4)
    rs, offsets = RangeSet(), set[int]()
    for _ in range(300):
        start = rng.randrange(0, 2000)
        end = start + rng.randrange(0, 50)
        rs.add(start, end)
        offsets.update(range(start, end))
    assert {o for s, e in rs for o in range(s, e)} == offsets
    for _ in range(300):
        start = rng.randrange(0, 2000)
        end = start + rng.randrange(1, 40)
        assert rs.covers(start, end) == all(o in offsets for o in range(start, end))


def test_windows_cover_the_data_granule_aligned_and_never_the_footer() -> None:
    rng = random.Random(2)
    end = 64 * 1024 * 1024
    ranges = sorted(
        {R(rng.randrange(0, end // 512) * 512, rng.randrange(1, 200) * 512) for _ in range(60)},
        key=lambda r: r.offset,
    )
    merged = RangeSet((r.offset, min(r.offset + r.length, end)) for r in ranges)
    windows = list(plan_windows([R(s, e - s) for s, e in merged], end))
    assert [w.index for w in windows] == sorted({w.index for w in windows})
    seen = RangeSet()
    for w in windows:
        assert w.start == w.index * WINDOW_SIZE and w.end <= end
        for s, e in w.spans:
            assert w.start <= s < e <= w.end
            assert s % GRANULE == 0 and (e % GRANULE == 0 or e == w.end)
        for s, e in w.pieces:
            assert any(a <= s and e <= b for a, b in w.spans)
            seen.add(s, e)
        assert w.hole_bytes == (w.end - w.start) - w.span_bytes
    assert seen == merged


def test_redact_masks_signatures_keys_and_tokens() -> None:
    text = (
        "https://a.blob.core.windows.net/c/b?sv=2021&se=2030-01-01&sig=abc%2Bdef%3D&sp=racw "
        "AccountName=a;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net Bearer eyJ0eXAi.x.y"
    )
    out = redact(text)
    for secret in ("abc%2Bdef%3D", "c2VjcmV0", "eyJ0eXAi.x.y"):
        assert secret not in out
    assert "se=2030-01-01" in out and "sig=REDACTED" in out


def test_retry_delay_grows_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    first = [policy.delay(1) for _ in range(50)]
    assert all(0.5 <= d <= 1.0 for d in first) and len(set(first)) > 1
    assert all(4.0 <= policy.delay(4) <= 8.0 for _ in range(20))
    assert all(policy.delay(10) <= 8.0 for _ in range(20))
    assert policy.delay(1, retry_after=5.0) >= 5.0
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("soon") is None


def test_targets_refuse_malformed_input_with_a_reason() -> None:
    with pytest.raises(InvalidTargetError, match="no SAS"):
        SasUrlTarget("https://a.blob.core.windows.net/c/disk.vhd")
    with pytest.raises(InvalidTargetError, match="names no blob"):
        SasUrlTarget("https://a.blob.core.windows.net/c?sig=x")
    with pytest.raises(InvalidTargetError, match="not a full URL"):
        SasUrlTarget("a.blob.core.windows.net/c/d?sig=x")
    with pytest.raises(InvalidTargetError, match="neither an AccountKey"):
        ConnectionStringTarget("AccountName=a;EndpointSuffix=core.windows.net", "c", "d")
    with pytest.raises(InvalidTargetError, match="malformed"):
        ConnectionStringTarget("garbage", "c", "d")
    target = ConnectionStringTarget("AccountName=a;AccountKey=a2V5", "c", "my disk.vhd")
    assert target.blob_url == "https://a.blob.core.windows.net/c/my%20disk.vhd"
    assert sas_expiry("se=2030-01-02T03:04:05Z&sig=x") is not None

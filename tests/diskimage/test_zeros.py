"""The zero scan against a plain reference implementation."""

from __future__ import annotations

import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gui.diskimage import Range
from gui.diskimage.zeros import nonzero_runs


def reference(buf: bytes, base: int, granularity: int) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for start in range(0, len(buf), granularity):
        chunk = buf[start : start + granularity]
        if any(chunk):
            if runs and runs[-1][1] == start:
                runs[-1][1] = start + len(chunk)
            else:
                runs.append([start, start + len(chunk)])
    return [(base + a, b - a) for a, b in runs]


@settings(max_examples=200, deadline=None, database=None)
@given(size=st.integers(0, 5000), marks=st.lists(st.integers(0, 4999), max_size=12),
       granularity=st.sampled_from([1, 7, 64, 512, 4096]), base=st.integers(0, 1 << 40))
def test_matches_reference(size: int, marks: list[int], granularity: int, base: int) -> None:
    buf = bytearray(size)
    for m in marks:
        if m < size:
            buf[m] = 1 + m % 255
    got = nonzero_runs(buf, base, granularity)
    assert [(r.offset, r.length) for r in got] == reference(bytes(buf), base, granularity)


def test_buffer_kinds_agree() -> None:
    data = bytearray(300_000)
    data[70_000] = 9
    data[299_999] = 1
    expected = [Range(65536, 65536), Range(262144, 300_000 - 262144)]
    assert nonzero_runs(data) == expected
    assert nonzero_runs(bytes(data)) == expected
    assert nonzero_runs(memoryview(data)) == expected
    # A view of another item size is scanned as its bytes.
    words = array.array("I", bytes(data[: 300_000 - 300_000 % 4]))
    assert nonzero_runs(memoryview(words))[0] == Range(65536, 65536)


def test_all_zero_and_empty() -> None:
    assert nonzero_runs(bytes(1 << 20)) == []
    assert nonzero_runs(b"") == []


def test_adjacent_granules_merge() -> None:
    data = bytearray(4 * 65536)
    data[65535] = 1
    data[65536] = 1
    assert nonzero_runs(data, 1000) == [Range(1000, 2 * 65536)]


def test_granularity_must_be_positive() -> None:
    with pytest.raises(ValueError):
        nonzero_runs(b"x", granularity=0)

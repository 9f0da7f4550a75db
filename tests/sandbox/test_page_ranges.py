"""The engine's RangeSet as the sandbox's page blobs use it: pages written, cleared, truncated."""

from __future__ import annotations

import random

from gui.transfer.ranges import RangeSet


def _bytes(ranges: RangeSet) -> set[int]:
    return {b for start, end in ranges for b in range(start, end)}


def test_remove_cuts_holes_and_ends() -> None:
    pages = RangeSet([(0, 512), (1024, 4096)])
    pages.remove(1536, 2048)
    pages.remove(0, 256)
    pages.remove(4000, 9000)
    assert list(pages) == [(256, 512), (1024, 1536), (2048, 4000)]
    pages.remove(600, 1000)  # nothing there
    pages.remove(700, 700)  # empty
    assert list(pages) == [(256, 512), (1024, 1536), (2048, 4000)]


def test_truncate_drops_what_lies_past_the_new_size() -> None:
    pages = RangeSet([(0, 512), (1024, 4096)])
    pages.truncate(2048)
    assert list(pages) == [(0, 512), (1024, 2048)]
    pages.truncate(8192)  # growing keeps everything
    assert list(pages) == [(0, 512), (1024, 2048)]
    pages.truncate(0)
    assert list(pages) == []
    empty = RangeSet()
    empty.truncate(512)
    assert list(empty) == []


def test_add_remove_and_truncate_agree_with_a_set_of_bytes() -> None:
    rng = random.Random(1234)
    pages, model = RangeSet(), set[int]()
    for _ in range(400):
        start = rng.randrange(0, 300)
        end = start + rng.randrange(0, 40)
        action = rng.choice(("add", "add", "remove", "truncate"))
        if action == "add":
            pages.add(start, end)
            model |= set(range(start, end))
        elif action == "remove":
            pages.remove(start, end)
            model -= set(range(start, end))
        else:
            pages.truncate(end + 200)
            model = {b for b in model if b < end + 200}
        assert _bytes(pages) == model
        # Stored sorted, disjoint and not touching, as the page-range listing needs.
        flat = [x for pair in pages for x in pair]
        assert flat == sorted(flat) and len(set(flat)) == len(flat)
    assert pages.overlapping(50, 120) == [
        (max(s, 50), min(e, 120)) for s, e in pages if s < 120 and e > 50
    ]

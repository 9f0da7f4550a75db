"""Half-open byte intervals kept sorted and merged: the engine's journals and page-range checks,
and the sandbox's page blobs (their written pages)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator


class RangeSet:
    """A set of byte offsets stored as sorted, disjoint, non-touching ``[start, end)`` pairs."""

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in sorted(pairs):
            self.add(start, end)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self._starts, self._ends, strict=True))

    def __len__(self) -> int:
        return len(self._starts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RangeSet) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"RangeSet({list(self)!r})"

    @property
    def total(self) -> int:
        return sum(e - s for s, e in self)

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        # First interval that could touch [start, end): the one ending at or after start.
        i = bisect.bisect_left(self._ends, start)
        j = bisect.bisect_right(self._starts, end)
        if i < j:
            start = min(start, self._starts[i])
            end = max(end, self._ends[j - 1])
        self._starts[i:j] = [start]
        self._ends[i:j] = [end]

    def remove(self, start: int, end: int) -> None:
        """Take ``[start, end)`` out of the set (a page blob's cleared pages)."""
        if end <= start:
            return
        i = bisect.bisect_right(self._ends, start)
        j = bisect.bisect_left(self._starts, end)
        if i >= j:
            return
        keep_starts: list[int] = []
        keep_ends: list[int] = []
        if self._starts[i] < start:
            keep_starts.append(self._starts[i])
            keep_ends.append(start)
        if self._ends[j - 1] > end:
            keep_starts.append(end)
            keep_ends.append(self._ends[j - 1])
        self._starts[i:j] = keep_starts
        self._ends[i:j] = keep_ends

    def truncate(self, size: int) -> None:
        """Drop everything at or after ``size`` (a page blob resized smaller)."""
        if self._ends:
            self.remove(size, max(size, self._ends[-1]))

    def covers(self, start: int, end: int) -> bool:
        """True when every byte of ``[start, end)`` is in the set."""
        if end <= start:
            return True
        i = bisect.bisect_right(self._starts, start) - 1
        return i >= 0 and self._ends[i] >= end

    def overlapping(self, start: int, end: int) -> list[tuple[int, int]]:
        """The parts of the set inside ``[start, end)``."""
        out: list[tuple[int, int]] = []
        i = max(bisect.bisect_right(self._starts, start) - 1, 0)
        while i < len(self._starts) and self._starts[i] < end:
            s, e = max(self._starts[i], start), min(self._ends[i], end)
            if s < e:
                out.append((s, e))
            i += 1
        return out

    def minus(self, other: RangeSet) -> RangeSet:
        """The parts of this set that are not in ``other``."""
        out = RangeSet()
        for start, end in self:
            cursor = start
            for s, e in other.overlapping(start, end):
                out.add(cursor, s)
                cursor = e
            out.add(cursor, end)
        return out

    def to_json(self) -> list[list[int]]:
        return [[s, e] for s, e in self]

    @classmethod
    def from_json(cls, data: Iterable[Iterable[int]]) -> RangeSet:
        pairs = []
        for item in data:
            s, e = (int(x) for x in item)
            pairs.append((s, e))
        return cls(pairs)

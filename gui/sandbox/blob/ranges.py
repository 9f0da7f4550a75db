"""A set of half-open byte ranges, kept sorted and merged (a page blob's written pages)."""

from __future__ import annotations

import bisect


class RangeSet:
    def __init__(self, ranges: list[tuple[int, int]] | None = None) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for start, end in ranges or []:
            self.add(start, end)

    def __len__(self) -> int:
        return len(self._starts)

    def add(self, start: int, end: int) -> None:
        if end <= start:
            return
        # First range that could touch [start, end): the one ending at or after start.
        i = bisect.bisect_left(self._ends, start)
        j = bisect.bisect_right(self._starts, end)
        if i < j:
            start = min(start, self._starts[i])
            end = max(end, self._ends[j - 1])
        self._starts[i:j] = [start]
        self._ends[i:j] = [end]

    def remove(self, start: int, end: int) -> None:
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
        self.remove(size, max(size, self._ends[-1]) if self._ends else size)

    def within(self, start: int, end: int) -> list[tuple[int, int]]:
        """The stored ranges clipped to [start, end)."""
        i = bisect.bisect_right(self._ends, start)
        out: list[tuple[int, int]] = []
        for k in range(i, len(self._starts)):
            s, e = self._starts[k], self._ends[k]
            if s >= end:
                break
            out.append((max(s, start), min(e, end)))
        return out

    def as_list(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))

    @property
    def total(self) -> int:
        return sum(e - s for s, e in zip(self._starts, self._ends, strict=True))

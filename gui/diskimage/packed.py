"""Questions about a whole chunk of a block table at once, answered in C.

A crafted table can claim millions of entries, and touching each one from Python costs seconds.
Here a chunk's entries are split into byte lanes (byte k of every entry, one ``bytes`` per k), a
lane is compared with a byte by ``bytes.translate``, and the results are combined as Python
integers holding one byte per entry (``0x01`` true, ``0x00`` false; entry i is byte i, little
end first). Counting is ``int.bit_count``, a 0/1 ``bytes`` for regular expressions is
``to_bytes``: nothing loops over the entries in Python.
"""

from __future__ import annotations

import functools
import re
import sys
from array import array
from collections.abc import Iterator
from typing import Protocol


@functools.cache
def _ones(count: int) -> int:
    return int.from_bytes(b"\x01" * count, "little")


@functools.cache
def _less_than(value: int) -> bytes:
    """translate() table: 1 for the bytes below ``value``."""
    return bytes(int(b < value) for b in range(256))


@functools.cache
def _equal_to(value: int) -> bytes:
    return bytes(int(b == value) for b in range(256))


_RUN = re.compile(rb"\x01+")


class GapSource(Protocol):
    @property
    def gap(self) -> int: ...


def _joined(entry_map: int, join: int, everything: int) -> int:
    """``entry_map`` with each set entry also setting the ``join`` entries after it, so runs
    separated by at most ``join`` clear entries touch. Shift-or doubling: log2(join) steps."""
    covered = 0
    while covered < join:
        step = min(covered + 1, join - covered)
        entry_map |= entry_map << (8 * step)
        covered += step
    return entry_map & everything


def runs(entry_map: int, count: int, unit: int,
         join: GapSource | None = None) -> Iterator[tuple[int, int]]:
    """(first, end) indices of the runs of set entries in a map of ``count`` entries.

    Runs separated by at most ``join.gap`` bytes (``unit`` bytes an entry) come out as one,
    found on a widened copy of the map; each run's end is then taken from the exact map. The gap
    is read again after every run, so a collector that starts joining mid-chunk is obeyed at once.
    """
    exact = entry_map.to_bytes(count, "little")
    everything = _ones(count)
    gap = join.gap if join else 0
    searched = exact if gap < unit else _joined(entry_map, gap // unit, everything).to_bytes(
        count, "little")
    pos = 0
    while (match := _RUN.search(searched, pos)) is not None:
        first, end = match.span()
        yield first, exact.rfind(b"\x01", first, end) + 1
        pos = end
        if join is not None and join.gap != gap:
            gap = join.gap
            searched = _joined(entry_map, gap // unit, everything).to_bytes(count, "little")


class Packed:
    """Unsigned integers of one array, as byte lanes ready for whole-chunk comparisons."""

    def __init__(self, values: array[int]) -> None:
        self._raw = values.tobytes()
        self._width = values.itemsize
        self.count = len(values)
        self._lanes: dict[int, bytes] = {}
        self._maps: dict[tuple[int, bytes], int] = {}
        self._limit = 1 << (8 * self._width)
        self.all = _ones(self.count)

    def lane(self, k: int) -> bytes:
        """Byte ``k`` (0 = least significant) of every entry, sliced out when first asked."""
        lane = self._lanes.get(k)
        if lane is None:
            at = k if sys.byteorder == "little" else self._width - 1 - k
            lane = self._lanes[k] = self._raw[at :: self._width]
        return lane

    def map_of(self, lane: bytes, table: bytes) -> int:
        """The map of ``lane.translate(table)``, for a table of 0/1 bytes."""
        return int.from_bytes(lane.translate(table), "little")

    def _lane_map(self, k: int, table: bytes) -> int:
        # Thresholds of one chunk often share their upper bytes: compute each lane test once.
        key = (k, table)
        found = self._maps.get(key)
        if found is None:
            found = self._maps[key] = self.map_of(self.lane(k), table)
        return found

    def below(self, value: int) -> int:
        """The map of entries less than ``value``: a lexicographic compare, top byte first."""
        if value <= 0:
            return 0
        if value >= self._limit:
            return self.all
        less = 0
        equal = self.all
        for k in range(self._width - 1, -1, -1):
            byte = (value >> (8 * k)) & 0xFF
            if byte:
                less |= equal & self._lane_map(k, _less_than(byte))
            if not value & ((1 << (8 * k)) - 1):
                break  # the lower bytes of value are zero: an entry equal so far is not below
            equal &= self._lane_map(k, _equal_to(byte))
            if not equal:
                break
        return less
    def between(self, low: int, high: int) -> int:
        """The map of entries in [low, high)."""
        if high <= low:
            return 0
        return self.below(high) & ~self.below(low) & self.all

    def first(self, entry_map: int) -> int:
        """Index of the first entry set in a non-empty map."""
        return ((entry_map & -entry_map).bit_length() - 1) // 8

"""Block-table entries read from the file in pages, with a small bounded cache.

A table can be hundreds of MiB for a large disk and its claimed size cannot be trusted, so it is
never loaded whole: pages of a fixed size are read on demand and at most ``max_pages`` are kept.
The file is opened read-only and the table never changes while it is open, so a page read by one
thread is valid for all; the lock only guards the cache's bookkeeping.
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import OrderedDict

from gui.diskimage.pio import SourceFile

PAGE_BYTES = 64 * 1024
MAX_PAGES = 16  # 1 MiB at most, whatever the disk size


class TableReader:
    """``count`` unsigned entries of ``itemsize`` bytes (4 or 8) at ``offset`` in ``file``."""

    def __init__(self, file: SourceFile, offset: int, count: int, *, itemsize: int,
                 big_endian: bool, max_pages: int = MAX_PAGES) -> None:
        self._file = file
        self._offset = offset
        self.count = count
        self._typecode = "I" if itemsize == 4 else "Q"
        self._itemsize = itemsize
        self._swap = big_endian != (sys.byteorder == "big")
        self._page_entries = PAGE_BYTES // itemsize
        self._max_pages = max_pages
        self._pages: OrderedDict[int, array[int]] = OrderedDict()
        self._lock = threading.Lock()

    def _page(self, number: int) -> array[int]:
        with self._lock:
            page = self._pages.get(number)
            if page is not None:
                self._pages.move_to_end(number)
                return page
        first = number * self._page_entries
        entries = min(self._page_entries, self.count - first)
        page = array(self._typecode)
        page.frombytes(self._file.read(self._offset + first * self._itemsize,
                                       entries * self._itemsize))
        if self._swap:
            page.byteswap()
        with self._lock:
            self._pages[number] = page
            while len(self._pages) > self._max_pages:
                self._pages.popitem(last=False)
        return page

    def array(self, start: int, stop: int) -> array[int]:
        """Entries [start, stop) as an array (machine integers: cheap to count, sort, compare)."""
        out = array(self._typecode)
        pos = start
        while pos < stop:
            number, within = divmod(pos, self._page_entries)
            page = self._page(number)
            take = min(stop - pos, len(page) - within)
            if take <= 0:
                raise AssertionError("table entries past the table requested")  # engine bug
            out += page[within : within + take]
            pos += take
        return out

    def entries(self, start: int, stop: int) -> list[int]:
        """Entries [start, stop); the caller keeps both inside the table."""
        return self.array(start, stop).tolist()

"""What to read and what to send: the fixed stream cut into windows of at most one Put Page.

A window is a 4 MiB-aligned slice of the stream that holds data (``data_ranges``). Inside it the
data is widened to whole 64 KiB granules (aligned to the stream, so "bytes sent" compares with the
count of non-zero 64 KiB blocks), read into one buffer and scanned for granules that are not all
zero; each run of such granules becomes one Put Page request. Parts of the stream outside every
window are never read: they are unallocated blocks or file-system holes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from isal import isal_zlib

from gui.diskimage.zeros import nonzero_runs
from gui.transfer.errors import SourceReadError
from gui.transfer.source import SECTOR, SourceRange, UploadSource

MAX_PUT_PAGE = 4 * 1024 * 1024  # the service's limit for one Put Page request
WINDOW_SIZE = MAX_PUT_PAGE
GRANULE = 64 * 1024
_ZEROS = bytes(WINDOW_SIZE)


@dataclass(frozen=True)
class Window:
    """One buffer's worth of the stream: ``spans`` are the granule-aligned parts to read."""

    index: int
    start: int
    end: int
    spans: tuple[tuple[int, int], ...]
    pieces: tuple[tuple[int, int], ...]  # the data ranges inside the spans, the only bytes read

    @property
    def span_bytes(self) -> int:
        return sum(e - s for s, e in self.spans)

    @property
    def hole_bytes(self) -> int:
        """Bytes of the window known to be zero without reading them."""
        return self.end - self.start - self.span_bytes


def data_end(source: UploadSource) -> int:
    """Where the footer starts: every window lies before it."""
    return source.upload_size - SECTOR


def plan_windows(
    data_ranges: Sequence[SourceRange], stream_end: int, window_size: int = WINDOW_SIZE
) -> Iterator[Window]:
    """The windows holding data, in stream order (lazy: a huge disk never builds a long list)."""
    pending: list[tuple[int, int]] = []
    current = -1

    def flush() -> Window:
        start = current * window_size
        end = min(start + window_size, stream_end)
        spans: list[tuple[int, int]] = []
        for s, e in pending:
            a = max(start, s - (s - start) % GRANULE)
            b = min(end, e + (-(e - start)) % GRANULE)
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], b))
            else:
                spans.append((a, b))
        return Window(current, start, end, tuple(spans), tuple(pending))

    for r in sorted(data_ranges, key=lambda r: r.offset):
        pos, stop = r.offset, min(r.offset + r.length, stream_end)
        while pos < stop:
            index = pos // window_size
            piece_end = min(stop, (index + 1) * window_size)
            if index != current:
                if pending:
                    yield flush()
                current, pending = index, []
            pending.append((pos, piece_end))
            pos = piece_end
    if pending:
        yield flush()


def scan_window(source: UploadSource, window: Window, buf: bytearray) -> list[tuple[int, int]]:
    """Read the window's data into ``buf`` (window-relative) and return its non-zero runs.

    Runs in a worker thread: the reads use ``pread`` and the zero test is a C ``memcmp``, so the
    GIL is free most of the time.
    """
    view = memoryview(buf)
    runs: list[tuple[int, int]] = []
    pieces = iter(window.pieces)
    piece = next(pieces, None)
    for span_start, span_end in window.spans:
        cursor = span_start
        while piece is not None and piece[0] < span_end:
            p_start, p_end = piece
            if p_start > cursor:  # granule padding before the data: zero, not read
                view[cursor - window.start : p_start - window.start] = _ZEROS[: p_start - cursor]
            target = view[p_start - window.start : p_end - window.start]
            try:
                got = source.readinto(p_start, target)
            except OSError as exc:
                raise SourceReadError(
                    f"Reading {source.path} at offset {p_start} failed: {exc.strerror}. "
                    "Check the disk holding the file, then run the upload again to resume."
                ) from exc
            if got != p_end - p_start:
                raise SourceReadError(
                    f"{source.path} ended early at offset {p_start + max(got, 0)}: was it "
                    "truncated? Check the file, then run the upload again."
                )
            cursor = p_end
            piece = next(pieces, None)
        if cursor < span_end:
            view[cursor - window.start : span_end - window.start] = _ZEROS[: span_end - cursor]
        span_view = view[span_start - window.start : span_end - window.start]
        for run in nonzero_runs(span_view, base=span_start, granularity=GRANULE):
            if runs and runs[-1][1] == run.offset:
                runs[-1] = (runs[-1][0], run.offset + run.length)
            else:
                runs.append((run.offset, run.offset + run.length))
    return runs


def scan_and_digest(
    source: UploadSource, window: Window, buf: bytearray
) -> list[tuple[int, int, int]]:
    """:func:`scan_window`, each run with the CRC-32 of its bytes (start, end, crc), which the
    journal keeps to recognise on resume what was sent (see gui/transfer/journal.py). ISA-L's
    CRC-32 gives zlib's values (journals written before stay valid) at ~6x its speed."""
    view = memoryview(buf)
    return [
        (start, end, isal_zlib.crc32(view[start - window.start : end - window.start]))
        for start, end in scan_window(source, window, buf)
    ]

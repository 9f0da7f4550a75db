"""Content-MD5 of the whole fixed stream, computed on a thread of its own alongside the upload.

The hash must see the stream in order, zeros and footer included. Zeros are fed from memory,
never read. Data comes from the upload's own window buffers (a :class:`WindowFeed` hands them
over in stream order, and a buffer is reused only once hashed), so the data is read once; the
upload reads every window, also those already on the blob when resuming, to check them. Without
a feed the hasher walks the data ranges by itself. ``hashlib``
releases the GIL on large updates, so the hash runs in parallel with the HTTP thread.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.errors import SourceReadError, UploadCancelledError, UploadError
from gui.transfer.plan import Window
from gui.transfer.source import UploadSource

_BLOCK = 4 * 1024 * 1024
_ZEROS = memoryview(bytes(_BLOCK))
_POLL = 0.2  # seconds between checks for a stop while waiting


@dataclass(frozen=True)
class SharedWindow:
    """A window the upload reads into ``buf``; ``scanned`` resolves once the buffer holds it."""

    window: Window
    buf: bytearray
    scanned: concurrent.futures.Future[None]
    on_hashed: Callable[[], None]  # the buffer may be reused


class WindowFeed:
    """Windows in stream order, from the upload's loop to the hasher's thread."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[SharedWindow | None] = queue.SimpleQueue()

    def put(self, item: SharedWindow) -> None:
        self._queue.put(item)

    def close(self) -> None:
        """No more windows: the rest of the stream is zeros, then the footer."""
        self._queue.put(None)

    def get(self, timeout: float) -> SharedWindow | None:
        return self._queue.get(timeout=timeout)


class StreamHasher:
    """Computes MD5 of ``[0, upload_size)``; ``bytes_hashed`` may be read from any thread."""

    def __init__(
        self,
        source: UploadSource,
        running: threading.Event,
        cancelled: threading.Event,
        feed: WindowFeed | None = None,
    ) -> None:
        self._source = source
        self._running = running
        self._cancelled = cancelled
        self._feed = feed
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._buf = bytearray(_BLOCK) if feed is None else bytearray()
        self.bytes_hashed = 0

    def _gate(self) -> None:
        while not self._running.wait(_POLL):
            if self._cancelled.is_set():
                break
        if self._cancelled.is_set():
            raise UploadCancelledError(Text(QT_TR_NOOP("The upload was cancelled.")))

    def _update(self, data: memoryview) -> None:
        self._gate()
        self._md5.update(data)
        self.bytes_hashed += len(data)

    def _zeros(self, count: int) -> None:
        while count > 0:
            n = min(count, _BLOCK)
            self._update(_ZEROS[:n])
            count -= n

    def _read(self, start: int, end: int) -> None:
        """Hash ``[start, end)`` of the stream, read from the source."""
        if not self._buf:
            self._buf = bytearray(_BLOCK)
        view = memoryview(self._buf)
        source = self._source
        pos = start
        while pos < end:
            n = min(end - pos, _BLOCK)
            try:
                got = source.readinto(pos, view[:n])
            except UploadError:
                raise
            except Exception as exc:  # OSError or the image layer's own errors
                raise SourceReadError(
                    message(
                        QT_TR_NOOP("Reading {path} at offset {pos} failed: {reason}"),
                        path=source.path, pos=pos, reason=exc)
                ) from exc
            if got != n:
                raise SourceReadError(message(
                    QT_TR_NOOP("{path} ended early at offset {offset}."),
                    path=source.path, offset=pos + got))
            self._update(view[:n])
            pos += n

    def compute(self) -> bytes:
        source = self._source
        data_end = source.upload_size - len(source.footer)
        pos = self._from_feed() if self._feed is not None else self._from_ranges(data_end)
        self._zeros(data_end - pos)
        self._md5.update(source.footer)
        self.bytes_hashed += len(source.footer)
        return self._md5.digest()

    def _from_ranges(self, data_end: int) -> int:
        pos = 0
        for r in sorted(self._source.data_ranges(), key=lambda r: r.offset):
            start, end = max(r.offset, pos), min(r.offset + r.length, data_end)
            if end > start:
                self._zeros(start - pos)
                self._read(start, end)
                pos = end
        return pos

    def _next(self) -> SharedWindow | None:
        assert self._feed is not None
        while True:
            try:
                return self._feed.get(_POLL)
            except queue.Empty:
                self._gate()

    def _from_feed(self) -> int:
        pos = 0
        while (item := self._next()) is not None:
            window = item.window
            if window.start < pos:  # a wrong hash must never reach the blob
                raise UploadError(
                    message(
                        QT_TR_NOOP("Internal error: the hash received the stream out of order at "
                                   "{start}. Run the upload again; it resumes."),
                        start=window.start)
                )
            self._zeros(window.start - pos)
            pos = window.start
            self._wait_scanned(item)
            view = memoryview(item.buf)
            try:
                for start, end in window.spans:
                    self._zeros(start - pos)
                    self._update(view[start - window.start : end - window.start])
                    pos = end
            finally:
                view.release()
                item.on_hashed()
            self._zeros(window.end - pos)
            pos = window.end
        return pos

    def _wait_scanned(self, item: SharedWindow) -> None:
        while True:
            try:
                item.scanned.result(timeout=_POLL)
                return
            except TimeoutError:
                self._gate()

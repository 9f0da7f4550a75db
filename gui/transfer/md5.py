"""Content-MD5 of the whole fixed stream, computed on a thread of its own alongside the upload.

The hasher walks the stream in order by itself: it reads the data ranges and feeds zeros for
everything else without reading it. Reading again what the upload reads costs a page-cache copy,
far less than the hash, and keeps the hasher independent of the upload's order and of resume
(where most of the stream is never read by the upload at all). ``hashlib`` releases the GIL on
large updates, so the hash runs truly in parallel with the HTTP thread.
"""

from __future__ import annotations

import hashlib
import threading

from gui.transfer.errors import SourceReadError, UploadCancelledError
from gui.transfer.source import UploadSource

_BLOCK = 4 * 1024 * 1024
_ZEROS = memoryview(bytes(_BLOCK))


class StreamHasher:
    """Computes MD5 of ``[0, upload_size)``; ``bytes_hashed`` may be read from any thread."""

    def __init__(
        self, source: UploadSource, running: threading.Event, cancelled: threading.Event
    ) -> None:
        self._source = source
        self._running = running
        self._cancelled = cancelled
        self.bytes_hashed = 0

    def _gate(self) -> None:
        while not self._running.wait(0.2):
            if self._cancelled.is_set():
                break
        if self._cancelled.is_set():
            raise UploadCancelledError("The upload was cancelled.")

    def _zeros(self, md5: hashlib._Hash, count: int) -> None:
        while count > 0:
            self._gate()
            n = min(count, _BLOCK)
            md5.update(_ZEROS[:n])
            count -= n
            self.bytes_hashed += n

    def compute(self) -> bytes:
        source = self._source
        md5 = hashlib.md5(usedforsecurity=False)
        data_end = source.upload_size - len(source.footer)
        buf = bytearray(_BLOCK)
        view = memoryview(buf)
        pos = 0
        for r in sorted(source.data_ranges(), key=lambda r: r.offset):
            start, end = max(r.offset, pos), min(r.offset + r.length, data_end)
            if end <= start:
                continue
            self._zeros(md5, start - pos)
            pos = start
            while pos < end:
                self._gate()
                n = min(end - pos, _BLOCK)
                try:
                    got = source.readinto(pos, view[:n])
                except UploadCancelledError:
                    raise
                except Exception as exc:  # OSError or the image layer's own errors
                    raise SourceReadError(
                        f"Reading {source.path} at offset {pos} failed: {exc}"
                    ) from exc
                if got != n:
                    raise SourceReadError(f"{source.path} ended early at offset {pos + got}.")
                md5.update(view[:n])
                pos += n
                self.bytes_hashed += n
        self._zeros(md5, data_end - pos)
        md5.update(source.footer)
        self.bytes_hashed += len(source.footer)
        return md5.digest()

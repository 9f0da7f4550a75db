"""The upload engine: one upload of a fixed-layout stream to a page blob, on a thread of its own.

``Upload`` owns a thread running its own asyncio loop (never the caller's): HTTP requests run
there, bounded by an adaptive limit; file reads and zero scans run in a small thread pool; the
Content-MD5 runs on another thread alongside. ``pause()``, ``resume()`` and ``cancel()`` may be
called from any thread; progress arrives as frozen snapshots through a callback invoked on the
engine thread (at most every ``progress_interval`` seconds, and on every change of state).

Memory stays bounded: at most ``concurrency + readahead`` window buffers of 4 MiB exist, and a
window's buffer is reused only once all of its Put Page requests have finished.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import logging
import os
import random
import ssl
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import aiohttp

from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.bandwidth import BandwidthCap
from gui.transfer.blob import PageBlobClient, TransferCounters
from gui.transfer.errors import (
    JournalError,
    SourceChangedError,
    SourceReadError,
    TargetExistsError,
    TargetNotFoundError,
    TargetSizeMismatchError,
    UploadCancelledError,
    UploadError,
    VerificationError,
)
from gui.transfer.journal import Journal, default_journal_dir
from gui.transfer.md5 import SharedWindow, StreamHasher, WindowFeed
from gui.transfer.network import connector_tls, proxy_for
from gui.transfer.plan import WINDOW_SIZE, Window, data_end, plan_windows, scan_and_digest
from gui.transfer.progress import ProgressSnapshot, RateMeter, UploadState
from gui.transfer.ranges import RangeSet
from gui.transfer.redact import redact
from gui.transfer.retry import AdaptiveLimiter, RetryPolicy
from gui.transfer.source import SECTOR, SourceIdentity, UploadSource, check_source
from gui.transfer.targets import BlobTarget

log = logging.getLogger(__name__)

# Measured against Azurite (tests/benchmarks/bench_upload.py and a bare Put Page loop): 4 MiB
# pages reach the plateau at 4-8 in flight (168 MB/s at 1, 309 at 4, 322 at 8, 327 at 16); over
# three benchmark runs 4, 8 and 16 in flight were within the run-to-run noise of each other for
# both the sparse 4 GiB and the dense 1 GiB image; 1 in flight is clearly slower. 8 keeps a
# margin for the real service's higher latency while holding at most 12 buffers of 4 MiB.
DEFAULT_CONCURRENCY = 8

ProgressCallback = Callable[[ProgressSnapshot], None]


@dataclass(frozen=True)
class UploadOptions:
    concurrency: int = DEFAULT_CONCURRENCY  # Put Page requests in flight at most
    md5: bool = True  # compute Content-MD5 of the whole stream and set it on the blob (only on
    # targets that keep blob properties: a managed disk's upload SAS does not)
    overwrite: bool = False  # replace an existing blob / discard an unfinished upload
    verify: bool = True  # check size, pages, footer and Content-MD5 on the service at the end
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    readahead: int = 4  # windows read and scanned ahead of the requests
    read_threads: int = max(2, min(4, os.cpu_count() or 2))
    progress_interval: float = 0.1
    journal_dir: Path | None = None  # default: gui.paths.journal_dir()
    # TLS trust for the storage endpoint: None is the system's plus REQUESTS_CA_BUNDLE or
    # SSL_CERT_FILE when set; a context for a private CA (a private endpoint's own certificate).
    ssl_context: ssl.SSLContext | None = None
    # The bandwidth budget, shared by every upload given the same object (None: no cap).
    bandwidth: BandwidthCap | None = None


@dataclass(frozen=True)
class UploadResult:
    target: str  # the blob URL, without any SAS
    upload_size: int
    bytes_sent: int
    bytes_skipped: int
    bytes_present: int  # already on the blob from an earlier run
    content_md5: str | None  # base64, as Azure shows it
    elapsed_seconds: float
    requests: int
    retries: int
    resumed: bool


class Upload:
    """One upload; create, optionally ``start()``, then ``result()`` (or just ``run()``)."""

    def __init__(
        self,
        source: UploadSource,
        target: BlobTarget,
        options: UploadOptions | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> None:
        self.source = source
        self.target = target
        self.options = options or UploadOptions()
        if self.options.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = threading.Event()  # cleared while paused (read by the MD5 thread too)
        self._running.set()
        self._cancel_requested = threading.Event()
        self._hasher_stop = threading.Event()
        self._unpaused: asyncio.Event | None = None
        self._done = threading.Event()
        self._result: UploadResult | None = None
        self._error: UploadError | None = None
        self._state = UploadState.PENDING
        self._sent = 0
        self._skipped = 0
        self._present = 0
        self._started_at = 0.0
        self._counters = TransferCounters()
        self._limiter: AdaptiveLimiter | None = None
        self._hasher: StreamHasher | None = None
        self._feed: WindowFeed | None = None
        self._md5_future: asyncio.Future[bytes] | None = None
        self._send_meter = RateMeter()
        self._done_meter = RateMeter()
        self._md5_meter = RateMeter()
        self._snapshot = self._make_snapshot()
        self._resumed = False

    # -- control, from any thread -----------------------------------------------------------

    def start(self) -> None:
        """Start the engine thread; returns at once."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this upload was already started")
            self._thread = threading.Thread(
                target=self._thread_main, name="upload-engine", daemon=True
            )
            self._thread.start()

    def pause(self) -> None:
        """Stop starting requests (those in flight finish); the MD5 thread waits too."""
        self._running.clear()
        self._in_loop(self._apply_pause)

    def resume(self) -> None:
        self._running.set()
        self._in_loop(self._apply_pause)

    def cancel(self) -> None:
        """Stop as soon as possible; the journal keeps what was sent, a new start resumes."""
        self._cancel_requested.set()
        self._hasher_stop.set()
        self._in_loop(self._apply_cancel)

    def wait(self, timeout: float | None = None) -> bool:
        """True when the upload has finished (completed, failed or cancelled)."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> UploadResult:
        """The outcome; raises the UploadError that ended the upload."""
        if not self._done.wait(timeout):
            raise TimeoutError("the upload is still running")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def run(self) -> UploadResult:
        """Start and wait: the blocking form for scripts."""
        self.start()
        return self.result()

    @property
    def snapshot(self) -> ProgressSnapshot:
        """The latest progress snapshot."""
        return self._snapshot

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    # -- the engine thread --------------------------------------------------------------------

    def _in_loop(self, callback: Callable[[], None]) -> None:
        with self._lock:
            loop = self._loop
        if loop is not None and not loop.is_closed():
            # RuntimeError: the loop closed in between, so the upload is over anyway.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(callback)

    def _apply_pause(self) -> None:
        if self._unpaused is None:
            return
        if self._running.is_set():
            self._unpaused.set()
            if self._state is UploadState.PAUSED:
                self._set_state(UploadState.UPLOADING)
        else:
            self._unpaused.clear()
            if self._state is UploadState.UPLOADING:
                self._set_state(UploadState.PAUSED)

    def _apply_cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        with self._lock:
            self._loop = loop
        try:
            loop.run_until_complete(self._guarded())
        finally:
            with self._lock:
                self._loop = None
            loop.run_until_complete(_close_dropped_connections())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._done.set()

    async def _guarded(self) -> None:
        self._task = asyncio.current_task()
        self._unpaused = asyncio.Event()
        if self._running.is_set():
            self._unpaused.set()
        self._started_at = time.monotonic()
        try:
            if self._cancel_requested.is_set():
                raise asyncio.CancelledError
            result = await self._main()
        except asyncio.CancelledError:
            self._error = UploadCancelledError(
                message(
                    QT_TR_NOOP("The upload to {target} was cancelled. What was sent stays: start "
                               "the same upload again to resume."),
                    target=self.target.display_name)
            )
            self._set_state(UploadState.CANCELLED, str(self._error))
        except UploadError as exc:
            self._error = exc
            self._set_state(UploadState.FAILED, str(exc))
        except Exception as exc:  # a bug or an unexpected OS error: still report, never hang
            log.error("upload failed unexpectedly: %s", redact(traceback.format_exc()))
            self._error = UploadError(
                message(
                    QT_TR_NOOP("The upload failed unexpectedly: {reason}. Run it again to resume."),
                    reason=redact(f'{type(exc).__name__}: {exc}'))
            )
            self._set_state(UploadState.FAILED, str(self._error))
        else:
            self._result = result
            self._set_state(UploadState.COMPLETED)

    def discard_journal(self) -> None:
        """Forget what was sent once the target itself is gone (a cancelled upload's disk was
        deleted): an upload to a new target of the same name then starts clean instead of
        being refused as another source's unfinished upload."""
        journal_dir = self.options.journal_dir or default_journal_dir()
        Journal.path_for(journal_dir, self.target.key).unlink(missing_ok=True)

    async def _main(self) -> UploadResult:
        source, options = self.source, self.options
        self._set_state(UploadState.PREPARING)
        check_source(source)
        # Stats every file and reads the fingerprint's samples: off this loop, which serves
        # pause and cancel meanwhile.
        identity = await asyncio.to_thread(SourceIdentity.of, source)
        journal_dir = options.journal_dir or default_journal_dir()
        journal_path = Journal.path_for(journal_dir, self.target.key)
        journal = Journal.load(journal_path)
        if journal is not None and options.overwrite:
            journal.delete()
            journal = None
        if journal is not None:
            identity.require_same(journal.identity, Text(message(
                QT_TR_NOOP("journal {path}"), path=journal_path)))
        self._limiter = AdaptiveLimiter(
            options.concurrency, calm_seconds=options.retry.throttle_calm_seconds
        )
        md5_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="upload-md5")
        try:
            return await self._transfer(identity, journal, journal_path, md5_pool)
        finally:
            self._hasher_stop.set()
            if self._md5_future is not None:  # also marks a failure of the hash as seen
                await asyncio.gather(self._md5_future, return_exceptions=True)
            md5_pool.shutdown(wait=False)

    def _start_md5(
        self, pool: concurrent.futures.ThreadPoolExecutor, *, fed: bool
    ) -> asyncio.Future[bytes]:
        """The stream's MD5 on its own thread: ``fed`` from the upload's buffers, or reading
        the source itself (to check a finished blob before anything is sent)."""
        self._feed = WindowFeed() if fed else None
        self._hasher = StreamHasher(self.source, self._running, self._hasher_stop, self._feed)
        future = asyncio.get_running_loop().run_in_executor(pool, self._hasher.compute)
        self._md5_future = future
        return future

    async def _transfer(
        self,
        identity: SourceIdentity,
        journal: Journal | None,
        journal_path: Path,
        md5_pool: concurrent.futures.ThreadPoolExecutor,
    ) -> UploadResult:
        source, options = self.source, self.options
        assert self._limiter is not None
        # The corporate network's settings (proxy, CA bundle), read once per upload.
        proxy = proxy_for(self.target.blob_url)
        tls = connector_tls(self.target.blob_url, options.ssl_context)
        if proxy is not None:
            log.info("uploading to %s through the proxy %s", self.target.display_name, proxy.url)
        connector = aiohttp.TCPConnector(
            limit=options.concurrency + 4, ssl=tls
        )
        md5: bytes | None = None
        async with aiohttp.ClientSession(connector=connector) as session:
            assert self._unpaused is not None
            client = PageBlobClient(
                session,
                self.target,
                policy=options.retry,
                limiter=self._limiter,
                counters=self._counters,
                gate=self._unpaused.wait,
                proxy=proxy,
            )
            present, fresh, finished_md5 = await self._prepare_blob(
                client, identity, journal is not None
            )
            if fresh or journal is None:
                journal = Journal(
                    journal_path, self.target.key, self.target.describe(), identity, WINDOW_SIZE
                )
            self._resumed = not fresh and (bool(present) or bool(journal.runs))
            journal.state = UploadState.UPLOADING
            journal.save()
            ticker = asyncio.create_task(self._tick())
            try:
                if finished_md5 is not None:
                    md5 = await self._check_finished(md5_pool, finished_md5)
                    expected = present
                    self._present = present.total
                    self._skipped = source.upload_size - present.total
                    self._set_state(UploadState.FINISHING)
                else:
                    # A managed disk's upload SAS cannot keep a Content-MD5 (Set Blob Properties
                    # is refused there) and nothing else reads it, so hashing every byte of the
                    # virtual size, zeros included, would only cost a core for the whole upload.
                    hashing = options.md5 and self.target.supports_properties
                    md5_future = self._start_md5(md5_pool, fed=True) if hashing else None
                    self._set_state(UploadState.UPLOADING)
                    expected = await self._pump(client, journal, present)
                    footer_at = source.upload_size - SECTOR
                    await self._put(client, None, footer_at, memoryview(source.footer), 0)
                    expected.add(footer_at, source.upload_size)
                    await self._clear_stale(client, present.minus(expected))
                    journal.save()
                    self._set_state(UploadState.FINISHING)
                    md5 = await md5_future if md5_future is not None else None
                if options.verify:
                    await self._verify(client, journal, expected)
                if await asyncio.to_thread(SourceIdentity.of, source) != identity:
                    raise SourceChangedError(
                        message(
                            QT_TR_NOOP("{path} was modified while it was being uploaded, so the "
                                       "blob mixes old and new data. Upload it again with "
                                       "overwrite."),
                            path=identity.path)
                    )
                # Set last, once all checks passed: a blob with our Content-MD5 is a finished,
                # verified upload (a later run of the same upload trusts it on that basis).
                if md5 is not None and self.target.supports_properties:
                    if finished_md5 is None:
                        await client.set_content_md5(md5)
                    if options.verify:
                        await self._verify_md5(client, md5)
            except BaseException as exc:
                journal.state = (
                    UploadState.CANCELLED
                    if isinstance(exc, asyncio.CancelledError)
                    else UploadState.FAILED
                )
                journal.last_error = str(exc) if isinstance(exc, UploadError) else ""
                try:
                    journal.save()
                except JournalError as journal_error:  # keep the cause of the stop in front
                    log.warning("%s", journal_error)
                raise
            finally:
                ticker.cancel()
                await asyncio.gather(ticker, return_exceptions=True)
            journal.delete()
        return UploadResult(
            target=self.target.blob_url,
            upload_size=source.upload_size,
            bytes_sent=self._sent,
            bytes_skipped=self._skipped,
            bytes_present=self._present,
            content_md5=base64.b64encode(md5).decode() if md5 is not None else None,
            elapsed_seconds=time.monotonic() - self._started_at,
            requests=self._counters.requests,
            retries=self._counters.retries,
            resumed=self._resumed,
        )

    async def _prepare_blob(
        self, client: PageBlobClient, identity: SourceIdentity, have_journal: bool
    ) -> tuple[RangeSet, bool, bytes | None]:
        """Create or check the blob. Returns the pages already there, whether the blob is new,
        and the Content-MD5 of a finished upload of this source to check before sending."""
        size = self.source.upload_size
        target = self.target
        props = await client.get_properties()
        if not target.creates_blob:
            if props is None:
                raise TargetNotFoundError(
                    message(
                        QT_TR_NOOP("{target} does not exist (any more): create the disk again."),
                        target=target.display_name)
                )
            if props.size != size:
                raise TargetSizeMismatchError(
                    message(
                        QT_TR_NOOP("{target} was created for {size} bytes but this image needs "
                                   "exactly {expected}: create the disk with that upload size."),
                        target=target.display_name, size=props.size, expected=size)
                )
            # Pages found here that this source does not fill are cleared at the end; pages
            # it does fill are trusted only where the journal recorded sending them.
            return await client.get_page_ranges(), False, None
        if props is None or self.options.overwrite:
            await client.create(size, identity.to_metadata())
            return RangeSet(), True, None
        if props.blob_type and props.blob_type != "PageBlob":
            raise TargetExistsError(
                message(
                    QT_TR_NOOP("{target} already exists as a {blob_type}: choose another name, "
                               "or overwrite it."),
                    target=target.display_name, blob_type=props.blob_type)
            )
        if not SourceIdentity.made_by_us(props.metadata):
            raise TargetExistsError(
                message(
                    QT_TR_NOOP("{target} already exists and was not uploaded from this file by "
                               "Azure Image Studio: choose another name, or overwrite it."),
                    target=target.display_name)
            )
        identity.require_same_as_metadata(props.metadata)
        if props.size != size:
            raise TargetSizeMismatchError(
                message(
                    QT_TR_NOOP("{target} is {size} bytes, not the {expected} this image needs: "
                               "overwrite it."),
                    target=target.display_name, size=props.size, expected=size)
            )
        present = await client.get_page_ranges()
        if props.content_md5 is not None:
            if not have_journal and self.options.md5:
                return present, False, props.content_md5
            # Pages are about to change: the blob must not look finished until it is again.
            await client.set_content_md5(None)
        return present, False, None

    async def _check_finished(
        self, pool: concurrent.futures.ThreadPoolExecutor, stored: bytes
    ) -> bytes:
        """A finished upload of this source is on the blob (set only after verification):
        it is still this source's exactly when the source's MD5 is the blob's Content-MD5."""
        self._set_state(UploadState.FINISHING, "checking the finished upload against the file")
        md5 = await self._start_md5(pool, fed=False)
        if md5 != stored:
            raise SourceChangedError(
                message(
                    QT_TR_NOOP("{target} holds a finished upload of {path}, but the file's "
                               "content has changed since (its MD5 differs from the blob's "
                               "Content-MD5). Nothing was sent: upload it again with overwrite, "
                               "or to a new name."),
                    target=self.target.display_name, path=self.source.path)
            )
        return md5

    async def _pump(self, client: PageBlobClient, journal: Journal, present: RangeSet) -> RangeSet:
        """Read, check and send every window; returns the data runs the blob must hold."""
        source, options = self.source, self.options
        stream_end = data_end(source)
        loop = asyncio.get_running_loop()
        slots = asyncio.Semaphore(options.concurrency + options.readahead)
        free: list[bytearray] = []
        expected = RangeSet()
        pool = concurrent.futures.ThreadPoolExecutor(
            options.read_threads, thread_name_prefix="upload-read"
        )

        async def one_window(
            window: Window, buf: bytearray, shared: SharedWindow | None, hashed: asyncio.Event
        ) -> None:
            try:
                try:
                    runs = await loop.run_in_executor(pool, scan_and_digest, source, window, buf)
                except UploadError as exc:
                    if shared is not None:
                        shared.scanned.set_exception(exc)
                    raise
                except Exception as exc:  # the image layer's own errors (changed, truncated)
                    error = SourceReadError(
                        message(
                            QT_TR_NOOP("Reading {path} failed: {reason} Run the upload again to "
                                       "resume once the file is readable."),
                            path=source.path, reason=exc)
                    )
                    if shared is not None:
                        shared.scanned.set_exception(error)
                    raise error from exc
                if shared is not None:
                    shared.scanned.set_result(None)
                recorded = journal.runs_in_window(window.index)
                self._require_unchanged(recorded, runs)
                view = memoryview(buf)
                data = 0
                async with asyncio.TaskGroup() as puts:
                    for start, end, crc in runs:
                        data += end - start
                        expected.add(start, end)
                        if start in recorded and present.covers(start, end):
                            self._present += end - start  # sent before, same bytes, still there
                        else:
                            part = view[start - window.start : end - window.start]
                            puts.create_task(self._put(client, journal, start, part, crc))
                self._skipped += window.span_bytes - data
                journal.mark_window(window.index)
                journal.maybe_save()
                if shared is not None:  # the buffer is reused only once hashed
                    await self._wait_hashed(hashed)
            finally:
                free.append(buf)
                slots.release()

        cursor = 0
        try:
            async with asyncio.TaskGroup() as windows:
                for window in plan_windows(source.data_ranges(), stream_end):
                    self._skipped += window.start - cursor + window.hole_bytes
                    cursor = window.end
                    assert self._unpaused is not None
                    await self._unpaused.wait()
                    await slots.acquire()
                    buf = free.pop() if free else bytearray(WINDOW_SIZE)
                    hashed = asyncio.Event()
                    shared: SharedWindow | None = None
                    if self._feed is not None:  # handed over here, so always in stream order
                        done = partial(_set_from, loop, hashed)
                        shared = SharedWindow(window, buf, concurrent.futures.Future(), done)
                        self._feed.put(shared)
                    windows.create_task(one_window(window, buf, shared, hashed))
        except BaseExceptionGroup as group:
            raise _first_error(group) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if self._feed is not None:
            self._feed.close()
        self._skipped += stream_end - cursor
        return expected

    def _require_unchanged(
        self, recorded: dict[int, tuple[int, int]], runs: list[tuple[int, int, int]]
    ) -> None:
        """Every run the journal says was sent must read back the same (start, end, CRC)."""
        if not recorded:
            return
        found = {start: (end, crc) for start, end, crc in runs}
        for start, sent in recorded.items():
            if found.get(start) != sent:
                raise SourceChangedError(
                    message(
                        QT_TR_NOOP("{path} changed after part of it was sent: the data at offset "
                                   "{offset} is not what was uploaded there (the file's size and "
                                   "time may be unchanged). Finishing would mix two versions of "
                                   "the disk, so the upload stopped. Start over (overwrite / "
                                   "discard the unfinished upload): the current content is then "
                                   "uploaded in full."),
                        path=self.source.path, offset=start)
                )

    async def _wait_hashed(self, hashed: asyncio.Event) -> None:
        """Until the hasher is done with a window's buffer (or the hasher has stopped)."""
        md5_future = self._md5_future
        assert md5_future is not None
        if md5_future.done():
            return
        waiter = asyncio.ensure_future(hashed.wait())
        try:
            either: set[asyncio.Future[Any]] = {waiter, md5_future}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def _put(
        self,
        client: PageBlobClient,
        journal: Journal | None,
        offset: int,
        view: memoryview,
        crc: int,
    ) -> None:
        if self.options.bandwidth is not None:
            await self.options.bandwidth.acquire(view.nbytes)
        await client.put_page(offset, view)
        self._sent += view.nbytes
        if journal is not None:
            journal.mark_sent(offset, offset + view.nbytes, crc)

    async def _clear_stale(self, client: PageBlobClient, stale: RangeSet) -> None:
        """Clear pages this source does not fill (left by an earlier, different content)."""
        if stale:
            log.info("clearing %d stale bytes on %s", stale.total, self.target.display_name)
        for start, end in stale:
            await client.clear_pages(start, end)

    async def _verify(self, client: PageBlobClient, journal: Journal, expected: RangeSet) -> None:
        """Check what is in Azure against the source, at a cost independent of the disk size.

        - Size, and the page list equal to the data runs this run read from the source (plus
          the footer): no run missing, and no page the source does not fill (a stale page
          from an earlier content would make the disk differ while every sent run is there).
          Only data runs are ever written, so the page list is a complete map of the blob.
        - Read back the footer and VERIFY_SAMPLES blocks of 64 KiB at random places in the
          data, compared with the source: catches pages landing at the wrong offset or holding
          other bytes, which no property of the service reveals (a page blob's Content-MD5 is
          only what the client set; the service never computes it). A few hundred KiB of reads,
          so it costs about the same for 1 GiB as for 1 TiB.
        - The Content-MD5 computed from the source is then set and read back (_verify_md5).
        Any failure forgets the journal, so running again re-sends everything and clears
        whatever does not belong.
        """
        source, target = self.source, self.target
        props = await client.get_properties()
        if props is None:
            raise VerificationError(message(
                QT_TR_NOOP("{target} vanished during the upload."),
                target=target.display_name))
        if props.size != source.upload_size:
            raise VerificationError(
                message(
                    QT_TR_NOOP("{target} is {size} bytes after the upload, not {upload_size}: "
                               "overwrite it and upload again."),
                    target=target.display_name, size=props.size, upload_size=source.upload_size)
            )
        pages = await client.get_page_ranges()
        if pages != expected:
            missing, extra = expected.minus(pages), pages.minus(expected)
            journal.forget()
            raise VerificationError(
                message(
                    QT_TR_NOOP("The pages of {target} are not the image's: {missing} bytes "
                               "missing, {extra} bytes that should be empty. Run the same "
                               "upload again: it sends what is missing and clears the rest."),
                    target=target.display_name, missing=missing.total, extra=extra.total)
            )
        for offset, length in _sample_blocks(expected, source.upload_size - SECTOR):
            remote = await client.read(offset, length)
            local = await asyncio.to_thread(_read_source, source, offset, length)
            if remote != local:
                journal.forget()
                raise VerificationError(
                    message(
                        QT_TR_NOOP("{target} differs from the image at offset {offset}. Run the "
                                   "same upload again: it re-sends everything."),
                        target=target.display_name, offset=offset)
                )
        tail = await client.read(source.upload_size - SECTOR, SECTOR)
        if tail != source.footer:
            journal.forget()
            raise VerificationError(
                message(
                    QT_TR_NOOP("The VHD footer on {target} differs from the image's: upload "
                               "again with overwrite."),
                    target=target.display_name)
            )

    async def _verify_md5(self, client: PageBlobClient, md5: bytes) -> None:
        props = await client.get_properties()
        if props is None or props.content_md5 != md5:
            raise VerificationError(
                message(
                    QT_TR_NOOP("The Content-MD5 on {target} does not match the image's: upload "
                               "again with overwrite."),
                    target=self.target.display_name)
            )

    # -- progress ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.options.progress_interval)
            self._publish()

    def _make_snapshot(self, message: str = "") -> ProgressSnapshot:
        now = time.monotonic()
        total = self.source.upload_size
        done = self._sent + self._skipped + self._present
        md5_bytes = self._hasher.bytes_hashed if self._hasher is not None else 0
        if self._state in (UploadState.UPLOADING, UploadState.FINISHING, UploadState.PAUSED):
            self._send_meter.add(self._sent, now)
            self._done_meter.add(done, now)
            self._md5_meter.add(md5_bytes, now)
        rate = self._done_meter.rate()
        eta: float | None = None
        if self._state.finished:
            eta = 0.0 if self._state is UploadState.COMPLETED else None
        elif rate > 0 and self._state is not UploadState.PAUSED:
            eta = (total - done) / rate
            md5_rate = self._md5_meter.rate()
            if self._hasher is not None and md5_rate > 0:
                eta = max(eta, (total - md5_bytes) / md5_rate)
        return ProgressSnapshot(
            state=self._state,
            total_bytes=total,
            bytes_sent=self._sent,
            bytes_skipped=self._skipped,
            bytes_present=self._present,
            send_rate=self._send_meter.rate(),
            rate=rate,
            eta_seconds=eta,
            elapsed_seconds=(now - self._started_at) if self._started_at else 0.0,
            in_flight_limit=self._limiter.limit if self._limiter else self.options.concurrency,
            retries=self._counters.retries,
            md5_bytes=md5_bytes,
            message=message,
            requests_in_flight=self._counters.sending,
        )

    def _publish(self, message: str = "") -> None:
        self._snapshot = self._make_snapshot(message)
        if self._on_progress is not None:
            try:
                self._on_progress(self._snapshot)
            except Exception:  # a broken progress view must not break the upload
                log.exception("progress callback failed")

    def _set_state(self, state: UploadState, message: str = "") -> None:
        if state is UploadState.UPLOADING and not self._running.is_set():
            state = UploadState.PAUSED
        self._state = state
        self._publish(message)


# Blocks read back from the service after an upload and compared with the source (see _verify).
VERIFY_SAMPLES = 8
VERIFY_BLOCK = 64 * 1024


def _sample_blocks(expected: RangeSet, data_limit: int) -> list[tuple[int, int]]:
    """VERIFY_SAMPLES (offset, length) blocks at random places inside the data runs. Random,
    not fixed: each run of an upload (and each upload) then checks different places."""
    runs = [(s, min(e, data_limit)) for s, e in expected if s < data_limit]
    total = sum(e - s for s, e in runs)
    if total == 0:
        return []
    chosen: list[tuple[int, int]] = []
    for _ in range(VERIFY_SAMPLES):
        point = _RANDOM.randrange(total)
        for start, end in runs:
            if point < end - start:
                offset = start + point // SECTOR * SECTOR
                offset = max(start, min(offset, end - VERIFY_BLOCK))
                chosen.append((offset, min(VERIFY_BLOCK, end - offset)))
                break
            point -= end - start
    return chosen


_RANDOM = random.SystemRandom()


def _read_source(source: UploadSource, offset: int, length: int) -> bytes:
    buf = bytearray(length)
    got = source.readinto(offset, buf)
    return bytes(buf[:got])


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error to report out of a task group: an UploadError first, else the first one."""
    leaves: list[BaseException] = []

    def walk(exc: BaseException) -> None:
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                walk(inner)
        else:
            leaves.append(exc)

    walk(group)
    for exc in leaves:
        if isinstance(exc, UploadError):
            return exc
    return leaves[0]


async def _close_dropped_connections() -> None:
    """Abort every connection still open on this loop, once the session is closed.

    aiohttp drops a connection it will not reuse (a refused request's, over TLS) out of its
    pool, and TLS then waits for the server's close_notify before closing the socket: the
    session's close never reaches it, so without this the loop would close under an open
    socket (a file descriptor held until the GC finds it, with a ResourceWarning). Everything
    this upload sent has been answered or abandoned by now, so aborting loses nothing. The
    selector loop's table of its transports is the only complete list of them.
    """
    transports = getattr(asyncio.get_running_loop(), "_transports", None) or {}
    for transport in list(transports.values()):
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.fileno() != -1:  # not closed yet
            transport.abort()
    await asyncio.sleep(0)  # the aborts complete on the next turn of the loop


def _set_from(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> None:
    """Set ``event`` from another thread (the hasher's)."""
    with contextlib.suppress(RuntimeError):  # the loop closed: nobody waits any more
        loop.call_soon_threadsafe(event.set)

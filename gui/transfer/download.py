"""The download engine: a page blob to a local disk file, fetching only the allocated pages.

``Download`` runs on a thread of its own with its own asyncio loop, as ``Upload`` does, and
reuses the upload's pieces: the page-blob client (retries, throttling, proxy, TLS, error
mapping), the adaptive limit on requests in flight, the bandwidth cap and the progress
snapshots. The flow:

1. HEAD the blob (size, ETag, Content-MD5); read its last 512 bytes: a fixed VHD footer there
   (a managed disk's blob always has one) makes the disk the blob minus the footer.
2. Get Page Ranges, following every NextMarker (azure-storage-blob's page-blob download reads
   only the first answer), merged; ranges a few KiB apart are fetched as one request, and every
   request stays inside one ``chunk_size`` cell of the disk so a resume finds the same cells.
3. Parallel ranged GETs, at most ``concurrency`` in flight and ``concurrency + 2`` buffers alive;
   each answer goes to the output writer (gui.diskimage.writers) on a small thread pool, its
   all-zero blocks left out so holes stay holes, then into the journal.
4. The writer finishes the file (footer, block tables). Where the blob has a Content-MD5, the
   MD5 of the whole blob is computed from the file just written: data ranges read back, holes
   hashed from a buffer of zeros in memory (never read), the footer as fetched.

A cancelled or killed download keeps its journal; the same download started again fetches only
the ranges the journal does not hold (the blob's ETag must be unchanged).
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import contextlib
import hashlib
import logging
import os
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import aiohttp

from gui.diskimage.errors import DiskImageError
from gui.diskimage.writers import DiskFileWriter, OutputFormat, created_from, plan_output
from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.bandwidth import BandwidthCap
from gui.transfer.blob import PageBlobClient, TransferCounters
from gui.transfer.download_journal import (
    DownloadJournal,
    SourceVersion,
    default_download_journal_dir,
    journal_key,
)
from gui.transfer.errors import (
    AccessDeniedError,
    JournalError,
    RetryBudgetExhaustedError,
    SasExpiredError,
    ServiceError,
    TargetNotFoundError,
    UploadError,
)
from gui.transfer.network import connector_tls, proxy_for
from gui.transfer.progress import ProgressSnapshot, RateMeter, UploadState
from gui.transfer.ranges import RangeSet
from gui.transfer.retry import AdaptiveLimiter, RetryPolicy
from gui.transfer.targets import BlobTarget, SasUrlTarget

log = logging.getLogger(__name__)

# The formats the disk-image writers make (their command-line spellings).
FORMATS = tuple(f.value for f in OutputFormat)
SECTOR = 512
VHD_FOOTER = 512
# One ranged GET at most. Measured against Azurite on a loaded 2-core machine (bench_download.py
# and a sweep of 4/8/16 MiB at 4 and 8 in flight): 8 MiB took about 0.7x the time of 4 MiB for
# a dense disk, as each request costs the service a fixed amount; 16 MiB gained nothing more.
# Memory stays bounded at (concurrency + 2) buffers: 80 MiB at 8 in flight.
DEFAULT_CHUNK = 8 * 1024 * 1024
DEFAULT_CONCURRENCY = 8
# Page ranges closer than this are fetched in one request: a few KiB of zeros cost less than a
# request's round trip, and the bound keeps the bytes fetched near the allocated bytes.
MERGE_GAP = 16 * 1024
# All-zero blocks of this size inside fetched data are not written (holes stay holes).
ZERO_BLOCK = 64 * 1024
_ZEROS = bytes(max(ZERO_BLOCK, DEFAULT_CHUNK))
_ZERO_BLOCK = bytes(ZERO_BLOCK)

ProgressCallback = Callable[[ProgressSnapshot], None]


class DownloadError(UploadError):
    """Base of the download's own causes (the transfer's shared ones stay UploadError)."""


class DownloadCancelledError(DownloadError):
    """Cancelled: what was fetched stays in the file and the journal; a new start resumes."""

    resumable = True


class OutputError(DownloadError):
    """The output file cannot be created or written."""

    resumable = True


class OutputExistsError(DownloadError):
    """The output file exists and is not an unfinished download of this source."""


class InvalidFormatError(DownloadError):
    """The output format is not one of raw, vhd, vhd-dynamic, vhdx."""


class ChecksumMismatchError(DownloadError):
    """The downloaded data's MD5 is not the Content-MD5 Azure holds for the blob."""


class SourceChangedWhileDownloadingError(DownloadError):
    """The blob changed (another ETag) during the download."""


def read_denied(target: BlobTarget, status: int, code: str, expiry: datetime | None) -> UploadError:
    """The error for a refused read: the words of a download, not an upload's."""
    from datetime import UTC, timedelta

    if expiry is not None and expiry <= datetime.now(UTC) + timedelta(seconds=30):
        return SasExpiredError(
            message(
                QT_TR_NOOP("The read access to {source} expired at {expiry:%Y-%m-%d %H:%M} UTC. "
                           "Get a new SAS URL (read permission) and run the same download "
                           "again: it resumes where it stopped."),
                source=target.display_name, expiry=expiry)
        )
    return AccessDeniedError(
        message(
            QT_TR_NOOP("{source} refused the read ({status} {code}). Check that the SAS allows "
                       "read (sp=r) and has not been revoked, then run the download again to "
                       "resume."),
            source=target.display_name, status=status, code=code or "denied")
    )


class SasUrlSource(SasUrlTarget):
    """A page blob's SAS URL as the source of a download (checked for TLS, never logged)."""

    kind = "sas-url"

    def denied(self, status: int, code: str, expiry: datetime | None) -> UploadError:
        return read_denied(self, status, code, expiry)


@dataclass(frozen=True)
class DownloadOptions:
    concurrency: int = DEFAULT_CONCURRENCY  # ranged GETs in flight at most
    chunk_size: int = DEFAULT_CHUNK
    verify_md5: bool = True  # check the blob's Content-MD5 (when it has one) against the file
    overwrite: bool = False  # replace an existing file that is not this download's
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    write_threads: int = 2
    progress_interval: float = 0.1
    journal_dir: Path | None = None  # default: <journal dir>/downloads
    ssl_context: ssl.SSLContext | None = None  # a private CA's; None: the system's trust
    bandwidth: BandwidthCap | None = None


@dataclass(frozen=True)
class DownloadResult:
    source: str  # the blob URL or the resource, without any SAS
    path: Path
    format: str
    blob_size: int
    virtual_size: int
    allocated_bytes: int  # the page ranges inside the disk
    bytes_fetched: int  # fetched over the network in this run
    bytes_present: int  # already in the file from an earlier run
    content_md5: str | None  # base64, when Azure had one (and it matched)
    md5_checked: bool
    elapsed_seconds: float
    requests: int
    retries: int
    resumed: bool


@dataclass(frozen=True)
class BlobFacts:
    size: int
    etag: str
    content_md5: bytes | None
    blob_type: str


class PageBlobReader(PageBlobClient):
    """The page-blob client with what a download needs besides its reads: the ETag."""

    async def facts(self) -> BlobFacts:
        _, headers, _ = await self._call("HEAD", "", {}, ok=(200,))
        md5 = headers.get("Content-MD5")
        return BlobFacts(
            size=int(headers.get("Content-Length", "0")),
            etag=headers.get("ETag", ""),
            content_md5=base64.b64decode(md5) if md5 else None,
            blob_type=headers.get("x-ms-blob-type", ""),
        )


def vhd_disk_size(blob_size: int, tail: bytes) -> int | None:
    """The disk size when ``tail`` (the blob's last 512 bytes) is a fixed VHD footer for it."""
    from gui.diskimage.footer import COOKIE, DISK_TYPE_FIXED, parse_footer

    if len(tail) != VHD_FOOTER or tail[:8] != COOKIE:
        return None
    footer = parse_footer(tail)
    if footer.disk_type != DISK_TYPE_FIXED or not footer.checksum_ok:
        return None
    return blob_size - VHD_FOOTER


def plan_requests(ranges: RangeSet, chunk: int, gap: int = MERGE_GAP) -> Iterator[tuple[int, int]]:
    """``[start, end)`` requests covering ``ranges``: neighbours closer than ``gap`` joined, none
    crossing a ``chunk`` boundary of the disk (so a resume cuts the same way)."""
    pending: tuple[int, int] | None = None
    for start, end in ranges:
        pos = start
        while pos < end:
            cell_end = (pos // chunk + 1) * chunk
            piece_end = min(end, cell_end)
            if pending is not None:
                p_start, p_end = pending
                same_cell = p_start // chunk == pos // chunk
                if same_cell and pos - p_end <= gap:
                    pending = (p_start, piece_end)
                    pos = piece_end
                    continue
                yield pending
            pending = (pos, piece_end)
            pos = piece_end
    if pending is not None:
        yield pending


def write_nonzero(writer: DiskFileWriter, offset: int, data: bytes) -> None:
    """Write ``data`` at ``offset`` leaving out its all-zero ZERO_BLOCKs (holes stay holes)."""
    view = memoryview(data)
    size = len(data)
    run_start = -1
    pos = 0
    while pos < size:
        # Blocks aligned to the disk, so a block is the same on every run of the download.
        n = min(ZERO_BLOCK - (offset + pos) % ZERO_BLOCK, size - pos)
        # A slice of bytes and ==: memcmp after a copy, 80x faster than comparing memoryviews.
        zero = data[pos : pos + n] == (_ZERO_BLOCK if n == ZERO_BLOCK else bytes(n))
        if zero and run_start >= 0:
            writer.write(offset + run_start, view[run_start:pos])
            run_start = -1
        elif not zero and run_start < 0:
            run_start = pos
        pos += n
    if run_start >= 0:
        writer.write(offset + run_start, view[run_start:size])


class Download:
    """One download; create, ``start()``, then ``result()`` (or just ``run()``).

    ``source_key`` names the source in the journal when the blob URL is not stable (a managed
    disk's SAS URL changes with every grant: the disk's resource ID is its key then).
    ``source_version`` says what must be unchanged for a resume, instead of the blob's ETag,
    for a source that cannot change but reaches us through a new blob each time (a gallery
    image version, read through a temporary disk made from it for each run).
    """

    def __init__(
        self,
        source: BlobTarget,
        path: Path | str,
        fmt: str = "vhd",
        options: DownloadOptions | None = None,
        on_progress: ProgressCallback | None = None,
        *,
        source_key: str | None = None,
        source_version: str | None = None,
    ) -> None:
        if fmt not in FORMATS:
            raise InvalidFormatError(
                message(
                    QT_TR_NOOP("Unknown output format {format}: use one of {formats}."),
                    format=fmt, formats=", ".join(FORMATS))
            )
        self.source = source
        self.path = Path(path)
        self.format = fmt
        self.options = options or DownloadOptions()
        if self.options.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._source_key = source_key or source.key
        self._source_version = source_version
        self._on_progress = on_progress
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = threading.Event()
        self._running.set()
        self._cancel_requested = threading.Event()
        self._unpaused: asyncio.Event | None = None
        self._done = threading.Event()
        self._result: DownloadResult | None = None
        self._error: UploadError | None = None
        self._state = UploadState.PENDING
        self._total = 0
        self._fetched = 0
        self._skipped = 0
        self._present = 0
        self._started_at = 0.0
        self._counters = TransferCounters()
        self._limiter: AdaptiveLimiter | None = None
        self._send_meter = RateMeter()
        self._done_meter = RateMeter()
        self._snapshot = self._make_snapshot()

    # -- control, from any thread -----------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("this download was already started")
            self._thread = threading.Thread(
                target=self._thread_main, name="download-engine", daemon=True
            )
            self._thread.start()

    def pause(self) -> None:
        """Stop starting requests (those in flight finish and are written)."""
        self._running.clear()
        self._in_loop(self._apply_pause)

    def resume(self) -> None:
        self._running.set()
        self._in_loop(self._apply_pause)

    def cancel(self) -> None:
        """Stop as soon as possible; the journal keeps what was fetched, a new start resumes."""
        self._cancel_requested.set()
        self._in_loop(self._apply_cancel)

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> DownloadResult:
        if not self._done.wait(timeout):
            raise TimeoutError("the download is still running")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def run(self) -> DownloadResult:
        self.start()
        return self.result()

    @property
    def snapshot(self) -> ProgressSnapshot:
        return self._snapshot

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @property
    def journal_path(self) -> Path:
        directory = self.options.journal_dir or default_download_journal_dir()
        return directory / f"{journal_key(self._source_key, self.path, self.format)}.json"

    # -- the engine thread ------------------------------------------------------------------

    def _in_loop(self, callback: Callable[[], None]) -> None:
        with self._lock:
            loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed in between: the download is over
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
            self._result = await self._main()
        except asyncio.CancelledError:
            self._error = DownloadCancelledError(
                message(
                    QT_TR_NOOP("The download of {source} was cancelled. What was fetched stays "
                               "in {path}: start the same download again to resume."),
                    source=self.source.display_name, path=self.path)
            )
            self._set_state(UploadState.CANCELLED, str(self._error))
            return
        except UploadError as exc:
            self._error = _download_worded(exc, self._counters)
        except Exception as exc:  # a bug must still end the download with a clear message
            log.exception("download of %s failed", self.source.display_name)
            self._error = DownloadError(
                message(
                    QT_TR_NOOP("The download stopped on an unexpected error ({reason}). Run it "
                               "again: it resumes."),
                    reason=type(exc).__name__)
            )
        if self._error is not None:
            self._set_state(UploadState.FAILED, str(self._error))
        else:
            self._set_state(UploadState.COMPLETED)

    async def _main(self) -> DownloadResult:
        options = self.options
        self._set_state(UploadState.PREPARING)
        self._limiter = AdaptiveLimiter(
            options.concurrency, calm_seconds=options.retry.throttle_calm_seconds
        )
        proxy = proxy_for(self.source.blob_url)
        tls = connector_tls(self.source.blob_url, options.ssl_context)
        connector = aiohttp.TCPConnector(
            limit=options.concurrency + 4, ssl=tls
        )
        async with aiohttp.ClientSession(connector=connector) as session:
            assert self._unpaused is not None
            client = PageBlobReader(
                session,
                self.source,
                policy=options.retry,
                limiter=self._limiter,
                counters=self._counters,
                proxy=proxy,
            )
            return await self._download(client)

    async def _download(self, client: PageBlobReader) -> DownloadResult:
        facts = await client.facts()
        if facts.blob_type and facts.blob_type != "PageBlob":
            raise ServiceError(
                message(
                    QT_TR_NOOP("{source} is a {blob_type}, not a page blob: disks are page "
                               "blobs. Download it with a storage tool instead."),
                    source=self.source.display_name, blob_type=facts.blob_type)
            )
        tail = b""
        if facts.size >= VHD_FOOTER and facts.size % SECTOR == 0:
            tail = await client.read(facts.size - VHD_FOOTER, VHD_FOOTER)
        disk_size = vhd_disk_size(facts.size, tail)
        virtual = disk_size if disk_size is not None else facts.size
        pages = await client.get_page_ranges()
        pages.truncate(virtual)
        self._total = virtual
        self._skipped = virtual - pages.total

        version = SourceVersion(facts.size, self._source_version or facts.etag)
        journal = self._open_journal(version)
        resume = bool(journal.fetched)
        if not resume:
            self._claim_output()
        todo = pages.minus(journal.fetched)
        self._present = pages.total - todo.total
        writer = await asyncio.to_thread(self._open_writer, virtual, pages, journal, resume)
        journal.state = UploadState.UPLOADING
        journal.save()
        ticker = asyncio.create_task(self._tick())
        try:
            self._set_state(UploadState.UPLOADING)
            await self._fetch_all(client, writer, todo, journal)
            self._set_state(UploadState.FINISHING)
            await asyncio.to_thread(self._finish_writer, writer)
            journal.save()
            after = await client.facts()
            if after.etag != facts.etag or after.size != facts.size:
                journal.delete()
                raise SourceChangedWhileDownloadingError(
                    message(
                        QT_TR_NOOP("{source} changed while it was being downloaded, so {path} "
                                   "mixes old and new data. Download it again (from a snapshot "
                                   "if the disk is in use)."),
                        source=self.source.display_name, path=self.path)
                )
            md5_checked = False
            if self.options.verify_md5 and facts.content_md5 is not None:
                md5 = await asyncio.to_thread(self._file_md5, virtual, pages, tail, disk_size)
                if md5 != facts.content_md5:
                    journal.delete()
                    raise ChecksumMismatchError(
                        message(
                            QT_TR_NOOP("The MD5 of {path} is {md5}, but Azure holds {expected} "
                                       "for {source}: the file does not hold the blob's data. "
                                       "Download it again (it starts over)."),
                            path=self.path, md5=base64.b64encode(md5).decode(),
                            expected=base64.b64encode(facts.content_md5).decode(),
                            source=self.source.display_name)
                    )
                md5_checked = True
        except BaseException as exc:
            if journal.path.exists():
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
            writer.close()  # finish() closed it already when it ran
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
        journal.delete()
        return DownloadResult(
            source=self.source.display_name,
            path=self.path,
            format=self.format,
            blob_size=facts.size,
            virtual_size=virtual,
            allocated_bytes=pages.total,
            bytes_fetched=self._fetched,
            bytes_present=self._present,
            content_md5=(
                base64.b64encode(facts.content_md5).decode()
                if md5_checked and facts.content_md5 is not None
                else None
            ),
            md5_checked=md5_checked,
            elapsed_seconds=time.monotonic() - self._started_at,
            requests=self._counters.requests,
            retries=self._counters.retries,
            resumed=resume,
        )

    # -- the output and the journal ---------------------------------------------------------

    def _open_journal(self, version: SourceVersion) -> DownloadJournal:
        """The journal of this download when it can be resumed, else a fresh one."""
        path = self.journal_path
        journal = DownloadJournal.load(path)
        if journal is not None:
            self._own_output = True  # the file is this download's, from an earlier run
            usable = (
                journal.version == version
                and journal.output == str(self.path.resolve())
                and journal.fmt == self.format
                and self.path.is_file()
            )
            if usable:
                return journal
            log.info("the source or the file changed since the last run: downloading %s anew",
                     self.source.display_name)
            journal.delete()
        return DownloadJournal(
            path=path,
            source={"kind": self.source.kind, "display": self.source.display_name,
                    "key": self._source_key},
            output=str(self.path.resolve()),
            fmt=self.format,
            version=version,
        )

    _own_output = False

    def _claim_output(self) -> None:
        """A fresh download may replace only a file of its own unfinished run, or any file when
        overwriting is asked for."""
        path = self.path
        if path.is_dir():
            raise OutputError(
                message(QT_TR_NOOP("{path} is a folder: give a file name for the download."),
                        path=path)
            )
        if path.exists() and not self.options.overwrite and not self._own_output:
            raise OutputExistsError(
                message(
                    QT_TR_NOOP("{path} already exists: choose another file name, or overwrite "
                               "it."),
                    path=path)
            )

    def _open_writer(
        self, virtual: int, pages: RangeSet, journal: DownloadJournal, resume: bool
    ) -> DiskFileWriter:
        """The writer of the output file; a resumed download plans the very same layout (the
        disk id and time written in its headers come from the journal)."""
        fmt = OutputFormat(self.format)
        allocated = [(s, e - s) for s, e in pages]
        try:
            if resume and journal.layout:
                layout = plan_output(
                    fmt, virtual, allocated,
                    disk_id=uuid.UUID(journal.layout["disk_id"]),
                    created=created_from(int(journal.layout["timestamp"])),
                )
            else:
                layout = plan_output(fmt, virtual, allocated)
                self.path.parent.mkdir(parents=True, exist_ok=True)
            journal.layout = {"disk_id": str(layout.disk_id), "timestamp": str(layout.timestamp)}
            return DiskFileWriter(self.path, layout, resume=resume)
        except DiskImageError as exc:
            raise OutputError(exc.message) from exc
        except OSError as exc:
            raise OutputError(
                message(
                    QT_TR_NOOP("Cannot create {path} ({reason}): check the folder's permissions "
                               "and free space."),
                    path=self.path, reason=exc.strerror or exc)
            ) from exc

    def _finish_writer(self, writer: DiskFileWriter) -> None:
        try:
            writer.finish()
        except DiskImageError as exc:
            raise OutputError(exc.message) from exc

    def _file_md5(
        self, virtual: int, pages: RangeSet, tail: bytes, disk_size: int | None
    ) -> bytes:
        """MD5 of the blob as the file now holds it: data read back, holes hashed from zeros in
        memory (never read from anywhere), the footer as fetched."""
        md5 = hashlib.md5(usedforsecurity=False)
        buf = bytearray(DEFAULT_CHUNK)
        view = memoryview(buf)
        zeros = memoryview(_ZEROS)

        def zero_fill(count: int) -> None:
            while count > 0:
                n = min(count, len(zeros))
                md5.update(zeros[:n])
                count -= n

        with _output_reader(self.format, self.path) as read_at:
            pos = 0
            for start, end in pages:
                zero_fill(start - pos)
                for at in range(start, end, len(buf)):
                    n = min(end - at, len(buf))
                    read_at(at, view[:n])
                    md5.update(view[:n])
                pos = end
            zero_fill(virtual - pos)
        if disk_size is not None:
            md5.update(tail)
        return md5.digest()

    # -- the transfer -----------------------------------------------------------------------

    async def _fetch_all(
        self,
        client: PageBlobReader,
        writer: DiskFileWriter,
        todo: RangeSet,
        journal: DownloadJournal,
    ) -> None:
        options = self.options
        loop = asyncio.get_running_loop()
        limiter = self._limiter
        assert limiter is not None and self._unpaused is not None
        unpaused = self._unpaused
        # Buffers alive at most: those in flight plus two waiting for the writer (a write of
        # 8 MiB into the page cache takes a few milliseconds, far less than a fetch).
        slots = asyncio.Semaphore(options.concurrency + 2)
        pool = concurrent.futures.ThreadPoolExecutor(
            max(1, options.write_threads), thread_name_prefix="download-write"
        )

        async def one(start: int, end: int) -> None:
            try:
                await unpaused.wait()
                if options.bandwidth is not None:
                    await options.bandwidth.acquire(end - start)
                await limiter.acquire()
                try:
                    await unpaused.wait()
                    data = await client.read(start, end - start)
                finally:
                    await limiter.release()
                await limiter.succeeded()
                if len(data) != end - start:
                    raise ServiceError(
                        message(
                            QT_TR_NOOP("{source} answered {got} bytes for the {length} asked at "
                                       "offset {offset}. Run the download again: it resumes."),
                            source=self.source.display_name, got=len(data),
                            length=end - start, offset=start)
                    )
                self._fetched += len(data)
                # Data that arrived is written and recorded even when the download is being
                # cancelled meanwhile: the next run then need not fetch it again.
                stored = asyncio.ensure_future(store(start, end, data))
                try:
                    await asyncio.shield(stored)
                except asyncio.CancelledError:
                    with contextlib.suppress(Exception):
                        await stored
                    raise
            finally:
                slots.release()

        async def store(start: int, end: int, data: bytes) -> None:
            try:
                await loop.run_in_executor(pool, write_nonzero, writer, start, data)
            except DiskImageError as exc:
                raise OutputError(exc.message) from exc
            journal.mark_fetched(start, end)
            journal.maybe_save()

        try:
            async with asyncio.TaskGroup() as group:
                for start, end in plan_requests(todo, options.chunk_size):
                    await slots.acquire()
                    await unpaused.wait()
                    group.create_task(one(start, end))
        except BaseExceptionGroup as grouped:
            raise _first_error(grouped) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- progress ---------------------------------------------------------------------------

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.options.progress_interval)
            self._publish()

    def _make_snapshot(self, text: str = "") -> ProgressSnapshot:
        now = time.monotonic()
        # Fetched bytes can exceed the allocated ones by the small gaps joined into requests.
        fetched = min(self._fetched, max(0, self._total - self._skipped - self._present))
        done = fetched + self._skipped + self._present
        if self._state in (UploadState.UPLOADING, UploadState.FINISHING, UploadState.PAUSED):
            self._send_meter.add(self._fetched, now)
            self._done_meter.add(done, now)
        rate = self._done_meter.rate()
        eta: float | None = None
        if self._state.finished:
            eta = 0.0 if self._state is UploadState.COMPLETED else None
        elif rate > 0 and self._state is not UploadState.PAUSED:
            eta = (self._total - done) / rate
        return ProgressSnapshot(
            state=self._state,
            total_bytes=self._total,
            bytes_sent=fetched,
            bytes_skipped=self._skipped,
            bytes_present=self._present,
            send_rate=self._send_meter.rate(),
            rate=rate,
            eta_seconds=eta,
            elapsed_seconds=(now - self._started_at) if self._started_at else 0.0,
            in_flight_limit=self._limiter.limit if self._limiter else self.options.concurrency,
            retries=self._counters.retries,
            md5_bytes=0,
            message=text,
            requests_in_flight=self._counters.sending,
        )

    def _publish(self, text: str = "") -> None:
        self._snapshot = self._make_snapshot(text)
        if self._on_progress is not None:
            try:
                self._on_progress(self._snapshot)
            except Exception:  # a broken progress view must not break the download
                log.exception("progress callback failed")

    def _set_state(self, state: UploadState, text: str = "") -> None:
        if state is UploadState.UPLOADING and not self._running.is_set():
            state = UploadState.PAUSED
        self._state = state
        self._publish(text)

    @property
    def bytes_fetched(self) -> int:
        """Bytes fetched over the network in this run (the gaps joined into requests included)."""
        return self._fetched


@contextlib.contextmanager
def _output_reader(fmt: str, path: Path) -> Iterator[Callable[[int, memoryview], None]]:
    """``read_at(disk_offset, view)`` over the finished file: raw and fixed VHD keep the disk at
    its own offsets; the dynamic formats are read through the disk-image package's readers."""
    if fmt in ("raw", "vhd"):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            def read_at(offset: int, view: memoryview) -> None:
                got = 0
                while got < len(view):
                    n = os.preadv(fd, [view[got:]], offset + got)
                    if n <= 0:
                        view[got:] = bytes(len(view) - got)  # past a raw file's end: zeros
                        return
                    got += n

            yield read_at
        finally:
            os.close(fd)
        return
    from gui.diskimage import open_image

    with open_image(path) as image:
        def read_image(offset: int, view: memoryview) -> None:
            got = image.readinto(offset, view)
            if got < len(view):
                view[got:] = bytes(len(view) - got)

        yield read_image


def _download_worded(exc: UploadError, counters: TransferCounters) -> UploadError:
    """The transfer's shared errors that speak of an upload, said for a download."""
    if isinstance(exc, RetryBudgetExhaustedError):
        return RetryBudgetExhaustedError(
            message(
                QT_TR_NOOP("The storage service kept failing during the download ({reason}; "
                           "{retries} retries). What was fetched is kept: run the same download "
                           "again later and it resumes where it stopped."),
                reason=counters.last_transient, retries=counters.retries)
        )
    if isinstance(exc, TargetNotFoundError):
        return TargetNotFoundError(
            Text(QT_TR_NOOP("The blob to download was not found: check the URL (or that the "
                            "disk's read access was not revoked), then try again."))
        )
    return exc


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
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

"""The page-blob REST calls the engine makes, over aiohttp, with retries and error mapping.

aiohttp directly rather than azure-storage-blob's aio client: the engine needs a Put Page of a
memoryview slice without copies and its own retry and throttling policy; the SDK pipeline adds
per-request work that showed in measurements (see tests/benchmarks/bench_upload.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import aiohttp
import aiohttp.payload
from yarl import URL

from gui.transfer.errors import (
    RetryBudgetExhaustedError,
    ServiceError,
    TargetNotFoundError,
    UploadError,
)
from gui.transfer.ranges import RangeSet
from gui.transfer.redact import redact
from gui.transfer.retry import AdaptiveLimiter, RetryPolicy, parse_retry_after
from gui.transfer.targets import BlobTarget

log = logging.getLogger(__name__)

API_VERSION = "2021-08-06"
_WRITE_SLICE = 256 * 1024
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_EXCEPTIONS = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)


class PageBody(aiohttp.payload.Payload):
    """A request body over a memoryview, written in slices so the loop never stalls on a copy."""

    def __init__(self, view: memoryview) -> None:
        super().__init__(view, content_type="application/octet-stream")
        self._view = view
        self._size = view.nbytes

    async def write(self, writer: aiohttp.abc.AbstractStreamWriter) -> None:
        view = self._view
        for pos in range(0, view.nbytes, _WRITE_SLICE):
            await writer.write(view[pos : pos + _WRITE_SLICE])

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return bytes(self._view).decode(encoding, errors)


@dataclass
class BlobProperties:
    size: int
    blob_type: str
    content_md5: bytes | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class TransferCounters:
    """Shared by all requests of one upload (only touched on the engine's loop)."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    last_transient: str = ""


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PageBlobClient:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        target: BlobTarget,
        *,
        policy: RetryPolicy,
        limiter: AdaptiveLimiter,
        counters: TransferCounters,
        gate: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._session = session
        # Awaited with a request slot held, right before a Put Page goes out: pausing stops
        # new requests at once, even those already queued for a slot.
        self._gate = gate
        self._target = target
        self._policy = policy
        self._limiter = limiter
        self._counters = counters

    # -- the calls -------------------------------------------------------------------------

    async def get_properties(self) -> BlobProperties | None:
        """The blob's properties, or None when there is no blob (the container must exist)."""
        status, headers, _ = await self._call("HEAD", "", {}, ok=(200, 404))
        if status == 404:
            code = headers.get("x-ms-error-code", "")
            if code and code != "BlobNotFound":
                raise self._not_found(code)
            return None
        md5 = headers.get("Content-MD5")
        return BlobProperties(
            size=int(headers.get("Content-Length", "0")),
            blob_type=headers.get("x-ms-blob-type", ""),
            content_md5=base64.b64decode(md5) if md5 else None,
            metadata={
                k[len("x-ms-meta-") :].lower(): v
                for k, v in headers.items()
                if k.lower().startswith("x-ms-meta-")
            },
        )

    async def create(self, size: int, metadata: Mapping[str, str]) -> None:
        headers = {
            "x-ms-blob-type": "PageBlob",
            "x-ms-blob-content-length": str(size),
            "x-ms-blob-content-type": "application/octet-stream",
            "Content-Length": "0",
        }
        headers.update({f"x-ms-meta-{k}": v for k, v in metadata.items()})
        await self._call("PUT", "", headers, ok=(201,))

    async def put_page(self, offset: int, view: memoryview) -> None:
        """Write ``view`` at ``offset``; holds a slot of the adaptive limiter while it runs."""
        end = offset + view.nbytes - 1
        headers = {"x-ms-page-write": "update", "x-ms-range": f"bytes={offset}-{end}"}
        await self._call("PUT", "comp=page", headers, ok=(201,), body=view, limited=True)

    async def get_page_ranges(self) -> RangeSet:
        ranges = RangeSet()
        marker = ""
        while True:
            query = "comp=pagelist" + (f"&marker={marker}" if marker else "")
            _, _, body = await self._call("GET", query, {}, ok=(200,), read=True)
            root = ET.fromstring(body)
            for node in root.iter("PageRange"):
                start = int(node.findtext("Start", "0"))
                ranges.add(start, int(node.findtext("End", "-1")) + 1)
            marker = (root.findtext("NextMarker") or "").strip()
            if not marker:
                return ranges

    async def set_content_md5(self, md5: bytes) -> None:
        headers = {
            "x-ms-blob-content-md5": base64.b64encode(md5).decode(),
            "x-ms-blob-content-type": "application/octet-stream",
            "Content-Length": "0",
        }
        await self._call("PUT", "comp=properties", headers, ok=(200,))

    async def read(self, offset: int, length: int) -> bytes:
        headers = {"x-ms-range": f"bytes={offset}-{offset + length - 1}"}
        _, _, body = await self._call("GET", "", headers, ok=(200, 206), read=True)
        return body

    # -- one request, retried ---------------------------------------------------------------

    async def _call(
        self,
        method: str,
        query: str,
        headers: Mapping[str, str],
        *,
        ok: tuple[int, ...],
        body: memoryview | None = None,
        read: bool = False,
        limited: bool = False,
    ) -> tuple[int, Mapping[str, str], bytes]:
        policy = self._policy
        renewed = False
        attempt = 0
        while True:
            attempt += 1
            auth = await self._target.authorize()
            if limited:
                await self._limiter.acquire()
            try:
                if limited and self._gate is not None:
                    await self._gate()
                self._counters.requests += 1
                status, resp_headers, data = await self._send(
                    method=method,
                    query=query,
                    headers=headers,
                    auth_query=auth.query,
                    auth_headers=auth.headers,
                    body=body,
                    read=read,
                )
            except _Transient as exc:
                failure: _Transient | None = exc
            else:
                failure = None
            finally:
                if limited:
                    await self._limiter.release()

            if failure is None:
                if status in ok:
                    if limited:
                        await self._limiter.succeeded()
                    return status, resp_headers, data
                code = resp_headers.get("x-ms-error-code", "")
                if status in (401, 403):
                    if self._target.can_renew and not renewed:
                        renewed = True
                        await self._target.authorize(renew=True)
                        continue
                    raise self._target.denied(status, code, auth.expires_at)
                if status in _RETRY_STATUS:
                    if status == 503 or code == "ServerBusy" or status == 429:
                        self._limiter.throttled()
                        self._counters.throttled += 1
                    failure = _Transient(
                        f"{status} {code or 'error'}",
                        parse_retry_after(resp_headers.get("Retry-After")),
                    )
                else:
                    raise self._fatal(status, code, data)

            self._counters.last_transient = failure.reason
            if attempt >= policy.max_attempts or self._counters.retries >= policy.budget:
                raise RetryBudgetExhaustedError(
                    f"The storage service kept failing ({failure.reason}; {attempt} attempts, "
                    f"{self._counters.retries} retries in this upload). Nothing sent so far is "
                    "lost: run the same upload again later and it resumes where it stopped."
                )
            self._counters.retries += 1
            delay = policy.delay(attempt, failure.retry_after)
            log.debug("retrying %s %s in %.2fs: %s", method, query or "blob", delay, failure.reason)
            await asyncio.sleep(delay)

    async def _send(
        self,
        *,
        method: str,
        query: str,
        headers: Mapping[str, str],
        auth_query: str,
        auth_headers: Mapping[str, str],
        body: memoryview | None,
        read: bool,
    ) -> tuple[int, Mapping[str, str], bytes]:
        params = "&".join(p for p in (query, auth_query) if p)
        url = URL(
            f"{self._target.blob_url}?{params}" if params else self._target.blob_url, encoded=True
        )
        all_headers = {"x-ms-version": API_VERSION, **headers, **auth_headers}
        data = PageBody(body) if body is not None else None
        if body is not None:
            all_headers["Content-Length"] = str(body.nbytes)
        timeout = aiohttp.ClientTimeout(total=self._policy.request_timeout, sock_connect=15)
        try:
            async with self._session.request(
                method, url, headers=all_headers, data=data, timeout=timeout
            ) as resp:
                payload = await resp.read() if (read or resp.status >= 300) else b""
                if not read and resp.status < 300:
                    resp.release()
                return resp.status, resp.headers, payload
        except _TRANSIENT_EXCEPTIONS as exc:
            raise _Transient(type(exc).__name__ if not str(exc) else redact(str(exc))) from exc

    # -- errors -----------------------------------------------------------------------------

    def _not_found(self, code: str) -> UploadError:
        if code == "ContainerNotFound":
            return TargetNotFoundError(
                f"The container of {self._target.display_name} does not exist: create it first "
                "or check the URL."
            )
        return TargetNotFoundError(
            f"{self._target.display_name} was not found ({code}): check the URL, the account "
            "and the container."
        )

    def _fatal(self, status: int, code: str, data: bytes) -> UploadError:
        if status == 404:
            return self._not_found(code or "404")
        detail = ""
        with contextlib.suppress(ET.ParseError, IndexError):
            detail = (ET.fromstring(data).findtext("Message") or "").splitlines()[0]
        return ServiceError(
            f"The storage service refused a request to {self._target.display_name}: {status} "
            f"{code or ''} {redact(detail)}".rstrip()
            + ". This is not a transient fault; check the target, then run the upload again."
        )

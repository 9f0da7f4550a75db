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
from urllib.parse import quote

import aiohttp
import aiohttp.payload
from yarl import URL

from gui.i18n import QT_TR_NOOP, message
from gui.transfer.errors import (
    ProxyConfigError,
    RetryBudgetExhaustedError,
    ServiceError,
    TargetNotFoundError,
    UntrustedCertificateError,
    UploadError,
)
from gui.transfer.network import Proxy, new_client_request_id, user_agent
from gui.transfer.ranges import RangeSet
from gui.transfer.redact import redact
from gui.transfer.retry import AdaptiveLimiter, RetryPolicy, parse_retry_after
from gui.transfer.targets import BlobTarget

log = logging.getLogger(__name__)

API_VERSION = "2021-08-06"
_WRITE_SLICE = 256 * 1024
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
_TRANSIENT_EXCEPTIONS = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)
# An error body is read only this far: the code is in x-ms-error-code, the message is short,
# and a proxy's or a broken server's huge error page must not be held in memory.
_ERROR_BODY_LIMIT = 64 * 1024


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
    # Requests on the wire now (past the pause gate, not yet answered): once a pause holds,
    # this falls to 0 and stays there until the upload resumes.
    sending: int = 0


class _Transient(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.ids = ""


async def _read_at_most(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    """The body up to ``limit`` bytes (the rest is dropped with the connection)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await resp.content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _body_code(data: bytes) -> str:
    """<Code> of an XML error body: only when the header is missing (a proxy may strip it)."""
    with contextlib.suppress(ET.ParseError):
        return (ET.fromstring(data).findtext("Code") or "").strip()
    return ""


def _with_ids(error: UploadError, ids: str) -> UploadError:
    """The error with the request ids appended, for a support case (the ids hold no secret)."""
    error.args = (f"{error} ({ids})",)
    return error


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
        proxy: Proxy | None = None,
    ) -> None:
        self._session = session
        self._proxy = proxy
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
            # Markers are opaque and may hold '+', '/' or '=': percent-encode all of it.
            query = "comp=pagelist" + (f"&marker={quote(marker, safe='')}" if marker else "")
            _, _, body = await self._call("GET", query, {}, ok=(200,), read=True)
            root = ET.fromstring(body)
            for node in root.iter("PageRange"):
                start = int(node.findtext("Start", "0"))
                ranges.add(start, int(node.findtext("End", "-1")) + 1)
            marker = (root.findtext("NextMarker") or "").strip()
            if not marker:
                return ranges

    async def set_content_md5(self, md5: bytes | None) -> None:
        """Set the blob's Content-MD5, or remove it (None): Set Blob Properties clears every
        content setting it is not given."""
        headers = {
            "x-ms-blob-content-type": "application/octet-stream",
            "Content-Length": "0",
        }
        if md5 is not None:
            headers["x-ms-blob-content-md5"] = base64.b64encode(md5).decode()
        await self._call("PUT", "comp=properties", headers, ok=(200,))

    async def clear_pages(self, start: int, end: int) -> None:
        """Clear ``[start, end)`` (one request: a clear, unlike an update, may span the blob)."""
        headers = {
            "x-ms-page-write": "clear",
            "x-ms-range": f"bytes={start}-{end - 1}",
            "Content-Length": "0",
        }
        await self._call("PUT", "comp=page", headers, ok=(201,))

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
        # One id for the call and all its retries, as the Azure SDKs do: support finds them all.
        client_id = new_client_request_id()
        while True:
            attempt += 1
            auth = await self._target.authorize()
            if limited:
                await self._limiter.acquire()
            try:
                if limited and self._gate is not None:
                    await self._gate()
                self._counters.requests += 1
                self._counters.sending += 1
                try:
                    status, resp_headers, data = await self._send(
                        method=method,
                        query=query,
                        headers={**headers, "x-ms-client-request-id": client_id},
                        auth_query=auth.query,
                        auth_headers=auth.headers,
                        body=body,
                        read=read,
                    )
                finally:
                    self._counters.sending -= 1
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
                code = resp_headers.get("x-ms-error-code", "") or _body_code(data)
                server_id = resp_headers.get("x-ms-request-id", "")
                ids = f"client request id {client_id}, x-ms-request-id {server_id or 'none'}"
                if status == 407:
                    raise ProxyConfigError(
                        message(
                            QT_TR_NOOP("The proxy {proxy} asks for credentials it did not "
                                       "accept: put them in the proxy variable, e.g. "
                                       "HTTPS_PROXY=http://user:password@proxy:port "
                                       "(percent-encode special characters) ({ids})."),
                            proxy=self._proxy.url if self._proxy else '', ids=ids)
                    )
                if status in (401, 403):
                    if self._target.can_renew and not renewed:
                        renewed = True
                        log.info("%s %s refused (%s %s; %s): renewing the credential",
                                 method, query or "blob", status, code, ids)  # fmt: skip
                        await self._target.authorize(renew=True)
                        continue
                    log.warning("%s %s refused: %s %s (%s)", method, query or "blob", status,
                                code, ids)  # fmt: skip
                    raise _with_ids(self._target.denied(status, code, auth.expires_at), ids)
                if status in _RETRY_STATUS:
                    if status == 503 or code == "ServerBusy" or status == 429:
                        self._limiter.throttled()
                        self._counters.throttled += 1
                    failure = _Transient(
                        f"{status} {code or 'error'}",
                        parse_retry_after(resp_headers.get("Retry-After")),
                    )
                    failure.ids = ids
                else:
                    log.warning("%s %s failed: %s %s (%s)", method, query or "blob", status,
                                code, ids)  # fmt: skip
                    raise _with_ids(self._fatal(status, code, data), ids)

            if not failure.ids:
                failure.ids = f"client request id {client_id}, no response"
            self._counters.last_transient = failure.reason
            if attempt >= policy.max_attempts or self._counters.retries >= policy.budget:
                log.warning("%s %s gave up after %d attempts: %s (last: %s)", method,
                            query or "blob", attempt, failure.reason, failure.ids)  # fmt: skip
                raise RetryBudgetExhaustedError(
                    message(
                        QT_TR_NOOP("The storage service kept failing ({reason}; {attempt} "
                                   "attempts, {retries} retries in this upload). Nothing sent so "
                                   "far is lost: run the same upload again later and it resumes "
                                   "where it stopped."),
                        reason=failure.reason, attempt=attempt, retries=self._counters.retries)
                )
            self._counters.retries += 1
            delay = policy.delay(attempt, failure.retry_after)
            log.debug("retrying %s %s in %.2fs: %s (%s)", method, query or "blob", delay,
                      failure.reason, failure.ids)  # fmt: skip
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
        all_headers = {
            "x-ms-version": API_VERSION,
            "User-Agent": user_agent(),
            **headers,
            **auth_headers,
        }
        data = PageBody(body) if body is not None else None
        if body is not None:
            all_headers["Content-Length"] = str(body.nbytes)
        timeout = aiohttp.ClientTimeout(total=self._policy.request_timeout, sock_connect=15)
        proxy = self._proxy
        proxy_headers = None
        if proxy is not None and proxy.headers:
            if url.scheme == "https":  # on the CONNECT only: never inside the tunnel to Azure
                proxy_headers = proxy.headers
            else:  # a plain request is read by the proxy itself (loopback emulators only)
                all_headers.update(proxy.headers)
        try:
            async with self._session.request(
                method,
                url,
                headers=all_headers,
                data=data,
                timeout=timeout,
                proxy=proxy.url if proxy is not None else None,
                proxy_headers=proxy_headers,
            ) as resp:
                if resp.status >= 300:
                    payload = await _read_at_most(resp, _ERROR_BODY_LIMIT)
                else:
                    payload = await resp.read() if read else b""
                if not read and resp.status < 300:
                    resp.release()
                return resp.status, resp.headers, payload
        except aiohttp.ClientHttpProxyError as exc:  # the proxy refused the CONNECT
            if exc.status in (401, 407):
                raise ProxyConfigError(
                    message(
                        QT_TR_NOOP("The proxy {proxy} refused the credentials ({status}): put "
                                   "them in the proxy variable, e.g. "
                                   "HTTPS_PROXY=http://user:password@proxy:port (percent-encode "
                                   "special characters), then run the upload again to resume."),
                        proxy=proxy.url if proxy else '', status=exc.status)
                ) from exc
            if exc.status == 403:
                raise ProxyConfigError(
                    message(
                        QT_TR_NOOP("The proxy {proxy} does not allow connections to {host}: ask "
                                   "your network team to allow *.blob.core.windows.net, or add "
                                   "the host to NO_PROXY if it is reachable directly."),
                        proxy=proxy.url if proxy else '', host=URL(self._target.blob_url).host)
                ) from exc
            raise _Transient(f"proxy answered {exc.status}") from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            # Never transient: retrying cannot make a certificate trusted.
            raise UntrustedCertificateError(
                message(
                    QT_TR_NOOP("The certificate presented for {target} is not trusted "
                               "({reason}). If your network inspects TLS, set REQUESTS_CA_BUNDLE "
                               "(or SSL_CERT_FILE) to a PEM file with your organisation's root "
                               "certificate, then run the upload again to resume."),
                    target=self._target.display_name, reason=redact(str(exc.certificate_error)))
            ) from exc
        except _TRANSIENT_EXCEPTIONS as exc:
            raise _Transient(type(exc).__name__ if not str(exc) else redact(str(exc))) from exc

    # -- errors -----------------------------------------------------------------------------

    def _not_found(self, code: str) -> UploadError:
        if code == "ContainerNotFound":
            return TargetNotFoundError(
                message(
                    QT_TR_NOOP("The container of {target} does not exist: create it first or "
                               "check the URL."),
                    target=self._target.display_name)
            )
        return TargetNotFoundError(
            message(
                QT_TR_NOOP("{target} was not found ({code}): check the URL, the account and the "
                           "container."),
                target=self._target.display_name, code=code)
        )

    def _fatal(self, status: int, code: str, data: bytes) -> UploadError:
        if status == 404:
            return self._not_found(code or "404")
        detail = ""
        with contextlib.suppress(ET.ParseError, IndexError):
            detail = (ET.fromstring(data).findtext("Message") or "").splitlines()[0]
        # Azure's answer (status, code, its own message) is quoted as it came.
        return ServiceError(message(
            QT_TR_NOOP("The storage service refused a request to {target}: {answer}. This is not "
                       "a transient fault; check the target, then run the upload again."),
            target=self._target.display_name,
            answer=f"{status} {code or ''} {redact(detail)}".rstrip()))

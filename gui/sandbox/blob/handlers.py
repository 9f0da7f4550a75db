"""The Blob REST subset for page blobs, as azure-storage-blob (sync and aio) and plain HTTP use it.

Paths carry the account like Azurite: ``/<account>/<container>/<blob>``.

Copies between accounts happen on the server, as in Azure: Copy Blob (``x-ms-copy-source``,
asynchronous: pending with ``x-ms-copy-progress`` on the destination until it succeeds) and
Copy Blob From URL (``x-ms-requires-sync: true``; block blobs up to 256 MiB, as Azure allows).
The source is read through the SAS in its URL. ``BlobStore.traffic`` counts the blob data
clients sent and received, which a server-side copy leaves untouched.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlsplit
from xml.sax.saxutils import escape

from aiohttp import web

from gui.sandbox.blob import sas
from gui.sandbox.blob.errors import (
    BlobError,
    account_not_found,
    authentication_failed,
    invalid_header,
    invalid_page_range,
    new_request_id,
    no_authentication,
    request_body_too_large,
)
from gui.sandbox.blob.store import Account, BlobMeta, BlobStore, CopyState

if TYPE_CHECKING:
    from gui.sandbox.world import World

log = logging.getLogger(__name__)

PAGE = 512
MAX_PAGE_WRITE = 4 * 1024 * 1024
MAX_PAGE_BLOB = 8 * 1024**4
MAX_SYNC_COPY = 256 * 1024**2  # Copy Blob From URL's limit
SERVICE_VERSION = "2025-01-05"
_STREAM_CHUNK = 4 * 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _parse_range(headers: Mapping[str, str]) -> tuple[int, int] | None:
    """(start, end inclusive) from x-ms-range or Range; None when absent."""
    name = "x-ms-range" if "x-ms-range" in headers else "Range"
    raw = headers.get(name)
    if raw is None:
        return None
    m = _RANGE.match(raw.strip())
    if m is None:
        raise invalid_header(name)
    start = int(m.group(1))
    end = int(m.group(2)) if m.group(2) else -1
    if end != -1 and end < start:
        raise invalid_header(name)
    return start, end


# Page-range markers are opaque to clients, as Azure's are; these are standard base64 that
# always holds '+', '/' and '=', so a client that puts a marker back into a query without
# percent-encoding it ('+' reads as a space) gets 400 here, as it would from Azure sooner or later.
_MARKER_TAG = b"\xfb\xff\xbf"
_DRAIN_LIMIT = 64 * 1024 * 1024  # the most of an unwanted request body read before closing


def _make_marker(offset: int) -> str:
    return base64.b64encode(_MARKER_TAG + offset.to_bytes(8, "big")).decode()


def _marker_offset(marker: str, end: int) -> int:
    try:
        raw = base64.b64decode(marker, validate=True)
    except ValueError:
        raise _invalid_query("marker") from None
    if len(raw) != len(_MARKER_TAG) + 8 or not raw.startswith(_MARKER_TAG):
        raise _invalid_query("marker")
    offset = int.from_bytes(raw[len(_MARKER_TAG) :], "big")
    if offset % PAGE or offset > end:
        raise _invalid_query("marker")
    return offset


def _invalid_query(name: str) -> BlobError:
    return BlobError(
        400,
        "InvalidQueryParameterValue",
        "Value for one of the query parameters specified in the request URI is invalid.",
        headers={"x-ms-query-parameter-name": name},
    )


async def _discard_body(request: web.Request) -> bool:
    """Read and drop the rest of the request body so the connection can carry the next
    request; False when it goes past _DRAIN_LIMIT (the caller then closes the connection)."""
    left = _DRAIN_LIMIT
    while left > 0:
        chunk = await request.content.read(min(left, _STREAM_CHUNK))
        if not chunk:
            return True
        left -= len(chunk)
    return request.content.at_eof()


def _meta_headers(meta: BlobMeta) -> dict[str, str]:
    headers = {f"x-ms-meta-{k}": v for k, v in meta.metadata.items()}
    headers.update(
        {
            "ETag": meta.etag,
            "Last-Modified": _http_date(meta.last_modified),
            "x-ms-blob-type": meta.blob_type,
            "x-ms-creation-time": _http_date(meta.created),
            "x-ms-lease-status": "unlocked",
            "x-ms-lease-state": "available",
            "x-ms-server-encrypted": "true",
            "Accept-Ranges": "bytes",
        }
    )
    if meta.blob_type == "PageBlob":
        headers["x-ms-blob-sequence-number"] = str(meta.sequence_number)
    if meta.copy is not None:
        status, copied, completed = meta.copy.progress()
        headers.update(
            {
                "x-ms-copy-id": meta.copy.copy_id,
                "x-ms-copy-source": meta.copy.source,
                "x-ms-copy-status": status,
                "x-ms-copy-progress": f"{copied}/{meta.copy.total}",
            }
        )
        if completed is not None:
            moment = datetime.fromtimestamp(completed, UTC)
            headers["x-ms-copy-completion-time"] = _http_date(moment)
    return headers


def _request_metadata(request: web.Request) -> dict[str, str]:
    return {
        k[len("x-ms-meta-") :]: v
        for k, v in request.headers.items()
        if k.lower().startswith("x-ms-meta-")
    }


class BlobService:
    def __init__(self, world: World, store: BlobStore) -> None:
        self.world = world
        self.store = store

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.world.request_count += 1
        request_id = new_request_id()
        base_headers = {
            "x-ms-request-id": request_id,
            "x-ms-version": request.headers.get("x-ms-version", SERVICE_VERSION),
            "Server": "Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0",
        }
        try:
            rule = self.world.faults.take(request.method, request.path)
            if rule is not None:
                raise BlobError(
                    rule.status,
                    rule.code,
                    rule.message or "Injected fault.",
                    headers={"Retry-After": f"{rule.retry_after:g}"}
                    if rule.retry_after is not None
                    else None,
                )
            if self.world.faults.latency > 0:
                await asyncio.sleep(self.world.faults.latency)
            try:
                response = await self._dispatch(request)
            except BlobError:
                raise
            except web.HTTPRequestEntityTooLarge as exc:  # a body past client_max_size
                raise request_body_too_large() from exc
            except Exception as exc:
                log.exception("blob handler failed for %s %s", request.method, request.path)
                raise BlobError(
                    500,
                    "InternalError",
                    "The server encountered an internal error. Please retry the request.",
                ) from exc
        except BlobError as err:
            # Never request.read() here: past client_max_size it raises, and aiohttp's own
            # bare 413 would replace this answer and lose x-ms-error-code.
            drained = request.method == "HEAD" or await _discard_body(request)
            body = b"" if request.method == "HEAD" else err.xml(request_id)
            headers = {**base_headers, **err.headers, "x-ms-error-code": err.code}
            response = web.Response(
                status=err.status, body=body, headers=headers, content_type="application/xml"
            )
            if not drained:  # the rest of a huge body is not read: the connection cannot go on
                response.force_close()
            return response
        for key, value in base_headers.items():
            response.headers.setdefault(key, value)
        return response

    # ---- routing -----------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.lstrip("/").split("/", 2)
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise BlobError(
                400,
                "InvalidUri",
                "The requested URI does not represent any resource on the server.",
            )
        account_name, container = parts[0], parts[1]
        blob = unquote(parts[2]) if len(parts) == 3 and parts[2] else None
        account = self.store.account(account_name)
        if account is None:
            raise account_not_found()
        query = {k.lower(): v for k, v in request.query.items()}
        restype, comp = query.get("restype", ""), query.get("comp", "")
        grant = self._authorize(request, account, container, blob)
        method = request.method
        if blob is None:
            if restype != "container":
                raise BlobError(
                    400,
                    "InvalidQueryParameterValue",
                    "Value for one of the query parameters specified in the request URI is "
                    "invalid.",
                )
            return await self._container_op(request, account_name, container, comp, grant)
        if method == "PUT":
            if comp == "page":
                sas.require_permission(grant, "w")
                return await self._put_page(request, account_name, container, blob)
            if comp == "properties":
                sas.require_permission(grant, "w")
                return self._set_properties(request, account_name, container, blob)
            if comp == "metadata":
                sas.require_permission(grant, "w")
                return self._set_metadata(request, account_name, container, blob)
            if comp == "" and "x-ms-copy-source" in request.headers:
                sas.require_permission(grant, "cw")
                return await self._copy_blob(request, account_name, container, blob)
            if comp == "":
                sas.require_permission(grant, "cw")
                return await self._put_blob(request, account_name, container, blob)
        elif method in ("GET", "HEAD"):
            sas.require_permission(grant, "r")
            if comp == "pagelist":
                return self._page_ranges(request, account_name, container, blob)
            if comp == "metadata":
                meta = self.store.blob(account_name, container, blob)
                return web.Response(
                    status=200,
                    headers={
                        **{f"x-ms-meta-{k}": v for k, v in meta.metadata.items()},
                        "ETag": meta.etag,
                        "Last-Modified": _http_date(meta.last_modified),
                    },
                )
            if comp == "":
                if method == "HEAD":
                    return self._properties(account_name, container, blob)
                return await self._get_blob(request, account_name, container, blob)
        elif method == "DELETE" and comp == "":
            sas.require_permission(grant, "d")
            self.store.delete_blob(account_name, container, blob)
            return web.Response(status=202, headers={"x-ms-delete-type-permanent": "true"})
        raise BlobError(
            400,
            "UnsupportedHttpVerb" if comp == "" else "InvalidQueryParameterValue",
            f"The sandbox does not support {method} with comp='{comp}' on a blob.",
        )

    def _authorize(
        self, request: web.Request, account: Account, container: str, blob: str | None
    ) -> sas.SasGrant:
        params = dict(request.query.items())
        if "sig" not in params:
            if request.headers.get("Authorization"):
                raise authentication_failed(
                    "The sandbox accepts shared access signatures only; append a SAS to the URL."
                )
            raise no_authentication()
        try:
            policies = self.store.container(account.name, container).policies
        except BlobError:
            policies = {}
        return sas.verify(
            params,
            account=account.name,
            key=account.key,
            other_keys=(account.secondary_key,),
            container=container,
            blob=blob,
            policies=policies,
        )

    # ---- containers --------------------------------------------------------------------

    async def _container_op(
        self, request: web.Request, account: str, container: str, comp: str, grant: sas.SasGrant
    ) -> web.StreamResponse:
        method = request.method
        if method == "PUT" and comp == "":
            sas.require_permission(grant, "cw")
            cont, created = self.store.create_container(account, container)
            if not created:
                raise BlobError(
                    409, "ContainerAlreadyExists", "The specified container already exists."
                )
            cont.metadata = _request_metadata(request)
            return web.Response(
                status=201, headers={"ETag": cont.etag, "Last-Modified": _http_date(cont.created)}
            )
        if method in ("GET", "HEAD") and comp == "":
            sas.require_permission(grant, "r")
            cont = self.store.container(account, container)
            return web.Response(
                status=200,
                headers={
                    **{f"x-ms-meta-{k}": v for k, v in cont.metadata.items()},
                    "ETag": cont.etag,
                    "Last-Modified": _http_date(cont.created),
                    "x-ms-lease-status": "unlocked",
                    "x-ms-lease-state": "available",
                    "x-ms-has-immutability-policy": "false",
                    "x-ms-has-legal-hold": "false",
                },
            )
        if method == "DELETE" and comp == "":
            sas.require_permission(grant, "d")
            self.store.delete_container(account, container)
            return web.Response(status=202)
        if method == "GET" and comp == "list":
            sas.require_permission(grant, "l")
            return self._list_blobs(request, account, container)
        raise BlobError(
            400,
            "InvalidQueryParameterValue",
            f"The sandbox does not support {method} with comp='{comp}' on a container.",
        )

    def _list_blobs(self, request: web.Request, account: str, container: str) -> web.Response:
        cont = self.store.container(account, container)
        prefix = request.query.get("prefix", "")
        items = []
        for name in sorted(cont.blobs):
            if not name.startswith(prefix):
                continue
            meta = cont.blobs[name]
            md5 = (
                f"<Content-MD5>{meta.content_md5}</Content-MD5>"
                if meta.content_md5
                else "<Content-MD5 />"
            )
            items.append(
                f"<Blob><Name>{escape(name)}</Name><Properties>"
                f"<Creation-Time>{_http_date(meta.created)}</Creation-Time>"
                f"<Last-Modified>{_http_date(meta.last_modified)}</Last-Modified>"
                f"<Etag>{meta.etag}</Etag><Content-Length>{meta.size}</Content-Length>"
                f"<Content-Type>{escape(meta.content_type)}</Content-Type>{md5}"
                f"<BlobType>{meta.blob_type}</BlobType><LeaseStatus>unlocked</LeaseStatus>"
                f"<LeaseState>available</LeaseState><ServerEncrypted>true</ServerEncrypted>"
                f"</Properties></Blob>"
            )
        endpoint = f"{self.world.blob_url}/{account}"
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<EnumerationResults ServiceEndpoint="{endpoint}/" '
            f'ContainerName="{escape(container)}">'
            f"<Prefix>{escape(prefix)}</Prefix><Blobs>{''.join(items)}</Blobs><NextMarker />"
            "</EnumerationResults>"
        )
        return web.Response(status=200, body=body.encode(), content_type="application/xml")

    # ---- blobs -------------------------------------------------------------------------

    async def _put_blob(
        self, request: web.Request, account: str, container: str, blob: str
    ) -> web.Response:
        blob_type = request.headers.get("x-ms-blob-type", "")
        self.store.container(account, container)  # 404 before reading a large body
        body = await request.read()
        self.store.traffic.received += len(body)
        if blob_type == "PageBlob":
            raw_size = request.headers.get("x-ms-blob-content-length")
            if raw_size is None or not raw_size.isdigit():
                raise BlobError(
                    400,
                    "MissingRequiredHeader",
                    "An HTTP header that's mandatory for this request is not specified.",
                    headers={"x-ms-missing-header": "x-ms-blob-content-length"},
                )
            size = int(raw_size)
            if size % PAGE or size > MAX_PAGE_BLOB:
                raise invalid_header("x-ms-blob-content-length")
            if body:
                raise invalid_header(
                    "Content-Length", "A page blob is created empty; upload pages with Put Page."
                )
            meta = BlobMeta(name=blob, blob_type="PageBlob", size=size)
            seq = request.headers.get("x-ms-blob-sequence-number")
            meta.sequence_number = int(seq) if seq and seq.isdigit() else 0
            content = b""
        elif blob_type == "BlockBlob":
            meta = BlobMeta(name=blob, blob_type="BlockBlob", size=len(body))
            meta.content_md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
            content = body
        else:
            raise invalid_header("x-ms-blob-type")
        if request.headers.get("x-ms-blob-content-md5"):
            meta.content_md5 = request.headers["x-ms-blob-content-md5"]
        meta.content_type = request.headers.get("x-ms-blob-content-type", meta.content_type)
        meta.metadata = _request_metadata(request)
        self.store.put_blob(account, container, meta, content)
        headers = {
            "ETag": meta.etag,
            "Last-Modified": _http_date(meta.last_modified),
            "x-ms-request-server-encrypted": "true",
        }
        if meta.blob_type == "BlockBlob" and meta.content_md5:
            headers["Content-MD5"] = meta.content_md5
        return web.Response(status=201, headers=headers)

    async def _put_page(
        self, request: web.Request, account: str, container: str, blob: str
    ) -> web.Response:
        meta = self.store.blob(account, container, blob)
        if meta.blob_type != "PageBlob":
            raise BlobError(409, "InvalidBlobType", "The blob type is invalid for this operation.")
        span = _parse_range(request.headers)
        if span is None or span[1] == -1:
            raise BlobError(
                400,
                "MissingRequiredHeader",
                "An HTTP header that's mandatory for this request is not specified.",
                headers={"x-ms-missing-header": "x-ms-range"},
            )
        start, end = span
        length = end - start + 1
        if start % PAGE or length % PAGE:
            raise invalid_header("x-ms-range")
        if end >= meta.size:
            raise invalid_page_range()
        write = request.headers.get("x-ms-page-write", "").lower()
        # As in Azure: an update writes at most 4 MiB, a clear may span the whole blob.
        if length > MAX_PAGE_WRITE and write != "clear":
            raise request_body_too_large()
        headers: dict[str, str] = {}
        if write == "update":
            body = await request.read()
            self.store.traffic.received += len(body)
            if len(body) != length:
                raise invalid_header(
                    "Content-Length",
                    "The value for one of the HTTP headers is not in the correct format.",
                )
            md5_header = request.headers.get("Content-MD5")
            if md5_header:
                actual = base64.b64encode(hashlib.md5(body).digest()).decode()
                if actual != md5_header:
                    raise BlobError(
                        400,
                        "Md5Mismatch",
                        "The MD5 value specified in the request did not match with the "
                        "MD5 value calculated by the server.",
                    )
                headers["Content-MD5"] = actual
            self.store.write_pages(account, container, meta, start, body)
        elif write == "clear":
            await request.read()
            self.store.clear_pages(account, container, meta, start, length)
        else:
            raise invalid_header("x-ms-page-write")
        self._schedule_flush()
        headers.update(
            {
                "ETag": meta.etag,
                "Last-Modified": _http_date(meta.last_modified),
                "x-ms-blob-sequence-number": str(meta.sequence_number),
                "x-ms-request-server-encrypted": "true",
            }
        )
        return web.Response(status=201, headers=headers)

    def _schedule_flush(self) -> None:
        self.world.schedule_blob_flush()

    def _page_ranges(
        self, request: web.Request, account: str, container: str, blob: str
    ) -> web.Response:
        meta = self.store.blob(account, container, blob)
        span = _parse_range(request.headers)
        start, end = (
            (0, meta.size)
            if span is None
            else (span[0], meta.size if span[1] == -1 else span[1] + 1)
        )
        marker = request.query.get("marker")
        if marker:
            start = max(start, _marker_offset(marker, end))
        limit = max(1, self.store.page_range_limit)
        raw_max = request.query.get("maxresults")
        if raw_max is not None:
            if not raw_max.isdigit() or int(raw_max) < 1:
                raise _invalid_query("maxresults")
            limit = min(limit, int(raw_max))
        ranges = meta.ranges.overlapping(start, end)
        next_marker = ""
        if len(ranges) > limit:
            ranges = ranges[:limit]
            next_marker = _make_marker(ranges[-1][1])
        body = "".join(
            f"<PageRange><Start>{s}</Start><End>{e - 1}</End></PageRange>" for s, e in ranges
        )
        if next_marker:
            body += f"<NextMarker>{escape(next_marker)}</NextMarker>"
        xml = f'<?xml version="1.0" encoding="utf-8"?><PageList>{body}</PageList>'
        return web.Response(
            status=200,
            body=xml.encode(),
            content_type="application/xml",
            headers={
                "ETag": meta.etag,
                "Last-Modified": _http_date(meta.last_modified),
                "x-ms-blob-content-length": str(meta.size),
            },
        )

    def _properties(self, account: str, container: str, blob: str) -> web.Response:
        meta = self.store.blob(account, container, blob)
        headers = _meta_headers(meta)
        headers["Content-Length"] = str(meta.size)
        headers["Content-Type"] = meta.content_type
        if meta.content_md5:
            headers["Content-MD5"] = meta.content_md5
        response = web.Response(status=200, headers=headers)
        return response

    async def _get_blob(
        self, request: web.Request, account: str, container: str, blob: str
    ) -> web.StreamResponse:
        meta = self.store.blob(account, container, blob)
        span = _parse_range(request.headers)
        headers = _meta_headers(meta)
        if meta.content_md5:
            headers["x-ms-blob-content-md5"] = meta.content_md5
        if span is None:
            start, length, status = 0, meta.size, 200
            if meta.content_md5:
                headers["Content-MD5"] = meta.content_md5
        else:
            start = span[0]
            if start >= meta.size and meta.size > 0:
                raise BlobError(
                    416,
                    "InvalidRange",
                    "The range specified is invalid for the current size of the resource.",
                    headers={"Content-Range": f"bytes */{meta.size}"},
                )
            end = meta.size - 1 if span[1] == -1 else min(span[1], meta.size - 1)
            length, status = end - start + 1, 206
            headers["Content-Range"] = f"bytes {start}-{end}/{meta.size}"
            if request.headers.get("x-ms-range-get-content-md5", "").lower() == "true":
                if length > MAX_PAGE_WRITE:
                    raise BlobError(
                        400, "OutOfRangeInput", "One of the request inputs is out of range."
                    )
                data = self.store.read(account, container, meta, start, length)
                headers["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
        headers["Content-Type"] = meta.content_type
        headers["Content-Length"] = str(length)
        self.store.traffic.sent += length
        if length <= _STREAM_CHUNK:
            data = self.store.read(account, container, meta, start, length)
            return web.Response(status=status, body=data, headers=headers)
        response = web.StreamResponse(status=status, headers=headers)
        await response.prepare(request)
        offset = start
        remaining = length
        while remaining > 0:
            n = min(_STREAM_CHUNK, remaining)
            await response.write(self.store.read(account, container, meta, offset, n))
            offset += n
            remaining -= n
        await response.write_eof()
        return response

    def _set_properties(
        self, request: web.Request, account: str, container: str, blob: str
    ) -> web.Response:
        meta = self.store.blob(account, container, blob)
        # As in Azure, content settings not sent with Set Blob Properties are cleared.
        meta.content_md5 = request.headers.get("x-ms-blob-content-md5") or None
        meta.content_type = (
            request.headers.get("x-ms-blob-content-type") or "application/octet-stream"
        )
        new_size = request.headers.get("x-ms-blob-content-length")
        if new_size is not None:
            if meta.blob_type != "PageBlob" or not new_size.isdigit() or int(new_size) % PAGE:
                raise invalid_header("x-ms-blob-content-length")
            self.store.resize(account, container, meta, int(new_size))
        sequence = {"x-ms-blob-sequence-number": str(meta.sequence_number)}
        return self._changed(account, container, blob, meta, sequence)

    def _set_metadata(
        self, request: web.Request, account: str, container: str, blob: str
    ) -> web.Response:
        meta = self.store.blob(account, container, blob)
        meta.metadata = _request_metadata(request)
        encrypted = {"x-ms-request-server-encrypted": "true"}
        return self._changed(account, container, blob, meta, encrypted)

    def _changed(
        self, account: str, container: str, blob: str, meta: BlobMeta, extra: dict[str, str]
    ) -> web.Response:
        """Save a blob's changed properties and answer as Azure does: its new ETag and time, and
        the operation's own headers (as the REST reference lists them)."""
        meta.touch()
        self.store.mark_dirty(account, container, blob)
        self.store.flush()
        headers = {"ETag": meta.etag, "Last-Modified": _http_date(meta.last_modified)}
        return web.Response(status=200, headers={**headers, **extra})

    # ---- server-side copies --------------------------------------------------------------

    def _copy_source(self, url: str) -> tuple[str, str, str, BlobMeta, str]:
        """The source of a copy: (account, container, blob, its metadata, the URL without its
        query), read through the SAS in ``url`` as Azure reads it (a source it cannot read is
        CannotVerifyCopySource)."""
        parts = urlsplit(url)
        base = urlsplit(self.world.blob_url)
        segments = [unquote(x) for x in parts.path.lstrip("/").split("/", 2)]
        if (parts.hostname, parts.port) != (base.hostname, base.port) or len(segments) != 3:
            raise BlobError(
                400,
                "InvalidHeaderValue",
                "The copy source must be a blob URL on this (sandbox) blob endpoint: "
                f"{self.world.blob_url}/<account>/<container>/<blob>?<SAS>.",
                headers={"x-ms-invalid-header-name": "x-ms-copy-source"},
            )
        account_name, container, blob = segments
        bare = f"{parts.scheme}://{parts.netloc}{parts.path}"
        account = self.store.account(account_name)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        if account is None or "sig" not in params:
            raise _cannot_verify(403, "This request is not authorized to perform this operation.")
        try:
            policies = self.store.container(account_name, container).policies
            grant = sas.verify(
                params,
                account=account_name,
                key=account.key,
                other_keys=(account.secondary_key,),
                container=container,
                blob=blob,
                policies=policies,
            )
            sas.require_permission(grant, "r")
        except BlobError as err:
            if err.status == 404:
                raise _cannot_verify(404, "The specified container does not exist.") from err
            reason = f"The source SAS does not allow reading it: {err.message}"
            raise _cannot_verify(403, reason) from err
        try:
            meta = self.store.blob(account_name, container, blob)
        except BlobError as err:
            raise _cannot_verify(404, "The specified blob does not exist.") from err
        return account_name, container, blob, meta, bare

    async def _copy_blob(
        self, request: web.Request, account: str, container: str, blob: str
    ) -> web.Response:
        await request.read()
        self.store.container(account, container)
        src_account, src_container, src_blob, src_meta, bare = self._copy_source(
            request.headers["x-ms-copy-source"]
        )
        sync = request.headers.get("x-ms-requires-sync", "").lower() == "true"
        if sync and src_meta.blob_type != "BlockBlob":
            raise BlobError(
                409,
                "CannotVerifyCopySource",
                "Copy Blob From URL (x-ms-requires-sync) copies block blobs only. Copy a page "
                "blob with an asynchronous Copy Blob.",
            )
        if sync and src_meta.size > MAX_SYNC_COPY:
            raise BlobError(
                409,
                "CannotVerifyCopySource",
                "The source blob is larger than 256 MiB, the limit of Copy Blob From URL. Use an "
                "asynchronous Copy Blob.",
            )
        # The bytes move inside the store, never through a client (traffic stays unchanged).
        meta = self.store.copy_blob(
            (src_account, src_container, src_blob), (account, container, blob)
        )
        copy_id = str(uuid.uuid4())
        meta.copy = CopyState(
            copy_id=copy_id,
            source=bare,
            total=src_meta.size,
            started=time.time(),
            seconds=0.0 if sync else self.store.copy_seconds,
        )
        meta.metadata = _request_metadata(request) or meta.metadata
        self.store.mark_dirty(account, container, blob)
        self.store.flush()
        status, _, _ = meta.copy.progress()
        return web.Response(
            status=202,
            headers={
                "ETag": meta.etag,
                "Last-Modified": _http_date(meta.last_modified),
                "x-ms-copy-id": copy_id,
                "x-ms-copy-status": status,
            },
        )


def _cannot_verify(status: int, message: str) -> BlobError:
    return BlobError(status, "CannotVerifyCopySource", message)

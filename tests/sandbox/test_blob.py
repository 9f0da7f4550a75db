"""The page-blob endpoint with azure-storage-blob (sync and aio) and plain HTTP."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.storage.blob import BlobClient, BlobSasPermissions, ContentSettings, generate_blob_sas
from azure.storage.blob.aio import BlobClient as AsyncBlobClient

from gui.sandbox import SandboxServer
from gui.sandbox.seed.world import STORAGE_ACCOUNT_PROD
from tests.sandbox.helpers import storage_error_code

MIB = 1024 * 1024


def _ranges(blob: BlobClient) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for r in blob.list_page_ranges():
        assert r.start is not None and r.end is not None
        out.append((r.start, r.end))
    return out


def _unique(name: str) -> str:
    return f"{name}-{os.urandom(4).hex()}.vhd"


def test_page_blob_round_trip_with_the_sync_sdk(sandbox: SandboxServer) -> None:
    url = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", _unique("roundtrip"))
    blob = BlobClient.from_blob_url(url)
    size = 4 * MIB + 512
    blob.create_page_blob(size, metadata={"source": "test"})
    first = os.urandom(MIB)
    last = os.urandom(512)
    blob.upload_page(first, offset=MIB, length=MIB)
    blob.upload_page(last, offset=size - 512, length=512)

    assert _ranges(blob) == [(MIB, 2 * MIB - 1), (size - 512, size - 1)]

    data = blob.download_blob().readall()
    assert len(data) == size
    assert data[MIB : 2 * MIB] == first
    assert data[-512:] == last
    assert data[:MIB] == bytes(MIB)
    assert blob.download_blob(offset=MIB + 100, length=50).readall() == first[100:150]

    md5 = hashlib.md5(data).digest()
    blob.set_http_headers(ContentSettings(content_md5=bytearray(md5)))
    props = blob.get_blob_properties()
    assert props.blob_type == "PageBlob"
    assert props.size == size
    assert props.content_settings.content_md5 is not None
    assert bytes(props.content_settings.content_md5) == md5
    assert props.metadata == {"source": "test"}

    blob.set_blob_metadata({"journal": "abc"})
    assert blob.get_blob_properties().metadata == {"journal": "abc"}

    blob.clear_page(offset=MIB, length=MIB)
    assert _ranges(blob) == [(size - 512, size - 1)]
    assert blob.download_blob(offset=MIB, length=MIB).readall() == bytes(MIB)
    blob.delete_blob()
    with pytest.raises(HttpResponseError) as info:
        blob.get_blob_properties()
    assert info.value.status_code == 404


@pytest.mark.asyncio
async def test_page_blob_with_the_aio_sdk(sandbox: SandboxServer) -> None:
    url = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "uploads", _unique("aio"))
    async with AsyncBlobClient.from_blob_url(url) as blob:
        await blob.create_page_blob(8 * MIB)
        # (aiohttp warns about request bodies over 1 MiB given as bytes; stay below)
        chunk = os.urandom(MIB // 2)
        await blob.upload_page(chunk, offset=4 * MIB, length=len(chunk))
        stream = await blob.download_blob(offset=4 * MIB, length=len(chunk))
        assert await stream.readall() == chunk
        ranges = [(r.start, r.end) async for r in blob.list_page_ranges()]
        assert ranges == [(4 * MIB, 4 * MIB + len(chunk) - 1)]


def test_page_rules_are_enforced(sandbox: SandboxServer) -> None:
    blob = BlobClient.from_blob_url(
        sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", _unique("r"))
    )
    with pytest.raises(HttpResponseError) as info:
        blob.create_page_blob(1000)  # not a multiple of 512
    assert storage_error_code(info.value) == "InvalidHeaderValue"
    blob.create_page_blob(8 * MIB)
    with pytest.raises(HttpResponseError) as info:
        blob.upload_page(b"x" * 512, offset=8 * MIB, length=512)
    assert storage_error_code(info.value) == "InvalidPageRange"
    # What the SDK refuses client-side, the service refuses too.
    url = blob.url
    assert _put_page(url, 100, b"x" * 512) == (400, "InvalidHeaderValue")
    assert _put_page(url, 0, b"x" * (4 * MIB + 512)) == (413, "RequestBodyTooLarge")
    assert _put_page(url, 0, b"x" * 512) == (201, "")


def _put_page(
    url: str, offset: int, data: bytes, *, range_header: str = "x-ms-range", md5: bool = False
) -> tuple[int, str]:
    """Put Page over plain HTTP: (status, x-ms-error-code or "")."""
    headers = {
        "x-ms-page-write": "update",
        range_header: f"bytes={offset}-{offset + len(data) - 1}",
    }
    if md5:
        headers["Content-MD5"] = base64.b64encode(hashlib.md5(data).digest()).decode()
    request = urllib.request.Request(url + "&comp=page", data=data, method="PUT", headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, ""
    except urllib.error.HTTPError as err:
        err.read()
        return err.code, err.headers.get("x-ms-error-code", "")


def test_plain_http_put_page_and_ranged_get(sandbox: SandboxServer) -> None:
    url = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", _unique("http"))
    create = urllib.request.Request(
        url,
        method="PUT",
        headers={
            "x-ms-blob-type": "PageBlob",
            "x-ms-blob-content-length": str(MIB),
            "Content-Length": "0",
        },
    )
    with urllib.request.urlopen(create) as response:
        assert response.status == 201
    payload = os.urandom(1024)
    # The plain Range header is honoured as well as x-ms-range, and a right Content-MD5 passes.
    assert _put_page(url, 2048, payload, range_header="Range", md5=True) == (201, "")
    get = urllib.request.Request(url, headers={"x-ms-range": "bytes=2048-3071"})
    with urllib.request.urlopen(get) as response:
        assert response.status == 206
        assert response.read() == payload
        assert response.headers["Content-Range"] == f"bytes 2048-3071/{MIB}"


def _status_and_body(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, "", response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("x-ms-error-code", ""), err.read().decode()


def test_expired_tampered_and_missing_sas_are_refused(sandbox: SandboxServer) -> None:
    name = _unique("sas")
    BlobClient.from_blob_url(
        sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name)
    ).create_page_blob(512)

    expired = sandbox.blob_sas_url(
        STORAGE_ACCOUNT_PROD, "vhds", name, expires_in=timedelta(seconds=-5)
    )
    status, code, body = _status_and_body(expired)
    assert (status, code) == (403, "AuthenticationFailed")
    assert "<Error><Code>AuthenticationFailed</Code>" in body
    assert "has to be after current time" in body

    good = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name, permissions="r")
    tampered = good.replace("sp=r", "sp=rw")
    status, code, body = _status_and_body(tampered)
    assert (status, code) == (403, "AuthenticationFailed")
    assert "Signature did not match" in body

    status, code, _ = _status_and_body(good.split("?")[0])
    assert (status, code) == (401, "NoAuthenticationInformation")

    read_only = BlobClient.from_blob_url(good)
    with pytest.raises(HttpResponseError) as info:
        read_only.upload_page(b"\0" * 512, offset=0, length=512)
    assert storage_error_code(info.value) == "AuthorizationPermissionMismatch"

    other_blob = good.replace(name, _unique("elsewhere"))
    with pytest.raises(ClientAuthenticationError):
        BlobClient.from_blob_url(other_blob).get_blob_properties()


def test_sas_made_by_the_sdk_with_the_account_key_is_accepted(sandbox: SandboxServer) -> None:
    name = _unique("sdk-sas")
    token = generate_blob_sas(
        account_name=STORAGE_ACCOUNT_PROD,
        container_name="vhds",
        blob_name=name,
        account_key=sandbox.account_key(STORAGE_ACCOUNT_PROD),
        permission=BlobSasPermissions(read=True, create=True, write=True),
        expiry=datetime.now(UTC) + timedelta(minutes=10),
    )
    blob = BlobClient.from_blob_url(
        f"{sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}/vhds/{name}?{token}"
    )
    blob.create_page_blob(1024)
    assert blob.get_blob_properties().size == 1024


def test_blob_data_survives_a_restart(fresh_sandbox: SandboxServer) -> None:
    name = _unique("persist")
    url = fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name)
    blob = BlobClient.from_blob_url(url)
    blob.create_page_blob(2 * MIB)
    payload = os.urandom(MIB)
    blob.upload_page(payload, offset=MIB, length=MIB)
    key = fresh_sandbox.account_key(STORAGE_ACCOUNT_PROD)
    fresh_sandbox.stop()
    fresh_sandbox.start()
    assert fresh_sandbox.account_key(STORAGE_ACCOUNT_PROD) == key
    again = BlobClient.from_blob_url(fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name))
    assert _ranges(again) == [(MIB, 2 * MIB - 1)]
    assert again.download_blob(offset=MIB, length=MIB).readall() == payload


@pytest.mark.parametrize(
    ("no_pwrite", "no_fallocate"),
    [(False, False), (True, False), (False, True), (True, True)],
    ids=["native", "seek-write", "zero-write", "both-fallbacks"],
)
def test_page_writes_and_clears_read_back_the_same_with_every_fallback(
    sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, no_pwrite: bool, no_fallocate: bool
) -> None:
    """Windows has no os.pwrite and no fallocate: each fallback, forced here, stores the same."""
    from gui.sandbox.blob import store

    if no_pwrite:  # as on Windows: the function does not exist at all
        monkeypatch.setattr(store, "_PWRITE", None)
        monkeypatch.delattr(os, "pwrite")
    if no_fallocate:
        monkeypatch.setattr(store, "_FALLOCATE", None)
    blob = BlobClient.from_blob_url(
        sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", _unique("fallback"))
    )
    size = 6 * MIB
    blob.create_page_blob(size)
    expected = bytearray(size)
    # Bytes 0x0A and 0x0D in every page: a text-mode descriptor would change them.
    payload = (b"\n\r\x00\xff" * (MIB // 2))[: 2 * MIB]
    for offset in (0, 3 * MIB + 512):
        blob.upload_page(payload, offset=offset, length=len(payload))
        expected[offset : offset + len(payload)] = payload
    blob.clear_page(offset=MIB, length=MIB + 512)  # across the end of the first write
    expected[MIB : 2 * MIB + 512] = bytes(MIB + 512)
    blob.clear_page(offset=4 * MIB, length=512)
    expected[4 * MIB : 4 * MIB + 512] = bytes(512)

    assert blob.download_blob().readall() == bytes(expected)
    assert _ranges(blob) == [(0, MIB - 1), (3 * MIB + 512, 4 * MIB - 1),
                             (4 * MIB + 512, 5 * MIB + 511)]  # fmt: skip


def test_page_ranges_are_paged_with_markers_that_need_encoding(sandbox: SandboxServer) -> None:
    url = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", _unique("markers"))
    blob = BlobClient.from_blob_url(url)
    blob.create_page_blob(MIB)
    starts = [0, 8192, 65536, 131072, 524288]
    for start in starts:
        blob.upload_page(b"\1" * 512, offset=start, length=512)

    first = f"{url}&comp=pagelist&maxresults=2"
    status, _, body = _status_and_body(first)
    assert status == 200
    marker = body.split("<NextMarker>")[1].split("</NextMarker>")[0]
    assert body.count("<PageRange>") == 2
    assert {"+", "/", "="} <= set(marker)

    # Sent back as is, '+' reads as a space: refused as Azure refuses a damaged marker.
    status, code, _ = _status_and_body(f"{first}&marker={marker}")
    assert (status, code) == (400, "InvalidQueryParameterValue")
    status, _, body = _status_and_body(f"{first}&marker={urllib.parse.quote(marker, safe='')}")
    assert status == 200 and "<Start>65536</Start>" in body and body.count("<PageRange>") == 2

    # The SDK follows the markers through every page (it encodes them).
    assert [r.start for r in blob.list_page_ranges(results_per_page=2)] == starts
    store = sandbox.world.blobs
    store.page_range_limit = 2  # the sandbox pages the list even when the client sets no limit
    try:
        assert [r.start for r in blob.list_page_ranges()] == starts
    finally:
        del store.page_range_limit  # back to the class default


def _raw_put(url: str, body_size: int, headers: dict[str, str]) -> tuple[int, str, str]:
    import http.client

    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.netloc, timeout=30)
    try:
        conn.putrequest("PUT", f"{parts.path}?{parts.query}")
        for name, value in {**headers, "Content-Length": str(body_size)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        chunk = bytes(MIB)
        sent = 0
        with contextlib.suppress(OSError):  # the server may answer and close before the end
            while sent < body_size:
                conn.send(chunk[: min(MIB, body_size - sent)])
                sent += MIB
        response = conn.getresponse()
        return (
            response.status,
            response.getheader("x-ms-error-code") or "",
            response.read().decode(),
        )
    finally:
        conn.close()


def test_errors_keep_their_code_when_the_request_body_is_too_large(
    sandbox: SandboxServer,
) -> None:
    url = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", _unique("big-body"))
    blob = BlobClient.from_blob_url(url)
    blob.create_page_blob(32 * MIB)
    big = 9 * MIB  # past both Azure's 4 MiB and the sandbox's 8 MiB request limit
    page = {"x-ms-page-write": "update", "x-ms-range": f"bytes=0-{big - 1}"}
    status, code, body = _raw_put(url + "&comp=page", big, page)
    assert (status, code) == (413, "RequestBodyTooLarge")
    assert "<Code>RequestBodyTooLarge</Code>" in body

    status, code, _ = _raw_put(url, big, {"x-ms-blob-type": "BlockBlob"})
    assert (status, code) == (413, "RequestBodyTooLarge")

    tampered = url.replace("sig=", "sig=AAAA")
    status, code, _ = _raw_put(tampered + "&comp=page", big, page)
    assert (status, code) == (403, "AuthenticationFailed")

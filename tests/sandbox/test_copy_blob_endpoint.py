"""Server-side copies on the sandbox's blob endpoint, through azure-storage-blob: Copy Blob
(asynchronous, pending with x-ms-copy-progress until it succeeds) and Copy Blob From URL
(synchronous, block blobs up to 256 MiB), each reading its source through the SAS in the source
URL; the endpoint's traffic counter sees the client's uploads and downloads, not the copies."""

from __future__ import annotations

import os
import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient

from gui.sandbox import SandboxServer
from gui.sandbox.seed.world import STORAGE_ACCOUNT_DEVTEST, STORAGE_ACCOUNT_PROD
from tests.sandbox.helpers import storage_error_code

MIB = 1024 * 1024


def _name(stem: str) -> str:
    return f"{stem}-{os.urandom(4).hex()}.vhd"


def _page_blob(sandbox: SandboxServer, name: str) -> tuple[BlobClient, bytes]:
    blob = BlobClient.from_blob_url(sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name))
    blob.create_page_blob(4 * MIB + 512)
    data = os.urandom(256 * 1024)
    blob.upload_page(data, offset=MIB, length=len(data))
    return blob, data


def test_an_async_copy_between_accounts_reports_progress_then_success(
    fresh_sandbox: SandboxServer,
) -> None:
    fresh_sandbox.world.blobs.copy_seconds = 3.0  # pending long enough to be seen, under load
    name = _name("src")
    source, data = _page_blob(fresh_sandbox, name)
    read_only = fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name, permissions="r")
    target = BlobClient.from_blob_url(
        fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", "copy.vhd")
    )
    traffic = fresh_sandbox.world.blobs.traffic
    sent, received = traffic.sent, traffic.received
    started = target.start_copy_from_url(read_only)
    assert started["copy_status"] == "pending"
    assert (traffic.sent, traffic.received) == (sent, received)  # the copy moved no client bytes
    progress = target.get_blob_properties().copy
    assert progress.status == "pending"
    assert progress.id == started["copy_id"]
    assert progress.progress is not None and progress.progress.endswith(f"/{4 * MIB + 512}")
    assert progress.source is not None and "sig=" not in progress.source
    deadline = time.monotonic() + 20
    while (done := target.get_blob_properties()).copy.status == "pending":
        assert time.monotonic() < deadline, "the copy never ended"
        time.sleep(0.2)
    assert done.copy.status == "success"
    assert done.copy.progress == f"{4 * MIB + 512}/{4 * MIB + 512}"
    assert done.blob_type == "PageBlob"
    assert [(r.start, r.end) for r in target.list_page_ranges()] == [
        (MIB, MIB + len(data) - 1)
    ]
    assert target.download_blob(offset=MIB, length=len(data)).readall() == data
    assert source.get_blob_properties().copy.status is None  # the source is untouched
    assert fresh_sandbox.world.blobs.traffic.sent == sent + len(data)  # the read-back above


def test_a_source_the_copy_cannot_read_is_cannot_verify_copy_source(
    sandbox: SandboxServer,
) -> None:
    name = _name("unreadable")
    _page_blob(sandbox, name)
    target = BlobClient.from_blob_url(
        sandbox.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", _name("copy"))
    )
    bare = f"{sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}/vhds/{name}"
    write_only = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name, permissions="w")
    for source in (bare, write_only):
        with pytest.raises(HttpResponseError) as refused:
            target.start_copy_from_url(source)
        assert storage_error_code(refused.value) == "CannotVerifyCopySource"
        assert refused.value.status_code == 403
    missing = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", _name("missing"))
    with pytest.raises(HttpResponseError) as gone:
        target.start_copy_from_url(missing)
    assert storage_error_code(gone.value) == "CannotVerifyCopySource"
    assert gone.value.status_code == 404


def test_copy_blob_from_url_is_synchronous_and_for_block_blobs_only(
    sandbox: SandboxServer,
) -> None:
    name = _name("block")
    block = BlobClient.from_blob_url(sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name))
    block.upload_blob(b"metadata of an image", blob_type="BlockBlob")
    target = BlobClient.from_blob_url(
        sandbox.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", _name("sync"))
    )
    result = target.start_copy_from_url(
        sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name, permissions="r"),
        requires_sync=True,
    )
    assert result["copy_status"] == "success"
    assert target.download_blob().readall() == b"metadata of an image"
    page_name = _name("page")
    _page_blob(sandbox, page_name)
    with pytest.raises(HttpResponseError) as refused:
        target.start_copy_from_url(
            sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", page_name, permissions="r"),
            requires_sync=True,
        )
    assert storage_error_code(refused.value) == "CannotVerifyCopySource"
    assert "block blobs only" in str(refused.value)

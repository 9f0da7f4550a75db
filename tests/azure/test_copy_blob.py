"""Copying a page blob into a storage account of another subscription, against the sandbox: the
app signs a read-only SAS for the source and a write SAS for the target with the accounts' keys,
Azure copies (Copy Blob, with progress), the target holds the same pages, the source is
untouched, and no data byte passes through the app (the blob endpoint's traffic counter)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from azure.storage.blob import BlobClient

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.copy.blob import BlobCopy, BlobCopyPlan, BlobLocation
from gui.azure.steps import StepEvent, StepState
from gui.sandbox import SandboxServer
from gui.sandbox.seed.world import STORAGE_ACCOUNT_DEVTEST, STORAGE_ACCOUNT_PROD

pytestmark = pytest.mark.asyncio
MIB = 1024 * 1024
SIZE = 8 * MIB + 512
RUNS = ((0, 512 * 1024), (5 * MIB, 256 * 1024), (SIZE - 512, 512))


@pytest_asyncio.fixture
async def session(fresh_sandbox: SandboxServer) -> AsyncIterator[AzureSession]:
    # Long enough for the copy to be seen pending on a loaded machine.
    fresh_sandbox.world.blobs.copy_seconds = 2.0
    made = sandbox_session(fresh_sandbox.arm_url)
    yield made
    await made.close()


def _source(server: SandboxServer, name: str) -> tuple[BlobClient, dict[int, bytes]]:
    blob = BlobClient.from_blob_url(server.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name))
    blob.create_page_blob(SIZE)
    written = {}
    for offset, length in RUNS:
        data = os.urandom(length)
        blob.upload_page(data, offset=offset, length=length)
        written[offset] = data
    return blob, written


def _final(events: list[StepEvent]) -> dict[str, StepState]:
    return {e.key: e.state for e in events if e.state.ended}


async def test_a_page_blob_is_copied_to_another_subscription_s_account(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    source, written = _source(fresh_sandbox, "disk.vhd")
    before = source.get_blob_properties()
    plan = BlobCopyPlan(
        BlobLocation.parse(f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}/vhds/disk.vhd"),
        BlobLocation.parse(f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_DEVTEST}/vhds"),
    )
    traffic = fresh_sandbox.world.blobs.traffic
    sent, received = traffic.sent, traffic.received
    job = BlobCopy(session, plan, poll_seconds=0.05)
    events = [event async for event in job.run()]
    assert (traffic.sent, traffic.received) == (sent, received)  # no data through the app
    assert _final(events) == {
        "grant": StepState.DONE,
        "check": StepState.DONE,
        "copy": StepState.DONE,
        "verify": StepState.DONE,
    }
    assert any(e.key == "copy" and "copied" in e.message and " of " in e.message for e in events)
    assert job.result == f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_DEVTEST}/vhds/disk.vhd"
    assert all("sig=" not in e.message for e in events)
    target = BlobClient.from_blob_url(
        fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", "disk.vhd")
    )
    assert target.get_blob_properties().size == SIZE
    for offset, data in written.items():
        assert target.download_blob(offset=offset, length=len(data)).readall() == data
    after = source.get_blob_properties()
    assert (after.etag, after.size) == (before.etag, before.size)  # the source is untouched


async def test_the_grant_on_the_source_is_read_only(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    _source(fresh_sandbox, "ro.vhd")
    plan = BlobCopyPlan(
        BlobLocation.parse(f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}/vhds/ro.vhd"),
        BlobLocation.parse(f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_DEVTEST}/vhds/ro-copy.vhd"),
    )
    job = BlobCopy(session, plan, poll_seconds=0.05)
    async for event in job.run():
        if event.key == "grant" and event.state is StepState.DONE:
            break
    from urllib.parse import parse_qs, urlsplit

    granted = parse_qs(urlsplit(job._source_url).query)
    assert granted["sp"] == ["r"]


async def test_an_existing_target_is_refused_before_any_change(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    _source(fresh_sandbox, "twice.vhd")
    taken = BlobClient.from_blob_url(
        fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", "twice.vhd")
    )
    taken.create_page_blob(512)
    source_sas = fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", "twice.vhd")
    target_sas = fresh_sandbox.container_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds")
    plan = BlobCopyPlan(BlobLocation.parse(source_sas), BlobLocation.parse(target_sas))
    job = BlobCopy(session, plan, poll_seconds=0.05)
    events = [event async for event in job.run()]
    assert _final(events) == {"grant": StepState.DONE, "check": StepState.FAILED}
    assert job.failed is not None and "already exists" in job.failed.message
    assert "sig=" not in job.failed.message
    assert taken.get_blob_properties().size == 512

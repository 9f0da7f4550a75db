"""The "VHDs in storage accounts" source against the sandbox over real HTTP: ARM lists the
accounts and containers, the blob endpoint the page blobs (through a container SAS signed with
the listed key); a blob's detail; Download… reads it through a read-only SAS, byte-identical;
the errors a user meets (key access disabled, 403, the account gone) are the one error model's,
and no SAS or key reaches them or the log."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from azure.storage.blob import BlobClient

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.catalog.nodes import (
    ByteSize,
    CatalogNode,
    ImageDetail,
    NodeKind,
    NodeRef,
    SourceKind,
    blob_part,
    text_from_json,
    text_to_json,
)
from gui.azure.catalog.storage_blobs import (
    SharedKeyAccessDisabledError,
    blob_detail,
    blob_read_sas_url,
    storage_children,
)
from gui.azure.copy.blob import BlobCopy
from gui.azure.copy.nodes import CopyKind, blob_copy_plan, copy_source_of
from gui.azure.download.job import AzureDownload
from gui.azure.download.source import DownloadSource
from gui.azure.download.source import SourceKind as DownloadKind
from gui.azure.errors import NotFoundError, PermissionDeniedError
from gui.azure.steps import StepState
from gui.azure.upload.storage import READ, StorageAccount, blob_sas_url
from gui.i18n import Text, english
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.storage import SEEDED_VHDS, seed_page_blobs
from gui.sandbox.seed.world import RG_IMAGES, STORAGE_ACCOUNT_DEVTEST, STORAGE_ACCOUNT_PROD

pytestmark = pytest.mark.asyncio
SUB = PRODUCTION_SUBSCRIPTION_ID
VHD = SEEDED_VHDS[0]
ROOT = NodeRef(SourceKind.STORAGE)
VHDS = ROOT.child(RG_IMAGES, STORAGE_ACCOUNT_PROD, "vhds")


@pytest_asyncio.fixture
async def session(fresh_sandbox: SandboxServer) -> AsyncIterator[AzureSession]:
    seed_page_blobs(fresh_sandbox.world.blobs)
    made = sandbox_session(fresh_sandbox.arm_url)
    yield made
    await made.close()


def _blob_client(server: SandboxServer, name: str) -> BlobClient:
    return BlobClient.from_blob_url(server.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", name))


async def test_accounts_then_containers_then_only_page_blobs(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    # a block blob and a page blob in a virtual folder beside the seeded VHD
    _blob_client(fresh_sandbox, "notes.txt").upload_blob(b"not a disk")
    _blob_client(fresh_sandbox, "old/vm2-data.vhd").create_page_blob(1024 * 1024 + 512)

    accounts = await storage_children(session, SUB, ROOT)
    assert [(n.label, n.kind) for n in accounts] == [
        (STORAGE_ACCOUNT_PROD, NodeKind.STORAGE_ACCOUNT)]
    assert accounts[0].ref == ROOT.child(RG_IMAGES, STORAGE_ACCOUNT_PROD)
    containers = await storage_children(session, SUB, accounts[0].ref)
    assert [n.label for n in containers] == ["uploads", "vhds"]
    assert all(n.kind is NodeKind.CONTAINER and n.has_children for n in containers)

    blobs = await storage_children(session, SUB, VHDS)
    assert [n.label for n in blobs] == ["legacyweb01-osdisk.vhd", "old/vm2-data.vhd"]
    first, nested = blobs
    assert first.kind is NodeKind.BLOB and first.is_image and not first.has_children
    # a "/" in a blob's name does not split the key: the node comes back from its key
    assert nested.ref.parts[-1] == blob_part("old/vm2-data.vhd")
    assert nested.name == nested.label == "old/vm2-data.vhd"
    assert NodeRef.from_key(nested.ref.key) == nested.ref
    assert CatalogNode.from_json(nested.to_json()) == nested
    assert await storage_children(session, SUB, first.ref) == []
    # the summary: size (formatted by the window) and last modified
    assert english(first.summary) == "4.0 MiB · modified 2019-03-14 10:26:53+00:00"
    assert isinstance(first.summary, Text)
    size = first.summary.message.args["size"]
    assert isinstance(size, ByteSize) and size == VHD.size
    assert isinstance(text_from_json(text_to_json(size)), ByteSize)


async def test_a_blob_s_detail_shows_its_facts_and_no_secret(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    detail = await blob_detail(session, SUB, VHDS.child(blob_part(VHD.name)))
    assert isinstance(detail, ImageDetail) and detail.title == VHD.name
    rows = {label: english(value) if not hasattr(value, "isoformat") else value
            for label, value in detail.properties}
    url = f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}/vhds/{VHD.name}"
    assert rows["Blob type"] == "Page blob"
    assert rows["Size"] == f"4.0 MiB ({VHD.size} bytes)"
    assert rows["Content-MD5"] == VHD.content_md5
    assert rows["Lease"] == "Available: not in use"
    assert rows["Blob URL"] == url
    assert rows["Last modified"] == VHD.modified
    assert detail.location == "westeurope"
    (disk,) = detail.disks
    # its exact size: a 4 MiB VHD is no "1 GiB" disk
    assert disk.source == url and disk.size_bytes == VHD.size and disk.size_gb is None
    assert "sig=" not in repr(detail.to_json())
    assert ImageDetail.from_json(detail.to_json()) == detail


async def test_a_blob_downloads_byte_identical_through_a_read_only_sas(
    session: AzureSession, fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    ref = VHDS.child(blob_part(VHD.name))
    url = await blob_read_sas_url(session, SUB, ref)
    assert "sp=r&" in url and url.split("?")[0].endswith(f"/vhds/{VHD.name}")
    # read-only: the SAS cannot write
    with pytest.raises(Exception, match="AuthorizationPermissionMismatch"):
        BlobClient.from_blob_url(url).upload_page(b"\1" * 512, offset=0, length=512)
    source = DownloadSource(DownloadKind.SAS_URL, url, name=VHD.name)
    result = await AzureDownload(None, source, tmp_path / "disk.raw", "raw").run()
    assert "sig=" not in result.source
    # the disk's bytes as they were put (the VHD footer is the blob's last 512 bytes)
    assert (tmp_path / "disk.raw").read_bytes() == VHD.content[:-512]
    await AzureDownload(None, source, tmp_path / "disk.vhd", "vhd").run()
    # a fixed VHD again: the same data, a footer of the same size (stamped by the writer)
    fixed = (tmp_path / "disk.vhd").read_bytes()
    assert len(fixed) == VHD.size and fixed[:-512] == VHD.content[:-512]
    assert fixed[-512:-504] == b"conectix"


async def test_the_upload_sas_keeps_its_write_permission(session: AzureSession) -> None:
    account = StorageAccount("id", STORAGE_ACCOUNT_PROD, RG_IMAGES, "westeurope",
                             "http://127.0.0.1:1/contosoimgstore/")
    written = await blob_sas_url(session, SUB, account, "vhds", "a.vhd")
    read = await blob_sas_url(session, SUB, account, "vhds", "a.vhd", permission=READ)
    assert "sp=racw" in written and "sp=r&" in read


async def test_key_access_disabled_says_what_to_do(
    session: AzureSession, fresh_sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_sandbox.faults.add(
        rf"^/{STORAGE_ACCOUNT_PROD}/vhds$", status=403, code="KeyBasedAuthenticationNotPermitted",
        message="Key based authentication is not permitted on this storage account.")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SharedKeyAccessDisabledError) as caught:
        await storage_children(session, SUB, VHDS)
    text = caught.value.user_text()
    assert "does not accept requests signed with its key" in text
    assert "allow shared key access" in text and "SAS" in text
    # the SDK's own request log shows the SAS redacted; no signature or key anywhere
    assert set(re.findall(r"sig=([^&'\s]+)", caplog.text + text)) <= {"REDACTED"}
    assert fresh_sandbox.account_key(STORAGE_ACCOUNT_PROD) not in caplog.text + text


async def test_a_denied_listing_is_a_permission_error(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    fresh_sandbox.faults.add(rf"^/{STORAGE_ACCOUNT_PROD}/vhds$", status=403,
                             code="AuthorizationFailure", message="Not authorized.")
    with pytest.raises(PermissionDeniedError) as caught:
        await storage_children(session, SUB, VHDS)
    assert not isinstance(caught.value, SharedKeyAccessDisabledError)
    assert "sig=" not in caught.value.user_text()


async def test_a_gone_account_or_blob_is_not_found(session: AzureSession) -> None:
    gone = ROOT.child(RG_IMAGES, "nosuchaccount", "vhds")
    with pytest.raises(NotFoundError):
        await storage_children(session, SUB, gone)
    with pytest.raises(NotFoundError):
        await blob_read_sas_url(session, SUB, gone.child("x.vhd"))
    with pytest.raises(NotFoundError, match="no longer in container vhds"):
        await blob_detail(session, SUB, VHDS.child("deleted.vhd"))


async def test_copy_to_takes_a_blob_node_into_another_subscription_s_container(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    node = (await storage_children(session, SUB, VHDS))[0]
    source = copy_source_of(node, SUB)
    assert source is not None and source.kind is CopyKind.BLOB
    assert (source.container, source.blob, source.name) == ("vhds", VHD.name, VHD.name)
    assert source.resource_id.endswith(f"/storageAccounts/{STORAGE_ACCOUNT_PROD}")
    target = f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_DEVTEST}/vhds"
    plan = await blob_copy_plan(session, source, target)
    job = BlobCopy(session, plan, poll_seconds=0.05)
    events = [event async for event in job.run()]
    assert {e.key for e in events if e.state is StepState.DONE} == {
        "grant", "check", "copy", "verify"}
    assert job.result == f"{target}/{VHD.name}"
    copied = BlobClient.from_blob_url(
        fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", VHD.name))
    assert copied.download_blob().readall() == VHD.content
    with pytest.raises(ValueError, match="names no container"):
        await blob_copy_plan(session, source, f"{fresh_sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}")

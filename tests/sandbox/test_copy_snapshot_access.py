"""Read grants on snapshots (beginGetAccess / endGetAccess), as downloads and copies use them: a
snapshot holds its source disk's data, a read SAS serves ranged GETs and paginated Get Page
Ranges on the blob endpoint, and revoking ends the SAS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.storage.blob.aio import BlobClient

from gui.azure.account.loopback import sandbox_compute_client, sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from tests.sandbox.helpers import error_code

pytestmark = pytest.mark.asyncio
MIB = 1024 * 1024
RG = "rg-snapshot-access"
SIZE = 20 * MIB + 512
CHUNK = 256 * 1024
# Three separate runs of data, so the page list has several ranges to paginate over.
RUNS = ((0, b"\x11" * MIB), (5 * MIB, b"\x22" * (2 * MIB)), (19 * MIB, b"\x33" * MIB))


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    fresh_sandbox.lro_seconds = 0.05
    _, resources = sandbox_resource_clients(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with resources:
        await resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
    async with sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as c:
        yield c


async def _disk_with_data(client: ComputeManagementClient, name: str) -> str:
    body = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "hyperVGeneration": "V2",
            "creationData": {"createOption": "Upload", "uploadSizeBytes": SIZE},
        },
    }
    disk = await (await client.disks.begin_create_or_update(RG, name, body)).result()
    grant = await (
        await client.disks.begin_grant_access(
            RG, name, {"access": "Write", "durationInSeconds": 600}
        )
    ).result()
    assert grant.access_sas is not None
    async with BlobClient.from_blob_url(grant.access_sas) as blob:
        for offset, data in RUNS:
            # In 256 KiB pieces: aiohttp warns about one large raw body.
            for at in range(0, len(data), CHUNK):
                piece = data[at : at + CHUNK]
                await blob.upload_page(piece, offset=offset + at, length=len(piece))
    await (await client.disks.begin_revoke_access(RG, name)).result()
    disk_id: str = disk.id or ""
    assert disk_id
    return disk_id


async def _snapshot(client: ComputeManagementClient, name: str, source_id: str) -> None:
    body = {
        "location": "westeurope",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": source_id}},
    }
    await (await client.snapshots.begin_create_or_update(RG, name, body)).result()


async def test_a_read_grant_serves_the_snapshot_data_ranges_and_page_list(
    client: ComputeManagementClient, fresh_sandbox: SandboxServer
) -> None:
    disk_id = await _disk_with_data(client, "disk-a")
    await _snapshot(client, "snap-a", disk_id)
    assert (await client.snapshots.get(RG, "snap-a")).disk_state == "Unattached"
    grant = await (
        await client.snapshots.begin_grant_access(
            RG, "snap-a", {"access": "Read", "durationInSeconds": 600}
        )
    ).result()
    assert (await client.snapshots.get(RG, "snap-a")).disk_state == "ActiveSAS"
    sas = grant.access_sas
    assert sas is not None
    assert sas.startswith(fresh_sandbox.blob_url)
    # Two ranges per answer: the client must follow NextMarker to see all three.
    fresh_sandbox.world.blobs.page_range_limit = 2
    async with BlobClient.from_blob_url(sas) as blob:
        props = await blob.get_blob_properties()
        assert props.size == SIZE
        pages = [p async for p in blob.list_page_ranges(results_per_page=2)]
        assert [(p.start, (p.end or 0) + 1) for p in pages] == [
            (offset, offset + len(data)) for offset, data in RUNS
        ]
        for offset, data in RUNS:
            stream = await blob.download_blob(offset=offset + 100, length=1000)
            assert await stream.readall() == data[:1000]
        hole = await blob.download_blob(offset=2 * MIB, length=4096)
        assert await hole.readall() == bytes(4096)
    with pytest.raises(HttpResponseError) as refused:
        await client.snapshots.begin_delete(RG, "snap-a")
    assert error_code(refused.value) == "OperationNotAllowed"
    await (await client.snapshots.begin_revoke_access(RG, "snap-a")).result()
    assert (await client.snapshots.get(RG, "snap-a")).disk_state == "Unattached"
    async with BlobClient.from_blob_url(sas) as blob:
        with pytest.raises(ClientAuthenticationError):
            await blob.get_blob_properties()
    await (await client.snapshots.begin_delete(RG, "snap-a")).result()


async def test_a_snapshot_of_a_snapshot_holds_the_same_data_and_write_is_refused(
    client: ComputeManagementClient,
) -> None:
    disk_id = await _disk_with_data(client, "disk-b")
    await _snapshot(client, "snap-b1", disk_id)
    first = await client.snapshots.get(RG, "snap-b1")
    assert first.id is not None
    await _snapshot(client, "snap-b2", first.id)
    with pytest.raises(HttpResponseError) as refused:
        await client.snapshots.begin_grant_access(
            RG, "snap-b2", {"access": "Write", "durationInSeconds": 600}
        )
    assert error_code(refused.value) == "InvalidParameter"
    grant = await (
        await client.snapshots.begin_grant_access(
            RG, "snap-b2", {"access": "Read", "durationInSeconds": 600}
        )
    ).result()
    assert grant.access_sas is not None
    async with BlobClient.from_blob_url(grant.access_sas) as blob:
        offset, data = RUNS[1]
        stream = await blob.download_blob(offset=offset, length=len(data))
        assert await stream.readall() == data

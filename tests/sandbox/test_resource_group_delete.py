"""Deleting a resource group deletes everything in it, as Azure does (the smoke test's cleanup)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient

from gui.azure.account.loopback import sandbox_compute_client, sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.blob.errors import BlobError
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from tests.sandbox.helpers import empty_disk_body, image_body, managed

pytestmark = pytest.mark.asyncio
RG = "rg-to-delete"
MIB = 1024 * 1024


@asynccontextmanager
async def _group(
    sandbox: SandboxServer,
) -> AsyncIterator[tuple[ResourceManagementClient, ComputeManagementClient]]:
    """Clients for a sandbox whose operations take 50 ms, and the group RG made in it."""
    sandbox.lro_seconds = 0.05
    _, resources = sandbox_resource_clients(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with (
        resources,
        sandbox_compute_client(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as compute,
    ):
        await resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
        yield resources, compute


async def test_deleting_a_group_deletes_its_resources_and_disk_data(
    fresh_sandbox: SandboxServer,
) -> None:
    async with _group(fresh_sandbox) as (resources, compute):
        disk = await (
            await compute.disks.begin_create_or_update(
                RG,
                "data",
                empty_disk_body(1),
            )
        ).result()
        image = image_body(managed(disk.id))
        await (await compute.images.begin_create_or_update(RG, "img", image)).result()
        await (
            await compute.galleries.begin_create_or_update(RG, "gal", {"location": "westeurope"})
        ).result()
        stored = fresh_sandbox.world.store.get(str(disk.id))
        assert stored is not None
        account, container = stored["_blob"]["account"], stored["_blob"]["container"]
        fresh_sandbox.world.blobs.container(account, container)  # the disk's data is there

        fresh_sandbox.lro_seconds = 1.0  # long enough to see the group while it is deleted
        poller = await resources.resource_groups.begin_delete(RG)
        deleting = (await resources.resource_groups.get(RG)).properties
        assert deleting is not None and deleting.provisioning_state == "Deleting"
        await poller.result()

        with pytest.raises(ResourceNotFoundError):
            await resources.resource_groups.get(RG)
        left = [str(d.id) async for d in compute.disks.list()] + [
            str(i.id) async for i in compute.images.list()
        ]
        left += [str(g.id) async for g in compute.galleries.list()]
        assert not [item for item in left if f"/resourceGroups/{RG}/".lower() in item.lower()]
        assert fresh_sandbox.world.store.get(str(disk.id)) is None
        with pytest.raises(BlobError):  # and its data with it
            fresh_sandbox.world.blobs.container(account, container)
        # Deleting it again: the group is not there any more.
        with pytest.raises(ResourceNotFoundError):
            await (await resources.resource_groups.begin_delete(RG)).result()


async def test_a_disk_open_for_upload_blocks_the_group_delete(
    fresh_sandbox: SandboxServer,
) -> None:
    async with _group(fresh_sandbox) as (resources, compute):
        await (
            await compute.disks.begin_create_or_update(
                RG,
                "upload",
                {
                    "location": "westeurope",
                    "properties": {
                        "creationData": {
                            "createOption": "Upload",
                            "uploadSizeBytes": 20 * MIB + 512,
                        }
                    },
                },
            )
        ).result()
        await (
            await compute.disks.begin_grant_access(
                RG, "upload", {"access": "Write", "durationInSeconds": 600}
            )
        ).result()
        with pytest.raises(HttpResponseError) as caught:
            await resources.resource_groups.begin_delete(RG)
        assert caught.value.status_code == 409
        assert "Revoke access" in str(caught.value)
        await (await compute.disks.begin_revoke_access(RG, "upload")).result()
        await (await resources.resource_groups.begin_delete(RG)).result()
        with pytest.raises(ResourceNotFoundError):
            await resources.resource_groups.get(RG)

"""CopyStart snapshots in the sandbox, through the SDK: an incremental snapshot copied into
another region, its completionPercent growing over a few polls, reads refused until it is
complete, and Azure's rules (incremental from incremental only) enforced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.loopback import sandbox_compute_client, sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from tests.sandbox.helpers import empty_disk_body, error_code

pytestmark = pytest.mark.asyncio
RG = "rg-copystart"


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 2.5  # several polls even under load
    _, resources = sandbox_resource_clients(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with resources:
        await resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
    async with sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as c:
        yield c


async def _snapshot(client: ComputeManagementClient, name: str, body: dict[str, object]) -> str:
    made = await (await client.snapshots.begin_create_or_update(RG, name, body)).result()
    return str(made.id)


def _copy(source: str, location: str = "northeurope", **props: object) -> dict[str, object]:
    return {
        "location": location,
        "properties": {
            "creationData": {"createOption": "CopyStart", "sourceResourceId": source},
            **props,
        },
    }


async def test_copystart_progresses_and_refuses_reads_until_complete(
    client: ComputeManagementClient,
) -> None:
    disk = await (
        await client.disks.begin_create_or_update(RG, "disk-cs", empty_disk_body(4))
    ).result()
    source = await _snapshot(client, "snap-inc", {
        "location": "westeurope",
        "properties": {
            "creationData": {"createOption": "Copy", "sourceResourceId": disk.id},
            "incremental": True,
        },
    })
    # No incremental flag, as Azure's own CopyStart example: the copy is incremental anyway.
    await _snapshot(client, "snap-copy", _copy(source))
    seen: list[float] = []
    while True:
        copied = await client.snapshots.get(RG, "snap-copy")
        assert copied.completion_percent is not None
        seen.append(copied.completion_percent)
        if copied.completion_percent >= 100:
            break
        if len(seen) == 1:
            with pytest.raises(HttpResponseError) as busy:
                await client.snapshots.begin_grant_access(
                    RG, "snap-copy", {"access": "Read", "durationInSeconds": 60}
                )
            assert error_code(busy.value) == "OperationNotAllowed"
        await asyncio.sleep(0.2)
    assert len(seen) >= 3 and seen == sorted(seen)
    assert copied.location == "northeurope"
    assert copied.incremental is True
    assert copied.creation_data.source_resource_id == source
    grant = await (
        await client.snapshots.begin_grant_access(
            RG, "snap-copy", {"access": "Read", "durationInSeconds": 60}
        )
    ).result()
    assert grant.access_sas


async def test_copystart_takes_only_incremental_snapshots(
    client: ComputeManagementClient,
) -> None:
    disk = await (
        await client.disks.begin_create_or_update(RG, "disk-full", empty_disk_body(4))
    ).result()
    full = await _snapshot(client, "snap-full", {
        "location": "westeurope",
        "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk.id}},
    })
    for name, body in (
        ("from-full", _copy(full)),
        ("from-disk", _copy(str(disk.id))),
        ("not-incremental", _copy(full, incremental=False)),
    ):
        with pytest.raises(HttpResponseError) as refused:
            await client.snapshots.begin_create_or_update(RG, name, body)
        assert error_code(refused.value) == "InvalidParameter", name
    with pytest.raises(HttpResponseError) as elsewhere:
        await client.snapshots.begin_create_or_update(RG, "copy-elsewhere", {
            "location": "eastus",
            "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": full}},
        })
    assert "CopyStart" in str(elsewhere.value)

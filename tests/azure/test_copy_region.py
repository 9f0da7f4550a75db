"""Copying a snapshot or a managed image into another region, against the sandbox over HTTP:
CopyStart copies with progress, the target holds the same data, the source is untouched, and no
data byte passes through the app (the sandbox's blob endpoint counts what clients send and
receive; ARM answers carry no disk data)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from azure.storage.blob.aio import BlobClient

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.copy.region import RegionCopy, RegionCopyPlan
from gui.azure.steps import StepEvent, StepState
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB

pytestmark = pytest.mark.asyncio
MIB = 1024 * 1024
RG = "rg-copy-region"
SIZE = 20 * MIB + 512
CHUNK = 256 * 1024
RUNS = ((0, b"\x5a" * MIB), (7 * MIB, b"\xa5" * (3 * MIB // 2)))


@pytest_asyncio.fixture
async def session(fresh_sandbox: SandboxServer) -> AsyncIterator[AzureSession]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.5  # how long a CopyStart copy takes
    made = sandbox_session(fresh_sandbox.arm_url)
    await made.resources(SUB).resource_groups.create_or_update(RG, {"location": "westeurope"})
    yield made
    await made.close()


def _compute(session: AzureSession) -> Any:
    return session.compute(SUB)


async def _disk(session: AzureSession, name: str) -> str:
    compute = _compute(session)
    body = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "hyperVGeneration": "V2",
            "creationData": {"createOption": "Upload", "uploadSizeBytes": SIZE},
        },
    }
    disk = await (await compute.disks.begin_create_or_update(RG, name, body)).result()
    grant = await (
        await compute.disks.begin_grant_access(
            RG, name, {"access": "Write", "durationInSeconds": 600}
        )
    ).result()
    async with BlobClient.from_blob_url(grant.access_sas) as blob:
        for offset, data in RUNS:
            for at in range(0, len(data), CHUNK):
                piece = data[at : at + CHUNK]
                await blob.upload_page(piece, offset=offset + at, length=len(piece))
    await (await compute.disks.begin_revoke_access(RG, name)).result()
    return str(disk.id)


async def _snapshot(session: AzureSession, name: str, source: str, *, incremental: bool) -> str:
    body = {
        "location": "westeurope",
        "properties": {
            "creationData": {"createOption": "Copy", "sourceResourceId": source},
            "incremental": incremental,
        },
    }
    poller = await _compute(session).snapshots.begin_create_or_update(RG, name, body)
    return str((await poller.result()).id)


async def _snapshot_bytes(session: AzureSession, name: str) -> bytes:
    """The snapshot's data runs, read through a read grant (after the copy, by the test)."""
    compute = _compute(session)
    grant = await (
        await compute.snapshots.begin_grant_access(
            RG, name, {"access": "Read", "durationInSeconds": 600}
        )
    ).result()
    out = b""
    async with BlobClient.from_blob_url(grant.access_sas) as blob:
        for offset, data in RUNS:
            out += await (await blob.download_blob(offset=offset, length=len(data))).readall()
    await (await compute.snapshots.begin_revoke_access(RG, name)).result()
    return out


async def _run(job: RegionCopy) -> list[StepEvent]:
    return [event async for event in job.run()]


def _final(events: list[StepEvent]) -> dict[str, StepState]:
    return {e.key: e.state for e in events if e.state.ended}


def _traffic(server: SandboxServer) -> tuple[int, int]:
    traffic = server.world.blobs.traffic
    return traffic.sent, traffic.received


async def test_an_incremental_snapshot_is_copied_to_another_region(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    disk_id = await _disk(session, "disk-a")
    source_id = await _snapshot(session, "snap-src", disk_id, incremental=True)
    before = (await _compute(session).snapshots.get(RG, "snap-src")).as_dict()
    # A copy long enough to be seen in progress even on a loaded machine.
    fresh_sandbox.replication_seconds_per_region = 3.0
    traffic = _traffic(fresh_sandbox)
    job = RegionCopy(
        session, RegionCopyPlan(source_id, "northeurope", name="snap-neu"), poll_seconds=0.05
    )
    events = await _run(job)
    assert _traffic(fresh_sandbox) == traffic  # not one data byte through the app
    assert _final(events) == {"check": StepState.DONE, "copy:os": StepState.DONE}
    assert any(e.key == "copy:os" and "% copied" in e.message for e in events)
    assert job.result is not None and job.result.endswith("/snapshots/snap-neu")
    copied = await _compute(session).snapshots.get(RG, "snap-neu")
    assert copied.location == "northeurope"
    assert copied.incremental is True
    assert copied.completion_percent == 100
    assert copied.creation_data.create_option == "CopyStart"
    assert (await _compute(session).snapshots.get(RG, "snap-src")).as_dict() == before
    expected = b"".join(data for _, data in RUNS)
    assert await _snapshot_bytes(session, "snap-neu") == expected
    assert await _snapshot_bytes(session, "snap-src") == expected


async def test_a_full_snapshot_is_refused_before_any_change(session: AzureSession) -> None:
    disk_id = await _disk(session, "disk-b")
    source_id = await _snapshot(session, "snap-full", disk_id, incremental=False)
    job = RegionCopy(session, RegionCopyPlan(source_id, "northeurope"))
    assert _final(await _run(job)) == {"check": StepState.FAILED}
    assert job.failed is not None
    assert "full snapshot" in job.failed.message
    names = [s.name async for s in _compute(session).snapshots.list_by_resource_group(RG)]
    assert names == ["snap-full"]


async def test_a_managed_image_is_copied_through_snapshots_and_they_are_cleaned_up(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    disk_id = await _disk(session, "disk-img")
    compute = _compute(session)
    image_body = {
        "location": "westeurope",
        "properties": {
            "hyperVGeneration": "V2",
            "storageProfile": {
                "osDisk": {"osType": "Linux", "osState": "Generalized",
                           "managedDisk": {"id": disk_id}},
            },
        },
    }
    source = await (await compute.images.begin_create_or_update(RG, "img-a", image_body)).result()
    traffic = _traffic(fresh_sandbox)
    job = RegionCopy(
        session, RegionCopyPlan(str(source.id), "eastus", name="img-a-eus"), poll_seconds=0.05
    )
    events = await _run(job)
    assert _traffic(fresh_sandbox) == traffic
    assert _final(events) == {
        "check": StepState.DONE,
        "snapshot:os": StepState.DONE,
        "copy:os": StepState.DONE,
        "create-image": StepState.DONE,
        "cleanup": StepState.DONE,
    }
    copied = await compute.images.get(RG, "img-a-eus")
    assert copied.location == "eastus"
    assert copied.hyper_v_generation == "V2"
    assert copied.storage_profile.os_disk.os_type == "Linux"
    size = copied.storage_profile.os_disk.disk_size_gb
    assert size == source.storage_profile.os_disk.disk_size_gb
    assert (await compute.images.get(RG, "img-a")).as_dict() == source.as_dict()
    assert [s.name async for s in compute.snapshots.list_by_resource_group(RG)] == []


async def test_an_image_made_from_a_blob_is_explained(session: AzureSession) -> None:
    from gui.sandbox.seed import world as seeded

    image_id = (
        f"/subscriptions/{SUB}/resourceGroups/{seeded.RG_IMAGES}/providers/Microsoft.Compute/"
        f"images/{seeded.IMAGE_FROM_BLOB}"
    )
    job = RegionCopy(session, RegionCopyPlan(image_id, "eastus", resource_group=RG))
    assert _final(await _run(job)) == {"check": StepState.FAILED}
    assert job.failed is not None
    assert "VHD blob" in job.failed.message

"""Direct upload to a managed disk, then images and gallery versions from it, with the SDK."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.storage.blob.aio import BlobClient

from gui.azure.account.loopback import sandbox_compute_client, sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed import world as seeded
from tests.sandbox.helpers import (
    create_definition,
    definition_body,
    empty_disk_body,
    error_code,
    error_message,
    error_target,
    image_body,
    managed,
    refused_version,
    version_body,
)

pytestmark = pytest.mark.asyncio
MIB = 1024 * 1024
RG = "rg-upload-tests"


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.3
    _, resources = sandbox_resource_clients(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with resources:
        await resources.resource_groups.create_or_update(RG, {"location": "westeurope"})
    async with sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as c:
        yield c


async def _upload_disk(
    client: ComputeManagementClient, name: str, data: bytes, **props: object
) -> str:
    size = 20 * MIB + 512
    poller = await client.disks.begin_create_or_update(
        RG,
        name,
        {
            "location": "westeurope",
            "sku": {"name": "Premium_LRS"},
            "properties": {
                "osType": "Linux",
                "hyperVGeneration": "V2",
                "creationData": {"createOption": "Upload", "uploadSizeBytes": size},
                **props,
            },
        },
    )
    disk = await poller.result()
    assert disk.disk_state == "ReadyToUpload"
    assert disk.disk_size_gb == 1
    grant = await client.disks.begin_grant_access(
        RG, name, {"access": "Write", "durationInSeconds": 3600}
    )
    access = await grant.result()
    assert (await client.disks.get(RG, name)).disk_state == "ActiveUpload"
    assert access.access_sas is not None
    async with BlobClient.from_blob_url(access.access_sas) as blob:
        props_ = await blob.get_blob_properties()
        assert props_.size == size
        await blob.upload_page(data, offset=0, length=len(data))
    revoke = await client.disks.begin_revoke_access(RG, name)
    await revoke.result()
    disk = await client.disks.get(RG, name)
    assert disk.disk_state == "Unattached"
    return access.access_sas


async def test_upload_size_is_validated_as_azure_does(client: ComputeManagementClient) -> None:
    for bad in (20 * MIB, 20 * MIB + 511, 10 * MIB + 512, 20 * MIB + 1024):
        with pytest.raises(HttpResponseError) as info:
            await client.disks.begin_create_or_update(
                RG,
                "bad-size",
                {
                    "location": "westeurope",
                    "properties": {
                        "creationData": {"createOption": "Upload", "uploadSizeBytes": bad}
                    },
                },
            )
        assert error_code(info.value) == "InvalidParameter"
        assert "uploadSizeBytes" in (error_target(info.value) or "")


async def test_an_unknown_sku_is_refused_for_disks_and_snapshots(
    client: ComputeManagementClient,
) -> None:
    disk = await (
        await client.disks.begin_create_or_update(RG, "sku-source", empty_disk_body(4))
    ).result()
    with pytest.raises(HttpResponseError) as info:
        await client.disks.begin_create_or_update(
            RG, "sku-disk", {**empty_disk_body(4), "sku": {"name": "Ultra_Fancy"}}
        )
    assert error_code(info.value) == "InvalidParameter"
    assert error_target(info.value) == "sku.name"
    assert "'Ultra_Fancy'" in error_message(info.value)
    assert "Standard_LRS, StandardSSD_LRS, Premium_LRS" in error_message(info.value)

    copy = {"createOption": "Copy", "sourceResourceId": disk.id}
    with pytest.raises(HttpResponseError) as info:
        await client.snapshots.begin_create_or_update(
            RG,
            "sku-snapshot",
            {
                "location": "westeurope",
                "sku": {"name": "Premium_ZRS"},
                "properties": {"creationData": copy},
            },
        )
    assert error_code(info.value) == "InvalidParameter"
    assert error_target(info.value) == "sku.name"
    assert "Standard_LRS, Premium_LRS, Standard_ZRS" in error_message(info.value)


async def test_disk_upload_states_and_revoked_sas(client: ComputeManagementClient) -> None:
    payload = os.urandom(MIB)
    sas = await _upload_disk(client, "disk-upload-1", payload)
    async with BlobClient.from_blob_url(sas) as blob:
        with pytest.raises(ClientAuthenticationError) as info:
            await blob.get_blob_properties()
        assert info.value.status_code == 403
    read = await (
        await client.disks.begin_grant_access(
            RG, "disk-upload-1", {"access": "Read", "durationInSeconds": 600}
        )
    ).result()
    assert (await client.disks.get(RG, "disk-upload-1")).disk_state == "ActiveSAS"
    assert read.access_sas is not None
    async with BlobClient.from_blob_url(read.access_sas) as blob:
        stream = await blob.download_blob(offset=0, length=MIB)
        assert await stream.readall() == payload
    with pytest.raises(HttpResponseError) as err:
        await client.disks.begin_delete(RG, "disk-upload-1")
    assert error_code(err.value) == "OperationNotAllowed"
    await (await client.disks.begin_revoke_access(RG, "disk-upload-1")).result()
    await (await client.disks.begin_delete(RG, "disk-upload-1")).result()
    assert [d.name async for d in client.disks.list_by_resource_group(RG)] == []


async def test_a_disk_still_uploading_cannot_become_an_image(
    client: ComputeManagementClient,
) -> None:
    disk = await (
        await client.disks.begin_create_or_update(
            RG,
            "half",
            {
                "location": "westeurope",
                "properties": {
                    "creationData": {"createOption": "Upload", "uploadSizeBytes": 20 * MIB + 512}
                },
            },
        )
    ).result()
    with pytest.raises(HttpResponseError) as info:
        await client.images.begin_create_or_update(
            RG,
            "img-half",
            image_body(managed(disk.id), generation=None),
        )
    assert error_code(info.value) == "OperationNotAllowed"
    assert "ReadyToUpload" in error_message(info.value)


async def test_image_and_gallery_version_from_uploaded_disks(
    client: ComputeManagementClient,
) -> None:
    await _upload_disk(client, "os-disk", os.urandom(4096))
    await _upload_disk(client, "data-disk", os.urandom(4096), osType=None)
    os_id = (await client.disks.get(RG, "os-disk")).id
    data_id = (await client.disks.get(RG, "data-disk")).id

    image = await (
        await client.images.begin_create_or_update(
            RG,
            "img-uploaded",
            image_body(
                managed(os_id),
                data_disks=[{"lun": 3, "managedDisk": {"id": data_id}, "caching": "ReadOnly"}],
            ),
        )
    ).result()
    assert image.provisioning_state == "Succeeded"
    assert [(d.lun, d.disk_size_gb, d.caching) for d in image.storage_profile.data_disks] == [
        (3, 1, "ReadOnly")
    ]

    with pytest.raises(HttpResponseError) as info:
        await client.images.begin_create_or_update(
            RG,
            "img-wrong-gen",
            image_body(managed(os_id), generation="V1"),
        )
    assert "Hyper-V generation" in error_message(info.value)

    gallery = await (
        await client.galleries.begin_create_or_update(
            RG, "gal_uploads", {"location": "westeurope", "properties": {"description": "uploads"}}
        )
    ).result()
    assert gallery.provisioning_state == "Succeeded"
    with pytest.raises(HttpResponseError) as info:
        await client.galleries.begin_create_or_update(RG, "gal-uploads", {"location": "westeurope"})
    assert "dashes" in error_message(info.value)

    definition = await create_definition(
        client,
        RG,
        "gal_uploads",
        "linux-app",
        definition_body(("Contoso", "app", "v2"), security_type="TrustedLaunchSupported"),
    )
    assert definition.hyper_v_generation == "V2"

    await create_definition(
        client,
        RG,
        "gal_uploads",
        "linux-app-specialized",
        definition_body(("Contoso", "app", "spec"), os_state="Specialized"),
    )
    refusal = await refused_version(
        client, RG, "gal_uploads", "linux-app-specialized", "1.0.0", version_body(image.id)
    )
    assert "different OS state" in refusal

    for bad in ("1.0", "1.0.0.0", "v1.0.0"):
        empty = {"location": "westeurope", "properties": {"storageProfile": {}}}
        refusal = await refused_version(client, RG, "gal_uploads", "linux-app", bad, empty)
        assert "Major(int32).Minor(int32).Patch(int32)" in refusal

    outside = {
        "location": "westeurope",
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": "North Europe"}]},
            "storageProfile": {"source": {"id": image.id}},
        },
    }
    refusal = await refused_version(client, RG, "gal_uploads", "linux-app", "1.0.0", outside)
    assert "must contain the location" in refusal

    poller = await client.gallery_image_versions.begin_create_or_update(
        RG,
        "gal_uploads",
        "linux-app",
        "1.0.0",
        {
            "location": "westeurope",
            "properties": {
                "publishingProfile": {
                    "targetRegions": [
                        {"name": "westeurope", "regionalReplicaCount": 2},
                        {"name": "North Europe", "regionalReplicaCount": 1},
                    ]
                },
                "storageProfile": {
                    "osDiskImage": {"source": {"id": os_id}},
                    "dataDiskImages": [{"lun": 0, "source": {"id": data_id}}],
                },
            },
        },
    )
    # The aio poller only polls while awaited; watch the replication meanwhile.
    finished = asyncio.ensure_future(poller.result())
    states: list[str] = []
    while not finished.done():
        version = await client.gallery_image_versions.get(
            RG, "gal_uploads", "linux-app", "1.0.0", expand="ReplicationStatus"
        )
        states.append(version.replication_status.aggregated_state)
        await asyncio.sleep(0.1)
    version = await finished
    assert "InProgress" in states
    assert version.provisioning_state == "Succeeded"
    final = await client.gallery_image_versions.get(
        RG, "gal_uploads", "linux-app", "1.0.0", expand="ReplicationStatus"
    )
    assert final.replication_status.aggregated_state == "Completed"
    assert [(r.region, r.progress) for r in final.replication_status.summary] == [
        ("West Europe", 100),
        ("North Europe", 100),
    ]
    assert [
        (r.name, r.regional_replica_count) for r in final.publishing_profile.target_regions
    ] == [("West Europe", 2), ("North Europe", 1)]
    assert [d.lun for d in final.storage_profile.data_disk_images] == [0]

    with pytest.raises(HttpResponseError) as info:
        await client.gallery_images.begin_delete(RG, "gal_uploads", "linux-app")
    assert error_code(info.value) == "CannotDeleteResource"
    await (
        await client.gallery_image_versions.begin_delete(RG, "gal_uploads", "linux-app", "1.0.0")
    ).result()
    await (await client.gallery_images.begin_delete(RG, "gal_uploads", "linux-app")).result()
    await (await client.images.begin_delete(RG, "img-uploaded")).result()
    assert [i.name async for i in client.images.list_by_resource_group(RG)] == []


async def test_image_from_an_uploaded_page_blob(
    fresh_sandbox: SandboxServer, client: ComputeManagementClient
) -> None:
    from azure.storage.blob import BlobClient as SyncBlobClient

    url = fresh_sandbox.blob_sas_url(seeded.STORAGE_ACCOUNT_PROD, "vhds", "web.vhd")
    SyncBlobClient.from_blob_url(url).create_page_blob(3 * 1024**3 + 512)
    image = await (
        await client.images.begin_create_or_update(
            RG,
            "img-from-blob",
            image_body({"blobUri": url.split("?")[0]}, os_type="Windows", generation=None),
        )
    ).result()
    assert image.storage_profile.os_disk.disk_size_gb == 3
    assert image.hyper_v_generation == "V1"

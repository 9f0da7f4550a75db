"""A gallery image version from an uploaded page blob, made by the image builder against the
sandbox over HTTP: the request has the shape of GalleryImageVersion_Create_WithVHD.json (the
VHD's uri with its storage account), and without the account nothing is created."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.storage.blob import BlobClient

from gui.azure.account.loopback import sandbox_compute_client
from gui.azure.image_builder import (
    DefinitionSpec,
    DiskSource,
    GalleryVersionSpec,
    ImageBuilder,
    VhdAccountUnknownError,
)
from gui.azure.steps import StepState
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB
from gui.sandbox.seed import world

pytestmark = pytest.mark.asyncio
RG = world.RG_IMAGES
ACCOUNT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/"
    f"{world.STORAGE_ACCOUNT_PROD}"
)


@pytest_asyncio.fixture
async def compute(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.05
    async with sandbox_compute_client(fresh_sandbox.arm_url, SUB) as client:
        yield client


def _spec(gallery: str) -> GalleryVersionSpec:
    return GalleryVersionSpec(
        resource_group=RG,
        gallery=gallery,
        create_gallery=True,
        definition=DefinitionSpec("linux-vhd", "Linux", "Generalized", "V2"),
        create_definition=True,
        version="1.0.0",
        location="westeurope",
        exclude_from_latest=True,
    )


async def test_version_from_a_page_blob_names_uri_and_storage_account(
    fresh_sandbox: SandboxServer, compute: ComputeManagementClient
) -> None:
    url = fresh_sandbox.blob_sas_url(world.STORAGE_ACCOUNT_PROD, "vhds", "app.vhd")
    BlobClient.from_blob_url(url).create_page_blob(2 * 1024**3 + 512)
    blob_uri = url.split("?")[0]
    builder = ImageBuilder(compute)
    source = DiskSource(blob_uri=blob_uri, storage_account_id=ACCOUNT_ID)
    events = [event async for event in builder.create_gallery_version(source, _spec("gal_vhd"))]
    assert {event.state for event in events if event.state is not StepState.RUNNING} == {
        StepState.DONE
    }
    version = (
        await compute.gallery_image_versions.get(RG, "gal_vhd", "linux-vhd", "1.0.0")
    ).as_dict()
    os_image = version["properties"]["storageProfile"]["osDiskImage"]
    assert os_image["source"] == {"uri": blob_uri, "storageAccountId": ACCOUNT_ID}
    assert os_image["sizeInGB"] == 2
    regions = version["properties"]["publishingProfile"]["targetRegions"]
    assert [(r["name"], r["excludeFromLatest"]) for r in regions] == [("West Europe", True)]


async def test_a_page_blob_without_its_account_is_refused_before_any_change(
    compute: ComputeManagementClient,
) -> None:
    source = DiskSource(blob_uri="http://127.0.0.1:1/account/vhds/app.vhd")
    with pytest.raises(VhdAccountUnknownError, match="needs the storage account"):
        async for _ in ImageBuilder(compute).create_gallery_version(source, _spec("gal_never")):
            pass
    with pytest.raises(ResourceNotFoundError):
        await compute.galleries.get(RG, "gal_never")

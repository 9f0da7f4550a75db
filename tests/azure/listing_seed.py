"""Big listings for the raw-listing tests and benchmark: many gallery image versions in one
definition and many empty managed disks, created through the sandbox's ARM API (real PUTs, the
SDK client's pipeline), as a user's script would make them."""

from __future__ import annotations

import asyncio

from azure.core.rest import HttpRequest
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

SUB = PRODUCTION_SUBSCRIPTION_ID
LOCATION = "westeurope"
GROUP = "rg-gallery-prod"
GALLERY = "gal_contoso_prod"
DEFINITION = "ubuntu-22.04-base"
DEFINITION_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.Compute"
    f"/galleries/{GALLERY}/images/{DEFINITION}"
)
SOURCE_IMAGE = (
    f"/subscriptions/{SUB}/resourceGroups/rg-images-prod/providers/Microsoft.Compute"
    "/images/img-ubuntu2204-base-20241015"
)
DISK_GROUP = "rg-bulk-disks"
GALLERY_API = "2024-03-03"
DISK_API = "2024-03-02"
_PARALLEL = 16


def version_name(index: int) -> str:
    return f"9.{index // 1000}.{index % 1000}"


def disk_name(index: int) -> str:
    return f"bulk-disk-{index:05d}"


Body = dict[str, object]


async def _put(client: ComputeManagementClient, url: str, api: str, body: Body) -> None:
    request = HttpRequest("PUT", url, params={"api-version": api}, json=body)
    response = await client.send_request(request)
    if response.status_code not in (200, 201, 202):
        raise RuntimeError(f"seeding {url} failed: {response.status_code} {response.text()}")


async def _all(calls: list[tuple[str, str, Body]], client: ComputeManagementClient) -> None:
    gate = asyncio.Semaphore(_PARALLEL)

    async def one(url: str, api: str, body: Body) -> None:
        async with gate:
            await _put(client, url, api, body)

    await asyncio.gather(*(one(*call) for call in calls))


async def seed_versions(client: ComputeManagementClient, count: int) -> None:
    """``count`` versions of the seeded Ubuntu definition, from its managed image."""
    body: dict[str, object] = {
        "location": LOCATION,
        "properties": {
            "storageProfile": {"source": {"id": SOURCE_IMAGE}},
            "publishingProfile": {"targetRegions": [{"name": LOCATION, "regionalReplicaCount": 1}]},
        },
    }
    calls = [
        (f"{DEFINITION_ID}/versions/{version_name(i)}", GALLERY_API, body) for i in range(count)
    ]
    await _all(calls, client)


async def seed_disks(client: ComputeManagementClient, count: int) -> None:
    """``count`` empty 4 GiB disks in a resource group of their own."""
    await _put(
        client,
        f"/subscriptions/{SUB}/resourcegroups/{DISK_GROUP}",
        "2021-04-01",
        {"location": LOCATION},
    )
    body: dict[str, object] = {
        "location": LOCATION,
        "sku": {"name": "Standard_LRS"},
        "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 4},
    }
    base = f"/subscriptions/{SUB}/resourceGroups/{DISK_GROUP}/providers/Microsoft.Compute/disks"
    await _all([(f"{base}/{disk_name(i)}", DISK_API, body) for i in range(count)], client)

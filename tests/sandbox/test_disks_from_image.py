"""Disks made from a gallery image version (createOption FromImage, galleryImageReference): they
take the version's size and OS facts, and are refused, as Azure refuses them, for a version that
does not exist, a region it is not replicated to, or a LUN it has no data disk at."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from gui.azure.account.loopback import sandbox_compute_client
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_IMAGE_SECURE, GALLERY_PROD, RG_BUILD, RG_GALLERY

VERSION = (f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{RG_GALLERY}/providers/"
           f"Microsoft.Compute/galleries/{GALLERY_PROD}/images/{GALLERY_IMAGE_SECURE}/versions/"
           "1.0.0")


async def create(server: SandboxServer, name: str, location: str, reference: dict[str, Any]) -> Any:
    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID, retry_total=0)
    async with compute:
        body: Any = {
            "location": location,
            "sku": {"name": "Standard_LRS"},
            "properties": {"creationData": {"createOption": "FromImage",
                                            "galleryImageReference": reference}},
        }
        poller = await compute.disks.begin_create_or_update(RG_BUILD, name, body)
        return await poller.result()


def test_a_disk_from_a_version_takes_its_size_and_os_facts(sandbox: SandboxServer) -> None:
    disk = asyncio.run(create(sandbox, "from-version-ok", "westeurope", {"id": VERSION}))
    version: Any = sandbox.world.store.get(VERSION)
    size_gb = version["properties"]["storageProfile"]["osDiskImage"]["sizeInGB"]
    assert disk.disk_size_gb == size_gb
    assert str(getattr(disk.disk_state, "value", disk.disk_state)) == "Unattached"
    assert disk.os_type is not None and disk.creation_data.gallery_image_reference.id == VERSION


@pytest.mark.parametrize(
    ("location", "reference", "error", "words"),
    [
        ("westeurope", {"id": VERSION.replace("1.0.0", "9.9.9")}, ResourceNotFoundError,
         "was not found"),
        ("uksouth", {"id": VERSION}, HttpResponseError, "not replicated to region"),
        ("westeurope", {"id": VERSION, "lun": 5}, HttpResponseError, "no data disk at LUN 5"),
    ],
    ids=["missing-version", "not-replicated", "no-such-lun"],
)
def test_refusals(sandbox: SandboxServer, location: str, reference: dict[str, Any],
                  error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        asyncio.run(create(sandbox, f"from-version-{location}", location, reference))

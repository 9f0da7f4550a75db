"""Request bodies the sandbox tests send again and again (ARM's JSON, built in one place).

Each builder returns what the tests wrote out by hand before: only what the arguments ask for, so
a test still says what it sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ODataV4Format, ResourceNotFoundError
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.compute.models import GalleryImage

from gui.azure.account.loopback import sandbox_compute_client, sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

Json = dict[str, Any]
LOCATION = "westeurope"


def image_body(
    source: Json,
    *,
    os_type: str = "Linux",
    generation: str | None = "V2",
    data_disks: list[Json] | None = None,
) -> Json:
    """A managed image's PUT body: a generalized OS disk made from ``source`` (``{"managedDisk":
    {"id": ...}}`` or ``{"blobUri": ...}``), with data disks if given."""
    profile: Json = {"osDisk": {"osType": os_type, "osState": "Generalized", **source}}
    if data_disks is not None:
        profile["dataDisks"] = data_disks
    properties: Json = {"storageProfile": profile}
    if generation is not None:
        properties["hyperVGeneration"] = generation
    return {"location": LOCATION, "properties": properties}


def image_from_vm_body(vm_id: str | None) -> Json:
    """A managed image's PUT body that captures the VM ``vm_id`` (Gen2)."""
    return {
        "location": LOCATION,
        "properties": {"hyperVGeneration": "V2", "sourceVirtualMachine": {"id": vm_id}},
    }


def managed(disk_id: str | None) -> Json:
    return {"managedDisk": {"id": disk_id}}


def empty_disk_body(size_gb: int) -> Json:
    """An empty Linux Gen2 disk of ``size_gb`` GiB."""
    return {
        "location": LOCATION,
        "properties": {
            "osType": "Linux",
            "hyperVGeneration": "V2",
            "diskSizeGB": size_gb,
            "creationData": {"createOption": "Empty"},
        },
    }


def definition_body(
    identifier: tuple[str, str, str],
    *,
    os_state: str = "Generalized",
    os_type: str = "Linux",
    security_type: str | None = None,
) -> Json:
    """A gallery image definition's PUT body (Gen2); ``identifier`` is publisher, offer, sku."""
    publisher, offer, sku = identifier
    properties: Json = {
        "osType": os_type,
        "osState": os_state,
        "hyperVGeneration": "V2",
        "identifier": {"publisher": publisher, "offer": offer, "sku": sku},
    }
    if security_type is not None:
        properties["features"] = [{"name": "SecurityType", "value": security_type}]
    return {"location": LOCATION, "properties": properties}


def version_body(source_id: str | None) -> Json:
    """A gallery image version in westeurope captured from one source (a VM or managed image)."""
    return {
        "location": "westeurope",
        "properties": {"storageProfile": {"source": {"id": source_id}}},
    }


async def create_definition(
    client: ComputeManagementClient, group: str, gallery: str, name: str, body: Json
) -> GalleryImage:
    """Create a gallery image definition and wait for ARM to finish it."""
    # The SDK sends a plain JSON body as it is (the sandbox checks the wire shape), but its
    # overloads only declare the model class and IO[bytes].
    poller = await client.gallery_images.begin_create_or_update(
        group, gallery, name, body
    )
    definition: GalleryImage = await poller.result()
    return definition


async def refused_version(
    client: ComputeManagementClient,
    group: str,
    gallery: str,
    definition: str,
    version: str,
    body: Json,
) -> str:
    """The error message ARM gives when it refuses to create the gallery image version."""
    with pytest.raises(HttpResponseError) as info:
        # A plain JSON body, as in create_definition().
        await client.gallery_image_versions.begin_create_or_update(
            group, gallery, definition, version, body
        )
    return error_message(info.value)


def _odata(exc: HttpResponseError) -> ODataV4Format:
    assert exc.error is not None, f"the answer carried no ARM error body: {exc}"
    return exc.error


def error_code(exc: HttpResponseError) -> str:
    """The ``code`` of the ARM error body an SDK call failed with ("" if it had none)."""
    return _odata(exc).code or ""


def error_message(exc: HttpResponseError) -> str:
    return _odata(exc).message or ""


def error_target(exc: HttpResponseError) -> str | None:
    return _odata(exc).target


def storage_error_code(exc: HttpResponseError) -> str:
    """The storage error code (x-ms-error-code) the blob SDK attaches to its errors."""
    code = getattr(exc, "error_code", None)
    assert isinstance(code, str), f"no storage error code on {exc!r}"
    return code


@asynccontextmanager
async def fast_compute(
    sandbox: SandboxServer, *, replication_seconds: float
) -> AsyncIterator[ComputeManagementClient]:
    """A compute client on ``sandbox`` with 50 ms operations (and ``replication_seconds`` a
    region for gallery versions), so tests wait little."""
    sandbox.lro_seconds = 0.05
    sandbox.replication_seconds_per_region = replication_seconds
    async with sandbox_compute_client(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as client:
        yield client


async def group_exists(server: SandboxServer, name: str) -> bool:
    """Whether ARM answers a GET for the resource group (asked through the real SDK)."""
    _, resources = sandbox_resource_clients(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with resources:
        try:
            await resources.resource_groups.get(name)
        except ResourceNotFoundError:
            return False
        return True

"""Long-running operations answer with Azure's status codes and headers (the examples' responses:
Gallery_Create.json 201/200, Gallery_Delete.json 202 with Azure-AsyncOperation and Location, 204
once gone; VirtualMachine_Deallocate 202 with Location), sent through the SDK's pipeline over
HTTP so the test sees the raw answers the SDK's pollers read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from azure.core.rest import HttpRequest
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB
from gui.sandbox.seed import vms as seeded_vms
from gui.sandbox.seed import world
from tests.sandbox.helpers import fast_compute

pytestmark = pytest.mark.asyncio
GALLERY_API = {"api-version": "2026-03-03"}
COMPUTE_API = {"api-version": "2026-04-01"}
GALLERY = (
    f"/subscriptions/{SUB}/resourceGroups/{world.RG_GALLERY}"
    "/providers/Microsoft.Compute/galleries/gal_lro"
)


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    async with fast_compute(fresh_sandbox, replication_seconds=0.05) as c:
        yield c


async def _send(
    client: ComputeManagementClient,
    method: str,
    url: str,
    params: dict[str, str] | None = None,
    body: Any = None,
) -> tuple[int, dict[str, str], Any]:
    response = await client.send_request(HttpRequest(method, url, params=params, json=body))
    text = response.text()
    doc = response.json() if text else None
    return response.status_code, dict(response.headers), doc


async def _wait_succeeded(client: ComputeManagementClient, status_url: str) -> None:
    for _ in range(100):
        _, _, doc = await _send(client, "GET", status_url)
        if doc["status"] != "InProgress":
            assert doc["status"] == "Succeeded"
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the operation never ended")


async def test_put_creates_201_and_updates_200_each_with_an_operation(
    client: ComputeManagementClient,
) -> None:
    def body(description: str) -> dict[str, Any]:
        return {"location": "westeurope", "properties": {"description": description}}

    status, headers, doc = await _send(client, "PUT", GALLERY, GALLERY_API, body("first"))
    assert (status, doc["properties"]["provisioningState"]) == (201, "Creating")
    await _wait_succeeded(client, headers["Azure-AsyncOperation"])

    status, headers, doc = await _send(client, "PUT", GALLERY, GALLERY_API, body("second"))
    assert (status, doc["properties"]["provisioningState"]) == (200, "Updating")
    assert "Azure-AsyncOperation" in headers
    await _wait_succeeded(client, headers["Azure-AsyncOperation"])
    gallery = await client.galleries.get(world.RG_GALLERY, "gal_lro")
    assert gallery.as_dict()["properties"]["provisioningState"] == "Succeeded"
    assert gallery.as_dict()["properties"]["description"] == "second"


async def test_delete_202_with_both_headers_then_204_when_gone(
    client: ComputeManagementClient,
) -> None:
    body = {"location": "westeurope", "properties": {}}
    _, headers, _ = await _send(client, "PUT", GALLERY, GALLERY_API, body)
    await _wait_succeeded(client, headers["Azure-AsyncOperation"])
    status, headers, _ = await _send(client, "DELETE", GALLERY, GALLERY_API)
    assert status == 202
    assert {"Azure-AsyncOperation", "Location"} <= set(headers)
    await _wait_succeeded(client, headers["Azure-AsyncOperation"])
    status, _, _ = await _send(client, "DELETE", GALLERY, GALLERY_API)
    assert status == 204


async def test_post_action_202_with_location_and_final_answer(
    client: ComputeManagementClient,
) -> None:
    vm = (
        f"/subscriptions/{SUB}/resourceGroups/{seeded_vms.RG_VMS}"
        f"/providers/Microsoft.Compute/virtualMachines/{seeded_vms.VM_GEN1}"
    )
    status, headers, _ = await _send(client, "POST", f"{vm}/deallocate", COMPUTE_API)
    assert status == 202
    assert {"Azure-AsyncOperation", "Location"} <= set(headers)
    await _wait_succeeded(client, headers["Azure-AsyncOperation"])
    status, _, _ = await _send(client, "GET", headers["Location"])
    assert status == 200  # done; deallocate has no result, so no body

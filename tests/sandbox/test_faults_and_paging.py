"""Paging via nextLink, injected faults surfacing through the SDK, latency and request counts."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.loopback import sandbox_compute_client, sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed import world as seeded
from tests.sandbox.helpers import error_code, error_message

pytestmark = pytest.mark.asyncio


async def test_lists_page_with_absolute_next_links(
    sandbox: SandboxServer, compute: ComputeManagementClient
) -> None:
    everything = [i.name async for i in compute.images.list()]
    sandbox.page_size = 2
    before = sandbox.request_count
    paged = [i.name async for i in compute.images.list()]
    assert paged == everything
    pages = -(-len(everything) // 2)
    assert pages >= 2
    assert sandbox.request_count - before == pages

    response = await compute.send_request(
        HttpRequest(
            "GET",
            f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/providers/Microsoft.Compute/images",
            params={"api-version": "2024-07-01"},
        )
    )
    doc = response.json()
    assert len(doc["value"]) == 2
    assert doc["nextLink"].startswith(sandbox.arm_url + "/subscriptions/")
    assert "api-version=2024-07-01" in doc["nextLink"]


async def test_resource_graph_pages_with_skip_token(sandbox: SandboxServer) -> None:
    _, resources = sandbox_resource_clients(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    query = (
        "communitygalleryresources"
        " | where type =~ 'microsoft.compute/locations/communitygalleries/images'"
    )
    rows: list[str] = []
    token = None
    async with resources:
        while True:
            options: dict[str, object] = {"$top": 5}
            if token:
                options["$skipToken"] = token
            response = await resources.send_request(
                HttpRequest(
                    "POST",
                    "/providers/Microsoft.ResourceGraph/resources",
                    params={"api-version": "2021-03-01"},
                    json={"query": query, "options": options},
                )
            )
            doc = response.json()
            rows += [r["id"] for r in doc["data"]]
            token = doc.get("$skipToken")
            if not token:
                break
    assert len(rows) == doc["totalRecords"] > 5
    assert len(set(rows)) == len(rows)


async def test_injected_403_is_an_http_error_with_the_azure_code(
    sandbox: SandboxServer, compute: ComputeManagementClient
) -> None:
    sandbox.faults.add(r"/providers/Microsoft\.Compute/images", status=403)
    with pytest.raises(HttpResponseError) as info:
        await compute.images.get(seeded.RG_IMAGES, seeded.IMAGE_OS_ONLY)
    assert info.value.status_code == 403
    assert error_code(info.value) == "AuthorizationFailed"
    assert "Microsoft.Compute/images/read" in error_message(info.value)
    # Other paths are untouched.
    assert (await compute.galleries.get(seeded.RG_GALLERY, seeded.GALLERY_PROD)).name


async def test_429_is_retried_after_retry_after(
    sandbox: SandboxServer, compute: ComputeManagementClient
) -> None:
    rule = sandbox.faults.add(r"/galleries/", status=429, times=2, retry_after=0.5)
    started = time.monotonic()
    gallery = await compute.galleries.get(seeded.RG_GALLERY, seeded.GALLERY_PROD)
    elapsed = time.monotonic() - started
    assert gallery.name == seeded.GALLERY_PROD
    assert rule.fired == 2
    assert elapsed >= 1.0  # two waits of Retry-After


async def test_500_surfaces_when_retries_are_off(sandbox: SandboxServer) -> None:
    sandbox.faults.add(r"/publishers$", status=500, times=1)
    async with sandbox_compute_client(
        sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID, retry_total=0
    ) as client:
        with pytest.raises(HttpResponseError) as info:
            await client.virtual_machine_images.list_publishers("westeurope")
        assert info.value.status_code == 500
        assert error_code(info.value) == "InternalServerError"
        # The rule fired its one time; the next call succeeds.
        assert len(await client.virtual_machine_images.list_publishers("westeurope")) > 3000


async def test_fault_rule_can_target_a_method(
    sandbox: SandboxServer, compute: ComputeManagementClient
) -> None:
    sandbox.faults.add(r"/images/", status=409, code="Conflict", message="busy", method="DELETE")
    image = await compute.images.get(seeded.RG_IMAGES, seeded.IMAGE_OS_ONLY)
    assert image.name == seeded.IMAGE_OS_ONLY


async def test_latency_is_added_to_each_request(
    sandbox: SandboxServer, compute: ComputeManagementClient
) -> None:
    sandbox.faults.latency = 0.2
    started = time.monotonic()
    await compute.galleries.get(seeded.RG_GALLERY, seeded.GALLERY_PROD)
    assert time.monotonic() - started >= 0.2

"""The sandbox's gallery updates (issue 12) over HTTP with the SDK: a PUT on an existing version
is an update that may not change the source, a PATCH on a version and on a definition, a
region's storage type fixed once added, replication per region with a failing region (faults)
and its retry, and the refusal to drop a region without allowDeletionOfReplicatedLocations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.loopback import sandbox_compute_client
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_IMAGE_WINDOWS, GALLERY_PROD, RG_GALLERY
from tests.sandbox.helpers import error_code, error_message, error_target

pytestmark = pytest.mark.asyncio

VERSION = (RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_WINDOWS, "2024.11.1")
DEFINITION = VERSION[:3]

Json = dict[str, Any]
Client = tuple[Any, ComputeManagementClient]


@pytest_asyncio.fixture
async def client(fresh_sandbox: Any) -> AsyncIterator[Client]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.3
    async with sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as c:
        yield fresh_sandbox, c


async def _version(compute: ComputeManagementClient) -> Json:
    found = await compute.gallery_image_versions.get(*VERSION, expand="ReplicationStatus")
    return dict(found.as_dict())


def _regions(doc: Json) -> list[tuple[str, int, str]]:
    return [
        (r["name"], r["regionalReplicaCount"], r["storageAccountType"])
        for r in doc["properties"]["publishingProfile"]["targetRegions"]
    ]


def _status(doc: Json) -> dict[str, Json]:
    return {s["region"]: s for s in doc["properties"]["replicationStatus"]["summary"]}


def _patch_body(doc: Json, regions: list[Json], **safety: bool) -> Json:
    props: Json = {
        "publishingProfile": {"targetRegions": regions},
        "storageProfile": {"source": doc["properties"]["storageProfile"]["source"]},
    }
    if safety:
        props["safetyProfile"] = safety
    return {"properties": props}


async def _refused(call: Any) -> HttpResponseError:
    with pytest.raises(HttpResponseError) as info:
        poller = await call
        await poller.result()
    return info.value


async def test_a_put_that_changes_the_source_of_a_version_is_refused(client: Client) -> None:
    _, compute = client
    doc = await _version(compute)
    body = {
        "location": doc["location"],
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": "West Europe"}]},
            "storageProfile": {"source": {"id": doc["properties"]["storageProfile"]["source"]
                                          ["id"] + "-other"}},
        },
    }
    error = await _refused(compute.gallery_image_versions.begin_create_or_update(*VERSION, body))
    assert error.status_code == 409
    assert error_code(error) == "PropertyChangeNotAllowed"
    assert error_target(error) == "properties.storageProfile.source"


async def test_a_put_on_an_existing_version_updates_its_publishing_profile(client: Client) -> None:
    _, compute = client
    doc = await _version(compute)
    regions = [
        {"name": "West Europe", "regionalReplicaCount": 2},
        {"name": "Germany West Central", "regionalReplicaCount": 1},
        {"name": "North Europe", "regionalReplicaCount": 1, "storageAccountType": "Premium_LRS"},
    ]
    body = {"location": doc["location"], "properties": _patch_body(doc, regions)["properties"]}
    body["properties"]["publishingProfile"]["excludeFromLatest"] = True
    poller = await compute.gallery_image_versions.begin_create_or_update(*VERSION, body)
    await poller.result()
    after = await _version(compute)
    assert _regions(after) == [
        ("West Europe", 2, "Standard_LRS"),
        ("Germany West Central", 1, "Standard_LRS"),
        ("North Europe", 1, "Premium_LRS"),
    ]
    assert after["properties"]["publishingProfile"]["excludeFromLatest"] is True
    assert after["properties"]["provisioningState"] == "Succeeded"


async def test_a_patch_replicates_the_new_region_over_several_polls(client: Client) -> None:
    _, compute = client
    doc = await _version(compute)
    regions = [*doc["properties"]["publishingProfile"]["targetRegions"],
               {"name": "eastus", "regionalReplicaCount": 1}]
    answer = await compute.gallery_image_versions.begin_update(
        *VERSION, _patch_body(doc, [{"name": r["name"],
                                     "regionalReplicaCount": r["regionalReplicaCount"]}
                                    for r in regions])
    )
    seen: list[tuple[str, int, str]] = []
    while True:
        status = await _version(compute)
        east = _status(status)["East US"]
        seen.append((east["state"], east["progress"],
                     status["properties"]["replicationStatus"]["aggregatedState"]))
        assert _status(status)["West Europe"]["state"] == "Completed"  # not replicated again
        if east["state"] == "Completed":
            break
        await asyncio.sleep(0.03)
    await answer.result()
    assert ("Replicating", "InProgress") in {(state, agg) for state, _, agg in seen}
    assert seen[-1] == ("Completed", 100, "Completed")


async def test_a_region_fails_with_details_and_a_new_update_retries_it(client: Client) -> None:
    sandbox, compute = client
    sandbox.faults.fail_replication("eastus")
    doc = await _version(compute)
    regions = [{"name": r["name"], "regionalReplicaCount": r["regionalReplicaCount"]}
               for r in doc["properties"]["publishingProfile"]["targetRegions"]]
    regions.append({"name": "East US", "regionalReplicaCount": 1})
    error = await _refused(compute.gallery_image_versions.begin_update(
        *VERSION, _patch_body(doc, regions)))
    assert error_code(error) == "ReplicationFailed"
    failed = await _version(compute)
    east = _status(failed)["East US"]
    assert east["state"] == "Failed"
    assert "eastus" in east["details"] and "retry" in east["details"]
    assert failed["properties"]["replicationStatus"]["aggregatedState"] == "Failed"
    assert failed["properties"]["provisioningState"] == "Failed"

    poller = await compute.gallery_image_versions.begin_update(*VERSION,
                                                               _patch_body(failed, regions))
    await poller.result()
    after = await _version(compute)
    assert {s["state"] for s in _status(after).values()} == {"Completed"}
    assert after["properties"]["provisioningState"] == "Succeeded"


async def test_dropping_a_region_is_refused_unless_the_safeguard_allows_it(client: Client) -> None:
    _, compute = client
    doc = await _version(compute)
    west_only = [{"name": "West Europe", "regionalReplicaCount": 3}]
    error = await _refused(compute.gallery_image_versions.begin_update(
        *VERSION, _patch_body(doc, west_only)))
    assert error.status_code == 409
    assert error_code(error) == "OperationNotAllowed"
    assert "allowDeletionOfReplicatedLocations" in error_message(error)
    assert len(_regions(await _version(compute))) == 2

    poller = await compute.gallery_image_versions.begin_update(
        *VERSION,
        {"properties": {"safetyProfile": {"allowDeletionOfReplicatedLocations": True},
                        "storageProfile": {"source": doc["properties"]["storageProfile"]
                                           ["source"]}}},
    )
    await poller.result()
    poller = await compute.gallery_image_versions.begin_update(*VERSION,
                                                               _patch_body(doc, west_only))
    await poller.result()
    after = await _version(compute)
    assert _regions(after) == [("West Europe", 3, "Standard_LRS")]
    assert after["properties"]["safetyProfile"]["allowDeletionOfReplicatedLocations"] is True


async def test_a_regions_storage_type_is_not_updatable(client: Client) -> None:
    _, compute = client
    doc = await _version(compute)
    regions = [{"name": "West Europe", "regionalReplicaCount": 3,
                "storageAccountType": "Premium_LRS"},
               {"name": "Germany West Central", "regionalReplicaCount": 1}]
    error = await _refused(compute.gallery_image_versions.begin_update(
        *VERSION, _patch_body(doc, regions)))
    assert error_code(error) == "PropertyChangeNotAllowed"
    assert error_target(error) == "properties.publishingProfile.targetRegions.storageAccountType"


async def test_a_patch_without_the_required_storage_profile_breaks_the_contract(
    client: Client,
) -> None:
    _, compute = client
    error = await _refused(compute.gallery_image_versions.begin_update(
        *VERSION, {"properties": {"publishingProfile": {"excludeFromLatest": True}}}))
    assert error.status_code == 400
    assert "storageProfile" in error_message(error)


async def test_a_definition_patch_updates_what_describes_it(client: Client) -> None:
    _, compute = client
    current = (await compute.gallery_images.get(*DEFINITION)).as_dict()
    props = current["properties"]
    fixed = {k: props[k] for k in ("osType", "osState", "hyperVGeneration", "identifier")}
    body = {
        "properties": {
            **fixed,
            "description": "Windows Server 2022, retiring",
            "endOfLifeDate": "2030-01-01T00:00:00Z",
            "recommended": {"vCPUs": {"min": 2, "max": 16}, "memory": {"min": 4, "max": 64}},
        }
    }
    poller = await compute.gallery_images.begin_update(*DEFINITION, body)
    await poller.result()
    after = (await compute.gallery_images.get(*DEFINITION)).as_dict()["properties"]
    assert after["description"] == "Windows Server 2022, retiring"
    assert after["endOfLifeDate"].startswith("2030-01-01")
    assert after["recommended"] == {"vCPUs": {"min": 2, "max": 16}, "memory": {"min": 4, "max": 64}}
    assert after["provisioningState"] == "Succeeded"


async def test_a_definition_patch_refuses_what_a_vm_boots_and_bad_ranges(client: Client) -> None:
    _, compute = client
    props = (await compute.gallery_images.get(*DEFINITION)).as_dict()["properties"]
    fixed = {k: props[k] for k in ("osType", "osState", "hyperVGeneration", "identifier")}
    error = await _refused(compute.gallery_images.begin_update(
        *DEFINITION, {"properties": {**fixed, "osType": "Linux"}}))
    assert error_code(error) == "PropertyChangeNotAllowed"
    assert error_target(error) == "properties.osType"
    error = await _refused(compute.gallery_images.begin_update(
        *DEFINITION,
        {"properties": {**fixed, "recommended": {"vCPUs": {"min": 8, "max": 2}}}}))
    assert error_code(error) == "InvalidParameter"
    assert "greater than its maximum" in error_message(error)

"""The sandbox holds requests to Azure's contract at its front door, over real HTTP.

* An api-version Azure does not serve for the resource type is refused with ARM's 400:
  ``InvalidApiVersionParameter`` on ARM's own routes (subscriptions, locations, resource groups),
  ``NoRegisteredProviderFound`` (with the supported versions) on a resource provider's.
* A body is read as Azure reads it, against the operation's schema from the REST spec: a wrong
  JSON type is ``InvalidRequestContent`` naming the path, a missing required property is
  ``InvalidParameter`` (``LocationRequired`` for a resource's location), enum values compare
  without case, and read-only properties sent back from a GET are ignored.
"""

from __future__ import annotations

import http.client
import inspect
import json
import re
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.mgmt.compute.operations import _operations as compute_builders
from azure.mgmt.marketplaceordering.operations import (
    _marketplace_agreements_operations as ordering_builders,
)
from azure.mgmt.resource.resources.operations import _operations as resource_builders
from azure.mgmt.storage.operations import _operations as storage_builders

from gui.azure.catalog.service import RESOURCE_GRAPH_API
from gui.azure.handoff import NETWORK_API
from gui.sandbox import SandboxServer
from gui.sandbox.arm.handlers import build_router
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import RG_VMS, VM_LINUX

SUB = f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}"
RG = "rg-contract"
COMPUTE = f"{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
VM = f"{SUB}/resourceGroups/{RG_VMS}/providers/Microsoft.Compute/virtualMachines/{VM_LINUX}"
LOCATIONS = f"{SUB}/providers/Microsoft.Compute/locations/westeurope"
ACCOUNT = (
    f"{SUB}/resourceGroups/rg-images-prod/providers/Microsoft.Storage/storageAccounts/"
    "contosoimgstore"
)
# What the installed SDKs send (azure-mgmt-compute 39, -storage 25.3, -resource 26, the
# subscriptions client 1.0) and the app's Resource Graph version.
COMPUTE_API, DISK_API, GALLERY_API = "2026-04-01", "2026-03-02", "2026-03-03"
RG_API, GRAPH_API = "2025-04-01", "2022-10-01"


def _request(
    server: SandboxServer, method: str, path: str, api: str, body: Any = None
) -> tuple[int, Any]:
    parts = urlsplit(server.arm_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
        conn.request(method, f"{path}?api-version={api}", body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def _error(status: int, doc: Any, code: str) -> str:
    assert status == 400, doc
    assert doc["error"]["code"] == code, doc
    message: str = doc["error"]["message"]
    return message


# ---- api-versions --------------------------------------------------------------------------

ARM_ROUTES = [
    ("GET", "/subscriptions"),
    ("GET", SUB),
    ("GET", f"{SUB}/locations"),
    ("GET", "/tenants"),
    ("GET", f"{SUB}/resourcegroups"),
    ("GET", f"{SUB}/resourcegroups/{RG_VMS}"),
    ("PUT", f"{SUB}/resourcegroups/rg-never-made"),
]

PROVIDER_ROUTES = [
    ("GET", f"{SUB}/providers/Microsoft.Compute/images", "images", COMPUTE_API),
    ("GET", VM, "virtualMachines", COMPUTE_API),
    ("GET", VM + "/instanceView", "virtualMachines", COMPUTE_API),
    ("POST", VM + "/runCommand", "virtualMachines", COMPUTE_API),
    ("GET", f"{LOCATIONS}/publishers", "locations/publishers", COMPUTE_API),
    ("GET", f"{SUB}/providers/Microsoft.Compute/disks", "disks", DISK_API),
    ("GET", f"{SUB}/providers/Microsoft.Compute/snapshots", "snapshots", DISK_API),
    ("GET", f"{SUB}/providers/Microsoft.Compute/galleries", "galleries", GALLERY_API),
    ("GET", f"{LOCATIONS}/sharedGalleries", "locations/sharedGalleries", GALLERY_API),
    (
        "GET",
        f"{LOCATIONS}/communityGalleries/contoso-public/images",
        "locations/communityGalleries",
        GALLERY_API,
    ),
    (
        "GET",
        f"{LOCATIONS}/operations/00000000-0000-0000-0000-000000000000",
        "locations/operations",
        DISK_API,
    ),
    ("GET", f"{SUB}/providers/Microsoft.Storage/storageAccounts", "storageAccounts", "2026-09-01"),
    ("POST", ACCOUNT + "/listKeys", "storageAccounts", "2026-09-01"),
    (
        "GET",
        ACCOUNT + "/blobServices/default/containers",
        "storageAccounts/blobServices/containers",
        "2026-09-01",
    ),
    ("POST", "/providers/Microsoft.ResourceGraph/resources", "resources", GRAPH_API),
]


@pytest.mark.parametrize(("method", "path"), ARM_ROUTES)
def test_an_unknown_api_version_on_arm_s_own_routes_is_invalid_api_version_parameter(
    sandbox: SandboxServer, method: str, path: str
) -> None:
    body = {"location": "westeurope"} if method == "PUT" else None
    message = _error(
        *_request(sandbox, method, path, "1999-01-01", body), "InvalidApiVersionParameter"
    )
    assert message.startswith("The api-version '1999-01-01' is invalid. The supported versions are")
    assert ("2025-04-01" if "resourcegroups" in path else "2022-12-01") in message


@pytest.mark.parametrize(("method", "path", "resource_type", "sent_by_sdk"), PROVIDER_ROUTES)
def test_an_unknown_api_version_on_a_provider_route_is_no_registered_provider_found(
    sandbox: SandboxServer, method: str, path: str, resource_type: str, sent_by_sdk: str
) -> None:
    body = {"query": "resources"} if "ResourceGraph" in path else None
    message = _error(
        *_request(sandbox, method, path, "1999-01-01", body), "NoRegisteredProviderFound"
    )
    assert message.startswith("No registered resource provider found for location '"), message
    assert f"and API version '1999-01-01' for type '{resource_type}'." in message
    supported = message.split("The supported api-versions are '")[1].split("'")[0].split(", ")
    assert sent_by_sdk in supported
    assert "The supported locations are '" in message and "westeurope" in message


def test_a_resource_s_region_is_named_in_the_refusal(sandbox: SandboxServer) -> None:
    status, group = _request(sandbox, "GET", f"{SUB}/resourcegroups/{RG_VMS}", RG_API)
    assert status == 200
    message = _error(*_request(sandbox, "GET", VM, "2015-01-01"), "NoRegisteredProviderFound")
    assert f"for location '{group['location']}'" in message


def test_an_api_version_of_another_resource_provider_is_refused(sandbox: SandboxServer) -> None:
    # 2024-07-01 is a Compute RP version, not a Disk RP one: Azure refuses it for disks.
    disks = f"{SUB}/providers/Microsoft.Compute/disks"
    assert _request(sandbox, "GET", disks, DISK_API)[0] == 200
    _error(*_request(sandbox, "GET", disks, "2024-07-01"), "NoRegisteredProviderFound")


# ---- request bodies ------------------------------------------------------------------------


@pytest.fixture
def server(fresh_sandbox: SandboxServer) -> SandboxServer:
    fresh_sandbox.lro_seconds = 0.0
    fresh_sandbox.replication_seconds_per_region = 0.0
    status, doc = _request(
        fresh_sandbox, "PUT", f"{SUB}/resourcegroups/{RG}", RG_API, {"location": "westeurope"}
    )
    assert status in (200, 201), doc
    return fresh_sandbox


def _empty_disk(server: SandboxServer, name: str) -> str:
    disk = f"{COMPUTE}/disks/{name}"
    body = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "diskSizeGB": 4,
            "creationData": {"createOption": "Empty"},
        },
    }
    status, doc = _request(server, "PUT", disk, DISK_API, body)
    assert status in (200, 201, 202), doc
    return disk


def _image_body(disk: str, **os_disk: Any) -> dict[str, Any]:
    return {
        "location": "westeurope",
        "properties": {
            "hyperVGeneration": "V2",
            "storageProfile": {
                "osDisk": {
                    "osType": "Linux",
                    "osState": "Generalized",
                    "managedDisk": {"id": disk},
                    **os_disk,
                }
            },
        },
    }


def test_a_wrong_type_is_invalid_request_content_naming_the_path(server: SandboxServer) -> None:
    disk = _empty_disk(server, "typed")
    body = _image_body(disk)
    body["properties"]["hyperVGeneration"] = 5
    message = _error(
        *_request(server, "PUT", f"{COMPUTE}/images/img-typed", COMPUTE_API, body),
        "InvalidRequestContent",
    )
    assert message == (
        "The request content was invalid and could not be deserialized: 'Error converting value 5 "
        "to type 'System.String'. Path 'properties.hyperVGeneration'.'"
    )
    gallery: dict[str, Any] = {"location": 7}
    message = _error(
        *_request(server, "PUT", f"{COMPUTE}/galleries/gal_typed", GALLERY_API, gallery),
        "InvalidRequestContent",
    )
    assert "Error converting value 7 to type 'System.String'. Path 'location'." in message
    # Every property of the spec's model has its type, not only those the handlers read.
    gallery = {
        "location": "westeurope",
        "properties": {"softDeletePolicy": {"isSoftDeleteEnabled": "yes"}},
    }
    message = _error(
        *_request(server, "PUT", f"{COMPUTE}/galleries/gal_typed", GALLERY_API, gallery),
        "InvalidRequestContent",
    )
    assert message.endswith(
        "'Error converting value \"yes\" to type 'System.Boolean'. "
        "Path 'properties.softDeletePolicy.isSoftDeleteEnabled'.'"
    )


def test_a_value_outside_a_fixed_enum_cannot_be_read(server: SandboxServer) -> None:
    disk = _empty_disk(server, "enum")
    body = _image_body(disk, osType="Solaris")
    message = _error(
        *_request(server, "PUT", f"{COMPUTE}/images/img-enum", COMPUTE_API, body),
        "InvalidRequestContent",
    )
    assert "'OperatingSystemTypes'" in message
    assert "Path 'properties.storageProfile.osDisk.osType'" in message


def test_a_missing_required_property_is_named(server: SandboxServer) -> None:
    disk = _empty_disk(server, "required")
    body = _image_body(disk)
    del body["properties"]["storageProfile"]["osDisk"]["osState"]
    status, doc = _request(server, "PUT", f"{COMPUTE}/images/img-required", COMPUTE_API, body)
    assert _error(status, doc, "InvalidParameter") == (
        "Required parameter 'properties.storageProfile.osDisk.osState' is missing (null)."
    )
    assert doc["error"]["target"] == "properties.storageProfile.osDisk.osState"

    status, doc = _request(server, "POST", VM + "/runCommand", COMPUTE_API, {"script": ["ls"]})
    assert "'commandId'" in _error(status, doc, "InvalidParameter")

    status, doc = _request(server, "PUT", f"{SUB}/resourcegroups/rg-nowhere", RG_API, {"tags": {}})
    assert _error(status, doc, "LocationRequired")


def test_enum_values_in_another_case_are_accepted(server: SandboxServer) -> None:
    disk = _empty_disk(server, "cased")
    body = _image_body(disk, osType="linux", osState="GENERALIZED", caching="readWrite")
    status, doc = _request(server, "PUT", f"{COMPUTE}/images/img-cased", COMPUTE_API, body)
    assert status in (200, 201), doc
    # Read into the enum, the value has Azure's spelling again.
    os_disk = doc["properties"]["storageProfile"]["osDisk"]
    assert (os_disk["osType"], os_disk["osState"], os_disk["caching"]) == (
        "Linux",
        "Generalized",
        "ReadWrite",
    )


def test_read_only_properties_sent_back_are_ignored(server: SandboxServer) -> None:
    gallery = f"{COMPUTE}/galleries/gal_roundtrip"
    assert _request(server, "PUT", gallery, GALLERY_API, {"location": "westeurope"})[0] in (
        200,
        201,
    )
    definition = gallery + "/images/def-roundtrip"
    body = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "osState": "Generalized",
            "hyperVGeneration": "V2",
            "identifier": {"publisher": "Contoso", "offer": "app", "sku": "rt"},
        },
    }
    assert _request(server, "PUT", definition, GALLERY_API, body)[0] in (200, 201)
    for path in (gallery, definition):
        status, got = _request(server, "GET", path, GALLERY_API)
        assert status == 200, got
        # id, name, type and properties.provisioningState (and the gallery's identifier) are
        # read-only: Azure ignores them in a PUT, so the same document goes back unchanged.
        status, doc = _request(server, "PUT", path, GALLERY_API, got)
        assert status in (200, 201), doc
    # ... while the writable properties of the same document are still read by type.
    features: list[dict[str, Any]] = [
        {"name": "IsAcceleratedNetworkSupported", "startsAtVersion": 2}
    ]
    got["properties"]["features"] = features
    message = _error(
        *_request(server, "PUT", definition, GALLERY_API, got), "InvalidRequestContent"
    )
    assert "Path 'properties.features[0].startsAtVersion'" in message


def test_every_write_route_has_a_schema_or_no_body() -> None:
    from gui.sandbox.contract.operations import BODILESS, OPERATIONS

    # Imported here so that the rest of this module also runs against a sandbox without the
    # contract package (each test was checked to fail there).
    covered = {(m, t.lower()) for m, t, _ in OPERATIONS} | {(m, t.lower()) for m, t in BODILESS}
    missing = [
        f"{route.method} {route.template}"
        for route in build_router()._routes
        if route.method in ("PUT", "POST", "PATCH")
        and (route.method, route.template.lower()) not in covered
    ]
    assert not missing, f"write routes without a body schema in gui/sandbox/contract: {missing}"


def _api_version_sent(operation_id: str) -> str:
    """The api-version the app sends for ``operation_id``: the installed SDK's request builder for
    it (``Group_Operation`` -> ``build_group_operation_request``), or the app's own constant for
    what it sends without an SDK: the Resource Graph query, and the Microsoft.Network resources it
    creates through the generic resources API (``begin_create_or_update_by_id``)."""
    if operation_id == "Resources":
        return RESOURCE_GRAPH_API
    network = ("VirtualNetworks", "NetworkInterfaces", "PublicIPAddresses")
    if operation_id.partition("_")[0] in network:
        return NETWORK_API
    snake = "_".join(
        re.sub(r"(?<!^)(?=[A-Z])", "_", part).lower() for part in operation_id.split("_")
    )
    # Newer SDKs name builders after the operation group too; the Marketplace Ordering SDK's
    # module is the group's own, named after the operation alone.
    candidates = [
        (m, f"build_{snake}_request")
        for m in (compute_builders, resource_builders, storage_builders)
    ]
    candidates.append((ordering_builders, f"build_{snake.rsplit('_', 1)[-1]}_request"))
    if operation_id.startswith("MarketplaceAgreements_"):
        candidates = candidates[-1:]
    builder = next(getattr(m, name) for m, name in candidates if hasattr(m, name))
    positional = [
        p
        for p in inspect.signature(builder).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    request = builder(*("x" for _ in positional))
    return str(parse_qs(urlsplit(request.url).query)["api-version"][0])


def test_every_body_schema_is_read_from_the_spec_at_the_api_version_sent() -> None:
    from gui.sandbox.contract.operations import OPERATIONS

    stale = []
    for _, _, name in OPERATIONS:
        text = resources.files("gui.sandbox.contract").joinpath("schemas", f"{name}.json")
        source = json.loads(text.read_text("utf-8"))["x-source"]
        assert source["operationId"] == name
        assert source["path"].startswith("specification/"), source
        version = _api_version_sent(name)
        # A schema written from memory has no commit; one read from an older spec file has
        # another api-version's folder in its path.
        read = re.fullmatch(r"[0-9a-f]{40}", source["commit"]) is not None
        if not read or f"/{version}/" not in source["path"]:
            stale.append(f"{name}: {source['path']} @ {source['commit']} (the app sends {version})")
    assert not stale, f"schemas not read from the spec the app speaks: {stale}"

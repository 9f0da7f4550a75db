"""Malformed ARM request bodies get 400 (or 413) with ARM's error shape, never a 500.

Everything goes over real HTTP with ``http.client``, so the tests control the exact bytes: bodies
that are not JSON, not UTF-8, nested too deep, too large, or carry the wrong JSON type anywhere.
"""

from __future__ import annotations

import copy
import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from gui.sandbox import SandboxServer
from gui.sandbox.arm.body import MAX_BODY_BYTES, MAX_DEPTH
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import RG_VMS, VM_LINUX
from tests.sandbox.helpers import definition_body, empty_disk_body, image_body, managed

SUB = f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}"
RG = "rg-malformed"
COMPUTE = f"{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"
# The api-version the SDK sends for each kind of route (the sandbox refuses those Azure does not
# serve, see gui/sandbox/contract/api_versions.py).
_API_VERSIONS = (
    ("/providers/Microsoft.Compute/galleries", "2026-03-03"),
    ("/providers/Microsoft.Compute/disks", "2026-03-02"),
    ("/providers/Microsoft.Compute/snapshots", "2026-03-02"),
    ("/providers/Microsoft.Compute/", "2026-04-01"),
    ("/providers/Microsoft.ResourceGraph/", "2022-10-01"),
    ("/resourcegroups/", "2025-04-01"),
)


def _api(path: str) -> str:
    version = next(v for prefix, v in _API_VERSIONS if prefix.lower() in path.lower())
    return f"?api-version={version}"


def _request(
    server: SandboxServer,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(server.arm_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        sent = {"Authorization": "Bearer t", "Content-Type": "application/json"}
        sent.update(headers or {})
        conn.request(method, path, body=body, headers=sent)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _send(server: SandboxServer, method: str, path: str, body: bytes) -> tuple[int, Any]:
    status, _, raw = _request(server, method, path + _api(path), body)
    return status, json.loads(raw) if raw else None


def _assert_arm_error(status: int, doc: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, doc
    assert set(doc) == {"error"}
    assert doc["error"]["code"] == code
    assert isinstance(doc["error"]["message"], str) and doc["error"]["message"]


@pytest.fixture
def server(fresh_sandbox: SandboxServer) -> SandboxServer:
    fresh_sandbox.lro_seconds = 0.0
    fresh_sandbox.replication_seconds_per_region = 0.0
    status, doc = _send(
        fresh_sandbox,
        "PUT",
        f"{SUB}/resourcegroups/{RG}",
        json.dumps({"location": "westeurope"}).encode(),
    )
    assert status in (200, 201), doc
    return fresh_sandbox


GALLERY_PUT = f"{COMPUTE}/galleries/gal_malformed"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "Expecting property name"),
        (b'{"location": "westeurope",}', "Expecting property name"),
        (b'{"location": NaN}', "NaN"),
        (b'{"location": "we\xff\xfe"}', "not valid UTF-8"),
        (b"\xff\xfe{\x00}\x00", "not valid UTF-8"),
        (b"[]", "top level"),
        (b'"a string"', "top level"),
        (b"42", "top level"),
        (b"null", "top level"),
        (b"   ", "empty"),
        (b'{"location": ' + b"9" * 5000 + b"}", "digits"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_invalid_request_content(
    server: SandboxServer, body: bytes, reason: str
) -> None:
    status, doc = _send(server, "PUT", GALLERY_PUT, body)
    _assert_arm_error(status, doc, 400, "InvalidRequestContent")
    assert reason in doc["error"]["message"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 10_000, 100_000])
@pytest.mark.parametrize("bracket", ["[]", "{}"])
def test_deep_nesting_is_refused_at_arm_s_max_depth(
    server: SandboxServer, depth: int, bracket: str
) -> None:
    opening, closing = ('{"a":', "}") if bracket == "{}" else ("[", "]")
    nested = opening * depth + ("1" if bracket == "{}" else "") + closing * depth
    body = f'{{"location": "westeurope", "properties": {{"x": {nested}}}}}'.encode()
    status, doc = _send(server, "PUT", GALLERY_PUT, body)
    _assert_arm_error(status, doc, 400, "InvalidRequestContent")
    assert f"MaxDepth of {MAX_DEPTH}" in doc["error"]["message"]


def test_nesting_up_to_the_limit_is_accepted(server: SandboxServer) -> None:
    depth = MAX_DEPTH - 3  # root object, properties, x
    nested = "[" * depth + "]" * depth
    body = f'{{"location": "westeurope", "properties": {{"x": {nested}}}}}'.encode()
    status, doc = _send(server, "PUT", GALLERY_PUT, body)
    assert status == 201, doc


def test_an_oversized_body_is_413_request_content_too_large(server: SandboxServer) -> None:
    padding = "x" * (MAX_BODY_BYTES + 1)
    body = json.dumps({"location": "westeurope", "tags": {"pad": padding}}).encode()
    status, doc = _send(server, "PUT", GALLERY_PUT, body)
    _assert_arm_error(status, doc, 413, "RequestContentTooLarge")
    assert "4 MB" in doc["error"]["message"]


def test_an_oversized_chunked_body_is_413_too(server: SandboxServer) -> None:
    # No Content-Length: the limit must hold while the body streams in.
    chunk = b" " * 65536

    def chunks() -> Iterator[bytes]:
        yield b'{"location": "westeurope", "tags": {}'
        for _ in range(MAX_BODY_BYTES // len(chunk) + 2):
            yield chunk
        yield b"}"

    parts = urlsplit(server.arm_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        conn.request(
            "PUT",
            GALLERY_PUT + _api(GALLERY_PUT),
            body=chunks(),
            headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        status, doc = response.status, json.loads(response.read())
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server dropped the connection instead of answering 413")
    finally:
        conn.close()
    _assert_arm_error(status, doc, 413, "RequestContentTooLarge")


def test_a_body_just_under_the_limit_is_read(server: SandboxServer) -> None:
    body = json.dumps({"location": "westeurope", "tags": {"pad": ""}}).encode()
    padded = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"
    assert len(padded) == MAX_BODY_BYTES
    status, doc = _send(server, "PUT", GALLERY_PUT, padded)
    assert status == 201, doc


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"location": ["westeurope"]}, "location"),
        ({"location": "westeurope", "properties": []}, "properties"),
        ({"location": "westeurope", "properties": "text"}, "properties"),
        ({"location": "westeurope", "tags": ["a"]}, "tags"),
        ({"location": "westeurope", "tags": {"a": 1}}, "tags.a"),
        ({"location": "westeurope", "properties": {"description": {"a": 1}}}, "description"),
    ],
)
def test_wrong_json_types_name_the_path(
    server: SandboxServer, body: dict[str, Any], path: str
) -> None:
    status, doc = _send(server, "PUT", GALLERY_PUT, json.dumps(body).encode())
    _assert_arm_error(status, doc, 400, "InvalidRequestContent")
    assert (
        f"'{path}'" in doc["error"]["message"] or f"'properties.{path}'" in doc["error"]["message"]
    )


def test_a_string_or_a_huge_number_where_an_int_is_expected(server: SandboxServer) -> None:
    disk = f"{COMPUTE}/disks/typed"
    base: dict[str, Any] = {
        "location": "westeurope",
        "properties": {"creationData": {"createOption": "Upload", "uploadSizeBytes": 0}},
    }
    for value, target in (("21037568", "System.Int64"), (2**64, "System.Int64"), (1.5, "Int64")):
        body = copy.deepcopy(base)
        body["properties"]["creationData"]["uploadSizeBytes"] = value
        status, doc = _send(server, "PUT", disk, json.dumps(body).encode())
        _assert_arm_error(status, doc, 400, "InvalidRequestContent")
        assert target in doc["error"]["message"]
        assert "properties.creationData.uploadSizeBytes" in doc["error"]["message"]
    # A whole number written as 21037568.0 is an integer to .NET's reader, and to the sandbox.
    body = copy.deepcopy(base)
    body["properties"]["creationData"]["uploadSizeBytes"] = 20 * 1024 * 1024 + 512.0
    status, doc = _send(server, "PUT", disk, json.dumps(body).encode())
    assert status == 202, doc
    assert doc["properties"]["creationData"]["uploadSizeBytes"] == 20 * 1024 * 1024 + 512


def test_a_grant_for_longer_than_int32_is_refused_not_crashed(server: SandboxServer) -> None:
    disk = f"{COMPUTE}/disks/granted"
    create = {
        "location": "westeurope",
        "properties": {
            "creationData": {"createOption": "Upload", "uploadSizeBytes": 20 * 1024 * 1024 + 512}
        },
    }
    assert _send(server, "PUT", disk, json.dumps(create).encode())[0] == 202
    grant = {"access": "Write", "durationInSeconds": 10**30}
    status, doc = _send(server, "POST", disk + "/beginGetAccess", json.dumps(grant).encode())
    _assert_arm_error(status, doc, 400, "InvalidRequestContent")
    assert "System.Int32" in doc["error"]["message"]


def test_null_properties_count_as_not_sent(server: SandboxServer) -> None:
    body = {"location": "westeurope", "properties": None, "tags": None}
    status, doc = _send(server, "PUT", GALLERY_PUT, json.dumps(body).encode())
    assert status == 201, doc
    assert doc["tags"] == {}


# ---- every value of every body the sandbox accepts, replaced by every wrong type -------------

# One of each JSON kind, plus the numbers and items that break naive handlers.
_WRONG_VALUES: tuple[Any, ...] = (None, [], {"x": [1]}, "text", -1, 2**70, 1.5, True, [None, 1])


def _paths(doc: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


def _replaced(doc: Any, path: tuple[str | int, ...], value: Any) -> Any:
    out = copy.deepcopy(doc)
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def _valid_requests(disk_id: str, image_id: str) -> list[tuple[str, str, Any]]:
    gallery = f"{COMPUTE}/galleries/gal_fuzz"
    vm = f"{SUB}/resourceGroups/{RG_VMS}/providers/Microsoft.Compute/virtualMachines/{VM_LINUX}"
    return [
        ("PUT", f"{SUB}/resourcegroups/rg-fuzz-{{n}}", {"location": "westeurope", "tags": {}}),
        (
            "PUT",
            f"{COMPUTE}/disks/fuzz-{{n}}",
            {
                "location": "westeurope",
                "sku": {"name": "Standard_LRS"},
                "tags": {"purpose": "fuzz"},
                "properties": {
                    "osType": "Linux",
                    "hyperVGeneration": "V2",
                    "securityProfile": {"securityType": "TrustedLaunch"},
                    "creationData": {
                        "createOption": "Upload",
                        "uploadSizeBytes": 20 * 1024 * 1024 + 512,
                    },
                },
            },
        ),
        (
            "POST",
            f"{COMPUTE}/disks/fuzz-grant/beginGetAccess",
            {"access": "Read", "durationInSeconds": 3600},
        ),
        (
            "PUT",
            f"{COMPUTE}/images/fuzz-{{n}}",
            {
                "location": "westeurope",
                "properties": {
                    "hyperVGeneration": "V2",
                    "storageProfile": {
                        "osDisk": {
                            "osType": "Linux",
                            "osState": "Generalized",
                            "managedDisk": {"id": disk_id},
                            "caching": "ReadWrite",
                            "storageAccountType": "Standard_LRS",
                            "diskSizeGB": 4,
                        },
                        "dataDisks": [{"lun": 0, "managedDisk": {"id": disk_id}}],
                        "zoneResilient": False,
                    },
                },
            },
        ),
        (
            "PUT",
            f"{COMPUTE}/galleries/gal_fuzz_{{n}}",
            {"location": "westeurope", "properties": {"description": "d"}, "tags": {"a": "b"}},
        ),
        (
            "PUT",
            f"{gallery}/images/def-{{n}}",
            {
                "location": "westeurope",
                "properties": {
                    "osType": "Linux",
                    "osState": "Generalized",
                    "hyperVGeneration": "V2",
                    "architecture": "x64",
                    "identifier": {"publisher": "p", "offer": "o", "sku": "s{n}"},
                    "features": [{"name": "SecurityType", "value": "TrustedLaunchSupported"}],
                    "description": "fuzz",
                    "endOfLifeDate": "2030-01-01T00:00:00Z",
                    "recommended": {"vCPUs": {"min": 1, "max": 8}},
                    "purchasePlan": {"name": "n", "publisher": "p", "product": "x"},
                },
            },
        ),
        (
            "PUT",
            f"{gallery}/images/def-base/versions/1.0.{{n}}",
            {
                "location": "westeurope",
                "properties": {
                    "publishingProfile": {
                        "targetRegions": [
                            {
                                "name": "westeurope",
                                "regionalReplicaCount": 1,
                                "storageAccountType": "Standard_LRS",
                            }
                        ],
                        "replicaCount": 1,
                        "excludeFromLatest": False,
                        "storageAccountType": "Standard_LRS",
                        "replicationMode": "Full",
                        "endOfLifeDate": "2030-01-01T00:00:00Z",
                    },
                    "storageProfile": {"source": {"id": image_id}},
                    "safetyProfile": {"allowDeletionOfReplicatedLocations": False},
                },
            },
        ),
        (
            "PUT",
            f"{gallery}/images/def-base/versions/2.0.{{n}}",
            {
                "location": "westeurope",
                "properties": {
                    "storageProfile": {
                        "osDiskImage": {"source": {"id": disk_id}, "hostCaching": "ReadOnly"},
                        "dataDiskImages": [{"lun": 0, "source": {"id": disk_id}}],
                    },
                },
            },
        ),
        (
            "PUT",
            f"{COMPUTE}/snapshots/snap-{{n}}",
            {
                "location": "westeurope",
                "sku": {"name": "Standard_LRS"},
                "properties": {
                    "creationData": {"createOption": "Copy", "sourceResourceId": disk_id}
                },
            },
        ),
        (
            "POST",
            f"{vm}/runCommand",
            {"commandId": "RunShellScript", "script": ["echo hello"], "parameters": []},
        ),
        (
            "POST",
            "/providers/Microsoft.ResourceGraph/resources",
            {
                "query": "resources | limit 3",
                "subscriptions": [PRODUCTION_SUBSCRIPTION_ID],
                "options": {"$top": 2, "$skip": 0, "resultFormat": "objectArray"},
            },
        ),
    ]


def _fill(value: Any, n: int) -> Any:
    if isinstance(value, str):
        return value.replace("{n}", str(n))
    if isinstance(value, dict):
        return {k: _fill(v, n) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, n) for v in value]
    return value


def _setup_sources(server: SandboxServer) -> tuple[str, str]:
    disk_id = f"{COMPUTE}/disks/fuzz-source"
    empty = empty_disk_body(4)
    assert _send(server, "PUT", disk_id, json.dumps(empty).encode())[0] == 202
    assert _send(server, "PUT", f"{COMPUTE}/disks/fuzz-grant", json.dumps(empty).encode())[0] == 202
    image_id = f"{COMPUTE}/images/fuzz-source"
    image = image_body(managed(disk_id))
    assert _send(server, "PUT", image_id, json.dumps(image).encode())[0] == 201
    gallery = f"{COMPUTE}/galleries/gal_fuzz"
    assert _send(server, "PUT", gallery, b'{"location": "westeurope"}')[0] == 201
    definition = definition_body(("p", "o", "base"))
    status, doc = _send(
        server, "PUT", f"{gallery}/images/def-base", json.dumps(definition).encode()
    )
    assert status == 201, doc
    return disk_id, image_id


def test_no_wrong_type_anywhere_in_any_body_makes_a_500(server: SandboxServer) -> None:
    disk_id, image_id = _setup_sources(server)
    n = 0
    failures: list[str] = []
    for method, template, body in _valid_requests(disk_id, image_id):
        n += 1
        status, doc = _send(server, method, _fill(template, n), json.dumps(_fill(body, n)).encode())
        assert 200 <= status < 300, (template, doc)  # the unmodified body is accepted
        for path in list(_paths(body)):
            for wrong in _WRONG_VALUES:
                n += 1
                mutated = _fill(_replaced(body, path, wrong), n)
                status, doc = _send(
                    server, method, _fill(template, n), json.dumps(mutated).encode()
                )
                if status >= 500 or (status >= 400 and set(doc or {}) != {"error"}):
                    failures.append(f"{method} {template} {path}={wrong!r}: {status} {doc}")
    assert not failures, "\n".join(failures[:20])

"""Storage accounts over ARM: list, keys, containers; a SAS signed with a listed key works on the
blob endpoint the account names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.core.rest import HttpRequest
from azure.storage.blob import ContainerClient, ContainerSasPermissions, generate_container_sas

from gui.azure.account.loopback import sandbox_compute_client
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed import world as seeded

pytestmark = pytest.mark.asyncio
API = {"api-version": "2023-05-01"}
ACCOUNT_PATH = (
    f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{seeded.RG_IMAGES}"
    f"/providers/Microsoft.Storage/storageAccounts/{seeded.STORAGE_ACCOUNT_PROD}"
)


async def _call(sandbox: SandboxServer, method: str, path: str) -> tuple[int, Any]:
    async with sandbox_compute_client(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as client:
        response = await client.send_request(HttpRequest(method, path, params=API))
        return response.status_code, response.json()


async def test_accounts_keys_and_containers(fresh_sandbox: SandboxServer) -> None:
    status, doc = await _call(
        fresh_sandbox,
        "GET",
        f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/providers/Microsoft.Storage/storageAccounts",
    )
    assert status == 200
    (account,) = doc["value"]
    assert account["name"] == seeded.STORAGE_ACCOUNT_PROD
    endpoint = account["properties"]["primaryEndpoints"]["blob"]
    assert endpoint == f"{fresh_sandbox.blob_url}/{seeded.STORAGE_ACCOUNT_PROD}/"

    status, keys = await _call(fresh_sandbox, "POST", ACCOUNT_PATH + "/listKeys")
    assert status == 200
    assert [k["keyName"] for k in keys["keys"]] == ["key1", "key2"]

    status, _ = await _call(
        fresh_sandbox, "PUT", ACCOUNT_PATH + "/blobServices/default/containers/golden-vhds"
    )
    assert status == 201
    status, listed = await _call(
        fresh_sandbox, "GET", ACCOUNT_PATH + "/blobServices/default/containers"
    )
    assert {c["name"] for c in listed["value"]} == {"golden-vhds", "uploads", "vhds"}
    status, _ = await _call(
        fresh_sandbox, "PUT", ACCOUNT_PATH + "/blobServices/default/containers/Bad_Name"
    )
    assert status == 400

    # A SAS the SDK signs with the second key, on the endpoint the account names.
    sas = generate_container_sas(
        seeded.STORAGE_ACCOUNT_PROD,
        "golden-vhds",
        account_key=keys["keys"][1]["value"],
        permission=ContainerSasPermissions(read=True, write=True, create=True, list=True),
        expiry=datetime.now(UTC) + timedelta(minutes=5),
    )
    container = ContainerClient.from_container_url(f"{endpoint}golden-vhds?{sas}")
    container.get_blob_client("disk.vhd").create_page_blob(1024 * 1024 + 512)
    assert [b.name for b in container.list_blobs()] == ["disk.vhd"]


async def test_accounts_of_the_other_subscription_are_not_listed(sandbox: SandboxServer) -> None:
    status, _ = await _call(
        sandbox,
        "GET",
        f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{seeded.RG_IMAGES}"
        f"/providers/Microsoft.Storage/storageAccounts/{seeded.STORAGE_ACCOUNT_DEVTEST}",
    )
    assert status == 404

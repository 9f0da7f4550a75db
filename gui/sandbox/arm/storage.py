"""Microsoft.Storage, as far as a page-blob upload target needs it: list storage accounts, read
their keys, list and create blob containers. The accounts' blob endpoint is the sandbox's own
(``primaryEndpoints.blob`` = ``<blob_url>/<account>/``), so a SAS signed with a listed key works
there as it would against Azure Storage.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, resource_not_found
from gui.sandbox.seed.storage import STORAGE_ACCOUNT_HOMES
from gui.sandbox.seed.world import rg_id

Json = dict[str, Any]
router = Router()

ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts"
_ACCOUNTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts"
_ACCOUNT = _ACCOUNTS + "/{name}"
_CONTAINERS = _ACCOUNT + "/blobServices/default/containers"
_CONTAINER_NAME = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
_CREATED = "2024-06-03T09:41:27.5532951Z"


def _account_id(sub: str, rg: str, name: str) -> str:
    return f"{rg_id(sub, rg)}/providers/{ACCOUNT_TYPE}/{name}"


# The services whose endpoints an account lists, in the order of StorageAccountList.json.
_SERVICES = ("web", "dfs", "blob", "file", "queue", "table")


def primary_endpoints(ctx: Ctx, name: str) -> Json:
    """Every service endpoint Azure lists for a StorageV2 account. The sandbox serves the blob
    service only, at ``<blob_url>/<account>/``; the others name the same loopback server with the
    service in the account segment (``<account>-file`` ...), so a client reading them finds a URL
    of the right form (the app uses only the blob endpoint)."""
    return {
        service: f"{ctx.world.blob_url}/{name}/"
        if service == "blob"
        else f"{ctx.world.blob_url}/{name}-{service}/"
        for service in _SERVICES
    }


def account_json(ctx: Ctx, name: str) -> Json:
    sub, rg, location = STORAGE_ACCOUNT_HOMES[name]
    return {
        "id": _account_id(sub, rg, name),
        "name": name,
        "type": ACCOUNT_TYPE,
        "location": location,
        "tags": {},
        "kind": "StorageV2",
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "properties": {
            "provisioningState": "Succeeded",
            "creationTime": _CREATED,
            "primaryLocation": location,
            "statusOfPrimary": "available",
            "primaryEndpoints": primary_endpoints(ctx, name),
            "accessTier": "Hot",
            "allowBlobPublicAccess": False,
            "allowSharedKeyAccess": True,
            "minimumTlsVersion": "TLS1_2",
            # The sandbox speaks plain HTTP on loopback.
            "supportsHttpsTrafficOnly": False,
            "networkAcls": {
                "bypass": "AzureServices",
                "defaultAction": "Allow",
                "ipRules": [],
                "virtualNetworkRules": [],
            },
            "encryption": {
                "keySource": "Microsoft.Storage",
                "services": {"blob": {"enabled": True, "keyType": "Account"}},
            },
        },
    }


def _accounts_in(sub: str, rg: str | None) -> list[str]:
    return [
        name
        for name, (home_sub, home_rg, _) in STORAGE_ACCOUNT_HOMES.items()
        if home_sub.lower() == sub.lower() and (rg is None or home_rg.lower() == rg.lower())
    ]


def _require_account(ctx: Ctx, p: dict[str, str]) -> str:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    name = p["name"]
    if name not in _accounts_in(p["sub"], group["name"]):
        raise resource_not_found(ACCOUNT_TYPE, name, group["name"])
    return name


def _container_json(ctx: Ctx, sub: str, rg: str, account: str, container: str) -> Json:
    cont = ctx.world.blobs.container(account, container)
    return {
        "id": f"{_account_id(sub, rg, account)}/blobServices/default/containers/{container}",
        "name": container,
        "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
        "etag": cont.etag,
        "properties": {
            "publicAccess": "None",
            "leaseStatus": "Unlocked",
            "leaseState": "Available",
            "lastModifiedTime": cont.created.isoformat().replace("+00:00", "Z"),
            "hasImmutabilityPolicy": False,
            "hasLegalHold": False,
            "metadata": cont.metadata,
        },
    }


@router.get("/subscriptions/{sub}/providers/Microsoft.Storage/storageAccounts")
async def list_all(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    return ctx.page([account_json(ctx, name) for name in _accounts_in(sid, None)])


@router.get(_ACCOUNTS)
async def list_by_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    return ctx.page([account_json(ctx, name) for name in _accounts_in(p["sub"], group["name"])])


@router.get(_ACCOUNT)
async def get(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return reply(account_json(ctx, _require_account(ctx, p)))


@router.post(_ACCOUNT + "/listKeys")
async def list_keys(ctx: Ctx, p: dict[str, str]) -> web.Response:
    account = ctx.world.blobs.ensure_account(_require_account(ctx, p))
    # "FULL", as live Azure answers, not the spec's "Full" (StorageAccountListKeys.json): the Go
    # SDK, which keeps the wire value, shows "Permissions":"FULL" from live accounts
    # (turbot/steampipe-plugin-azure#730), as `az storage account keys list` output in public
    # write-ups does; the spec's casing dates from Azure/azure-rest-api-specs#742 (2016), which
    # renamed the enum READ/FULL to Read/Full. Clients compare it case-insensitively.
    return reply(
        {
            "keys": [
                {
                    "keyName": "key1",
                    "value": account.key,
                    "permissions": "FULL",
                    "creationTime": _CREATED,
                },
                {
                    "keyName": "key2",
                    "value": account.secondary_key,
                    "permissions": "FULL",
                    "creationTime": _CREATED,
                },
            ]
        }
    )


@router.get(_CONTAINERS)
async def list_containers(ctx: Ctx, p: dict[str, str]) -> web.Response:
    name = _require_account(ctx, p)
    account = ctx.world.blobs.ensure_account(name)
    sub, rg, _ = STORAGE_ACCOUNT_HOMES[name]
    return ctx.page([_container_json(ctx, sub, rg, name, c) for c in sorted(account.containers)])


@router.get(_CONTAINERS + "/{container}")
async def get_container(ctx: Ctx, p: dict[str, str]) -> web.Response:
    name = _require_account(ctx, p)
    sub, rg, _ = STORAGE_ACCOUNT_HOMES[name]
    if p["container"] not in ctx.world.blobs.ensure_account(name).containers:
        raise ArmError(404, "ContainerNotFound", "The specified container does not exist.")
    return reply(_container_json(ctx, sub, rg, name, p["container"]))


@router.put(_CONTAINERS + "/{container}")
async def put_container(ctx: Ctx, p: dict[str, str]) -> web.Response:
    name = _require_account(ctx, p)
    container = p["container"]
    if not _CONTAINER_NAME.match(container):
        raise ArmError(
            400,
            "ContainerOperationFailure",
            f"The specified container name '{container}' is invalid. Container names are 3-63 "
            "lower-case letters, digits and single hyphens, starting and ending with a letter or "
            "digit.",
        )
    _, created = ctx.world.blobs.create_container(name, container)
    sub, rg, _ = STORAGE_ACCOUNT_HOMES[name]
    return reply(_container_json(ctx, sub, rg, name, container), 201 if created else 200)

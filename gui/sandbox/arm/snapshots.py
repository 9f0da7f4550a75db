"""Snapshots of managed disks: Microsoft.Compute/snapshots (createOption Copy)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import check_compute_name, now_iso, parse_resource_id, require_location
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, resource_not_found
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import public

Json = dict[str, Any]
router = Router()

SNAPSHOT_TYPE = "Microsoft.Compute/snapshots"
_SNAPSHOTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots"
_SNAPSHOT = _SNAPSHOTS + "/{name}"
_SKUS = ("Standard_LRS", "Premium_LRS", "Standard_ZRS")


@router.get("/subscriptions/{sub}/providers/Microsoft.Compute/snapshots")
async def list_all(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    items = ctx.world.store.under(f"/subscriptions/{sid}", SNAPSHOT_TYPE)
    return ctx.page([public(s) for s in items])


@router.get(_SNAPSHOTS)
async def list_by_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    return ctx.page([public(s) for s in ctx.world.store.children(group["id"], SNAPSHOT_TYPE)])


@router.get(_SNAPSHOT)
async def get(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    snapshot = ctx.world.store.get(compute_id(p["sub"], group["name"], "snapshots", p["name"]))
    if snapshot is None:
        raise resource_not_found(SNAPSHOT_TYPE, p["name"], group["name"])
    return reply(public(snapshot))


@router.put(_SNAPSHOT)
async def create(ctx: Ctx, p: dict[str, str]) -> web.Response:
    world = ctx.world
    group = world.require_resource_group(p["sub"], p["rg"])
    sid = world.require_subscription(p["sub"])
    name = p["name"]
    check_compute_name(name)
    body = ctx.json()
    location = require_location(body)
    creation = (body.get("properties") or {}).get("creationData") or {}
    option = str(creation.get("createOption") or "")
    if option != "Copy":
        raise ArmError(
            400,
            "InvalidParameter",
            f"The value '{option}' of parameter 'creationData.createOption' is not supported by "
            "the sandbox for snapshots. Use 'Copy' with a source disk.",
            target="snapshot.properties.creationData.createOption",
        )
    source_id = str(creation.get("sourceResourceId") or "")
    source = world.store.get(source_id) if source_id else None
    if source is None or source["type"].lower() != "microsoft.compute/disks":
        parts = parse_resource_id(source_id)
        raise ArmError(
            404,
            "NotFound",
            f"Resource '{source_id}' was not found. Check that the disk "
            f"'{parts.get('disks', source_id)}' exists in resource group "
            f"'{parts.get('resourcegroups', '')}'.",
        )
    if source.get("location") != location:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The snapshot must be in the region of its source disk ('{source.get('location')}'),"
            f" not '{location}'.",
            target="location",
        )
    src = source["properties"]
    if src.get("diskState") in ("ReadyToUpload", "ActiveUpload"):
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Disk '{source['name']}' cannot be snapshotted in the '{src['diskState']}' state.",
        )
    snapshot_id = compute_id(sid, group["name"], "snapshots", name)
    if world.store.get(snapshot_id) is not None:
        raise ArmError(
            409,
            "OperationNotAllowed",
            f"Snapshot '{name}' already exists. Delete it first or choose another name.",
        )
    sku = str((body.get("sku") or {}).get("name") or "Standard_LRS")
    if sku not in _SKUS:
        raise ArmError(
            400,
            "InvalidParameter",
            f"The value '{sku}' of parameter 'sku.name' is invalid. Allowed values are "
            f"{', '.join(_SKUS)}.",
            target="sku.name",
        )
    properties: Json = {
        "creationData": {
            "createOption": "Copy",
            "sourceResourceId": source["id"],
            "sourceUniqueId": src.get("uniqueId"),
        },
        "diskSizeGB": src.get("diskSizeGB"),
        "diskSizeBytes": src.get("diskSizeBytes"),
        "incremental": bool((body.get("properties") or {}).get("incremental", False)),
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "timeCreated": now_iso(),
        "provisioningState": "Creating",
        "uniqueId": str(uuid.uuid4()),
    }
    for key in ("osType", "hyperVGeneration", "supportedCapabilities", "securityProfile"):
        if src.get(key):
            properties[key] = src[key]
    snapshot: Json = {
        "id": snapshot_id,
        "name": name,
        "type": SNAPSHOT_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "sku": {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"},
        "properties": properties,
    }
    world.store.put(snapshot)

    def finish() -> Json:
        stored = world.store.get(snapshot_id)
        if stored is None:
            return public(snapshot)
        stored["properties"]["provisioningState"] = "Succeeded"
        world.store.put(stored)
        return public(stored)

    _, headers = start_operation(
        ctx, sid, location, duration=world.lro_seconds, on_done=finish, has_result=True
    )
    return reply(public(snapshot), 202, headers)


@router.delete(_SNAPSHOT)
async def delete(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    snapshot = ctx.world.store.get(compute_id(p["sub"], group["name"], "snapshots", p["name"]))
    if snapshot is None:
        return web.Response(status=204)
    ctx.world.store.delete(snapshot["id"])
    _, headers = start_operation(
        ctx, p["sub"], snapshot["location"], duration=ctx.world.lro_seconds
    )
    return web.Response(status=202, headers=headers)

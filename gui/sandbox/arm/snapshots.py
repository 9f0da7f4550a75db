"""Snapshots of managed disks: Microsoft.Compute/snapshots (createOption Copy)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import (
    add_read_routes,
    check_compute_name,
    find_compute,
    new_compute_resource,
    now_iso,
    parse_resource_id,
    put_in_group,
    require_sku,
)
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import delete_accepted, mark_provisioned, start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, invalid_parameter, operation_not_allowed
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import public

Json = dict[str, Any]
router = Router()

SNAPSHOT_TYPE = "Microsoft.Compute/snapshots"
_SNAPSHOTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots"
_SNAPSHOT = _SNAPSHOTS + "/{name}"
_SKUS = ("Standard_LRS", "Premium_LRS", "Standard_ZRS")


add_read_routes(router, SNAPSHOT_TYPE)


@router.put(_SNAPSHOT)
async def create(ctx: Ctx, p: dict[str, str]) -> web.Response:
    world = ctx.world
    name = p["name"]
    group, sid, body, location, props, existing = put_in_group(
        ctx, p, SNAPSHOT_TYPE, name, check_compute_name
    )
    creation = props.get("creationData") or {}
    option = str(creation.get("createOption") or "")
    if option != "Copy":
        raise invalid_parameter(
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
        raise invalid_parameter(
            f"The snapshot must be in the region of its source disk ('{source.get('location')}'),"
            f" not '{location}'.",
            target="location",
        )
    src = source["properties"]
    if src.get("diskState") in ("ReadyToUpload", "ActiveUpload"):
        raise operation_not_allowed(
            f"Disk '{source['name']}' cannot be snapshotted in the '{src['diskState']}' state.",
        )
    snapshot_id = compute_id(sid, group["name"], "snapshots", name)
    if existing is not None:
        raise operation_not_allowed(
            f"Snapshot '{name}' already exists. Delete it first or choose another name.",
        )
    sku = require_sku(body, _SKUS)
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
        **new_compute_resource(sid, group["name"], SNAPSHOT_TYPE, name, location, body),
        "sku": {"name": sku, "tier": "Premium" if sku.startswith("Premium") else "Standard"},
        "properties": properties,
    }
    world.store.put(snapshot)

    def finish() -> Json:
        return mark_provisioned(world, snapshot_id) or public(snapshot)

    _, headers = start_operation(
        ctx, sid, location, duration=world.lro_seconds, on_done=finish, has_result=True
    )
    return reply(public(snapshot), 202, headers)


@router.delete(_SNAPSHOT)
async def delete(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _, snapshot = find_compute(ctx, p["sub"], p["rg"], SNAPSHOT_TYPE, p["name"])
    return delete_accepted(ctx, p["sub"], snapshot)

"""Snapshots of managed disks: Microsoft.Compute/snapshots (createOption Copy, and CopyStart
to copy an incremental snapshot to another region), and read access to them (beginGetAccess /
endGetAccess: a read SAS to the snapshot's page blob on the blob endpoint, as for disks).

A CopyStart snapshot is created at once, but its data arrives later, as in Azure: its
``completionPercent`` grows over the copy (the world's ``replication_seconds_per_region``, one
region's worth), and it cannot be read or copied again before it reaches 100.

Every snapshot has its own backing page blob, copied from its source's inside the blob store when
it is made (the bytes never reach a client), so a read grant serves the data the disk held.
Snapshot states follow Azure: Unattached -> ActiveSAS (beginGetAccess Read) -> Unattached.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import (
    check_compute_name,
    find_compute,
    new_compute_resource,
    now_iso,
    parse_resource_id,
    put_in_group,
    require_compute,
    require_sku,
)
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import accepted, mark_provisioned, start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.blob.errors import BlobError
from gui.sandbox.blob.sas import StoredPolicy, make_sas
from gui.sandbox.blob.store import BlobMeta
from gui.sandbox.errors import ArmError, invalid_parameter, operation_not_allowed
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import World, public

Json = dict[str, Any]
router = Router()

SNAPSHOT_TYPE = "Microsoft.Compute/snapshots"
_SNAPSHOTS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots"
_SNAPSHOT = _SNAPSHOTS + "/{name}"
_SKUS = ("Standard_LRS", "Premium_LRS", "Standard_ZRS")
_GIB = 1024**3
_SOURCE_TYPES = ("microsoft.compute/disks", SNAPSHOT_TYPE.lower())
_ACTIVE = ("ActiveSAS", "ActiveSASFrozen")
_MAX_ACCESS_SECONDS = 5 * 24 * 3600  # Azure's longest grant


def _blob_ref(unique_id: str) -> Json:
    """Where a snapshot's page blob lives: an account and container of its own, named from its
    unique id (as a disk's; Azure's md-impexp accounts are per resource too)."""
    digest = hashlib.sha256(("snapshot:" + unique_id).encode()).hexdigest()
    return {"account": f"md-impexp-{digest[:12]}", "container": digest[12:24], "blob": "abcd"}


def _make_backing_blob(world: World, snapshot: Json, source: Json | None) -> None:
    """Give ``snapshot`` its page blob: a copy of the source's (a disk's or a snapshot's) when it
    has one, else an empty blob of the disk's size (the seed's VM disks hold no data)."""
    ref = _blob_ref(str(snapshot["properties"]["uniqueId"]))
    world.blobs.ensure_account(ref["account"])
    world.blobs.create_container(ref["account"], ref["container"])
    target = (ref["account"], ref["container"], ref["blob"])
    source_ref = (source or {}).get("_blob")
    if source_ref is not None:
        try:
            world.blobs.copy_blob(
                (source_ref["account"], source_ref["container"], source_ref["blob"]), target
            )
        except BlobError:
            source_ref = None  # the source's blob is gone: an empty snapshot, as below
    if source_ref is None:
        size_gb = int(snapshot["properties"].get("diskSizeGB") or 1)
        meta = BlobMeta(name=ref["blob"], blob_type="PageBlob", size=size_gb * _GIB + 512)
        world.blobs.put_blob(ref["account"], ref["container"], meta)
    snapshot["_blob"] = ref


def backing_blob(world: World, snapshot: Json) -> tuple[str, str, str]:
    """(account, container, blob) of the snapshot's page blob; a snapshot stored before
    snapshots had one gets an empty one now."""
    if "_blob" not in snapshot:
        _make_backing_blob(world, snapshot, None)
        world.store.put(snapshot)
    ref = snapshot["_blob"]
    return ref["account"], ref["container"], ref["blob"]


def copy_progress(world: World, snapshot: Json) -> Json:
    """The snapshot with its CopyStart progress brought up to now (saved when it moved)."""
    copy = snapshot.get("_copy")
    if copy is None:
        return snapshot
    seconds = float(copy["seconds"])
    elapsed = time.time() - float(copy["started"])
    percent = 100.0 if seconds <= 0 else min(100.0, round(elapsed / seconds * 100, 1))
    snapshot["properties"]["completionPercent"] = percent
    if percent >= 100:
        snapshot.pop("_copy")
    world.store.put(snapshot)
    return snapshot


def _copying(snapshot: Json) -> bool:
    return "_copy" in snapshot


@router.get("/subscriptions/{sub}/providers/Microsoft.Compute/snapshots")
async def list_all(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    found = ctx.world.store.under(f"/subscriptions/{sid}", SNAPSHOT_TYPE)
    return ctx.page([public(copy_progress(ctx.world, s)) for s in found])


@router.get(_SNAPSHOTS)
async def list_by_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    found = ctx.world.store.children(group["id"], SNAPSHOT_TYPE)
    return ctx.page([public(copy_progress(ctx.world, s)) for s in found])


@router.get(_SNAPSHOT)
async def get(ctx: Ctx, p: dict[str, str]) -> web.Response:
    snapshot = require_compute(ctx, p["sub"], p["rg"], SNAPSHOT_TYPE, p["name"])
    return reply(public(copy_progress(ctx.world, snapshot)))


@router.put(_SNAPSHOT)
async def create(ctx: Ctx, p: dict[str, str]) -> web.Response:
    world = ctx.world
    name = p["name"]
    group, sid, body, location, props, existing = put_in_group(
        ctx, p, SNAPSHOT_TYPE, name, check_compute_name
    )
    creation = props.get("creationData") or {}
    option = str(creation.get("createOption") or "")
    if option not in ("Copy", "CopyStart"):
        raise invalid_parameter(
            f"The value '{option}' of parameter 'creationData.createOption' is not supported by "
            "the sandbox for snapshots. Use 'Copy' with a source disk or snapshot, or "
            "'CopyStart' with an incremental snapshot in another region.",
            target="snapshot.properties.creationData.createOption",
        )
    source_id = str(creation.get("sourceResourceId") or "")
    source = world.store.get(source_id) if source_id else None
    if source is None or source["type"].lower() not in _SOURCE_TYPES:
        parts = parse_resource_id(source_id)
        raise ArmError(
            404,
            "NotFound",
            f"Resource '{source_id}' was not found. Check that the disk or snapshot "
            f"'{parts.get('disks') or parts.get('snapshots') or source_id}' exists in resource "
            f"group '{parts.get('resourcegroups', '')}'.",
        )
    # A CopyStart copy is incremental (Azure's own example of it leaves the flag out).
    incremental = bool(props.get("incremental", option == "CopyStart"))
    if option == "CopyStart":
        _check_copy_start(source, incremental)
    elif source.get("location") != location:
        raise invalid_parameter(
            f"The snapshot must be in the region of its source disk ('{source.get('location')}'),"
            f" not '{location}'. To copy a snapshot to another region, create an incremental "
            "snapshot with createOption 'CopyStart'.",
            target="location",
        )
    if _copying(copy_progress(world, source)):
        raise operation_not_allowed(
            f"Snapshot '{source['name']}' is still being copied "
            f"({source['properties'].get('completionPercent', 0)}% done). Wait until its "
            "completionPercent is 100.",
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
            "createOption": option,
            "sourceResourceId": source["id"],
            "sourceUniqueId": src.get("uniqueId"),
        },
        "diskSizeGB": src.get("diskSizeGB"),
        "diskSizeBytes": src.get("diskSizeBytes"),
        "incremental": incremental,
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "timeCreated": now_iso(),
        "provisioningState": "Creating",
        "diskState": "Unattached",
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
    if option == "CopyStart":
        properties["completionPercent"] = 0.0
        snapshot["_copy"] = {
            "started": time.time(),
            "seconds": world.replication_seconds_per_region,
        }
    # The data is copied inside the blob store now; a CopyStart snapshot only shows it once its
    # completionPercent reaches 100 (reads are refused until then).
    _make_backing_blob(world, snapshot, source)
    world.store.put(snapshot)

    def finish() -> Json:
        return mark_provisioned(world, snapshot_id) or public(snapshot)

    _, headers = start_operation(
        ctx, sid, location, duration=world.lro_seconds, on_done=finish, has_result=True
    )
    return reply(public(snapshot), 202, headers)


def _check_copy_start(source: Json, incremental: bool) -> None:
    """CopyStart copies an incremental snapshot, into an incremental snapshot (Azure's rule for
    copying snapshots across regions)."""
    if source["type"].lower() != SNAPSHOT_TYPE.lower() or not source["properties"].get(
        "incremental"
    ):
        raise invalid_parameter(
            f"The source '{source['id']}' of a CopyStart snapshot must be an incremental "
            "snapshot. Create an incremental snapshot of the disk first (createOption 'Copy', "
            "incremental true), then copy that one.",
            target="snapshot.properties.creationData.sourceResourceId",
        )
    if not incremental:
        raise invalid_parameter(
            "A snapshot created with createOption 'CopyStart' must be incremental. Set "
            "properties.incremental to true.",
            target="snapshot.properties.incremental",
        )


@router.delete(_SNAPSHOT)
async def delete(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _, snapshot = find_compute(ctx, p["sub"], p["rg"], SNAPSHOT_TYPE, p["name"])
    if snapshot is None:
        return web.Response(status=204)
    state = snapshot["properties"].get("diskState")
    if state in _ACTIVE:
        raise operation_not_allowed(
            f"Snapshot {snapshot['name']} cannot be deleted while it is in the '{state}' state. "
            "Revoke access to the snapshot (endGetAccess) first.",
        )
    world = ctx.world
    world.store.delete(snapshot["id"])

    def finish() -> None:
        ref = snapshot.get("_blob")
        if ref is not None:
            # The backing blob may already be gone; the snapshot is what matters.
            with contextlib.suppress(BlobError):
                world.blobs.delete_container(ref["account"], ref["container"])

    return accepted(ctx, p["sub"], snapshot["location"], on_done=finish)


@router.post(_SNAPSHOT + "/beginGetAccess")
async def begin_get_access(ctx: Ctx, p: dict[str, str]) -> web.Response:
    snapshot = require_compute(ctx, p["sub"], p["rg"], SNAPSHOT_TYPE, p["name"])
    body = ctx.json()
    access = str(body.get("access") or "")
    duration = body.get("durationInSeconds")
    if access != "Read":
        raise invalid_parameter(
            f"The value '{access}' of parameter 'access' is invalid for a snapshot. A snapshot "
            "can only be read: use 'Read'.",
            target="grantAccessData.access",
        )
    if not isinstance(duration, int) or not 0 < duration <= _MAX_ACCESS_SECONDS:
        raise invalid_parameter(
            "The value of parameter 'durationInSeconds' must be a positive integer of at most "
            f"{_MAX_ACCESS_SECONDS} seconds (5 days).",
            target="grantAccessData.durationInSeconds",
        )
    if _copying(copy_progress(ctx.world, snapshot)):
        raise operation_not_allowed(
            f"Read access cannot be granted to snapshot '{snapshot['name']}' while it is being "
            f"copied ({snapshot['properties'].get('completionPercent', 0)}% done). Wait until "
            "its completionPercent is 100.",
        )
    state = snapshot["properties"].get("provisioningState")
    if state != "Succeeded":
        raise operation_not_allowed(
            f"Read access cannot be granted to snapshot '{snapshot['name']}' while its "
            f"provisioning state is '{state}'. Wait until it has succeeded.",
        )
    world = ctx.world

    def finish() -> Json:
        account, container, blob = backing_blob(world, snapshot)
        identifier = str(uuid.uuid4())
        expiry = datetime.now(UTC) + timedelta(seconds=int(duration))
        world.blobs.set_policy(
            account, container, identifier, StoredPolicy(permissions="r", expiry=expiry)
        )
        query = make_sas(
            account=account,
            key=world.blobs.ensure_account(account).key,
            container=container,
            blob=blob,
            permissions=None,
            expiry=None,
            identifier=identifier,
        )
        # Several grants may be live at once (Azure hands out a new SAS each time); revoking
        # ends all of them.
        snapshot.setdefault("_access", {"identifiers": []})["identifiers"].append(identifier)
        snapshot["properties"]["diskState"] = "ActiveSAS"
        world.store.put(snapshot)
        return {"accessSAS": f"{world.blob_url}/{account}/{container}/{blob}?{query}"}

    return accepted(ctx, p["sub"], snapshot["location"], on_done=finish, has_result=True)


@router.post(_SNAPSHOT + "/endGetAccess")
async def end_get_access(ctx: Ctx, p: dict[str, str]) -> web.Response:
    snapshot = require_compute(ctx, p["sub"], p["rg"], SNAPSHOT_TYPE, p["name"])
    world = ctx.world

    def finish() -> None:
        access = snapshot.pop("_access", None)
        if access is not None:
            account, container, _ = backing_blob(world, snapshot)
            for identifier in access["identifiers"]:
                world.blobs.remove_policy(account, container, identifier)
        if snapshot["properties"].get("diskState") in _ACTIVE:
            snapshot["properties"]["diskState"] = "Unattached"
        world.store.put(snapshot)

    return accepted(ctx, p["sub"], snapshot["location"], on_done=finish)

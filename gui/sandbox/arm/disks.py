"""Managed disks, including direct upload: create with createOption Upload, grant write access
(a SAS to the disk's page blob on the blob endpoint), upload, revoke; and disks made from a
gallery image version (createOption FromImage with creationData.galleryImageReference: its OS
disk, or a data disk by ``lun``), holding the version's data.

Disk states follow Azure: ReadyToUpload -> ActiveUpload (beginGetAccess Write) -> Unattached
(endGetAccess); Unattached -> ActiveSAS (beginGetAccess Read) -> Unattached. A read grant's SAS
serves ranged GETs and Get Page Ranges on the blob endpoint, as Azure's does.

The sandbox keeps no copy of a version's data: a disk made from a version copies (inside the blob
store, holes kept) the page blob of the disk, snapshot or VHD the version was made from (through
a managed image or a VM to their disks), or is empty of the version's size when that source has
no blob (the seed's VMs) or is gone.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import (
    add_read_routes,
    check_compute_name,
    find_compute,
    new_compute_resource,
    now_iso,
    put_in_group,
    require_compute,
    require_sku,
)
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import accepted, start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.blob.errors import BlobError
from gui.sandbox.blob.sas import StoredPolicy, make_sas
from gui.sandbox.errors import ArmError, invalid_parameter, operation_not_allowed
from gui.sandbox.world import World, public

Json = dict[str, Any]
router = Router()

DISK_TYPE = "Microsoft.Compute/disks"
GIB = 1024**3
MIB = 1024**2
MIN_UPLOAD = 20 * MIB + 512
MAX_UPLOAD = 32 * 1024 * GIB + 512
_SKUS = {
    "Standard_LRS": "Standard",
    "StandardSSD_LRS": "Standard",
    "Premium_LRS": "Premium",
    "StandardSSD_ZRS": "Standard",
    "Premium_ZRS": "Premium",
    "UltraSSD_LRS": "Ultra",
    "PremiumV2_LRS": "Premium",
}
_DISKS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/disks"
_DISK = _DISKS + "/{name}"


def _premium_tier(size_gb: int) -> str:
    for tier, limit in (
        ("P1", 4),
        ("P2", 8),
        ("P3", 16),
        ("P4", 32),
        ("P6", 64),
        ("P10", 128),
        ("P15", 256),
        ("P20", 512),
        ("P30", 1024),
        ("P40", 2048),
        ("P50", 4096),
        ("P60", 8192),
        ("P70", 16384),
    ):
        if size_gb <= limit:
            return tier
    return "P80"


def invalid_upload_size(size: object) -> ArmError:
    return invalid_parameter(
        f"The specified upload size '{size}' bytes is invalid. The upload size must be at least "
        f"{MIN_UPLOAD} bytes (20 MiB + 512), at most {MAX_UPLOAD} bytes (32 TiB + 512), and "
        "a whole number of MiB plus 512 bytes for the VHD footer.",
        target="disk.properties.creationData.uploadSizeBytes",
    )


def require_disk(ctx: Ctx, sub: str, rg: str, name: str) -> Json:
    return require_compute(ctx, sub, rg, DISK_TYPE, name)


def disk_by_id(world: World, disk_id: str) -> Json | None:
    return world.store.get(disk_id)


def backing_blob(disk: Json) -> tuple[str, str, str]:
    ref = disk["_blob"]
    return ref["account"], ref["container"], ref["blob"]


def _new_backing_blob(
    world: World, disk_unique_id: str, size: int, copy_from: tuple[str, str, str] | None = None
) -> Json:
    """The disk's page blob: empty of ``size`` bytes, or a copy of the blob ``copy_from``."""
    from gui.sandbox.blob.store import BlobMeta

    digest = hashlib.sha256(disk_unique_id.encode()).hexdigest()
    account = f"md-impexp-{digest[:12]}"
    container = digest[12:24]
    world.blobs.ensure_account(account)
    world.blobs.create_container(account, container)
    if copy_from is not None:
        # A disk's blob carries no Content-MD5 of its source (Azure sets none on disks).
        world.blobs.copy_blob(copy_from, (account, container, "abcd"), content_md5=False)
    else:
        meta = BlobMeta(name="abcd", blob_type="PageBlob", size=size)
        world.blobs.put_blob(account, container, meta)
    return {"account": account, "container": container, "blob": "abcd"}


def _from_gallery_version(
    ctx: Ctx, creation: Json, properties: Json, location: str, props: Json
) -> int:
    """Fill ``properties`` for a disk made from a gallery image version's OS disk or data disk
    (``galleryImageReference.lun``); returns the blob size, and leaves the blob to copy (if the
    version's source still has one) in ``properties["_copy_from"]``."""
    reference = creation.get("galleryImageReference") or creation.get("imageReference") or {}
    version_id = str(reference.get("id") or "")
    target = "disk.properties.creationData.galleryImageReference"
    if not version_id:
        raise invalid_parameter(
            "A disk created with createOption 'FromImage' needs creationData."
            "galleryImageReference.id: the resource ID of a gallery image version.",
            target=f"{target}.id",
        )
    world = ctx.world
    version = world.store.get(version_id)
    if version is None or version["type"].lower() != "microsoft.compute/galleries/images/versions":
        raise ArmError(
            404,
            "NotFound",
            f"The gallery image version '{version_id}' was not found. Check the gallery, the image "
            "definition and the version.",
            target=f"{target}.id",
        )
    regions = {
        _region_key(r.get("name"))
        for r in version["properties"].get("publishingProfile", {}).get("targetRegions", [])
    }
    if _region_key(location) not in regions:
        raise invalid_parameter(
            f"The gallery image version '{version['name']}' is not replicated to region "
            f"'{location}'. Create the disk in one of its target regions or replicate it there "
            "first.",
            target=f"{target}.id",
        )
    storage = version["properties"].get("storageProfile") or {}
    lun = reference.get("lun")
    if lun is None:
        entry: Json = storage.get("osDiskImage") or {}
        definition = world.store.get(version_id.rsplit("/versions/", 1)[0]) or {}
        d_props = definition.get("properties") or {}
        if d_props.get("osType"):
            properties["osType"] = d_props["osType"]
        properties["hyperVGeneration"] = d_props.get("hyperVGeneration", "V1")
    else:
        found = [d for d in storage.get("dataDiskImages") or [] if d.get("lun") == lun]
        if not found:
            raise invalid_parameter(
                f"The gallery image version '{version['name']}' has no data disk at LUN {lun}.",
                target=f"{target}.lun",
            )
        entry = found[0]
    properties["creationData"]["galleryImageReference"] = (
        {"id": version["id"]} if lun is None else {"id": version["id"], "lun": lun}
    )
    source = _version_disk_blob(world, storage, entry, lun)
    if source is not None:
        size = world.blobs.blob(*source).size
        properties["_copy_from"] = source
    else:
        size = int(entry.get("sizeInGB") or 1) * GIB + 512
    disk_size = size - 512 if size % MIB == 512 else size
    asked = props.get("diskSizeGB")
    if isinstance(asked, int) and asked * GIB < disk_size:
        raise invalid_parameter(
            f"The disk size {asked} GB is smaller than the gallery image version's disk "
            f"({math.ceil(disk_size / GIB)} GB).",
            target="disk.properties.diskSizeGB",
        )
    properties["diskSizeGB"] = math.ceil(disk_size / GIB)
    properties["diskSizeBytes"] = disk_size
    properties["diskState"] = "Unattached"
    return size


def _region_key(name: object) -> str:
    return str(name or "").replace(" ", "").lower()


def _version_disk_blob(
    world: World, storage: Json, entry: Json, lun: int | None
) -> tuple[str, str, str] | None:
    """The page blob holding a version's disk: from its own source (disk, snapshot, VHD), or
    through the managed image or VM the version was made from; None when there is none."""
    given = entry.get("source") or {}
    if given.get("id"):
        return _resource_blob(world, str(given["id"]))
    if given.get("uri"):
        return _uri_blob(world, str(given["uri"]))
    top = storage.get("source") or {}
    top_id = str(top.get("virtualMachineId") or top.get("id") or "")
    parent = world.store.get(top_id) if top_id else None
    if parent is None:
        return None
    profile = parent["properties"].get("storageProfile") or {}
    if lun is None:
        disk = profile.get("osDisk") or {}
    else:
        disk = next((d for d in profile.get("dataDisks") or [] if d.get("lun") == lun), {})
    for key in ("managedDisk", "snapshot"):
        ref = (disk.get(key) or {}).get("id")
        if ref:
            return _resource_blob(world, str(ref))
    return _uri_blob(world, str(disk["blobUri"])) if disk.get("blobUri") else None


def _resource_blob(world: World, resource_id: str) -> tuple[str, str, str] | None:
    resource = world.store.get(resource_id)
    if resource is None:
        return None
    if resource["type"].lower() == "microsoft.compute/snapshots":
        from gui.sandbox.arm.snapshots import backing_blob as snapshot_blob

        return snapshot_blob(world, resource)
    ref = resource.get("_blob")
    return (ref["account"], ref["container"], ref["blob"]) if ref else None


def _uri_blob(world: World, uri: str) -> tuple[str, str, str] | None:
    from urllib.parse import unquote, urlsplit

    segments = [unquote(s) for s in urlsplit(uri).path.lstrip("/").split("/", 2)]
    if len(segments) != 3:
        return None
    try:
        world.blobs.blob(*segments)
    except BlobError:
        return None
    return segments[0], segments[1], segments[2]


add_read_routes(router, DISK_TYPE)


@router.put(_DISK)
async def create(ctx: Ctx, p: dict[str, str]) -> web.Response:
    name = p["name"]
    group, sid, body, location, props, existing = put_in_group(
        ctx, p, DISK_TYPE, name, check_compute_name
    )
    creation = props.get("creationData") or {}
    option = str(creation.get("createOption") or "")
    if existing is not None:
        raise operation_not_allowed(
            f"Disk '{name}' already exists. Changing its creation data is not allowed; delete it "
            "first or choose another name.",
        )
    sku_name = require_sku(body, _SKUS)
    unique_id = str(uuid.uuid4())
    properties: Json = {
        "creationData": {"createOption": option},
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": props.get("networkAccessPolicy", "AllowAll"),
        "publicNetworkAccess": props.get("publicNetworkAccess", "Enabled"),
        "timeCreated": now_iso(),
        "provisioningState": "Succeeded",
        "uniqueId": unique_id,
    }
    for key in ("osType", "hyperVGeneration", "securityProfile", "supportedCapabilities"):
        if props.get(key):
            properties[key] = props[key]
    if option == "Upload":
        size = creation.get("uploadSizeBytes")
        if (
            not isinstance(size, int)
            or size < MIN_UPLOAD
            or size > MAX_UPLOAD
            or (size - 512) % MIB
        ):
            raise invalid_upload_size(size)
        properties["creationData"]["uploadSizeBytes"] = size
        properties["diskSizeGB"] = math.ceil((size - 512) / GIB)
        properties["diskSizeBytes"] = size - 512
        properties["diskState"] = "ReadyToUpload"
        blob_size = size
    elif option == "FromImage":
        blob_size = _from_gallery_version(ctx, creation, properties, location, props)
    elif option == "Empty":
        size_gb = props.get("diskSizeGB")
        if not isinstance(size_gb, int) or size_gb < 1:
            raise invalid_parameter(
                "Disk size must be specified for a disk created with createOption 'Empty'.",
                target="diskSizeGB",
            )
        properties["diskSizeGB"] = size_gb
        properties["diskSizeBytes"] = size_gb * GIB
        properties["diskState"] = "Unattached"
        blob_size = size_gb * GIB + 512
    else:
        raise invalid_parameter(
            f"The value '{option}' of parameter 'creationData.createOption' is not supported by "
            "the sandbox for disks. Use 'Upload', 'Empty' or 'FromImage'.",
            target="disk.properties.creationData.createOption",
        )
    tier = _SKUS[sku_name]
    if tier == "Premium":
        properties["tier"] = _premium_tier(int(properties["diskSizeGB"]))
    copied_from = properties.pop("_copy_from", None)
    disk: Json = {
        **new_compute_resource(sid, group["name"], DISK_TYPE, name, location, body),
        "sku": {"name": sku_name, "tier": tier},
        "properties": properties,
        "_blob": _new_backing_blob(ctx.world, unique_id, blob_size, copied_from),
    }
    ctx.world.store.put(disk)
    _, headers = start_operation(ctx, sid, location, duration=ctx.world.lro_seconds)
    return reply(public(disk), 202, headers)


@router.delete(_DISK)
async def delete(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _, disk = find_compute(ctx, p["sub"], p["rg"], DISK_TYPE, p["name"])
    if disk is None:
        return web.Response(status=204)
    state = disk["properties"].get("diskState")
    if state in ("ActiveUpload", "ActiveSAS", "ActiveSASFrozen"):
        raise operation_not_allowed(
            f"Disk {disk['name']} cannot be deleted while it is in the '{state}' state. Revoke "
            "access to the disk (endGetAccess) first.",
        )
    if disk.get("managedBy"):
        raise operation_not_allowed(
            f"Disk {disk['name']} is attached to VM {disk['managedBy']}.",
        )

    def finish() -> None:
        ctx.world.store.delete(disk["id"])
        account, container, _ = backing_blob(disk)
        # The backing blob may already be gone; the disk is what matters.
        with contextlib.suppress(BlobError):
            ctx.world.blobs.delete_container(account, container)

    return accepted(ctx, p["sub"], disk["location"], on_done=finish)


@router.post(_DISK + "/beginGetAccess")
async def begin_get_access(ctx: Ctx, p: dict[str, str]) -> web.Response:
    disk = require_disk(ctx, p["sub"], p["rg"], p["name"])
    body = ctx.json()
    access = str(body.get("access") or "")
    duration = body.get("durationInSeconds")
    if access not in ("Read", "Write"):
        raise invalid_parameter(
            f"The value '{access}' of parameter 'access' is invalid. Use 'Read' or 'Write'.",
            target="grantAccessData.access",
        )
    if not isinstance(duration, int) or duration <= 0:
        raise invalid_parameter(
            "The value of parameter 'durationInSeconds' must be a positive integer.",
            target="grantAccessData.durationInSeconds",
        )
    state = disk["properties"].get("diskState")
    if access == "Write" and state != "ReadyToUpload":
        raise operation_not_allowed(
            f"Write access can only be granted to a disk in the 'ReadyToUpload' state. Disk "
            f"'{disk['name']}' is in the '{state}' state.",
        )
    if access == "Read" and state not in ("Unattached", "Reserved"):
        raise operation_not_allowed(
            f"Read access cannot be granted to disk '{disk['name']}' in the '{state}' state.",
        )
    world = ctx.world

    def finish() -> Json:
        account, container, blob = backing_blob(disk)
        identifier = str(uuid.uuid4())
        expiry = datetime.now(UTC) + timedelta(seconds=int(duration))
        world.blobs.set_policy(
            account,
            container,
            identifier,
            StoredPolicy(permissions="rw" if access == "Write" else "r", expiry=expiry),
        )
        key = world.blobs.ensure_account(account).key
        query = make_sas(
            account=account,
            key=key,
            container=container,
            blob=blob,
            permissions=None,
            expiry=None,
            identifier=identifier,
        )
        disk["_access"] = {"identifier": identifier}
        disk["properties"]["diskState"] = "ActiveUpload" if access == "Write" else "ActiveSAS"
        world.store.put(disk)
        return {"accessSAS": f"{world.blob_url}/{account}/{container}/{blob}?{query}"}

    return accepted(ctx, p["sub"], disk["location"], on_done=finish, has_result=True)


@router.post(_DISK + "/endGetAccess")
async def end_get_access(ctx: Ctx, p: dict[str, str]) -> web.Response:
    disk = require_disk(ctx, p["sub"], p["rg"], p["name"])
    world = ctx.world

    def finish() -> None:
        access = disk.pop("_access", None)
        if access is not None:
            account, container, _ = backing_blob(disk)
            world.blobs.remove_policy(account, container, access["identifier"])
        if disk["properties"].get("diskState") in ("ActiveUpload", "ActiveSAS"):
            disk["properties"]["diskState"] = "Unattached"
        world.store.put(disk)

    return accepted(ctx, p["sub"], disk["location"], on_done=finish)

"""What images and gallery versions are made from: managed disks, snapshots, blobs, images.

Each source is checked as Azure checks it (exists, is in a usable state) and described by its
size and, where known, its OS type and Hyper-V generation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from gui.sandbox.arm.common import parse_resource_id
from gui.sandbox.errors import ArmError, invalid_parameter, operation_not_allowed
from gui.sandbox.world import World

Json = dict[str, Any]
GIB = 1024**3


@dataclass(frozen=True)
class DiskSource:
    size_gb: int
    os_type: str | None = None
    generation: str | None = None
    location: str | None = None


def _not_found(resource_id: str) -> ArmError:
    parts = parse_resource_id(resource_id)
    kind = next((k for k in ("disks", "snapshots", "images", "virtualmachines") if k in parts), "")
    name = parts.get(kind, resource_id)
    return ArmError(
        404,
        "NotFound",
        f"Resource '{resource_id}' was not found. Check that the {kind[:-1] or 'resource'} "
        f"'{name}' exists in resource group '{parts.get('resourcegroups', '')}'.",
    )


def _stored(world: World, resource_id: str, resource_type: str) -> Json:
    found = world.store.get(resource_id)
    if found is None or found["type"].lower() != resource_type:
        raise _not_found(resource_id)
    return found


def _source_of(resource: Json) -> DiskSource:
    """What a disk or snapshot brings to what is made from it."""
    props = resource["properties"]
    return DiskSource(
        size_gb=int(props.get("diskSizeGB") or 0),
        os_type=props.get("osType"),
        generation=props.get("hyperVGeneration"),
        location=resource.get("location"),
    )


def managed_disk_source(world: World, disk_id: str) -> DiskSource:
    disk = _stored(world, disk_id, "microsoft.compute/disks")
    props = disk["properties"]
    state = props.get("diskState")
    if state in ("ReadyToUpload", "ActiveUpload", "ActiveSAS"):
        raise operation_not_allowed(
            f"Disk '{disk['name']}' cannot be used as a source while it is in the '{state}' state. "
            + (
                "Finish the upload and revoke access (endGetAccess) first."
                if state != "ActiveSAS"
                else "Revoke access (endGetAccess) first."
            ),
        )
    return _source_of(disk)


def snapshot_source(world: World, snapshot_id: str) -> DiskSource:
    return _source_of(_stored(world, snapshot_id, "microsoft.compute/snapshots"))


def blob_source(world: World, uri: str) -> DiskSource:
    parts = urlsplit(uri)
    base = urlsplit(world.blob_url)
    segments = [unquote(s) for s in parts.path.lstrip("/").split("/", 2)]
    if (parts.hostname, parts.port) != (base.hostname, base.port) or len(segments) != 3:
        raise invalid_parameter(
            f"The blob URI '{uri}' is not a page blob on this (sandbox) storage endpoint "
            f"{world.blob_url}/<account>/<container>/<blob>.",
            target="blobUri",
        )
    account, container, blob = segments
    try:
        meta = world.blobs.blob(account, container, blob)
    except Exception as exc:
        raise invalid_parameter(f"The blob '{uri}' does not exist.", target="blobUri") from exc
    if meta.blob_type != "PageBlob":
        raise invalid_parameter(
            f"The blob '{uri}' is a {meta.blob_type}; images need a page blob (a fixed VHD).",
            target="blobUri",
        )
    if meta.size % (1024 * 1024) != 512:
        raise invalid_parameter(
            f"The VHD '{uri}' has an unsupported virtual size of {meta.size} bytes. The size "
            "must be a whole number of MiB plus the 512-byte footer.",
            target="blobUri",
        )
    return DiskSource(size_gb=math.ceil((meta.size - 512) / GIB))


def disk_reference_source(world: World, disk: Json, role: str) -> DiskSource:
    """An image's osDisk/dataDisk entry: managedDisk.id, snapshot.id or blobUri."""
    managed = (disk.get("managedDisk") or {}).get("id")
    snapshot = (disk.get("snapshot") or {}).get("id")
    blob_uri = disk.get("blobUri")
    if managed:
        return managed_disk_source(world, managed)
    if snapshot:
        return snapshot_source(world, snapshot)
    if blob_uri:
        return blob_source(world, blob_uri)
    raise invalid_parameter(
        f"One of 'managedDisk', 'snapshot' or 'blobUri' must be specified for the {role}.",
        target=f"properties.storageProfile.{role}",
    )

"""Managed images: Microsoft.Compute/images."""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import (
    add_read_routes,
    check_compute_name,
    find_compute,
    missing,
    new_compute_resource,
    require_location,
)
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import delete_accepted, mark_provisioned, start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.arm.sources import disk_reference_source
from gui.sandbox.errors import invalid_parameter, operation_not_allowed
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import World, public

Json = dict[str, Any]
router = Router()

IMAGE_TYPE = "Microsoft.Compute/images"
_RG_IMAGES = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images"
_CACHING = ("None", "ReadOnly", "ReadWrite")


add_read_routes(router, IMAGE_TYPE)


def _image_disk(world: World, spec: Json, role: str, generation: str) -> Json:
    source = disk_reference_source(world, spec, role)
    if source.generation and source.generation != generation:
        raise invalid_parameter(
            f"The Hyper-V generation of the image ('{generation}') does not match the Hyper-V "
            f"generation of the source disk ('{source.generation}'). Set "
            f"properties.hyperVGeneration to '{source.generation}'.",
            target="properties.hyperVGeneration",
        )
    caching = spec.get("caching") or ("ReadWrite" if role == "osDisk" else "None")
    if caching not in _CACHING:
        raise invalid_parameter(
            f"The value '{caching}' of parameter 'caching' is invalid.",
            target="caching",
        )
    disk: Json = {k: v for k, v in spec.items() if k in ("managedDisk", "snapshot", "blobUri")}
    disk["caching"] = caching
    disk["storageAccountType"] = spec.get("storageAccountType") or "Standard_LRS"
    disk["diskSizeGB"] = max(int(spec.get("diskSizeGB") or 0), source.size_gb)
    return disk


def create_image(
    ctx: Ctx, sub: str, group: Json, name: str, body: Json
) -> tuple[Json, dict[str, str]]:
    """Validate and store a new managed image (provisioning until the operation finishes)."""
    world = ctx.world
    check_compute_name(name)
    location = require_location(body)
    props = body.get("properties") or {}
    requested = props.get("hyperVGeneration")
    if requested is not None and str(requested) not in ("V1", "V2"):
        raise invalid_parameter(
            f"The value '{requested}' of parameter 'hyperVGeneration' is invalid.",
            target="properties.hyperVGeneration",
        )
    profile = props.get("storageProfile") or {}
    source_vm = (props.get("sourceVirtualMachine") or {}).get("id")
    if not profile.get("osDisk") and source_vm:
        from gui.sandbox.arm.vms import image_profile_from_vm

        profile = image_profile_from_vm(world, str(source_vm), location)
    os_spec = profile.get("osDisk")
    if not os_spec:
        raise missing("osDisk", "properties.storageProfile.osDisk")
    # hyperVGeneration is optional (Image_CreateFromAVM, Image_CreateFromAManagedDisk send none):
    # Azure then takes the source's generation; a VHD blob carries none, so it is V1.
    generation = str(
        requested or disk_reference_source(world, os_spec, "osDisk").generation or "V1"
    )
    os_type = os_spec.get("osType")
    os_state = os_spec.get("osState")
    if os_type not in ("Windows", "Linux"):
        raise missing("osType", "properties.storageProfile.osDisk.osType")
    if os_state not in ("Generalized", "Specialized"):
        raise missing("osState", "properties.storageProfile.osDisk.osState")
    os_disk = _image_disk(world, os_spec, "osDisk", generation)
    os_disk.update({"osType": os_type, "osState": os_state})
    data_disks = []
    luns: set[int] = set()
    for spec in profile.get("dataDisks") or []:
        lun = spec.get("lun")
        if not isinstance(lun, int) or lun < 0 or lun > 63 or lun in luns:
            raise invalid_parameter(
                f"The LUN '{lun}' of a data disk is invalid or used twice.",
                target="properties.storageProfile.dataDisks.lun",
            )
        luns.add(lun)
        disk = _image_disk(world, spec, "dataDisks", generation)
        disk["lun"] = lun
        data_disks.append(disk)
    image: Json = {
        **new_compute_resource(sub, group["name"], IMAGE_TYPE, name, location, body),
        "properties": {
            "storageProfile": {
                "osDisk": os_disk,
                "dataDisks": sorted(data_disks, key=lambda d: d["lun"]),
                "zoneResilient": bool(profile.get("zoneResilient", False)),
            },
            "provisioningState": "Creating",
            "hyperVGeneration": generation,
        },
    }
    if props.get("sourceVirtualMachine"):
        image["properties"]["sourceVirtualMachine"] = props["sourceVirtualMachine"]
    world.store.put(image)

    finish = functools.partial(mark_provisioned, world, image["id"])
    _, headers = start_operation(ctx, sub, location, duration=world.lro_seconds, on_done=finish)
    return image, headers


@router.put(_RG_IMAGES + "/{name}")
async def put(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    sid = ctx.world.require_subscription(p["sub"])
    existing = ctx.world.store.get(compute_id(sid, group["name"], "images", p["name"]))
    if existing is not None:
        raise operation_not_allowed(
            f"Image '{p['name']}' already exists; an image's storage profile cannot be changed. "
            "Delete it first or choose another name.",
        )
    image, headers = create_image(ctx, sid, group, p["name"], ctx.json())
    return reply(public(image), 201, headers)


@router.delete(_RG_IMAGES + "/{name}")
async def delete(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _, image = find_compute(ctx, p["sub"], p["rg"], IMAGE_TYPE, p["name"])
    return delete_accepted(ctx, p["sub"], image)

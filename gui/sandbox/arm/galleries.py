"""Azure Compute Galleries: galleries, image definitions and image versions."""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import (
    add_read_routes,
    display_region,
    find_compute,
    missing,
    now_iso,
    parse_resource_id,
    put_in_group,
    put_request,
    region_name,
    require_compute,
    version_disks,
)
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import delete_accepted, mark_provisioned, start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, invalid_parameter, resource_not_found
from gui.sandbox.seed.world import gallery as seeded_gallery
from gui.sandbox.seed.world import gallery_image as seeded_definition
from gui.sandbox.world import public

Json = dict[str, Any]
router = Router()

GALLERY_TYPE = "Microsoft.Compute/galleries"
DEFINITION_TYPE = "Microsoft.Compute/galleries/images"
VERSION_TYPE = "Microsoft.Compute/galleries/images/versions"

_GALLERIES = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries"
_GALLERY = _GALLERIES + "/{gallery}"
_DEFINITION = _GALLERY + "/images/{image}"
_VERSION = _DEFINITION + "/versions/{version}"


def require_gallery(ctx: Ctx, p: dict[str, str]) -> Json:
    return require_compute(ctx, p["sub"], p["rg"], GALLERY_TYPE, p["gallery"])


def require_definition(ctx: Ctx, p: dict[str, str]) -> Json:
    gallery = require_gallery(ctx, p)
    definition = ctx.world.store.get(f"{gallery['id']}/images/{p['image']}")
    if definition is None:
        raise resource_not_found(GALLERY_TYPE, f"{gallery['name']}/images/{p['image']}", p["rg"])
    return definition


def require_version(ctx: Ctx, p: dict[str, str]) -> Json:
    definition = require_definition(ctx, p)
    version = ctx.world.store.get(f"{definition['id']}/versions/{p['version']}")
    if version is None:
        name = f"{p['gallery']}/images/{definition['name']}/versions/{p['version']}"
        raise resource_not_found(GALLERY_TYPE, name, p["rg"])
    return version


def replication_status(version: Json, now: float | None = None) -> Json:
    """Per-region replication, advancing with time for versions the sandbox is replicating.

    A version being replicated carries ``_replication``: its start time and how long each
    region takes; regions complete one after the other.
    """
    regions = [r["name"] for r in version["properties"]["publishingProfile"]["targetRegions"]]
    plan = version.get("_replication")
    now = time.time() if now is None else now
    summary: list[Json] = []
    for index, region in enumerate(regions):
        if plan is None:
            progress = 100
        else:
            per_region = float(plan["seconds_per_region"])
            elapsed = now - float(plan["started"]) - index * per_region
            progress = max(0, min(100, int(elapsed / per_region * 100))) if per_region > 0 else 100
        state = "Completed" if progress >= 100 else "Replicating"
        summary.append({"region": region, "state": state, "details": "", "progress": progress})
    done = all(s["state"] == "Completed" for s in summary)
    return {"aggregatedState": "Completed" if done else "InProgress", "summary": summary}


def version_json(ctx: Ctx, version: Json) -> Json:
    doc = public(version)
    expand = (ctx.query("$expand") or "").lower()
    if expand == "replicationstatus":
        doc = {
            **doc,
            "properties": {**doc["properties"], "replicationStatus": replication_status(version)},
        }
    return doc


add_read_routes(router, GALLERY_TYPE, "gallery")


@router.get(_GALLERY + "/images")
async def list_definitions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    gallery = require_gallery(ctx, p)
    return ctx.page([public(d) for d in ctx.world.store.children(gallery["id"], DEFINITION_TYPE)])


@router.get(_DEFINITION)
async def get_definition(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return reply(public(require_definition(ctx, p)))


@router.get(_DEFINITION + "/versions")
async def list_versions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    definition = require_definition(ctx, p)
    versions = ctx.world.store.children(definition["id"], VERSION_TYPE)
    return ctx.page([version_json(ctx, v) for v in versions])


@router.get(_VERSION)
async def get_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return reply(version_json(ctx, require_version(ctx, p)))


# ---- create and delete -----------------------------------------------------------------

_GALLERY_NAME = re.compile(r"^[A-Za-z0-9]$|^[A-Za-z0-9][A-Za-z0-9._]{0,78}[A-Za-z0-9]$")
_DEFINITION_NAME = re.compile(r"^[A-Za-z0-9]$|^[A-Za-z0-9][A-Za-z0-9._-]{0,78}[A-Za-z0-9]$")
_VERSION_NAME = re.compile(r"^\d+\.\d+\.\d+$")
_INT32_MAX = 2**31 - 1


def _check_gallery_name(name: str) -> None:
    if not _GALLERY_NAME.match(name):
        raise invalid_parameter(
            f"The gallery name '{name}' is invalid. Allowed characters are English alphanumeric "
            "characters, with underscores and periods allowed in the middle, up to 80 "
            "characters total. All other special characters, including dashes, are disallowed.",
            target="galleryName",
        )


def _check_definition_name(name: str) -> None:
    if not _DEFINITION_NAME.match(name):
        raise invalid_parameter(
            f"The gallery image name '{name}' is invalid. Allowed characters are English "
            "alphanumeric characters, with underscores, hyphens and periods allowed in the "
            "middle, up to 80 characters total.",
            target="galleryImageName",
        )


def check_version_name(name: str) -> None:
    parts = name.split(".") if _VERSION_NAME.match(name) else []
    if len(parts) != 3 or any(int(x) > _INT32_MAX for x in parts):
        raise invalid_parameter(
            f"The gallery image version name '{name}' is invalid. The version name must follow "
            "the format Major(int32).Minor(int32).Patch(int32), for example 1.0.0 or 2018.12.1.",
            target="galleryImageVersionName",
        )


def _provisioning(  # noqa: PLR0917 - what every create/update answer needs
    ctx: Ctx, sub: str, location: str, resource: Json, status: int, duration: float | None = None
) -> web.Response:
    """Save ``resource`` (Creating or Updating) and answer ``status`` with an operation that marks
    it Succeeded after ``duration`` (the world's LRO time unless given)."""
    ctx.world.store.put(resource)
    _, headers = start_operation(
        ctx,
        sub,
        location,
        duration=ctx.world.lro_seconds if duration is None else duration,
        on_done=functools.partial(mark_provisioned, ctx.world, resource["id"]),
    )
    return reply(public(resource), status, headers)


def _refuse_while_nested(ctx: Ctx, parent: Json, child_type: str, what_remains: str) -> None:
    if ctx.world.store.children(parent["id"], child_type):
        raise ArmError(
            409,
            "CannotDeleteResource",
            f"Can not delete resource before nested resources are deleted. {what_remains}",
        )


@router.put(_GALLERY)
async def put_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
    name = p["gallery"]
    group, sid, body, location, props, existing = put_in_group(
        ctx, p, GALLERY_TYPE, name, _check_gallery_name
    )
    description = str(props.get("description") or "")
    if existing is not None:
        existing["properties"]["description"] = description
        existing["tags"] = body.get("tags") or existing.get("tags") or {}
        ctx.world.store.put(existing)
        return reply(public(existing), 200)
    gallery = seeded_gallery(sid, group["name"], name, location, description)
    gallery["tags"] = body.get("tags") or {}
    gallery["properties"]["provisioningState"] = "Creating"
    return _provisioning(ctx, sid, location, gallery, 201)


@router.delete(_GALLERY)
async def delete_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _, gallery = find_compute(ctx, p["sub"], p["rg"], GALLERY_TYPE, p["gallery"])
    if gallery is not None:
        _refuse_while_nested(
            ctx,
            gallery,
            DEFINITION_TYPE,
            f"Gallery '{gallery['name']}' still contains image definitions.",
        )
    return delete_accepted(ctx, p["sub"], gallery)


@router.put(_DEFINITION)
async def put_definition(ctx: Ctx, p: dict[str, str]) -> web.Response:
    gallery = require_gallery(ctx, p)
    name = p["image"]
    body, location, props = put_request(ctx, name, _check_definition_name)
    os_type, os_state = props.get("osType"), props.get("osState")
    if os_type not in ("Windows", "Linux"):
        raise missing("osType", "properties.osType")
    if os_state not in ("Generalized", "Specialized"):
        raise missing("osState", "properties.osState")
    identifier = props.get("identifier") or {}
    if not all(identifier.get(k) for k in ("publisher", "offer", "sku")):
        raise missing("identifier", "properties.identifier")
    generation = str(props.get("hyperVGeneration") or "V1")
    architecture = str(props.get("architecture") or "x64")
    features = list(props.get("features") or [])
    security = next((f.get("value") for f in features if f.get("name") == "SecurityType"), None)
    if security and security != "Standard" and generation != "V2":
        raise invalid_parameter(
            f"The feature SecurityType with value '{security}' is only supported for gallery "
            "images with HyperVGeneration 'V2'.",
            target="properties.features",
        )
    if architecture == "Arm64" and generation != "V2":
        raise invalid_parameter(
            "Gallery images with architecture 'Arm64' must have HyperVGeneration 'V2'.",
            target="properties.architecture",
        )
    existing = ctx.world.store.get(f"{gallery['id']}/images/{name}")
    key = tuple(str(identifier[k]).lower() for k in ("publisher", "offer", "sku"))
    for other in ctx.world.store.children(gallery["id"], DEFINITION_TYPE):
        other_id = other["properties"]["identifier"]
        other_key = tuple(str(other_id[k]).lower() for k in ("publisher", "offer", "sku"))
        if other_key == key and other["name"].lower() != name.lower():
            raise ArmError(
                409,
                "Conflict",
                f"Gallery image '{other['name']}' in gallery '{gallery['name']}' already uses "
                f"publisher '{identifier['publisher']}', offer '{identifier['offer']}' and sku "
                f"'{identifier['sku']}'. The identifier must be unique within the gallery.",
            )
    if existing is not None:
        fixed = {"osType": os_type, "osState": os_state, "hyperVGeneration": generation}
        for field_name, value in fixed.items():
            if existing["properties"].get(field_name) != value:
                raise ArmError(
                    409,
                    "PropertyChangeNotAllowed",
                    f"Changing property '{field_name}' is not allowed.",
                    target=f"properties.{field_name}",
                )
    definition = seeded_definition(
        gallery,
        name,
        os_type=os_type,
        os_state=os_state,
        generation=generation,
        identifier=(identifier["publisher"], identifier["offer"], identifier["sku"]),
        architecture=architecture,
        description=str(props.get("description") or ""),
        end_of_life=props.get("endOfLifeDate"),
    )
    definition["location"] = location
    definition["properties"]["features"] = features
    for extra in (
        "eula",
        "privacyStatementUri",
        "releaseNoteUri",
        "recommended",
        "disallowed",
        "purchasePlan",
    ):
        if props.get(extra) is not None:
            definition["properties"][extra] = props[extra]
    definition["tags"] = body.get("tags") or {}
    ctx.world.store.put(definition)
    if existing is not None:
        return reply(public(definition), 200)
    definition["properties"]["provisioningState"] = "Creating"
    return _provisioning(ctx, p["sub"], location, definition, 201)


@router.delete(_DEFINITION)
async def delete_definition(ctx: Ctx, p: dict[str, str]) -> web.Response:
    gallery = require_gallery(ctx, p)
    definition = ctx.world.store.get(f"{gallery['id']}/images/{p['image']}")
    if definition is not None:
        _refuse_while_nested(
            ctx,
            definition,
            VERSION_TYPE,
            f"Gallery image '{definition['name']}' still has image versions.",
        )
    return delete_accepted(ctx, p["sub"], definition)


def _target_regions(profile: Json, location: str) -> list[Json]:
    requested = profile.get("targetRegions") or [{"name": location, "regionalReplicaCount": 1}]
    default_count = int(profile.get("replicaCount") or 1)
    default_storage = profile.get("storageAccountType") or "Standard_LRS"
    regions: list[Json] = []
    seen: set[str] = set()
    for entry in requested:
        short = region_name(
            str(entry.get("name") or ""), "Microsoft.Compute/galleries/images/versions"
        )
        if short in seen:
            raise invalid_parameter(
                f"Region '{entry.get('name')}' is listed twice in targetRegions.",
                target="properties.publishingProfile.targetRegions",
            )
        seen.add(short)
        count = int(entry.get("regionalReplicaCount") or default_count)
        if not 1 <= count <= 100:
            raise invalid_parameter(
                f"The regional replica count {count} for region '{entry.get('name')}' "
                "must be between 1 and 100.",
                target="properties.publishingProfile.targetRegions.regionalReplicaCount",
            )
        regions.append(
            {
                "name": display_region(short),
                "regionalReplicaCount": count,
                "storageAccountType": entry.get("storageAccountType") or default_storage,
            }
        )
    if location not in seen:
        raise invalid_parameter(
            f"The gallery image version publishing profile regions "
            f"'{', '.join(r['name'] for r in regions)}' must contain the location of the image "
            f"version '{display_region(location)}'.",
            target="properties.publishingProfile.targetRegions",
        )
    return regions


@router.put(_VERSION)
async def put_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    definition = require_definition(ctx, p)
    name = p["version"]
    body, location, props = put_request(ctx, name, check_version_name)
    profile = props.get("publishingProfile") or {}
    regions = _target_regions(profile, location)
    existing = ctx.world.store.get(f"{definition['id']}/versions/{name}")
    world = ctx.world
    if existing is not None:
        # An update may change where the version is replicated and its publishing flags only.
        publishing = existing["properties"]["publishingProfile"]
        publishing["targetRegions"] = regions
        for flag in ("excludeFromLatest", "endOfLifeDate"):
            if flag in profile:
                publishing[flag] = profile[flag]
        existing["properties"]["provisioningState"] = "Updating"
        existing["_replication"] = {
            "started": time.time(),
            "seconds_per_region": world.replication_seconds_per_region,
        }
        duration = len(regions) * world.replication_seconds_per_region
        return _provisioning(ctx, p["sub"], location, existing, 200, duration)
    storage = version_storage_profile(world, definition, props.get("storageProfile") or {})
    version: Json = {
        "id": f"{definition['id']}/versions/{name}",
        "name": name,
        "type": VERSION_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "properties": {
            "publishingProfile": {
                "targetRegions": regions,
                "replicaCount": int(profile.get("replicaCount") or 1),
                "excludeFromLatest": bool(profile.get("excludeFromLatest", False)),
                "publishedDate": now_iso(),
                "storageAccountType": profile.get("storageAccountType") or "Standard_LRS",
                "replicationMode": profile.get("replicationMode") or "Full",
            },
            "storageProfile": storage,
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": bool(
                    (props.get("safetyProfile") or {}).get(
                        "allowDeletionOfReplicatedLocations", False
                    )
                ),
                "reportedForPolicyViolation": False,
            },
            "provisioningState": "Creating",
        },
        "_replication": {
            "started": time.time(),
            "seconds_per_region": world.replication_seconds_per_region,
        },
    }
    if profile.get("endOfLifeDate"):
        version["properties"]["publishingProfile"]["endOfLifeDate"] = profile["endOfLifeDate"]
    duration = max(world.lro_seconds, len(regions) * world.replication_seconds_per_region)
    return _provisioning(ctx, p["sub"], location, version, 201, duration)


@router.delete(_VERSION)
async def delete_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    definition = require_definition(ctx, p)
    version = ctx.world.store.get(f"{definition['id']}/versions/{p['version']}")
    return delete_accepted(ctx, p["sub"], version)


def _mismatch(what: str, source_value: str, definition: Json, definition_value: str) -> ArmError:
    return invalid_parameter(
        f"Cannot create Gallery Image Version from a source with different {what} "
        f"('{source_value}') than the parent gallery image '{definition['name']}' "
        f"('{definition_value}').",
        target="properties.storageProfile",
    )


def version_storage_profile(world: Any, definition: Json, storage: Json) -> Json:
    """Check the version's source against its definition and describe the disks it carries."""
    d_props = definition["properties"]
    source_id = (storage.get("source") or {}).get("id")
    os_image = storage.get("osDiskImage") or {}
    os_source_id = (os_image.get("source") or {}).get("id")
    if source_id and parse_resource_id(source_id).get("images"):
        image = world.store.get(source_id)
        if image is None or image["type"].lower() != "microsoft.compute/images":
            raise ArmError(404, "NotFound", f"Source image '{source_id}' was not found.")
        profile = image["properties"]["storageProfile"]
        os_disk = profile["osDisk"]
        checks = (
            ("OS type", os_disk["osType"], "osType"),
            ("OS state", os_disk["osState"], "osState"),
            (
                "Hyper-V generation",
                image["properties"].get("hyperVGeneration", "V1"),
                "hyperVGeneration",
            ),
        )
        for what, value, key in checks:
            if value != d_props.get(key):
                raise _mismatch(what, value, definition, str(d_props.get(key)))
        return version_disks({"id": source_id}, os_disk, profile.get("dataDisks", []))
    if source_id:
        from gui.sandbox.arm.vm_sources import vm_version_storage

        return vm_version_storage(world, definition, source_id)
    if not os_source_id:
        raise invalid_parameter(
            "The gallery image version needs a source: properties.storageProfile.source.id (a "
            "managed image or virtual machine) or properties.storageProfile.osDiskImage.source.id "
            "(a managed disk or snapshot).",
            target="properties.storageProfile",
        )
    os_src = _disk_or_snapshot(world, os_source_id)
    if os_src.os_type and os_src.os_type != d_props.get("osType"):
        raise _mismatch("OS type", os_src.os_type, definition, str(d_props.get("osType")))
    if os_src.generation and os_src.generation != d_props.get("hyperVGeneration", "V1"):
        raise _mismatch(
            "Hyper-V generation",
            os_src.generation,
            definition,
            str(d_props.get("hyperVGeneration", "V1")),
        )
    data: list[Json] = []
    for entry in storage.get("dataDiskImages") or []:
        entry_source = (entry.get("source") or {}).get("id")
        if not entry_source or not isinstance(entry.get("lun"), int):
            raise missing("dataDiskImages.lun/source", "properties.storageProfile.dataDiskImages")
        src = _disk_or_snapshot(world, entry_source)
        data.append(
            {
                "lun": entry["lun"],
                "sizeInGB": src.size_gb,
                "hostCaching": entry.get("hostCaching", "None"),
                "source": {"id": entry_source},
            }
        )
    return {
        "osDiskImage": {
            "sizeInGB": os_src.size_gb,
            "hostCaching": os_image.get("hostCaching", "ReadWrite"),
            "source": {"id": os_source_id},
        },
        "dataDiskImages": sorted(data, key=lambda d: d["lun"]),
    }


def _disk_or_snapshot(world: Any, resource_id: str) -> Any:
    from gui.sandbox.arm.sources import managed_disk_source, snapshot_source

    if parse_resource_id(resource_id).get("snapshots"):
        return snapshot_source(world, resource_id)
    return managed_disk_source(world, resource_id)

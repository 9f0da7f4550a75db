"""Azure Compute Galleries: galleries, image definitions and image versions."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError
from gui.sandbox.seed.world import compute_id
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


def _not_found(resource_type: str, name: str, resource_group: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{resource_type}/{name}' under resource group '{resource_group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def require_gallery(ctx: Ctx, p: dict[str, str]) -> Json:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    gallery = ctx.world.store.get(compute_id(p["sub"], group["name"], "galleries", p["gallery"]))
    if gallery is None:
        raise _not_found(GALLERY_TYPE, p["gallery"], group["name"])
    return gallery


def require_definition(ctx: Ctx, p: dict[str, str]) -> Json:
    gallery = require_gallery(ctx, p)
    definition = ctx.world.store.get(f"{gallery['id']}/images/{p['image']}")
    if definition is None:
        raise _not_found(GALLERY_TYPE, f"{gallery['name']}/images/{p['image']}", p["rg"])
    return definition


def require_version(ctx: Ctx, p: dict[str, str]) -> Json:
    definition = require_definition(ctx, p)
    version = ctx.world.store.get(f"{definition['id']}/versions/{p['version']}")
    if version is None:
        name = f"{p['gallery']}/images/{definition['name']}/versions/{p['version']}"
        raise _not_found(GALLERY_TYPE, name, p["rg"])
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


@router.get("/subscriptions/{sub}/providers/Microsoft.Compute/galleries")
async def list_all(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    return ctx.page(
        [public(g) for g in ctx.world.store.under(f"/subscriptions/{sid}", GALLERY_TYPE)]
    )


@router.get(_GALLERIES)
async def list_by_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    return ctx.page([public(g) for g in ctx.world.store.children(group["id"], GALLERY_TYPE)])


@router.get(_GALLERY)
async def get_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return reply(public(require_gallery(ctx, p)))


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

"""Managed images: Microsoft.Compute/images."""

from __future__ import annotations

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import resource_not_found
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import public

router = Router()

IMAGE_TYPE = "Microsoft.Compute/images"
_RG_IMAGES = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images"


@router.get("/subscriptions/{sub}/providers/Microsoft.Compute/images")
async def list_all(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    return ctx.page([public(r) for r in ctx.world.store.under(f"/subscriptions/{sid}", IMAGE_TYPE)])


@router.get(_RG_IMAGES)
async def list_by_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    return ctx.page([public(r) for r in ctx.world.store.children(group["id"], IMAGE_TYPE)])


@router.get(_RG_IMAGES + "/{name}")
async def get(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    image = ctx.world.store.get(compute_id(p["sub"], group["name"], "images", p["name"]))
    if image is None:
        raise resource_not_found(IMAGE_TYPE, p["name"], group["name"])
    return reply(public(image))

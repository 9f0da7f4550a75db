"""Galleries shared with the subscription or the tenant (direct shared galleries)."""

from __future__ import annotations

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError
from gui.sandbox.seed import community as cg

router = Router()

_LIST = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/sharedGalleries"
_BASE = _LIST + "/{gallery}"


def _not_found(location: str, *names: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Compute/locations/{location}/sharedGalleries/{'/'.join(names)}' "
        "under resource group '<null>' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def _gallery(ctx: Ctx, p: dict[str, str]) -> tuple[str, cg.SharedGallerySpec]:
    ctx.world.require_subscription(p["sub"])
    location = p["location"].lower()
    gallery = cg.find_shared_gallery(p["gallery"], location)
    if gallery is None:
        raise _not_found(location, p["gallery"])
    return location, gallery


def _image(ctx: Ctx, p: dict[str, str]) -> tuple[str, cg.SharedGallerySpec, cg.GalleryImageSpec]:
    location, gallery = _gallery(ctx, p)
    spec = cg.find_image(gallery.images, p["image"])
    if spec is None:
        raise _not_found(location, gallery.unique_name, "images", p["image"])
    return location, gallery, spec


@router.get(_LIST)
async def list_galleries(ctx: Ctx, p: dict[str, str]) -> web.Response:
    ctx.world.require_subscription(p["sub"])
    location = p["location"].lower()
    shared_to = (ctx.query("sharedTo") or "subscription").lower()
    if shared_to not in ("subscription", "tenant"):
        raise ArmError(
            400,
            "InvalidParameter",
            f"The value '{ctx.query('sharedTo')}' of parameter 'sharedTo' is not valid. "
            "Allowed values are 'subscription', 'tenant'.",
            target="sharedTo",
        )
    galleries = [
        cg.shared_gallery_json(g, location)
        for g in cg.SHARED_GALLERIES
        if location in g.locations and g.shared_to == shared_to
    ]
    return ctx.page(galleries)


@router.get(_BASE)
async def get_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery = _gallery(ctx, p)
    return reply(cg.shared_gallery_json(gallery, location))


@router.get(_BASE + "/images")
async def list_images(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery = _gallery(ctx, p)
    return ctx.page([cg.shared_image_json(gallery, spec, location) for spec in gallery.images])


@router.get(_BASE + "/images/{image}")
async def get_image(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery, spec = _image(ctx, p)
    return reply(cg.shared_image_json(gallery, spec, location))


@router.get(_BASE + "/images/{image}/versions")
async def list_versions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery, spec = _image(ctx, p)
    return ctx.page([cg.shared_version_json(gallery, spec, v, location) for v in spec.versions])


@router.get(_BASE + "/images/{image}/versions/{version}")
async def get_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery, spec = _image(ctx, p)
    version = cg.find_version(spec, p["version"])
    if version is None:
        raise _not_found(
            location, gallery.unique_name, "images", spec.name, "versions", p["version"]
        )
    return reply(cg.shared_version_json(gallery, spec, version, location))

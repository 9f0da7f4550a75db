"""Community galleries, addressed by public name per region."""

from __future__ import annotations

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError
from gui.sandbox.seed import community as cg

router = Router()

_BASE = (
    "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}"
    "/communityGalleries/{gallery}"
)


def _not_found(kind: str, location: str, *names: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Compute/locations/{location}/{kind}/{'/'.join(names)}' under "
        "resource group '<null>' was not found. For more details please go to "
        "https://aka.ms/ARMResourceNotFoundFix",
    )


def _gallery(ctx: Ctx, p: dict[str, str]) -> tuple[str, cg.CommunityGallerySpec]:
    ctx.world.require_subscription(p["sub"])
    location = p["location"].lower()
    gallery = cg.find_community_gallery(p["gallery"], location)
    if gallery is None:
        raise _not_found("communityGalleries", location, p["gallery"])
    return location, gallery


def _image(ctx: Ctx, p: dict[str, str]) -> tuple[str, cg.CommunityGallerySpec, cg.GalleryImageSpec]:
    location, gallery = _gallery(ctx, p)
    spec = cg.find_image(gallery.images, p["image"])
    if spec is None:
        raise _not_found("communityGalleries", location, gallery.public_name, "images", p["image"])
    return location, gallery, spec


@router.get(_BASE)
async def get_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery = _gallery(ctx, p)
    return reply(cg.community_gallery_json(gallery, location))


@router.get(_BASE + "/images")
async def list_images(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery = _gallery(ctx, p)
    return ctx.page([cg.community_image_json(gallery, spec, location) for spec in gallery.images])


@router.get(_BASE + "/images/{image}")
async def get_image(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery, spec = _image(ctx, p)
    return reply(cg.community_image_json(gallery, spec, location))


@router.get(_BASE + "/images/{image}/versions")
async def list_versions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery, spec = _image(ctx, p)
    return ctx.page([cg.community_version_json(gallery, spec, v, location) for v in spec.versions])


@router.get(_BASE + "/images/{image}/versions/{version}")
async def get_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, gallery, spec = _image(ctx, p)
    version = cg.find_version(spec, p["version"])
    if version is None:
        raise _not_found(
            "communityGalleries",
            location,
            gallery.public_name,
            "images",
            spec.name,
            "versions",
            p["version"],
        )
    return reply(cg.community_version_json(gallery, spec, version, location))

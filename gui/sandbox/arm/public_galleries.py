"""Community galleries (by public name) and galleries shared with the subscription or tenant (by
unique name): read-only, per region, routed by one factory since both answer the same five GETs."""

from __future__ import annotations

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, invalid_parameter, resource_not_found
from gui.sandbox.seed import community as cg

_LOCATION = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}"


def _not_found(segment: str, location: str, *names: str) -> ArmError:
    # Regional artifacts belong to no resource group; ARM says so in its own words.
    return resource_not_found(
        f"Microsoft.Compute/locations/{location}/{segment}", "/".join(names), "<null>"
    )


def gallery_routes(galleries: tuple[cg.G, ...], segment: str) -> Router:
    """GET a gallery, its images, an image, its versions and a version, under
    ``locations/{location}/<segment>/{gallery}``."""
    router = Router()
    base = f"{_LOCATION}/{segment}/{{gallery}}"

    def gallery_of(ctx: Ctx, p: dict[str, str]) -> tuple[str, cg.G]:
        ctx.world.require_subscription(p["sub"])
        location = p["location"].lower()
        gallery = cg.find_gallery(galleries, p["gallery"], location)
        if gallery is None:
            raise _not_found(segment, location, p["gallery"])
        return location, gallery

    def image_of(ctx: Ctx, p: dict[str, str]) -> tuple[str, cg.G, cg.GalleryImageSpec]:
        location, gallery = gallery_of(ctx, p)
        spec = cg.find_image(gallery.images, p["image"])
        if spec is None:
            raise _not_found(segment, location, gallery.name, "images", p["image"])
        return location, gallery, spec

    @router.get(base)
    async def get_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
        location, gallery = gallery_of(ctx, p)
        return reply(gallery.gallery_json(location))

    @router.get(base + "/images")
    async def list_images(ctx: Ctx, p: dict[str, str]) -> web.Response:
        location, gallery = gallery_of(ctx, p)
        return ctx.page([gallery.image_json(spec, location) for spec in gallery.images])

    @router.get(base + "/images/{image}")
    async def get_image(ctx: Ctx, p: dict[str, str]) -> web.Response:
        location, gallery, spec = image_of(ctx, p)
        return reply(gallery.image_json(spec, location))

    @router.get(base + "/images/{image}/versions")
    async def list_versions(ctx: Ctx, p: dict[str, str]) -> web.Response:
        location, gallery, spec = image_of(ctx, p)
        return ctx.page([gallery.version_json(spec, v, location) for v in spec.versions])

    @router.get(base + "/images/{image}/versions/{version}")
    async def get_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
        location, gallery, spec = image_of(ctx, p)
        version = cg.find_version(spec, p["version"])
        if version is None:
            names = (gallery.name, "images", spec.name, "versions", p["version"])
            raise _not_found(segment, location, *names)
        return reply(gallery.version_json(spec, version, location))

    return router


router = Router()


@router.get(f"{_LOCATION}/{cg.SharedGallerySpec.SEGMENT}")
async def list_shared_galleries(ctx: Ctx, p: dict[str, str]) -> web.Response:
    """Shared galleries are listed per region (community ones are found through Resource Graph)."""
    ctx.world.require_subscription(p["sub"])
    location = p["location"].lower()
    shared_to = (ctx.query("sharedTo") or "subscription").lower()
    if shared_to not in ("subscription", "tenant"):
        raise invalid_parameter(
            f"The value '{ctx.query('sharedTo')}' of parameter 'sharedTo' is not valid. "
            "Allowed values are 'subscription', 'tenant'.",
            target="sharedTo",
        )
    galleries = [
        g.gallery_json(location)
        for g in cg.SHARED_GALLERIES
        if location in g.locations and g.shared_to == shared_to
    ]
    return ctx.page(galleries)


router.include(gallery_routes(cg.COMMUNITY_GALLERIES, cg.CommunityGallerySpec.SEGMENT))
router.include(gallery_routes(cg.SHARED_GALLERIES, cg.SharedGallerySpec.SEGMENT))

"""Marketplace images: Microsoft.Compute/locations/publishers/artifacttypes/vmimage/...

Unlike most ARM lists these answer plain JSON arrays, without paging, as the real service does.
"""

from __future__ import annotations

import json
from functools import lru_cache

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import artifact_not_found, no_registered_provider
from gui.sandbox.seed import marketplace as mp
from gui.sandbox.seed.regions import REGIONS_BY_NAME
from gui.sandbox.seed.wellknown import Offer, Publisher, Sku

router = Router()

_BASE = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/publishers"
_OFFERS = _BASE + "/{publisher}/artifacttypes/vmimage/offers"
_SKUS = _OFFERS + "/{offer}/skus"
_VERSIONS = _SKUS + "/{sku}/versions"


def _location(ctx: Ctx, p: dict[str, str]) -> str:
    ctx.world.require_subscription(p["sub"])
    location = p["location"].lower().replace(" ", "")
    if location not in REGIONS_BY_NAME:
        err = no_registered_provider(p["location"], ctx.api_version, "locations/publishers")
        err.message += " The supported locations are '" + ", ".join(REGIONS_BY_NAME) + "'."
        raise err
    return location


def _publisher(ctx: Ctx, p: dict[str, str]) -> tuple[str, Publisher]:
    location = _location(ctx, p)
    publisher = mp.find_publisher(location, p["publisher"])
    if publisher is None:
        raise artifact_not_found()
    return location, publisher


def _offer(ctx: Ctx, p: dict[str, str]) -> tuple[str, Publisher, Offer]:
    location, publisher = _publisher(ctx, p)
    offer = mp.find_offer(publisher, p["offer"])
    if offer is None:
        raise artifact_not_found()
    return location, publisher, offer


def _sku(ctx: Ctx, p: dict[str, str]) -> tuple[str, Publisher, Offer, Sku]:
    location, publisher, offer = _offer(ctx, p)
    sku = mp.find_sku(offer, p["sku"])
    if sku is None:
        raise artifact_not_found()
    return location, publisher, offer, sku


@lru_cache(maxsize=16)
def _publishers_body(subscription_id: str, location: str) -> bytes:
    # Several thousand entries: serialised once per region, since the listing never changes.
    names = mp.publisher_names(location) if mp.is_marketplace_location(location) else ()
    return json.dumps([mp.listing_entry(subscription_id, location, n) for n in names]).encode()


@router.get(_BASE)
async def list_publishers(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location = _location(ctx, p)
    body = _publishers_body(p["sub"], location)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


@router.get(_OFFERS)
async def list_offers(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, publisher = _publisher(ctx, p)
    return reply(
        [mp.listing_entry(p["sub"], location, publisher.name, o.name) for o in publisher.offers]
    )


@router.get(_SKUS)
async def list_skus(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, publisher, offer = _offer(ctx, p)
    # SKU entries carry whether automatic OS upgrades are supported, as ARM lists them.
    return reply(
        [
            {
                **mp.listing_entry(p["sub"], location, publisher.name, offer.name, sku.name),
                "properties": {
                    "automaticOSUpgradeProperties": {
                        "automaticOSUpgradeSupported": sku.automatic_os_upgrade
                    }
                },
            }
            for sku in offer.skus
        ]
    )


@router.get(_VERSIONS)
async def list_versions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, publisher, offer, sku = _sku(ctx, p)
    versions = mp.sorted_versions(sku)
    orderby = (ctx.query("$orderby") or "").strip().lower()
    if orderby.endswith("desc"):
        versions.reverse()
    top = ctx.query("$top")
    if top and top.isdigit():
        versions = versions[: int(top)]
    expand = (ctx.query("$expand") or "").lower() == "properties"
    sid = p["sub"]
    if expand:
        return reply([mp.image_json(sid, location, publisher, offer, sku, v) for v in versions])
    return reply(
        [mp.listing_entry(sid, location, publisher.name, offer.name, sku.name, v) for v in versions]
    )


@router.get(_VERSIONS + "/{version}")
async def get_image(ctx: Ctx, p: dict[str, str]) -> web.Response:
    location, publisher, offer, sku = _sku(ctx, p)
    version = mp.find_version(sku, p["version"])
    if version is None:
        raise artifact_not_found()
    return reply(mp.image_json(p["sub"], location, publisher, offer, sku, version))

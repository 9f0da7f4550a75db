"""Marketplace terms: Microsoft.MarketplaceOrdering agreements, per subscription and plan.

A VM from a Marketplace image with a purchase plan needs the plan's terms accepted in the
subscription first (Azure refuses the VM otherwise). The shapes follow
specification/marketplaceordering/resource-manager/Microsoft.MarketplaceOrdering/stable/
2021-01-01/Agreements.json: the terms of a plan are read (``agreements/current``), accepted by
putting them back with ``accepted: true`` and the signature they were read with (as az and the
portal do), and cancelled by a POST. Terms of a plan the Marketplace does not have answer 404.

The sandbox keeps accepted terms as resources in its store, so they survive a restart as they
do in Azure; ``terms_accepted`` is what the VM handlers ask.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from aiohttp import web

from gui.sandbox.arm.context import Ctx, Json, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, bad_request
from gui.sandbox.seed import marketplace as mp

router = Router()

TERMS_TYPE = "Microsoft.MarketplaceOrdering/offertypes"
OFFER_TYPE = "virtualmachine"
_PROVIDER = "/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering"
_CURRENT = _PROVIDER + "/offerTypes/{offer_type}/publishers/{publisher}/offers/{offer}" \
    "/plans/{plan}/agreements/current"  # fmt: skip
_AGREEMENT = _PROVIDER + "/agreements/{publisher}/offers/{offer}/plans/{plan}"
# Any Marketplace region knows every plan: plans are global, the image list is per region.
_PLAN_REGION = "westeurope"
_LEGAL = "https://mpcprodsa.blob.core.windows.net/legalterms"


def _terms_id(subscription_id: str, publisher: str, offer: str, plan: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.MarketplaceOrdering/offerTypes/"
        f"{OFFER_TYPE}/publishers/{publisher}/offers/{offer}/plans/{plan}/agreements/current"
    )


def _signature(subscription_id: str, publisher: str, offer: str, plan: str) -> str:
    """Stable per subscription and plan, as Azure's is for one version of the terms."""
    digest = hashlib.sha256(f"{subscription_id}/{publisher}/{offer}/{plan}".lower().encode())
    return digest.hexdigest()[:40].upper()


def _require_plan(publisher: str, offer: str, plan: str) -> tuple[str, str, str]:
    """The plan's names as the Marketplace spells them, or 404 for a plan it does not sell."""
    found = mp.find_publisher(_PLAN_REGION, publisher)
    found_offer = mp.find_offer(found, offer) if found is not None else None
    sku = mp.find_sku(found_offer, plan) if found_offer is not None else None
    if found is None or found_offer is None or sku is None or not sku.plan:
        raise ArmError(
            404,
            "NotFound",
            f"Offer with PublisherId: '{publisher}', OfferId: '{offer}' and PlanId: '{plan}' "
            "cannot be purchased due to validation errors: the plan was not found.",
        )
    return found.name.lower(), found_offer.name, sku.name


def _terms(ctx: Ctx, sub: str, publisher: str, offer: str, plan: str) -> Json:
    ctx.world.require_subscription(sub)
    publisher, offer, plan = _require_plan(publisher, offer, plan)
    stored = ctx.world.store.get(_terms_id(sub, publisher, offer, plan))
    accepted = bool(stored and stored["properties"].get("accepted"))
    when = stored["properties"].get("retrieveDatetime") if stored else None
    return {
        "id": _terms_id(sub, publisher, offer, plan),
        "name": plan,
        "type": TERMS_TYPE,
        "properties": {
            "publisher": publisher,
            "product": offer,
            "plan": plan,
            "licenseTextLink": f"{_LEGAL}/{publisher}-{offer}-{plan}.txt",
            "privacyPolicyLink": f"https://www.example.com/{publisher}/privacy",
            "marketplaceTermsLink": "https://mpcprodsa.blob.core.windows.net/marketplaceterms/"
            "marketplaceterms_VIRTUALMACHINE.txt",
            "retrieveDatetime": when or datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "signature": _signature(sub, publisher, offer, plan),
            "accepted": accepted,
        },
    }


def _store_acceptance(ctx: Ctx, terms: Json, accepted: bool) -> Json:
    terms["properties"]["accepted"] = accepted
    terms["properties"]["retrieveDatetime"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    if accepted:
        ctx.world.store.put(terms)
    else:
        ctx.world.store.delete(terms["id"])
    return terms


def terms_accepted(ctx: Ctx, subscription_id: str, publisher: str, offer: str, plan: str) -> bool:
    """Whether a VM with this plan may be created in the subscription."""
    stored = ctx.world.store.get(_terms_id(subscription_id, publisher.lower(), offer, plan))
    return bool(stored and stored["properties"].get("accepted"))


def _check_offer_type(p: dict[str, str]) -> None:
    if p["offer_type"].lower() != OFFER_TYPE:
        raise bad_request(
            f"Offer type '{p['offer_type']}' is not supported; the only offer type is "
            f"'{OFFER_TYPE}'."
        )


@router.get(_CURRENT)
async def get_terms(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _check_offer_type(p)
    return reply(_terms(ctx, p["sub"], p["publisher"], p["offer"], p["plan"]))


@router.put(_CURRENT)
async def set_terms(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _check_offer_type(p)
    terms = _terms(ctx, p["sub"], p["publisher"], p["offer"], p["plan"])
    properties = ctx.json().get("properties")
    if not isinstance(properties, dict) or not isinstance(properties.get("accepted"), bool):
        raise bad_request("The request body must carry properties.accepted (true or false).")
    if properties["accepted"] and properties.get("signature") != terms["properties"]["signature"]:
        # Terms are accepted as they were read: a body without the signature of the current
        # terms would accept something the user never saw.
        raise bad_request(
            "The signature does not match the current terms of this plan. Read the terms "
            "(GET .../agreements/current) and send them back with accepted set to true."
        )
    return reply(_store_acceptance(ctx, terms, properties["accepted"]))


@router.post(_AGREEMENT + "/cancel")
async def cancel_terms(ctx: Ctx, p: dict[str, str]) -> web.Response:
    terms = _terms(ctx, p["sub"], p["publisher"], p["offer"], p["plan"])
    return reply(_store_acceptance(ctx, terms, False))


@router.post(_AGREEMENT + "/sign")
async def sign_terms(ctx: Ctx, p: dict[str, str]) -> web.Response:
    terms = _terms(ctx, p["sub"], p["publisher"], p["offer"], p["plan"])
    return reply(_store_acceptance(ctx, terms, True))


@router.get(_AGREEMENT)
async def get_agreement(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return reply(_terms(ctx, p["sub"], p["publisher"], p["offer"], p["plan"]))

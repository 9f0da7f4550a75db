"""Guard: the seeded world stays exactly what it was (the seed is data, refactors must not move it).

The digest covers every resource the seed produces: the mutable ARM resources (groups, images,
galleries, VMs, disks), the storage accounts and their homes, the community and shared galleries
as ARM and Resource Graph show them in every region, the well-known Marketplace catalogue as image
bodies, and the regions.

When the seed changes ON PURPOSE, run
    python -c "from tests.sandbox.test_seed_digest import seed_digest; print(seed_digest())"
and paste the printed value into SEED_DIGEST with a line in the commit message saying what changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID, SANDBOX_SUBSCRIPTIONS
from gui.sandbox.seed.community import COMMUNITY_GALLERIES, SHARED_GALLERIES, graph_rows
from gui.sandbox.seed.marketplace import image_json
from gui.sandbox.seed.regions import REGIONS, location_json
from gui.sandbox.seed.storage import STORAGE_ACCOUNT_HOMES
from gui.sandbox.seed.wellknown import WELL_KNOWN
from gui.sandbox.seed.world import STORAGE_ACCOUNTS, initial_resources

SEED_DIGEST = "f925c7c4120e07a0a0359bf394c1faad375638f6bc54e63964d7630cc091b01d"


def _galleries() -> list[Any]:
    out: list[Any] = []
    for gallery in (*COMMUNITY_GALLERIES, *SHARED_GALLERIES):
        for location in gallery.locations:
            out.append(gallery.gallery_json(location))
            for spec in gallery.images:
                out.append(gallery.image_json(spec, location))
                out += [gallery.version_json(spec, v, location) for v in spec.versions]
    return out


def _marketplace() -> list[Any]:
    return [
        image_json(PRODUCTION_SUBSCRIPTION_ID, "westeurope", publisher, offer, sku, version)
        for publisher in WELL_KNOWN
        for offer in publisher.offers
        for sku in offer.skus
        for version in sku.versions
    ]


def seeded_world() -> dict[str, Any]:
    return {
        "subscriptions": SANDBOX_SUBSCRIPTIONS,
        "resources": initial_resources(),
        "storage_accounts": STORAGE_ACCOUNTS,
        "storage_homes": STORAGE_ACCOUNT_HOMES,
        "galleries": _galleries(),
        "graph": graph_rows(),
        "well_known": [dataclasses.asdict(p) for p in WELL_KNOWN],
        "marketplace": _marketplace(),
        "regions": [location_json(PRODUCTION_SUBSCRIPTION_ID, r) for r in REGIONS],
    }


def seed_digest() -> str:
    # Order matters where ARM returns things in seed order, so lists keep theirs; keys are sorted.
    text = json.dumps(seeded_world(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_seeded_world_is_unchanged() -> None:
    assert seed_digest() == SEED_DIGEST


def test_the_seed_holds_what_the_digest_is_about() -> None:
    # A digest of an empty world would guard nothing: the parts it covers are all there.
    world = seeded_world()
    types = {r["type"] for r in world["resources"]}
    assert {
        "Microsoft.Resources/resourceGroups",
        "Microsoft.Compute/images",
        "Microsoft.Compute/galleries",
        "Microsoft.Compute/galleries/images",
        "Microsoft.Compute/galleries/images/versions",
        "Microsoft.Compute/virtualMachines",
        "Microsoft.Compute/disks",
    } <= types
    assert world["galleries"] and world["graph"] and world["marketplace"] and world["regions"]

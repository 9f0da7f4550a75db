"""The Marketplace image catalogue per region: publishers → offers → SKUs → versions → image.

Read-only and generated: the well-known publishers from ``wellknown``, the rest from ``filler``.
The JSON built here is what ARM's VirtualMachineImages operations return, including the fields
older API versions add (``sizeInBytes``/``sizeInGb`` on disk images).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from gui.sandbox.seed.filler import filler_publisher, publishers_for_location
from gui.sandbox.seed.regions import MARKETPLACE_REGIONS, REGIONS_BY_NAME
from gui.sandbox.seed.wellknown import WELL_KNOWN, Offer, Publisher, Sku

Json = dict[str, Any]
GIB = 1024**3
_WELL_KNOWN_BY_KEY = {p.name.lower(): p for p in WELL_KNOWN}


def version_key(version: str) -> tuple[int | str, ...]:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"[.]", version))


@lru_cache(maxsize=32)
def publisher_names(location: str) -> tuple[str, ...]:
    """Every publisher a region lists (case-insensitive alphabetical, as ARM returns them)."""
    region = REGIONS_BY_NAME[location]
    reserved = frozenset(_WELL_KNOWN_BY_KEY)
    filler = publishers_for_location(
        location, region.marketplace_publishers - len(WELL_KNOWN), reserved
    )
    names = [p.name for p in WELL_KNOWN] + filler
    return tuple(sorted(names, key=str.lower))


@lru_cache(maxsize=32)
def _publisher_keys(location: str) -> dict[str, str]:
    return {name.lower(): name for name in publisher_names(location)}


def is_marketplace_location(location: str) -> bool:
    return location.lower() in MARKETPLACE_REGIONS


def find_publisher(location: str, name: str) -> Publisher | None:
    location = location.lower()
    if not is_marketplace_location(location):
        return None
    real_name = _publisher_keys(location).get(name.lower())
    if real_name is None:
        return None
    return _WELL_KNOWN_BY_KEY.get(real_name.lower()) or filler_publisher(real_name)


def find_offer(publisher: Publisher, name: str) -> Offer | None:
    return next((o for o in publisher.offers if o.name.lower() == name.lower()), None)


def find_sku(offer: Offer, name: str) -> Sku | None:
    return next((s for s in offer.skus if s.name.lower() == name.lower()), None)


def sorted_versions(sku: Sku) -> list[str]:
    return sorted(sku.versions, key=version_key)


def find_version(sku: Sku, version: str) -> str | None:
    if version.lower() == "latest":
        return sorted_versions(sku)[-1]
    return next((v for v in sku.versions if v.lower() == version.lower()), None)


def artifact_id(subscription_id: str, location: str, *path: str) -> str:
    """The id ARM gives Marketplace artifacts (note its capitalised segment names)."""
    labels = ("Publishers", "ArtifactTypes/VMImage/Offers", "Skus", "Versions")
    parts = [f"/Subscriptions/{subscription_id}/Providers/Microsoft.Compute/Locations/{location}"]
    parts += [f"{label}/{value}" for label, value in zip(labels, path, strict=False)]
    return "/".join(parts)


def listing_entry(subscription_id: str, location: str, *path: str) -> Json:
    return {
        "location": location,
        "name": path[-1],
        "id": artifact_id(subscription_id, location, *path),
    }


def _disk_size(gib: int) -> Json:
    # Platform images report the VHD size: a whole number of GiB plus the 512-byte footer.
    size_bytes = gib * GIB + 512
    return {"sizeInBytes": size_bytes, "sizeInGb": -(-size_bytes // GIB)}


def _features(sku: Sku) -> list[Json]:
    features: list[Json] = []
    if sku.generation == "V2" and sku.security:
        features.append({"name": "SecurityType", "value": sku.security})
    features.append(
        {"name": "IsAcceleratedNetworkSupported", "value": str(sku.accelerated_networking)}
    )
    features.append({"name": "DiskControllerTypes", "value": "SCSI, NVMe" if sku.nvme else "SCSI"})
    if sku.generation == "V2":
        features.append({"name": "IsHibernateSupported", "value": str(sku.hibernate)})
    return features


def image_json(  # noqa: PLR0917 - the six parts of a Marketplace image's address
    subscription_id: str, location: str, publisher: Publisher, offer: Offer, sku: Sku, version: str
) -> Json:
    """The VirtualMachineImage body: GET .../Skus/{sku}/Versions/{version}."""
    properties: Json = {
        "hyperVGeneration": sku.generation,
        "architecture": sku.architecture,
        "replicaType": "Managed",
        "replicaCount": 10,
        "disallowed": {"vmDiskType": "Unmanaged"},
        "automaticOSUpgradeProperties": {"automaticOSUpgradeSupported": sku.automatic_os_upgrade},
        "imageDeprecationStatus": _deprecation(sku, version),
        "features": _features(sku),
        "osDiskImage": {"operatingSystem": sku.os, **_disk_size(sku.os_gib)},
        "dataDiskImages": [
            {"lun": lun, **_disk_size(gib)} for lun, gib in enumerate(sku.data_disk_gib)
        ],
    }
    if sku.plan:
        properties["plan"] = {"publisher": publisher.name, "name": sku.name, "product": offer.name}
    return {
        "properties": properties,
        "location": location,
        "name": version,
        "id": artifact_id(subscription_id, location, publisher.name, offer.name, sku.name, version),
    }


def _deprecation(sku: Sku, version: str) -> Json:
    dep = sku.deprecation
    if dep is None:
        return {"imageState": "Active"}
    status: Json = {"imageState": dep.state, "scheduledDeprecationTime": dep.scheduled}
    if dep.alternative_offer:
        status["alternativeOption"] = {"type": "Offer", "value": dep.alternative_offer}
    return status

"""Helpers shared by the resource handlers that create and delete things."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from gui.sandbox.errors import ArmError
from gui.sandbox.seed.regions import REGIONS, REGIONS_BY_NAME

Json = dict[str, Any]

_DISPLAY_TO_NAME = {r.display_name.lower().replace(" ", ""): r.name for r in REGIONS}


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "0Z").replace(".", ".", 1)


def region_name(value: str, target: str = "location") -> str:
    """A region's short name from its short or display name, e.g. "West Europe" -> westeurope."""
    key = str(value).lower().replace(" ", "")
    if key in REGIONS_BY_NAME:
        return key
    if key in _DISPLAY_TO_NAME:
        return _DISPLAY_TO_NAME[key]
    raise ArmError(
        400,
        "LocationNotAvailableForResourceType",
        f"The provided location '{value}' is not available for resource type "
        f"'{target}'. List of available regions for the resource type is "
        f"'{','.join(REGIONS_BY_NAME)}'.",
    )


def display_region(value: str) -> str:
    return REGIONS_BY_NAME[region_name(value)].display_name


def require_location(body: Json) -> str:
    location = body.get("location")
    if not location:
        raise ArmError(
            400, "LocationRequired", "The location property is required for this definition."
        )
    return region_name(str(location))


_COMPUTE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9_]$")


def check_compute_name(name: str) -> None:
    """Disks, snapshots and images: 1-80 word characters, '.', '-'; ends with a word char."""
    if not _COMPUTE_NAME.match(name):
        raise ArmError(
            400,
            "InvalidResourceName",
            f"Resource name {name} is invalid. The name can be up to 80 characters long. It must "
            "begin with a word character, and it must end with a word character or with '_'. "
            "The name may contain word characters or '.', '-', '_'.",
        )


def missing(parameter: str, target: str | None = None) -> ArmError:
    return ArmError(
        400,
        "InvalidParameter",
        f"Required parameter '{parameter}' is missing (null).",
        target=target or parameter,
    )


def parse_resource_id(resource_id: str) -> dict[str, str]:
    """Split an ARM id into subscription, resourceGroup, and type/name pairs (lower-cased keys)."""
    parts = [p for p in resource_id.split("/") if p]
    out: dict[str, str] = {}
    i = 0
    while i + 1 < len(parts):
        key = parts[i].lower()
        if key == "providers":
            out["provider"] = parts[i + 1]
            i += 2
            continue
        out[key] = parts[i + 1]
        i += 2
    return out

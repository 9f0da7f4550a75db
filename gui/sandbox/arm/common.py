"""Helpers shared by the resource handlers that create and delete things."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, invalid_parameter, resource_not_found
from gui.sandbox.seed.regions import REGIONS, REGIONS_BY_NAME
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import public

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
    return invalid_parameter(
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


def find_compute(
    ctx: Ctx, subscription_id: str, resource_group: str, resource_type: str, name: str
) -> tuple[Json, Json | None]:
    """(the resource group, the Microsoft.Compute resource of that type and name in it or None);
    a missing subscription or group is an error of its own, as in ARM."""
    group = ctx.world.require_resource_group(subscription_id, resource_group)
    segment = resource_type.split("/", 1)[1]
    found = ctx.world.store.get(compute_id(subscription_id, group["name"], segment, name))
    if found is not None and found["type"].lower() != resource_type.lower():
        found = None
    return group, found


def require_compute(
    ctx: Ctx, subscription_id: str, resource_group: str, resource_type: str, name: str
) -> Json:
    """The Microsoft.Compute resource, or ARM's ResourceNotFound."""
    group, found = find_compute(ctx, subscription_id, resource_group, resource_type, name)
    if found is None:
        raise resource_not_found(resource_type, name, group["name"])
    return found


def add_read_routes(router: Router, resource_type: str, name_param: str = "name") -> None:
    """The three GETs every Microsoft.Compute resource type answers alike: list in the
    subscription, list in a resource group, get one (``{name_param}`` names it in the path)."""
    segment = resource_type.split("/", 1)[1]
    in_group = f"/subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{resource_type}"

    async def list_all(ctx: Ctx, p: dict[str, str]) -> web.Response:
        sid = ctx.world.require_subscription(p["sub"])
        found = ctx.world.store.under(f"/subscriptions/{sid}", resource_type)
        return ctx.page([public(r) for r in found])

    async def list_by_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
        group = ctx.world.require_resource_group(p["sub"], p["rg"])
        return ctx.page([public(r) for r in ctx.world.store.children(group["id"], resource_type)])

    async def get(ctx: Ctx, p: dict[str, str]) -> web.Response:
        found = require_compute(ctx, p["sub"], p["rg"], resource_type, p[name_param])
        return reply(public(found))

    router.add("GET", f"/subscriptions/{{sub}}/providers/Microsoft.Compute/{segment}", list_all)
    router.add("GET", in_group, list_by_resource_group)
    router.add("GET", f"{in_group}/{{{name_param}}}", get)


def version_disks(source: Json, os_disk: Json, data_disks: list[Json]) -> Json:
    """A gallery image version's storage profile from its source's disks (a VM's or an image's)."""
    return {
        "source": source,
        "osDiskImage": {
            "sizeInGB": os_disk.get("diskSizeGB"),
            "hostCaching": os_disk.get("caching", "ReadWrite"),
        },
        "dataDiskImages": [
            {
                "lun": d["lun"],
                "sizeInGB": d.get("diskSizeGB"),
                "hostCaching": d.get("caching", "None"),
            }
            for d in data_disks
        ],
    }


def put_request(ctx: Ctx, name: str, check_name: Callable[[str], None]) -> tuple[Json, str, Json]:
    """A PUT checked in ARM's order (the name, then the body's location): its body, region and
    properties."""
    check_name(name)
    body = ctx.json()
    return body, require_location(body), body.get("properties") or {}


def require_sku(body: Json, allowed: Collection[str]) -> str:
    """The request's sku.name (Standard_LRS when it names none), which must be one of
    ``allowed``."""
    sku = str((body.get("sku") or {}).get("name") or "Standard_LRS")
    if sku not in allowed:
        raise invalid_parameter(
            f"The value '{sku}' of parameter 'sku.name' is invalid. Allowed values are "
            f"{', '.join(allowed)}.",
            target="sku.name",
        )
    return sku


class PutInGroup(NamedTuple):
    group: Json
    subscription_id: str
    body: Json
    location: str
    properties: Json
    existing: Json | None


def put_in_group(
    ctx: Ctx, p: dict[str, str], resource_type: str, name: str, check_name: Callable[[str], None]
) -> PutInGroup:
    """A PUT of a Microsoft.Compute resource right under a resource group, checked in ARM's order
    (the group, the subscription, the name, then the body's location), with the resource of that
    name already there (None when the PUT creates it)."""
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    sid = ctx.world.require_subscription(p["sub"])
    body, location, props = put_request(ctx, name, check_name)
    segment = resource_type.split("/", 1)[1]
    existing = ctx.world.store.get(compute_id(sid, group["name"], segment, name))
    return PutInGroup(group, sid, body, location, props, existing)


def new_compute_resource(  # noqa: PLR0917 - the parts of every new resource's envelope
    subscription_id: str,
    resource_group: str,
    resource_type: str,
    name: str,
    location: str,
    body: Json,
) -> Json:
    """The envelope of a Microsoft.Compute resource a PUT creates (id, name, type, location and
    the tags the request gave); the caller adds its sku and properties."""
    return {
        "id": compute_id(subscription_id, resource_group, resource_type.split("/", 1)[1], name),
        "name": name,
        "type": resource_type,
        "location": location,
        "tags": body.get("tags") or {},
    }

"""Microsoft.Resources: tenants, subscriptions, locations and resource groups."""

from __future__ import annotations

import contextlib

from aiohttp import web

from gui.sandbox.arm.context import Ctx, Json, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, operation_not_allowed
from gui.sandbox.seed import SANDBOX_SUBSCRIPTIONS, SANDBOX_TENANT_ID
from gui.sandbox.seed.regions import REGIONS, location_json
from gui.sandbox.seed.world import resource_group, rg_id
from gui.sandbox.world import public

router = Router()

_RG_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.()")


def subscription_json(subscription_id: str, display_name: str) -> Json:
    return {
        "id": f"/subscriptions/{subscription_id}",
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription_id,
        "tenantId": SANDBOX_TENANT_ID,
        "displayName": display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
    }


@router.get("/tenants")
async def list_tenants(ctx: Ctx, p: dict[str, str]) -> web.Response:
    tenant = {
        "id": f"/tenants/{SANDBOX_TENANT_ID}",
        "tenantId": SANDBOX_TENANT_ID,
        "tenantCategory": "Home",
        "country": "Netherlands",
        "countryCode": "NL",
        "displayName": "Contoso (sandbox)",
        "domains": ["contoso-sandbox.onmicrosoft.com"],
        "defaultDomain": "contoso-sandbox.onmicrosoft.com",
        "tenantType": "AAD",
    }
    return ctx.page([tenant])


@router.get("/subscriptions")
async def list_subscriptions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return ctx.page([subscription_json(sid, name) for sid, name in SANDBOX_SUBSCRIPTIONS])


@router.get("/subscriptions/{sub}")
async def get_subscription(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    name = dict(SANDBOX_SUBSCRIPTIONS)[sid]
    return reply(subscription_json(sid, name))


@router.get("/subscriptions/{sub}/locations")
async def list_locations(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    return reply({"value": [location_json(sid, region) for region in REGIONS]})


@router.get("/subscriptions/{sub}/resourcegroups")
async def list_resource_groups(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    groups = ctx.world.store.children(f"/subscriptions/{sid}", "Microsoft.Resources/resourceGroups")
    return ctx.page([public(g) for g in groups])


@router.get("/subscriptions/{sub}/resourcegroups/{rg}")
async def get_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return reply(public(ctx.world.require_resource_group(p["sub"], p["rg"])))


@router.put("/subscriptions/{sub}/resourcegroups/{rg}")
async def put_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    name = p["rg"]
    if len(name) > 90 or not set(name) <= _RG_NAME_CHARS or name.endswith("."):
        raise ArmError(
            400,
            "InvalidResourceGroup",
            f"Resource group name '{name}' is invalid. It can include alphanumeric, underscore, "
            "parentheses, hyphen, period (except at end), and Unicode characters that match the "
            "allowed characters.",
        )
    body = ctx.json()
    location = body.get("location")
    if not location:
        raise ArmError(
            400, "LocationRequired", "The location property is required for this definition."
        )
    existing = ctx.world.store.get(rg_id(sid, name))
    if existing is not None:
        existing["tags"] = body.get("tags", existing.get("tags", {}))
        ctx.world.store.put(existing)
        return reply(public(existing), 200)
    group = resource_group(
        sid, name, str(location).lower().replace(" ", ""), body.get("tags") or {}
    )
    ctx.world.store.put(group)
    return reply(public(group), 201)


_BUSY_DISK_STATES = ("ActiveUpload", "ActiveSAS", "ActiveSASFrozen")


@router.delete("/subscriptions/{sub}/resourcegroups/{rg}")
async def delete_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    """Delete the group and everything in it, as a long-running operation (202, then gone).

    Like Azure, a disk still open for upload or export blocks the deletion: its access has to be
    revoked first. Until the operation ends the group reads as ``Deleting``.
    """
    from gui.sandbox.arm.disks import DISK_TYPE, backing_blob
    from gui.sandbox.arm.lro import accepted
    from gui.sandbox.blob.errors import BlobError

    world = ctx.world
    group = world.require_resource_group(p["sub"], p["rg"])
    disks = world.store.under(group["id"], DISK_TYPE)
    busy = [d for d in disks if d["properties"].get("diskState") in _BUSY_DISK_STATES]
    if busy:
        disk = busy[0]
        raise operation_not_allowed(
            f"Resource group '{group['name']}' cannot be deleted: disk {disk['name']} is in the "
            f"'{disk['properties']['diskState']}' state. Revoke access to the disk "
            "(endGetAccess) first.",
        )
    group["properties"] = {**group.get("properties", {}), "provisioningState": "Deleting"}
    world.store.put(group)

    def finish() -> None:
        for disk in world.store.under(group["id"], DISK_TYPE):
            if "_blob" in disk:
                account, container, _ = backing_blob(disk)
                with contextlib.suppress(BlobError):  # already gone: the disk is what matters
                    world.blobs.delete_container(account, container)
        world.store.delete(group["id"])

    return accepted(ctx, p["sub"], group["location"], on_done=finish)

"""Microsoft.Network as far as a VM needs it: virtual networks (with their subnets), network
interfaces and public IP addresses. PUT, GET and DELETE; they live in their resource group and go
with it.

A PUT answers 201 with the resource already ``Succeeded`` (a network PUT may, per the spec's 200/201
responses; the SDK's poller then has nothing to wait for). A NIC names a subnet that must exist;
a NIC attached to a VM cannot be deleted (``NicInUse``), as in Azure.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import require_location
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, invalid_parameter
from gui.sandbox.seed.world import rg_id
from gui.sandbox.world import World, public

Json = dict[str, Any]
router = Router()

VNET_TYPE = "Microsoft.Network/virtualNetworks"
NIC_TYPE = "Microsoft.Network/networkInterfaces"
PIP_TYPE = "Microsoft.Network/publicIPAddresses"
_NETWORK = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network"
_VNET = _NETWORK + "/virtualNetworks/{name}"
_NIC = _NETWORK + "/networkInterfaces/{name}"
_PIP = _NETWORK + "/publicIPAddresses/{name}"
_PIP_SKUS = ("Basic", "Standard")


def network_id(subscription_id: str, resource_group: str, *path: str) -> str:
    return f"{rg_id(subscription_id, resource_group)}/providers/Microsoft.Network/" + "/".join(path)


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


def _not_found(kind: str, name: str, group: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource 'Microsoft.Network/{kind}/{name}' under resource group '{group}' was not "
        "found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def _prefix(value: object, target: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise ArmError(
            400,
            "InvalidAddressPrefixFormat",
            f"Address prefix {value} of resource {target} is not formatted correctly. It should "
            "follow CIDR notation, for example 10.0.0.0/24.",
        ) from exc


@router.put(_VNET)
async def put_vnet(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    sid = ctx.world.require_subscription(p["sub"])
    body = ctx.json()
    location = require_location(body)
    props = body.get("properties") or {}
    vnet_id = network_id(sid, group["name"], "virtualNetworks", p["name"])
    spaces = [
        _prefix(prefix, vnet_id)
        for prefix in (props.get("addressSpace") or {}).get("addressPrefixes") or []
    ]
    if not spaces:
        raise invalid_parameter(
            f"Virtual network {vnet_id} has no address space. Give at least one address prefix.",
            target="properties.addressSpace.addressPrefixes",
        )
    subnets: list[Json] = []
    for subnet in props.get("subnets") or []:
        name = str(subnet.get("name") or "")
        sub_props = subnet.get("properties") or {}
        subnet_id = f"{vnet_id}/subnets/{name}"
        prefix = _prefix(sub_props.get("addressPrefix"), subnet_id)
        if not any(prefix.subnet_of(space) for space in spaces if space.version == prefix.version):  # type: ignore[arg-type]
            raise ArmError(
                400,
                "NetcfgSubnetRangeOutsideVnet",
                f"Subnet '{name}' is not valid because its IP address range is outside the IP "
                f"address range of virtual network '{p['name']}'.",
            )
        subnets.append(
            {
                "id": subnet_id,
                "name": name,
                "type": f"{VNET_TYPE}/subnets",
                "etag": _etag(),
                "properties": {"addressPrefix": str(prefix), "provisioningState": "Succeeded"},
            }
        )
    existing = ctx.world.store.get(vnet_id)
    vnet: Json = {
        "id": vnet_id,
        "name": p["name"],
        "type": VNET_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "etag": _etag(),
        "properties": {
            "addressSpace": {"addressPrefixes": [str(s) for s in spaces]},
            "subnets": subnets,
            "provisioningState": "Succeeded",
            "resourceGuid": str(uuid.uuid4()),
        },
    }
    ctx.world.store.put(vnet)
    return reply(public(vnet), 200 if existing is not None else 201)


@router.get(_VNET)
async def get_vnet(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    found = ctx.world.store.get(network_id(p["sub"], group["name"], "virtualNetworks", p["name"]))
    if found is None:
        raise _not_found("virtualNetworks", p["name"], group["name"])
    return reply(public(found))


@router.delete(_VNET)
async def delete_vnet(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    vnet_id = network_id(p["sub"], group["name"], "virtualNetworks", p["name"])
    if ctx.world.store.get(vnet_id) is None:
        return web.Response(status=204)
    used = [
        nic["name"]
        for nic in ctx.world.store.of_type(NIC_TYPE)
        if _nic_subnet(nic).lower().startswith(vnet_id.lower() + "/")
    ]
    if used:
        raise ArmError(
            400,
            "InUseSubnetCannotBeDeleted",
            f"Subnet default is in use by network interface {used[0]} and cannot be deleted. "
            "Delete the network interface first.",
        )
    ctx.world.store.delete(vnet_id)
    return web.Response(status=200)


def _nic_subnet(nic: Json) -> str:
    configs = nic["properties"].get("ipConfigurations") or [{}]
    return str(((configs[0].get("properties") or {}).get("subnet") or {}).get("id") or "")


def _find_subnet(world: World, subnet_id: str) -> Json | None:
    vnet_id, _, name = subnet_id.rstrip("/").rpartition("/subnets/")
    vnet = world.store.get(vnet_id)
    if vnet is None:
        return None
    return next(
        (s for s in vnet["properties"]["subnets"] if s["name"].lower() == name.lower()), None
    )


@router.put(_NIC)
async def put_nic(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    sid = ctx.world.require_subscription(p["sub"])
    body = ctx.json()
    location = require_location(body)
    props = body.get("properties") or {}
    nic_id = network_id(sid, group["name"], "networkInterfaces", p["name"])
    configs = props.get("ipConfigurations") or []
    if not configs:
        raise invalid_parameter(
            f"Network interface {nic_id} must have one or more IP configurations.",
            target="properties.ipConfigurations",
        )
    shown: list[Json] = []
    for index, config in enumerate(configs):
        c_props = config.get("properties") or {}
        subnet_id = str((c_props.get("subnet") or {}).get("id") or "")
        subnet = _find_subnet(ctx.world, subnet_id) if subnet_id else None
        if subnet is None:
            raise ArmError(
                400,
                "InvalidResourceReference",
                f"Resource {subnet_id or '(none)'} referenced by resource {nic_id} was not found. "
                "Please make sure that the referenced resource exists, and that both resources "
                "are in the same region.",
            )
        network = ipaddress.ip_network(subnet["properties"]["addressPrefix"])
        # Azure keeps the first four addresses of a subnet for itself.
        address = str(network.network_address + 4 + index)
        public_ip = c_props.get("publicIPAddress")
        if public_ip:
            pip = ctx.world.store.get(str(public_ip.get("id") or ""))
            if pip is None:
                raise ArmError(
                    400,
                    "InvalidResourceReference",
                    f"Resource {public_ip.get('id')} referenced by resource {nic_id} was not "
                    "found. Please make sure that the referenced resource exists, and that both "
                    "resources are in the same region.",
                )
        entry: Json = {
            "id": f"{nic_id}/ipConfigurations/{config.get('name') or 'ipconfig1'}",
            "name": config.get("name") or "ipconfig1",
            "type": f"{NIC_TYPE}/ipConfigurations",
            "etag": _etag(),
            "properties": {
                "privateIPAddress": address,
                "privateIPAllocationMethod": c_props.get("privateIPAllocationMethod") or "Dynamic",
                "subnet": {"id": subnet["id"]},
                "primary": index == 0,
                "privateIPAddressVersion": "IPv4",
                "provisioningState": "Succeeded",
            },
        }
        if public_ip:
            entry["properties"]["publicIPAddress"] = {"id": str(public_ip.get("id") or "")}
        shown.append(entry)
    existing = ctx.world.store.get(nic_id)
    nic: Json = {
        "id": nic_id,
        "name": p["name"],
        "type": NIC_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "etag": _etag(),
        "properties": {
            "ipConfigurations": shown,
            "provisioningState": "Succeeded",
            "resourceGuid": str(uuid.uuid4()),
            "enableAcceleratedNetworking": bool(props.get("enableAcceleratedNetworking")),
            "enableIPForwarding": bool(props.get("enableIPForwarding")),
            "nicType": "Standard",
        },
    }
    if existing is not None and existing["properties"].get("virtualMachine"):
        nic["properties"]["virtualMachine"] = existing["properties"]["virtualMachine"]
    ctx.world.store.put(nic)
    return reply(public(nic), 200 if existing is not None else 201)


@router.get(_NIC)
async def get_nic(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    found = ctx.world.store.get(network_id(p["sub"], group["name"], "networkInterfaces", p["name"]))
    if found is None:
        raise _not_found("networkInterfaces", p["name"], group["name"])
    return reply(public(found))


@router.delete(_NIC)
async def delete_nic(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    nic = ctx.world.store.get(network_id(p["sub"], group["name"], "networkInterfaces", p["name"]))
    if nic is None:
        return web.Response(status=204)
    vm = (nic["properties"].get("virtualMachine") or {}).get("id")
    if vm:
        raise ArmError(
            400,
            "NicInUse",
            f"Network Interface {nic['id']} is used by existing resource {vm}. In order to "
            "delete the network interface, it must be dissociated from the resource.",
        )
    ctx.world.store.delete(nic["id"])
    return web.Response(status=200)


@router.put(_PIP)
async def put_public_ip(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    sid = ctx.world.require_subscription(p["sub"])
    body = ctx.json()
    location = require_location(body)
    sku = str((body.get("sku") or {}).get("name") or "Standard")
    if sku not in _PIP_SKUS:
        raise invalid_parameter(
            f"The value '{sku}' of parameter 'sku.name' is invalid. Allowed values are "
            f"{', '.join(_PIP_SKUS)}.",
            target="sku.name",
        )
    props = body.get("properties") or {}
    method = str(props.get("publicIPAllocationMethod") or ("Static" if sku == "Standard"
                                                            else "Dynamic"))  # fmt: skip
    if sku == "Standard" and method != "Static":
        raise ArmError(
            400,
            "StandardSkuPublicIPAddressesMustBeStatic",
            "Standard sku publicIp /subscriptions/.../publicIPAddresses/"
            f"{p['name']} must have AllocationMethod set to Static.",
        )
    pip_id = network_id(sid, group["name"], "publicIPAddresses", p["name"])
    existing = ctx.world.store.get(pip_id)
    # A documentation range (RFC 5737): never a real host's address.
    address = f"203.0.113.{len(list(ctx.world.store.of_type(PIP_TYPE))) % 250 + 4}"
    pip: Json = {
        "id": pip_id,
        "name": p["name"],
        "type": PIP_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "etag": _etag(),
        "sku": {"name": sku, "tier": "Regional"},
        "properties": {
            "publicIPAllocationMethod": method,
            "publicIPAddressVersion": "IPv4",
            "ipAddress": (existing or {}).get("properties", {}).get("ipAddress") or address,
            "idleTimeoutInMinutes": int(props.get("idleTimeoutInMinutes") or 4),
            "provisioningState": "Succeeded",
            "resourceGuid": str(uuid.uuid4()),
        },
    }
    ctx.world.store.put(pip)
    return reply(public(pip), 200 if existing is not None else 201)


@router.get(_PIP)
async def get_public_ip(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    found = ctx.world.store.get(network_id(p["sub"], group["name"], "publicIPAddresses",
                                           p["name"]))  # fmt: skip
    if found is None:
        raise _not_found("publicIPAddresses", p["name"], group["name"])
    return reply(public(found))


@router.delete(_PIP)
async def delete_public_ip(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    pip_id = network_id(p["sub"], group["name"], "publicIPAddresses", p["name"])
    if ctx.world.store.get(pip_id) is None:
        return web.Response(status=204)
    for nic in ctx.world.store.of_type(NIC_TYPE):
        for config in nic["properties"].get("ipConfigurations") or []:
            used = ((config.get("properties") or {}).get("publicIPAddress") or {}).get("id")
            if str(used or "").lower() == pip_id.lower():
                raise ArmError(
                    400,
                    "PublicIPAddressInUse",
                    f"Public IP address {pip_id} can not be deleted since it is still allocated "
                    f"to resource {config['id']}. In order to delete the public IP, "
                    "disassociate/detach the Public IP address from the resource.",
                )
    ctx.world.store.delete(pip_id)
    return web.Response(status=200)


def attach_nic(world: World, nic_id: str, vm_id: str | None) -> None:
    """Marks the NIC as used by the VM (or free again with None)."""
    nic = world.store.get(nic_id)
    if nic is None:
        return
    if vm_id is None:
        nic["properties"].pop("virtualMachine", None)
    else:
        nic["properties"]["virtualMachine"] = {"id": vm_id}
    world.store.put(nic)


def require_nic(world: World, nic_id: str, location: str) -> Json:
    """The NIC a VM names, checked as Azure checks it (exists, same region, not in use)."""
    nic = world.store.get(nic_id)
    if nic is None or nic["type"].lower() != NIC_TYPE.lower():
        raise ArmError(
            404,
            "NotFound",
            f"Resource {nic_id} not found. Create the network interface first.",
        )
    if nic["location"] != location:
        raise invalid_parameter(
            f"The network interface {nic_id} is in region '{nic['location']}', the VM in "
            f"'{location}'. A VM and its network interfaces must be in the same region.",
            target="networkProfile.networkInterfaces",
        )
    used_by = (nic["properties"].get("virtualMachine") or {}).get("id")
    if used_by:
        raise ArmError(
            400,
            "NicInUse",
            f"Network Interface {nic_id} is used by existing resource {used_by}. In order to "
            "delete the network interface, it must be dissociated from the resource.",
        )
    return nic

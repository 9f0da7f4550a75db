"""Virtual machines as far as capturing them needs: list, get with instance view, Run Command,
power off, deallocate, start, generalize, delete (creating one: gui/sandbox/arm/vm_create.py).

The guest is simulated in ``_guest``: a Run Command script that runs sysprep ``/generalize`` or
``waagent -deprovision`` deprovisions it, and one that shuts it down (sysprep ``/shutdown``,
``shutdown``/``poweroff``) stops it a little later, as a real guest would.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from gui.sandbox.arm import network, vm_boot
from gui.sandbox.arm.common import find_compute, now_iso, parse_resource_id, require_compute
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import accepted
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, invalid_parameter, operation_not_allowed
from gui.sandbox.world import World, public

Json = dict[str, Any]
router = Router()

VM_TYPE = "Microsoft.Compute/virtualMachines"
_VMS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines"
_VM = _VMS + "/{name}"

_POWER_DISPLAY = {
    "running": "VM running",
    "starting": "VM starting",
    "stopping": "VM stopping",
    "stopped": "VM stopped",
    "deallocating": "VM deallocating",
    "deallocated": "VM deallocated",
}
_SYSPREP = re.compile(r"sysprep(\.exe)?\b.*/generalize", re.IGNORECASE)
_SYSPREP_SHUTDOWN = re.compile(r"sysprep(\.exe)?\b.*/shutdown", re.IGNORECASE)
_WAAGENT = re.compile(r"waagent\s+.*-deprovision", re.IGNORECASE)
_LINUX_SHUTDOWN = re.compile(r"\b(shutdown\s+-h|shutdown\s+now|poweroff|halt)\b", re.IGNORECASE)
# How long the simulated guest takes to deprovision and shut down, in units of lro_seconds.
_GUEST_SHUTDOWN_FACTOR = 3.0


def require_vm(ctx: Ctx, sub: str, rg: str, name: str) -> Json:
    return require_compute(ctx, sub, rg, VM_TYPE, name)


def guest(vm: Json) -> Json:
    state: Json = vm.setdefault("_guest", {})
    state.setdefault("power", "running")
    return state


def instance_view(vm: Json) -> Json:
    state = guest(vm)
    power = str(state["power"])
    statuses: list[Json] = vm_boot.provisioning_statuses(vm) or [
        {
            "code": "ProvisioningState/succeeded",
            "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "time": vm["properties"].get("timeCreated"),
        }
    ]
    if state.get("generalized"):
        statuses.append(
            {"code": "OSState/generalized", "level": "Info", "displayStatus": "VM generalized"}
        )
    statuses.append(
        {
            "code": f"PowerState/{power}",
            "level": "Info",
            "displayStatus": _POWER_DISPLAY.get(power, power),
        }
    )
    os_disk = vm["properties"]["storageProfile"]["osDisk"]
    view: Json = {
        "computerName": (vm["properties"].get("osProfile") or {}).get("computerName"),
        "osName": state.get("osName"),
        "osVersion": state.get("osVersion"),
        "hyperVGeneration": state.get("generation", "V1"),
        "disks": [{"name": os_disk.get("name"), "statuses": statuses[:1]}]
        + [
            {"name": d.get("name"), "statuses": statuses[:1]}
            for d in vm["properties"]["storageProfile"].get("dataDisks") or []
        ],
        "statuses": statuses,
    }
    not_ready = vm_boot.agent_view(vm)
    if power == "running" and not_ready is not None:
        view["vmAgent"] = not_ready
    elif power == "running":
        view["vmAgent"] = {
            "vmAgentVersion": "2.11.1.12",
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Ready",
                    "message": "GuestAgent is running and processing the extensions.",
                    # the agent's last report; it reports every few seconds while it runs
                    "time": now_iso(),
                }
            ],
        }
    return view


def _shown(vm: Json, expand: str | None) -> Json:
    doc = public(vm)
    if (expand or "").lower() == "instanceview":
        doc = {**doc, "properties": {**doc["properties"], "instanceView": instance_view(vm)}}
    return doc


def _set_power(world: World, vm_id: str, power: str) -> None:
    vm = world.store.get(vm_id)
    if vm is not None:
        guest(vm)["power"] = power
        world.store.put(vm)


def _not_allowed(operation: str, vm: Json, why: str) -> ArmError:
    return operation_not_allowed(
        f"Operation '{operation}' is not allowed on VM '{vm['name']}' since {why}.",
    )


@router.get("/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines")
async def list_all(ctx: Ctx, p: dict[str, str]) -> web.Response:
    sid = ctx.world.require_subscription(p["sub"])
    expand = ctx.query("$expand")
    vms = ctx.world.store.under(f"/subscriptions/{sid}", VM_TYPE)
    return ctx.page([_shown(vm, expand) for vm in vms])


@router.get(_VMS)
async def list_by_resource_group(ctx: Ctx, p: dict[str, str]) -> web.Response:
    group = ctx.world.require_resource_group(p["sub"], p["rg"])
    expand = ctx.query("$expand")
    return ctx.page([_shown(vm, expand) for vm in ctx.world.store.children(group["id"], VM_TYPE)])


@router.get(_VM)
async def get(ctx: Ctx, p: dict[str, str]) -> web.Response:
    vm = require_vm(ctx, p["sub"], p["rg"], p["name"])
    return reply(_shown(vm, ctx.query("$expand")))


@router.get(_VM + "/instanceView")
async def get_instance_view(ctx: Ctx, p: dict[str, str]) -> web.Response:
    return reply(instance_view(require_vm(ctx, p["sub"], p["rg"], p["name"])))


@router.post(_VM + "/runCommand")
async def run_command(ctx: Ctx, p: dict[str, str]) -> web.Response:
    vm = require_vm(ctx, p["sub"], p["rg"], p["name"])
    body = ctx.json()
    command_id = str(body.get("commandId") or "")
    script = "\n".join(str(line) for line in body.get("script") or [])
    os_type = vm["properties"]["storageProfile"]["osDisk"].get("osType")
    expected = "RunPowerShellScript" if os_type == "Windows" else "RunShellScript"
    if command_id not in ("RunPowerShellScript", "RunShellScript"):
        raise invalid_parameter(
            f"The command '{command_id}' is not a known Run Command. Use 'RunPowerShellScript' "
            "on Windows or 'RunShellScript' on Linux.",
            target="commandId",
        )
    if command_id != expected:
        raise operation_not_allowed(
            f"Run command '{command_id}' is not supported for the OS type '{os_type}' of VM "
            f"'{vm['name']}'. Use '{expected}'.",
        )
    state = guest(vm)
    if state["power"] != "running":
        raise operation_not_allowed(
            "The operation requires the VM to be running (or set to run).",
        )
    if state.get("generalized"):
        raise _not_allowed("runCommand", vm, "the VM is generalized")
    world = ctx.world
    vm_id = vm["id"]
    deprovisions = bool(_SYSPREP.search(script) or _WAAGENT.search(script))
    shuts_down = bool(_SYSPREP_SHUTDOWN.search(script) or _LINUX_SHUTDOWN.search(script))
    blocked = str(state.get("sysprepError") or "") if _SYSPREP.search(script) else ""
    if blocked:
        # The guest refuses to start sysprep: nothing changes in it, and the script's error
        # stream says why (Run Command itself still succeeds, as on Azure).
        deprovisions = shuts_down = False

    loop = asyncio.get_running_loop()

    def guest_done() -> None:
        stored = world.store.get(vm_id)
        if stored is None:
            return
        g = guest(stored)
        if deprovisions:
            g["deprovisioned"] = True
        if shuts_down and g["power"] == "running":
            g["power"] = "stopped"
        world.store.put(stored)

    def finish() -> Json:
        if deprovisions or shuts_down:
            loop.call_later(world.lro_seconds * _GUEST_SHUTDOWN_FACTOR, guest_done)
        stdout = ""
        if deprovisions:
            stdout = (
                "Sysprep started; the VM shuts down when it has finished.\n"
                if os_type == "Windows"
                else "WARNING! The waagent service will be stopped.\nWARNING! Cached DHCP "
                "leases will be deleted.\nWARNING! root password will be disabled.\n"
                "WARNING! user account will be deleted.\n"
            )
        return {"value": run_command_output(command_id, stdout, blocked)}

    return accepted(ctx, p["sub"], vm["location"], on_done=finish, has_result=True)


def run_command_output(command_id: str, stdout: str, stderr: str) -> list[Json]:
    """A Run Command's result ``value`` in the shape Azure gives for the command.

    RunPowerShellScript: two statuses, the script's output and its error stream, each in its own
    message (VirtualMachineRunCommand.json; the same shape in public scripts that read
    ``ComponentStatus/StdErr/succeeded`` to see whether the script failed). RunShellScript: one
    ``ProvisioningState/succeeded`` status whose message holds both streams after ``[stdout]`` and
    ``[stderr]`` markers. Either way the status is "succeeded" when the script ran, whatever it
    wrote: a failing script shows only in its error stream.
    """
    if command_id == "RunPowerShellScript":
        return [
            {
                "code": f"ComponentStatus/{stream}/succeeded",
                "level": "Info",
                "displayStatus": "Provisioning succeeded",
                "message": text,
            }
            for stream, text in (("StdOut", stdout), ("StdErr", stderr))
        ]
    return [
        {
            "code": "ProvisioningState/succeeded",
            "level": "Info",
            "displayStatus": "Provisioning succeeded",
            "message": f"Enable succeeded: \n[stdout]\n{stdout}\n[stderr]\n{stderr}",
        }
    ]


def _power_operation(ctx: Ctx, vm: Json, sub: str, during: str, after: str) -> web.Response:
    world = ctx.world
    vm_id = vm["id"]
    _set_power(world, vm_id, during)
    return accepted(
        ctx,
        sub,
        vm["location"],
        on_done=lambda: _set_power(world, vm_id, after),
    )


@router.post(_VM + "/deallocate")
async def deallocate(ctx: Ctx, p: dict[str, str]) -> web.Response:
    vm = require_vm(ctx, p["sub"], p["rg"], p["name"])
    if guest(vm)["power"] == "deallocated":
        return accepted(ctx, p["sub"], vm["location"], duration=0)
    return _power_operation(ctx, vm, p["sub"], "deallocating", "deallocated")


@router.post(_VM + "/powerOff")
async def power_off(ctx: Ctx, p: dict[str, str]) -> web.Response:
    vm = require_vm(ctx, p["sub"], p["rg"], p["name"])
    if guest(vm)["power"] in ("stopped", "deallocated"):
        return accepted(ctx, p["sub"], vm["location"], duration=0)
    return _power_operation(ctx, vm, p["sub"], "stopping", "stopped")


@router.post(_VM + "/start")
async def start(ctx: Ctx, p: dict[str, str]) -> web.Response:
    vm = require_vm(ctx, p["sub"], p["rg"], p["name"])
    if guest(vm).get("generalized"):
        raise _not_allowed("start", vm, "the VM is generalized")
    return _power_operation(ctx, vm, p["sub"], "starting", "running")


@router.post(_VM + "/generalize")
async def generalize(ctx: Ctx, p: dict[str, str]) -> web.Response:
    vm = require_vm(ctx, p["sub"], p["rg"], p["name"])
    state = guest(vm)
    if state["power"] in ("running", "starting", "stopping"):
        raise operation_not_allowed(
            f"Operation 'generalize' is not allowed since the VM is running. Stop (deallocate) "
            f"VM '{vm['name']}' first.",
        )
    state["generalized"] = True
    ctx.world.store.put(vm)
    return web.Response(status=200)


@router.delete(_VM)
async def delete(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _, vm = find_compute(ctx, p["sub"], p["rg"], VM_TYPE, p["name"])
    if vm is None:
        return web.Response(status=204)
    world = ctx.world
    _set_power(world, vm["id"], "deallocating")

    def finish() -> None:
        stored = world.store.delete(vm["id"])
        if stored is None:
            return
        nics = (stored["properties"].get("networkProfile") or {}).get("networkInterfaces") or []
        for nic in nics:
            network.attach_nic(world, str(nic.get("id") or ""), None)
        vm_boot.sweep_boot_logs(world)
        profile = stored["properties"]["storageProfile"]
        for ref in [profile["osDisk"], *(profile.get("dataDisks") or [])]:
            disk_id = (ref.get("managedDisk") or {}).get("id")
            disk = world.store.get(disk_id) if disk_id else None
            if disk is None:
                continue
            if ref.get("deleteOption") == "Delete":
                world.store.delete(disk["id"])
                continue
            disk.pop("managedBy", None)
            disk["properties"]["diskState"] = "Unattached"
            disk["properties"]["lastOwnershipUpdateTime"] = now_iso()
            world.store.put(disk)

    return accepted(ctx, p["sub"], vm["location"], on_done=finish)


def image_profile_from_vm(world: World, vm_id: str, location: str) -> Json:
    """The storage profile of a managed image captured from a VM, checked as Azure checks it."""
    vm = world.store.get(vm_id)
    if vm is None or vm["type"].lower() != VM_TYPE.lower():
        parts = parse_resource_id(vm_id)
        raise ArmError(
            404,
            "NotFound",
            f"The source virtual machine '{parts.get('virtualmachines', vm_id)}' was not found "
            f"in resource group '{parts.get('resourcegroups', '')}'.",
        )
    state = guest(vm)
    security = (vm["properties"].get("securityProfile") or {}).get("securityType")
    if security in ("TrustedLaunch", "ConfidentialVM"):
        raise invalid_parameter(
            f"Virtual machine '{vm['name']}' has security type '{security}'. Managed images do "
            f"not support '{security}'; capture the VM into an Azure Compute Gallery image "
            "version instead.",
            target="properties.sourceVirtualMachine",
        )
    if state.get("architecture", "x64") != "x64":
        raise invalid_parameter(
            f"Virtual machine '{vm['name']}' has architecture '{state['architecture']}'. Managed "
            "images support x64 only; capture the VM into an Azure Compute Gallery image "
            "version instead.",
            target="properties.sourceVirtualMachine",
        )
    if state["power"] in ("running", "starting", "stopping"):
        raise operation_not_allowed(
            f"Operation 'capture' is not allowed on VM '{vm['name']}' since the VM is running. "
            "Deallocate the VM first.",
        )
    if not state.get("generalized"):
        raise operation_not_allowed(
            f"The VM '{vm['name']}' must be generalized to create a managed image from it. "
            "Generalize the guest (sysprep or waagent -deprovision+user), deallocate it, then "
            "mark it generalized.",
        )
    if vm["location"] != location:
        raise invalid_parameter(
            f"The image must be created in the region of its source VM ('{vm['location']}').",
            target="location",
        )
    profile = vm["properties"]["storageProfile"]
    os_disk = profile["osDisk"]

    def entry(ref: Json) -> Json:
        return {
            "managedDisk": {"id": ref["managedDisk"]["id"]},
            "caching": ref.get("caching") or "None",
            "storageAccountType": ref["managedDisk"].get("storageAccountType", "Standard_LRS"),
            "diskSizeGB": ref.get("diskSizeGB"),
        }

    return {
        "osDisk": {**entry(os_disk), "osType": os_disk["osType"], "osState": "Generalized"},
        "dataDisks": [
            {**entry(d), "lun": d["lun"]}
            for d in sorted(profile.get("dataDisks") or [], key=lambda d: int(d["lun"]))
        ],
    }

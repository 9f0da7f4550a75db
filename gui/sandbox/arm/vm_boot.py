"""The simulated first boot of a new VM: its serial console log and the end of OS provisioning.

Boot diagnostics on a VM keep its serial console log in a blob (managed boot diagnostics: in
storage Azure manages; here an account of the sandbox's blob endpoint).
``retrieveBootDiagnosticsData`` hands out read SAS URLs to it. The log grows line by line over a
few seconds, as a guest writes it, so a client that reads it repeatedly sees it grow.

Scenarios (chosen from the image's facts and its guest, gui/sandbox/arm/vm_create.py):

* ``ok``: the guest boots and the agent reports provisioning complete: Succeeded, agent Ready.
* ``specialized``: a specialized image without an OS profile: nothing to provision, Succeeded.
* ``not_generalized``: a "generalized" image whose disk never ran sysprep / waagent -deprovision:
  the guest boots as the old machine, the agent finds it already provisioned and never reports
  for the new one; OSProvisioningTimedOut (Azure waits 20-40 minutes; compressed here).
* ``wrong_generation``: the disk boots with the other firmware (BIOS disk as Gen2 or the other
  way round): "no bootable device", then OSProvisioningTimedOut.
* ``no_agent``: the image has no guest agent (no waagent, no cloud-init reporting): a generalized
  one times out in OS provisioning; a specialized one runs, but the agent never reports.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.blob.sas import make_sas
from gui.sandbox.blob.store import BlobMeta
from gui.sandbox.errors import ArmError, operation_not_allowed
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import World

if TYPE_CHECKING:
    from gui.sandbox.arm.vm_create import ImageFacts

Json = dict[str, Any]
router = Router()

BOOT_ACCOUNT = "sandboxbootdiag"
_CONTAINER_PREFIX = "bootdiagnostics-"
_VM = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
# A boot lasts this many LRO units (0.3 s each by default: about 3 s), a provisioning timeout 1.5
# times that.
_BOOT_UNITS = 10.0
_MIN_BOOT_SECONDS = 1.0
_TIMEOUT_FACTOR = 1.5


def boot_seconds(world: World) -> float:
    return max(_MIN_BOOT_SECONDS, world.lro_seconds * _BOOT_UNITS)


def scenario_for(facts: ImageFacts, has_os_profile: bool) -> str:
    guest = facts.guest
    if guest.get("generation") and str(guest["generation"]).upper() != facts.generation.upper():
        return "wrong_generation"
    if guest.get("agent") is False:
        return "no_agent"
    if not has_os_profile:
        return "specialized"
    if guest.get("deprovisioned") is False:
        return "not_generalized"
    return "ok"


def _timed_out_message(name: str) -> str:
    return (
        f"OS Provisioning for VM '{name}' did not finish in the allotted time. The VM may still "
        "finish provisioning successfully. Please check provisioning state later. Also, make "
        "sure the image has been properly prepared (generalized).\r\n * Instructions for "
        "Windows: https://azure.microsoft.com/documentation/articles/"
        "virtual-machines-windows-upload-image/ \r\n * Instructions for Linux: "
        "https://azure.microsoft.com/documentation/articles/virtual-machines-linux-capture-image/"
        " \r\n * If you are deploying more than 20 Virtual Machines concurrently, consider "
        "moving your custom image to shared image gallery. Please refer to "
        "https://aka.ms/movetosig for the same."
    )


_LINUX_START = [
    "[    0.000000] Linux version 6.8.0-1017-azure (buildd@lcy02-amd64-075) (gcc 13.2.0)",
    "[    0.000000] Command line: BOOT_IMAGE=/vmlinuz-6.8.0-1017-azure root=PARTUUID=4f0b2c1d "
    "ro console=tty1 console=ttyS0 earlyprintk=ttyS0",
    "[    0.000000] DMI: Microsoft Corporation Virtual Machine/Virtual Machine, BIOS Hyper-V "
    "UEFI Release v4.1 09/28/2024",
    "[    0.021043] Hypervisor detected: Microsoft Hyper-V",
    "[    1.184310] hv_vmbus: registering driver hv_storvsc",
    "[    1.902117] EXT4-fs (sda1): mounted filesystem with ordered data mode.",
    "[    3.401552] systemd[1]: Detected virtualization microsoft.",
]
_LINUX_OK = [
    "[    6.112003] cloud-init[512]: Cloud-init v. 24.1.3 running 'init' at {when}.",
    "[    7.331108] cloud-init[512]: ci-info: ++++++ Net device info ++++++",
    "[    8.012345] cloud-init[512]: Generating public/private ed25519 key pair.",
    "[    9.551208] WALinuxAgent[801]: Azure Linux Agent Version: 2.11.1.12",
    "[   10.204411] WALinuxAgent[801]: Provisioning complete",
    "[   10.500112] cloud-init[902]: Cloud-init v. 24.1.3 finished. Datasource DataSourceAzure.",
    "",
    "Ubuntu 24.04.1 LTS {name} ttyS0",
    "",
    "{name} login: ",
]
_LINUX_NOT_GENERALIZED = [
    "[    6.112003] cloud-init[512]: Cloud-init v. 24.1.3 running 'init' at {when}.",
    "[    6.412771] cloud-init[512]: instance-id unchanged, skipping per-instance modules",
    "[    7.021889] WALinuxAgent[801]: Azure Linux Agent Version: 2.11.1.12",
    "[    7.233001] WALinuxAgent[801]: Provisioning already completed, skipping.",
    "[    7.502318] WALinuxAgent[801]: Hostname is vm-ubuntu-web-01, not {name}: the disk "
    "still holds the machine it was captured from",
    "",
    "Ubuntu 24.04.1 LTS vm-ubuntu-web-01 ttyS0",
    "",
    "vm-ubuntu-web-01 login: ",
]
_LINUX_NO_AGENT = [
    "[    6.801220] systemd[1]: walinuxagent.service: Unit walinuxagent.service not found.",
    "[    6.901001] systemd[1]: cloud-init.service: Unit cloud-init.service not found.",
    "",
    "Debian GNU/Linux 12 localhost ttyS0",
    "",
    "localhost login: ",
]
_WINDOWS_START = [
    "Computer is booting, SAC started and initialized.",
    "",
    "Use the \"ch -?\" command for information about using channels.",
    "Use the \"?\" command for general help.",
    "",
    "SAC>",
]
_WINDOWS_OK = [
    "EVENT: The CMD command is now available.",
    "SAC>",
    "EVENT: Windows Setup: the specialize pass has started (sysprep /oobe).",
    "EVENT: Windows Setup: OOBE completed; the computer name is {name}.",
    "EVENT: RdAgent: provisioning complete; the guest agent is Ready.",
    "SAC>",
]
_WINDOWS_NOT_GENERALIZED = [
    "EVENT: The CMD command is now available.",
    "SAC>",
    "EVENT: Windows started without running Setup: the image was not generalized (no sysprep "
    "/generalize); the computer name is still the captured machine's.",
    "SAC>",
]
_UEFI_NO_BOOT = [
    "Hyper-V UEFI Release v4.1",
    "Boot Failed. SCSI Disk (0,0)",
    "The boot loader did not load an operating system.",
    "No operating system was loaded. Press a key to retry the boot sequence...",
    "No bootable device: the disk has an MBR (BIOS) boot loader and no EFI system partition; "
    "it needs a Generation 1 VM.",
]
_BIOS_NO_BOOT = [
    "Booting from Hard Disk...",
    "No bootable device -- insert boot disk and press any key",
    "(the disk is GPT with an EFI system partition only: it needs a Generation 2 VM with UEFI)",
]


def _lines(scenario: str, os_type: str, generation: str) -> list[str]:
    windows = os_type.lower() == "windows"
    if scenario == "wrong_generation":
        # The firmware is the VM's (the image's declared generation); the disk wants the other.
        return _UEFI_NO_BOOT if generation.upper() == "V2" else _BIOS_NO_BOOT
    if windows:
        body = _WINDOWS_NOT_GENERALIZED if scenario in ("not_generalized", "no_agent") else (
            _WINDOWS_OK)
        return _WINDOWS_START + body
    tail = {
        "not_generalized": _LINUX_NOT_GENERALIZED,
        "no_agent": _LINUX_NO_AGENT,
    }.get(scenario, _LINUX_OK)
    return _LINUX_START + tail


@dataclass
class Boot:
    world: World
    vm_id: str
    scenario: str
    seconds: float

    @property
    def provisioning_seconds(self) -> float:
        if self.scenario in ("not_generalized", "wrong_generation") or (
            self.scenario == "no_agent" and self._has_profile()
        ):
            return self.seconds * _TIMEOUT_FACTOR
        return self.seconds

    def _has_profile(self) -> bool:
        vm = self.world.store.get(self.vm_id)
        return bool(vm and vm["properties"].get("osProfile"))

    def finish_provisioning(self) -> Json | None:
        vm = self.world.store.get(self.vm_id)
        if vm is None:  # deleted meanwhile (its group went): nothing to finish
            return None
        guest = vm["_guest"]
        guest["power"] = "running"
        times_out = self.provisioning_seconds > self.seconds
        if times_out:
            vm["properties"]["provisioningState"] = "Failed"
            guest["provisioning"] = "failed"
            guest["provisioningMessage"] = _timed_out_message(vm["name"])
            self.world.store.put(vm)
            raise ArmError(400, "OSProvisioningTimedOut", _timed_out_message(vm["name"]))
        vm["properties"]["provisioningState"] = "Succeeded"
        guest["provisioning"] = "succeeded"
        guest["agentReady"] = self.scenario in ("ok", "specialized")
        self.world.store.put(vm)
        return None


def _names(vm: Json) -> tuple[str, str]:
    vm_id = str(vm["properties"]["vmId"])
    container = f"{_CONTAINER_PREFIX}{vm['name'][:9].lower().strip('-.')}-{vm_id}"
    return container, f"{vm['name']}.{vm_id}.serialconsole.log"


def _write_log(world: World, vm: Json, text: str) -> None:
    container, blob = _names(vm)
    world.blobs.create_container(BOOT_ACCOUNT, container)
    data = text.encode()
    meta = BlobMeta(name=blob, blob_type="BlockBlob", size=len(data), content_type="text/plain")
    world.blobs.put_blob(BOOT_ACCOUNT, container, meta, data)


def sweep_boot_logs(world: World) -> None:
    """Removes the serial logs of VMs that no longer exist (their group was deleted)."""
    account = world.blobs.account(BOOT_ACCOUNT)
    if account is None:
        return
    live = {
        str(vm["properties"].get("vmId"))
        for vm in world.store.of_type("Microsoft.Compute/virtualMachines")
    }
    for name in list(account.containers):
        if name.startswith(_CONTAINER_PREFIX) and name[-36:] not in live:
            world.blobs.delete_container(BOOT_ACCOUNT, name)


def start_boot(
    world: World, vm_id: str, os_type: str, scenario: str, diagnostics: bool
) -> Boot:
    """Starts the guest's boot; the serial log (when boot diagnostics are on) grows meanwhile."""
    sweep_boot_logs(world)
    seconds = boot_seconds(world)
    boot = Boot(world, vm_id, scenario, seconds)
    vm = world.store.get(vm_id)
    assert vm is not None
    lines = [
        line.format(name=vm["name"], when=datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"))
        for line in _lines(scenario, os_type, str(vm["_guest"]["generation"]))
    ]
    if not diagnostics:
        return boot
    _write_log(world, vm, "")
    loop = asyncio.get_running_loop()
    step = seconds / (len(lines) + 1)

    def append(count: int) -> None:
        stored = world.store.get(vm_id)
        if stored is None:
            sweep_boot_logs(world)
            return
        _write_log(world, stored, "".join(line + "\r\n" for line in lines[:count]))
        if count == 1 and stored["_guest"]["power"] == "starting":
            stored["_guest"]["power"] = "running"
            world.store.put(stored)

    for index in range(1, len(lines) + 1):
        loop.call_later(step * index, append, index)
    return boot


@router.post(_VM + "/retrieveBootDiagnosticsData")
async def retrieve_boot_diagnostics_data(ctx: Ctx, p: dict[str, str]) -> web.Response:
    world = ctx.world
    group = world.require_resource_group(p["sub"], p["rg"])
    vm = world.store.get(compute_id(world.require_subscription(p["sub"]), group["name"],
                                    "virtualMachines", p["name"]))  # fmt: skip
    if vm is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Compute/virtualMachines/{p['name']}' under resource group "
            f"'{group['name']}' was not found.",
        )
    enabled = ((vm["properties"].get("diagnosticsProfile") or {}).get("bootDiagnostics") or {})
    if not enabled.get("enabled"):
        raise operation_not_allowed(
            f"Boot diagnostics are not enabled for VM '{vm['name']}'. Enable boot diagnostics "
            "(diagnosticsProfile.bootDiagnostics.enabled) first.",
        )
    minutes_text = ctx.query("sasUriExpirationTimeInMinutes") or "120"
    if not minutes_text.isdigit() or not 1 <= int(minutes_text) <= 1440:
        raise ArmError(
            400,
            "InvalidParameter",
            "The value of parameter sasUriExpirationTimeInMinutes is invalid. It must be "
            "between 1 and 1440.",
        )
    container, blob = _names(vm)
    if world.blobs.account(BOOT_ACCOUNT) is None or container not in (
        world.blobs.ensure_account(BOOT_ACCOUNT).containers
    ):
        _write_log(world, vm, "")
    key = world.blobs.ensure_account(BOOT_ACCOUNT).key
    expiry = datetime.now(UTC) + timedelta(minutes=int(minutes_text))

    def url(name: str) -> str:
        query = make_sas(account=BOOT_ACCOUNT, key=key, container=container, blob=name,
                         permissions="r", expiry=expiry)  # fmt: skip
        return f"{world.blob_url}/{BOOT_ACCOUNT}/{container}/{name}?{query}"

    screenshot = blob.replace(".serialconsole.log", ".screenshot.bmp")
    return reply(
        {"consoleScreenshotBlobUri": url(screenshot), "serialConsoleLogBlobUri": url(blob)}
    )


def provisioning_statuses(vm: Json) -> list[Json] | None:
    """The instance view's provisioning status of a VM this module booted (None for others)."""
    guest = vm.get("_guest") or {}
    state = guest.get("provisioning")
    if state is None:
        return None
    if state == "creating":
        return [{"code": "ProvisioningState/creating", "level": "Info",
                 "displayStatus": "Creating"}]  # fmt: skip
    if state == "failed":
        return [
            {
                "code": "ProvisioningState/failed/OSProvisioningTimedOut",
                "level": "Error",
                "displayStatus": "Provisioning failed",
                "message": guest.get("provisioningMessage") or "",
                "time": vm["properties"].get("timeCreated"),
            }
        ]
    return None


def agent_view(vm: Json) -> Json | None:
    """The instance view's vmAgent for a booted VM whose agent is not (yet) ready."""
    guest = vm.get("_guest") or {}
    if "agentReady" not in guest or guest["agentReady"]:
        return None
    return {
        "vmAgentVersion": "Unknown",
        "statuses": [
            {
                "code": "ProvisioningState/Unavailable",
                "level": "Warning",
                "displayStatus": "Not Ready",
                "message": "VM status blob is found but not yet populated.",
                "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
        ],
    }


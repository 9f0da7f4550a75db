"""The virtual machines of a subscription as capture sources: plain data read from the SDK.

Power state and the generalized mark come from the instance view; architecture and Hyper-V
generation from the OS disk (Azure puts them there, not on the VM).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.arm import generation_short, name_of, resource_group_of
from gui.azure.catalog.nodes import DiskRole, PurchasePlan
from gui.azure.errors import NotFoundError, translated
from gui.i18n import QT_TR_NOOP, Text, message

Json = Mapping[str, Any]
_PARALLEL_READS = 8


@dataclass(frozen=True)
class VmDisk:
    kind: DiskRole  # the catalog's: a VM's disk plays the role an image's disk does
    name: str
    id: str
    size_gb: int | None
    lun: int | None = None
    storage_type: str = ""
    caching: str = ""

    @property
    def role_label(self) -> str:
        """"OS disk" / "Data disk LUN 2": the disk's role, for step titles."""
        if self.kind is DiskRole.OS:
            return Text(QT_TR_NOOP("OS disk"))
        return Text(message(QT_TR_NOOP("Data disk LUN {lun}"), lun=self.lun))

    @property
    def label(self) -> str:
        if self.kind is DiskRole.OS:
            if self.size_gb is None:
                return Text(message(QT_TR_NOOP("OS disk: {name} (size unknown)"), name=self.name))
            return Text(message(QT_TR_NOOP("OS disk: {name} ({size} GiB)"), name=self.name,
                                size=self.size_gb))
        if self.size_gb is None:
            return Text(message(QT_TR_NOOP("Data disk LUN {lun}: {name} (size unknown)"),
                                lun=self.lun, name=self.name))
        return Text(message(QT_TR_NOOP("Data disk LUN {lun}: {name} ({size} GiB)"), lun=self.lun,
                            name=self.name, size=self.size_gb))


@dataclass(frozen=True)
class VmInfo:
    id: str
    name: str
    resource_group: str
    location: str
    size: str
    os_type: str  # Windows | Linux
    os_name: str
    power_state: str  # running, stopped, deallocated, starting, stopping, deallocating, unknown
    generalized: bool  # Azure marked it generalized (OSState/generalized)
    hyper_v_generation: str  # V1 | V2
    security_type: str  # Standard | TrustedLaunch | ConfidentialVM
    architecture: str  # x64 | Arm64
    admin_username: str
    disks: tuple[VmDisk, ...]
    # The Marketplace plan of the image the VM was made from: an image captured from it needs
    # the plan on its gallery definition, or Azure refuses every VM made from the image.
    plan: PurchasePlan | None = None

    @property
    def os_state(self) -> str:
        return "Generalized" if self.generalized else "Specialized"

    @property
    def is_running(self) -> bool:
        return self.power_state in ("running", "starting", "stopping")

    @property
    def is_deallocated(self) -> bool:
        return self.power_state == "deallocated"

    @property
    def is_stopped(self) -> bool:
        """Stopped or deallocated: the guest is not running."""
        return self.power_state in ("stopped", "deallocated")

    @property
    def os_disk(self) -> VmDisk:
        return next(disk for disk in self.disks if disk.kind is DiskRole.OS)

    @property
    def data_disks(self) -> tuple[VmDisk, ...]:
        return tuple(disk for disk in self.disks if disk.kind is DiskRole.DATA)

    @property
    def power_label(self) -> str:
        return {
            "running": Text(QT_TR_NOOP("Running")),
            "stopped": Text(QT_TR_NOOP("Stopped (allocated)")),
            "deallocated": Text(QT_TR_NOOP("Stopped (deallocated)")),
        }.get(self.power_state, self.power_state.capitalize())

    @property
    def power_phrase(self) -> str:
        """The power state inside a sentence ("... and vm1 is stopped (allocated)")."""
        return {
            "running": Text(QT_TR_NOOP("running")),
            "stopped": Text(QT_TR_NOOP("stopped (allocated)")),
            "deallocated": Text(QT_TR_NOOP("stopped (deallocated)")),
        }.get(self.power_state, self.power_label.lower())

    @property
    def generation_label(self) -> str:
        return generation_short(self.hyper_v_generation)

    @property
    def disks_label(self) -> str:
        count = len(self.data_disks)
        total = sum(disk.size_gb or 0 for disk in self.disks)
        if count:
            return Text(message(QT_TR_NOOP("OS + {count} data · {total} GiB"), count=count,
                                total=total))
        return Text(message(QT_TR_NOOP("OS only · {total} GiB"), total=total))


def power_state(instance_view: Json) -> str:
    for status in instance_view.get("statuses") or []:
        code = str(status.get("code") or "")
        if code.startswith("PowerState/"):
            return code.split("/", 1)[1]
    return "unknown"


def is_generalized(instance_view: Json) -> bool:
    return any(
        str(status.get("code") or "").lower() == "osstate/generalized"
        for status in instance_view.get("statuses") or []
    )


def _disks(profile: Json) -> tuple[VmDisk, ...]:
    os_ref = profile.get("osDisk") or {}
    disks = [
        VmDisk(
            DiskRole.OS,
            name=str(os_ref.get("name") or ""),
            id=str((os_ref.get("managedDisk") or {}).get("id") or ""),
            size_gb=os_ref.get("diskSizeGB"),
            storage_type=str((os_ref.get("managedDisk") or {}).get("storageAccountType") or ""),
            caching=str(os_ref.get("caching") or ""),
        )
    ]
    for ref in sorted(profile.get("dataDisks") or [], key=lambda d: int(d.get("lun") or 0)):
        disks.append(
            VmDisk(
                DiskRole.DATA,
                name=str(ref.get("name") or ""),
                id=str((ref.get("managedDisk") or {}).get("id") or ""),
                size_gb=ref.get("diskSizeGB"),
                lun=int(ref.get("lun") or 0),
                storage_type=str((ref.get("managedDisk") or {}).get("storageAccountType") or ""),
                caching=str(ref.get("caching") or ""),
            )
        )
    return tuple(disks)


def vm_from_json(vm: Json, instance_view: Json, os_disk: Json | None) -> VmInfo:
    """A VmInfo from the REST shapes of the VM, its instance view and its OS disk."""
    props = vm.get("properties") or {}
    profile = props.get("storageProfile") or {}
    os_profile = props.get("osProfile") or {}
    disk_props = (os_disk or {}).get("properties") or {}
    generation = str(
        instance_view.get("hyperVGeneration") or disk_props.get("hyperVGeneration") or "V1"
    )
    architecture = str((disk_props.get("supportedCapabilities") or {}).get("architecture") or "")
    if not architecture:
        # Arm64 sizes carry a 'p' after the family's digits (Standard_D2ps_v5, Standard_E4pds_v5)
        vm_size = str((props.get("hardwareProfile") or {}).get("vmSize") or "")
        family = vm_size.split("_")[1] if "_" in vm_size else ""
        architecture = "Arm64" if "p" in family.lstrip("ABDEFLMN").lstrip("0123456789") else "x64"
    image = profile.get("imageReference") or {}
    os_name = str(instance_view.get("osName") or "") or " ".join(
        str(image.get(key) or "") for key in ("offer", "sku") if image.get(key)
    )
    return VmInfo(
        id=str(vm.get("id") or ""),
        name=str(vm.get("name") or ""),
        resource_group=resource_group_of(str(vm.get("id") or "")),
        location=str(vm.get("location") or ""),
        size=str((props.get("hardwareProfile") or {}).get("vmSize") or ""),
        os_type=str((profile.get("osDisk") or {}).get("osType") or ""),
        os_name=os_name,
        power_state=power_state(instance_view),
        generalized=is_generalized(instance_view),
        hyper_v_generation=generation,
        security_type=str((props.get("securityProfile") or {}).get("securityType") or "Standard"),
        architecture=architecture,
        admin_username=str(os_profile.get("adminUsername") or ""),
        disks=_disks(profile),
        plan=_plan(vm.get("plan")),
    )


def _plan(raw: object) -> PurchasePlan | None:
    if not isinstance(raw, dict):
        return None
    publisher, product, name = (str(raw.get(key) or "") for key in ("publisher", "product", "name"))
    return PurchasePlan(publisher, product, name) if publisher and product and name else None


async def _os_disk(client: ComputeManagementClient, vm: Json) -> Json | None:
    disk_id = str(
        (((vm.get("properties") or {}).get("storageProfile") or {}).get("osDisk") or {})
        .get("managedDisk", {})
        .get("id")
        or ""
    )
    if not disk_id:
        return None
    try:
        with translated():
            disk = await client.disks.get(resource_group_of(disk_id), name_of(disk_id))
    except NotFoundError:  # the disk adds detail only; the VM is listed without it
        return None
    return disk.as_dict()


async def _describe(client: ComputeManagementClient, vm: Json) -> VmInfo:
    group = resource_group_of(str(vm.get("id") or ""))
    view, os_disk = await asyncio.gather(
        client.virtual_machines.instance_view(group, str(vm.get("name"))),
        _os_disk(client, vm),
    )
    return vm_from_json(vm, view.as_dict(), os_disk)


async def list_vms(client: ComputeManagementClient) -> list[VmInfo]:
    """Every VM of the client's subscription, with power state, OS state and disks."""
    with translated():
        raw = [vm.as_dict() async for vm in client.virtual_machines.list_all()]
    return await describe_vms(client, raw)


async def describe_vms(client: ComputeManagementClient, raw: Iterable[Json]) -> list[VmInfo]:
    """The VMs of a listing's JSON (the catalog reads it off the GUI loop, past the SDK's
    models), each with power state, OS state and disks, sorted by group and name."""
    with translated():
        gate = asyncio.Semaphore(_PARALLEL_READS)

        async def one(vm: Json) -> VmInfo:
            async with gate:
                return await _describe(client, vm)

        vms = await asyncio.gather(*(one(vm) for vm in raw))
    return sorted(vms, key=lambda vm: (vm.resource_group.lower(), vm.name.lower()))


async def get_vm(client: ComputeManagementClient, vm_id: str) -> VmInfo:
    with translated():
        vm = await client.virtual_machines.get(resource_group_of(vm_id), name_of(vm_id))
        return await _describe(client, vm.as_dict())

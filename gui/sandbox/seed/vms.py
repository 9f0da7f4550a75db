"""Virtual machines the sandbox starts with, with their managed disks: capture sources.

Each VM keeps what the guest would know in ``_guest`` (never shown over ARM): its power state,
whether the guest was deprovisioned (sysprep / waagent), whether Azure marked it generalized,
its CPU architecture and Hyper-V generation.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, NamedTuple

from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES

Json = dict[str, Any]

RG_VMS = "rg-build-weu"
RG_LEFT_BEHIND = RG_IMAGES  # where the managed images are
VM_LOCATION = "westeurope"

VM_LINUX = "vm-ubuntu-web-01"  # Linux, Gen2, Standard security, running, OS disk only
VM_WINDOWS = "vm-ws2022-app-01"  # Windows, Gen2, Standard, running, 2 data disks
VM_TRUSTED_LAUNCH = "vm-ubuntu-tl-01"  # Linux, Gen2, TrustedLaunch, running
VM_ARM64 = "vm-arm64-build"  # Linux, Gen2, Arm64, deallocated
VM_SQLNODE = "vm-sqlnode-01"  # Windows, Gen2, TrustedLaunch, 2 data disks, running
VM_GEN1 = "vm-rhel8-legacy-01"  # Linux, Gen1, stopped (not deallocated)
# Linux, Gen2, made from a Marketplace image with a purchase plan (Red Hat BYOS): an image
# captured from it must carry the plan on its gallery definition.
VM_PLAN = "vm-rhel-byos-01"
# Windows, Gen2, running; a group policy (AppLocker) blocks sysprep.exe, so Run Command reports
# the error in its StdErr status and the guest is left as it was.
VM_SYSPREP_BLOCKED = "vm-ws2022-locked-01"


_IMAGE_VERSION = "1.0.20241101"  # the Marketplace image version every seeded VM was made from
_OS_NAMES = {"Canonical": "ubuntu", "RedHat": "rhel"}
# What the guest agent reports as osVersion (VirtualMachine_Get_InstanceView.json).
_OS_VERSIONS = {"Canonical": "22.04", "RedHat": "8.10"}
_WINDOWS_VERSION = "Microsoft Windows NT 10.0.20348.0"
_SYSPREP_BLOCKED = (
    "Start-Process : This command cannot be run due to the error: This program is blocked by "
    "group policy. For more information, contact your system administrator.\n"
    "At C:\\Packages\\Plugins\\Microsoft.CPlat.Core.RunCommandWindows\\1.1.18\\Downloads"
    "\\script0.ps1:2 char:1\n"
    "    + CategoryInfo          : InvalidOperation: (:) [Start-Process], "
    "InvalidOperationException\n"
    "    + FullyQualifiedErrorId : InvalidOperationException,"
    "Microsoft.PowerShell.Commands.StartProcessCommand\n"
)


def _compute_id(resource_group: str, *path: str) -> str:
    return (
        f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{resource_group}"
        "/providers/Microsoft.Compute/" + "/".join(path)
    )


def _stable_uuid(name: str) -> str:
    return str(uuid.UUID(hashlib.md5(name.encode()).hexdigest()))


def _blob_ref(name: str) -> Json:
    """Where a seeded disk's page blob would live: every disk the sandbox makes carries this
    bookkeeping reference (gui/sandbox/arm/disks.py reads it when the disk is deleted or read),
    so a seeded one does too; its account need not exist (deleting the disk forgives that)."""
    digest = hashlib.sha256(_stable_uuid(name).encode()).hexdigest()
    return {"account": f"md-impexp-{digest[:12]}", "container": digest[12:24], "blob": "abcd"}


def _disk(
    name: str,
    vm_id: str,
    size_gb: int,
    *,
    os_type: str | None,
    generation: str,
    architecture: str,
    security_type: str,
    image_id: str = "",
) -> Json:
    creation: Json = {"createOption": "FromImage" if os_type else "Empty"}
    if os_type and image_id:
        # A disk made from an image names it (Disk_Create_FromAPlatformImage, Disk_Get).
        creation["imageReference"] = {"id": image_id}
    props: Json = {
        "creationData": creation,
        "diskSizeGB": size_gb,
        "diskSizeBytes": size_gb * 1024**3,
        "diskState": "Attached",
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "provisioningState": "Succeeded",
        "timeCreated": "2024-11-20T08:30:00.0000000+00:00",
        "uniqueId": _stable_uuid(name),
    }
    if os_type:
        props["osType"] = os_type
        props["hyperVGeneration"] = generation
        props["supportedCapabilities"] = {"architecture": architecture}
        if security_type == "TrustedLaunch":
            props["securityProfile"] = {"securityType": "TrustedLaunch"}
    return {
        "id": _compute_id(RG_VMS, "disks", name),
        "name": name,
        "type": "Microsoft.Compute/disks",
        "location": VM_LOCATION,
        "managedBy": vm_id,
        "tags": {},
        "sku": {"name": "Premium_LRS", "tier": "Premium"},
        "properties": props,
        "_blob": _blob_ref(name),
    }


class VmRow(NamedTuple):
    """A seeded VM; its disks follow from it (OS disk, then a data disk per size, LUN 0, 1...)."""

    name: str
    os_type: str
    image: tuple[str, str, str]  # publisher, offer, sku
    size: str
    os_gb: int
    data_gb: tuple[int, ...] = ()
    power: str = "running"
    generation: str = "V2"
    architecture: str = "x64"
    security_type: str = "Standard"
    admin: str = "azureuser"
    sysprep_error: str = ""  # what the guest answers a sysprep start with, if it refuses it
    plan: bool = False  # the image has a purchase plan (the VM carries it, as Azure's do)


def virtual_machine(row: VmRow) -> list[Json]:
    """A VM and its managed disks (OS disk first), as ARM stores them."""
    name, os_type, generation, architecture = (
        row.name,
        row.os_type,
        row.generation,
        row.architecture,
    )
    vm_id = _compute_id(RG_VMS, "virtualMachines", name)
    digest = hashlib.sha1(name.encode()).hexdigest()
    os_disk_name = f"{name}_OsDisk_1_{digest[:32]}"
    # (name, size, OS type): the OS disk, then the data disks.
    layout: list[tuple[str, int, str | None]] = [(os_disk_name, row.os_gb, os_type)]
    layout += [(f"{name}-data-{lun}", gb, None) for lun, gb in enumerate(row.data_gb)]
    publisher, offer, sku = row.image
    image_id = (
        f"/Subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/Providers/Microsoft.Compute/Locations/"
        f"{VM_LOCATION}/Publishers/{publisher}/ArtifactTypes/VMImage/Offers/{offer}/Skus/{sku}"
        f"/Versions/{_IMAGE_VERSION}"
    )
    disks = [
        _disk(
            disk_name,
            vm_id,
            size_gb,
            os_type=disk_os,
            generation=generation,
            architecture=architecture,
            security_type=row.security_type,
            image_id=image_id,
        )
        for disk_name, size_gb, disk_os in layout
    ]
    data_disks = [
        {
            "lun": lun,
            "name": disk["name"],
            "createOption": "Attach",
            "caching": "ReadOnly" if lun == 0 else "None",
            "diskSizeGB": disk["properties"]["diskSizeGB"],
            "managedDisk": {"id": disk["id"], "storageAccountType": "Premium_LRS"},
            "deleteOption": "Detach",
            "toBeDetached": False,
        }
        for lun, disk in enumerate(disks[1:])
    ]
    os_profile: Json = {"computerName": name[:15], "adminUsername": row.admin}
    if os_type == "Windows":
        os_profile["windowsConfiguration"] = {
            "provisionVMAgent": True,
            "enableAutomaticUpdates": True,
        }
    else:
        os_profile["linuxConfiguration"] = {
            "disablePasswordAuthentication": True,
            "provisionVMAgent": True,
        }
    properties: Json = {
        "vmId": _stable_uuid(vm_id),
        "hardwareProfile": {"vmSize": row.size},
        "storageProfile": {
            "imageReference": {
                "publisher": publisher,
                "offer": offer,
                "sku": sku,
                "version": "latest",
                "exactVersion": _IMAGE_VERSION,
            },
            "osDisk": {
                "osType": os_type,
                "name": os_disk_name,
                "createOption": "FromImage",
                "caching": "ReadWrite",
                "managedDisk": {"id": disks[0]["id"], "storageAccountType": "Premium_LRS"},
                "deleteOption": "Detach",
                "diskSizeGB": row.os_gb,
            },
            "dataDisks": data_disks,
            "diskControllerType": "SCSI",
        },
        "osProfile": os_profile,
        "networkProfile": {
            "networkInterfaces": [
                {
                    "id": f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{RG_VMS}"
                    f"/providers/Microsoft.Network/networkInterfaces/{name}-nic"
                }
            ]
        },
        "provisioningState": "Succeeded",
        "timeCreated": "2024-11-20T08:30:00.0000000+00:00",
    }
    if row.security_type == "TrustedLaunch":
        properties["securityProfile"] = {
            "securityType": "TrustedLaunch",
            "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
        }
    vm: Json = {
        "id": vm_id,
        "name": name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": VM_LOCATION,
        "tags": {"env": "build"},
        "properties": properties,
        "_guest": {
            "power": row.power,
            "deprovisioned": False,
            "generalized": False,
            "architecture": architecture,
            "generation": generation,
            "osName": _OS_NAMES.get(publisher, "Windows Server 2022 Datacenter"),
            "osVersion": _OS_VERSIONS.get(publisher, _WINDOWS_VERSION),
        },
    }
    if row.sysprep_error:
        vm["_guest"]["sysprepError"] = row.sysprep_error
    if row.plan:
        # A VM from a plan image names the plan (VirtualMachine_Get: plan.name is the SKU,
        # product the offer).
        vm["plan"] = {"name": sku, "publisher": publisher, "product": offer}
    return [vm, *disks]


_UBUNTU = ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2")
_WS2022 = ("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-azure-edition")
_TL = "TrustedLaunch"

# fmt: off
VMS: tuple[VmRow, ...] = (
    VmRow(VM_LINUX, "Linux", _UBUNTU, "Standard_D2s_v5", 30),
    VmRow(VM_WINDOWS, "Windows", _WS2022, "Standard_D4s_v5", 127, (128, 256),
          admin="contosoadmin"),
    VmRow(VM_TRUSTED_LAUNCH, "Linux", _UBUNTU, "Standard_D2s_v5", 30, security_type=_TL),
    VmRow(VM_ARM64, "Linux", ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-arm64"),
          "Standard_D2ps_v5", 30, architecture="Arm64", power="deallocated"),
    VmRow(VM_SQLNODE, "Windows", ("MicrosoftSQLServer", "sql2022-ws2022", "enterprise-gen2"),
          "Standard_E8s_v5", 127, (512, 256), admin="contosoadmin", security_type=_TL),
    VmRow(VM_PLAN, "Linux", ("RedHat", "rhel-byos", "rhel-lvm94-gen2"), "Standard_D2s_v5", 64,
          plan=True),
    VmRow(VM_GEN1, "Linux", ("RedHat", "RHEL", "8-lvm"), "Standard_D2s_v3", 64, generation="V1",
          power="stopped"),
    VmRow(VM_SYSPREP_BLOCKED, "Windows", _WS2022, "Standard_D2s_v5", 127, admin="contosoadmin",
          sysprep_error=_SYSPREP_BLOCKED),
)
# fmt: on


# What the wizards leave behind, as they make it (issue 12: disks and snapshots in the tree), in
# the managed images' group: the VM vm-ubuntu-build was captured into its image there
# (seed/world.py: IMAGE_OS_ONLY) and deleted, and its backup snapshot stayed.
# An upload into a managed disk whose image was made keeps the disk: createOption Upload, the
# upload job's tags (gui/azure/upload/job.py: PLAN_TAG, created-by), revoked, so Unattached.
KEPT_UPLOAD_DISK = "ubuntu-2404-golden-os"
KEPT_UPLOAD_PLAN = "5d0c1f4e-2b7a-4c1e-9a3f-6e8d2b4a7c10"
# A disk nothing uses any more (a detached data disk): deletable.
UNATTACHED_DISK = "data-scratch-01"
# The capture executor's backup snapshot of a VM's OS disk, taken before it generalized the VM:
# named {vm}-os-precapture (CapturePlan.snapshot_name), tagged capturedFrom, a full copy.
CAPTURED_VM = "vm-ubuntu-build"
CAPTURE_BACKUP_SNAPSHOT = f"{CAPTURED_VM}-os-precapture"
_CAPTURED_OS_DISK = f"{CAPTURED_VM}_OsDisk_1_3f1c2a9e"
_UPLOAD_SIZE = 30 * 1024**3 + 512  # 30 GiB and the VHD footer, as an upload sends it


def _unattached_disk(name: str, sku: str, size_gb: int, creation: Json, tags: Json) -> Json:
    """A managed disk attached to no VM (with its page-blob reference, as every disk)."""
    props: Json = {
        "creationData": creation,
        "diskSizeGB": size_gb,
        "diskSizeBytes": size_gb * 1024**3,
        "diskState": "Unattached",
        "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
        "networkAccessPolicy": "AllowAll",
        "publicNetworkAccess": "Enabled",
        "provisioningState": "Succeeded",
        "timeCreated": "2025-02-03T10:15:00.0000000+00:00",
        "uniqueId": _stable_uuid(name),
    }
    if creation["createOption"] == "Upload":
        props.update(
            {
                "osType": "Linux",
                "hyperVGeneration": "V2",
                "supportedCapabilities": {"architecture": "x64"},
            }
        )
    tier = "Premium" if sku.startswith("Premium") else "Standard"
    return {
        "id": _compute_id(RG_LEFT_BEHIND, "disks", name),
        "name": name,
        "type": "Microsoft.Compute/disks",
        "location": VM_LOCATION,
        "tags": tags,
        "sku": {"name": sku, "tier": tier},
        "properties": props,
        "_blob": _blob_ref(name),
    }


def left_behind() -> list[Json]:
    """A kept upload disk, an unattached data disk and a capture's backup snapshot."""
    upload = _unattached_disk(
        KEPT_UPLOAD_DISK,
        "Premium_LRS",
        30,
        {"createOption": "Upload", "uploadSizeBytes": _UPLOAD_SIZE},
        {"upload-plan": KEPT_UPLOAD_PLAN, "created-by": "azure-image-studio"},
    )
    scratch = _unattached_disk(
        UNATTACHED_DISK, "StandardSSD_LRS", 64, {"createOption": "Empty"}, {"env": "build"}
    )
    snapshot: Json = {
        "id": _compute_id(RG_LEFT_BEHIND, "snapshots", CAPTURE_BACKUP_SNAPSHOT),
        "name": CAPTURE_BACKUP_SNAPSHOT,
        "type": "Microsoft.Compute/snapshots",
        "location": VM_LOCATION,
        "tags": {"capturedFrom": CAPTURED_VM},
        "sku": {"name": "Standard_LRS", "tier": "Standard"},
        "properties": {
            "creationData": {
                "createOption": "Copy",
                "sourceResourceId": _compute_id(RG_LEFT_BEHIND, "disks", _CAPTURED_OS_DISK),
                "sourceUniqueId": _stable_uuid(_CAPTURED_OS_DISK),
            },
            "diskSizeGB": 30,
            "diskSizeBytes": 30 * 1024**3,
            "incremental": False,
            "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "networkAccessPolicy": "AllowAll",
            "publicNetworkAccess": "Enabled",
            "timeCreated": "2024-10-28T09:41:00.0000000+00:00",
            "provisioningState": "Succeeded",
            "diskState": "Unattached",
            "uniqueId": _stable_uuid(CAPTURE_BACKUP_SNAPSHOT),
            "osType": "Linux",
            "hyperVGeneration": "V2",
            "supportedCapabilities": {"architecture": "x64"},
        },
    }
    return [upload, scratch, snapshot]


def vm_resources() -> list[Json]:
    """The seeded VMs and their disks (resource group rg-build-weu of Contoso Production), and
    what the upload and capture wizards left behind there."""
    return [resource for row in VMS for resource in virtual_machine(row)] + left_behind()

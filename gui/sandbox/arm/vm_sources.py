"""Virtual machines as the source of a gallery image version or a managed image.

Azure checks the VM against what is made from it; these are its checks and error texts.
"""

from __future__ import annotations

from typing import Any

from gui.sandbox.arm.common import version_disks
from gui.sandbox.errors import ArmError, invalid_parameter, operation_not_allowed

Json = dict[str, Any]
VM_TYPE = "microsoft.compute/virtualmachines"


def require_vm(world: Any, vm_id: str) -> Json:
    vm: Json | None = world.store.get(vm_id)
    if vm is None or vm["type"].lower() != VM_TYPE:
        raise ArmError(404, "NotFound", f"The source virtual machine '{vm_id}' was not found.")
    return vm


def vm_generation(world: Any, vm: Json) -> str:
    os_disk = vm["properties"]["storageProfile"]["osDisk"]
    disk = world.store.get((os_disk.get("managedDisk") or {}).get("id", ""))
    if disk is not None:
        return str(disk["properties"].get("hyperVGeneration") or "V1")
    return str(vm.get("_guest", {}).get("generation", "V1"))


def vm_security_type(vm: Json) -> str:
    return str((vm["properties"].get("securityProfile") or {}).get("securityType") or "Standard")


def vm_os_state(vm: Json) -> str:
    return "Generalized" if vm.get("_guest", {}).get("generalized") else "Specialized"


def vm_architecture(vm: Json) -> str:
    return str(vm.get("_guest", {}).get("architecture", "x64"))


def vm_disks(world: Any, vm: Json) -> tuple[Json, list[Json]]:
    """(os disk, data disks) as the VM's storage profile lists them, with sizes filled in."""
    profile = vm["properties"]["storageProfile"]
    return profile["osDisk"], sorted(profile.get("dataDisks") or [], key=lambda d: d["lun"])


# Which gallery image SecurityType values accept a VM of a given security type.
_NEEDS_SECURITY_FEATURE: dict[str, tuple[str, ...]] = {
    "TrustedLaunch": (
        "TrustedLaunch",
        "TrustedLaunchSupported",
        "TrustedLaunchAndConfidentialVmSupported",
    ),
    "ConfidentialVM": (
        "ConfidentialVM",
        "ConfidentialVmSupported",
        "TrustedLaunchAndConfidentialVmSupported",
    ),
}


def _definition_security(definition: Json) -> str:
    for feature in definition["properties"].get("features") or []:
        if feature.get("name") == "SecurityType":
            return str(feature.get("value"))
    return "Standard"


def vm_version_storage(world: Any, definition: Json, vm_id: str, given: Json) -> Json:
    """The storage profile of a version captured from the VM ``vm_id``; ``given`` is the
    request's source (``virtualMachineId``, or the older ``id``), which the version shows."""
    vm = require_vm(world, vm_id)
    d_props = definition["properties"]
    os_disk, data_disks = vm_disks(world, vm)
    checks = (
        ("OS type", str(os_disk.get("osType")), str(d_props.get("osType"))),
        ("OS state", vm_os_state(vm), str(d_props.get("osState"))),
        (
            "Hyper-V generation",
            vm_generation(world, vm),
            str(d_props.get("hyperVGeneration", "V1")),
        ),
        ("architecture", vm_architecture(vm), str(d_props.get("architecture", "x64"))),
    )
    for what, source_value, wanted in checks:
        if source_value != wanted:
            raise invalid_parameter(
                f"Cannot create Gallery Image Version from a source with different {what} "
                f"('{source_value}') than the parent gallery image '{definition['name']}' "
                f"('{wanted}').",
                target="properties.storageProfile.source",
            )
    security = vm_security_type(vm)
    definition_security = _definition_security(definition)
    if (
        security in _NEEDS_SECURITY_FEATURE
        and definition_security not in _NEEDS_SECURITY_FEATURE[security]
    ):
        allowed = "' or '".join(_NEEDS_SECURITY_FEATURE[security])
        raise invalid_parameter(
            f"The source virtual machine '{vm['name']}' has security type '{security}', but the "
            f"gallery image '{definition['name']}' has SecurityType '{definition_security}'. Use "
            f"a gallery image whose feature SecurityType is '{allowed}'.",
            target="properties.storageProfile.source",
        )
    if vm_os_state(vm) == "Generalized" and vm.get("_guest", {}).get("power") == "running":
        raise operation_not_allowed(
            "Operation 'capture' is not allowed since the VM is running. Deallocate the VM first.",
        )
    return version_disks(given, os_disk, data_disks)

"""Creating a VM (PUT virtualMachines) from every image source, with boot diagnostics.

Checked as Azure checks it, with Azure's codes and texts: the size exists and runs the image
(Hyper-V generation, architecture, security type), a Marketplace image with a purchase plan
carries the plan and its terms are accepted in the subscription, a generalized image gets an OS
profile and a specialized one none, the NIC exists in the VM's region and is free.

Then the simulated guest boots (gui/sandbox/arm/vm_boot.py): the create operation ends when OS
provisioning ends, Succeeded, or Failed with OSProvisioningTimedOut when the image's disk was not
generalized, and the serial log grows on the sandbox's blob endpoint meanwhile
(retrieveBootDiagnosticsData hands out its SAS URL).

What the guest of an image is really like (never shown over ARM) is read from bookkeeping:
``_guest`` on a managed image or gallery image version (``deprovisioned``: false for a disk that
was never generalized; ``generation``: the firmware the disk really boots with; ``agent``: false
when no guest agent is installed), or, when the image has none, from the VM it was captured from
(a VM marked generalized whose guest never ran sysprep or waagent -deprovision).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from aiohttp import web

from gui.sandbox.arm import network, vm_boot
from gui.sandbox.arm.common import now_iso, parse_resource_id, region_name
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.arm.terms import terms_accepted
from gui.sandbox.arm.vm_sources import vm_generation
from gui.sandbox.blob.errors import BlobError
from gui.sandbox.errors import ArmError, invalid_parameter, operation_not_allowed
from gui.sandbox.seed import community as cg
from gui.sandbox.seed import marketplace as mp
from gui.sandbox.seed.skus import SizeSpec, find_size
from gui.sandbox.seed.world import compute_id
from gui.sandbox.world import World, public

Json = dict[str, Any]
router = Router()

VM_TYPE = "Microsoft.Compute/virtualMachines"
DISK_TYPE = "Microsoft.Compute/disks"
_VM = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}"
# Azure: 1-64 characters for Linux, 1-15 for Windows (the computer name); letters, digits,
# hyphens, periods and underscores; not ending with a period or hyphen.
_VM_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]$|^[A-Za-z0-9_]$")
_COMMUNITY_ID = re.compile(r"^/CommunityGalleries/([^/]+)/Images/([^/]+)/Versions/([^/]+)$", re.I)
_SHARED_ID = re.compile(r"^/SharedGalleries/([^/]+)/Images/([^/]+)/Versions/([^/]+)$", re.I)
_CONFIDENTIAL_FEATURES = ("ConfidentialVM", "ConfidentialVmSupported",
                          "TrustedLaunchAndConfidentialVmSupported")  # fmt: skip
_TRUSTED_FEATURES = ("TrustedLaunch", "TrustedLaunchSupported",
                     "TrustedLaunchAndConfidentialVmSupported")  # fmt: skip


@dataclass
class ImageFacts:
    """What the VM's image is, as Azure knows it, and what its guest really is."""

    os_type: str
    os_state: str
    generation: str
    architecture: str
    security: str  # the SecurityType feature ("Standard" when none)
    plan: Json | None = None  # publisher, product, name
    reference: Json = field(default_factory=dict)  # what the VM's storageProfile shows
    guest: Json = field(default_factory=dict)


def _image_not_found(what: str, location: str) -> ArmError:
    return ArmError(
        404,
        "NotFound",
        f"The platform image '{what}' is not available in region '{location}'. Verify that all "
        "fields in the storage profile are correct.",
    )


def _marketplace_facts(reference: Json, location: str) -> ImageFacts:
    names = [str(reference.get(k) or "") for k in ("publisher", "offer", "sku", "version")]
    what = ":".join(names)
    publisher = mp.find_publisher(location, names[0])
    offer = mp.find_offer(publisher, names[1]) if publisher else None
    sku = mp.find_sku(offer, names[2]) if offer else None
    version = mp.find_version(sku, names[3] or "latest") if sku else None
    if publisher is None or offer is None or sku is None or version is None:
        raise _image_not_found(what, location)
    plan = (
        {"publisher": publisher.name, "product": offer.name, "name": sku.name} if sku.plan else None
    )
    return ImageFacts(
        os_type=sku.os,
        os_state="Generalized",
        generation=sku.generation,
        architecture=sku.architecture,
        security=sku.security or "Standard",
        plan=plan,
        reference={
            "publisher": publisher.name,
            "offer": offer.name,
            "sku": sku.name,
            "version": names[3] or "latest",
            "exactVersion": version,
        },
    )


def _public_facts(reference_id: str, location: str) -> ImageFacts:
    community = _COMMUNITY_ID.match(reference_id)
    shared = _SHARED_ID.match(reference_id)
    galleries: tuple[cg.PublicGallery, ...] = (
        cg.COMMUNITY_GALLERIES if community else cg.SHARED_GALLERIES
    )
    match = community or shared
    assert match is not None
    gallery = cg.find_gallery(galleries, match.group(1), location)
    spec = cg.find_image(gallery.images, match.group(2)) if gallery else None
    version = cg.find_version(spec, match.group(3)) if spec else None
    if gallery is None or spec is None or version is None:
        raise ArmError(
            404,
            "NotFound",
            f"The gallery image version '{reference_id}' is not available in region "
            f"'{location}'. Check the ID and that the version is replicated to the region.",
        )
    key = "communityGalleryImageId" if community else "sharedGalleryImageId"
    return ImageFacts(
        os_type=spec.os_type,
        os_state=spec.os_state,
        generation=spec.generation,
        architecture=spec.architecture,
        security=spec.security_type or "Standard",
        reference={key: reference_id},
    )


def _security_feature(definition: Json) -> str:
    for feature in definition["properties"].get("features") or []:
        if feature.get("name") == "SecurityType":
            return str(feature.get("value"))
    return "Standard"


_MBR_SIGNATURE = b"\x55\xaa"
_GPT_PROTECTIVE = 0xEE


def _blob_firmware(world: World, uri: str) -> str | None:
    """The firmware a VHD blob's disk boots with, read from its first sector: "V2" for a GPT
    disk (protective MBR, an EFI system partition), "V1" for an MBR disk, None when it has no
    partition table to tell."""
    segments = [unquote(s) for s in urlsplit(uri).path.lstrip("/").split("/", 2)]
    if len(segments) != 3:
        return None
    account, container, name = segments
    try:
        meta = world.blobs.blob(account, container, name)
    except BlobError:  # gone since the image was made: its disk tells nothing
        return None
    sector = world.blobs.read(account, container, meta, 0, 512)
    if sector[510:512] != _MBR_SIGNATURE:
        return None
    types = [sector[446 + 16 * slot + 4] for slot in range(4)]
    return "V2" if _GPT_PROTECTIVE in types else "V1"


def _origin_guest(world: World, resource: Json, depth: int = 0) -> Json:
    """The guest bookkeeping of an image: its own, else that of the VM (or image) it came from,
    else what its VHD blob's partition table says about its firmware."""
    if resource.get("_guest") is not None:
        return dict(resource["_guest"])
    props = resource.get("properties") or {}
    blob = (((props.get("storageProfile") or {}).get("osDisk")) or {}).get("blobUri")
    if blob:
        firmware = _blob_firmware(world, str(blob))
        return {"generation": firmware} if firmware else {}
    source = (
        (props.get("sourceVirtualMachine") or {}).get("id")
        or ((props.get("storageProfile") or {}).get("source") or {}).get("virtualMachineId")
        or ((props.get("storageProfile") or {}).get("source") or {}).get("id")
    )
    origin = world.store.get(source) if source and depth < 3 else None
    if origin is None:
        return {}
    if origin["type"].lower() == VM_TYPE.lower():
        guest = origin.get("_guest") or {}
        return {
            "deprovisioned": bool(guest.get("deprovisioned")),
            # the firmware the VM's disk booted with
            "generation": vm_generation(world, origin),
        }
    return _origin_guest(world, origin, depth + 1)


def _own_facts(world: World, image_id: str, location: str) -> ImageFacts:
    parts = parse_resource_id(image_id)
    resource = world.store.get(image_id)
    if "galleries" in parts and "versions" not in parts and resource is not None:
        raise invalid_parameter(
            f"The image reference '{image_id}' names an image definition; name one of its "
            "versions.",
            target="imageReference.id",
        )
    if resource is None:
        raise ArmError(
            404,
            "NotFound",
            f"The Image '{image_id}' cannot be found in '{location}' region.",
        )
    kind = resource["type"].lower()
    if kind == "microsoft.compute/images":
        if resource["location"] != location:
            raise ArmError(
                404,
                "NotFound",
                f"The Image '{image_id}' cannot be found in '{location}' region.",
            )
        os_disk = resource["properties"]["storageProfile"]["osDisk"]
        return ImageFacts(
            os_type=str(os_disk.get("osType")),
            os_state=str(os_disk.get("osState") or "Generalized"),
            generation=str(resource["properties"].get("hyperVGeneration") or "V1"),
            architecture="x64",
            security="Standard",
            reference={"id": resource["id"]},
            guest=_origin_guest(world, resource),
        )
    if kind != "microsoft.compute/galleries/images/versions":
        raise invalid_parameter(
            f"The image reference '{image_id}' is neither a managed image nor a gallery image "
            "version.",
            target="imageReference.id",
        )
    definition = world.store.get(image_id.rsplit("/versions/", 1)[0])
    assert definition is not None  # a version lives under its definition
    regions = {
        region_name(str(r.get("name")))
        for r in (resource["properties"].get("publishingProfile") or {}).get("targetRegions") or []
    } or {resource["location"]}
    if location not in regions:
        raise invalid_parameter(
            f"Gallery image version '{image_id}' is not replicated to region '{location}'. "
            "Add the region to its target regions, or create the VM in one of: "
            f"{', '.join(sorted(regions))}.",
            target="imageReference.id",
        )
    d_props = definition["properties"]
    plan = d_props.get("purchasePlan")
    return ImageFacts(
        os_type=str(d_props.get("osType")),
        os_state=str(d_props.get("osState")),
        generation=str(d_props.get("hyperVGeneration") or "V1"),
        architecture=str(d_props.get("architecture") or "x64"),
        security=_security_feature(definition),
        plan={k: plan.get(k) for k in ("publisher", "product", "name")} if plan else None,
        reference={"id": resource["id"]},
        guest=_origin_guest(world, resource),
    )


def image_facts(world: World, reference: Json, location: str) -> ImageFacts:
    if reference.get("communityGalleryImageId"):
        return _public_facts(str(reference["communityGalleryImageId"]), location)
    if reference.get("sharedGalleryImageId"):
        return _public_facts(str(reference["sharedGalleryImageId"]), location)
    if reference.get("id"):
        return _own_facts(world, str(reference["id"]), location)
    if reference.get("publisher"):
        return _marketplace_facts(reference, location)
    raise invalid_parameter(
        "The storage profile names no image: give imageReference.publisher/offer/sku/version, "
        "imageReference.id, communityGalleryImageId or sharedGalleryImageId.",
        target="storageProfile.imageReference",
    )


# --- the checks ----------------------------------------------------------------------------


def _check_plan(ctx: Ctx, sub: str, vm_name: str, facts: ImageFacts, plan: Json | None) -> None:
    if facts.plan is None:
        return
    if not plan:
        raise ArmError(
            400,
            "VMMarketplaceInvalidInput",
            "Creating a virtual machine from Marketplace image or a custom image sourced from a "
            f"Marketplace image requires Plan information in the request. VM: '{vm_name}'.",
        )
    given = tuple(str(plan.get(k) or "").lower() for k in ("publisher", "product", "name"))
    wanted = tuple(str(facts.plan[k]).lower() for k in ("publisher", "product", "name"))
    if given != wanted:
        raise ArmError(
            400,
            "VMMarketplaceInvalidInput",
            "The purchase information does not match. Unable to deploy from the Marketplace "
            f"image or a custom image sourced from Marketplace image. OS disk name is "
            f"'{vm_name}_OsDisk'.",
        )
    publisher, product, name = (str(facts.plan[k]) for k in ("publisher", "product", "name"))
    if not terms_accepted(ctx, sub, publisher, product, name):
        correlation = str(uuid.uuid4())
        raise ArmError(
            400,
            "MarketplacePurchaseEligibilityFailed",
            "Marketplace purchase eligibilty check returned errors. See inner errors for "
            "details. ",
            details=[
                {
                    "code": "BadRequest",
                    "message": (
                        f"Offer with PublisherId: '{publisher}', OfferId: '{product}' cannot be "
                        "purchased due to validation errors. For more information see details. "
                        f"Correlation Id: '{correlation}' You have not accepted the legal terms "
                        f"on this subscription: '{sub}' for this plan. Before the subscription "
                        "can be used, you need to accept the legal terms of the image. To read "
                        "and accept legal terms, use the Azure CLI commands described at "
                        "https://go.microsoft.com/fwlink/?linkid=2110637 or the PowerShell "
                        "commands available at https://go.microsoft.com/fwlink/?linkid=862451. "
                        "Alternatively, deploying via the Azure portal provides a UI experience "
                        "for reading and accepting the legal terms. Offer details: publisher='"
                        f"{publisher}' offer = '{product}', sku = '{name}', Correlation Id: '"
                        f"{correlation}'.[{{\"{name}\":\"StoreApi\"}}]"
                    ),
                    "target": "ResourcePurchaseValidationFailed",
                }
            ],
        )


def _check_size(size_name: str, location: str) -> SizeSpec:
    size = find_size(size_name)
    if size is None:
        raise invalid_parameter(
            f"The value {size_name} provided for the VM size is not valid. The valid sizes in "
            f"the current region '{location}' are listed by the Resource SKUs API "
            "(az vm list-skus --location " + location + ").",
            target="vmSize",
        )
    return size


def _check_size_runs_image(size: SizeSpec, facts: ImageFacts, security: str) -> None:
    generation = facts.generation.upper()
    if generation not in size.generations.upper().split(","):
        number = generation.removeprefix("V")
        raise ArmError(
            400,
            "BadRequest",
            f"The selected VM size '{size.name}' cannot boot Hypervisor Generation '{number}'. "
            "If this was a Create operation please check that the Hypervisor Generation of the "
            "Image matches the Hypervisor Generation of the selected VM Size. If this was an "
            f"Update operation please select a Hypervisor Generation '{number}' VM Size. For "
            "more information, see https://aka.ms/azuregen2vm",
        )
    if facts.architecture.lower() != size.architecture.lower():
        raise ArmError(
            400,
            "BadRequest",
            f"The selected VM size '{size.name}' cannot boot an image with architecture type "
            f"'{facts.architecture}'. Select a VM size that supports '{facts.architecture}' "
            "(CpuArchitectureType in the Resource SKUs API).",
        )
    if security == "TrustedLaunch":
        if size.trusted_launch_disabled:
            raise ArmError(
                400,
                "BadRequest",
                f"The VM size '{size.name}' is not supported for creation of VMs and Virtual "
                "Machine Scale Set with 'TrustedLaunch' security type.",
            )
        if generation != "V2":
            raise invalid_parameter(
                "Use of TrustedLaunch setting is not supported for the provided image. Please "
                "select Trusted Launch Supported Gen2 OS Image. For more information, see "
                "https://aka.ms/TrustedLaunch-FAQ.",
                target="securityProfile.securityType",
            )
    if security == "ConfidentialVM" and not size.confidential:
        raise ArmError(
            400,
            "BadRequest",
            f"The VM size '{size.name}' is not supported for creation of VMs with "
            "'ConfidentialVM' security type. Choose a confidential size (DCasv5, ECasv5).",
        )
    if size.confidential and security != "ConfidentialVM":
        raise ArmError(
            400,
            "BadRequest",
            f"The VM size '{size.name}' is only supported for creation of VMs with "
            "'ConfidentialVM' security type.",
        )
    if security == "ConfidentialVM" and facts.security not in _CONFIDENTIAL_FEATURES:
        raise invalid_parameter(
            "Use of ConfidentialVM setting is not supported for the provided image. Select an "
            "image whose SecurityType supports Confidential VMs.",
            target="securityProfile.securityType",
        )
    if security == "Standard" and facts.security in ("TrustedLaunch", "ConfidentialVM"):
        raise invalid_parameter(
            f"The image requires security type '{facts.security}'; set "
            f"securityProfile.securityType to '{facts.security}'.",
            target="securityProfile.securityType",
        )


_PASSWORD_CLASSES = (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")


def _check_os_profile(facts: ImageFacts, profile: Json | None, vm_name: str) -> None:
    if facts.os_state.lower() == "specialized":
        if profile:
            raise invalid_parameter("Parameter 'osProfile' is not allowed.", target="osProfile")
        return
    if not profile:
        raise invalid_parameter("Required parameter 'osProfile' is missing (null).",
                                target="osProfile")  # fmt: skip
    if not profile.get("adminUsername"):
        raise invalid_parameter(
            "Required parameter 'adminUsername' is missing (null).",
            target="osProfile.adminUsername",
        )
    password = profile.get("adminPassword")
    linux = profile.get("linuxConfiguration") or {}
    keys = ((linux.get("ssh") or {}).get("publicKeys")) or []
    if facts.os_type == "Linux" and not password and not keys:
        raise invalid_parameter(
            "Authentication using either SSH or by user name and password must be enabled in "
            "Linux profile.",
            target="linuxConfiguration",
        )
    if linux.get("disablePasswordAuthentication") and password:
        raise invalid_parameter(
            "Password cannot be set when password authentication is disabled in the Linux "
            "profile.",
            target="adminPassword",
        )
    if facts.os_type == "Windows" and not password:
        raise invalid_parameter(
            "Required parameter 'adminPassword' is missing (null).", target="adminPassword"
        )
    if password:
        low, high = (12, 123) if facts.os_type == "Windows" else (6, 72)
        classes = sum(1 for pattern in _PASSWORD_CLASSES if re.search(pattern, str(password)))
        if not low <= len(str(password)) <= high or classes < 3:
            raise invalid_parameter(
                f"The supplied password must be between {low}-{high} characters long and must "
                "satisfy at least 3 of password complexity requirements from the following: "
                "1) Contains an uppercase character 2) Contains a lowercase character 3) "
                "Contains a numeric digit 4) Contains a special character 5) Control characters "
                "are not allowed",
                target="adminPassword",
            )
    if facts.os_type == "Windows" and len(str(profile.get("computerName") or vm_name)) > 15:
        raise invalid_parameter(
            "Windows computer name cannot be more than 15 characters long, be entirely numeric, "
            "or contain the following characters: ` ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \\ | ; "
            ": . ' \" , < > / ?.",
            target="computerName",
        )


# --- the handler -----------------------------------------------------------------------------


@router.put(_VM)
async def create_vm(ctx: Ctx, p: dict[str, str]) -> web.Response:
    world = ctx.world
    group = world.require_resource_group(p["sub"], p["rg"])
    sid = world.require_subscription(p["sub"])
    name = p["name"]
    if not _VM_NAME.match(name):
        raise ArmError(
            400,
            "InvalidResourceName",
            f"The resource name '{name}' is invalid. A VM name has 1-64 letters, digits, "
            "hyphens, periods or underscores and does not end with a hyphen or period.",
        )
    body = ctx.json()
    location = region_name(str(body.get("location") or ""))
    vm_id = compute_id(sid, group["name"], "virtualMachines", name)
    if world.store.get(vm_id) is not None:
        raise operation_not_allowed(
            f"VM '{name}' already exists. The sandbox does not update VMs; choose another name."
        )
    props = body.get("properties") or {}
    size = _check_size(str((props.get("hardwareProfile") or {}).get("vmSize") or ""), location)
    storage = props.get("storageProfile") or {}
    facts = image_facts(world, storage.get("imageReference") or {}, location)
    _check_plan(ctx, sid, name, facts, body.get("plan"))
    security = str((props.get("securityProfile") or {}).get("securityType") or "Standard")
    _check_size_runs_image(size, facts, security)
    profile = props.get("osProfile")
    _check_os_profile(facts, profile, name)
    nic_refs = (props.get("networkProfile") or {}).get("networkInterfaces") or []
    if not nic_refs:
        raise invalid_parameter(
            "Required parameter 'networkProfile' is missing (null).", target="networkProfile"
        )
    nic_ids = [str(ref.get("id") or "") for ref in nic_refs]
    for nic_id in nic_ids:
        network.require_nic(world, nic_id, location)

    os_disk_name = str((storage.get("osDisk") or {}).get("name") or f"{name}_OsDisk_1_"
                       + uuid.uuid4().hex)  # fmt: skip
    disk_id = compute_id(sid, group["name"], "disks", os_disk_name)
    requested_disk = storage.get("osDisk") or {}
    storage_type = str((requested_disk.get("managedDisk") or {}).get("storageAccountType")
                       or ("Premium_LRS" if size.premium_io else "Standard_LRS"))  # fmt: skip
    diagnostics = ((props.get("diagnosticsProfile") or {}).get("bootDiagnostics")) or {}
    shown_profile = None
    if profile:
        # Azure never shows the password again; the rest of the profile it does.
        hidden = ("adminPassword", "customData")
        shown_profile = {k: v for k, v in profile.items() if k not in hidden}
        shown_profile.setdefault("computerName", name)
        shown_profile["secrets"] = profile.get("secrets") or []
        shown_profile["allowExtensionOperations"] = True
        if facts.os_type == "Windows":
            shown_profile["windowsConfiguration"] = {
                "provisionVMAgent": True, "enableAutomaticUpdates": True,
                **(profile.get("windowsConfiguration") or {}),
            }
        else:
            shown_profile["linuxConfiguration"] = {
                "disablePasswordAuthentication": not profile.get("adminPassword"),
                "provisionVMAgent": True,
                **(profile.get("linuxConfiguration") or {}),
            }
    vm: Json = {
        "id": vm_id,
        "name": name,
        "type": VM_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "properties": {
            "vmId": str(uuid.uuid4()),
            "hardwareProfile": {"vmSize": size.name},
            "storageProfile": {
                "imageReference": facts.reference,
                "osDisk": {
                    "osType": facts.os_type,
                    "name": os_disk_name,
                    "createOption": "FromImage",
                    "caching": requested_disk.get("caching") or "ReadWrite",
                    "managedDisk": {"storageAccountType": storage_type, "id": disk_id},
                    "deleteOption": requested_disk.get("deleteOption") or "Detach",
                    "diskSizeGB": 30,
                },
                "dataDisks": [],
            },
            "networkProfile": {
                "networkInterfaces": [
                    {"id": str(ref.get("id")), "properties": {
                        "primary": bool((ref.get("properties") or {}).get("primary", True))}}
                    for ref in nic_refs
                ]
            },
            "diagnosticsProfile": {
                "bootDiagnostics": {"enabled": bool(diagnostics.get("enabled"))}
            },
            "provisioningState": "Creating",
            "timeCreated": now_iso(),
        },
    }
    if shown_profile is not None:
        vm["properties"]["osProfile"] = shown_profile
    if security != "Standard":
        vm["properties"]["securityProfile"] = props.get("securityProfile")
    if body.get("plan"):
        vm["plan"] = body["plan"]
    generation = facts.generation.upper()
    vm["_guest"] = {
        "power": "starting",
        "generation": generation,
        "architecture": facts.architecture,
        "provisioning": "creating",
        "agentReady": False,
    }
    world.store.put(vm)
    world.store.put(_os_disk(disk_id, os_disk_name, location, vm_id, facts, storage_type))
    for nic_id in nic_ids:
        network.attach_nic(world, nic_id, vm_id)
    scenario = vm_boot.scenario_for(facts, bool(profile))
    boot = vm_boot.start_boot(world, vm_id, facts.os_type, scenario,
                              bool(diagnostics.get("enabled")))  # fmt: skip
    op, headers = start_operation(
        ctx, sid, location, duration=boot.provisioning_seconds, on_done=boot.finish_provisioning
    )
    del op
    return reply(public(vm), 201, headers=headers)


def _os_disk(  # noqa: PLR0917 - the parts of a VM's new OS disk
    disk_id: str, name: str, location: str, vm_id: str, facts: ImageFacts, storage_type: str
) -> Json:
    creation: Json = {"createOption": "FromImage"}
    if "id" in facts.reference and "/galleries/" in str(facts.reference["id"]).lower():
        creation["galleryImageReference"] = {"id": facts.reference["id"]}
    elif "id" in facts.reference or "publisher" in facts.reference:
        creation["imageReference"] = {"id": str(facts.reference.get("id") or "")}
    return {
        "id": disk_id,
        "name": name,
        "type": DISK_TYPE,
        "location": location,
        "tags": {},
        "managedBy": vm_id,
        "sku": {"name": storage_type, "tier": storage_type.split("_", maxsplit=1)[0]},
        "properties": {
            "osType": facts.os_type,
            "hyperVGeneration": facts.generation.upper(),
            "creationData": creation,
            "diskSizeGB": 30,
            "diskSizeBytes": 30 * 1024**3,
            "diskState": "Attached",
            "provisioningState": "Succeeded",
            "timeCreated": now_iso(),
            "uniqueId": str(uuid.uuid4()),
        },
    }

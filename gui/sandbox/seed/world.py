"""The mutable resources the sandbox starts with: resource groups, managed images, galleries.

Names the GUI and the tests rely on are module constants.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from gui.sandbox.seed import (
    DEVTEST_SUBSCRIPTION_ID,
    PARTNER_SUBSCRIPTION_ID,
    PRODUCTION_SUBSCRIPTION_ID,
)
from gui.sandbox.seed.community import ImageDefinitionSpec, definition_features
from gui.sandbox.seed.regions import REGIONS_BY_NAME

Json = dict[str, Any]

RG_IMAGES = "rg-images-prod"
RG_GALLERY = "rg-gallery-prod"
RG_BUILD = "rg-build-weu"
RG_DEVTEST = "rg-devtest-images"

IMAGE_OS_ONLY = "img-ubuntu2204-base-20241015"  # Linux, Gen2, OS disk only
IMAGE_WITH_DATA_DISKS = "img-ws2022-sql-app-20241102"  # Windows, Gen2, OS + 2 data disks
IMAGE_FROM_BLOB = "img-rhel9-web-20240920"  # Linux, Gen1, made from an uploaded VHD
IMAGE_DEVTEST_WIN11 = "img-win11-devbox-20241105"
IMAGE_DEVTEST_CI = "img-debian12-ci-runner-20241111"

GALLERY_PROD = "gal_contoso_prod"
GALLERY_DEVTEST = "gal_devtest"
# The second tenant's (Fabrikam's) gallery: definitions with no versions yet, one that matches
# Contoso's ubuntu-22.04-base (a copy target) and one that does not (Windows).
RG_PARTNER = "rg-fabrikam-images"
GALLERY_PARTNER = "gal_fabrikam"
PARTNER_IMAGE_UBUNTU = "ubuntu-22.04-base"  # Linux, generalized, Gen2, x64, TrustedLaunch
PARTNER_IMAGE_WINDOWS = "ws2022-base"  # Windows, generalized, Gen2

GALLERY_IMAGE_SECURE = "ubuntu-22.04-base"  # Linux, generalized, Gen2, TrustedLaunch
GALLERY_IMAGE_WINDOWS = "ws2022-appserver"  # Windows, generalized, Gen2, data disk
GALLERY_IMAGE_GEN1 = "rhel8-legacy-gen1"  # Linux, generalized, Gen1
GALLERY_IMAGE_SPECIALIZED = "sqlnode-specialized"  # Windows, specialized, Gen2, 2 data disks
GALLERY_IMAGE_ARM64 = "ubuntu-22.04-arm64"  # Linux, generalized, Gen2, Arm64


def rg_id(subscription_id: str, name: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{name}"


def compute_id(subscription_id: str, resource_group: str, *path: str) -> str:
    return f"{rg_id(subscription_id, resource_group)}/providers/Microsoft.Compute/" + "/".join(path)


def resource_group(subscription_id: str, name: str, location: str, tags: dict[str, str]) -> Json:
    return {
        "id": rg_id(subscription_id, name),
        "name": name,
        "type": "Microsoft.Resources/resourceGroups",
        "location": location,
        "tags": tags,
        "properties": {"provisioningState": "Succeeded"},
    }


class ImageDisk(NamedTuple):
    """A disk of a seeded managed image."""

    size_gb: int
    caching: str
    storage: str
    # The managed disk it was captured from (a name in the image's build group), or the URI of
    # the VHD blob it was made from.
    source: str


class ImageRow(NamedTuple):
    """A seeded managed image: OS disk (generalized), data disks at LUN 0, 1, ..."""

    subscription_id: str
    resource_group: str
    name: str
    location: str
    os_type: str
    os_disk: ImageDisk
    data_disks: tuple[ImageDisk, ...] = ()
    generation: str = "V2"
    source_vm: str | None = None
    tags: Mapping[str, str] | None = None


class VersionRow(NamedTuple):
    """A seeded gallery image version (its disk sizes are its definition's)."""

    name: str
    regions: tuple[tuple[str, int], ...]  # (region, replica count)
    # What it was made from: (resource group, type segment, name) in the gallery's subscription.
    source: tuple[str, str, str]
    published: str
    end_of_life: str | None = None


DefinitionRow = ImageDefinitionSpec[VersionRow]


class GalleryRow(NamedTuple):
    subscription_id: str
    resource_group: str
    name: str
    location: str
    description: str
    definitions: tuple[DefinitionRow, ...]


def build_group(resource_group: str) -> str:
    """Where the VMs and disks an image was captured from live (images of dev/test keep theirs)."""
    return resource_group if resource_group == RG_DEVTEST else RG_BUILD


def image_disk(
    row: ImageDisk,
    subscription_id: str,
    resource_group: str,
    *,
    lun: int | None = None,
    os_type: str | None = None,
) -> Json:
    disk: Json = {
        "diskSizeGB": row.size_gb,
        "caching": row.caching,
        "storageAccountType": row.storage,
    }
    if lun is not None:
        disk["lun"] = lun
    if os_type is not None:
        disk["osType"] = os_type
        disk["osState"] = "Generalized"
    if row.source.startswith("https://"):
        disk["blobUri"] = row.source
    else:
        disk["managedDisk"] = {
            "id": compute_id(subscription_id, build_group(resource_group), "disks", row.source)
        }
    return disk


def managed_image(row: ImageRow) -> Json:
    sid, group = row.subscription_id, row.resource_group
    properties: Json = {
        "storageProfile": {
            "osDisk": image_disk(row.os_disk, sid, group, os_type=row.os_type),
            "dataDisks": [
                image_disk(disk, sid, group, lun=lun) for lun, disk in enumerate(row.data_disks)
            ],
            "zoneResilient": True,
        },
        "provisioningState": "Succeeded",
        "hyperVGeneration": row.generation,
    }
    if row.source_vm:
        properties["sourceVirtualMachine"] = {
            "id": compute_id(sid, build_group(group), "virtualMachines", row.source_vm)
        }
    return {
        "id": compute_id(sid, group, "images", row.name),
        "name": row.name,
        "type": "Microsoft.Compute/images",
        "location": row.location,
        "tags": dict(row.tags or {}),
        "properties": properties,
    }


def gallery(
    subscription_id: str, resource_group: str, name: str, location: str, description: str
) -> Json:
    return {
        "id": compute_id(subscription_id, resource_group, "galleries", name),
        "name": name,
        "type": "Microsoft.Compute/galleries",
        "location": location,
        "tags": {},
        "properties": {
            "description": description,
            "identifier": {"uniqueName": f"{subscription_id}-{name.upper()}"},
            "provisioningState": "Succeeded",
            "sharingProfile": {"permissions": "Private"},
        },
    }


def gallery_image(
    gallery_res: Json,
    name: str,
    *,
    os_type: str,
    os_state: str,
    generation: str,
    identifier: tuple[str, str, str],
    architecture: str = "x64",
    security_type: str | None = None,
    description: str = "",
    end_of_life: str | None = None,
) -> Json:
    properties: Json = {
        "description": description,
        "osType": os_type,
        "osState": os_state,
        "hyperVGeneration": generation,
        "architecture": architecture,
        "identifier": dict(zip(("publisher", "offer", "sku"), identifier, strict=True)),
        "recommended": {"vCPUs": {"min": 2, "max": 16}, "memory": {"min": 4, "max": 64}},
        "features": definition_features(security_type, generation),
        "provisioningState": "Succeeded",
    }
    if end_of_life:
        properties["endOfLifeDate"] = end_of_life
    return {
        "id": f"{gallery_res['id']}/images/{name}",
        "name": name,
        "type": "Microsoft.Compute/galleries/images",
        "location": gallery_res["location"],
        "tags": {},
        "properties": properties,
    }


def target_region(name: str, replicas: int, storage: str = "Standard_LRS") -> Json:
    return {
        "name": REGIONS_BY_NAME[name].display_name,
        "regionalReplicaCount": replicas,
        "storageAccountType": storage,
        "excludeFromLatest": False,
    }


def gallery_image_version(
    definition: Json, spec: DefinitionRow, subscription_id: str, row: VersionRow
) -> Json:
    publishing: Json = {
        "targetRegions": [target_region(region, count) for region, count in row.regions],
        "replicaCount": 1,
        "excludeFromLatest": False,
        "publishedDate": row.published,
        "storageAccountType": "Standard_LRS",
        "replicationMode": "Full",
    }
    if row.end_of_life:
        publishing["endOfLifeDate"] = row.end_of_life
    return {
        "id": f"{definition['id']}/versions/{row.name}",
        "name": row.name,
        "type": "Microsoft.Compute/galleries/images/versions",
        "location": definition["location"],
        "tags": {},
        "properties": {
            "publishingProfile": publishing,
            "storageProfile": {
                "source": {"id": compute_id(subscription_id, *row.source)},
                "osDiskImage": {"sizeInGB": spec.os_gib, "hostCaching": "ReadWrite"},
                "dataDiskImages": [
                    {"lun": lun, "sizeInGB": gib, "hostCaching": "None"}
                    for lun, gib in enumerate(spec.data_disk_gib)
                ],
            },
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": False,
                "reportedForPolicyViolation": False,
                "blockDeletionBeforeEndOfLife": False,
            },
            "provisioningState": "Succeeded",
        },
    }


def gallery_resources(row: GalleryRow) -> list[Json]:
    """A gallery, then its definitions, then their versions (parents before children)."""
    sid = row.subscription_id
    parent = gallery(sid, row.resource_group, row.name, row.location, row.description)
    definitions = [
        (
            gallery_image(
                parent,
                d.name,
                os_type=d.os_type,
                os_state=d.os_state,
                generation=d.generation,
                identifier=d.identifier,
                architecture=d.architecture,
                security_type=d.security_type,
                description=d.description,
                end_of_life=d.end_of_life,
            ),
            d,
        )
        for d in row.definitions
    ]
    versions = [
        gallery_image_version(definition, d, sid, version)
        for definition, d in definitions
        for version in d.versions
    ]
    return [parent, *(definition for definition, _ in definitions), *versions]


_PROD = PRODUCTION_SUBSCRIPTION_ID
_DEV = DEVTEST_SUBSCRIPTION_ID
_FAB = PARTNER_SUBSCRIPTION_ID
_WEU = "westeurope"
_PLATFORM_TEAM = {"env": "prod", "owner": "platform-team"}

# The seed as tables, one row per resource (kept compact: a row reads as one record).
# fmt: off
# (subscription, name, region, tags)
RESOURCE_GROUPS: tuple[tuple[str, str, str, Mapping[str, str]], ...] = (
    (_PROD, RG_IMAGES, _WEU, _PLATFORM_TEAM),
    (_PROD, RG_GALLERY, _WEU, _PLATFORM_TEAM),
    (_PROD, RG_BUILD, _WEU, {"env": "build"}),
    (_PROD, "rg-network-weu", _WEU, {"env": "prod"}),
    (_DEV, RG_DEVTEST, "eastus", {"env": "devtest"}),
    (_DEV, "rg-sandbox-eus", "eastus", {}),
    (_FAB, RG_PARTNER, "northeurope", {"owner": "fabrikam-images"}),
)

MANAGED_IMAGES: tuple[ImageRow, ...] = (
    ImageRow(
        _PROD, RG_IMAGES, IMAGE_OS_ONLY, _WEU, "Linux",
        ImageDisk(30, "ReadWrite", "Premium_LRS", "vm-ubuntu-build_OsDisk_1_3f1c2a9e"),
        source_vm="vm-ubuntu-build",
        tags={"baseline": "2024-10", "os": "ubuntu-22.04"},
    ),
    ImageRow(
        _PROD, RG_IMAGES, IMAGE_WITH_DATA_DISKS, _WEU, "Windows",
        ImageDisk(127, "ReadWrite", "Premium_LRS", "vm-sqlapp-build_OsDisk_1_8b2e7d41"),
        data_disks=(
            ImageDisk(256, "ReadOnly", "Premium_LRS", "vm-sqlapp-build_data-sql"),
            ImageDisk(128, "None", "StandardSSD_LRS", "vm-sqlapp-build_data-logs"),
        ),
        source_vm="vm-sqlapp-build",
        tags={"app": "sql-app", "os": "ws2022"},
    ),
    ImageRow(
        _PROD, RG_IMAGES, IMAGE_FROM_BLOB, _WEU, "Linux",
        ImageDisk(
            64, "ReadWrite", "Standard_LRS",
            "https://contosoimgstore.blob.core.windows.net/vhds/rhel9-web-20240920.vhd",
        ),
        generation="V1",
        tags={"os": "rhel-9"},
    ),
    ImageRow(
        _DEV, RG_DEVTEST, IMAGE_DEVTEST_WIN11, "eastus", "Windows",
        ImageDisk(127, "ReadWrite", "StandardSSD_LRS", "vm-devbox_OsDisk_1_c0ffee12"),
        source_vm="vm-devbox",
    ),
    ImageRow(
        _DEV, RG_DEVTEST, IMAGE_DEVTEST_CI, "eastus", "Linux",
        ImageDisk(30, "ReadWrite", "Premium_LRS", "vm-ci-runner_OsDisk_1_5a5a0b0b"),
        data_disks=(ImageDisk(64, "ReadWrite", "Premium_LRS", "vm-ci-runner_cache"),),
        source_vm="vm-ci-runner",
    ),
)

# Where gallery versions are replicated and what they were made from.
_THREE = (("westeurope", 2), ("northeurope", 1), ("eastus", 1))
_WEU_1 = (("westeurope", 1),)
_UBUNTU = (RG_IMAGES, "images", IMAGE_OS_ONLY)
_WS2022 = (RG_IMAGES, "images", IMAGE_WITH_DATA_DISKS)
_RHEL = (RG_IMAGES, "images", IMAGE_FROM_BLOB)
_SQLNODE = (RG_BUILD, "virtualMachines", "vm-sqlnode-01")
_ARM64 = (RG_BUILD, "virtualMachines", "vm-arm64-build")
_WIN11 = (RG_DEVTEST, "images", IMAGE_DEVTEST_WIN11)
_EAST_1 = (("eastus", 1),)
_EOL_2029 = "2029-05-31T00:00:00+00:00"

GALLERIES: tuple[GalleryRow, ...] = (
    GalleryRow(
        _PROD, RG_GALLERY, GALLERY_PROD, _WEU, "Golden images for Contoso production workloads",
        (
            DefinitionRow(
                GALLERY_IMAGE_SECURE, "Linux", "Generalized", "V2",
                ("Contoso", "ubuntu-base", "22.04-lts-gen2"),
                (
                    VersionRow("1.0.0", _THREE, _UBUNTU, "2024-08-14T09:12:40.1234567+00:00"),
                    VersionRow("1.1.0", _THREE, _UBUNTU, "2024-09-18T10:02:11.4311220+00:00"),
                    VersionRow("1.2.0", _THREE, _UBUNTU, "2024-10-16T07:45:03.9012345+00:00"),
                ),
                security_type="TrustedLaunch",
                description="Ubuntu 22.04 base with the Contoso agent set",
            ),
            DefinitionRow(
                GALLERY_IMAGE_WINDOWS, "Windows", "Generalized", "V2",
                ("Contoso", "windows-app", "2022-datacenter-g2"),
                (VersionRow("2024.11.1", (("westeurope", 3), ("germanywestcentral", 1)), _WS2022,
                            "2024-11-04T13:20:55.0000000+00:00"),),
                os_gib=127, data_disk_gib=(256,), security_type="TrustedLaunchSupported",
                description="Windows Server 2022 application server",
            ),
            DefinitionRow(
                GALLERY_IMAGE_GEN1, "Linux", "Generalized", "V1",
                ("Contoso", "rhel-legacy", "8-gen1"),
                (VersionRow("1.0.0", _WEU_1, _RHEL, "2024-09-21T16:00:00.0000000+00:00",
                            _EOL_2029),),
                os_gib=64, end_of_life=_EOL_2029,
            ),
            DefinitionRow(
                GALLERY_IMAGE_SPECIALIZED, "Windows", "Specialized", "V2",
                ("Contoso", "sql-node", "2022-specialized"),
                (VersionRow("1.0.0", _WEU_1, _SQLNODE, "2024-10-30T11:11:11.0000000+00:00"),),
                os_gib=127, data_disk_gib=(512, 256), security_type="TrustedLaunch",
            ),
            DefinitionRow(
                GALLERY_IMAGE_ARM64, "Linux", "Generalized", "V2",
                ("Contoso", "ubuntu-base", "22.04-lts-arm64"),
                (VersionRow("1.0.0", (("westeurope", 1), ("northeurope", 1)), _ARM64,
                            "2024-11-12T08:00:00.0000000+00:00"),),
                architecture="Arm64",
            ),
        ),
    ),
    GalleryRow(
        _DEV, RG_DEVTEST, GALLERY_DEVTEST, "eastus", "Developer images",
        (
            DefinitionRow(
                "win11-devbox", "Windows", "Generalized", "V2", ("Contoso", "devbox", "win11-24h2"),
                (VersionRow("0.9.0", _EAST_1, _WIN11, "2024-11-06T09:00:00.0000000+00:00"),),
                os_gib=127, security_type="TrustedLaunch",
            ),
        ),
    ),
    GalleryRow(
        _FAB, RG_PARTNER, GALLERY_PARTNER, "northeurope", "Images shared with Fabrikam",
        (
            DefinitionRow(
                PARTNER_IMAGE_UBUNTU, "Linux", "Generalized", "V2",
                ("Fabrikam", "ubuntu-base", "22.04-lts-gen2"), (),
                security_type="TrustedLaunch",
            ),
            DefinitionRow(
                PARTNER_IMAGE_WINDOWS, "Windows", "Generalized", "V2",
                ("Fabrikam", "windows-base", "2022-datacenter-g2"), (), os_gib=127,
            ),
        ),
    ),
)
# fmt: on


def initial_resources() -> list[Json]:
    """Every mutable resource of a fresh sandbox, parents before children."""
    out = [
        resource_group(sid, name, region, dict(tags)) for sid, name, region, tags in RESOURCE_GROUPS
    ]
    out += [managed_image(row) for row in MANAGED_IMAGES]
    for row in GALLERIES:
        out += gallery_resources(row)
    # Imported here: the VM seed names its resource group after this module's constants.
    from gui.sandbox.seed.vms import vm_resources

    out += vm_resources()
    return out


# Storage accounts on the blob endpoint (account -> containers), for page-blob uploads.
STORAGE_ACCOUNT_PROD = "contosoimgstore"
STORAGE_ACCOUNT_DEVTEST = "devtestvhds"
STORAGE_ACCOUNTS: dict[str, tuple[str, ...]] = {
    STORAGE_ACCOUNT_PROD: ("vhds", "uploads"),
    STORAGE_ACCOUNT_DEVTEST: ("vhds",),
}

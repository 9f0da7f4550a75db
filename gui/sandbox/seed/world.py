"""The mutable resources the sandbox starts with: resource groups, managed images, galleries.

Names the GUI and the tests rely on are module constants.
"""

from __future__ import annotations

from typing import Any

from gui.sandbox.seed import DEVTEST_SUBSCRIPTION_ID, PRODUCTION_SUBSCRIPTION_ID
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


def disk_ref(subscription_id: str, resource_group: str, name: str) -> Json:
    return {"id": compute_id(subscription_id, resource_group, "disks", name)}


def managed_image(
    subscription_id: str,
    resource_group: str,
    name: str,
    location: str,
    *,
    os_disk: Json,
    data_disks: list[Json] | None = None,
    generation: str = "V2",
    source_vm: str | None = None,
    tags: dict[str, str] | None = None,
) -> Json:
    properties: Json = {
        "storageProfile": {
            "osDisk": os_disk,
            "dataDisks": data_disks or [],
            "zoneResilient": True,
        },
        "provisioningState": "Succeeded",
        "hyperVGeneration": generation,
    }
    if source_vm:
        properties["sourceVirtualMachine"] = {
            "id": compute_id(
                subscription_id,
                RG_BUILD if resource_group != RG_DEVTEST else resource_group,
                "virtualMachines",
                source_vm,
            )
        }
    return {
        "id": compute_id(subscription_id, resource_group, "images", name),
        "name": name,
        "type": "Microsoft.Compute/images",
        "location": location,
        "tags": tags or {},
        "properties": properties,
    }


def image_disk(
    *,
    size_gb: int,
    caching: str,
    storage: str,
    lun: int | None = None,
    os_type: str | None = None,
    os_state: str | None = None,
    managed_disk: Json | None = None,
    blob_uri: str | None = None,
) -> Json:
    disk: Json = {"diskSizeGB": size_gb, "caching": caching, "storageAccountType": storage}
    if lun is not None:
        disk["lun"] = lun
    if os_type is not None:
        disk["osType"] = os_type
        disk["osState"] = os_state or "Generalized"
    if managed_disk is not None:
        disk["managedDisk"] = managed_disk
    if blob_uri is not None:
        disk["blobUri"] = blob_uri
    return disk


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
    features: list[Json] = []
    if security_type:
        features.append({"name": "SecurityType", "value": security_type})
    if generation == "V2":
        features.append({"name": "DiskControllerTypes", "value": "SCSI, NVMe"})
    features.append({"name": "IsAcceleratedNetworkSupported", "value": "True"})
    properties: Json = {
        "description": description,
        "osType": os_type,
        "osState": os_state,
        "hyperVGeneration": generation,
        "architecture": architecture,
        "identifier": dict(zip(("publisher", "offer", "sku"), identifier, strict=True)),
        "recommended": {"vCPUs": {"min": 2, "max": 16}, "memory": {"min": 4, "max": 64}},
        "features": features,
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
    }


def gallery_image_version(
    definition: Json,
    name: str,
    *,
    regions: list[tuple[str, int]],
    source_id: str,
    os_gib: int,
    data_disk_gib: tuple[int, ...] = (),
    published: str,
    exclude_from_latest: bool = False,
    end_of_life: str | None = None,
) -> Json:
    publishing: Json = {
        "targetRegions": [target_region(region, count) for region, count in regions],
        "replicaCount": 1,
        "excludeFromLatest": exclude_from_latest,
        "publishedDate": published,
        "storageAccountType": "Standard_LRS",
        "replicationMode": "Full",
    }
    if end_of_life:
        publishing["endOfLifeDate"] = end_of_life
    return {
        "id": f"{definition['id']}/versions/{name}",
        "name": name,
        "type": "Microsoft.Compute/galleries/images/versions",
        "location": definition["location"],
        "tags": {},
        "properties": {
            "publishingProfile": publishing,
            "storageProfile": {
                "source": {"id": source_id},
                "osDiskImage": {"sizeInGB": os_gib, "hostCaching": "ReadWrite"},
                "dataDiskImages": [
                    {"lun": lun, "sizeInGB": gib, "hostCaching": "None"}
                    for lun, gib in enumerate(data_disk_gib)
                ],
            },
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": False,
                "reportedForPolicyViolation": False,
            },
            "provisioningState": "Succeeded",
        },
    }


def initial_resources() -> list[Json]:
    """Every mutable resource of a fresh sandbox, parents before children."""
    prod = PRODUCTION_SUBSCRIPTION_ID
    dev = DEVTEST_SUBSCRIPTION_ID
    weu = "westeurope"
    out: list[Json] = [
        resource_group(prod, RG_IMAGES, weu, {"env": "prod", "owner": "platform-team"}),
        resource_group(prod, RG_GALLERY, weu, {"env": "prod", "owner": "platform-team"}),
        resource_group(prod, RG_BUILD, weu, {"env": "build"}),
        resource_group(prod, "rg-network-weu", weu, {"env": "prod"}),
        resource_group(dev, RG_DEVTEST, "eastus", {"env": "devtest"}),
        resource_group(dev, "rg-sandbox-eus", "eastus", {}),
    ]
    out += [
        managed_image(
            prod,
            RG_IMAGES,
            IMAGE_OS_ONLY,
            weu,
            os_disk=image_disk(
                size_gb=30,
                caching="ReadWrite",
                storage="Premium_LRS",
                os_type="Linux",
                os_state="Generalized",
                managed_disk=disk_ref(prod, RG_BUILD, "vm-ubuntu-build_OsDisk_1_3f1c2a9e"),
            ),
            source_vm="vm-ubuntu-build",
            tags={"baseline": "2024-10", "os": "ubuntu-22.04"},
        ),
        managed_image(
            prod,
            RG_IMAGES,
            IMAGE_WITH_DATA_DISKS,
            weu,
            os_disk=image_disk(
                size_gb=127,
                caching="ReadWrite",
                storage="Premium_LRS",
                os_type="Windows",
                os_state="Generalized",
                managed_disk=disk_ref(prod, RG_BUILD, "vm-sqlapp-build_OsDisk_1_8b2e7d41"),
            ),
            data_disks=[
                image_disk(
                    size_gb=256,
                    caching="ReadOnly",
                    storage="Premium_LRS",
                    lun=0,
                    managed_disk=disk_ref(prod, RG_BUILD, "vm-sqlapp-build_data-sql"),
                ),
                image_disk(
                    size_gb=128,
                    caching="None",
                    storage="StandardSSD_LRS",
                    lun=1,
                    managed_disk=disk_ref(prod, RG_BUILD, "vm-sqlapp-build_data-logs"),
                ),
            ],
            source_vm="vm-sqlapp-build",
            tags={"app": "sql-app", "os": "ws2022"},
        ),
        managed_image(
            prod,
            RG_IMAGES,
            IMAGE_FROM_BLOB,
            weu,
            os_disk=image_disk(
                size_gb=64,
                caching="ReadWrite",
                storage="Standard_LRS",
                os_type="Linux",
                os_state="Generalized",
                blob_uri="https://contosoimgstore.blob.core.windows.net/vhds/"
                "rhel9-web-20240920.vhd",
            ),
            generation="V1",
            tags={"os": "rhel-9"},
        ),
        managed_image(
            dev,
            RG_DEVTEST,
            IMAGE_DEVTEST_WIN11,
            "eastus",
            os_disk=image_disk(
                size_gb=127,
                caching="ReadWrite",
                storage="StandardSSD_LRS",
                os_type="Windows",
                os_state="Generalized",
                managed_disk=disk_ref(dev, RG_DEVTEST, "vm-devbox_OsDisk_1_c0ffee12"),
            ),
            source_vm="vm-devbox",
        ),
        managed_image(
            dev,
            RG_DEVTEST,
            IMAGE_DEVTEST_CI,
            "eastus",
            os_disk=image_disk(
                size_gb=30,
                caching="ReadWrite",
                storage="Premium_LRS",
                os_type="Linux",
                os_state="Generalized",
                managed_disk=disk_ref(dev, RG_DEVTEST, "vm-ci-runner_OsDisk_1_5a5a0b0b"),
            ),
            data_disks=[
                image_disk(
                    size_gb=64,
                    caching="ReadWrite",
                    storage="Premium_LRS",
                    lun=0,
                    managed_disk=disk_ref(dev, RG_DEVTEST, "vm-ci-runner_cache"),
                ),
            ],
            source_vm="vm-ci-runner",
        ),
    ]

    prod_gallery = gallery(
        prod, RG_GALLERY, GALLERY_PROD, weu, "Golden images for Contoso production workloads"
    )
    out.append(prod_gallery)
    secure = gallery_image(
        prod_gallery,
        GALLERY_IMAGE_SECURE,
        os_type="Linux",
        os_state="Generalized",
        generation="V2",
        identifier=("Contoso", "ubuntu-base", "22.04-lts-gen2"),
        security_type="TrustedLaunch",
        description="Ubuntu 22.04 base with the Contoso agent set",
    )
    windows = gallery_image(
        prod_gallery,
        GALLERY_IMAGE_WINDOWS,
        os_type="Windows",
        os_state="Generalized",
        generation="V2",
        identifier=("Contoso", "windows-app", "2022-datacenter-g2"),
        security_type="TrustedLaunchSupported",
        description="Windows Server 2022 application server",
    )
    gen1 = gallery_image(
        prod_gallery,
        GALLERY_IMAGE_GEN1,
        os_type="Linux",
        os_state="Generalized",
        generation="V1",
        identifier=("Contoso", "rhel-legacy", "8-gen1"),
        end_of_life="2029-05-31T00:00:00+00:00",
    )
    specialized = gallery_image(
        prod_gallery,
        GALLERY_IMAGE_SPECIALIZED,
        os_type="Windows",
        os_state="Specialized",
        generation="V2",
        identifier=("Contoso", "sql-node", "2022-specialized"),
        security_type="TrustedLaunch",
    )
    arm64 = gallery_image(
        prod_gallery,
        GALLERY_IMAGE_ARM64,
        os_type="Linux",
        os_state="Generalized",
        generation="V2",
        architecture="Arm64",
        identifier=("Contoso", "ubuntu-base", "22.04-lts-arm64"),
    )
    out += [secure, windows, gen1, specialized, arm64]

    src_ubuntu = compute_id(prod, RG_IMAGES, "images", IMAGE_OS_ONLY)
    src_win = compute_id(prod, RG_IMAGES, "images", IMAGE_WITH_DATA_DISKS)
    src_vm = compute_id(prod, RG_BUILD, "virtualMachines", "vm-sqlnode-01")
    three = [("westeurope", 2), ("northeurope", 1), ("eastus", 1)]
    out += [
        gallery_image_version(
            secure,
            "1.0.0",
            regions=three,
            source_id=src_ubuntu,
            os_gib=30,
            published="2024-08-14T09:12:40.1234567+00:00",
        ),
        gallery_image_version(
            secure,
            "1.1.0",
            regions=three,
            source_id=src_ubuntu,
            os_gib=30,
            published="2024-09-18T10:02:11.4311220+00:00",
        ),
        gallery_image_version(
            secure,
            "1.2.0",
            regions=three,
            source_id=src_ubuntu,
            os_gib=30,
            published="2024-10-16T07:45:03.9012345+00:00",
        ),
        gallery_image_version(
            windows,
            "2024.11.1",
            regions=[("westeurope", 3), ("germanywestcentral", 1)],
            source_id=src_win,
            os_gib=127,
            data_disk_gib=(256,),
            published="2024-11-04T13:20:55.0000000+00:00",
        ),
        gallery_image_version(
            gen1,
            "1.0.0",
            regions=[("westeurope", 1)],
            source_id=compute_id(prod, RG_IMAGES, "images", IMAGE_FROM_BLOB),
            os_gib=64,
            published="2024-09-21T16:00:00.0000000+00:00",
            end_of_life="2029-05-31T00:00:00+00:00",
        ),
        gallery_image_version(
            specialized,
            "1.0.0",
            regions=[("westeurope", 1)],
            source_id=src_vm,
            os_gib=127,
            data_disk_gib=(512, 256),
            published="2024-10-30T11:11:11.0000000+00:00",
        ),
        gallery_image_version(
            arm64,
            "1.0.0",
            regions=[("westeurope", 1), ("northeurope", 1)],
            source_id=compute_id(prod, RG_BUILD, "virtualMachines", "vm-arm64-build"),
            os_gib=30,
            published="2024-11-12T08:00:00.0000000+00:00",
            exclude_from_latest=False,
        ),
    ]

    dev_gallery = gallery(dev, RG_DEVTEST, GALLERY_DEVTEST, "eastus", "Developer images")
    devbox = gallery_image(
        dev_gallery,
        "win11-devbox",
        os_type="Windows",
        os_state="Generalized",
        generation="V2",
        identifier=("Contoso", "devbox", "win11-24h2"),
        security_type="TrustedLaunch",
    )
    out += [
        dev_gallery,
        devbox,
        gallery_image_version(
            devbox,
            "0.9.0",
            regions=[("eastus", 1)],
            source_id=compute_id(dev, RG_DEVTEST, "images", IMAGE_DEVTEST_WIN11),
            os_gib=127,
            published="2024-11-06T09:00:00.0000000+00:00",
        ),
    ]
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

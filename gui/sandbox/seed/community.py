"""Community galleries and galleries shared with the subscription (read-only, seeded).

Community galleries are addressed by public name (``<prefix>-<guid>``) in each region they are
replicated to, and discovered through Resource Graph (table ``communitygalleryresources``) as the
portal does. Shared galleries are addressed by their unique name (``<owner subscription>-<NAME>``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class GalleryImageSpec:
    name: str
    os_type: str
    os_state: str
    generation: str
    identifier: tuple[str, str, str]  # publisher, offer, sku
    versions: tuple[str, ...]
    os_gib: int = 30
    data_disk_gib: tuple[int, ...] = ()
    architecture: str = "x64"
    security_type: str | None = None  # feature SecurityType of the definition
    description: str = ""
    end_of_life: str | None = None


@dataclass(frozen=True)
class CommunityGallerySpec:
    public_name: str
    locations: tuple[str, ...]
    publisher_uri: str
    publisher_contact: str
    eula: str
    disclaimer: str
    images: tuple[GalleryImageSpec, ...]


@dataclass(frozen=True)
class SharedGallerySpec:
    unique_name: str
    locations: tuple[str, ...]
    shared_to: str  # "subscription" | "tenant"
    images: tuple[GalleryImageSpec, ...]


COMMUNITY_GALLERIES: tuple[CommunityGallerySpec, ...] = (
    CommunityGallerySpec(
        public_name="ContosoImages-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        locations=("westeurope", "northeurope", "eastus"),
        publisher_uri="https://images.contoso.example",
        publisher_contact="imaging@contoso.example",
        eula="https://images.contoso.example/eula",
        disclaimer="Community images are provided as-is by Contoso Imaging.",
        images=(
            GalleryImageSpec(
                "ubuntu-22.04-hardened",
                "Linux",
                "Generalized",
                "V2",
                ("contoso", "ubuntu-hardened", "22.04-gen2"),
                ("1.0.0", "1.0.1", "1.1.0"),
                security_type="TrustedLaunchSupported",
                description="Ubuntu 22.04 LTS hardened to CIS level 1",
            ),
            GalleryImageSpec(
                "ubuntu-22.04-hardened-gen1",
                "Linux",
                "Generalized",
                "V1",
                ("contoso", "ubuntu-hardened", "22.04-gen1"),
                ("1.0.0", "1.1.0"),
            ),
            GalleryImageSpec(
                "ws2022-iis",
                "Windows",
                "Generalized",
                "V2",
                ("contoso", "windows-iis", "2022-gen2"),
                ("2024.10.0", "2024.11.0"),
                os_gib=127,
                data_disk_gib=(64,),
                security_type="TrustedLaunch",
            ),
        ),
    ),
    CommunityGallerySpec(
        public_name="FlatcarCommunity-5c1d9b02-7e3a-4f61-b8d2-94a0c6e3f7b1",
        locations=("westeurope", "eastus", "westus2", "germanywestcentral"),
        publisher_uri="https://www.flatcar-community.example",
        publisher_contact="maintainers@flatcar-community.example",
        eula="https://www.flatcar-community.example/license",
        disclaimer="Built nightly from the stable channel.",
        images=(
            GalleryImageSpec(
                "flatcar-stable-amd64",
                "Linux",
                "Generalized",
                "V2",
                ("flatcar", "container-linux", "stable-amd64"),
                ("3975.2.1", "3975.2.2", "4081.2.0"),
                os_gib=10,
                security_type="TrustedLaunchSupported",
            ),
            GalleryImageSpec(
                "flatcar-stable-arm64",
                "Linux",
                "Generalized",
                "V2",
                ("flatcar", "container-linux", "stable-arm64"),
                ("3975.2.2", "4081.2.0"),
                os_gib=10,
                architecture="Arm64",
            ),
            GalleryImageSpec(
                "flatcar-beta-amd64",
                "Linux",
                "Generalized",
                "V2",
                ("flatcar", "container-linux", "beta-amd64"),
                ("4116.1.0",),
                os_gib=10,
            ),
        ),
    ),
    CommunityGallerySpec(
        public_name="NixOSCloud-9e4f2a71-c3b8-4d05-a6e1-7f8b2c9d0a34",
        locations=("westeurope", "northeurope"),
        publisher_uri="https://nixos-cloud.example",
        publisher_contact="cloud@nixos-cloud.example",
        eula="https://nixos-cloud.example/eula",
        disclaimer="Unofficial community build.",
        images=(
            GalleryImageSpec(
                "nixos-24.05",
                "Linux",
                "Generalized",
                "V2",
                ("nixos", "nixos", "24.05"),
                ("24.05.20240915", "24.05.20241020"),
                os_gib=8,
            ),
            GalleryImageSpec(
                "nixos-24.11",
                "Linux",
                "Generalized",
                "V2",
                ("nixos", "nixos", "24.11"),
                ("24.11.20241125",),
                os_gib=8,
                security_type="TrustedLaunchSupported",
            ),
        ),
    ),
    CommunityGallerySpec(
        public_name="RockyLinuxLab-3f7c1e90-2b4d-4a8e-9c6f-5d0e1b2a7c83",
        locations=("eastus", "westus2", "westeurope"),
        publisher_uri="https://rockylab.example",
        publisher_contact="images@rockylab.example",
        eula="https://rockylab.example/eula",
        disclaimer="Images rebuilt monthly with the latest errata.",
        images=(
            GalleryImageSpec(
                "rocky-9-lvm",
                "Linux",
                "Generalized",
                "V2",
                ("rockylab", "rocky", "9-lvm"),
                ("9.4.20240801", "9.5.20241120"),
                os_gib=64,
                data_disk_gib=(32,),
            ),
            GalleryImageSpec(
                "rocky-8-lvm-gen1",
                "Linux",
                "Generalized",
                "V1",
                ("rockylab", "rocky", "8-lvm"),
                ("8.10.20240801",),
                os_gib=64,
                end_of_life="2029-05-31T00:00:00+00:00",
            ),
            GalleryImageSpec(
                "rocky-9-specialized-demo",
                "Linux",
                "Specialized",
                "V2",
                ("rockylab", "rocky", "9-demo"),
                ("1.0.0",),
                os_gib=64,
            ),
        ),
    ),
)

SHARED_GALLERIES: tuple[SharedGallerySpec, ...] = (
    SharedGallerySpec(
        unique_name="0b6e3f2a-8c15-4d97-a2e4-7f1c9b5d3e60-FABRIKAM_BASEIMAGES",
        locations=("westeurope", "northeurope", "eastus"),
        shared_to="subscription",
        images=(
            GalleryImageSpec(
                "fabrikam-ubuntu-2204-cis",
                "Linux",
                "Generalized",
                "V2",
                ("Fabrikam", "ubuntu-cis", "22.04"),
                ("1.3.0", "1.4.0", "1.5.2"),
                security_type="TrustedLaunch",
                description="Fabrikam's CIS-hardened Ubuntu base",
            ),
            GalleryImageSpec(
                "fabrikam-ws2022-base",
                "Windows",
                "Generalized",
                "V2",
                ("Fabrikam", "windows-base", "2022"),
                ("2024.9.0", "2024.10.0"),
                os_gib=127,
                security_type="TrustedLaunchSupported",
            ),
            GalleryImageSpec(
                "fabrikam-sql-node",
                "Windows",
                "Specialized",
                "V2",
                ("Fabrikam", "sql-node", "2022"),
                ("1.0.0",),
                os_gib=127,
                data_disk_gib=(512, 256),
            ),
        ),
    ),
    SharedGallerySpec(
        unique_name="6a2d9c4e-1b7f-4e83-9d05-c8e3a1f6b792-WOODGROVE_PLATFORM",
        locations=("westeurope", "eastus"),
        shared_to="tenant",
        images=(
            GalleryImageSpec(
                "woodgrove-rhel9",
                "Linux",
                "Generalized",
                "V2",
                ("Woodgrove", "rhel", "9"),
                ("9.4.1", "9.4.2"),
                os_gib=64,
            ),
        ),
    ),
)


def _features(spec: GalleryImageSpec) -> list[Json]:
    features: list[Json] = []
    if spec.security_type:
        features.append({"name": "SecurityType", "value": spec.security_type})
    if spec.generation == "V2":
        features.append({"name": "DiskControllerTypes", "value": "SCSI, NVMe"})
    features.append({"name": "IsAcceleratedNetworkSupported", "value": "True"})
    return features


def _published(version: str, index: int) -> str:
    return f"2024-{min(12, 6 + index):02d}-{10 + index:02d}T08:30:00.0000000+00:00"


def _storage_profile(spec: GalleryImageSpec) -> Json:
    return {
        "osDiskImage": {"diskSizeGB": spec.os_gib, "hostCaching": "ReadWrite"},
        "dataDiskImages": [
            {"lun": lun, "diskSizeGB": gib, "hostCaching": "None"}
            for lun, gib in enumerate(spec.data_disk_gib)
        ],
    }


def image_properties(spec: GalleryImageSpec) -> Json:
    props: Json = {
        "osType": spec.os_type,
        "osState": spec.os_state,
        "hyperVGeneration": spec.generation,
        "architecture": spec.architecture,
        "identifier": dict(zip(("publisher", "offer", "sku"), spec.identifier, strict=True)),
        "features": _features(spec),
        "recommended": {"vCPUs": {"min": 2, "max": 32}, "memory": {"min": 4, "max": 128}},
    }
    if spec.end_of_life:
        props["endOfLifeDate"] = spec.end_of_life
    return props


# ---- community galleries -------------------------------------------------------------------


def community_gallery_json(gallery: CommunityGallerySpec, location: str) -> Json:
    return {
        "location": location,
        "name": gallery.public_name,
        "type": "Microsoft.Compute/Locations/CommunityGallery",
        "identifier": {"uniqueId": f"/CommunityGalleries/{gallery.public_name}"},
        "properties": {
            "disclaimer": gallery.disclaimer,
            "artifactTags": {},
            "communityMetadata": {
                "publisherUri": gallery.publisher_uri,
                "publisherContact": gallery.publisher_contact,
                "eula": gallery.eula,
                "publicNames": [gallery.public_name],
                "privacyStatementUri": gallery.publisher_uri + "/privacy",
            },
        },
    }


def community_image_json(
    gallery: CommunityGallerySpec, spec: GalleryImageSpec, location: str
) -> Json:
    props = image_properties(spec)
    props.update(
        {
            "eula": gallery.eula,
            "privacyStatementUri": gallery.publisher_uri + "/privacy",
            "disclaimer": gallery.disclaimer,
            "artifactTags": {},
        }
    )
    return {
        "location": location,
        "name": spec.name,
        "type": "Microsoft.Compute/Locations/CommunityGalleryImage",
        "identifier": {"uniqueId": f"/CommunityGalleries/{gallery.public_name}/Images/{spec.name}"},
        "properties": props,
    }


def community_version_json(
    gallery: CommunityGallerySpec, spec: GalleryImageSpec, version: str, location: str
) -> Json:
    index = spec.versions.index(version)
    return {
        "location": location,
        "name": version,
        "type": "Microsoft.Compute/Locations/CommunityGalleryImageVersion",
        "identifier": {
            "uniqueId": (
                f"/CommunityGalleries/{gallery.public_name}/Images/{spec.name}/Versions/{version}"
            )
        },
        "properties": {
            "publishedDate": _published(version, index),
            "endOfLifeDate": "2027-12-31T00:00:00+00:00",
            "excludeFromLatest": False,
            "storageProfile": _storage_profile(spec),
            "disclaimer": gallery.disclaimer,
            "artifactTags": {},
        },
    }


def find_community_gallery(public_name: str, location: str) -> CommunityGallerySpec | None:
    for gallery in COMMUNITY_GALLERIES:
        if gallery.public_name.lower() == public_name.lower():
            return gallery if location.lower() in gallery.locations else None
    return None


def find_image(images: tuple[GalleryImageSpec, ...], name: str) -> GalleryImageSpec | None:
    return next((i for i in images if i.name.lower() == name.lower()), None)


def find_version(spec: GalleryImageSpec, name: str) -> str | None:
    return next((v for v in spec.versions if v.lower() == name.lower()), None)


def graph_rows() -> list[Json]:
    """Rows of Resource Graph's ``communitygalleryresources`` table."""
    rows: list[Json] = []
    for gallery in COMMUNITY_GALLERIES:
        for location in gallery.locations:
            g = community_gallery_json(gallery, location)
            rows.append(
                _row(
                    g,
                    "microsoft.compute/locations/communitygalleries",
                    location,
                    f"/providers/Microsoft.Compute/locations/{location}/communityGalleries/"
                    f"{gallery.public_name}",
                )
            )
            for spec in gallery.images:
                image = community_image_json(gallery, spec, location)
                image_path = (
                    f"/providers/Microsoft.Compute/locations/{location}/communityGalleries/"
                    f"{gallery.public_name}/images/{spec.name}"
                )
                rows.append(
                    _row(
                        image,
                        "microsoft.compute/locations/communitygalleries/images",
                        location,
                        image_path,
                    )
                )
                for version in spec.versions:
                    v = community_version_json(gallery, spec, version, location)
                    rows.append(
                        _row(
                            v,
                            "microsoft.compute/locations/communitygalleries/images/versions",
                            location,
                            f"{image_path}/versions/{version}",
                        )
                    )
    return rows


def _row(resource: Json, row_type: str, location: str, row_id: str) -> Json:
    properties = dict(resource["properties"])
    properties["identifier"] = (
        {**properties.get("identifier", {}), **resource["identifier"]}
        if "identifier" in properties
        else resource["identifier"]
    )
    return {
        "id": row_id,
        "name": resource["name"],
        "type": row_type,
        "tenantId": "",
        "kind": "",
        "location": location,
        "resourceGroup": "",
        "subscriptionId": "",
        "managedBy": "",
        "sku": None,
        "plan": None,
        "properties": properties,
        "tags": None,
        "identity": None,
        "zones": None,
        "extendedLocation": None,
    }


# ---- shared galleries ----------------------------------------------------------------------


def shared_gallery_json(gallery: SharedGallerySpec, location: str) -> Json:
    return {
        "location": location,
        "name": gallery.unique_name,
        "identifier": {"uniqueId": f"/SharedGalleries/{gallery.unique_name}"},
        "properties": {"artifactTags": {}},
    }


def shared_image_json(gallery: SharedGallerySpec, spec: GalleryImageSpec, location: str) -> Json:
    props = image_properties(spec)
    props["artifactTags"] = {}
    return {
        "location": location,
        "name": spec.name,
        "identifier": {"uniqueId": f"/SharedGalleries/{gallery.unique_name}/Images/{spec.name}"},
        "properties": props,
    }


def shared_version_json(
    gallery: SharedGallerySpec, spec: GalleryImageSpec, version: str, location: str
) -> Json:
    index = spec.versions.index(version)
    return {
        "location": location,
        "name": version,
        "identifier": {
            "uniqueId": (
                f"/SharedGalleries/{gallery.unique_name}/Images/{spec.name}/Versions/{version}"
            )
        },
        "properties": {
            "publishedDate": _published(version, index),
            "excludeFromLatest": False,
            "storageProfile": _storage_profile(spec),
            "artifactTags": {},
        },
    }


def find_shared_gallery(unique_name: str, location: str) -> SharedGallerySpec | None:
    for gallery in SHARED_GALLERIES:
        if gallery.unique_name.lower() == unique_name.lower():
            return gallery if location.lower() in gallery.locations else None
    return None

"""Community galleries and galleries shared with the subscription (read-only, seeded).

Community galleries are addressed by public name (``<prefix>-<guid>``) in each region they are
replicated to, and discovered through Resource Graph (table ``communitygalleryresources``) as the
portal does. Shared galleries are addressed by their unique name (``<owner subscription>-<NAME>``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

Json = dict[str, Any]
V = TypeVar("V")
G = TypeVar("G", bound="PublicGallery")


@dataclass(frozen=True)
class ImageDefinitionSpec(Generic[V]):
    """A gallery image definition and its versions: community, shared and the sandbox's own.

    ``V`` is what a version is: its name for community and shared galleries (the rest follows from
    the definition), a row with its regions and source for the galleries of the seeded world.
    """

    name: str
    os_type: str
    os_state: str
    generation: str
    identifier: tuple[str, str, str]  # publisher, offer, sku
    versions: tuple[V, ...]
    os_gib: int = 30
    data_disk_gib: tuple[int, ...] = ()
    architecture: str = "x64"
    security_type: str | None = None  # feature SecurityType of the definition
    description: str = ""
    end_of_life: str | None = None


GalleryImageSpec = ImageDefinitionSpec[str]


class PublicGallery:
    """What community and shared galleries have in common: read-only, seeded, addressed in each
    region they are replicated to by one name, with the same three levels (gallery, image, version).
    """

    ROOT: ClassVar[str]  # the head of their uniqueIds, e.g. "CommunityGalleries"
    SEGMENT: ClassVar[
        str
    ]  # their URL segment under locations/{location}, e.g. "communityGalleries"
    # The ``type`` ARM gives the gallery (images and versions append "Image", "ImageVersion"), or
    # None where ARM gives none (shared galleries).
    TYPE: ClassVar[str | None]
    locations: tuple[str, ...]
    images: tuple[GalleryImageSpec, ...]

    @property
    def name(self) -> str:
        raise NotImplementedError

    def _extra(self, level: str) -> Json:
        """Properties this kind adds at ``level`` ("gallery", "image" or "version")."""
        raise NotImplementedError

    def _artifact(self, location: str, level: str, path: tuple[str, ...], properties: Json) -> Json:
        names = ("Images", "Versions")
        unique_id = f"/{self.ROOT}/{self.name}" + "".join(
            f"/{label}/{value}" for label, value in zip(names, path, strict=False)
        )
        out: Json = {"location": location, "name": path[-1] if path else self.name}
        if self.TYPE is not None:
            out["type"] = (
                self.TYPE + {"gallery": "", "image": "Image", "version": "ImageVersion"}[level]
            )
        out["identifier"] = {"uniqueId": unique_id}
        out["properties"] = {**properties, **self._extra(level)}
        return out

    def gallery_json(self, location: str) -> Json:
        return self._artifact(location, "gallery", (), {})

    def image_json(self, spec: GalleryImageSpec, location: str) -> Json:
        return self._artifact(location, "image", (spec.name,), image_properties(spec))

    def version_json(self, spec: GalleryImageSpec, version: str, location: str) -> Json:
        properties = {
            "publishedDate": _published(version, spec.versions.index(version)),
            "excludeFromLatest": False,
            "storageProfile": _storage_profile(spec),
        }
        return self._artifact(location, "version", (spec.name, version), properties)


@dataclass(frozen=True)
class CommunityGallerySpec(PublicGallery):
    ROOT: ClassVar[str] = "CommunityGalleries"
    SEGMENT: ClassVar[str] = "communityGalleries"
    TYPE: ClassVar[str | None] = "Microsoft.Compute/Locations/CommunityGallery"

    public_name: str
    locations: tuple[str, ...]
    publisher_uri: str
    publisher_contact: str
    eula: str
    disclaimer: str
    images: tuple[GalleryImageSpec, ...]

    @property
    def name(self) -> str:
        return self.public_name

    def _extra(self, level: str) -> Json:
        privacy = self.publisher_uri + "/privacy"
        if level == "gallery":
            metadata = {
                "publisherUri": self.publisher_uri,
                "publisherContact": self.publisher_contact,
                "eula": self.eula,
                "publicNames": [self.public_name],
                "privacyStatementUri": privacy,
            }
            return {
                "disclaimer": self.disclaimer,
                "artifactTags": {},
                "communityMetadata": metadata,
            }
        if level == "image":
            return {
                "eula": self.eula,
                "privacyStatementUri": privacy,
                "disclaimer": self.disclaimer,
                "artifactTags": {},
            }
        return {
            "endOfLifeDate": "2027-12-31T00:00:00+00:00",
            "disclaimer": self.disclaimer,
            "artifactTags": {},
        }


@dataclass(frozen=True)
class SharedGallerySpec(PublicGallery):
    ROOT: ClassVar[str] = "SharedGalleries"
    SEGMENT: ClassVar[str] = "sharedGalleries"
    TYPE: ClassVar[str | None] = None

    unique_name: str
    locations: tuple[str, ...]
    shared_to: str  # "subscription" | "tenant"
    images: tuple[GalleryImageSpec, ...]

    @property
    def name(self) -> str:
        return self.unique_name

    def _extra(self, level: str) -> Json:
        return {"artifactTags": {}}


def _image(
    name: str,
    kind: str,
    identifier: str,
    versions: str,
    *,
    os_gib: int = 30,
    data_disk_gib: tuple[int, ...] = (),
    architecture: str = "x64",
    security_type: str | None = None,
    description: str = "",
    end_of_life: str | None = None,
) -> GalleryImageSpec:
    """A table row: ``kind`` is "<os type> <os state> <generation>", ``identifier`` is
    "<publisher> <offer> <sku>", ``versions`` are separated by spaces."""
    os_type, os_state, generation = kind.split()
    publisher, offer, sku = identifier.split()
    return GalleryImageSpec(
        name,
        os_type,
        os_state,
        generation,
        (publisher, offer, sku),
        tuple(versions.split()),
        os_gib=os_gib,
        data_disk_gib=data_disk_gib,
        architecture=architecture,
        security_type=security_type,
        description=description,
        end_of_life=end_of_life,
    )


# fmt: off
COMMUNITY_GALLERIES: tuple[CommunityGallerySpec, ...] = (
    CommunityGallerySpec(
        public_name="ContosoImages-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        locations=("westeurope", "northeurope", "eastus"),
        publisher_uri="https://images.contoso.example",
        publisher_contact="imaging@contoso.example",
        eula="https://images.contoso.example/eula",
        disclaimer="Community images are provided as-is by Contoso Imaging.",
        images=(
            _image("ubuntu-22.04-hardened", "Linux Generalized V2",
                   "contoso ubuntu-hardened 22.04-gen2", "1.0.0 1.0.1 1.1.0",
                   security_type="TrustedLaunchSupported",
                   description="Ubuntu 22.04 LTS hardened to CIS level 1"),
            _image("ubuntu-22.04-hardened-gen1", "Linux Generalized V1",
                   "contoso ubuntu-hardened 22.04-gen1", "1.0.0 1.1.0"),
            _image("ws2022-iis", "Windows Generalized V2", "contoso windows-iis 2022-gen2",
                   "2024.10.0 2024.11.0", os_gib=127, data_disk_gib=(64,),
                   security_type="TrustedLaunch"),
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
            _image("flatcar-stable-amd64", "Linux Generalized V2",
                   "flatcar container-linux stable-amd64", "3975.2.1 3975.2.2 4081.2.0", os_gib=10,
                   security_type="TrustedLaunchSupported"),
            _image("flatcar-stable-arm64", "Linux Generalized V2",
                   "flatcar container-linux stable-arm64", "3975.2.2 4081.2.0", os_gib=10,
                   architecture="Arm64"),
            _image("flatcar-beta-amd64", "Linux Generalized V2",
                   "flatcar container-linux beta-amd64", "4116.1.0", os_gib=10),
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
            _image("nixos-24.05", "Linux Generalized V2", "nixos nixos 24.05",
                   "24.05.20240915 24.05.20241020", os_gib=8),
            _image("nixos-24.11", "Linux Generalized V2", "nixos nixos 24.11", "24.11.20241125",
                   os_gib=8, security_type="TrustedLaunchSupported"),
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
            _image("rocky-9-lvm", "Linux Generalized V2", "rockylab rocky 9-lvm",
                   "9.4.20240801 9.5.20241120", os_gib=64, data_disk_gib=(32,)),
            _image("rocky-8-lvm-gen1", "Linux Generalized V1", "rockylab rocky 8-lvm",
                   "8.10.20240801", os_gib=64, end_of_life="2029-05-31T00:00:00+00:00"),
            _image("rocky-9-specialized-demo", "Linux Specialized V2", "rockylab rocky 9-demo",
                   "1.0.0", os_gib=64),
        ),
    ),
)

SHARED_GALLERIES: tuple[SharedGallerySpec, ...] = (
    SharedGallerySpec(
        unique_name="0b6e3f2a-8c15-4d97-a2e4-7f1c9b5d3e60-FABRIKAM_BASEIMAGES",
        locations=("westeurope", "northeurope", "eastus"),
        shared_to="subscription",
        images=(
            _image("fabrikam-ubuntu-2204-cis", "Linux Generalized V2", "Fabrikam ubuntu-cis 22.04",
                   "1.3.0 1.4.0 1.5.2", security_type="TrustedLaunch",
                   description="Fabrikam's CIS-hardened Ubuntu base"),
            _image("fabrikam-ws2022-base", "Windows Generalized V2", "Fabrikam windows-base 2022",
                   "2024.9.0 2024.10.0", os_gib=127, security_type="TrustedLaunchSupported"),
            _image("fabrikam-sql-node", "Windows Specialized V2", "Fabrikam sql-node 2022", "1.0.0",
                   os_gib=127, data_disk_gib=(512, 256)),
        ),
    ),
    SharedGallerySpec(
        unique_name="6a2d9c4e-1b7f-4e83-9d05-c8e3a1f6b792-WOODGROVE_PLATFORM",
        locations=("westeurope", "eastus"),
        shared_to="tenant",
        images=(
            _image("woodgrove-rhel9", "Linux Generalized V2", "Woodgrove rhel 9", "9.4.1 9.4.2",
                   os_gib=64),
        ),
    ),
)
# fmt: on


def definition_features(security_type: str | None, generation: str) -> list[Json]:
    """The features of a gallery image definition (the sandbox's own galleries say the same)."""
    features: list[Json] = []
    if security_type:
        features.append({"name": "SecurityType", "value": security_type})
    if generation == "V2":
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
        "features": definition_features(spec.security_type, spec.generation),
        "recommended": {"vCPUs": {"min": 2, "max": 32}, "memory": {"min": 4, "max": 128}},
    }
    if spec.end_of_life:
        props["endOfLifeDate"] = spec.end_of_life
    return props


def find_gallery(galleries: Sequence[G], name: str, location: str) -> G | None:
    """The gallery called ``name`` if it is replicated to ``location`` (names are case-blind)."""
    for gallery in galleries:
        if gallery.name.lower() == name.lower():
            return gallery if location.lower() in gallery.locations else None
    return None


def find_image(images: tuple[GalleryImageSpec, ...], name: str) -> GalleryImageSpec | None:
    return next((i for i in images if i.name.lower() == name.lower()), None)


def find_version(spec: GalleryImageSpec, name: str) -> str | None:
    return next((v for v in spec.versions if v.lower() == name.lower()), None)


def graph_rows() -> list[Json]:
    """Rows of Resource Graph's ``communitygalleryresources`` table."""
    row_type = "microsoft.compute/locations/communitygalleries"
    rows: list[Json] = []
    for gallery in COMMUNITY_GALLERIES:
        for location in gallery.locations:
            path = (
                f"/providers/Microsoft.Compute/locations/{location}/communityGalleries/"
                f"{gallery.public_name}"
            )
            rows.append(_row(gallery.gallery_json(location), row_type, location, path))
            for spec in gallery.images:
                image_path = f"{path}/images/{spec.name}"
                image = gallery.image_json(spec, location)
                rows.append(_row(image, row_type + "/images", location, image_path))
                rows += [
                    _row(
                        gallery.version_json(spec, version, location),
                        row_type + "/images/versions",
                        location,
                        f"{image_path}/versions/{version}",
                    )
                    for version in spec.versions
                ]
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

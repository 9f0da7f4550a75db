"""Plain data describing image sources, the nodes of the catalog tree, images and their disks.

No Qt and no SDK types here: the catalog turns SDK models into these, the Qt models show them,
and the listing cache stores them as JSON.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any


class SourceKind(StrEnum):
    MARKETPLACE = "marketplace"
    COMMUNITY = "community"
    SHARED = "shared"
    MANAGED = "managed"
    GALLERY = "gallery"
    VMS = "vms"


class NodeKind(StrEnum):
    SOURCE = "source"
    PUBLISHER = "publisher"
    OFFER = "offer"
    SKU = "sku"
    GALLERY = "gallery"
    RESOURCE_GROUP = "resource-group"
    DEFINITION = "definition"
    IMAGE = "image"
    VERSION = "version"
    VM = "vm"


@dataclass(frozen=True)
class ImageSource:
    kind: SourceKind
    title: str
    description: str


SOURCES: tuple[ImageSource, ...] = (
    ImageSource(
        SourceKind.MARKETPLACE,
        "Azure Marketplace",
        "Images published by Microsoft and partners: publisher → offer → SKU → version.",
    ),
    ImageSource(
        SourceKind.COMMUNITY,
        "Community galleries",
        "Public galleries shared by their publishers with every Azure user "
        "(the successor of VM Depot). Not verified by Microsoft.",
    ),
    ImageSource(
        SourceKind.SHARED,
        "Shared with me",
        "Compute Galleries that other subscriptions or tenants shared with this subscription.",
    ),
    ImageSource(
        SourceKind.MANAGED,
        "Managed images",
        "The subscription's own managed images, by resource group.",
    ),
    ImageSource(
        SourceKind.GALLERY,
        "My galleries",
        "The subscription's Azure Compute Galleries: gallery → image definition → version.",
    ),
    ImageSource(
        SourceKind.VMS,
        "Virtual machines",
        "The subscription's VMs, the other source of images: select one and choose "
        "Capture VM… to turn it into a managed image or a gallery image version.",
    ),
)


def source_of(kind: SourceKind) -> ImageSource:
    return next(source for source in SOURCES if source.kind is kind)


@dataclass(frozen=True)
class NodeRef:
    """Where a node sits: its source and the names below it.

    Marketplace: (publisher, offer, sku, version); community and shared galleries:
    (gallery, image, version); managed images: (resource group, image); own galleries:
    (resource group, gallery, definition, version).
    """

    source: SourceKind
    parts: tuple[str, ...] = ()

    def child(self, *names: str) -> NodeRef:
        return NodeRef(self.source, (*self.parts, *names))

    @cached_property
    def key(self) -> str:
        # Read for each of thousands of rows: a StrEnum joins as its value, and skipping the
        # Enum.value property (slow on Python 3.11) took 60 ms off listing 3,400 publishers.
        return "/".join((self.source, *self.parts))

    @classmethod
    def from_key(cls, key: str) -> NodeRef:
        source, *parts = key.split("/")
        return cls(SourceKind(source), tuple(parts))


@dataclass(frozen=True)
class CatalogNode:
    """A row of the tree. ``is_image`` marks a leaf that has a detail with disks: an image
    (version) or, under Virtual machines, a VM."""

    ref: NodeRef
    kind: NodeKind
    label: str
    is_image: bool = False
    summary: str = ""

    @property
    def has_children(self) -> bool:
        return not self.is_image

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref.key,
            "kind": self.kind.value,
            "label": self.label,
            "is_image": self.is_image,
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogNode:
        return cls(
            ref=NodeRef.from_key(data["ref"]),
            kind=NodeKind(data["kind"]),
            label=data["label"],
            is_image=bool(data["is_image"]),
            summary=data.get("summary", ""),
        )


def source_node(source: ImageSource) -> CatalogNode:
    return CatalogNode(
        NodeRef(source.kind), NodeKind.SOURCE, source.title, summary=source.description
    )


class DiskRole(StrEnum):
    OS = "OS disk"
    DATA = "Data disk"


@dataclass(frozen=True)
class DiskSpec:
    role: DiskRole
    lun: int | None = None
    os_type: str | None = None
    os_state: str | None = None
    size_gb: int | None = None
    caching: str | None = None
    storage_type: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class ImageDetail:
    ref: NodeRef
    title: str
    resource_id: str
    os_type: str
    os_state: str
    hyper_v_generation: str
    architecture: str
    security_type: str
    location: str
    disks: tuple[DiskSpec, ...]
    properties: tuple[tuple[str, str], ...] = field(default=())

    @property
    def data_disks(self) -> tuple[DiskSpec, ...]:
        return tuple(disk for disk in self.disks if disk.role is DiskRole.DATA)

    @property
    def is_vm_image(self) -> bool:
        """A VM image carries data disks besides the OS disk; an OS image only the OS disk."""
        return bool(self.data_disks)

    @property
    def kind_label(self) -> str:
        count = len(self.data_disks)
        if self.ref.source is SourceKind.VMS:
            plural = "s" if count != 1 else ""
            return f"Virtual machine — OS disk + {count} data disk{plural}"
        if count:
            plural = "s" if count != 1 else ""
            return f"VM image — OS disk + {count} data disk{plural}"
        return "OS image — OS disk only"

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ref"] = self.ref.key
        data["disks"] = [
            dataclasses.asdict(disk) | {"role": disk.role.value} for disk in self.disks
        ]
        data["properties"] = [list(pair) for pair in self.properties]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageDetail:
        fields = dict(data)
        fields["ref"] = NodeRef.from_key(data["ref"])
        fields["disks"] = tuple(
            DiskSpec(**(disk | {"role": DiskRole(disk["role"])})) for disk in data["disks"]
        )
        fields["properties"] = tuple((str(k), str(v)) for k, v in data["properties"])
        return cls(**fields)

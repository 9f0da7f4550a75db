"""Plain data describing image sources, the nodes of the catalog tree, images and their disks.

No Qt and no SDK types here: the catalog turns SDK models into these, the Qt models show them,
and the listing cache stores them as JSON. Our own words in them (summaries, property values
such as "Yes") are :class:`gui.i18n.Text`, the English string that remembers its
Message, translated only where the window shows it; property labels are English templates
marked with ``QT_TR_NOOP``. What Azure named (publishers, galleries, enum values) stays a plain
str, as Azure wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any

from gui.i18n import QT_TR_NOOP, Message, Text
from gui.units import human_bytes


class SourceKind(StrEnum):
    MARKETPLACE = "marketplace"
    COMMUNITY = "community"
    SHARED = "shared"
    MANAGED = "managed"
    GALLERY = "gallery"
    VMS = "vms"
    STORAGE = "storage"  # page blobs (VHDs) in the subscription's storage accounts


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
    DISK = "disk"  # a managed disk, beside the managed images of its resource group
    SNAPSHOT = "snapshot"  # a snapshot of a managed disk, beside the disks
    STORAGE_ACCOUNT = "storage-account"
    CONTAINER = "container"  # a blob container of a storage account
    BLOB = "blob"  # a page blob: a VHD an unmanaged VM used, or one uploaded


@dataclass(frozen=True)
class ImageSource:
    kind: SourceKind
    title: str
    description: str


SOURCES: tuple[ImageSource, ...] = (
    ImageSource(
        SourceKind.MARKETPLACE,
        QT_TR_NOOP("Azure Marketplace"),
        QT_TR_NOOP(
            "Images published by Microsoft and partners: publisher → offer → SKU → version."
        ),
    ),
    ImageSource(
        SourceKind.COMMUNITY,
        QT_TR_NOOP("Community galleries"),
        QT_TR_NOOP(
            "Public galleries shared by their publishers with every Azure user "
            "(the successor of VM Depot). Not verified by Microsoft."
        ),
    ),
    ImageSource(
        SourceKind.SHARED,
        QT_TR_NOOP("Shared with me"),
        QT_TR_NOOP(
            "Compute Galleries that other subscriptions or tenants shared with this subscription."
        ),
    ),
    ImageSource(
        SourceKind.MANAGED,
        QT_TR_NOOP("Managed images"),
        QT_TR_NOOP(
            "The subscription's own managed images, managed disks and snapshots, by resource "
            "group: also what the upload and capture wizards left behind (a kept upload disk, "
            "a capture's backup snapshots)."
        ),
    ),
    ImageSource(
        SourceKind.GALLERY,
        QT_TR_NOOP("My galleries"),
        QT_TR_NOOP(
            "The subscription's Azure Compute Galleries: gallery → image definition → version."
        ),
    ),
    ImageSource(
        SourceKind.VMS,
        QT_TR_NOOP("Virtual machines"),
        QT_TR_NOOP(
            "The subscription's VMs, the other source of images: select one and choose "
            "Capture VM… to turn it into a managed image or a gallery image version."
        ),
    ),
    ImageSource(
        SourceKind.STORAGE,
        QT_TR_NOOP("VHDs in storage accounts"),
        QT_TR_NOOP(
            "Page blobs in the subscription's storage accounts: storage account → container → "
            "VHD (an unmanaged VM's disk, an uploaded VHD), to download or copy."
        ),
    ),
)


def source_of(kind: SourceKind) -> ImageSource:
    return next(source for source in SOURCES if source.kind is kind)


# A disk or snapshot sits in its resource group beside the managed images, under a part no Azure
# name can be ("+" is not allowed in image, disk or snapshot names), so a disk named like an
# image of its group never has the image's key.
DISKS_PART = "+disks"
SNAPSHOTS_PART = "+snapshots"
_DISK_PARTS = {DISKS_PART: NodeKind.DISK, SNAPSHOTS_PART: NodeKind.SNAPSHOT}


@dataclass(frozen=True)
class NodeRef:
    """Where a node sits: its source and the names below it.

    Marketplace: (publisher, offer, sku, version); community and shared galleries:
    (gallery, image, version); managed images: (resource group, image), and beside them the
    group's disks and snapshots: (resource group, DISKS_PART or SNAPSHOTS_PART, name); own
    galleries: (resource group, gallery, definition, version); VHDs in storage accounts:
    (resource group, account, container, blob_part(blob name)).
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

    @property
    def disk_kind(self) -> NodeKind | None:
        """DISK or SNAPSHOT for a disk's or snapshot's ref, else None."""
        if self.source is SourceKind.MANAGED and len(self.parts) == 3:
            return _DISK_PARTS.get(self.parts[1])
        return None


def disk_ref(resource_group: str, name: str, kind: NodeKind = NodeKind.DISK) -> NodeRef:
    """Where a managed disk (or, with ``kind`` SNAPSHOT, a snapshot) sits in the tree."""
    part = SNAPSHOTS_PART if kind is NodeKind.SNAPSHOT else DISKS_PART
    return NodeRef(SourceKind.MANAGED, (resource_group, part, name))


def blob_part(blob: str) -> str:
    """A blob's name as a part of a ref: a blob name may hold "/" (virtual folders), which
    separates the parts of a key, so "%" and "/" are escaped (``blob_name`` reverses it)."""
    return blob.replace("%", "%25").replace("/", "%2F")


def blob_name(part: str) -> str:
    return part.replace("%2F", "/").replace("%25", "%")


class ByteSize(int):
    """A count of bytes in a summary or detail value: the window writes it with its
    ``format_size`` ("1.5 GiB" / "1,5 GiB"), where a plain int is a number; the English
    text (logs, commands) with ``gui.units.human_bytes``."""

    def __format__(self, spec: str) -> str:
        return human_bytes(int(self)) if not spec else format(int(self), spec)


@dataclass(frozen=True)
class CatalogNode:
    """A row of the tree. ``is_image`` marks a leaf that has a detail with disks: an image
    (version) or, under Virtual machines, a VM.

    ``label`` is Azure's name for the node (a source's English title for the six roots, which
    the window translates where it shows them); ``ref.parts[-1]`` is the name Azure is asked
    by, which differs from the label only where Azure's own name is not for people (a shared
    gallery's unique name)."""

    ref: NodeRef
    kind: NodeKind
    label: str
    is_image: bool = False
    summary: str = ""  # Azure's words as a str, ours as a Text

    @property
    def has_children(self) -> bool:
        return not self.is_image

    @property
    def name(self) -> str:
        """The name Azure knows the node by (``label`` unless Azure's name is not for people)."""
        if not self.ref.parts:
            return self.label
        if self.kind is NodeKind.BLOB:
            return blob_name(self.ref.parts[-1])
        return self.ref.parts[-1]

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref.key,
            "kind": self.kind.value,
            "label": self.label,
            "is_image": self.is_image,
            "summary": text_to_json(self.summary),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogNode:
        return cls(
            ref=NodeRef.from_key(data["ref"]),
            kind=NodeKind(data["kind"]),
            label=data["label"],
            is_image=bool(data["is_image"]),
            summary=text_from_json(data.get("summary", "")),
        )


def source_node(source: ImageSource) -> CatalogNode:
    return CatalogNode(
        NodeRef(source.kind), NodeKind.SOURCE, source.title, summary=Text(source.description)
    )


# --- Text as JSON (the listing cache keeps nodes and details between starts) ------------------


def text_to_json(text: object) -> Any:
    """A str (or number) as itself; a Text or datetime as a small tagged object, so a listing
    read back from the cache is still shown in the window's language."""
    if isinstance(text, Text):
        text = text.message
    if isinstance(text, Message):
        data: dict[str, Any] = {
            "message": text.template,
            "args": {key: text_to_json(value) for key, value in text.args.items()},
        }
        if text.count is not None:
            data["count"], data["plural"] = text.count, text.plural
        return data
    if isinstance(text, datetime):
        return {"datetime": text.isoformat()}
    if isinstance(text, ByteSize):
        return {"bytes": int(text)}
    return text


def text_from_json(data: Any) -> Any:
    """The inverse of ``text_to_json``; anything unknown comes back as a str."""
    if isinstance(data, dict):
        if "message" in data:
            args = {str(k): text_from_json(v) for k, v in (data.get("args") or {}).items()}
            count = data.get("count")
            return Text(
                Message(
                    str(data["message"]),
                    MappingProxyType(args),
                    count=count if isinstance(count, int) else None,
                    plural=data.get("plural"),
                )
            )
        if "datetime" in data:
            return datetime.fromisoformat(str(data["datetime"]))
        if isinstance(data.get("bytes"), int):
            return ByteSize(data["bytes"])
        return str(data)
    if isinstance(data, str | int | float):
        return data
    return "" if data is None else str(data)


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
    # The exact size where it is not whole GiB (a VHD blob): shown as it is, not rounded up.
    size_bytes: int | None = None


@dataclass(frozen=True)
class PurchasePlan:
    """A Marketplace image's purchase plan: a VM from the image (or from a gallery image made
    from it) must carry the plan, and its terms must be accepted in the subscription."""

    publisher: str
    product: str
    name: str

    def to_json(self) -> dict[str, str]:
        return {"publisher": self.publisher, "product": self.product, "name": self.name}

    @classmethod
    def from_sdk(cls, plan: Any) -> PurchasePlan | None:
        """From an SDK model's plan (a Marketplace image's ``plan``, a definition's
        ``purchase_plan``, a VM's ``plan``); None when there is none."""
        if plan is None:
            return None
        publisher = getattr(plan, "publisher", None)
        product = getattr(plan, "product", None)
        name = getattr(plan, "name", None)
        if not (publisher and product and name):
            return None
        return cls(str(publisher), str(product), str(name))


@dataclass(frozen=True)
class ImageDetail:
    """An image (or VM) with its disks. ``properties`` are (label, value) rows: the label is an
    English template marked for translation (``QT_TR_NOOP``), the value Azure's text or ours."""

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
    # the values: Azure's text (str), ours (Text), or a date-time the window formats
    properties: tuple[tuple[str, str | datetime], ...] = field(default=())
    plan: PurchasePlan | None = None

    @property
    def data_disks(self) -> tuple[DiskSpec, ...]:
        return tuple(disk for disk in self.disks if disk.role is DiskRole.DATA)

    @property
    def is_vm_image(self) -> bool:
        """A VM image carries data disks besides the OS disk; an OS image only the OS disk."""
        return bool(self.data_disks)

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref.key,
            "title": self.title,
            "resource_id": self.resource_id,
            "os_type": self.os_type,
            "os_state": text_to_json(self.os_state),
            "hyper_v_generation": self.hyper_v_generation,
            "architecture": self.architecture,
            "security_type": text_to_json(self.security_type),
            "location": self.location,
            "disks": [
                {name: getattr(disk, name) for name in disk.__dataclass_fields__}
                | {"role": disk.role.value}
                for disk in self.disks
            ],
            "properties": [[label, text_to_json(value)] for label, value in self.properties],
            "plan": self.plan.to_json() if self.plan is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageDetail:
        fields = dict(data)
        fields["ref"] = NodeRef.from_key(data["ref"])
        fields["os_state"] = text_from_json(data["os_state"])
        fields["security_type"] = text_from_json(data["security_type"])
        fields["disks"] = tuple(
            DiskSpec(**(disk | {"role": DiskRole(disk["role"])})) for disk in data["disks"]
        )
        fields["properties"] = tuple(
            (str(label), text_from_json(value)) for label, value in data["properties"]
        )
        plan = data.get("plan")  # a detail cached before plans were kept has none
        fields["plan"] = PurchasePlan(**plan) if isinstance(plan, dict) else None
        return cls(**fields)

"""What the browser's nodes can be copied as: a gallery image version into another gallery, a
managed image or a snapshot into another region (the "Copy to…" of the tree's context menu)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gui.azure.catalog.nodes import CatalogNode, NodeKind, SourceKind


class CopyKind(StrEnum):
    GALLERY = "gallery"  # a version into another gallery (subscription, tenant)
    REGION = "region"  # a managed image or snapshot into another region


@dataclass(frozen=True)
class CopySource:
    kind: CopyKind
    resource_id: str
    name: str
    location: str = ""


def copy_source_of(node: CatalogNode, subscription_id: str) -> CopySource | None:
    """The copy ``node`` offers, in ``subscription_id`` (the tree's); None for a node that is
    not copied from here (the Marketplace, others' galleries, VMs, disks, folders)."""
    ref, parts = node.ref, node.ref.parts
    compute = f"/subscriptions/{subscription_id}/resourceGroups/{{rg}}/providers/Microsoft.Compute"
    if ref.source is SourceKind.GALLERY and len(parts) == 4 and node.kind is NodeKind.VERSION:
        rg, gallery, definition, version = parts
        return CopySource(
            CopyKind.GALLERY,
            compute.format(rg=rg)
            + f"/galleries/{gallery}/images/{definition}/versions/{version}",
            f"{gallery}/{definition}/{version}",
        )
    if ref.source is SourceKind.MANAGED:
        if ref.disk_kind is NodeKind.SNAPSHOT:
            return CopySource(
                CopyKind.REGION, compute.format(rg=parts[0]) + f"/snapshots/{parts[2]}", parts[2]
            )
        if len(parts) == 2 and node.kind is NodeKind.IMAGE:
            return CopySource(
                CopyKind.REGION, compute.format(rg=parts[0]) + f"/images/{parts[1]}", parts[1]
            )
    return None

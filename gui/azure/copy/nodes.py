"""What the browser's nodes can be copied as: a gallery image version into another gallery, a
managed image or a snapshot into another region, a page blob (VHD) into another storage
account's container (the "Copy to…" of the tree's context menu)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from gui.azure.catalog.nodes import CatalogNode, NodeKind, SourceKind, blob_name

if TYPE_CHECKING:
    from gui.azure.account.session import AzureSession
    from gui.azure.copy.blob import BlobCopyPlan


class CopyKind(StrEnum):
    GALLERY = "gallery"  # a version into another gallery (subscription, tenant)
    REGION = "region"  # a managed image or snapshot into another region
    BLOB = "blob"  # a page blob into a container of another storage account


@dataclass(frozen=True)
class CopySource:
    kind: CopyKind
    resource_id: str
    name: str
    location: str = ""
    # a blob's container and name (``resource_id`` is then its storage account's)
    container: str = ""
    blob: str = ""


def copy_source_of(node: CatalogNode, subscription_id: str) -> CopySource | None:
    """The copy ``node`` offers, in ``subscription_id`` (the tree's); None for a node that is
    not copied from here (the Marketplace, others' galleries, VMs, disks, folders)."""
    if node.ref.source is SourceKind.STORAGE and node.kind is NodeKind.BLOB:
        rg, account, container, part = node.ref.parts
        name = blob_name(part)
        return CopySource(
            CopyKind.BLOB,
            f"/subscriptions/{subscription_id}/resourceGroups/{rg}/providers/"
            f"Microsoft.Storage/storageAccounts/{account}",
            name, container=container, blob=name)
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


async def blob_copy_plan(session: AzureSession, source: CopySource, target: str) -> BlobCopyPlan:
    """The copy of a BLOB source into ``target``: a container URL (the blob keeps its name) or
    a blob URL, with or without a SAS. The source's URL comes from its account (the blob
    endpoint of its cloud); its read SAS is signed when the copy grants access.
    ValueError: ``target`` is no container or blob URL (the message names what was given)."""
    from gui.azure.arm import name_of, resource_group_of, subscription_of
    from gui.azure.catalog.storage_blobs import storage_account
    from gui.azure.copy.blob import BlobCopyPlan, BlobLocation

    where = BlobLocation.parse(target.strip())
    subscription = subscription_of(source.resource_id)
    account = await storage_account(session, subscription, resource_group_of(source.resource_id),
                                    name_of(source.resource_id))
    origin = BlobLocation.parse(f"{account.blob_endpoint.rstrip('/')}/{source.container}")
    # the target may be in another subscription: the copy looks for its account in all
    return BlobCopyPlan(origin.named(source.blob), where, subscription_id=None)

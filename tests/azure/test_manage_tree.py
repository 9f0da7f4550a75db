"""Disks and snapshots in the tree (issue 12), against the sandbox over HTTP: by resource group
beside the managed images, with size, SKU, state, what they were made from and which VM uses
them; what the upload and capture wizards leave behind is named as such."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gui.azure.account.session import sandbox_session
from gui.azure.capture import executor
from gui.azure.catalog.cache import CachedCatalog
from gui.azure.catalog.nodes import CatalogNode, DiskRole, NodeKind, NodeRef, SourceKind, disk_ref
from gui.azure.catalog.service import (
    CAPTURED_FROM_TAG,
    CREATED_BY_TAG,
    CREATED_BY_US,
    UPLOAD_PLAN_TAG,
    Catalog,
    Scope,
)
from gui.azure.search.index import SearchIndex
from gui.azure.search.refresh import ReadBudget, Refresher, attach
from gui.azure.upload import job
from gui.i18n import english
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import (
    CAPTURE_BACKUP_SNAPSHOT,
    CAPTURED_VM,
    KEPT_UPLOAD_DISK,
    RG_LEFT_BEHIND,
    RG_VMS,
    UNATTACHED_DISK,
    VM_WINDOWS,
)

SCOPE = Scope(PRODUCTION_SUBSCRIPTION_ID, "westeurope")


def _facts(node: CatalogNode) -> str:
    return english(node.summary)


@pytest.mark.asyncio
async def test_a_groups_disks_and_snapshots_sit_beside_its_images(sandbox: Any) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        catalog = Catalog(session, SCOPE)
        root = next(n for n in catalog.roots() if n.ref.source is SourceKind.MANAGED)
        groups = {g.label: g for g in await catalog.children(root)}
        # the VMs' group has no image, only disks: it is listed for them
        assert "disks: " in _facts(groups[RG_VMS]) and "Images: 0" in _facts(groups[RG_VMS])
        here = await catalog.children(groups[RG_LEFT_BEHIND])
        kinds = [n.kind for n in here]
        # images first, then disks, then snapshots
        assert kinds == sorted(kinds, key=[NodeKind.IMAGE, NodeKind.DISK, NodeKind.SNAPSHOT].index)
        by_name = {n.label: n for n in here}
        upload = by_name[KEPT_UPLOAD_DISK]
        assert upload.kind is NodeKind.DISK and upload.is_image
        assert upload.ref == disk_ref(RG_LEFT_BEHIND, KEPT_UPLOAD_DISK)
        assert _facts(upload) == (
            "Kept from an upload with Azure Image Studio · 30 GiB · Premium_LRS · Unattached · "
            "Uploaded"
        )
        scratch = _facts(by_name[UNATTACHED_DISK])
        assert scratch == "64 GiB · StandardSSD_LRS · Unattached · Empty disk"
        backup = by_name[CAPTURE_BACKUP_SNAPSHOT]
        assert backup.kind is NodeKind.SNAPSHOT
        assert _facts(backup).startswith(f"Backup of VM {CAPTURED_VM}, taken before its capture")
        assert _facts(backup).endswith(f"Copy of disk {CAPTURED_VM}_OsDisk_1_3f1c2a9e")

        vm_disks = await catalog.children(groups[RG_VMS])
        attached = [n for n in vm_disks if n.label.startswith(f"{VM_WINDOWS}-data-")]
        assert len(attached) == 2
        assert all(f"attached to VM {VM_WINDOWS}" in _facts(n) for n in attached)
        os_disk = next(n for n in vm_disks if n.label.startswith(f"{VM_WINDOWS}_OsDisk"))
        assert _facts(os_disk).endswith(
            "Marketplace image MicrosoftWindowsServer:WindowsServer:"
            "2022-datacenter-azure-edition:1.0.20241101"
        )
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_a_disks_detail_says_what_it_is_and_who_uses_it(sandbox: Any) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        catalog = Catalog(session, SCOPE)
        vm_disk = CatalogNode(
            disk_ref(RG_VMS, f"{VM_WINDOWS}-data-1"), NodeKind.DISK, "d", is_image=True
        )
        detail = await catalog.detail(vm_disk)
        rows = {label: english(value) for label, value in detail.properties}
        assert rows["Used by"] == f"VM {VM_WINDOWS}"
        assert rows["Size"] == "256 GiB" and rows["SKU"] == "Premium_LRS"
        assert rows["Disk state"] == "Attached" and rows["Created from"] == "Empty disk"
        assert detail.resource_id.endswith(f"/disks/{VM_WINDOWS}-data-1")
        assert [(d.role, d.size_gb, d.storage_type) for d in detail.disks] == [
            (DiskRole.DATA, 256, "Premium_LRS")
        ]

        snapshot = CatalogNode(
            disk_ref(RG_LEFT_BEHIND, CAPTURE_BACKUP_SNAPSHOT, NodeKind.SNAPSHOT),
            NodeKind.SNAPSHOT,
            CAPTURE_BACKUP_SNAPSHOT,
            is_image=True,
        )
        detail = await catalog.detail(snapshot)
        rows = {label: english(value) for label, value in detail.properties}
        assert rows["Made by"] == f"Backup of VM {CAPTURED_VM}, taken before its capture"
        assert rows["Used by"] == "No VM (not attached)" and rows["Incremental"] == "No"
        assert detail.os_type == "Linux" and detail.hyper_v_generation == "Gen2 (V2)"
        assert detail.disks[0].role is DiskRole.OS
        assert detail.disks[0].source == f"{CAPTURED_VM}_OsDisk_1_3f1c2a9e"
    finally:
        await session.close()


def test_the_tags_read_back_are_the_ones_the_wizards_write() -> None:
    # The upload job tags its disks, the capture executor its backup snapshots: the tree reads
    # those tags to say what made a disk, so the names must stay the same on both sides.
    assert UPLOAD_PLAN_TAG == job.PLAN_TAG
    upload_source = Path(job.__file__).read_text(encoding="utf-8")
    assert f'"{CREATED_BY_TAG}": "{CREATED_BY_US}"' in upload_source
    capture_source = Path(executor.__file__).read_text(encoding="utf-8")
    assert f'"tags": {{"{CAPTURED_FROM_TAG}": vm.name}}' in capture_source


def test_a_disk_never_shares_an_images_key() -> None:
    image = NodeRef(SourceKind.MANAGED, ("rg", "same-name"))
    disk = disk_ref("rg", "same-name")
    assert image.key != disk.key and image.disk_kind is None
    assert disk.disk_kind is NodeKind.DISK
    assert NodeRef.from_key(disk.key) == disk


@pytest.mark.asyncio
async def test_the_search_index_finds_a_disk_and_leads_back_to_it(
    sandbox: Any, tmp_path: Path
) -> None:
    # The index takes every listing generically: a disk is a place to browse (not an image
    # with facts to read), found by its name, with the key the tree reveals it by.
    session = sandbox_session(sandbox.arm_url)
    cache = CachedCatalog()
    catalog = Catalog(session, SCOPE, cache=cache)
    index = SearchIndex(tmp_path / "search.sqlite3")
    feed = attach(cache, index, SCOPE)
    try:
        root = next(n for n in catalog.roots() if n.ref.source is SourceKind.MANAGED)
        groups = await cache.children(root, catalog.children)
        group = next(g for g in groups if g.label == RG_LEFT_BEHIND)
        await cache.children(group, catalog.children)
        await feed.drained()
        hits = index.search("golden", location=SCOPE.location)
        assert [(h.key, h.kind, h.is_image) for h in hits] == [
            (disk_ref(RG_LEFT_BEHIND, KEPT_UPLOAD_DISK).key, NodeKind.DISK.value, False)
        ]
        assert index.search("precapture", location=SCOPE.location)[0].kind == "snapshot"
        # the background refresh reads images' facts only: the disks give it nothing to do
        report = await Refresher(
            index, catalog, budget=ReadBudget(per_second=10_000, burst=10_000)
        ).refresh_once(limit=50)
        assert report.failed == 0
    finally:
        await feed.drained()
        feed.close()
        index.close()
        await session.close()

"""Download… from the tree (issue 13): disks, snapshots and gallery versions offer it, other
nodes do not; the dialog downloads a managed disk from the sandbox with its steps and progress,
revokes the access, and says what it cannot use before anything is sent."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QMenu
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef, SourceKind, disk_ref
from gui.diskimage.writers.vhd import fixed_footer
from gui.qt.download.dialog import DownloadActions, DownloadDialog
from gui.qt.main_window import MainWindow
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_BUILD
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
DISK = 21 * MIB


def _actions(window: MainWindow, session: AzureSession) -> DownloadActions:
    # What the app controller does (its registration is the lead's: see the report).
    actions = DownloadActions(window)
    window.add_node_actions(actions.node_actions)
    actions.connected(session)
    return actions


async def _disk_with(session: AzureSession, name: str, data: bytes) -> str:
    from azure.mgmt.compute.models import (
        CreationData,
        Disk,
        DiskProperties,
        DiskSku,
        GrantAccessData,
    )
    from azure.storage.blob.aio import BlobClient

    compute = session.compute(PRODUCTION_SUBSCRIPTION_ID)
    disk = Disk(location="westeurope", sku=DiskSku(name="Standard_LRS"),
                properties=DiskProperties(creation_data=CreationData(
                    create_option="Upload", upload_size_bytes=len(data) + 512)))
    made = await (await compute.disks.begin_create_or_update(RG_BUILD, name, disk)).result()
    access = await (await compute.disks.begin_grant_access(
        RG_BUILD, name, GrantAccessData(access="Write", duration_in_seconds=600))).result()
    assert access.access_sas is not None
    async with BlobClient.from_blob_url(access.access_sas) as blob:
        await blob.upload_page(data[MIB : 2 * MIB], offset=MIB, length=MIB)
        await blob.upload_page(fixed_footer(len(data), uuid.uuid4(), 0), offset=len(data),
                               length=512)
    await (await compute.disks.begin_revoke_access(RG_BUILD, name)).result()
    return str(made.id)


def test_disks_snapshots_and_versions_offer_download_and_nothing_else(
    window: MainWindow, run: AsyncRunner, new_session: Callable[[], AzureSession]
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    session = new_session()
    actions = _actions(window, session)
    offered = [
        CatalogNode(disk_ref("rg", "d1"), NodeKind.DISK, "d1", is_image=True),
        CatalogNode(disk_ref("rg", "s1", NodeKind.SNAPSHOT), NodeKind.SNAPSHOT, "s1",
                    is_image=True),
        CatalogNode(NodeRef(SourceKind.GALLERY, ("rg", "gal", "def", "1.0.0")),
                    NodeKind.VERSION, "1.0.0", is_image=True),
    ]
    for node in offered:
        menu = QMenu()
        actions.node_actions(menu, [node])
        assert [a.text() for a in menu.actions()] == ["Download…"], node
    not_offered = [
        CatalogNode(NodeRef(SourceKind.MARKETPLACE, ("westeurope", "Canonical")),
                    NodeKind.PUBLISHER, "Canonical"),
        CatalogNode(NodeRef(SourceKind.GALLERY, ("rg", "gal")), NodeKind.GALLERY, "gal"),
    ]
    for node in not_offered:
        menu = QMenu()
        actions.node_actions(menu, [node])
        assert menu.actions() == [], node
    menu = QMenu()
    actions.node_actions(menu, offered[:2])  # one at a time
    assert menu.actions() == []


def test_a_disk_is_downloaded_from_the_dialog_and_its_access_revoked(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner,
    new_session: Callable[[], AzureSession], session_sandbox: SandboxServer, tmp_path: Path,
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    session = new_session()
    data = bytearray(DISK)
    data[MIB : 2 * MIB] = bytes(range(256)) * (MIB // 256)
    name = f"qt-dl-{uuid.uuid4().hex[:6]}"
    disk_id = run(_disk_with(session, name, bytes(data)))
    actions = _actions(window, session)
    source = actions._source([CatalogNode(disk_ref(RG_BUILD, name), NodeKind.DISK, name)])
    assert source is not None and source.resource_id == disk_id
    dialog = DownloadDialog(source, session, window)
    buddies = {
        label.buddy() for label in dialog.findChildren(QLabel) if label.buddy() is not None
    }
    assert {dialog.path, dialog.format} <= buddies
    assert dialog.path.accessibleName() and dialog.format.accessibleName()
    assert not dialog.lun.isVisibleTo(dialog)  # a disk is one disk: no LUN to pick
    dialog.format.setCurrentIndex(dialog.format.findData("raw"))
    out = tmp_path / f"{name}.raw"
    dialog.path.setText(str(out))
    with qtbot.waitSignal(dialog.downloaded, timeout=LOAD_TIMEOUT_MS) as done:
        dialog.start_button.click()
    assert done.args == [str(out)]
    assert out.read_bytes() == bytes(data)
    assert dialog.progress.value() == 1000
    assert dialog.steps.states() == ["Done", "Done", "Done"]
    stored: Any = session_sandbox.world.store.get(disk_id)
    assert stored["properties"]["diskState"] == "Unattached"
    dialog.close()


def test_what_the_dialog_cannot_use_is_said_before_anything_is_sent(
    window: MainWindow, new_session: Callable[[], AzureSession], tmp_path: Path
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    session = new_session()
    actions = _actions(window, session)
    version = CatalogNode(NodeRef(SourceKind.GALLERY, ("rg", "gal", "def", "1.0.0")),
                          NodeKind.VERSION, "1.0.0", is_image=True)
    source = actions._source([version])
    assert source is not None
    dialog = DownloadDialog(source, session, window)
    assert dialog.lun.isVisibleTo(dialog) and dialog.lun.text() == "OS disk"
    dialog.path.setText(str(tmp_path / "no-such-folder" / "x.vhd"))
    dialog.start_button.click()
    assert dialog.problem.text() == f"The folder {tmp_path / 'no-such-folder'} does not exist."
    assert dialog.start_button.isEnabled() and dialog.run is None
    dialog.format.setCurrentIndex(dialog.format.findData("raw"))
    dialog.path.setText(str(tmp_path / "x.vhd"))
    dialog.format.setCurrentIndex(dialog.format.findData("vhd-dynamic"))
    assert dialog.path.text().endswith("x.vhd")
    dialog.format.setCurrentIndex(dialog.format.findData("raw"))
    assert dialog.path.text().endswith("x.raw")
    dialog.format.setCurrentIndex(dialog.format.findData("vhdx"))
    assert dialog.path.text().endswith("x.vhdx")
    dialog.close()

"""Download… on a page blob of "VHDs in storage accounts" (issue 13): the node offers it, the
dialog opens once a read-only SAS is signed (in memory: the window shows the URL without it),
and the file is the blob's bytes; a blob whose account is gone says why in a message box."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef, SourceKind, blob_part
from gui.azure.catalog.storage_blobs import storage_children
from gui.qt.browser.handoff_actions import HandoffActions
from gui.qt.download.dialog import DownloadActions
from gui.qt.main_window import MainWindow
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.storage import SEEDED_VHDS, seed_page_blobs
from gui.sandbox.seed.world import RG_IMAGES, STORAGE_ACCOUNT_PROD
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner

pytestmark = pytest.mark.gui

VHD = SEEDED_VHDS[0]
VHDS = NodeRef(SourceKind.STORAGE, (RG_IMAGES, STORAGE_ACCOUNT_PROD, "vhds"))


def _actions(window: MainWindow, session: AzureSession) -> DownloadActions:
    actions = DownloadActions(window)
    window.add_node_actions(actions.node_actions)
    actions.connected(session)
    return actions


def test_a_page_blob_downloads_from_its_node_byte_identical(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner,
    new_session: Callable[[], AzureSession], session_sandbox: SandboxServer, tmp_path: Path,
) -> None:
    seed_page_blobs(session_sandbox.world.blobs)
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    session = new_session()
    actions = _actions(window, session)
    blobs = run(storage_children(session, PRODUCTION_SUBSCRIPTION_ID, VHDS))
    node = next(blob for blob in blobs if blob.label == VHD.name)
    menu = QMenu()
    actions.node_actions(menu, [node])
    assert [a.text() for a in menu.actions()] == ["Download…"]
    for folder in (CatalogNode(VHDS, NodeKind.CONTAINER, "vhds"),
                   CatalogNode(NodeRef(SourceKind.STORAGE, VHDS.parts[:2]),
                               NodeKind.STORAGE_ACCOUNT, STORAGE_ACCOUNT_PROD)):
        menu = QMenu()
        actions.node_actions(menu, [folder])
        assert menu.actions() == [], folder

    run(actions._download_blob(node))
    (dialog,) = actions.dialogs
    assert dialog.windowTitle() == "Download legacyweb01-osdisk"
    assert "sig=" not in dialog.source.display and "sig=" in dialog.source.text
    dialog.format.setCurrentIndex(dialog.format.findData("raw"))
    out = tmp_path / "legacyweb01.raw"
    dialog.path.setText(str(out))
    with qtbot.waitSignal(dialog.downloaded, timeout=LOAD_TIMEOUT_MS):
        dialog.start_button.click()
    assert out.read_bytes() == VHD.content[:-512]
    dialog.close()


def test_a_blob_whose_account_is_gone_says_so(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner,
    new_session: Callable[[], AzureSession],
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    actions = _actions(window, new_session())
    gone = NodeRef(SourceKind.STORAGE, (RG_IMAGES, "goneaccount", "vhds", blob_part("a/b.vhd")))
    run(actions._download_blob(CatalogNode(gone, NodeKind.BLOB, "a/b.vhd", is_image=True)))
    assert actions.dialogs == []
    box = actions.problem
    assert box is not None and box.isVisible()
    assert "goneaccount" in box.text() and "Refresh the tree" in box.text()
    box.close()


def test_an_account_and_a_container_say_what_is_below_them(window: MainWindow) -> None:
    pane = window.detail_pane
    pane.show_node(CatalogNode(NodeRef(SourceKind.STORAGE, VHDS.parts[:2]),
                               NodeKind.STORAGE_ACCOUNT, STORAGE_ACCOUNT_PROD))
    assert pane.state()["status"] == "A storage account. Expand it to see its blob containers."
    pane.show_node(CatalogNode(VHDS, NodeKind.CONTAINER, "vhds"))
    assert pane.state()["status"].startswith("A blob container. Expand it to see its page blobs")


def test_a_blob_offers_no_vm_hand_off(window: MainWindow) -> None:
    # az CLI / Bicep hand-offs make a VM from an image; a VHD blob is none yet
    actions = HandoffActions(window)
    menu = QMenu()
    blob = CatalogNode(VHDS.child(blob_part(VHD.name)), NodeKind.BLOB, VHD.name, is_image=True)
    actions.node_actions(menu, [blob])
    assert menu.actions() == []

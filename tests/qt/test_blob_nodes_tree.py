"""VHDs in storage accounts in the browser (issue 13): storage account → container → page blob,
each blob with its size and last change in the Details column, its facts in the detail pane
(no SAS anywhere), and Download… and Copy to… in its context menu."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from azure.storage.blob import BlobClient
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QMenu
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import NodeKind
from gui.qt.browser.detail_pane import DetailPane
from gui.qt.copy.dialog import CopyDialog
from gui.qt.i18n import format_datetime, format_number, format_size
from gui.qt.main_window import MainWindow
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.storage import SEEDED_VHDS, seed_page_blobs
from gui.sandbox.seed.world import STORAGE_ACCOUNT_DEVTEST, STORAGE_ACCOUNT_PROD
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner, child_named, open_path, select

pytestmark = pytest.mark.gui

VHD = SEEDED_VHDS[0]


def form(pane: DetailPane) -> dict[str, str]:
    rows: dict[str, str] = {}
    for row in range(pane.form.rowCount()):
        caption = pane.form.itemAt(row, pane.form.ItemRole.LabelRole)
        value = pane.form.itemAt(row, pane.form.ItemRole.FieldRole)
        label = caption.widget() if caption is not None else None
        field = value.widget() if value is not None else None
        if isinstance(label, QLabel) and isinstance(field, QLabel):
            rows[label.text().rstrip(":")] = field.text()
    return rows


def _menu_of_current(window: MainWindow) -> QMenu:
    window.tree.setFocus()
    window.tree_menu = None
    QTest.keyClick(window.tree, Qt.Key.Key_Menu)
    return _opened(window)


def _opened(window: MainWindow) -> QMenu:
    """The menu the key press opened (read through a call: mypy keeps the None set before)."""
    menu = window.tree_menu
    assert menu is not None
    return menu


@pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no raise(), no grab
def test_a_vhd_in_a_storage_account_shows_its_facts_and_offers_download_and_copy(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Any,
    session_sandbox: SandboxServer, qtmodeltester: Any,
) -> None:
    seed_page_blobs(session_sandbox.world.blobs)  # the seed has it; a kept state may not
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    container = open_path(window, qtbot, "VHDs in storage accounts", STORAGE_ACCOUNT_PROD, "vhds")
    model = window.tree_model
    index = child_named(window, container, VHD.name)
    node = model.node_for(index)
    assert node is not None and node.kind is NodeKind.BLOB
    details = model.data(index.siblingAtColumn(1))
    assert details == (f"{format_size(VHD.size)} · modified {format_datetime(VHD.modified)}")

    detail = select(window, qtbot, index)
    assert detail.title == VHD.name
    pane = window.detail_pane
    assert pane.state()["kind"] == "Page blob (VHD)"
    rows = form(pane)
    assert rows["Blob type"] == "Page blob"
    assert rows["Size"] == f"{format_size(VHD.size)} ({format_number(VHD.size)} bytes)"
    assert rows["Content-MD5"] == VHD.content_md5
    assert rows["Lease"] == "Available: not in use"
    assert rows["Blob URL"] == f"{session_sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}/vhds/{VHD.name}"
    assert rows["Last modified"] == format_datetime(VHD.modified)
    assert not any("sig=" in value for value in rows.values())
    disks = pane.disk_model
    size_column = 4  # Disk, LUN, OS type, OS state, Size, …
    assert disks.rowCount() == 1
    assert disks.data(disks.index(0, size_column)) == format_size(VHD.size)  # not "1 GiB"

    menu = _menu_of_current(window)
    names = {action.objectName() for action in menu.actions()}
    assert {"downloadSelected", "copySelected"} <= names, [a.text() for a in menu.actions()]
    # a VHD blob is no image a VM is made from (yet): no Create VM, no VM hand-offs
    assert not names & {"createVm", "testBoot", "copyAsAzCli", "copyAsBicep"}, names
    menu.close()
    qtmodeltester.check(model)


@pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no raise(), no grab
def test_copy_to_copies_a_vhd_into_another_subscription_s_account(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Any,
    session_sandbox: SandboxServer,
) -> None:
    seed_page_blobs(session_sandbox.world.blobs)
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    container = open_path(window, qtbot, "VHDs in storage accounts", STORAGE_ACCOUNT_PROD, "vhds")
    select(window, qtbot, child_named(window, container, VHD.name))
    menu = _menu_of_current(window)
    (copy,) = [action for action in menu.actions() if action.objectName() == "copySelected"]
    menu.close()
    copy.trigger()
    dialogs = window.findChildren(CopyDialog)
    assert len(dialogs) == 1
    dialog = dialogs[0]
    assert dialog.target.isVisibleTo(dialog) and not dialog.region.isVisibleTo(dialog)
    dialog.target.setText(f"{session_sandbox.blob_url}/{STORAGE_ACCOUNT_PROD}")
    dialog.start_button.click()
    assert "container" in dialog.problem.text()  # an account is not a container
    name = f"copy-{uuid.uuid4().hex[:6]}.vhd"
    target = f"{session_sandbox.blob_url}/{STORAGE_ACCOUNT_DEVTEST}/vhds/{name}"
    dialog.target.setText(target)
    with qtbot.waitSignal(dialog.copied, timeout=LOAD_TIMEOUT_MS) as done:
        dialog.start_button.click()
    assert done.args == [target]
    copied = BlobClient.from_blob_url(
        session_sandbox.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", name))
    assert copied.download_blob().readall() == VHD.content
    dialog.close()

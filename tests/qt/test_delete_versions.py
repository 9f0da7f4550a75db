"""Deleting from the tree (issue 12): two gallery image versions selected at once, the Delete
key, the confirmation listing both, the progress, the tree listing the definition again, and the
sandbox listing them gone; an attached disk in a selection stays, naming its VM."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import NodeKind
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.manage.delete_dialog import DeleteDialog
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import (
    CAPTURE_BACKUP_SNAPSHOT,
    RG_LEFT_BEHIND,
    RG_VMS,
    UNATTACHED_DISK,
    VM_WINDOWS,
)
from gui.sandbox.seed.world import GALLERY_IMAGE_SECURE, GALLERY_PROD, RG_GALLERY
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner, child_named, open_path

pytestmark = pytest.mark.gui

DELETED = ("1.1.0", "1.0.0")


@pytest.fixture
def session_sandbox(fresh_sandbox: Any) -> Any:
    """A sandbox of this module's own: its tests delete seeded resources."""
    fresh_sandbox.lro_seconds = 0.2  # long enough to see the steps run
    return fresh_sandbox


def _select_rows(window: MainWindow, indexes: list[QModelIndex]) -> None:
    """Ctrl+click on each row: the tree's multiple selection."""
    selection = window.tree.selectionModel()
    window.tree.setCurrentIndex(window.proxy.mapFromSource(indexes[0]))
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for index in indexes[1:]:
        selection.select(window.proxy.mapFromSource(index), flags)


def _labels(window: MainWindow, parent: QModelIndex) -> list[str]:
    model = window.tree_model
    return [str(model.data(model.index(row, 0, parent))) for row in range(model.rowCount(parent))]


def _dialog(controller: AppController, qtbot: QtBot) -> DeleteDialog:
    qtbot.waitUntil(lambda: bool(controller.workflows.delete_dialogs))
    dialog = controller.workflows.delete_dialogs[-1]
    assert isinstance(dialog, DeleteDialog)
    qtbot.waitUntil(lambda: dialog.plan is not None, timeout=LOAD_TIMEOUT_MS)
    return dialog


def test_two_versions_deleted_at_once_with_the_delete_key(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    definition = open_path(window, qtbot, "My galleries", GALLERY_PROD, GALLERY_IMAGE_SECURE)
    assert set(DELETED) < set(_labels(window, definition))
    _select_rows(window, [child_named(window, definition, label) for label in DELETED])
    assert [n.label for n in window.selected_nodes()] == list(DELETED)

    window.tree.setFocus()
    QTest.keyClick(window.tree, Qt.Key.Key_Delete)
    dialog = _dialog(controller, qtbot)
    state = dialog.state()
    # (the plural's English forms come with the catalogue the lead merges: "items")
    assert state["heading"].startswith("Delete 2 item")
    path = f"{GALLERY_PROD}/{GALLERY_IMAGE_SECURE}"
    assert state["goes"] == [
        ["1", "Gallery image version", f"{path}/1.1.0", RG_GALLERY],
        ["2", "Gallery image version", f"{path}/1.0.0", RG_GALLERY],
    ]
    assert state["stays"] == []
    # Enter keeps them: Delete is no default button
    assert not dialog.delete_button.isDefault() and not dialog.delete_button.autoDefault()
    cancel = dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel)
    assert cancel is not None and cancel.isDefault()

    seen: list[tuple[int, int]] = []
    dialog.progress.valueChanged.connect(
        lambda value: seen.append((value, dialog.progress.maximum()))
    )
    QTest.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.run is not None and not dialog.running, timeout=LOAD_TIMEOUT_MS)
    assert dialog.state()["steps"] == ["Done", "Done"]
    assert dialog.state()["progress"] == (2, 2)
    assert (2, 2) in seen and seen[0][0] < 2  # it moved while Azure deleted
    status = dialog.state()["status"]
    assert status.startswith("2 item") and status.endswith(" deleted.")

    # the tree lists the definition again: the two are gone, the third stays
    key = window.tree_model.node_for(definition).ref.key  # type: ignore[union-attr]
    qtbot.waitUntil(
        lambda: not set(DELETED) & set(_labels(window, window.tree_model.index_for_key(key))),
        timeout=LOAD_TIMEOUT_MS,
    )
    # and Azure (the sandbox) has them no more
    compute = new_session().compute(PRODUCTION_SUBSCRIPTION_ID)

    async def versions() -> list[str]:
        pager = compute.gallery_image_versions.list_by_gallery_image(
            RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SECURE
        )
        return [str(v.name) async for v in pager]

    left = run(versions())
    assert left and not set(DELETED) & set(left)
    close = dialog.buttons.button(QDialogButtonBox.StandardButton.Close)
    assert close is not None
    QTest.mouseClick(close, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not controller.workflows.delete_dialogs)


@pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no raise(), no grab
def test_an_attached_disk_stays_naming_its_vm_and_the_free_one_goes(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    group = open_path(window, qtbot, "Managed images", RG_VMS)
    attached = child_named(window, group, f"{VM_WINDOWS}-data-0")
    node = window.tree_model.node_for(attached)
    assert node is not None and node.kind is NodeKind.DISK
    window.tree.setCurrentIndex(window.proxy.mapFromSource(attached))
    controller.workflows.delete_selected()
    dialog = _dialog(controller, qtbot)
    state = dialog.state()
    assert state["goes"] == []
    assert state["stays"] == [
        [
            "Managed disk",
            f"{VM_WINDOWS}-data-0",
            f"Disk {VM_WINDOWS}-data-0 is attached to VM {VM_WINDOWS}. Detach it from the VM "
            "(or delete the VM) first.",
        ]
    ]
    assert not dialog.delete_button.isEnabled()
    assert state["status"] == "Nothing selected can be deleted now: see why below."
    dialog.reject()
    qtbot.waitUntil(lambda: not controller.workflows.delete_dialogs)

    # the context menu offers Delete… for a disk, and nothing for a Marketplace publisher
    group = open_path(window, qtbot, "Managed images", RG_LEFT_BEHIND)
    window.tree.setCurrentIndex(
        window.proxy.mapFromSource(child_named(window, group, UNATTACHED_DISK))
    )
    window._tree_menu_for_current()  # the Menu key
    menu = window.tree_menu
    assert menu is not None
    assert "Delete…" in [action.text() for action in menu.actions()]
    menu.close()
    QApplication.processEvents()


def test_a_refused_deletion_is_explained_and_the_rest_goes(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
    session_sandbox: Any,
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    group = open_path(window, qtbot, "Managed images", RG_LEFT_BEHIND)
    names = [UNATTACHED_DISK, CAPTURE_BACKUP_SNAPSHOT]
    _select_rows(window, [child_named(window, group, name) for name in names])
    session_sandbox.faults.add(
        rf"/snapshots/{CAPTURE_BACKUP_SNAPSHOT}$",
        status=403,
        method="DELETE",
        message="The client does not have authorization to perform action "
        "'Microsoft.Compute/snapshots/delete'.",
    )
    try:
        dialog = controller.workflows.delete_selected()
        assert dialog is not None
        qtbot.waitUntil(lambda: dialog.plan is not None, timeout=LOAD_TIMEOUT_MS)
        QTest.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(
            lambda: dialog.run is not None and not dialog.running, timeout=LOAD_TIMEOUT_MS
        )
    finally:
        session_sandbox.faults.clear()
    state = dialog.state()
    assert state["steps"] == ["Done", "Failed"]
    assert state["progress"] == (1, 2)
    assert state["status"].startswith("1 deletion")  # "… failed: the steps say why …"
    failed = dialog.steps.events[f"delete:{child_key(window, group, CAPTURE_BACKUP_SNAPSHOT)}"]
    assert "AuthorizationFailed" in failed.message
    assert "Reader" in failed.advice or "role" in failed.advice  # what to do, from errors.py
    # the disk is gone from the tree, the snapshot stays
    group_key = window.tree_model.node_for(group).ref.key  # type: ignore[union-attr]
    qtbot.waitUntil(
        lambda: UNATTACHED_DISK not in _labels(window, window.tree_model.index_for_key(group_key)),
        timeout=LOAD_TIMEOUT_MS,
    )
    assert CAPTURE_BACKUP_SNAPSHOT in _labels(window, window.tree_model.index_for_key(group_key))
    dialog.reject()


def child_key(window: MainWindow, parent: QModelIndex, label: str) -> str:
    node = window.tree_model.node_for(child_named(window, parent, label))
    assert node is not None
    return node.ref.key

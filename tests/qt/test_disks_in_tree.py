"""Disks and snapshots in the browser (issue 12): beside the managed images of their resource
group, with what they are in the Details column, and their facts in the detail pane."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import NodeKind
from gui.qt.browser.detail_pane import DetailPane
from gui.qt.main_window import MainWindow
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import (
    CAPTURE_BACKUP_SNAPSHOT,
    CAPTURED_VM,
    KEPT_UPLOAD_DISK,
    RG_LEFT_BEHIND,
    RG_VMS,
    VM_WINDOWS,
)
from tests.qt.helpers import AsyncRunner, child_named, open_path, select

pytestmark = pytest.mark.gui


def form(pane: DetailPane) -> dict[str, str]:
    """The detail form as caption → value (the caption without its colon)."""
    rows: dict[str, str] = {}
    for row in range(pane.form.rowCount()):
        caption = pane.form.itemAt(row, pane.form.ItemRole.LabelRole)
        value = pane.form.itemAt(row, pane.form.ItemRole.FieldRole)
        label = caption.widget() if caption is not None else None
        field = value.widget() if value is not None else None
        if isinstance(label, QLabel) and isinstance(field, QLabel):
            rows[label.text().rstrip(":")] = field.text()
    return rows


def disk_rows(window: MainWindow) -> list[list[str]]:
    model = window.detail_pane.disk_model
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_a_kept_upload_disk_and_a_capture_backup_show_what_made_them(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Any, qtmodeltester: Any
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    group = open_path(window, qtbot, "Managed images", RG_LEFT_BEHIND)
    model = window.tree_model
    upload_index = child_named(window, group, KEPT_UPLOAD_DISK)
    details = model.data(upload_index.siblingAtColumn(1))
    assert details.startswith("Kept from an upload with Azure Image Studio · 30 GiB")

    detail = select(window, qtbot, upload_index)
    assert detail.title == KEPT_UPLOAD_DISK
    pane = window.detail_pane
    assert pane.state()["kind"] == "Managed disk"
    rows = form(pane)
    assert rows["Made by"] == "Kept from an upload with Azure Image Studio"
    assert rows["Used by"] == "No VM (not attached)"
    assert rows["Created from"] == "Uploaded" and rows["Disk state"] == "Unattached"
    assert rows["OS type"] == "Linux" and rows["Hyper-V generation"] == "Gen2 (V2)"
    assert "OS state" not in rows  # a disk has no OS state of an image
    assert rows["Resource ID"].endswith(f"/disks/{KEPT_UPLOAD_DISK}")
    assert disk_rows(window) == [["OS disk", "—", "Linux", "—", "30 GiB", "—", "Premium_LRS", "—"]]

    snapshot = select(window, qtbot, child_named(window, group, CAPTURE_BACKUP_SNAPSHOT))
    assert snapshot.title == CAPTURE_BACKUP_SNAPSHOT
    assert pane.state()["kind"] == "Snapshot of a managed disk"
    assert form(pane)["Made by"] == f"Backup of VM {CAPTURED_VM}, taken before its capture"
    # the tree model with disk and snapshot rows in it still keeps Qt's model rules
    qtmodeltester.check(model)


def test_an_attached_data_disk_names_its_vm(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Any
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    group = open_path(window, qtbot, "Managed images", RG_VMS)
    index = child_named(window, group, f"{VM_WINDOWS}-data-1")
    node = window.tree_model.node_for(index)
    assert node is not None and node.kind is NodeKind.DISK
    select(window, qtbot, index)
    rows = form(window.detail_pane)
    assert rows["Used by"] == f"VM {VM_WINDOWS}"
    assert "OS type" not in rows  # a data disk carries no operating system
    assert window.detail_pane.state()["status"] == ""
    # the group's own row says what it holds
    group_details = window.tree_model.data(group.siblingAtColumn(1))
    assert group_details.startswith("Images: 0 · disks: ")

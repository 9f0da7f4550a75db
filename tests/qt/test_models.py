"""Every Qt model passes QAbstractItemModelTester, filled from the sandbox over HTTP."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex
from pytestqt.qtbot import QtBot

from gui.qt.browser.disk_table import DiskTableModel
from gui.qt.main_window import MainWindow
from tests.qt.helpers import child_named, open_node, open_path, select

pytestmark = pytest.mark.gui


def test_catalog_tree_and_search_proxy_pass_the_model_tester(
    connected: MainWindow, qtbot: QtBot, qtmodeltester: object
) -> None:
    window = connected
    open_path(window, qtbot, "Azure Marketplace", "Canonical", "ubuntu-24_04-lts")
    open_node(window, qtbot, child_named(window, QModelIndex(), "My galleries"))
    qtmodeltester.check(window.tree_model, force_py=True)  # type: ignore[attr-defined]
    window.search.setText("ubuntu")
    qtmodeltester.check(window.proxy, force_py=True)  # type: ignore[attr-defined]


def test_disk_table_passes_the_model_tester(
    connected: MainWindow, qtbot: QtBot, qtmodeltester: object
) -> None:
    window = connected
    sku = open_path(
        window, qtbot, "Azure Marketplace", "MicrosoftSQLServer", "sql2022-ws2022", "standard-gen2"
    )
    detail = select(window, qtbot, window.tree_model.index(0, 0, sku))
    model = DiskTableModel()
    model.set_disks(detail.disks)
    assert model.rowCount() == 3
    qtmodeltester.check(model, force_py=True)  # type: ignore[attr-defined]

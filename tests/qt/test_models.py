"""Every Qt model passes QAbstractItemModelTester, filled from the sandbox over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QTimer
from PySide6.QtTest import QAbstractItemModelTester
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import SOURCES, source_node
from gui.qt.browser.disk_table import DiskTableModel
from gui.qt.browser.tree_model import (
    CHUNK_BUDGET_S,
    CHUNK_MAX_ROWS,
    CHUNK_MIN_ROWS,
    CatalogTreeModel,
    LoadState,
    RowKind,
)
from gui.qt.main_window import MainWindow
from tests.qt.helpers import AsyncRunner, child_named, open_node, open_path, select

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


def test_three_thousand_publishers_go_in_chunk_by_chunk_with_the_loop_turning_between(
    connected: MainWindow, qtbot: QtBot, qtlog: Any, run: AsyncRunner
) -> None:
    window = connected
    model = window.tree_model
    # Qt's own testers check every insertion as it happens, in the model and through the proxy
    # (the Python tester re-checks the whole model at each change: too slow for 3,400 rows).
    mode = QAbstractItemModelTester.FailureReportingMode.Warning
    testers = [QAbstractItemModelTester(m, mode) for m in (model, window.proxy)]
    marketplace = child_named(window, QModelIndex(), "Azure Marketplace")
    turns = [0]
    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: turns.__setitem__(0, turns[0] + 1))
    inserted: list[tuple[int, int, int]] = []  # first, last row, loop turn

    def on_inserted(parent: QModelIndex, first: int, last: int) -> None:
        if parent == marketplace:
            inserted.append((first, last, turns[0]))

    model.rowsInserted.connect(on_inserted)
    ticker.start()
    assert open_node(window, qtbot, marketplace) is LoadState.LOADED
    ticker.stop()
    node = model.node_for(marketplace)
    assert node is not None and window.catalog is not None
    expected = [child.label for child in run(window.catalog.children(node))]
    rows = range(model.rowCount(marketplace))
    shown = [model.data(model.index(row, 0, marketplace)) for row in rows]
    assert len(expected) > 3000 and shown == expected
    chunks = [(first, last, turn) for first, last, turn in inserted if first != last or first]
    assert len(chunks) > 3  # the placeholder row first, then the publishers in chunks
    assert [first for first, _, _ in chunks[1:]] == [last + 1 for _, last, _ in chunks[:-1]]
    assert all(last - first < CHUNK_MAX_ROWS for first, last, _ in chunks)
    turn_of = [turn for _, _, turn in chunks]
    assert turn_of == sorted(set(turn_of)), "two chunks went in in one turn of the loop"
    failures = [r.message for r in qtlog.records if "FAIL" in r.message]
    assert testers and failures == []


def test_a_chunk_holds_as_many_rows_as_the_last_pace_allows_in_its_budget(qapp: Any) -> None:
    model = CatalogTreeModel()
    nodes = [source_node(SOURCES[0])] * 5000
    for seconds_per_row, rows in ((0.0, CHUNK_MIN_ROWS), (1e-3, CHUNK_MIN_ROWS),
                                  (CHUNK_BUDGET_S / 250, 250), (1e-7, CHUNK_MAX_ROWS)):
        model._row_seconds = seconds_per_row
        assert model._chunk_end(nodes, 10) == 10 + rows
    assert model._chunk_end(nodes, 4990) == 5000  # the last chunk is what is left


def test_an_unopened_node_has_its_arrow_and_says_loading_once_opened(qapp: Any) -> None:
    model = CatalogTreeModel()
    model.set_source([source_node(source) for source in SOURCES], None, None)
    marketplace = model.index(0, 0)
    assert model.hasChildren(marketplace)  # the view draws the arrow
    first = model.index(0, 0, marketplace)
    assert model.row_kind(first) is RowKind.LOADING and model.node_for(first) is None
    model.ensure_loaded(marketplace)  # opened before any connection: nothing to list yet
    assert model.data(model.index(0, 0, marketplace)) == "Loading…"
    assert model.row_kind(model.index(0, 0, marketplace)) is RowKind.LOADING

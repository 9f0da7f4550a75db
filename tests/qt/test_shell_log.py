"""The log dock: every Azure operation with its ids, filter, save, clear, bounded."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from gui.azure.account.oplog import resource_path
from gui.qt import log_dock
from gui.qt.main_window import MainWindow
from tests.qt.helpers import LOAD_TIMEOUT_MS, child_named, open_node

pytestmark = pytest.mark.gui

REQUEST_ID = re.compile(r"x-ms-request-id ([0-9a-f-]{36})")


def operation_lines(window: MainWindow) -> list[str]:
    return [line for line in window.log_dock.lines() if "gui.azure.operations" in line]


def test_every_azure_operation_is_in_the_log_with_its_ids(
    connected: MainWindow, qtbot: QtBot, sandbox: Any
) -> None:
    window = connected
    qtbot.waitUntil(lambda: len(operation_lines(window)) >= 2, timeout=LOAD_TIMEOUT_MS)
    lines = operation_lines(window)
    subscriptions = [line for line in lines if "GET /subscriptions HTTP 200 in " in line]
    assert subscriptions, lines
    assert REQUEST_ID.search(subscriptions[0])  # Azure's id, to find it in Azure's logs
    assert re.search(r"x-ms-client-request-id [0-9a-f-]{36}", subscriptions[0])
    assert all("api-version" not in line and "?" not in line for line in lines)  # no query

    sandbox.faults.add(r"/providers/Microsoft\.Compute/images$", status=403, times=1)
    try:
        managed = child_named(window, QModelIndex(), "Managed images")
        open_node(window, qtbot, managed)
    finally:
        sandbox.faults.clear()
    qtbot.waitUntil(
        lambda: any("failed: HTTP 403" in line for line in operation_lines(window)),
        timeout=LOAD_TIMEOUT_MS,
    )
    failed = next(line for line in operation_lines(window) if "failed: HTTP 403" in line)
    assert "WARNING" in failed and "/providers/Microsoft.Compute/images" in failed


def test_filter_save_and_clear(
    connected: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    dock = connected.log_dock
    qtbot.waitUntil(lambda: len(operation_lines(connected)) >= 2, timeout=LOAD_TIMEOUT_MS)
    first = operation_lines(connected)[0]
    match = REQUEST_ID.search(first)
    assert match is not None
    dock.show()
    QTest.keyClicks(dock.filter_edit, match.group(1).upper())  # case does not matter
    assert dock.shown_lines() == [first]
    qtbot.waitUntil(lambda: dock.view.toPlainText() == first)  # once the typing pauses

    saved = tmp_path / "log.txt"
    assert dock.save_to(saved)
    assert saved.read_text(encoding="utf-8") == first + "\n"

    dock.filter_edit.clear()
    assert len(dock.shown_lines()) > 1
    dock.clear_button.click()
    assert dock.lines() == [] and dock.view.toPlainText() == ""

    assert not dock.save_to(tmp_path / "no-such-folder" / "log.txt")  # says why, no traceback
    box = dock.findChild(QMessageBox, "logSaveFailed")
    assert box is not None and "Choose another folder" in box.text()
    box.close()


def test_the_log_keeps_the_newest_lines_only(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_dock, "MAX_LINES", 50)
    dock = log_dock.LogDock(window)
    try:
        logger = logging.getLogger("gui.test.shell")
        logger.setLevel(logging.INFO)
        for number in range(120):
            logger.info("line %d", number)
        qtbot.waitUntil(lambda: bool(dock.lines()) and dock.lines()[-1].endswith("line 119"))
        kept = dock.lines()
        assert len(kept) == 50
        assert kept[0].endswith("line 70")
        assert dock.view.blockCount() == 50
    finally:
        dock.detach()
        dock.deleteLater()


def test_a_secret_never_reaches_the_logged_path() -> None:
    assert resource_path("https://acct.blob.core.windows.net/c/b.vhd?sv=1&sig=abc%2Bdef") == (
        "/c/b.vhd"
    )
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"
    assert token not in resource_path(f"https://management.azure.com/x/{token}/y")

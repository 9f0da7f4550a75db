"""The Transfers panel after a restart: an upload an earlier run left unfinished, as its plan file
and the engine's resume journal hold it (written by the real classes, from a qemu-img disk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from gui.azure.image_builder import DiskFacts
from gui.azure.upload.job import JobStatus, ManagedDiskTargetPlan, PlanStore, UploadPlan
from gui.azure.upload.managed_disk import ManagedDiskSpec, ManagedDiskTarget
from gui.azure.upload.runner import SUSPENDED_TEXT
from gui.diskimage import open_image
from gui.paths import journal_dir
from gui.qt.transfers.dock import TransfersDock
from gui.qt.transfers.model import (
    FILE,
    PROGRESS,
    STATE,
    TARGET,
    Status,
    Transfer,
    TransferManager,
)
from gui.transfer.journal import Journal
from gui.transfer.plan import WINDOW_SIZE
from gui.transfer.source import SourceIdentity

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
GROUP = "rg-images-prod"
DISK = "disk-ubuntu-2204-generalized-from-the-build-pipeline"


def left_unfinished(home: Path, disk_images: Any, windows_sent: int) -> UploadPlan:
    """What a quit in the middle of a disk upload leaves: the plan (interrupted) and the
    engine's journal with ``windows_sent`` windows confirmed."""
    made = disk_images.make("raw", 4 * WINDOW_SIZE, [(0, b"\x5a" * (4 * WINDOW_SIZE))])
    plan = UploadPlan(
        source_path=str(made.path),
        facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
        target=ManagedDiskTargetPlan(
            SUBSCRIPTION, ManagedDiskSpec(GROUP, DISK, "westeurope", os_type="Linux")
        ),
        status=JobStatus.INTERRUPTED,
        last_error=SUSPENDED_TEXT,
    )
    PlanStore(journal_dir()).save(plan)
    disk_id = (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{GROUP}/providers/Microsoft.Compute/"
        f"disks/{DISK}"
    )
    target = ManagedDiskTarget(
        "https://md-abc.z1.blob.storage.azure.net/abcd/abcd", None,
        kind=ManagedDiskTarget.kind, identity=disk_id,
    )
    image = open_image(made.path)
    try:
        identity = SourceIdentity.of(image)
    finally:
        image.close()
    journal = Journal(
        Journal.path_for(journal_dir(), target.key), target.key, target.describe(), identity,
        WINDOW_SIZE,
    )
    for index in range(windows_sent):
        journal.mark_window(index)
    journal.save()
    return plan


@pytest.fixture
def panel(qtbot: QtBot, home: Path, disk_images: Any) -> tuple[TransfersDock, Transfer]:
    """The panel as the next start shows it: made first, then the unfinished uploads loaded
    (the window's order)."""
    left_unfinished(home, disk_images, windows_sent=2)
    manager = TransferManager()
    dock = TransfersDock(manager)
    qtbot.addWidget(dock)
    dock.resize(1100, 260)
    dock.show()
    qtbot.waitExposed(dock)
    (run,) = manager.load_unfinished()
    assert isinstance(run, Transfer)  # an upload's run
    return dock, run


def test_an_interrupted_row_offers_resume_and_remove_not_cancel(
    panel: tuple[TransfersDock, Transfer],
) -> None:
    dock, run = panel
    assert run.status is Status.INTERRUPTED
    assert dock.selected() is run
    assert dock.resume_button.isEnabled()
    assert not dock.cancel_button.isEnabled()
    assert not dock.pause_button.isEnabled()
    assert dock.remove_button.isEnabled()


def test_an_interrupted_row_shows_what_was_already_sent(
    panel: tuple[TransfersDock, Transfer],
) -> None:
    dock, run = panel
    model = dock.manager.model
    # Two of four windows confirmed: half the data; the disk and its access were done first.
    assert run.data_fraction == pytest.approx(2 * WINDOW_SIZE / (4 * WINDOW_SIZE + 512), rel=1e-3)
    percent = model.data(model.index(0, PROGRESS))
    assert percent == int(run.fraction * 100)
    assert 40 <= percent < 100
    tip = model.data(model.index(0, PROGRESS), Qt.ItemDataRole.ToolTipRole)
    assert "data 49.9 %" in tip
    state = model.data(model.index(0, STATE))
    assert state.startswith("Interrupted: Paused when the app closed")


def test_file_and_target_get_room_and_elide_in_the_middle_with_the_full_text_as_tooltip(
    panel: tuple[TransfersDock, Transfer],
) -> None:
    dock, run = panel
    table, model = dock.table, dock.manager.model
    metrics = table.fontMetrics()
    assert table.textElideMode() is Qt.TextElideMode.ElideMiddle
    # Room for a file name and the start of a target, not "d…".
    assert table.columnWidth(FILE) >= metrics.horizontalAdvance(run.title)
    assert table.columnWidth(TARGET) >= 30 * metrics.averageCharWidth()
    target = model.data(model.index(0, TARGET))
    assert DISK in target
    assert model.data(model.index(0, TARGET), Qt.ItemDataRole.ToolTipRole) == target
    file_tip = model.data(model.index(0, FILE), Qt.ItemDataRole.ToolTipRole)
    assert file_tip.startswith(run.plan.source_path + "\nStarted ")


def test_tab_leaves_the_table_and_enter_starts_nothing(
    qtbot: QtBot, panel: tuple[TransfersDock, Transfer]
) -> None:
    dock, run = panel
    table = dock.table
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    QTest.keyClick(table, Qt.Key.Key_Return)
    QTest.keyClick(table, Qt.Key.Key_Enter)
    assert run.status is Status.INTERRUPTED and run.task is None
    assert dock.manager.model.rowCount() == 1
    QTest.keyClick(table, Qt.Key.Key_Tab)
    assert not table.hasFocus()


def test_delete_asks_before_an_unfinished_upload_is_forgotten(
    qtbot: QtBot, panel: tuple[TransfersDock, Transfer]
) -> None:
    dock, run = panel
    plans = journal_dir() / "plans"
    table = dock.table
    table.setFocus()
    QTest.keyClick(table, Qt.Key.Key_Delete)
    box = dock.findChild(QMessageBox, "removeUploadBox")
    assert isinstance(box, QMessageBox)
    qtbot.waitUntil(box.isVisible)
    assert run.title in box.text()
    assert dock.manager.model.rowCount() == 1  # nothing gone before the answer
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert dock.manager.model.rowCount() == 1 and list(plans.glob("*.json"))
    QTest.keyClick(table, Qt.Key.Key_Delete)
    box = dock.findChild(QMessageBox, "removeUploadBox")
    assert isinstance(box, QMessageBox)
    confirm = box.findChild(QPushButton, "confirmRemove")
    assert isinstance(confirm, QPushButton)
    confirm.click()
    assert dock.manager.model.rowCount() == 0
    assert not list(plans.glob("*.json"))


# A popup menu on the offscreen platform: it cannot raise it or grab the keyboard for it.
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_the_menu_key_opens_the_row_actions(
    qtbot: QtBot, panel: tuple[TransfersDock, Transfer]
) -> None:
    dock, _run = panel
    table = dock.table
    table.setFocus()
    table.setCurrentIndex(dock.manager.model.index(0, FILE))
    # The keyboard's menu event, at a point below the only row: the current row is meant.
    viewport = table.viewport()
    below = QPoint(5, viewport.height() - 5)
    assert not table.indexAt(below).isValid()
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Keyboard, below, viewport.mapToGlobal(below)
    )
    QApplication.sendEvent(viewport, event)
    menu = next(
        (w for w in QApplication.topLevelWidgets() if isinstance(w, QMenu) and w.isVisible()),
        None,
    )
    assert menu is not None
    enabled = {action.text(): action.isEnabled() for action in menu.actions()}
    assert enabled == {
        "&Pause": False,
        "&Resume": True,
        "&Cancel upload": False,
        "Re&move": True,
    }
    menu.close()

"""Edit → Settings: opened with Ctrl+, and saved with OK, each setting reaches what it governs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from gui.paths import cache_dir, data_dir
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.settings import Settings
from gui.qt.settings_dialog import SettingsDialog
from tests.qt.helpers import AsyncRunner, child_named, make_settings, open_path

pytestmark = pytest.mark.gui


def open_dialog(controller: AppController, qtbot: QtBot) -> SettingsDialog:
    window = controller.window
    window.show()
    qtbot.waitExposed(window)
    QTest.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: controller.settings_dialog is not None, timeout=3000)
    dialog = controller.settings_dialog
    assert isinstance(dialog, SettingsDialog)
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    return dialog


def press_ok(dialog: SettingsDialog) -> None:
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def test_ctrl_comma_opens_the_settings_and_ok_applies_them_at_once(
    controller: AppController, qtbot: QtBot, home: Path
) -> None:
    dialog = open_dialog(controller, qtbot)
    assert dialog.concurrency_spin.value() == 8  # the declared default
    assert dialog.cap_spin.text() == "No limit"
    assert dialog.delete_partial.isChecked()
    dialog.concurrency_spin.setValue(3)
    dialog.cap_spin.setValue(80)  # Mbit/s
    dialog.delete_partial.setChecked(False)
    dialog.age_spin.setValue(30)
    dialog.group_edit.setText("rg-golden")
    dialog.sku_box.setCurrentText("Premium_LRS")
    dialog.language_box.setCurrentIndex(dialog.language_box.findData("de"))
    press_ok(dialog)
    qtbot.waitUntil(lambda: controller.settings_dialog is None, timeout=3000)

    prefs = controller.transfers.preferences
    assert prefs.concurrency == 3
    assert prefs.bandwidth.rate == 10_000_000  # 80 Mbit/s in bytes per second
    assert prefs.delete_partial_disk is False
    assert controller.window.tree_model.max_age_seconds == 30 * 60
    # Saved for the next start, in the test's own settings file.
    again = make_settings(home)
    assert (again.upload_concurrency, again.bandwidth_cap_mbps) == (3, 80)
    assert (again.default_resource_group, again.default_disk_sku) == ("rg-golden", "Premium_LRS")
    assert again.language == "de"


def test_cancel_changes_nothing_and_restore_defaults_resets_the_fields(
    controller: AppController, qtbot: QtBot, home: Path
) -> None:
    controller.settings.upload_concurrency = 5
    dialog = open_dialog(controller, qtbot)
    assert dialog.concurrency_spin.value() == 5
    dialog.cap_spin.setValue(10)
    dialog.restore_defaults()
    assert dialog.concurrency_spin.value() == Settings.upload_concurrency.default
    assert dialog.cap_spin.value() == 0
    dialog.concurrency_spin.setValue(12)
    dialog.reject()
    qtbot.waitUntil(lambda: controller.settings_dialog is None, timeout=3000)
    assert make_settings(home).upload_concurrency == 5
    assert controller.transfers.preferences.bandwidth.rate is None


def test_the_data_folder_is_shown_and_every_field_has_a_label(
    controller: AppController, qtbot: QtBot
) -> None:
    dialog = open_dialog(controller, qtbot)
    assert Path(dialog.data_path.text()) == data_dir()
    for field in (dialog.language_box, dialog.concurrency_spin, dialog.cap_spin,
                  dialog.age_spin, dialog.method_box, dialog.cloud_box, dialog.group_edit):
        assert field.accessibleName(), field.objectName()
    dialog.reject()


def test_clear_the_cache_forgets_every_listing(
    connected: MainWindow, controller: AppController, qtbot: QtBot
) -> None:
    window = connected
    open_path(window, qtbot, "Azure Marketplace", "Canonical")
    window.tree_model.listings.store.flush()  # type: ignore[union-attr]
    assert list(cache_dir().glob("catalog-*.json"))
    dialog = open_dialog(controller, qtbot)
    dialog.clear_button.click()
    assert "Cleared" in dialog.cleared_note.text()
    assert not list(cache_dir().glob("catalog-*.json"))
    marketplace = child_named(window, QModelIndex(), "Azure Marketplace")
    assert window.tree_model.listings.cached_children(
        window.tree_model.node_for(marketplace).ref) is None  # type: ignore[union-attr]
    dialog.reject()


@pytest.mark.parametrize(("minutes", "asked_again"), [(0, True), (60, False)])
def test_cached_listings_younger_than_the_set_age_are_not_asked_again(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, sandbox: Any, home: Path,
    new_session: Any, minutes: int, asked_again: bool,
) -> None:
    run(window.use_session(new_session()))
    open_path(window, qtbot, "Azure Marketplace")
    window.close()

    settings = make_settings(home)
    settings.cache_max_age_minutes = minutes
    second = AppController(settings)
    qtbot.addWidget(second.window)
    # Azure now refuses the publishers: a listing asked again shows the refusal on the node.
    sandbox.faults.add(r"/locations/[^/]+/publishers$", status=403, message="Not today.")
    try:
        run(second.window.use_session(new_session()))
        second.window.show()
        marketplace = child_named(second.window, QModelIndex(), "Azure Marketplace")
        second.window.tree.expand(second.window.proxy.mapFromSource(marketplace))

        def tip() -> str:
            return str(second.window.tree_model.data(marketplace, Qt.ItemDataRole.ToolTipRole))

        if asked_again:
            qtbot.waitUntil(lambda: "Could not refresh" in tip(), timeout=10_000)
        else:
            qtbot.wait(1500)
            assert tip().startswith("Listed ") and tip().endswith("(from the cache)")
    finally:
        sandbox.faults.clear()
    assert second.window.tree_model.rowCount(marketplace) >= 3000  # shown from the cache
    second.window.cancel_tasks()

"""The main window's frame: toolbar, keyboard, status bar, context menu, layout, new images."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import NodeRef, SourceKind
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import RG_VMS, VM_LINUX
from gui.sandbox.seed.world import IMAGE_OS_ONLY, RG_IMAGES
from tests.qt.helpers import (
    LOAD_TIMEOUT_MS,
    AsyncRunner,
    child_named,
    make_settings,
    open_node,
    open_path,
    select,
)

pytestmark = pytest.mark.gui

MIB = 1024 * 1024


@pytest.fixture
def session_sandbox(fresh_sandbox: Any) -> Any:
    """A sandbox of this module's tests' own: they make images and generalize a VM."""
    fresh_sandbox.lro_seconds = 0.05
    return fresh_sandbox


def on_toolbar(window: MainWindow, widget: QWidget) -> bool:
    """Shown in the toolbar itself, not hidden in its overflow menu."""
    bar = window.main_toolbar
    if not widget.isVisible() or widget.parentWidget() is not bar:
        return False
    return bar.rect().contains(widget.geometry())


def test_at_900_by_600_both_scope_boxes_stay_on_the_toolbar(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    for width in (900, 760):
        window.resize(width, 600)
        qtbot.waitUntil(lambda w=width: window.width() == w)  # type: ignore[misc]
        QApplication.processEvents()
        assert on_toolbar(window, window.subscription_box), width
        assert on_toolbar(window, window.location_box), width
        window.grab().save(str(tmp_path / f"window-{width}.png"))  # looked at by hand
    window.resize(1400, 900)
    QApplication.processEvents()
    assert window.main_toolbar.toolButtonStyle() is Qt.ToolButtonStyle.ToolButtonTextBesideIcon


def test_keyboard_reaches_the_scope_boxes_and_tab_walks_the_window(
    window: MainWindow, qtbot: QtBot
) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    assert window.subscription_box.accessibleName() == "Subscription"
    assert window.location_box.accessibleName() == "Location"
    assert window.search.accessibleName() and window.tree.accessibleName()
    assert window.search_label.buddy() is window.search
    assert window.tree_label.buddy() is window.tree
    assert "Alt+B" in window.subscription_box.toolTip()
    assert "Alt+L" in window.location_box.toolTip()

    QTest.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is window.location_box
    QTest.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is window.subscription_box

    walked: list[QWidget] = []
    for _ in range(18):
        focus = QApplication.focusWidget()
        assert focus is not None
        QTest.keyClick(focus, Qt.Key.Key_Tab)
        focus_after = QApplication.focusWidget()
        assert focus_after is not None
        walked.append(focus_after)
    panel = window.search_panel  # the search box and its filters, then the loaded-node filter
    assert walked[:8] == [window.location_box, panel.box, *panel.switches, window.search,
                          window.tree]
    assert window.detail_pane.isAncestorOf(walked[8])
    assert all(a is not b for a, b in itertools.pairwise(walked))  # never stuck
    assert window.subscription_box in walked  # and round again


def opened_menu(window: MainWindow) -> QMenu | None:
    """The context menu the window opened (read through a call: mypy keeps the None it was
    set to before the key press)."""
    return window.tree_menu


@pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no raise(), no grab
def test_the_context_menu_opens_from_the_keyboard_with_one_refresh(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    managed = child_named(window, QModelIndex(), "Managed images")
    window.tree.setCurrentIndex(window.proxy.mapFromSource(managed))
    window.tree.setFocus()
    for key, modifier in (
        (Qt.Key.Key_Menu, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier),
    ):
        window.tree_menu = None
        QTest.keyClick(window.tree, key, modifier)
        menu = opened_menu(window)
        assert menu is not None and menu.isVisible(), key
        texts = [action.text() for action in menu.actions() if not action.isSeparator()]
        assert texts.count("&Refresh") == 1 and "Refresh" not in texts, texts
        assert "Copy name" in texts
        menu.close()

    # A right-click on another row: that row's menu, and it becomes the current node.
    source = child_named(window, QModelIndex(), "Azure Marketplace")
    marketplace = window.proxy.mapFromSource(source)
    point = window.tree.visualRect(marketplace).center()
    QApplication.sendEvent(
        window.tree.viewport(),
        QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, window.tree.mapToGlobal(point)),
    )
    assert window.tree.currentIndex() == marketplace
    assert window.tree_menu is not None
    texts = [action.text() for action in window.tree_menu.actions() if not action.isSeparator()]
    assert texts.count("&Refresh") == 1, texts
    window.tree_menu.close()


@pytest.mark.qt_log_ignore("This plugin does not support")
def test_rooms_add_their_actions_for_the_selected_nodes_to_the_context_menu(
    connected: MainWindow,
) -> None:
    window = connected
    seen: list[list[str]] = []

    def provider(menu: QMenu, nodes: list[Any]) -> None:
        seen.append([node.ref.key for node in nodes])
        menu.addAction("Room action")

    window.add_node_actions(provider)
    managed = child_named(window, QModelIndex(), "Managed images")
    window.tree.setCurrentIndex(window.proxy.mapFromSource(managed))
    window.tree.setFocus()
    QTest.keyClick(window.tree, Qt.Key.Key_Menu)
    menu = opened_menu(window)
    assert menu is not None
    assert seen == [["managed"]]
    assert "Room action" in [action.text() for action in menu.actions()]
    menu.close()

    # Two rows selected with Ctrl+click; a right-click on one of them keeps both.
    top = child_named(window, QModelIndex(), "Azure Marketplace")
    marketplace = window.proxy.mapFromSource(top)
    for index, modifier in (
        (window.proxy.mapFromSource(managed), Qt.KeyboardModifier.NoModifier),
        (marketplace, Qt.KeyboardModifier.ControlModifier),
    ):
        QTest.mouseClick(
            window.tree.viewport(), Qt.MouseButton.LeftButton, modifier,
            window.tree.visualRect(index).center(),
        )
    point = window.tree.visualRect(window.proxy.mapFromSource(managed)).center()
    QApplication.sendEvent(
        window.tree.viewport(),
        QContextMenuEvent(QContextMenuEvent.Reason.Mouse, point, window.tree.mapToGlobal(point)),
    )
    assert seen[-1] == ["marketplace", "managed"]
    assert window.tree_menu is not None
    window.tree_menu.close()


def test_a_long_status_message_is_elided_and_the_account_keeps_its_width(
    window: MainWindow,
) -> None:
    window.account_label.setText("administrator.with.a.long.name@contoso.onmicrosoft.com")
    window.resize(900, 600)
    QApplication.processEvents()
    needed = window.account_label.sizeHint().width()
    window.statusBar().showMessage("A long message that goes on " * 20)
    QApplication.processEvents()
    assert window.account_label.width() >= needed
    shown = window.status_message.text()
    assert shown.endswith("…") and len(shown) < len(window.statusBar().currentMessage())
    assert window.status_message.fontMetrics().horizontalAdvance(shown) <= (
        window.status_message.contentsRect().width()
    )
    assert window.status_message.geometry().right() < window.account_label.geometry().left()
    assert window.status_message.toolTip() == window.statusBar().currentMessage()


def test_a_failed_listing_is_named_by_its_label_in_the_status_bar(
    connected: MainWindow, qtbot: QtBot, session_sandbox: Any
) -> None:
    window = connected
    session_sandbox.faults.add(r"/providers/Microsoft\.Compute/images$", status=403, times=1)
    managed = child_named(window, QModelIndex(), "Managed images")
    open_node(window, qtbot, managed)
    message = window.statusBar().currentMessage()
    assert message.startswith("Could not list Managed images: "), message
    assert "managed:" not in message


def test_the_disk_table_keeps_its_height_after_a_close_with_nothing_selected(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Callable[[], Any], home: Path
) -> None:
    window.resize(780, 580)
    QApplication.processEvents()
    assert window.detail_pane.detail is None  # nothing selected: the disk table is hidden
    window.close()

    again = AppController(make_settings(home)).window
    qtbot.addWidget(again)
    again.resize(780, 580)
    again.show()
    again.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(again.use_session(new_session()))
    group = open_path(again, qtbot, "Managed images", RG_IMAGES)
    select(again, qtbot, child_named(again, group, IMAGE_OS_ONLY))
    QApplication.processEvents()
    table_part = again.detail_pane.disks_box.height()
    assert table_part >= again.detail_pane.splitter.height() * 0.3, (
        again.detail_pane.splitter.sizes()
    )
    again.cancel_tasks()


def test_a_new_image_in_a_branch_not_opened_is_listed_afresh_and_selected(
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], Any],
    home: Path,
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    open_path(window, qtbot, "Managed images", RG_IMAGES)  # the listing is kept in the cache
    window.close()

    compute = new_session().compute(PRODUCTION_SUBSCRIPTION_ID)
    body = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux",
            "hyperVGeneration": "V2",
            "diskSizeGB": 4,
            "creationData": {"createOption": "Empty"},
        },
    }
    disk = run((run(compute.disks.begin_create_or_update(RG_IMAGES, "disk-shell", body))).result())
    image = {
        "location": "westeurope",
        "properties": {
            "storageProfile": {
                "osDisk": {
                    "osType": "Linux",
                    "osState": "Generalized",
                    "managedDisk": {"id": disk.id},
                }
            }
        },
    }
    run((run(compute.images.begin_create_or_update(RG_IMAGES, "img-shell-new", image))).result())

    again = AppController(make_settings(home)).window
    qtbot.addWidget(again)
    again.show()
    run(again.use_session(new_session()))  # the tree shows the cached (old) listing
    ref = NodeRef(SourceKind.MANAGED, (RG_IMAGES, "img-shell-new"))
    again.image_ready(ref)
    qtbot.waitUntil(
        lambda: again.current_node() is not None and again.current_node().ref == ref,  # type: ignore[union-attr]
        timeout=LOAD_TIMEOUT_MS,
    )
    qtbot.waitUntil(
        lambda: again.detail_pane.detail is not None and again.detail_pane.detail.ref == ref,
        timeout=LOAD_TIMEOUT_MS,
    )
    again.cancel_tasks()


def test_a_captured_vm_is_listed_again(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Callable[[], Any]
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    vms = open_path(window, qtbot, "Virtual machines")
    row = child_named(window, vms, VM_LINUX)
    assert "running" in str(window.tree_model.data(row.siblingAtColumn(1))).lower()
    select(window, qtbot, row)

    compute = new_session().compute(PRODUCTION_SUBSCRIPTION_ID)
    run((run(compute.virtual_machines.begin_deallocate(RG_VMS, VM_LINUX))).result())
    run(compute.virtual_machines.generalize(RG_VMS, VM_LINUX))
    vm = run(compute.virtual_machines.get(RG_VMS, VM_LINUX))

    window.vm_changed(vm.id)

    def listed_again() -> bool:
        vms = window.tree_model.index_for_key(NodeRef(SourceKind.VMS).key)
        node = window.tree_model.node_for(child_named(window, vms, VM_LINUX))
        return node is not None and "running" not in str(node.summary).lower()

    qtbot.waitUntil(listed_again, timeout=LOAD_TIMEOUT_MS)
    # What the row shows follows too (its Details cell said "running" until a manual refresh).
    vms = window.tree_model.index_for_key(NodeRef(SourceKind.VMS).key)
    row = child_named(window, vms, VM_LINUX)
    assert "running" not in str(window.tree_model.data(row.siblingAtColumn(1))).lower()
    qtbot.waitUntil(
        lambda: window.detail_pane.detail is not None
        and "running" not in str(dict(window.detail_pane.detail.properties)).lower(),
        timeout=LOAD_TIMEOUT_MS,
    )


def test_the_transfers_panel_comes_to_the_front_when_an_upload_starts(
    controller: AppController,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], Any],
    disk_images: Any,
) -> None:
    window = controller.window
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    window.log_dock.show()
    window.log_dock.raise_()
    qtbot.waitUntil(lambda: not window.log_dock.visibleRegion().isEmpty())
    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))])
    controller.workflows.open_upload_wizard(made.path)
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    page = wizard.file_page
    page.os_box.setCurrentText("Linux")
    page.generation_box.setCurrentIndex(page.generation_box.findData("V2"))
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    wizard.next()
    target = wizard.target_page
    target.group_box.setCurrentText(RG_IMAGES)
    target.disk_name.setText("disk-shell-transfers")
    qtbot.waitUntil(target.isComplete, timeout=5000)
    wizard.next()  # then what: nothing more
    wizard.next()  # review
    wizard.next()  # the upload starts
    assert wizard.transfer is not None
    qtbot.waitUntil(lambda: not window.transfers_dock.visibleRegion().isEmpty(), timeout=5000)
    assert window.log_dock.visibleRegion().isEmpty()  # behind, as a tab
    qtbot.waitUntil(lambda: not wizard.transfer.status.active, timeout=60_000)
    wizard.accept()

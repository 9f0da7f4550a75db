"""The tree's hand-offs (issue 12) in the window on the sandbox: Copy as az CLI and Copy as
Bicep for the selected image put the text made from its detail on the clipboard; the portal
entry says why the sandbox's images have no page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.qt.main_window import MainWindow
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_IMAGE_SECURE, GALLERY_PROD
from tests.qt.helpers import AsyncRunner, open_path, select

pytestmark = pytest.mark.gui


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


def _close_menu(window: MainWindow) -> None:
    menu = window.tree_menu
    assert menu is not None
    menu.close()


def _action(menu: QMenu, name: str) -> object:
    found = [a for a in menu.actions() if a.objectName() == name]
    assert found, [a.text() for a in menu.actions()]
    return found[0]


@pytest.mark.qt_log_ignore("This plugin does not support")
def test_a_plan_image_is_copied_as_az_cli_and_bicep_with_its_plan(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    sku = open_path(
        window, qtbot, "Azure Marketplace", "RedHat", "rhel-byos", "rhel-lvm94-gen2"
    )
    version = window.tree_model.index(0, 0, sku)
    detail = select(window, qtbot, version)
    assert detail.plan is not None

    menu = _menu_of_current(window)
    _action(menu, "copyAsAzCli").trigger()  # type: ignore[attr-defined]
    menu.close()
    text = QGuiApplication.clipboard().text()
    assert text.startswith("az vm image terms accept")
    assert ":".join(detail.ref.parts) in text and "az vm create" in text

    menu = _menu_of_current(window)
    _action(menu, "copyAsBicep").trigger()  # type: ignore[attr-defined]
    menu.close()
    bicep = QGuiApplication.clipboard().text()
    assert "product: 'rhel-byos'" in bicep and "resource vm 'Microsoft.Compute" in bicep

    menu = _menu_of_current(window)
    assert _action(menu, "openInPortal").text() == "Open in Azure &Marketplace"  # type: ignore[attr-defined]
    _action(menu, "openInPortal").trigger()  # type: ignore[attr-defined]
    menu.close()
    assert "sandbox" in window.statusBar().currentMessage()


@pytest.mark.qt_log_ignore("This plugin does not support")
def test_hand_offs_only_for_one_image(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Callable[[], AzureSession]
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    definition = open_path(window, qtbot, "My galleries", GALLERY_PROD, GALLERY_IMAGE_SECURE)
    first = window.tree_model.index(0, 0, definition)
    select(window, qtbot, first)
    names = [a.objectName() for a in _menu_of_current(window).actions()]
    assert {"copyAsAzCli", "copyAsBicep", "openInPortal"} <= set(names)
    _close_menu(window)

    # A definition (not an image) offers none; nor do two versions at once.
    window.tree.setCurrentIndex(window.proxy.mapFromSource(definition))
    names = [a.objectName() for a in _menu_of_current(window).actions()]
    assert "copyAsAzCli" not in names
    _close_menu(window)
    second = window.tree_model.index(1, 0, definition)
    selection = window.tree.selectionModel()
    selection.clearSelection()
    for index in (first, second):
        selection.select(
            window.proxy.mapFromSource(index), QItemSelectionModel.SelectionFlag.Select
        )
    assert len(window.selected_nodes()) == 2
    names = [a.objectName() for a in _menu_of_current(window).actions()]
    assert "copyAsAzCli" not in names
    _close_menu(window)

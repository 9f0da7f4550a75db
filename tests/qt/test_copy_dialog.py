"""Copy to… from the tree (issue 13): a gallery image version's context menu offers it, the
dialog copies the version into the second tenant's gallery as steps, and the sandbox holds the
new version; what the dialog cannot use is said before anything is sent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtWidgets import QLabel, QMenu
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.qt.copy.dialog import CopyActions, CopyDialog
from gui.qt.main_window import MainWindow
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PARTNER_SUBSCRIPTION_ID, PARTNER_TENANT_ID, PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import (
    GALLERY_IMAGE_SECURE,
    GALLERY_PARTNER,
    GALLERY_PROD,
    IMAGE_OS_ONLY,
    PARTNER_IMAGE_UBUNTU,
    RG_PARTNER,
)
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner, child_named, open_path

pytestmark = pytest.mark.gui

TARGET = (
    f"/subscriptions/{PARTNER_SUBSCRIPTION_ID}/resourceGroups/{RG_PARTNER}/providers/"
    f"Microsoft.Compute/galleries/{GALLERY_PARTNER}/images/{PARTNER_IMAGE_UBUNTU}"
)


@pytest.fixture
def session_sandbox(fresh_sandbox: SandboxServer) -> SandboxServer:
    """A sandbox of this module's own: its tests add versions."""
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.3
    return fresh_sandbox


def _actions(window: MainWindow, session: AzureSession) -> CopyActions:
    # What the app controller does (its registration is the lead's: see the report).
    actions = CopyActions(window)
    window.add_node_actions(actions.node_actions)
    actions.connected(session)
    return actions


def _select(window: MainWindow, qtbot: QtBot, *labels: str) -> None:
    *parents, last = labels
    parent = open_path(window, qtbot, *parents)
    index = child_named(window, parent, last)
    window.tree.setCurrentIndex(window.proxy.mapFromSource(index))


def test_a_version_is_copied_into_another_tenant_from_the_context_menu(
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
    session_sandbox: SandboxServer,
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    session = new_session()
    run(window.use_session(session))
    actions = _actions(window, session)
    _select(window, qtbot, "My galleries", GALLERY_PROD, GALLERY_IMAGE_SECURE, "1.2.0")
    menu = QMenu()
    actions.node_actions(menu, window.selected_nodes())
    assert [a.text() for a in menu.actions()] == ["Copy to…"]
    dialog = actions.copy_selected()
    assert isinstance(dialog, CopyDialog)
    assert dialog.version.text() == "1.2.0"
    assert dialog.definition.accessibleName() and dialog.tenant.accessibleName()
    buddies = {
        label.buddy() for label in dialog.findChildren(QLabel) if label.buddy() is not None
    }
    assert {dialog.definition, dialog.version, dialog.tenant} <= buddies
    dialog.definition.setText(TARGET)
    dialog.tenant.setText(PARTNER_TENANT_ID)
    with qtbot.waitSignal(dialog.copied, timeout=LOAD_TIMEOUT_MS) as copied:
        dialog.start_button.click()
    assert copied.args == [f"{TARGET}/versions/1.2.0"]
    assert dialog.steps.states() == ["Done", "Done", "Done"]
    assert dialog.status.text() == f"Copied: {TARGET}/versions/1.2.0"
    stored: Any = session_sandbox.world.store.get(f"{TARGET}/versions/1.2.0")
    assert stored is not None and stored["properties"]["provisioningState"] == "Succeeded"
    dialog.close()


def test_what_the_dialog_cannot_use_is_said_before_anything_is_sent(
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    session = new_session()
    run(window.use_session(session))
    actions = _actions(window, session)
    _select(window, qtbot, "Managed images", "rg-images-prod", IMAGE_OS_ONLY)
    dialog = actions.copy_selected()
    assert dialog is not None
    assert dialog.region.isVisibleTo(dialog) and not dialog.definition.isVisibleTo(dialog)
    dialog.region.setEditText("East US!")
    dialog.start_button.click()
    assert dialog.problem.text() == "Pick the target region."
    assert dialog.start_button.isEnabled()
    assert dialog.job is None
    # A target name Azure would refuse is said by the same rule the wizards use.
    dialog.region.setEditText("eastus")
    dialog.name.setText("copy of the image")
    dialog.start_button.click()
    assert dialog.problem.text().startswith("An image name has 1–80 letters")
    dialog.name.setText("image-copy")
    dialog.group.setText("rg (copies)")
    dialog.start_button.click()
    assert dialog.problem.text().startswith("A resource group name has")
    assert dialog.job is None
    dialog.close()

"""The version editor (issue 12): Edit… on a version in the real window, a region added and
watched replicating to Completed, the tree listing the definition again; a dropped region
explained, refused without the safeguard and done with it; a failed region retried; the
replication model under qtmodeltester; the definition editor; a screenshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QComboBox, QMenu
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import NodeRef, SourceKind
from gui.azure.manage.definitions import DefinitionRef, read_definition
from gui.azure.manage.versions import RegionStatus, VersionRef, read_version
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.manage.definition_editor import DefinitionEditor
from gui.qt.manage.edit_actions import install_edit_actions
from gui.qt.manage.version_editor import ReplicationModel, VersionEditor
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_IMAGE_WINDOWS, GALLERY_PROD, RG_GALLERY
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner, open_path, select

pytestmark = pytest.mark.gui

REF = VersionRef(RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_WINDOWS, "2024.11.1")
LOCATIONS = [
    ("westeurope", "West Europe"),
    ("germanywestcentral", "Germany West Central"),
    ("eastus", "East US"),
    ("northeurope", "North Europe"),
]
SHOTS = Path("/tmp/shots")


@pytest.fixture
def session_sandbox(fresh_sandbox: Any) -> Any:
    """A sandbox of this module's own: its tests change a seeded version."""
    fresh_sandbox.lro_seconds = 0.1
    fresh_sandbox.replication_seconds_per_region = 0.8  # several polls per region
    return fresh_sandbox


def _editor(
    qtbot: QtBot, new_session: Callable[[], AzureSession], **kwargs: Any
) -> VersionEditor:
    compute = new_session().compute(PRODUCTION_SUBSCRIPTION_ID)
    editor = VersionEditor(compute, REF, LOCATIONS, poll_ms=100, **kwargs)
    qtbot.addWidget(editor)
    editor.open()
    qtbot.waitUntil(lambda: editor.profile is not None, timeout=LOAD_TIMEOUT_MS)
    return editor


def _add_region(editor: VersionEditor, name: str, storage: str = "Standard_LRS") -> None:
    editor.regions.add_button.click()
    row = editor.regions.table.rowCount() - 1
    combo = editor.regions.table.cellWidget(row, 0)
    kind = editor.regions.table.cellWidget(row, 2)
    assert isinstance(combo, QComboBox) and isinstance(kind, QComboBox)
    assert kind.isEnabled()  # a new region's storage type is chosen here
    combo.setCurrentIndex(combo.findData(name))
    kind.setCurrentIndex(kind.findData(storage))


def _status(editor: VersionEditor, region: str) -> tuple[str, int | None] | None:
    for name, state, progress in editor.state()["status"]:
        if name == region:
            return (state, progress)
    return None


def test_edit_on_a_version_adds_a_region_and_watches_it_replicate(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    actions = install_edit_actions(window)
    run(window.use_session(new_session()))
    version = open_path(window, qtbot, "My galleries", GALLERY_PROD, GALLERY_IMAGE_WINDOWS,
                        "2024.11.1")
    select(window, qtbot, version)
    menu = QMenu()
    actions.node_actions(menu, window.selected_nodes())
    assert actions.edit_action in menu.actions()
    actions.edit_action.trigger()
    qtbot.waitUntil(lambda: bool(actions.dialogs), timeout=LOAD_TIMEOUT_MS)
    editor = actions.dialogs[-1]
    assert isinstance(editor, VersionEditor)
    editor.timer.setInterval(100)
    qtbot.waitUntil(lambda: editor.profile is not None, timeout=LOAD_TIMEOUT_MS)
    # the regions the window knows (listed from the subscription when it connected)
    assert ("eastus", "East US") in [tuple(pair) for pair in editor.locations]
    assert editor.state()["regions"] == [
        ("westeurope", 3, "Standard_LRS"),
        ("germanywestcentral", 1, "Standard_LRS"),
    ]

    _add_region(editor, "eastus", "Standard_ZRS")
    assert editor.state()["safeguard"] == ""  # nothing dropped, nothing to explain
    definition_key = NodeRef(
        SourceKind.GALLERY, (RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_WINDOWS)
    ).key
    seen: list[tuple[str, int | None]] = []

    def replicated() -> bool:
        status = _status(editor, "East US")
        if status is not None and (not seen or seen[-1] != status):
            seen.append(status)
        return status == ("Completed", 100)

    with qtbot.waitSignal(
        window.tree_model.children_loaded,
        check_params_cb=lambda key: key == definition_key,
        timeout=LOAD_TIMEOUT_MS,
    ):
        editor.apply_button.click()
        qtbot.waitUntil(replicated, timeout=LOAD_TIMEOUT_MS)
    assert any(state == "Replicating" for state, _ in seen), seen
    assert editor.state()["steps"][-1] == "Done"
    profile = run(read_version(new_session().compute(PRODUCTION_SUBSCRIPTION_ID), REF))
    assert ("East US", 1, "Standard_ZRS") in [(r.name, r.replicas, r.storage)
                                              for r in profile.regions]
    editor.reject()


def test_a_dropped_region_is_explained_refused_without_the_safeguard_and_done_with_it(
    qtbot: QtBot, run: AsyncRunner, new_session: Callable[[], AzureSession]
) -> None:
    editor = _editor(qtbot, new_session)
    editor.regions.table.selectRow(1)  # Germany West Central
    editor.regions.remove_button.click()
    explained = editor.state()["safeguard"]
    assert "Germany West Central" in explained
    assert "allowDeletionOfReplicatedLocations" in explained
    assert editor.allow_deletion.isVisible() and not editor.allow_deletion.isChecked()

    run(editor.apply())
    assert "Allow it first, or keep the region" in editor.state()["problems"]
    compute = new_session().compute(PRODUCTION_SUBSCRIPTION_ID)
    assert len(run(read_version(compute, REF)).regions) == 2  # nothing was sent

    editor.allow_deletion.setChecked(True)
    run(editor.apply())
    assert editor.state()["steps"] == ["Done", "Done"]
    after = run(read_version(compute, REF))
    assert [r.name for r in after.regions] == ["West Europe"]
    assert after.allow_region_deletion is True
    editor.reject()


def test_a_failed_region_is_retried(
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
    session_sandbox: Any,
) -> None:
    session_sandbox.faults.fail_replication("eastus")
    editor = _editor(qtbot, new_session)
    _add_region(editor, "eastus")
    run(editor.apply())
    assert editor.state()["steps"][-1] == "Failed"
    qtbot.waitUntil(lambda: (_status(editor, "East US") or ("",))[0] == "Failed",
                    timeout=LOAD_TIMEOUT_MS)
    assert "East US" in editor.state()["aggregated"]
    row = [s[0] for s in editor.state()["status"]].index("East US")
    assert not editor.retry_button.isEnabled()
    editor.status_view.selectionModel().select(
        editor.replication.index(row, 0),
        QItemSelectionModel.SelectionFlag.ClearAndSelect
        | QItemSelectionModel.SelectionFlag.Rows,
    )
    assert editor.retry_button.isEnabled()
    details = editor.replication.index(row, 3).data()
    assert "retry" in details
    editor.retry_button.click()
    qtbot.waitUntil(lambda: _status(editor, "East US") == ("Completed", 100),
                    timeout=LOAD_TIMEOUT_MS)
    assert not editor.retry_button.isEnabled()
    editor.reject()


def test_replication_model(qtmodeltester: Any) -> None:
    model = ReplicationModel()
    model.set_status((
        RegionStatus("West Europe", "Completed", 100),
        RegionStatus("East US", "Failed", 40, "Replication to region 'eastus' failed"),
        RegionStatus("North Europe", "Replicating", 12),
    ))
    qtmodeltester.check(model, force_py=True)
    assert model.index(1, 1).data() == "Failed"
    assert model.index(2, 2).data() == "12 %"
    model.set_status((RegionStatus("West Europe", "Completed", 100),))
    qtmodeltester.check(model, force_py=True)
    qtmodeltester._cleanup()


def test_the_definition_editor_updates_description_end_of_life_and_sizes(
    qtbot: QtBot, run: AsyncRunner, new_session: Callable[[], AzureSession]
) -> None:
    compute = new_session().compute(PRODUCTION_SUBSCRIPTION_ID)
    ref = DefinitionRef(RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_WINDOWS)
    editor = DefinitionEditor(compute, ref)
    qtbot.addWidget(editor)
    editor.open()
    qtbot.waitUntil(lambda: editor.profile is not None, timeout=LOAD_TIMEOUT_MS)
    editor.description.setPlainText("Retiring soon")
    editor.vcpu_min.setValue(8)
    editor.vcpu_max.setValue(2)
    assert not run(editor.apply())
    assert "above the maximum" in editor.problems.text()
    editor.vcpu_max.setValue(16)
    editor.memory_min.setValue(16)
    assert run(editor.apply())
    after = run(read_definition(compute, ref))
    assert after.description == "Retiring soon"
    assert after.vcpus == (8, 16)
    assert after.memory_gib[0] == 16
    editor.reject()


def test_screenshot_of_the_version_editor(
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
    session_sandbox: Any,
) -> None:
    session_sandbox.faults.fail_replication("eastus")
    editor = _editor(qtbot, new_session)
    editor.resize(900, 760)
    _add_region(editor, "eastus")
    run(editor.apply())
    qtbot.waitUntil(lambda: (_status(editor, "East US") or ("",))[0] == "Failed",
                    timeout=LOAD_TIMEOUT_MS)
    editor.regions.table.selectRow(1)
    editor.regions.remove_button.click()  # Germany West Central: the safeguard explained
    row = [s[0] for s in editor.state()["status"]].index("East US")
    editor.status_view.selectRow(row)
    editor.timer.stop()
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert editor.grab().save(str(SHOTS / "version_editor.png"))
    editor.reject()

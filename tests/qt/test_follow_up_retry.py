"""Retry with another name…: a failed image step retried from the wizard's progress page and from
the Transfers panel, against the sandbox over HTTP (qemu-img made disks). The action is offered
only for a failed image step; its dialog refuses an invalid or taken name in place; the retried
job sends no data again, completes, and the window selects the new image."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import NodeRef, SourceKind
from gui.azure.image_builder import DefinitionSpec, DiskFacts, GalleryVersionSpec
from gui.azure.upload.job import FollowUp, ManagedDiskTargetPlan, UploadPlan
from gui.azure.upload.managed_disk import ManagedDiskSpec
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.transfers.model import Status, Transfer
from gui.qt.upload.rename_dialog import RetryFollowUpDialog
from gui.qt.upload.wizard import PROGRESS_PAGE, UploadWizard
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import (
    GALLERY_IMAGE_SECURE,
    GALLERY_IMAGE_WINDOWS,
    GALLERY_PROD,
    IMAGE_OS_ONLY,
    RG_GALLERY,
    RG_IMAGES,
)
from tests.qt.helpers import AsyncRunner

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
TIMEOUT_MS = 60_000
RETRY = "Retry with &another name…"


@pytest.fixture
def quick_sandbox(fresh_sandbox: Any) -> Any:
    """A sandbox of this test's own (uploads create disks and images), operations sped up."""
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.2
    return fresh_sandbox


@pytest.fixture
def new_session(quick_sandbox: Any, run: AsyncRunner) -> Iterator[Callable[[], Any]]:
    from gui.azure.account.session import sandbox_session

    sessions: list[Any] = []

    def make() -> Any:
        sessions.append(sandbox_session(quick_sandbox.arm_url))
        return sessions[-1]

    yield make
    for session in sessions:
        run(session.close())


@pytest.fixture
def window(
    controller: AppController, run: AsyncRunner, new_session: Callable[[], Any]
) -> MainWindow:
    controller.window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(controller.window.use_session(new_session()))
    return controller.window


def trip_wires(sandbox: Any) -> list[Any]:
    """Fault rules that any data transfer would fire: a blob write (the data's path is not
    under /subscriptions) or a new write access to a disk."""
    return [
        sandbox.faults.add(r"^/(?!subscriptions/)", status=500, method="PUT"),
        sandbox.faults.add(r"/beginGetAccess$", status=500, method="POST"),
    ]


def wait_ended(qtbot: QtBot, transfer: Transfer) -> Status:
    """How the transfer ended, once it has."""
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=TIMEOUT_MS)
    return transfer.status


def test_the_progress_page_retries_a_taken_image_name_and_the_window_selects_the_image(
    controller: AppController, window: MainWindow, qtbot: QtBot, disk_images: Any,
    quick_sandbox: Any,
) -> None:
    made = disk_images.make("raw", 24 * MIB, "scattered")
    controller.workflows.open_upload_wizard(made.path)
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    assert isinstance(wizard, UploadWizard)
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    wizard.file_page.os_box.setCurrentText("Linux")
    wizard.file_page.generation_box.setCurrentIndex(
        wizard.file_page.generation_box.findData("V2"))
    wizard.file_page.state_box.setCurrentIndex(
        wizard.file_page.state_box.findData("Generalized"))
    wizard.next()
    target = wizard.target_page
    target.group_box.setCurrentText(RG_IMAGES)
    target.disk_name.setText("disk-retry-page")
    qtbot.waitUntil(target.isComplete, timeout=5000)
    wizard.next()
    follow = wizard.follow_up_page
    follow.image_radio.setChecked(True)
    follow.image_name.setText(IMAGE_OS_ONLY)  # taken: a seeded image
    follow.image_group.setText(RG_IMAGES)
    qtbot.waitUntil(follow.isComplete, timeout=10_000)
    wizard.next()
    wizard.next()  # review → progress: the upload starts
    assert wizard.currentId() == PROGRESS_PAGE
    page = wizard.progress_page
    transfer = wizard.transfer
    assert transfer is not None
    assert not page.retry_button.isVisibleTo(page)  # running: nothing to retry
    wait_ended(qtbot, transfer)
    assert transfer.status is Status.FAILED
    assert transfer.steps["upload"].state.value == "Done"

    # What went wrong, and the way on.
    assert "already exists" in page.subTitle()
    assert page.retry_button.isVisibleTo(page) and page.retry_button.text() == RETRY
    assert "only the image step failed" in page.state_label.text()
    page.retry_button.click()
    dialog = page.retry_dialog
    assert isinstance(dialog, RetryFollowUpDialog) and dialog.name_edit is not None
    free = f"{IMAGE_OS_ONLY}-2"
    qtbot.waitUntil(lambda: dialog.name_edit is not None and dialog.name_edit.text() == free,
                    timeout=10_000)
    assert dialog.retry_button.isEnabled()  # the suggestion is free
    # Refused in place, before anything is sent.
    dialog.name_edit.setText("bad name!")
    assert not dialog.retry_button.isEnabled()
    assert "An image name has 1–80 letters" in dialog.problem_label.text()
    assert dialog.problem_label.isVisibleTo(dialog)
    dialog.name_edit.setText(IMAGE_OS_ONLY.upper())  # Azure's names ignore case
    assert not dialog.retry_button.isEnabled()
    assert "exists already in rg-images-prod" in dialog.problem_label.text()
    assert free.casefold() in dialog.problem_label.text().casefold()  # a free one proposed
    dialog.name_edit.setText("img-retried-from-page")
    assert dialog.retry_button.isEnabled() and not dialog.problem_label.isVisibleTo(dialog)

    wires = trip_wires(quick_sandbox)
    dialog.retry_button.click()
    assert not dialog.isVisible()
    assert not page.isComplete()  # retrying: not finished until it has ended
    assert wait_ended(qtbot, transfer) is Status.COMPLETED, transfer.error
    assert [rule.fired for rule in wires] == [0, 0]  # no byte sent again
    assert transfer.steps["upload"].state.value == "Skipped"
    assert not page.retry_button.isVisibleTo(page)
    assert page.subTitle() == "The upload finished and the image was created."
    expected = NodeRef(SourceKind.MANAGED, (RG_IMAGES, "img-retried-from-page"))
    qtbot.waitUntil(
        lambda: window.detail_pane.detail is not None and window.detail_pane.detail.ref == expected,
        timeout=20_000,
    )
    wizard.accept()


def _plan(path: Path, disk: str, follow_up: FollowUp) -> UploadPlan:
    return UploadPlan(
        source_path=str(path),
        facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
        target=ManagedDiskTargetPlan(
            PRODUCTION_SUBSCRIPTION_ID,
            ManagedDiskSpec(RG_IMAGES, disk, "westeurope", os_type="Linux",
                            hyper_v_generation="V2"),
        ),
        follow_up=follow_up,
    )


def menu_texts(dock: Any) -> list[str]:
    """The texts of the context menu the Menu key opens on the current row."""
    for old in dock.findChildren(QMenu):
        old.close()
    dock.table.customContextMenuRequested.emit(dock.table.viewport().rect().bottomRight())
    menus = [menu for menu in dock.findChildren(QMenu) if menu.isVisible()]
    assert len(menus) == 1
    texts = [action.text() for action in menus[0].actions()]
    menus[0].close()
    return texts


# Offscreen, a context menu cannot raise itself or grab the keyboard (it opens all the same).
@pytest.mark.qt_log_ignore("does not support raise", "does not support grabbing the keyboard")
def test_the_transfers_panel_retries_a_gallery_version_with_another_number(
    controller: AppController, window: MainWindow, qtbot: QtBot, disk_images: Any,
    quick_sandbox: Any,
) -> None:
    definition = DefinitionSpec(GALLERY_IMAGE_SECURE, "Linux", "Generalized", "V2",
                                security_type="TrustedLaunch")
    version = GalleryVersionSpec(RG_GALLERY, GALLERY_PROD, False, definition, False, "1.2.0",
                                 "westeurope")
    manager = controller.transfers
    dock = window.transfers_dock
    dock.show()
    # An upload that fails before its data is in Azure (Azure refuses a disk of 16 MiB):
    # Resume, not a retry under another name, is its way on.
    small = disk_images.make("raw", 16 * MIB, "scattered")
    early = manager.submit(_plan(small.path, "disk-too-small", version))
    wait_ended(qtbot, early)
    assert early.status is Status.FAILED and "upload" not in early.steps
    assert not dock.retry_button.isVisibleTo(dock)
    assert dock.resume_button.isEnabled()
    assert RETRY not in menu_texts(dock)

    made = disk_images.make("raw", 24 * MIB, "scattered")
    transfer = manager.submit(_plan(made.path, "disk-retry-panel", version))
    assert dock.selected() is transfer
    assert not dock.retry_button.isVisibleTo(dock)
    wait_ended(qtbot, transfer)
    assert transfer.status is Status.FAILED
    assert "Version 1.2.0 of ubuntu-22.04-base exists already" in transfer.error
    assert dock.retry_button.isVisibleTo(dock) and dock.retry_button.isEnabled()
    assert RETRY in menu_texts(dock)
    dock.table.selectRow(0)
    assert not dock.retry_button.isVisibleTo(dock)  # the early failure: no retry
    dock.table.selectRow(1)

    dock.retry_button.click()
    dialog = dock.retry_dialog
    assert isinstance(dialog, RetryFollowUpDialog)
    assert dialog.version_edit is not None and dialog.definition_edit is not None
    qtbot.waitUntil(lambda: dialog.version_edit is not None
                    and dialog.version_edit.text() == "1.2.1", timeout=10_000)
    assert dialog.definition_edit.text() == GALLERY_IMAGE_SECURE
    assert dialog.retry_button.isEnabled()
    dialog.version_edit.setText("1.2")
    assert "major.minor.patch" in dialog.problem_label.text()
    assert not dialog.retry_button.isEnabled()
    dialog.version_edit.setText("1.1.0")
    assert "Version 1.1.0 of ubuntu-22.04-base exists already" in dialog.problem_label.text()
    assert not dialog.retry_button.isEnabled()
    # Another definition: looked up once the typing pauses, and refused, it is for Windows.
    dialog.version_edit.setText("2.0.0")
    dialog.definition_edit.setText(GALLERY_IMAGE_WINDOWS)
    assert not dialog.retry_button.isEnabled()
    qtbot.waitUntil(lambda: "OS type Windows" in dialog.problem_label.text(), timeout=10_000)
    assert not dialog.retry_button.isEnabled()
    dialog.definition_edit.setText(GALLERY_IMAGE_SECURE)
    assert dialog.retry_button.isEnabled()

    wires = trip_wires(quick_sandbox)
    dialog.retry_button.click()
    assert wait_ended(qtbot, transfer) is Status.COMPLETED, transfer.error
    assert [rule.fired for rule in wires] == [0, 0]
    assert transfer.steps["version"].state.value == "Done"
    assert transfer.steps["upload"].state.value == "Skipped"
    assert not dock.retry_button.isVisibleTo(dock)
    expected = NodeRef(SourceKind.GALLERY, (RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SECURE,
                                            "2.0.0"))
    qtbot.waitUntil(
        lambda: window.detail_pane.detail is not None and window.detail_pane.detail.ref == expected,
        timeout=20_000,
    )

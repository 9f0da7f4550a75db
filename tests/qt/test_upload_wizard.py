"""The upload wizard driven like a user, against the sandbox over HTTP, with qemu-made disks."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import DiskRole, NodeRef, SourceKind
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.transfers.model import Status, TransferManager
from gui.qt.upload.wizard import PROGRESS_PAGE, UploadWizard
from gui.qt.workflows import Workflows
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from tests.qt.helpers import AsyncRunner, make_settings

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
UPLOAD_TIMEOUT_MS = 60_000


@pytest.fixture
def quick_sandbox(fresh_sandbox: Any) -> Any:
    """A sandbox of this test's own (uploads create disks, galleries and images), with
    long-running operations and replication sped up."""
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.2
    return fresh_sandbox


@pytest.fixture
def new_session(quick_sandbox: Any, run: AsyncRunner) -> Iterator[Callable[[], Any]]:
    """Sessions on this test's own sandbox (shadows the shared one from conftest)."""
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
    """The app's window, signed in to this test's sandbox, in the production subscription."""
    controller.window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(controller.window.use_session(new_session()))
    return controller.window


def drop_files(window: MainWindow, paths: list[Path]) -> bool:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    enter = QDragEnterEvent(
        QPoint(40, 40),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(
        QPointF(40, 40),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, drop)
    return True


def open_wizard(
    controller: AppController, qtbot: QtBot, path: Path, os_type: str | None = None
) -> UploadWizard:
    """The wizard for ``path``; with ``os_type``, past its file page."""
    controller.workflows.open_upload_wizard(path)
    wizard = wizard_of(controller.workflows, qtbot)
    if os_type is not None:
        fill_file_page(wizard, qtbot, os_type)
    return wizard


def wizard_of(workflows: Workflows, qtbot: QtBot) -> UploadWizard:
    qtbot.waitUntil(lambda: bool(workflows.wizards), timeout=5000)
    wizard = workflows.wizards[-1]
    assert isinstance(wizard, UploadWizard)
    return wizard


def fill_file_page(wizard: UploadWizard, qtbot: QtBot, os_type: str = "Linux") -> None:
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    wizard.file_page.os_box.setCurrentText(os_type)
    wizard.file_page.generation_box.setCurrentIndex(wizard.file_page.generation_box.findData("V2"))
    wizard.next()


def fill_target_page(wizard: UploadWizard, qtbot: QtBot, disk: str) -> None:
    page = wizard.target_page
    assert wizard.currentPage() is page
    page.group_box.setCurrentText(RG_IMAGES)
    page.disk_name.setText("bad name!")
    assert not page.isComplete()
    assert "disk name" in page.problems.text()  # named before anything is sent
    page.disk_name.setText(disk)
    qtbot.waitUntil(page.isComplete, timeout=5000)
    wizard.next()


def finish_upload(wizard: UploadWizard, qtbot: QtBot) -> Any:
    wizard.next()  # review → progress: the upload starts
    assert wizard.currentId() == PROGRESS_PAGE
    transfer = wizard.transfer
    assert transfer is not None
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=UPLOAD_TIMEOUT_MS)
    assert transfer.status is Status.COMPLETED, transfer.error
    return transfer


def test_a_dropped_disk_image_opens_the_wizard_one_per_file(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    disk_images: Any,
) -> None:
    first = disk_images.make("vpc", 24 * MIB, "start", subformat="dynamic").path
    second = disk_images.make("vhdx", 24 * MIB, "end", subformat="dynamic").path
    text_file = first.with_suffix(".txt")
    text_file.write_text("not a disk")
    assert drop_files(window, [first, second, text_file])
    qtbot.waitUntil(lambda: len(controller.workflows.wizards) == 2, timeout=5000)
    assert [w.source_path for w in controller.workflows.wizards] == [first, second]
    for wizard in controller.workflows.wizards:
        qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    page = controller.workflows.wizards[0].file_page
    assert page.fact_labels["Format"].text()
    assert "fixed VHD on the fly" in page.fact_labels["Conversion"].text()
    assert not drop_files(window, [text_file])  # nothing to upload: the drop is refused
    for wizard in list(controller.workflows.wizards):
        wizard.reject()


def test_a_dropped_qcow2_opens_the_wizard_which_reads_it(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    # Offered by its name, judged by its bytes: the wizard opens and reads it as qcow2.
    cloud = tmp_path / "cloud.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(cloud), "64M"], check=True)
    assert drop_files(window, [cloud])
    wizard = wizard_of(controller.workflows, qtbot)
    page = wizard.file_page
    qtbot.waitUntil(lambda: page.image is not None or bool(page.error), timeout=10_000)
    assert not page.error, page.error
    assert page.image is not None and page.image.format.name == "QCOW2"
    wizard.reject()


def test_a_broken_file_stops_on_the_first_page_with_its_message(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.vhd"
    broken.write_bytes(b"conectix" + os.urandom(3 * MIB))
    wizard = open_wizard(controller, qtbot, broken)
    page = wizard.file_page
    qtbot.waitUntil(lambda: bool(page.error) or page.image is not None, timeout=10_000)
    messages = [page.findings.item(i).text() for i in range(page.findings.count())]
    assert not page.isComplete()
    assert messages and len(messages[0]) > 30, messages  # a sentence, not a code
    wizard.reject()


def test_wizard_uploads_a_dynamic_vhd_to_a_managed_disk_and_makes_a_gallery_version(
    qtmodeltester: Any,
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    disk_images: Any,
) -> None:
    made = disk_images.make("vpc", 40 * MIB, "scattered", subformat="dynamic")
    wizard = open_wizard(controller, qtbot, made.path, "Linux")
    fill_target_page(wizard, qtbot, "disk-wizard-gallery")
    page = wizard.follow_up_page
    page.gallery_radio.setChecked(True)
    page.gallery_box.setCurrentText("gal_wizard_test")
    page.definition_box.setCurrentText("linux-uploaded")
    page.version_edit.setText("1.0")
    assert "major.minor.patch" in page.problems.text()
    page.version_edit.setText("1.0.0")
    assert page.region_table.rows() == [("westeurope", 1)]  # the source region, always
    page.region_table.add_row("northeurope", 2)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    wizard.next()
    review = wizard.review_page.text.toPlainText()
    assert "Create the managed disk disk-wizard-gallery" in review
    assert "Create the gallery gal_wizard_test" in review
    assert "Revoke the write access" in review
    transfer = finish_upload(wizard, qtbot)

    snapshot = transfer.snapshot
    assert snapshot.bytes_skipped > 0  # the empty blocks of the dynamic VHD never travelled
    assert snapshot.bytes_sent < made.size
    assert [s.state.value for s in transfer.steps.values()].count("Done") == len(transfer.steps)
    expected = NodeRef(
        SourceKind.GALLERY, (RG_IMAGES, "gal_wizard_test", "linux-uploaded", "1.0.0")
    )
    qtbot.waitUntil(
        lambda: window.detail_pane.detail is not None and window.detail_pane.detail.ref == expected,
        timeout=20_000,
    )
    detail = window.detail_pane.detail
    assert detail is not None
    assert detail.os_type == "Linux" and detail.hyper_v_generation == "Gen2 (V2)"
    assert [disk.role for disk in detail.disks] == [DiskRole.OS]
    regions = dict(detail.properties)["Target regions"]
    assert isinstance(regions, str)
    assert "×1" in regions and "×2" in regions, regions  # each region with its own replicas

    assert controller.transfers.model.rowCount() == 1
    qtmodeltester.check(controller.transfers.model, force_py=True)
    # Let go of the model now: it dies with the window, which pytest-qt closes before the
    # tester's own teardown, and disconnecting from a deleted model there fails the test.
    qtmodeltester._cleanup()

    compute = window.session.compute(PRODUCTION_SUBSCRIPTION_ID)
    disk = run(compute.disks.get(RG_IMAGES, "disk-wizard-gallery"))
    assert str(disk.properties.disk_state) in ("Unattached", "DiskState.UNATTACHED")
    wizard.accept()


def test_cancel_revokes_access_and_a_new_window_resumes_the_rest(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Any,
    disk_images: Any,
    quick_sandbox: Any,
    home: Path,
) -> None:
    # Keep the partial disk on cancel (Settings → Uploads): the resume then replaces the sealed
    # disk (with the default, the cancel deletes it: tests/azure/test_upload_runner.py).
    controller.settings.delete_partial_disk = False
    controller.apply_settings()
    made = disk_images.make("raw", 48 * MIB, [(0, os.urandom(48 * MIB))])
    wizard = open_wizard(controller, qtbot, made.path, "Windows")
    fill_target_page(wizard, qtbot, "disk-wizard-resume")
    wizard.next()  # then what: nothing more
    quick_sandbox.faults.latency = 0.15  # every request slow: time to cancel mid-way
    wizard.next()
    transfer = wizard.transfer
    assert transfer is not None
    qtbot.waitUntil(
        lambda: transfer.snapshot is not None and transfer.snapshot.bytes_sent > 0,
        timeout=UPLOAD_TIMEOUT_MS,
    )
    wizard.progress_page.cancel_button.click()
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=UPLOAD_TIMEOUT_MS)
    assert transfer.status is Status.CANCELLED
    assert wizard.progress_page.resume_button.isEnabled()  # resume is offered
    compute = window.session.compute(PRODUCTION_SUBSCRIPTION_ID)
    disk = run(compute.disks.get(RG_IMAGES, "disk-wizard-resume"))
    assert "ActiveUpload" not in str(disk.properties.disk_state)  # access was revoked
    assert transfer.snapshot is not None
    sent_before = transfer.snapshot.bytes_sent
    wizard.reject()
    window.close()
    quick_sandbox.faults.latency = 0.0

    again_app = AppController(make_settings(home))
    again = again_app.window
    qtbot.addWidget(again)
    again.show()
    run(again.use_session(new_session()))
    manager: TransferManager = again_app.transfers
    waiting = [t for t in manager.model.transfers if t.status is Status.INTERRUPTED]
    assert len(waiting) == 1 and again.transfers_dock.isVisible()
    resumed = waiting[0]
    manager.resume(resumed)
    qtbot.waitUntil(lambda: not resumed.status.active, timeout=UPLOAD_TIMEOUT_MS)
    assert resumed.status is Status.COMPLETED, resumed.error
    # Revoking access sealed the partial disk (Azure allows no writes after that): the resume
    # says so as a step of its own, replaces the disk and sends the data again.
    assert resumed.steps["drop-partial"].state.value == "Done"
    assert sent_before < made.size
    assert resumed.snapshot is not None
    assert resumed.snapshot.bytes_sent == made.size + 512  # the data and the footer
    disk = run(compute.disks.get(RG_IMAGES, "disk-wizard-resume"))
    assert "Unattached" in str(disk.properties.disk_state) or "UNATTACHED" in str(
        disk.properties.disk_state
    )
    assert manager.store.unfinished() == []
    again.cancel_tasks()


def test_a_page_blob_in_a_storage_account_then_a_managed_image_from_it(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    disk_images: Any,
) -> None:
    from azure.storage.blob import BlobClient

    from gui.azure.upload.job import BlobTargetPlan, UploadPlan
    from gui.azure.upload.storage import renew_blob_sas
    from gui.diskimage import open_image

    made = disk_images.make("vhdx", 32 * MIB, "scattered", subformat="dynamic")
    wizard = open_wizard(controller, qtbot, made.path, "Linux")
    page = wizard.target_page
    page.account_radio.setChecked(True)
    qtbot.waitUntil(lambda: page.container_box.count() > 0, timeout=10_000)
    page.container_box.setCurrentText("vhds")
    page.blob_name.setText("golden/linux-from-wizard.vhd")
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    wizard.next()
    then = wizard.follow_up_page
    then.image_radio.setChecked(True)
    then.image_name.setText("img-from-blob")
    assert then.image_group.text() == RG_IMAGES  # the storage account's resource group
    qtbot.waitUntil(then.isComplete, timeout=5000)
    wizard.next()
    transfer = finish_upload(wizard, qtbot)

    target = transfer.plan.target
    assert isinstance(target, BlobTargetPlan)
    assert target.storage_account_id.endswith("/storageAccounts/contosoimgstore")
    saved = UploadPlan.from_json(transfer.plan.to_json())
    assert isinstance(saved.target, BlobTargetPlan)
    assert saved.target.sas_query == ""  # the SAS is never saved ...
    assert "sig=" not in str(transfer.plan.to_json())
    url = run(
        renew_blob_sas(
            window.session,
            PRODUCTION_SUBSCRIPTION_ID,
            saved.target.storage_account_id,
            saved.target.blob_url,
        )
    )  # ... the account signs a new one for a resume
    with open_image(made.path) as image:
        expected_size = image.upload_size
    assert BlobClient.from_blob_url(url).get_blob_properties().size == expected_size

    expected = NodeRef(SourceKind.MANAGED, (RG_IMAGES, "img-from-blob"))
    qtbot.waitUntil(
        lambda: window.detail_pane.detail is not None and window.detail_pane.detail.ref == expected,
        timeout=20_000,
    )
    detail = window.detail_pane.detail
    assert detail is not None and detail.os_type == "Linux"
    wizard.accept()


def test_then_test_boot_it_opens_the_test_boot_of_the_image_the_upload_made(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    disk_images: Any,
) -> None:
    from gui.azure.vm_create.request import Mode

    made = disk_images.make("vpc", 32 * MIB, "scattered", subformat="dynamic")
    wizard = open_wizard(controller, qtbot, made.path, "Linux")
    fill_target_page(wizard, qtbot, "disk-then-boot")
    then = wizard.follow_up_page
    assert not then.test_boot_check.isEnabled()  # no image, nothing to boot
    then.image_radio.setChecked(True)
    then.image_name.setText("img-then-boot")
    assert then.test_boot_check.isEnabled()
    then.test_boot_check.setChecked(True)
    qtbot.waitUntil(then.isComplete, timeout=5000)
    wizard.next()  # the review
    wizard.next()  # the progress: the upload starts
    wizard.accept()  # the wizard may close: the upload goes on, and so does the wish
    vm_actions = controller.vm_actions
    assert not vm_actions.dialogs
    transfer = controller.transfers.model.transfers[-1]
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=UPLOAD_TIMEOUT_MS)
    assert transfer.status is Status.COMPLETED, transfer.error
    qtbot.waitUntil(lambda: bool(vm_actions.dialogs), timeout=20_000)
    dialog = vm_actions.dialogs[-1]
    assert dialog.mode is Mode.TEST_BOOT
    assert dialog.detail.ref == NodeRef(SourceKind.MANAGED, (RG_IMAGES, "img-then-boot"))
    dialog.reject()

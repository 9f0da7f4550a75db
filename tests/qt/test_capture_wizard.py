"""The capture wizard driven offscreen against the sandbox over HTTP: end to end into a gallery
version and into a managed image, refusals before any change, and a failure in the create step.

Screenshots of each page go to /tmp/shots (capture-N.png) for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDate, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTextEdit,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.catalog.nodes import CatalogNode, DiskRole, NodeKind, NodeRef, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.i18n import english
from gui.qt.capture.target_page import NEW_DEFINITION
from gui.qt.capture.wizard import (
    PREPARE_PAGE,
    PROGRESS_PAGE,
    REVIEW_PAGE,
    TARGET_PAGE,
    CaptureWizard,
)
from gui.qt.i18n import format_datetime
from gui.qt.main_window import MainWindow
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB
from gui.sandbox.seed import vms as seeded
from gui.sandbox.seed import world
from tests.qt.helpers import AsyncRunner

pytestmark = pytest.mark.gui
SHOTS = Path(os.environ.get("CAPTURE_SHOTS", "/tmp/shots"))
RG = seeded.RG_VMS


def vm_id(name: str) -> str:
    return world.compute_id(SUB, RG, "virtualMachines", name)


@pytest.fixture(scope="module")
def capture_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """One server for this module: each test captures a different VM."""
    server = SandboxServer(tmp_path_factory.mktemp("capture-sandbox"), reset=True)
    server.start()
    server.lro_seconds = 0.05
    server.replication_seconds_per_region = 0.4
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def session(capture_sandbox: SandboxServer, run: AsyncRunner) -> Iterator[AzureSession]:
    made = sandbox_session(capture_sandbox.arm_url)
    yield made
    capture_sandbox.faults.clear()
    run(made.close())


@pytest.fixture
def open_wizard(qtbot: QtBot, session: AzureSession) -> Iterator[Any]:
    opened: list[CaptureWizard] = []

    def make(name: str, parent: Any = None) -> CaptureWizard:
        wizard = CaptureWizard(session, SUB, "westeurope", parent, vm_id=vm_id(name))
        qtbot.addWidget(wizard)
        wizard.show()
        qtbot.waitUntil(wizard.vm_page.isComplete, timeout=10_000)
        assert wizard.vm_page.selected_vm() is not None
        opened.append(wizard)
        return wizard

    yield make
    for wizard in opened:
        wizard.cancel_tasks()


def shot(wizard: CaptureWizard, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wizard.grab().save(str(SHOTS / f"capture-{name}.png"))


def to_target(
    qtbot: QtBot,
    wizard: CaptureWizard,
    choice: str = "runCommand",
    screenshot: str = "",
    snapshots: bool = True,
) -> None:
    wizard.next()
    assert wizard.currentId() == PREPARE_PAGE
    buttons = {"runCommand": "run_now", "confirmed": "did_it", "specialized": "specialized"}
    getattr(wizard.prepare_page, buttons[choice]).setChecked(True)
    if not snapshots:  # a snapshot's name has the minute in it: one capture per VM and minute
        for box, _ in wizard.prepare_page.snapshot_boxes:
            box.setChecked(False)
    if screenshot:
        shot(wizard, screenshot)
    assert wizard.prepare_page.isComplete()
    wizard.next()
    assert wizard.currentId() == TARGET_PAGE
    page = wizard.target_page
    qtbot.waitUntil(lambda: page.gallery.count() > 0, timeout=10_000)


def pick_gallery_version(
    qtbot: QtBot, wizard: CaptureWizard, definition: str, version: str = ""
) -> None:
    """On the target page: the production gallery, ``definition`` in it (or "New…"), and the
    version when one is given."""
    page = wizard.target_page
    page.gallery.setCurrentIndex(
        page.gallery.findText(world.GALLERY_PROD, flags=Qt.MatchFlag.MatchContains)
    )
    qtbot.waitUntil(lambda: page.definition.count() > 1, timeout=10_000)
    page.definition.setCurrentIndex(
        page.definition.findText(definition, flags=Qt.MatchFlag.MatchContains)
    )
    if version:
        page.version.setText(version)


def wait_checked(qtbot: QtBot, wizard: CaptureWizard) -> None:
    """Until the target page has validated the current choices against fresh facts."""
    page = wizard.target_page
    qtbot.waitUntil(lambda: page.status.text() != "Checking with Azure…", timeout=10_000)


def detail(run: AsyncRunner, session: AzureSession, ref: NodeRef) -> Any:
    catalog = Catalog(session, Scope(SUB, "westeurope"))
    kind = NodeKind.IMAGE if ref.source is SourceKind.MANAGED else NodeKind.VERSION
    return run(catalog.detail(CatalogNode(ref, kind, ref.parts[-1], is_image=True)))


def power(run: AsyncRunner, session: AzureSession, name: str) -> str:
    return run(_power(session, name))


async def _power(session: AzureSession, name: str) -> str:
    view = await session.compute(SUB).virtual_machines.instance_view(RG, name)
    codes = [str(s.code) for s in view.statuses or []]
    return next(code.split("/")[1] for code in codes if code.startswith("PowerState/"))


def test_linux_vm_into_new_gallery_definition(
    qtbot: QtBot, open_wizard: Any, run: AsyncRunner, session: AzureSession
) -> None:
    wizard = open_wizard(seeded.VM_LINUX)
    shot(wizard, "1-vm")
    to_target(qtbot, wizard, screenshot="2-prepare-linux")
    page = wizard.target_page
    page.gallery_target.setChecked(True)
    pick_gallery_version(qtbot, wizard, NEW_DEFINITION)
    page.new_definition_name.setText("ubuntu-web")
    page.publisher.setText("Contoso")
    page.offer.setText("ubuntu-web")
    page.sku.setText("22.04-gen2")
    page.version.setText("1.0.0")
    page.region_table.add_row("northeurope", 2)
    page.exclude.setChecked(True)
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    shot(wizard, "3-target-gallery")
    created: list[NodeRef] = []
    wizard.image_created.connect(created.append)
    wizard.next()
    assert wizard.currentId() == REVIEW_PAGE
    review = wizard.review_page.text.toPlainText()
    assert "Create snapshot vm-ubuntu-web-01-os-" in review
    assert (
        review.index("Run waagent")
        < review.index("Deallocate VM")
        < review.index("Create image definition ubuntu-web")
        < review.index("Create image version")
    )
    assert "westeurope ×1, northeurope ×2" in review
    shot(wizard, "4-review")
    wizard.next()
    assert wizard.currentId() == PROGRESS_PAGE
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: "Running…" in progress.step_states()[3:], timeout=10_000)
    shot(wizard, "5-progress-mid")
    qtbot.waitUntil(lambda: progress.finished, timeout=20_000)
    shot(wizard, "6-progress-done")
    assert progress.finished_ok, progress.outcome.text()
    assert set(progress.step_states()) == {"Done"}
    ref = NodeRef(SourceKind.GALLERY, (world.RG_GALLERY, world.GALLERY_PROD, "ubuntu-web", "1.0.0"))
    assert created == [ref]
    # "Then test-boot it": offered once the image is made, for that image.
    assert progress.test_boot_button.isVisible()
    with qtbot.waitSignal(wizard.test_boot_requested) as asked:
        progress.test_boot_button.click()
    assert asked.args == [ref]
    found = detail(run, session, ref)
    assert [d.role for d in found.disks] == [DiskRole.OS]
    assert found.os_type == "Linux"
    assert found.os_state == "Generalized"
    assert ("Exclude from latest", "Yes") in [(english(k), english(v)) for k, v in found.properties]
    assert power(run, session, seeded.VM_LINUX) == "deallocated"


def test_windows_vm_with_two_data_disks_into_managed_image(
    qtbot: QtBot, open_wizard: Any, run: AsyncRunner, session: AzureSession, window: MainWindow
) -> None:
    window.settings.subscription_id = SUB
    window.settings.location = "westeurope"
    run(window.use_session(session))
    wizard = open_wizard(seeded.VM_WINDOWS, window)
    # what the main window does with a new image: select it in the browser, with its disks
    wizard.image_created.connect(
        lambda ref: asyncio.get_event_loop().create_task(window.show_new_image(ref))
    )
    wizard.next()
    prepare = wizard.prepare_page
    assert r"sysprep.exe /generalize /oobe /shutdown /mode:vm" in prepare.command.text()
    assert "can never be started again" in prepare.caveats.text()
    assert len(prepare.snapshot_boxes) == 3
    shot(wizard, "2-prepare-windows")
    wizard.back()
    to_target(qtbot, wizard)
    page = wizard.target_page
    page.managed.setChecked(True)
    page.image_group.setCurrentText(world.RG_IMAGES)
    page.image_name.setText("img-ws2022-app-captured")
    page.delete_vm.setChecked(True)
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    shot(wizard, "3-target-managed")
    wizard.next()
    wizard.next()
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: progress.finished, timeout=20_000)
    assert progress.finished_ok, progress.outcome.text()
    ref = NodeRef(SourceKind.MANAGED, (world.RG_IMAGES, "img-ws2022-app-captured"))
    qtbot.waitUntil(
        lambda: window.detail_pane.detail is not None and window.detail_pane.detail.ref == ref,
        timeout=10_000,
    )
    assert window.detail_pane.state()["kind"] == "VM image — OS disk + 2 data disks"
    SHOTS.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(SHOTS / "capture-8-window-after.png"))
    found = detail(run, session, ref)
    assert [(d.role, d.lun, d.size_gb) for d in found.disks] == [
        (DiskRole.OS, None, 127),
        (DiskRole.DATA, 0, 128),
        (DiskRole.DATA, 1, 256),
    ]
    assert found.os_state == "Generalized"
    vms = run(_vm_names(session))
    assert seeded.VM_WINDOWS not in vms
    snapshots = run(_snapshot_names(session))
    assert sum(name.startswith(f"{seeded.VM_WINDOWS}-") for name in snapshots) == 3


async def _vm_names(session: AzureSession) -> list[str]:
    return [str(vm.name) async for vm in session.compute(SUB).virtual_machines.list(RG)]


async def _snapshot_names(session: AzureSession) -> list[str]:
    pager = session.compute(SUB).snapshots.list_by_resource_group(RG)
    return [str(s.name) async for s in pager]


def test_running_vm_without_run_command_refused(
    qtbot: QtBot, open_wizard: Any, run: AsyncRunner, session: AzureSession
) -> None:
    wizard = open_wizard(seeded.VM_SQLNODE)
    wizard.next()
    prepare = wizard.prepare_page
    prepare.did_it.setChecked(True)
    assert not prepare.isComplete()
    assert "is running" in prepare.problems.text()
    assert "Operation 'generalize' is not allowed since the VM is running" in (
        prepare.problems.text()
    )
    shot(wizard, "2-prepare-refused")
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    assert wizard.currentId() == PREPARE_PAGE
    assert power(run, session, seeded.VM_SQLNODE) == "running"


def test_mismatched_definition_refused(qtbot: QtBot, open_wizard: Any) -> None:
    wizard = open_wizard(seeded.VM_TRUSTED_LAUNCH)
    to_target(qtbot, wizard)
    page = wizard.target_page
    page.gallery_target.setChecked(True)
    pick_gallery_version(qtbot, wizard, world.GALLERY_IMAGE_GEN1, "9.0.0")
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.problems.isVisible, timeout=10_000)
    text = page.problems.text()
    assert "Hyper-V generation 'V1' but the capture is 'V2'" in text
    assert "security type 'Standard'" in text
    assert not page.isComplete()
    shot(wizard, "3-target-mismatch")
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    assert wizard.currentId() == TARGET_PAGE


def test_trusted_launch_into_managed_image_refused(
    qtbot: QtBot, open_wizard: Any, run: AsyncRunner, session: AzureSession
) -> None:
    wizard = open_wizard(seeded.VM_TRUSTED_LAUNCH)
    to_target(qtbot, wizard)
    page = wizard.target_page
    page.managed.setChecked(True)
    page.image_name.setText("img-tl")
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.problems.isVisible, timeout=10_000)
    assert "Managed images do not support the security type TrustedLaunch" in (page.problems.text())
    assert not page.isComplete()
    shot(wizard, "3-target-trusted-launch")
    assert not wizard.button(QWizard.WizardButton.NextButton).isEnabled()
    wizard.next()
    assert wizard.currentId() == TARGET_PAGE
    assert power(run, session, seeded.VM_TRUSTED_LAUNCH) == "running"


def test_failure_in_create_step_stops_the_capture(
    qtbot: QtBot,
    open_wizard: Any,
    run: AsyncRunner,
    session: AzureSession,
    capture_sandbox: SandboxServer,
) -> None:
    message = "Operation could not be completed as it results in exceeding approved Images quota."
    capture_sandbox.faults.add(
        r"/providers/Microsoft\.Compute/images/img-quota$",
        status=409,
        code="OperationNotAllowed",
        message=message,
        method="PUT",
    )
    wizard = open_wizard(seeded.VM_GEN1)
    to_target(qtbot, wizard, "confirmed")
    page = wizard.target_page
    page.managed.setChecked(True)
    page.image_name.setText("img-quota")
    page.delete_vm.setChecked(True)
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    wizard.next()
    wizard.next()
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: progress.finished, timeout=20_000)
    shot(wizard, "7-progress-failed")
    assert not progress.finished_ok
    assert not progress.test_boot_button.isVisible()  # no image to boot
    states = progress.step_states()
    assert states[-2:] == ["Failed", "Not run"]  # create image failed, delete VM never ran
    outcome = progress.outcome.text()
    assert message in outcome
    assert "OperationNotAllowed" in outcome
    assert "What to do" in outcome
    assert seeded.VM_GEN1 in run(_vm_names(session))


def test_cancel_during_capture_stops_and_says_where(
    qtbot: QtBot, open_wizard: Any, capture_sandbox: SandboxServer
) -> None:
    capture_sandbox.replication_seconds_per_region = 2.0
    wizard = open_wizard(seeded.VM_ARM64)
    to_target(qtbot, wizard, "confirmed")
    page = wizard.target_page
    pick_gallery_version(qtbot, wizard, world.GALLERY_IMAGE_ARM64, "2.0.0")
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    wizard.next()
    wizard.next()
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: progress.step_states()[-1] == "Running…", timeout=10_000)
    wizard.reject()  # the Cancel button
    qtbot.waitUntil(lambda: progress.finished, timeout=5_000)
    assert wizard.isVisible()
    assert "Cancelled during 'Replicate to westeurope'" in progress.outcome.text()
    assert not progress.finished_ok
    wizard.reject()
    assert not wizard.isVisible()


def test_another_vm_picked_after_going_back_resets_the_target(
    qtbot: QtBot, open_wizard: Any
) -> None:
    wizard = open_wizard(seeded.VM_TRUSTED_LAUNCH)
    to_target(qtbot, wizard)
    assert seeded.VM_TRUSTED_LAUNCH in wizard.target_page.image_name.text()
    wizard.back()
    wizard.back()
    table = wizard.vm_page.table
    row = next(r for r in range(table.rowCount()) if table.item(r, 0).text() == seeded.VM_ARM64)
    table.selectRow(row)
    to_target(qtbot, wizard, "confirmed")
    page = wizard.target_page
    assert seeded.VM_ARM64 in page.image_name.text()
    assert [r.region for r in page.region_choices()] == ["westeurope"]
    page.managed.setChecked(True)
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.problems.isVisible, timeout=10_000)
    assert "Managed images support x64 only" in page.problems.text()


def test_unknown_vm_id_is_reported_on_the_first_page(qtbot: QtBot, session: AzureSession) -> None:
    wizard = CaptureWizard(session, SUB, "westeurope", vm_id=vm_id("vm-gone"))
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitUntil(lambda: "not found" in wizard.vm_page.status.text(), timeout=10_000)
    assert "vm-gone" in wizard.vm_page.status.text()
    assert not wizard.vm_page.isComplete()
    wizard.cancel_tasks()


# --- issue 15: what the wizard says and shows ----------------------------------------------


def visible_buttons(wizard: CaptureWizard) -> set[str]:
    """The wizard's buttons a user sees: by their text, without the & accelerator."""
    which = (
        QWizard.WizardButton.BackButton,
        QWizard.WizardButton.NextButton,
        QWizard.WizardButton.CommitButton,
        QWizard.WizardButton.FinishButton,
        QWizard.WizardButton.CancelButton,
    )
    return {wizard.button(b).text().replace("&", "") for b in which if wizard.button(b).isVisible()}


def to_review(qtbot: QtBot, wizard: CaptureWizard, choice: str) -> str:
    """Into a new image definition in the production gallery; the review's plain text."""
    to_target(qtbot, wizard, choice)
    page = wizard.target_page
    pick_gallery_version(qtbot, wizard, NEW_DEFINITION)
    page.new_definition_name.setText("review-only")
    page.publisher.setText("Contoso")
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    wizard.next()
    assert wizard.currentId() == REVIEW_PAGE
    return " ".join(wizard.review_page.text.toPlainText().split())


def test_windows_review_says_what_sysprep_really_does(qtbot: QtBot, open_wizard: Any) -> None:
    """sysprep /generalize keeps local accounts (the prepare page says so): the review must not
    claim the admin account is removed, and says what is removed and what Azure does."""
    wizard = open_wizard(seeded.VM_SYSPREP_BLOCKED)
    review = to_review(qtbot, wizard, "runCommand")
    assert "Run sysprep /generalize /oobe /shutdown on vm-ws2022-locked-01" in review
    assert "removed from the guest" not in review
    assert "Local accounts such as contosoadmin stay in the image" in review
    assert "sysprep removes machine-specific data (SID, computer name, drivers)" in review
    assert "resets the administrator credentials" in review
    shot(wizard, "4-review-windows")


def test_linux_review_still_says_the_admin_user_goes(qtbot: QtBot, open_wizard: Any) -> None:
    wizard = open_wizard(seeded.VM_TRUSTED_LAUNCH)
    review = to_review(qtbot, wizard, "runCommand")
    assert "Local accounts" not in review
    assert "is removed from the guest" in review


def test_progress_shows_cancel_while_running_and_close_when_ended(
    qtbot: QtBot, open_wizard: Any, capture_sandbox: SandboxServer
) -> None:
    capture_sandbox.replication_seconds_per_region = 1.0
    wizard = open_wizard(seeded.VM_ARM64)
    to_target(qtbot, wizard, "confirmed", snapshots=False)
    pick_gallery_version(qtbot, wizard, world.GALLERY_IMAGE_ARM64, "3.0.0")
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(wizard.target_page.isComplete, timeout=10_000)
    wizard.next()
    wizard.next()
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: "Running…" in progress.step_states(), timeout=10_000)
    assert visible_buttons(wizard) == {"Cancel"}
    qtbot.waitUntil(lambda: progress.finished, timeout=20_000)
    assert progress.finished_ok, progress.outcome.text()
    assert visible_buttons(wizard) == {"Close"}
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    shot(wizard, "6-progress-buttons")


def test_cancelled_capture_offers_only_close(
    qtbot: QtBot, open_wizard: Any, capture_sandbox: SandboxServer
) -> None:
    capture_sandbox.replication_seconds_per_region = 2.0
    wizard = open_wizard(seeded.VM_ARM64)
    to_target(qtbot, wizard, "confirmed", snapshots=False)
    pick_gallery_version(qtbot, wizard, world.GALLERY_IMAGE_ARM64, "3.1.0")
    wait_checked(qtbot, wizard)
    qtbot.waitUntil(wizard.target_page.isComplete, timeout=10_000)
    wizard.next()
    wizard.next()
    progress = wizard.progress_page
    qtbot.waitUntil(lambda: progress.step_states()[-1] == "Running…", timeout=10_000)
    wizard.reject()
    qtbot.waitUntil(lambda: progress.finished, timeout=5_000)
    assert visible_buttons(wizard) == {"Close"}
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert not wizard.isVisible()


def leaves_on_tab(qtbot: QtBot, table: QWidget) -> bool:
    """One Tab takes the focus out of ``table`` (arrow keys move within it)."""
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=2_000)
    QTest.keyClick(table, Qt.Key.Key_Tab)
    return not table.hasFocus()


def test_tab_never_stays_in_a_table(qtbot: QtBot, open_wizard: Any) -> None:
    wizard = open_wizard(seeded.VM_TRUSTED_LAUNCH)
    wizard.activateWindow()
    qtbot.waitUntil(wizard.isActiveWindow, timeout=2_000)
    assert leaves_on_tab(qtbot, wizard.vm_page.table)
    to_target(qtbot, wizard)
    page = wizard.target_page
    page.region_table.add_row("northeurope", 1)
    assert leaves_on_tab(qtbot, page.regions)


def unnamed_inputs(page: QWidget) -> list[str]:
    """Inputs on ``page`` a screen reader would announce without a name."""
    kinds = (QLineEdit, QComboBox, QAbstractSpinBox, QAbstractItemView, QTextEdit)
    return [
        f"{type(w).__name__} {w.objectName()}"
        for w in page.findChildren(QWidget)
        if isinstance(w, kinds)
        and w.isVisibleTo(page)
        and not w.accessibleName()
        # the cells of the region table are named by that widget (another file's part)
        and not w.objectName().startswith(("region-", "replicas-"))
        and not isinstance(w.parent(), QAbstractSpinBox)  # a spin box's own line edit
        and not isinstance(w.parent(), QComboBox)  # a combo box's own popup list
        and not isinstance(w, QHeaderView)  # a table's header: the table has the name
    ]


def test_every_input_has_a_name_and_a_label(qtbot: QtBot, open_wizard: Any) -> None:
    wizard = open_wizard(seeded.VM_TRUSTED_LAUNCH)
    assert unnamed_inputs(wizard.vm_page) == []
    to_target(qtbot, wizard)
    assert unnamed_inputs(wizard.prepare_page) == []
    page = wizard.target_page
    for kind in (page.managed, page.gallery_target):
        kind.setChecked(True)
        assert unnamed_inputs(page) == [], kind.text()
    buddies = {label.buddy() for label in page.findChildren(QLabel) if label.buddy() is not None}
    for field in (page.image_group, page.image_name, page.gallery, page.gallery_group,
                  page.definition, page.new_definition_name, page.new_gallery_name,
                  page.publisher, page.version, page.regions):  # fmt: skip
        assert field in buddies, field.objectName()
    assert page.eol.accessibleName() == "End-of-life date"
    assert page.image_group.accessibleName() == "Resource group"


def test_end_of_life_reads_as_the_app_writes_dates(qtbot: QtBot, open_wizard: Any) -> None:
    wizard = open_wizard(seeded.VM_TRUSTED_LAUNCH)
    to_target(qtbot, wizard)
    page = wizard.target_page
    page.eol_enabled.setChecked(True)
    page.eol.setDate(QDate(2031, 12, 24))
    # the date part of format_datetime, the one date format of the app
    assert format_datetime(datetime(2031, 12, 24, 12, 0)).startswith(page.eol.text() + " ")

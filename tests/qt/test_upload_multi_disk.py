"""A VM image from several disks in the upload wizard: an OVA's disks, data disks added by drops,
each at its LUN, against the sandbox over HTTP, and the browser shows every disk of the result."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QSpinBox, QWidget
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import DiskRole, NodeRef, SourceKind
from gui.azure.upload.job import ManagedDiskTargetPlan
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.transfers.model import Status
from gui.qt.upload.wizard import PROGRESS_PAGE, UploadWizard
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from tests.fixtures.appliance_images import OvfDisk, make_ova, ovf_text, raw_file
from tests.qt.helpers import AsyncRunner

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
UPLOAD_TIMEOUT_MS = 90_000


@pytest.fixture
def quick_sandbox(fresh_sandbox: Any) -> Any:
    """A sandbox of this test's own, with long-running operations and replication sped up."""
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


def drop_files(target: QWidget, paths: list[Path]) -> bool:
    """Drag ``paths`` over ``target`` and drop them there, as a file manager does."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    enter = QDragEnterEvent(QPoint(40, 40), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(QPointF(40, 40), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return True


def appliance(directory: Path) -> Path:
    """An OVA as VMware exports one: an OVF and two streamOptimized VMDKs made by qemu-img from
    raw disks (the OS disk on SCSI unit 0, the data disk on unit 1)."""
    os_raw = raw_file(directory / "os.raw", 24 * MIB, [(0, os.urandom(2 * MIB))])
    data_raw = raw_file(directory / "data.raw", 21 * MIB + 7 * 512,
                        [(5 * MIB, os.urandom(MIB))])
    vmdks = []
    for raw, name in ((os_raw, "vm-disk1.vmdk"), (data_raw, "vm-disk2.vmdk")):
        vmdk = directory / name
        subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o",
                        "subformat=streamOptimized", str(raw), str(vmdk)], check=True)
        vmdks.append(vmdk)
    ovf = directory / "appliance.ovf"
    ovf.write_text(ovf_text([
        OvfDisk("vm-disk1.vmdk", 24 * MIB, unit=0, file_size=vmdks[0].stat().st_size),
        OvfDisk("vm-disk2.vmdk", 21 * MIB + 7 * 512, unit=1,
                file_size=vmdks[1].stat().st_size),
    ], name="appliance"))
    return make_ova(directory / "appliance.ova", [ovf, *vmdks])


def table_rows(wizard: UploadWizard) -> list[tuple[str, str, str]]:
    """(role, LUN, check) of each row of page 1's disk table."""
    table = wizard.file_page.disk_table
    rows = []

    def text(row: int, column: int) -> str:
        item = table.item(row, column)
        return item.text() if item is not None else ""

    for row in range(table.rowCount()):
        spin = table.cellWidget(row, 1)
        lun = str(spin.value()) if isinstance(spin, QSpinBox) else text(row, 1)
        rows.append((text(row, 0), lun, text(row, 4)))
    return rows


def test_an_ova_with_two_disks_dropped_on_the_window_becomes_a_gallery_version_with_both(
    controller: AppController, window: MainWindow, qtbot: QtBot, run: AsyncRunner,
    tmp_path: Path,
) -> None:
    ova = appliance(tmp_path)
    assert drop_files(window, [ova])
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    assert isinstance(wizard, UploadWizard)
    page = wizard.file_page
    # Page 1 lists the appliance's disks with their role and LUN, each read and checked.
    qtbot.waitUntil(page.isComplete, timeout=20_000)
    rows = table_rows(wizard)
    assert [row[:2] for row in rows] == [("OS disk", "—"), ("Data disk", "0")]
    assert all(row[2] != "Reading…" and not row[2].startswith("Refused") for row in rows), rows
    page.disk_table.setCurrentCell(1, 0)  # the data disk's own facts
    assert page.fact_labels["Size in Azure"].text().startswith("22.0 MiB")
    page.os_box.setCurrentText("Linux")
    page.generation_box.setCurrentIndex(page.generation_box.findData("V2"))
    wizard.next()

    target = wizard.target_page
    target.group_box.setCurrentText(RG_IMAGES)
    target.disk_name.setText("appliance")
    qtbot.waitUntil(target.isComplete, timeout=5000)
    assert target.disk_names() == ["appliance-osdisk", "appliance-datadisk-0"]
    assert "appliance-datadisk-0 (data disk, LUN 0)" in target.names_note.text()
    wizard.next()

    then = wizard.follow_up_page
    assert "1 data disk" in then.disks_note.text()
    then.gallery_radio.setChecked(True)
    then.gallery_box.setCurrentText("gal_appliance")
    then.definition_box.setCurrentText("appliance-linux")
    then.version_edit.setText("1.0.0")
    qtbot.waitUntil(then.isComplete, timeout=10_000)
    wizard.next()
    review = " ".join(wizard.review_page.text.toPlainText().split())
    assert "Data disk 0 appliance.ova, its disk 2 22.0 MiB managed disk appliance-datadisk-0" \
        in review, review
    assert "holding the OS disk and 1 data disk" in review
    plan = wizard.plan()
    assert [(d.disk_index, d.lun) for d in plan.disks()] == [(0, None), (1, 0)]

    wizard.next()  # review → progress: the upload starts
    assert wizard.currentId() == PROGRESS_PAGE
    transfer = wizard.transfer
    assert transfer is not None
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=UPLOAD_TIMEOUT_MS)
    assert transfer.status is Status.COMPLETED, transfer.error
    assert transfer.snapshot is not None
    assert transfer.snapshot.total_bytes == (24 + 22) * MIB + 2 * 512  # both disks, one bar

    expected = NodeRef(SourceKind.GALLERY, (RG_IMAGES, "gal_appliance", "appliance-linux",
                                            "1.0.0"))
    qtbot.waitUntil(
        lambda: window.detail_pane.detail is not None and window.detail_pane.detail.ref == expected,
        timeout=20_000,
    )
    detail = window.detail_pane.detail
    assert detail is not None
    assert [(disk.role, disk.lun) for disk in detail.disks] == [
        (DiskRole.OS, None), (DiskRole.DATA, 0)]
    # The detail pane's disk table shows both.
    table = window.detail_pane.disk_table
    model = table.model()
    texts = [" ".join(str(model.index(row, col).data() or "")
                      for col in range(model.columnCount()))
             for row in range(model.rowCount())]
    assert len(texts) == 2 and "0" in texts[1], texts

    compute = window.session.compute(PRODUCTION_SUBSCRIPTION_ID)
    version = run(compute.gallery_image_versions.get(
        RG_IMAGES, "gal_appliance", "appliance-linux", "1.0.0"))
    (data,) = version.storage_profile.data_disk_images
    assert data.lun == 0 and data.source.id.endswith("/disks/appliance-datadisk-0")
    wizard.accept()


def test_drops_on_the_wizard_add_data_disks_each_at_its_own_lun(
    controller: AppController, window: MainWindow, qtbot: QtBot, tmp_path: Path,
) -> None:
    os_disk = tmp_path / "os.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(os_disk), "24M"], check=True)
    first = tmp_path / "logs.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(first), "32M"], check=True)
    second = raw_file(tmp_path / "db.raw", 21 * MIB, [(0, b"data")])
    broken = tmp_path / "broken.vhd"
    broken.write_bytes(b"conectix" + os.urandom(3 * MIB))

    controller.workflows.open_upload_wizard()
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    assert isinstance(wizard, UploadWizard)
    page = wizard.file_page
    # The first file dropped on an empty wizard is the OS disk, the others data disks.
    assert drop_files(wizard, [os_disk, first])
    assert not drop_files(wizard, [tmp_path / "notes.txt"])  # not a disk image: refused
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    assert page.path == os_disk
    assert drop_files(wizard, [second, broken])
    qtbot.waitUntil(lambda: all(d.inspection is not None for d in page.data_disks),
                    timeout=10_000)
    rows = table_rows(wizard)
    assert [row[:2] for row in rows] == [
        ("OS disk", "—"), ("Data disk", "0"), ("Data disk", "1"), ("Data disk", "2")]
    assert rows[3][2].startswith("Refused:")  # read and checked as the OS disk is
    assert not page.isComplete()
    page.disk_table.setCurrentCell(3, 0)
    finding = page.findings.item(0).text()
    assert len(finding) > 30, finding  # the broken disk's own message below the table
    page.remove_button.click()
    qtbot.waitUntil(page.isComplete, timeout=5000)

    # LUNs are edited in place and must differ.
    spin = page.disk_table.cellWidget(2, 1)
    assert isinstance(spin, QSpinBox) and spin.maximum() == 63
    spin.setValue(0)
    assert not page.isComplete()
    assert "LUN 0 is given to more than one data disk" in page.disk_problems.text()
    spin.setValue(7)
    assert page.isComplete() and page.disk_problems.text() == ""

    wizard.next()
    target = wizard.target_page
    target.group_box.setCurrentText(RG_IMAGES)
    target.disk_name.setText("vm")
    assert target.disk_names() == ["vm-osdisk", "vm-datadisk-0", "vm-datadisk-7"]
    target.blob_radio.setChecked(True)  # one pasted SAS URL cannot take three disks
    assert "several disks" in target.problems.text()
    target.managed_radio.setChecked(True)
    qtbot.waitUntil(target.isComplete, timeout=5000)
    targets = target.targets()
    assert all(isinstance(t, ManagedDiskTargetPlan) for t in targets)
    specs = [t.spec for t in targets if isinstance(t, ManagedDiskTargetPlan)]
    assert [(s.name, s.os_type) for s in specs] == [
        ("vm-osdisk", "Windows"), ("vm-datadisk-0", None), ("vm-datadisk-7", None)]
    wizard.back()
    assert drop_files(wizard, [first])  # page 1 again: drops still add disks
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    assert [d.lun for d in page.data_disks] == [0, 7, 1]  # the lowest free LUN
    wizard.next()
    assert wizard.currentPage() is target
    assert not drop_files(wizard, [first])  # past page 1 the plan is made: no more drops
    wizard.reject()

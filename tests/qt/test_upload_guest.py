"""Page 1 of the upload wizard pre-selects the machine the disk's guest needs, marks it
"detected from the disk", and warns, with the reason, when the administrator picks otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from gui.qt.transfers.model import TransferManager
from gui.qt.upload.wizard import UploadContext, UploadWizard
from tests.fixtures.guest_images import ESP_ARM64, GuestDisks, Part, guest_disks_in

pytestmark = pytest.mark.gui

GEN1_WARNING = ("This disk boots with UEFI from a GPT EFI system partition; a Generation 1 VM "
                "starts with BIOS and will not find a boot loader.")


@pytest.fixture
def disks(tmp_path: Path) -> GuestDisks:
    return guest_disks_in(tmp_path)


@pytest.fixture
def open_wizard(qtbot: QtBot, qloop: qasync.QEventLoop, home: Path) -> Iterator[Any]:
    """Opens the upload wizard on a file and waits until page 1 has read it."""
    wizards: list[UploadWizard] = []
    manager = TransferManager()

    def make(path: Path) -> UploadWizard:
        wizard = UploadWizard(UploadContext(session=None, subscription_id="", location=""),
                              manager, path)
        qtbot.addWidget(wizard)
        wizard.show()
        wizards.append(wizard)
        qtbot.waitUntil(lambda: not wizard.file_page.reading, timeout=30_000)
        return wizard

    yield make
    for wizard in wizards:
        wizard.reject()


def test_arm64_uefi_disk_preselects_gen2_arm64_and_warns_on_gen1(
        open_wizard: Any, disks: GuestDisks) -> None:
    disk = disks.gpt("arm", [Part(34, "EF00", "esp", ESP_ARM64), Part(32, "8300", "ext4")])
    wizard = open_wizard(disk)
    page = wizard.file_page
    assert page.image is not None and page.error == ""
    assert page.os_box.currentText() == "Linux"
    assert page.generation_box.currentData() == "V2"
    assert page.architecture_box.currentText() == "Arm64"
    marks = page.guest.marks
    for key in ("os", "generation", "architecture"):
        assert marks[key].isVisibleTo(page)
        assert "detected from the disk" in marks[key].text()
    assert "BOOTAA64.EFI" in marks["architecture"].toolTip()  # the evidence, on hover
    assert not page.guest.warning.isVisibleTo(page)

    page.generation_box.setCurrentIndex(page.generation_box.findData("V1"))  # the user picks Gen1
    warning = page.guest.warning
    assert warning.isVisibleTo(page)
    assert GEN1_WARNING in warning.text()
    assert "Generation 2 only" in warning.text()  # Arm64 with Gen1 cannot work either
    assert marks["generation"].text() == "detected from the disk: Gen2"
    # a warning, not a block: the administrator has the last word
    assert page.facts().hyper_v_generation == "V1"
    assert wizard.button(QWizard.WizardButton.NextButton).isEnabled()

    page.generation_box.setCurrentIndex(page.generation_box.findData("V2"))
    assert not warning.isVisibleTo(page)
    page.architecture_box.setCurrentText("x64")
    assert "built for Arm64; an x64 VM cannot run it" in warning.text()


def test_bios_windows_disk_preselects_gen1_and_warns_on_gen2(
        open_wizard: Any, disks: GuestDisks) -> None:
    disk = disks.mbr("win", [Part(32, "7", "ntfs", bootable=True)])
    page = open_wizard(disk).file_page
    assert page.os_box.currentText() == "Windows"
    assert page.generation_box.currentData() == "V1"
    assert not page.guest.warning.isVisibleTo(page)
    page.generation_box.setCurrentIndex(page.generation_box.findData("V2"))
    assert "a Generation 2 VM starts with UEFI and will not find a boot loader" in (
        page.guest.warning.text())
    page.os_box.setCurrentText("Linux")
    assert "The disk holds Windows" in page.guest.warning.text()


def test_a_disk_that_tells_nothing_leaves_the_choices_alone(
        open_wizard: Any, disks: GuestDisks) -> None:
    page = open_wizard(disks.blank("blank", 4)).file_page
    assert page.generation_box.currentData() == "V2"  # the page's own default
    assert page.guest.marks["generation"].text() == "not told by the disk"
    assert not page.guest.warning.isVisibleTo(page)

"""Page 1 of the upload wizard: the file is read off the GUI thread, the page waits for it, a
closed wizard drops its reading, and a file Azure cannot take is refused by what it contains."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from gui.diskimage import DiskImage
from gui.qt.transfers.model import TransferManager
from gui.qt.upload.wizard import UploadContext, UploadWizard

pytestmark = pytest.mark.gui


@pytest.fixture
def open_wizard(qtbot: QtBot, qloop: qasync.QEventLoop, home: Path) -> Iterator[Any]:
    """Opens the upload wizard on a file as the window does (no connection is needed for
    page 1); rejects every wizard it opened at the end."""
    wizards: list[UploadWizard] = []
    manager = TransferManager()

    def make(path: Path) -> UploadWizard:
        context = UploadContext(session=None, subscription_id="", location="")
        wizard = UploadWizard(context, manager, path)
        qtbot.addWidget(wizard)
        wizard.show()
        wizards.append(wizard)
        return wizard

    yield make
    for wizard in wizards:
        wizard.reject()


class Readings(list[tuple[DiskImage, bool]]):
    """Every DiskImage opened and every block-table walk, with whether it ran on the GUI
    thread (the real methods run; this only records where). ``gate`` holds the walk until it is
    set, so a test can act while a reading is surely under way."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.walking = threading.Event()


@pytest.fixture
def readings(monkeypatch: pytest.MonkeyPatch) -> Readings:
    seen = Readings()
    real_init = DiskImage.__init__
    real_ranges = DiskImage.data_ranges

    def init(self: DiskImage, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        seen.append((self, threading.current_thread() is threading.main_thread()))

    def data_ranges(self: DiskImage) -> Any:
        seen.append((self, threading.current_thread() is threading.main_thread()))
        seen.walking.set()
        seen.gate.wait(30)
        return real_ranges(self)

    monkeypatch.setattr(DiskImage, "__init__", init)
    monkeypatch.setattr(DiskImage, "data_ranges", data_ranges)
    return seen


def big_vhdx(directory: Path) -> Path:
    """A legitimate 2 TiB dynamic VHDX with 1 MiB blocks, sparse on disk (16 MiB of table)."""
    path = directory / "big.vhdx"
    subprocess.run(
        ["qemu-img", "create", "-q", "-f", "vhdx", "-o", "block_size=1M", str(path), "2T"],
        check=True,
    )
    return path


def next_enabled(wizard: UploadWizard) -> bool:
    return wizard.button(QWizard.WizardButton.NextButton).isEnabled()


def findings_of(wizard: UploadWizard) -> list[str]:
    page = wizard.file_page
    return [page.findings.item(i).text() for i in range(page.findings.count())]


def test_the_file_is_read_off_the_gui_thread_and_page_one_waits_for_it(
    open_wizard: Any, qtbot: QtBot, tmp_path: Path, readings: Readings
) -> None:
    wizard = open_wizard(big_vhdx(tmp_path))
    page = wizard.file_page
    assert page.reading and page.busy_row.isVisibleTo(page)
    assert findings_of(wizard) == ["Reading the file…"]
    assert not page.isComplete() and not next_enabled(wizard)
    qtbot.waitUntil(lambda: not page.reading, timeout=30_000)
    assert page.image is not None and page.error == ""
    assert page.isComplete() and next_enabled(wizard)
    assert not page.busy_row.isVisibleTo(page)
    assert page.fact_labels["Virtual size"].text().startswith("2.0 TiB")
    assert page.fact_labels["Data held"].text().startswith("at most 0 B")
    assert readings, "the file was not opened"
    on_gui_thread = [image for image, gui in readings if gui]
    assert on_gui_thread == []  # opening and the block-table walk ran on a worker thread


def test_closing_the_wizard_while_it_reads_drops_the_reading(
    open_wizard: Any, qtbot: QtBot, tmp_path: Path, readings: Readings
) -> None:
    readings.gate.clear()
    wizard = open_wizard(big_vhdx(tmp_path))
    page = wizard.file_page
    qtbot.waitUntil(readings.walking.is_set, timeout=30_000)  # opened, walking its table
    wizard.reject()  # closed before the file was read to the end
    qtbot.waitUntil(lambda: not page.reading, timeout=5000)  # the page let go of it
    readings.gate.set()
    image = readings[0][0]
    qtbot.waitUntil(lambda: image.closed, timeout=30_000)  # the late image is closed, not kept
    assert page.image is None


def test_a_qcow2_named_img_is_read_on_page_one_as_qcow2(
    open_wizard: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    """A cloud image in qcow2 named .img is not a raw disk: uploading it byte for byte would give
    a disk Azure cannot boot. Page 1 reads it by its content, as qcow2, with no conversion."""
    source = tmp_path / "source.raw"
    source.write_bytes(b"\x00" * (1 << 20) + b"\xeb\x63\x90" + b"\x01" * 509)
    source.write_bytes(source.read_bytes().ljust(20 << 20, b"\x00"))
    cloud = tmp_path / "ubuntu-cloud.img"
    subprocess.run(
        ["qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(source), str(cloud)],
        check=True,
    )
    assert cloud.read_bytes()[:4] == b"QFI\xfb"
    wizard = open_wizard(cloud)
    page = wizard.file_page
    qtbot.waitUntil(lambda: not page.reading, timeout=30_000)
    assert page.image is not None and not page.error, page.error
    assert page.fact_labels["Format"].text().startswith("qcow2")
    assert page.image.read(1 << 20, 3) == b"\xeb\x63\x90"  # the guest's bytes, not qcow2's


def test_a_format_still_refused_shows_the_conversion_command_on_page_one(
    open_wizard: Any, qtbot: QtBot, tmp_path: Path
) -> None:
    """QED (and QCOW v1, Parallels, DMG) are not read: page 1 says what the file is and holds
    the conversion command, selectable for copying."""
    old = tmp_path / "legacy.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qed", str(old), "64M"], check=True)
    wizard = open_wizard(old)
    page = wizard.file_page
    qtbot.waitUntil(lambda: not page.reading, timeout=30_000)
    assert page.image is None
    assert "qed" in page.error.casefold()
    assert "qemu-img convert" in page.error and "-O vpc" in page.error
    assert "subformat=fixed" in page.error
    assert any("qemu-img convert" in text for text in findings_of(wizard))
    assert not page.isComplete() and not next_enabled(wizard)
    assert "Azure will accept" not in " ".join(findings_of(wizard))
    assert page.fact_labels["Format"].text().startswith("QED")
    assert page.fact_labels["Conversion"].text().startswith("qemu-img convert -f qed -O vpc")

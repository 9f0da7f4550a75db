"""Azure's naming rules and the disk-image formats, shown in the window's language.

The name checks (gui.azure.naming) and ``ImageFormat.label`` hand the window Messages; these
tests read them in German as a German user sees them: the upload wizard's file page names the
format, its target page says what is wrong with a disk name.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from gui.azure import naming
from gui.diskimage import ImageFormat
from gui.i18n import MESSAGE_CONTEXT, Text
from gui.qt import i18n
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.upload.wizard import UploadWizard
from gui.sandbox.seed.world import RG_IMAGES
from tests.fixtures.disk_images import MIB, DiskImageFactory

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def german(qapp: QApplication) -> Iterator[None]:
    assert i18n.install_translators("de") == "de"
    yield
    i18n.install_translators("en")


def test_format_labels_are_translatable_and_their_english_is_unchanged(tmp_path: Path) -> None:
    ts = tmp_path / "model_de.ts"
    lupdate = Path(sys.executable).with_name("pyside6-lupdate")
    subprocess.run([str(lupdate), "-silent", "-locations", "none",
                    str(ROOT / "gui" / "diskimage" / "model.py"), "-ts", str(ts)], check=True)
    sources = {msg.findtext("source") for ctx in ET.parse(ts).getroot().iter("context")
               if (ctx.findtext("name") or "") == MESSAGE_CONTEXT for msg in ctx.iter("message")}
    for fmt in ImageFormat:
        label = fmt.label
        assert isinstance(label, Text)
        assert label == fmt.value  # the English label (inspect's text output) as before
        if fmt is not ImageFormat.QCOW2:  # QEMU's own name, the same in every language
            assert label.message.template in sources, fmt


def test_name_rules_read_in_german(german: None) -> None:
    checks = {
        naming.disk_name: ["", " d", "bad name!"],
        naming.image_name: ["", "_img"],
        naming.gallery_name: ["", "gal-contoso"],
        naming.definition_name: ["", "u-"],
        naming.resource_group_name: ["", "rg."],
        naming.storage_account_name: ["", "Contoso"],
        naming.container_name: ["", "a--b"],
        naming.blob_name: ["", "x."],
        naming.version_name: ["", "1.0", "1.2.4294967296"],
    }
    for check, names in checks.items():
        for name in names:
            problem = check(name)
            assert problem is not None
            text = i18n.render_text(problem)
            assert text != str(problem), (check.__name__, name, text)
    assert i18n.render_text(naming.disk_name("")) == (
        "Geben Sie einen Namen für den Datenträger ein.")
    assert i18n.render_text(naming.resource_group_name("")) == (
        "Geben Sie einen Namen für die Ressourcengruppe ein.")
    # The limit is a number the locale writes: German groups thousands with a period.
    assert i18n.render_text(naming.blob_name("y" * 1025)) == (
        "Der Name eines Blobs hat höchstens 1.024 Zeichen.")


def test_the_upload_wizard_names_the_format_and_a_bad_disk_name_in_german(
    german: None, controller: AppController, connected: MainWindow, qtbot: QtBot,
    disk_images: DiskImageFactory,
) -> None:
    made = disk_images.make("vpc", 24 * MIB, "start", subformat="dynamic")
    controller.workflows.open_upload_wizard(made.path)
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    assert isinstance(wizard, UploadWizard)
    page = wizard.file_page
    qtbot.waitUntil(page.isComplete, timeout=10_000)
    assert page.fact_labels["Format"].text() == "VHD (dynamisch erweiterbar)"

    page.os_box.setCurrentText("Linux")
    page.generation_box.setCurrentIndex(page.generation_box.findData("V2"))
    wizard.next()
    target = wizard.target_page
    assert wizard.currentPage() is target and target.managed
    target.group_box.setCurrentText(RG_IMAGES)
    target.disk_name.setText("bad name!")
    assert not target.isComplete()
    assert target.problems.text() == (
        "Der Name eines Datenträgers besteht aus 1–80 Buchstaben, Ziffern, Unterstrichen, "
        "Punkten oder Bindestrichen, beginnt mit einem Buchstaben oder einer Ziffer und endet "
        "mit einem Buchstaben, einer Ziffer oder einem Unterstrich.")
    target.disk_name.setText("")
    assert "Geben Sie einen Namen für den Datenträger ein." in target.problems.text()


def test_a_vhd_blob_s_disk_row_reads_in_german(german: None) -> None:
    """The disk table renders our own texts (a blob's "Page blob") and exact sizes in German."""
    from gui.azure.catalog.nodes import DiskRole, DiskSpec
    from gui.i18n import QT_TR_NOOP, Text, message
    from gui.qt.browser.disk_table import DiskTableModel

    model = DiskTableModel()
    model.set_disks([DiskSpec(DiskRole.OS, size_bytes=4 * MIB + 512,
                              storage_type=Text(message(QT_TR_NOOP("Page blob"))))])
    row = [model.data(model.index(0, column)) for column in range(model.columnCount())]
    assert row[0] == "Betriebssystemdatenträger"
    assert "4,0 MiB" in row and "Seitenblob" in row

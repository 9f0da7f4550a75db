"""The engines' errors, findings and step texts rendered in another language by the window.

A small German catalogue is built here from two of the engines' templates (and one plural), so
the test does not depend on the shipped catalogue's progress: ``render_text`` must translate our
sentences, fill in their arguments, and leave what Azure wrote as Azure wrote it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from PySide6.QtCore import QCoreApplication, QTranslator
from PySide6.QtWidgets import QApplication

from gui.azure.errors import NotFoundError
from gui.azure.steps import StepSpec
from gui.diskimage.errors import EmptyImageError
from gui.diskimage.model import Finding, Level
from gui.i18n import QT_TR_NOOP, Message, Text, english, plural, tr
from gui.qt.i18n import render_text

EMPTY = "{path} is empty, so it holds no disk. Choose the disk image file itself."
EMPTY_DE = "{path} ist leer und enthält daher keinen Datenträger. Wählen Sie die Imagedatei aus."
ADVICE = "It may have been deleted or renamed. Refresh the tree."
ADVICE_DE = "Möglicherweise wurde es gelöscht oder umbenannt. Aktualisieren Sie die Ansicht."
REQUEST = "Request id: {request_id}"
REQUEST_DE = "Anforderungs-ID: {request_id}"
DELETE = "Delete VM {name}"
DELETE_DE = "VM {name} löschen"
BAD = "%n block map entry points past the end of the file (first: block {first})."
BAD_OTHER = "%n block map entries point past the end of the file (first: block {first})."
BAD_DE = ["%n Eintrag zeigt hinter das Dateiende (erster: Block {first}).",
          "%n Einträge zeigen hinter das Dateiende (erster: Block {first})."]


def _ts() -> str:
    plain = "".join(
        f"<message><source>{escape(s)}</source><translation>{escape(t)}</translation></message>"
        for s, t in ((EMPTY, EMPTY_DE), (ADVICE, ADVICE_DE), (REQUEST, REQUEST_DE),
                     (DELETE, DELETE_DE)))
    forms = "".join(f"<numerusform>{escape(form)}</numerusform>" for form in BAD_DE)
    numerus = (f'<message numerus="yes"><source>{escape(BAD)}</source>'
               f"<translation>{forms}</translation></message>")
    return ('<?xml version="1.0" encoding="utf-8"?><!DOCTYPE TS><TS version="2.1" language="de">'
            f"<context><name></name>{plain}{numerus}</context></TS>")


@pytest.fixture
def german(qapp: QApplication, tmp_path: Path) -> Iterator[None]:
    ts, qm = tmp_path / "engine_de.ts", tmp_path / "engine_de.qm"
    ts.write_text(_ts(), encoding="utf-8")
    lrelease = Path(sys.executable).with_name("pyside6-lrelease")
    subprocess.run([str(lrelease), "-silent", str(ts), "-qm", str(qm)], check=True)
    translator = QTranslator()
    assert translator.load(str(qm))
    QCoreApplication.installTranslator(translator)
    try:
        yield
    finally:
        QCoreApplication.removeTranslator(translator)


def test_a_disk_image_error_is_shown_in_german_with_its_arguments(german: None) -> None:
    error = EmptyImageError(Path("/data/disk.vhd"))
    assert render_text(error) == (
        "/data/disk.vhd ist leer und enthält daher keinen Datenträger. Wählen Sie die Imagedatei "
        "aus.")
    assert str(error).startswith("/data/disk.vhd is empty")  # logs and commands: English


def test_an_azure_error_keeps_azures_words_and_gives_our_advice_in_german(german: None) -> None:
    error = NotFoundError("The Resource 'Microsoft.Compute/galleries/gal' was not found.",
                          code="ResourceNotFound", request_id="0b1c-42")
    assert render_text(error) == (
        "ResourceNotFound: The Resource 'Microsoft.Compute/galleries/gal' was not found.\n"
        "Möglicherweise wurde es gelöscht oder umbenannt. Aktualisieren Sie die Ansicht.\n"
        "Anforderungs-ID: 0b1c-42")
    assert render_text(error.advice) == ADVICE_DE
    assert english(error) == error.user_text()


def test_plural_findings_take_the_catalogues_forms(german: None) -> None:
    def finding(count: int) -> Finding:
        return Finding(Level.ERROR, "vdi-block-outside-file",
                       plural(tr(BAD, "", count), BAD_OTHER, count, first=7))

    assert render_text(finding(1)) == "1 Eintrag zeigt hinter das Dateiende (erster: Block 7)."
    assert render_text(finding(3)) == "3 Einträge zeigen hinter das Dateiende (erster: Block 7)."
    assert finding(3).message == (
        "3 block map entries point past the end of the file (first: block 7).")


def test_a_step_title_is_shown_in_german_and_stays_english_as_a_string(german: None) -> None:
    step = StepSpec("delete-vm", Text(Message(QT_TR_NOOP("Delete VM {name}"), {"name": "vm1"})))
    assert render_text(step.title) == "VM vm1 löschen"
    assert step.title == "Delete VM vm1"
    assert f"{step.title:<20}|" == "Delete VM vm1       |"  # the commands format it as text


def test_without_a_catalogue_entry_the_english_is_shown(qapp: QApplication) -> None:
    error = EmptyImageError(Path("/data/disk.vhd"))
    assert render_text(error) == str(error)

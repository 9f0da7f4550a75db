"""The window and both wizards in German: every visible text is in the German catalogue.

The widget tree is walked (labels, buttons, group boxes, tabs, placeholders, tooltips, headers,
menus, window and page titles). A text fails when it is one of the catalogue's English sources
left untranslated, or when it reads as an English sentence the catalogue does not know at all
(a string nobody marked for translation). Everything else is data: resource names, regions,
sizes, paths, which Azure writes and the app shows as they are.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QMenu,
    QTabWidget,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from gui.qt import i18n
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.qt.upload.wizard import UploadWizard
from tests.fixtures.disk_images import MIB, DiskImageFactory
from tests.qt.helpers import AsyncRunner, open_path

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "resources" / "translations" / "azure_image_studio_de.ts"
# Words that mark an English sentence and are not German words.
_HORIZONTAL = Qt.Orientation.Horizontal
ENGLISH = {"the", "and", "to", "of", "is", "are", "with", "this", "that", "your", "from", "for",
           "will", "can", "what", "when", "which", "you", "it's", "isn't", "don't", "has", "have"}


def _pattern(text: str) -> re.Pattern[str]:
    """A catalogue text as a pattern: placeholders ({name}, {n:,}, %n, %1) match anything."""
    parts = re.split(r"(\{[^{}]*\}|%n|%L?\d)", _plain(text))
    return re.compile("".join(".+?" if i % 2 else re.escape(p) for i, p in enumerate(parts))
                      + r"\Z", re.S)


def _plain(text: str) -> str:
    if "<" in text and ">" in text:
        doc = QTextDocument()
        doc.setHtml(text)
        text = doc.toPlainText()
    return re.sub(r"&(?=\w)", "", text).replace("&&", "&").strip()


def _catalogue() -> tuple[list[re.Pattern[str]], list[tuple[re.Pattern[str], str]]]:
    german: list[re.Pattern[str]] = []
    english: list[tuple[re.Pattern[str], str]] = []
    for msg in ET.parse(CATALOGUE).getroot().iter("message"):
        source = msg.findtext("source") or ""
        translation = msg.find("translation")
        forms = [f.text or "" for f in translation.iter("numerusform")] if translation is not None \
            else []
        texts = forms or [translation.text or "" if translation is not None else ""]
        for text in texts:
            if text.strip():
                german.append(_pattern(text))
        if _plain(source) and all(_plain(t) != _plain(source) for t in texts):
            english.append((_pattern(source), source))
    return german, english


def _texts(root: QWidget) -> Iterator[tuple[str, str]]:
    """(where, text) of everything a user sees in ``root``."""
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        if widget is not root and not widget.isVisibleTo(root):
            continue
        where = f"{type(widget).__name__}#{widget.objectName()}"
        if widget.isWindow():
            yield where, widget.windowTitle()
        if isinstance(widget, QLabel):
            yield where, widget.text()
        if isinstance(widget, QAbstractButton):
            yield where, widget.text()
        if isinstance(widget, QGroupBox):
            yield where, widget.title()
        if isinstance(widget, QLineEdit):
            yield where, widget.placeholderText()
        if isinstance(widget, QTabWidget):
            for i in range(widget.count()):
                yield where, widget.tabText(i)
        if isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            try:
                columns = model.columnCount(QModelIndex())
            except TypeError:  # a list model keeps columnCount private: one column, no header
                columns = 0
            for column in range(columns):
                yield where, str(model.headerData(column, _HORIZONTAL) or "")
        if isinstance(widget, QComboBox) and widget.lineEdit() is not None:
            yield where, widget.lineEdit().placeholderText()  # type: ignore[union-attr]
        if isinstance(widget, QWizard):
            page = widget.currentPage()
            if page is not None:
                yield where, page.title()
                yield where, page.subTitle()
        if isinstance(widget, QMenu):
            for action in widget.actions():
                yield f"{where} menu", action.text()
        yield f"{where} tooltip", widget.toolTip()
    menu_bar = root.findChild(QWidget, "qt_menubar") or getattr(root, "menuBar", lambda: None)()
    if menu_bar is not None:
        for action in menu_bar.actions():
            yield "menu bar", action.text()
            menu = action.menu()
            if isinstance(menu, QMenu):
                for item in menu.actions():
                    yield f"menu {action.text()}", item.text()
                    yield f"menu {action.text()} tip", item.toolTip()




def untranslated(root: QWidget) -> list[str]:
    german, english = _catalogue()
    problems: list[str] = []
    for where, raw in _texts(root):
        text = _plain(raw)
        if not text or not re.search(r"[A-Za-zÄÖÜäöüß]{3}", text):
            continue
        pieces = [text, *[p.strip() for p in re.split(r"\n+", text) if p.strip()]]
        # A tool button shows its action's text without the ellipsis ("VM erfassen" for
        # "VM &erfassen…").
        pieces.append(text + "…")
        if any(p.match(piece) for piece in pieces for p in german):
            continue
        source = next((src for p, src in english if p.match(text)), None)
        if source is not None:
            problems.append(f"{where}: untranslated {text!r}")
            continue
        words = set(re.findall(r"[a-z']+", text.lower()))
        if len(words & ENGLISH) >= 2:
            problems.append(f"{where}: not in the catalogue {text!r}")
    return sorted(set(problems))


@pytest.fixture
def german(qapp: Any) -> Iterator[None]:
    assert i18n.install_translators("de") == "de"
    try:
        yield
    finally:
        i18n.install_translators("en")


def test_the_main_window_is_german(
    german: None, qtbot: QtBot, run: AsyncRunner, home: Path, new_session: Any,
) -> None:
    from tests.qt.helpers import make_settings

    controller = AppController(make_settings(home))
    window = controller.window
    qtbot.addWidget(window)
    window.show()
    run(window.use_session(new_session()))
    open_path(window, qtbot, "Azure Marketplace")
    problems = untranslated(window)
    window.cancel_tasks()
    assert not problems, "\n".join(problems[:60])


def test_the_upload_wizard_is_german_on_every_page(
    german: None, qtbot: QtBot, run: AsyncRunner, home: Path, new_session: Any,
    disk_images: DiskImageFactory,
) -> None:
    from tests.qt.helpers import make_settings

    controller = AppController(make_settings(home))
    window: MainWindow = controller.window
    qtbot.addWidget(window)
    window.show()
    run(window.use_session(new_session()))
    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(MIB))])
    controller.workflows.open_upload_wizard(made.path)
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    assert isinstance(wizard, UploadWizard)
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    problems = untranslated(wizard)
    wizard.next()
    qtbot.wait(300)
    problems += untranslated(wizard)
    wizard.reject()
    window.cancel_tasks()
    assert not problems, "\n".join(problems[:60])


def test_the_settings_dialog_is_german(german: None, controller: AppController,
                                       qtbot: QtBot) -> None:
    controller.open_settings()
    dialog = controller.settings_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=3000)
    problems: list[str] = []
    for index in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(index)
        problems += untranslated(dialog)
    dialog.reject()
    assert not problems, "\n".join(problems[:60])


def test_the_capture_wizard_is_german(
    german: None, qtbot: QtBot, run: AsyncRunner, new_session: Any,
) -> None:
    from azure.mgmt.core.tools import resource_id

    from gui.qt.capture.wizard import CaptureWizard
    from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
    from gui.sandbox.seed.vms import RG_VMS, VM_WINDOWS

    vm = resource_id(subscription=PRODUCTION_SUBSCRIPTION_ID, resource_group=RG_VMS,
                     namespace="Microsoft.Compute", type="virtualMachines", name=VM_WINDOWS)
    session = new_session()
    wizard = CaptureWizard(session, PRODUCTION_SUBSCRIPTION_ID, "westeurope", vm_id=vm)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitUntil(wizard.vm_page.isComplete, timeout=10_000)
    problems = untranslated(wizard)
    wizard.next()
    qtbot.wait(500)
    problems += untranslated(wizard)
    wizard.cancel_tasks()
    assert not problems, "\n".join(problems[:60])

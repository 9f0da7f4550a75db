"""Help: F1 opens the page of what has focus, in the user's language; the Help menu's shortcut
list, About box and diagnostics come from the running app."""

from __future__ import annotations

import base64
import importlib
import logging
import tomllib
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import PySide6
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from gui import resources
from gui.qt.app_controller import AppController
from gui.qt.help import HelpMenu, install_help
from gui.qt.help.about import LICENCE, versions
from gui.qt.help.shortcuts import plain
from gui.qt.help.topics import TOPICS, all_topic_files
from gui.qt.help.window import HelpWindow
from gui.qt.i18n import install_translators
from gui.qt.main_window import MainWindow
from gui.qt.upload.wizard import UploadWizard

pytestmark = [
    pytest.mark.gui,
    # the help window raises itself; the offscreen platform the tests run on cannot
    pytest.mark.qt_log_ignore("This plugin does not support raise"),
]

HELP_ROOT = resources.root() / "help"
LANGUAGES = ("en", "de")
MIB = 1024 * 1024


@pytest.fixture
def help_window(qapp: QApplication) -> Iterator[HelpWindow]:
    """The app's one help window, closed again after the test."""
    window = install_help(qapp).window
    yield window
    window.close()


def help_menu(window: MainWindow) -> HelpMenu:
    menu = window.findChild(HelpMenu)
    assert isinstance(menu, HelpMenu), "the main window has no Help menu"
    return menu


# --- F1 ------------------------------------------------------------------------------------------


def press_f1(qtbot: QtBot, widget: QWidget) -> None:
    """F1 as a user presses it: in the window in front, with ``widget`` focused. The help
    window, once shown, is in front until the user comes back to the window they were in."""
    window = widget.window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    QTest.keyClick(widget, Qt.Key.Key_F1)


def test_f1_on_the_main_window_opens_the_main_windows_page(
    window: MainWindow, help_window: HelpWindow, qtbot: QtBot
) -> None:
    window.tree.setFocus()
    press_f1(qtbot, window.tree)
    qtbot.waitUntil(help_window.isVisible, timeout=3000)
    assert help_window.current_page() == "main_window"
    assert help_window.browser.documentTitle() == "The main window"
    # the Help menu's entry answers the same, and says F1
    help_window.close()
    assert help_menu(window).action_help.shortcut().toString() == "F1"
    help_menu(window).action_help.trigger()
    assert help_window.isVisible() and help_window.current_page() == "main_window"


def test_f1_in_a_panel_opens_the_panels_page(
    window: MainWindow, help_window: HelpWindow, qtbot: QtBot
) -> None:
    window.log_dock.show()
    window.log_dock.filter_edit.setFocus()
    press_f1(qtbot, window.log_dock.filter_edit)
    assert help_window.current_page() == "log"
    window.transfers_dock.show()
    window.transfers_dock.table.setFocus()
    press_f1(qtbot, window.transfers_dock.table)
    assert help_window.current_page() == "transfers"


def test_f1_in_the_upload_wizard_opens_the_page_shown(
    controller: AppController,
    connected: MainWindow,
    help_window: HelpWindow,
    qtbot: QtBot,
    disk_images: Any,
) -> None:
    made = disk_images.make("vpc", 40 * MIB, "scattered", subformat="dynamic")
    controller.workflows.open_upload_wizard(made.path)
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    assert isinstance(wizard, UploadWizard)
    press_f1(qtbot, wizard.file_page.path_edit)
    assert help_window.current_page() == "upload_file"
    qtbot.waitUntil(wizard.file_page.isComplete, timeout=10_000)
    wizard.file_page.os_box.setCurrentText("Linux")
    wizard.next()
    assert wizard.currentPage() is wizard.target_page
    press_f1(qtbot, wizard.target_page.disk_name)
    assert help_window.current_page() == "upload_target"
    help_window.close()
    # the wizard's own buttons belong to the wizard, not the page: still the page's topic
    press_f1(qtbot, wizard.button(wizard.WizardButton.NextButton))
    assert help_window.isVisible() and help_window.current_page() == "upload_target"
    wizard.reject()


def test_f1_in_a_dialog_over_the_window_opens_the_dialogs_page(
    controller: AppController, help_window: HelpWindow, qtbot: QtBot
) -> None:
    # The settings dialog is window-modal over the main window, whose F1 it blocks, and has no
    # F1 of its own: it gets one when it takes the focus.
    controller.open_settings()
    dialog = controller.settings_dialog
    assert dialog is not None
    try:
        press_f1(qtbot, dialog.findChildren(QWidget)[-1])
        assert help_window.isVisible() and help_window.current_page() == "settings"
        help_window.close()
        # and the main window's own F1 still answers once the dialog is gone
        dialog.reject()
        press_f1(qtbot, controller.window.tree)
        assert help_window.isVisible() and help_window.current_page() == "main_window"
    finally:
        if controller.settings_dialog is not None:
            controller.settings_dialog.close()


def test_help_is_shown_in_the_language_install_translators_chose(
    window: MainWindow, help_window: HelpWindow, qtbot: QtBot
) -> None:
    try:
        assert install_translators("de") == "de"
        press_f1(qtbot, window.tree)
        shown = help_window.current_file()
        assert shown == HELP_ROOT / "de" / "main_window.html"
        assert help_window.browser.documentTitle() == "Das Hauptfenster"
        # a link leads to the German page too
        help_window.follow(help_window.browser.source().resolved("transfers.html"))
        assert help_window.current_file() == HELP_ROOT / "de" / "transfers.html"
    finally:
        install_translators("en")
    press_f1(qtbot, window.tree)
    assert help_window.current_file() == HELP_ROOT / "en" / "main_window.html"


def test_links_move_between_pages_and_back(help_window: HelpWindow) -> None:
    help_window.show_topic("index")
    help_window.follow(help_window.browser.source().resolved("upload_target.html#sas"))
    assert help_window.current_page() == "upload_target"
    assert help_window.action_back.isEnabled()
    help_window.action_back.trigger()
    assert help_window.current_page() == "index"


# --- the pages themselves ------------------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.anchors: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "a" and values.get("name"):
            self.anchors.add(str(values["name"]))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_topic_has_a_page_in_every_language(language: str) -> None:
    folder = HELP_ROOT / language
    missing = [name for name in all_topic_files() if not (folder / f"{name}.html").is_file()]
    assert not missing, f"help pages missing in {folder}: {missing}"
    assert {p.stem for p in folder.glob("*.html")} == set(all_topic_files()), (
        "a page no topic or link reaches, or a topic without its page"
    )
    for path in folder.glob("*.html"):
        assert _parse(path).title.strip(), f"{path} has no <title>"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_link_resolves_to_a_page_and_section(language: str) -> None:
    folder = HELP_ROOT / language
    broken = []
    for path in sorted(folder.glob("*.html")):
        for href in _parse(path).hrefs:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https", "mailto"):
                continue
            target = folder / parts.path if parts.path else path
            if not target.is_file():
                broken.append(f"{path.name}: {href} (no such page)")
            elif parts.fragment and parts.fragment not in _parse(target).anchors:
                broken.append(f"{path.name}: {href} (no such section)")
    for topic in TOPICS.values():
        name, _, fragment = topic.partition("#")
        if fragment and fragment not in _parse(folder / f"{name}.html").anchors:
            broken.append(f"topic {topic} (no such section)")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("class_name", sorted(TOPICS))
def test_every_topic_names_a_class_that_exists(class_name: str) -> None:
    module, _, name = class_name.rpartition(".")
    assert hasattr(importlib.import_module(module), name), f"{class_name} is gone: update TOPICS"


def test_every_upload_wizard_page_has_a_topic_of_its_own(
    controller: AppController, connected: MainWindow, qtbot: QtBot
) -> None:
    from gui.qt.help.topics import topic_for

    controller.workflows.open_upload_wizard(None)
    qtbot.waitUntil(lambda: bool(controller.workflows.wizards), timeout=5000)
    wizard = controller.workflows.wizards[-1]
    topics = [topic_for(wizard.page(page_id)) for page_id in wizard.pageIds()]
    assert len(set(topics)) == len(topics) == 5, topics
    wizard.reject()


# --- the Help menu -------------------------------------------------------------------------------


def test_the_shortcut_list_is_read_from_the_windows_actions(window: MainWindow) -> None:
    dialog = help_menu(window).show_shortcuts()
    try:
        rows = {(row.keys, row.command) for row in dialog.rows}
        assert ("Ctrl+U", plain(window.action_upload.text())) in rows, rows
        assert ("Ctrl+,", plain(window.action_settings.text())) in rows, rows
        assert "F1" in dialog.key_texts() and "Ctrl+T" in dialog.key_texts()
        assert "Alt+N" in dialog.key_texts()  # the wizards' Next, from Qt's own button text
        # a label's Alt+letter that moves the focus to its field is a key of the window too
        mnemonic = QKeySequence.mnemonic(window.location_label.text()).toString()
        assert mnemonic in dialog.key_texts()
        assert dialog.table.rowCount() == len(dialog.rows)
        # a key added to the window shows up without anyone editing a list
        window.action_find.setShortcuts([window.action_find.shortcut(), QKeySequence("Ctrl+Alt+F")])
    finally:
        dialog.close()
    again = help_menu(window).show_shortcuts()
    assert "Ctrl+Alt+F" in again.key_texts()
    again.close()


def test_about_names_the_versions_of_qt_pyside6_and_the_azure_sdks(window: MainWindow) -> None:
    box = help_menu(window).show_about()
    try:
        text = box.text_shown()
        assert f"<td>PySide6</td><td>{PySide6.__version__}</td>" in text
        for sdk in ("azure-identity", "azure-mgmt-compute", "azure-storage-blob", "azure-core"):
            assert sdk in text
        names = dict(versions())
        assert names["azure-mgmt-compute"][0].isdigit()
        assert "Licence: MIT" in text
    finally:
        box.close()
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert project["project"]["license"]["text"] == LICENCE


SIGNATURE = "Zm9vYmFyc2VjcmV0c2lnbmF0dXJl%2B%2F%3D"
SAS_URL = (
    "https://acct.blob.core.windows.net/vhds/disk.vhd?sv=2024-08-04&se=2030-01-01T00%3A00%3A00Z"
    f"&sr=b&sp=rcw&sig={SIGNATURE}"
)
ACCOUNT_KEY = base64.b64encode(bytes(range(64))).decode()


@pytest.fixture
def planted_log(tmp_path: Path) -> Iterator[Callable[[list[str]], Path]]:
    """A log file the root logger writes to, holding lines written around the redaction (as a
    file from an older version would)."""
    path = tmp_path / "azure-image-studio.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    logging.getLogger().addHandler(handler)

    def plant(lines: list[str]) -> Path:
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        return path

    yield plant
    logging.getLogger().removeHandler(handler)
    handler.close()


def test_copy_diagnostics_redacts_the_log_tail(
    window: MainWindow, planted_log: Callable[[list[str]], Path]
) -> None:
    old = [f"2025-01-01 00:00:00 INFO gui: old line {n}" for n in range(100)]
    recent = [f"2025-01-02 00:00:00 INFO gui: recent line {n}" for n in range(197)]
    path = planted_log([
        *old,
        f"2025-01-02 00:00:01 INFO gui.transfer: PUT {SAS_URL} failed",
        "2025-01-02 00:00:02 INFO gui: DefaultEndpointsProtocol=https;AccountName=acct;"
        f"AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net",
        f"2025-01-02 00:00:03 INFO gui: key {ACCOUNT_KEY} seen",
        *recent,
    ])
    help_menu(window).action_diagnostics.trigger()
    copied = QGuiApplication.clipboard().text()
    assert SIGNATURE not in copied and ACCOUNT_KEY not in copied
    assert "https://acct.blob.core.windows.net/vhds/disk.vhd?sv=2024-08-04" in copied
    assert copied.count("REDACTED") >= 3
    assert "recent line 196" in copied and "old line 99" not in copied  # the last 200 lines
    assert sum("INFO gui" in line for line in copied.splitlines()) == 200
    assert f"PySide6: {PySide6.__version__}" in copied
    assert f"Log file: {path}" in copied
    assert "Qt platform: " in copied and "Screen " in copied and "Data folder: " in copied
    assert "Diagnostics copied" in window.statusBar().currentMessage()


def test_every_help_page_opens_in_the_help_window(help_window: HelpWindow) -> None:
    for name in all_topic_files():
        help_window.show_topic(name)
        assert help_window.current_page() == name
        assert help_window.browser.toPlainText().strip()


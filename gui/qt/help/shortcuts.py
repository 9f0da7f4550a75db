"""Help → Keyboard shortcuts: read from the window's own actions and shortcuts, never a list
kept by hand, so it shows what the keys do today and in the user's language."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
)

from gui.qt.help.controller import HELP_KEY


@dataclass(frozen=True)
class ShortcutRow:
    keys: str
    command: str
    where: str


def key_text(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.NativeText)


def plain(text: str) -> str:
    """A menu text as read: without its & accelerator marks and the trailing ellipsis."""
    text = re.sub(r"&(.)", r"\1", text.split("\t", 1)[0])
    return text.removesuffix("…").removesuffix("...").strip()


def _menus(window: QMainWindow) -> list[QMenu]:
    """The menu bar's menus and their submenus, in the order they are shown."""
    found: list[QMenu] = []

    def walk(menu: QMenu) -> None:
        found.append(menu)
        for action in menu.actions():
            sub = action.menu()
            if isinstance(sub, QMenu):
                walk(sub)

    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu):
            walk(menu)
    return found


def mnemonic_fields(window: QWidget) -> list[tuple[str, str]]:
    """(keys, field) for every label whose Alt+letter moves the focus to its buddy field."""
    found = []
    for label in window.findChildren(QLabel):
        if label.buddy() is None:
            continue
        sequence = QKeySequence.mnemonic(label.text())
        if not sequence.isEmpty():
            found.append((key_text(sequence), plain(label.text()).rstrip(":").strip()))
    return found


def shortcut_rows(window: QWidget) -> list[ShortcutRow]:
    """Every key of ``window``: its menus' actions in menu order, then its other actions and
    QShortcuts (a QShortcut says what it does in its whatsThis)."""
    rows: list[ShortcutRow] = []
    seen: set[int] = set()

    def add(action: QAction, where: str) -> None:
        if id(action) in seen:
            return
        seen.add(id(action))
        for sequence in action.shortcuts():
            if not sequence.isEmpty():
                rows.append(ShortcutRow(key_text(sequence), plain(action.text()), where))

    menus = _menus(window) if isinstance(window, QMainWindow) else []
    for menu in menus:
        for action in menu.actions():
            if action.menu() is None and not action.isSeparator():
                add(action, plain(menu.title()))
    window_title = plain(window.windowTitle()) or window.objectName()
    for action in window.findChildren(QAction):
        add(action, window_title)
    for shortcut in window.findChildren(QShortcut):
        text = shortcut.whatsThis() or shortcut.objectName()
        parent = shortcut.parent()
        where = parent.accessibleName() if isinstance(parent, QWidget) else ""
        sequences: list[QKeySequence] = shortcut.keys()
        for sequence in sequences:
            if not sequence.isEmpty() and text:
                rows.append(ShortcutRow(key_text(sequence), plain(text), where or window_title))
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        wizards = self.tr("Wizards and dialogs")
        fields = self.tr("Fields")
        self.rows = [
            *shortcut_rows(window),
            *(
                ShortcutRow(keys, self.tr("Go to {field}").format(field=field), fields)
                for keys, field in mnemonic_fields(window)
            ),
            *self._wizard_rows(wizards),
            ShortcutRow(key_text(QKeySequence(Qt.Key.Key_Return)),
                        self.tr("The highlighted button (Next, Upload, Capture, OK)"), wizards),
            ShortcutRow(key_text(QKeySequence(Qt.Key.Key_Escape)), self.tr("Cancel or close"),
                        wizards),
            ShortcutRow(key_text(QKeySequence(HELP_KEY)),
                        self.tr("Help for the page or window in front"), wizards),
            ShortcutRow(self.tr("Tab / Shift+Tab"),
                        self.tr("Next or previous field (also out of a table)"), wizards),
        ]
        headers = [self.tr("Keys"), self.tr("Command"), self.tr("Where")]
        self.table = QTableWidget(len(self.rows), len(headers))
        self.table.setObjectName("shortcutsTable")
        self.table.setAccessibleName(self.tr("Keyboard shortcuts"))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table for the Close button
        for row, entry in enumerate(self.rows):
            for column, text in enumerate((entry.keys, entry.command, entry.where)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        label = QLabel(self.tr("&Shortcuts of this window:"))
        label.setBuddy(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(620, 560)

    def _wizard_rows(self, where: str) -> list[ShortcutRow]:
        """The keys every wizard has, from Qt's own buttons (translated by Qt's catalogue)."""
        wizard = QWizard()
        try:
            rows = []
            for button, action in (
                (QWizard.WizardButton.NextButton, self.tr("Next page")),
                (QWizard.WizardButton.BackButton, self.tr("Previous page")),
                (QWizard.WizardButton.FinishButton, self.tr("Finish")),
            ):
                sequence = QKeySequence.mnemonic(wizard.buttonText(button))
                if not sequence.isEmpty():
                    rows.append(ShortcutRow(key_text(sequence), action, where))
            return rows
        finally:
            wizard.deleteLater()

    def key_texts(self) -> list[str]:
        return [row.keys for row in self.rows]

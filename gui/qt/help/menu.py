"""The main window's Help menu: help (F1), keyboard shortcuts, copy diagnostics, About."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from gui import APP_NAME
from gui.qt import icons
from gui.qt.help.about import AboutBox, show_about
from gui.qt.help.controller import HELP_KEY, HelpController, install_help
from gui.qt.help.diagnostics import DiagnosticsCopier
from gui.qt.help.shortcuts import ShortcutsDialog


class HelpMenu(QObject):
    """Adds the Help menu to ``window``'s menu bar; its actions belong to the window, so the
    shortcut list and the window's key handling see them like any other."""

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self.setObjectName("helpMenu")
        self._window = window
        # F1 in the wizards and dialogs too, not only through this menu's action.
        self.controller: HelpController = install_help()
        self.diagnostics = DiagnosticsCopier(window)
        self.menu: QMenu = window.menuBar().addMenu(self.tr("&Help"))
        self.menu.setObjectName("menuHelp")

        self.action_help = QAction(icons.icon("app"), self.tr("&Help"), window)
        self.action_help.setShortcut(QKeySequence(HELP_KEY))
        tip = self.tr("Help for the window or page in front")
        self.action_help.setToolTip(tip)
        self.action_help.setStatusTip(tip)
        self.action_help.triggered.connect(lambda: self.controller.show_for_window(window))

        self.action_shortcuts = QAction(self.tr("&Keyboard shortcuts"), window)
        self.action_shortcuts.setStatusTip(self.tr("Every key of this window and the wizards"))
        self.action_shortcuts.triggered.connect(self.show_shortcuts)

        self.action_diagnostics = QAction(self.tr("&Copy diagnostics"), window)
        self.action_diagnostics.setStatusTip(
            self.tr("Versions, system and the end of the log, without secrets, for a bug report")
        )
        self.action_diagnostics.triggered.connect(self.diagnostics.copy)

        self.action_about = QAction(
            icons.icon("app"), self.tr("&About {app}").format(app=APP_NAME), window
        )
        self.action_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.action_about.triggered.connect(self.show_about)

        self.menu.addAction(self.action_help)
        self.menu.addAction(self.action_shortcuts)
        self.menu.addSeparator()
        self.menu.addAction(self.action_diagnostics)
        self.menu.addSeparator()
        self.menu.addAction(self.action_about)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self._window)
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def show_about(self) -> AboutBox:
        return show_about(self._window)

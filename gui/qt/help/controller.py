"""F1 everywhere: every window of the application gets an F1 key that opens the help topic of
what has focus in it.

Not an application-wide event filter: that made every Qt event of the app (timers, paints, the
search's results) enter Python, where it waited for the GIL behind any worker thread. Not one
application shortcut either: the main window's F1 is blocked while a window-modal wizard or
dialog is open. So each window gets an F1 shortcut of its own the first time it or one of its
widgets takes the focus (two signals that fire only when the focus moves), reading the focused
widget when the key is pressed. The main window's Help action carries F1 already.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence, QShortcut, QWindow
from PySide6.QtWidgets import QApplication, QWidget

from gui.qt.help.topics import topic_for
from gui.qt.help.window import HelpWindow

HELP_KEY = Qt.Key.Key_F1
# Set on a window that has its F1 (a shortcut of ours, or an action of its own with that key).
_COVERED = "helpKeyCovered"

# The one controller, once installed (a list, so no global statement is needed).
_installed: list[HelpController] = []


class HelpController(QObject):
    """Owns the one help window and answers F1 in every window of the application."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.setObjectName("helpController")
        self._window: HelpWindow | None = None
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_changed)
            app.focusWindowChanged.connect(self._focus_window_changed)
            for window in app.topLevelWidgets():
                if window.isActiveWindow():
                    self.cover(window)
        if isinstance(app, QGuiApplication):
            # The help window does not count as a window that keeps the app open: close it
            # with the last one that does.
            app.lastWindowClosed.connect(self._close_window)

    @property
    def window(self) -> HelpWindow:
        if self._window is None:
            self._window = HelpWindow()
        return self._window

    def _focus_changed(self, old: QWidget | None, now: QWidget | None) -> None:
        if now is not None:
            self.cover(now.window())

    def _focus_window_changed(self, window: QWindow | None) -> None:
        # A window without a focusable widget (an About box) still answers F1.
        active = QApplication.activeWindow()
        if window is not None and active is not None:
            self.cover(active)

    def cover(self, window: QWidget) -> None:
        """Gives ``window`` its F1, once; a window with an action on F1 keeps that."""
        if window.property(_COVERED):
            return
        window.setProperty(_COVERED, True)
        help_key = QKeySequence(HELP_KEY)
        for action in window.findChildren(QAction):
            if help_key in action.shortcuts():
                return  # two shortcuts on one key would be ambiguous: neither would fire
        shortcut = QShortcut(help_key, window)
        shortcut.setObjectName("helpShortcut")
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.setAutoRepeat(False)  # a held F1 opens the page once
        shortcut.activated.connect(lambda: self.show_for_window(window))

    def show_for(self, widget: QWidget | None) -> str:
        """Opens the topic of ``widget`` (its page, window or nearest parent with one)."""
        topic = topic_for(widget)
        self.show_topic(topic)
        return topic

    def show_for_window(self, window: QWidget) -> str:
        """The Help menu's entry: the topic of the focused widget when it is in ``window``."""
        focus = QApplication.focusWidget()
        return self.show_for(focus if focus is not None and focus.window() is window else window)

    def show_topic(self, topic: str) -> None:
        self.window.show_topic(topic)

    def _close_window(self) -> None:
        if self._window is not None:
            self._window.close()


def install_help(app: QCoreApplication | None = None) -> HelpController:
    """Makes F1 open help in every window; safe to call again (returns the same controller)."""
    app = app or QCoreApplication.instance()
    assert app is not None, "help needs a QApplication"
    if not _installed or _installed[0].parent() is not app:
        _installed[:] = [HelpController(app)]
    return _installed[0]

"""F1 everywhere: one application-wide event filter opens the help topic of what has focus.

A shortcut would not do: the main window's F1 action is blocked while a window-modal wizard
or dialog is open, and a shortcut per dialog would need code in every dialog. The filter sees
each key press before the focused widget does; for every other event it only compares the
event type, and returns.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from gui.qt.help.topics import topic_for
from gui.qt.help.window import HelpWindow

HELP_KEY = Qt.Key.Key_F1

# The one controller, once installed (a list, so no global statement is needed).
_installed: list[HelpController] = []


class HelpController(QObject):
    """Owns the one help window and answers F1 in every window of the application."""

    def __init__(self, app: QCoreApplication) -> None:
        super().__init__(app)
        self.setObjectName("helpController")
        self._window: HelpWindow | None = None
        app.installEventFilter(self)
        if isinstance(app, QGuiApplication):
            # The help window does not count as a window that keeps the app open: close it
            # with the last one that does.
            app.lastWindowClosed.connect(self._close_window)

    @property
    def window(self) -> HelpWindow:
        if self._window is None:
            self._window = HelpWindow()
        return self._window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == HELP_KEY
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and isinstance(watched, QWidget)
        ):
            if not event.isAutoRepeat():
                self.show_for(watched)
            return True
        return False

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

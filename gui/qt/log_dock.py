"""A dock that shows the application's log, with secrets redacted."""

from __future__ import annotations

import contextlib
import logging

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDockWidget, QPlainTextEdit, QWidget

from gui.transfer.redact import RedactingFormatter

MAX_LINES = 5000


class _Emitter(QObject):
    record_logged = Signal(str)


class QtLogHandler(logging.Handler):
    """Forwards log records to the GUI thread through a queued signal (any thread may log)."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)
        self.emitter = _Emitter()
        # The one redaction function, on the message and on any traceback the record carries.
        self.setFormatter(
            RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
        )

    def emit(self, record: logging.LogRecord) -> None:
        # RuntimeError: the window is gone while a worker thread still logs
        with contextlib.suppress(RuntimeError):
            self.emitter.record_logged.emit(self.format(record))


class LogDock(QDockWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Log", parent)
        self.setObjectName("logDock")
        self.view = QPlainTextEdit()
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setWidget(self.view)
        self.handler = QtLogHandler()
        self.handler.emitter.record_logged.connect(
            self.view.appendPlainText, Qt.ConnectionType.QueuedConnection
        )
        logging.getLogger().addHandler(self.handler)
        self.destroyed.connect(self._detach)

    def _detach(self) -> None:
        logging.getLogger().removeHandler(self.handler)

    def detach(self) -> None:
        self._detach()

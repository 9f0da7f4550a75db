"""A dock that shows the application's log, with secrets redacted: every Azure operation
(gui/azure/account/oplog.py) and every message of the app, with a filter, Save… and Clear.

The lines live in a ring buffer (the last ``MAX_LINES``), so a long day costs bounded memory.
Records may come from any thread; they reach the GUI thread through a queued signal and are
shown in batches (one text insertion per ``FLUSH_MS``), so a burst of requests (a listing of
3,400 publishers pages through many) never costs the window a stall per line.
"""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.transfer.redact import RedactingFormatter

MAX_LINES = 20_000
FLUSH_MS = 100
FILTER_DELAY_MS = 200


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
        super().__init__(parent)
        self.setWindowTitle(self.tr("Log"))
        self.setObjectName("logDock")
        self._lines: deque[str] = deque(maxlen=MAX_LINES)
        self._pending: list[str] = []
        self._needle = ""

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("logFilter")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setPlaceholderText(self.tr("Text, resource name or request id"))
        self.filter_edit.setAccessibleName(self.tr("Filter the log"))
        self.filter_edit.setToolTip(
            self.tr("Show only the lines that contain this text (upper or lower case alike).")
        )
        # Re-filtering shows up to MAX_LINES lines anew (~0.4 s for all 20,000): once the
        # typing pauses, not at every key.
        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(self._filter_timer.start)
        filter_label = QLabel(self.tr("Fil&ter:"))
        filter_label.setBuddy(self.filter_edit)
        self.save_button = QPushButton(self.tr("Save l&og…"))
        self.save_button.setObjectName("logSave")
        self.save_button.setToolTip(self.tr("Save the lines shown to a text file."))
        self.save_button.clicked.connect(self._ask_save)
        self.clear_button = QPushButton(self.tr("Clea&r"))
        self.clear_button.setObjectName("logClear")
        self.clear_button.setToolTip(self.tr("Remove every line from this panel."))
        self.clear_button.clicked.connect(self.clear)

        self.view = QPlainTextEdit()
        self.view.setObjectName("logView")
        self.view.setReadOnly(True)
        self.view.setAccessibleName(self.tr("Log lines"))
        self.view.setMaximumBlockCount(MAX_LINES)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(filter_label)
        bar.addWidget(self.filter_edit, 1)
        bar.addWidget(self.save_button)
        bar.addWidget(self.clear_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)
        self.setWidget(body)

        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)
        self.handler = QtLogHandler()
        self.handler.emitter.record_logged.connect(
            self._received, Qt.ConnectionType.QueuedConnection
        )
        logging.getLogger().addHandler(self.handler)
        self.destroyed.connect(self._detach)
        self._save_dialog: QFileDialog | None = None

    # --- lines --------------------------------------------------------------------------------

    def _received(self, line: str) -> None:
        self._pending.append(line)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def _matches(self, line: str, needle: str | None = None) -> bool:
        needle = self._needle if needle is None else needle
        return not needle or needle in line.casefold()

    def _flush(self) -> None:
        """Moves the lines received since the last flush into the buffer and the view."""
        batch, self._pending = self._pending, []
        if not batch:
            return
        self._lines.extend(batch)
        shown = [line for line in batch[-MAX_LINES:] if self._matches(line)]
        if shown:
            self.view.appendPlainText("\n".join(shown))

    def _apply_filter(self) -> None:
        self._flush()
        self._needle = self.filter_edit.text().strip().casefold()
        self.view.setPlainText("\n".join(self.shown_lines()))
        self.view.moveCursor(QTextCursor.MoveOperation.End)

    def lines(self) -> list[str]:
        """Every line kept (the newest ``MAX_LINES``), redacted, oldest first."""
        self._flush()
        return list(self._lines)

    def shown_lines(self) -> list[str]:
        """The lines the filter box lets through, oldest first."""
        needle = self.filter_edit.text().strip().casefold()
        return [line for line in self.lines() if self._matches(line, needle)]

    def clear(self) -> None:
        self._pending.clear()
        self._lines.clear()
        self.view.clear()

    # --- saving -------------------------------------------------------------------------------

    def _ask_save(self) -> None:
        # open(), not exec(): a nested event loop inside the qasync loop would stall every task.
        dialog = QFileDialog(self, self.tr("Save the log"))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilter(self.tr("Text files (*.txt *.log)"))
        dialog.setDefaultSuffix("log")
        dialog.selectFile("azure-image-studio.log")
        dialog.fileSelected.connect(lambda name: self.save_to(Path(name)))
        dialog.finished.connect(dialog.deleteLater)
        self._save_dialog = dialog
        dialog.open()

    def save_to(self, path: Path) -> bool:
        """Writes the lines shown (already redacted) to ``path``; says so when it cannot."""
        text = "\n".join(self.shown_lines())
        try:
            path.write_text(text + "\n" if text else "", encoding="utf-8")
        except OSError as exc:
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                self.tr("Could not save the log"),
                self.tr("The log could not be written to {path}: {reason}. Choose another "
                        "folder or file name.").format(path=str(path), reason=exc.strerror or exc),
                parent=self,
            )
            box.setObjectName("logSaveFailed")
            box.open()
            return False
        return True

    def _detach(self) -> None:
        logging.getLogger().removeHandler(self.handler)

    def detach(self) -> None:
        self._detach()

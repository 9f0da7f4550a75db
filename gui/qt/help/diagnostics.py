"""Help → Copy diagnostics: what a bug report needs, on the clipboard, with no secret in it.

The text stays in English whatever the window's language: it is read by whoever answers the
report. Every line of it, the log tail included, goes through the one redaction function
(gui/transfer/redact.py): the log file is written redacted, but a file from an older version,
or one a user edited, may not be.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from pathlib import Path

from PySide6.QtCore import QLocale, QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

from gui import resources
from gui.paths import data_dir
from gui.qt.help.about import versions
from gui.qt.help.topics import help_language
from gui.transfer.redact import redact

LOG_TAIL_LINES = 200
_TAIL_BLOCK = 64 * 1024
# Qt's scaling and platform variables: they explain blurry or tiny windows. Nothing else from
# the environment is copied (a proxy variable may hold a password).
_QT_VARIABLES = (
    "QT_QPA_PLATFORM",
    "QT_SCALE_FACTOR",
    "QT_SCREEN_SCALE_FACTORS",
    "QT_ENABLE_HIGHDPI_SCALING",
    "QT_SCALE_FACTOR_ROUNDING_POLICY",
    "QT_STYLE_OVERRIDE",
    "XDG_SESSION_TYPE",
)


def log_file() -> Path | None:
    """The file the app logs to: the root logger's file handler (gui.app.configure_logging),
    the latest added if there are several; one writing to the null device is no log."""
    for handler in reversed(logging.getLogger().handlers):
        if isinstance(handler, logging.FileHandler) and handler.baseFilename != os.devnull:
            return Path(handler.baseFilename)
    return None


def tail(path: Path, count: int = LOG_TAIL_LINES) -> list[str]:
    """The last ``count`` lines of ``path``, read from its end (a log may have grown large)."""
    with path.open("rb") as file:
        end = file.seek(0, os.SEEK_END)
        data = b""
        position = end
        while position > 0 and data.count(b"\n") <= count:
            step = min(_TAIL_BLOCK, position)
            position -= step
            file.seek(position)
            data = file.read(step) + data
    return data.decode("utf-8", errors="replace").splitlines()[-count:]


def _screens(window: QWidget | None) -> list[str]:
    lines = []
    for screen in QGuiApplication.screens():
        size = screen.geometry()
        lines.append(
            f"Screen {screen.name()}: {size.width()}x{size.height()} logical, scale "
            f"{screen.devicePixelRatio():g}, {screen.logicalDotsPerInch():.0f} dpi"
        )
    if window is not None:
        lines.append(f"Window scale: {window.devicePixelRatioF():g}")
    return lines


def diagnostics_text(window: QWidget | None = None) -> str:
    """Versions, system, display, language, data folder and the log's last lines, redacted."""
    lines = ["Azure Image Studio diagnostics", ""]
    lines += [f"{name}: {version}" for name, version in versions()]
    lines += [
        "",
        f"OS: {platform.platform()} ({platform.machine()})",
        f"Python executable: {sys.executable}"
        + (" (bundled)" if getattr(sys, "frozen", False) else ""),
        f"Qt platform: {QGuiApplication.platformName()}",
    ]
    app = QApplication.instance()
    if isinstance(app, QApplication):
        lines.append(f"Qt style: {app.style().name()}")
    lines += _screens(window)
    lines += [
        f"Help and interface language: {help_language()} (locale {QLocale().name()}, "
        f"system {QLocale.system().name()}, preferred {', '.join(QLocale.system().uiLanguages())})",
        f"Data folder: {data_dir()}",
        f"Bundled files: {resources.root()}",
    ]
    lines += [f"{name}={os.environ[name]}" for name in _QT_VARIABLES if name in os.environ]
    path = log_file()
    lines.append("")
    if path is None:
        lines.append("Log file: none (logging to a file is not set up)")
    else:
        lines.append(f"Log file: {path}")
        try:
            log_lines = tail(path)
        except OSError as exc:
            lines.append(f"(could not read it: {exc.strerror or exc})")
        else:
            lines.append(f"--- its last {len(log_lines)} lines ---")
            lines += log_lines
            lines.append("--- end of the log ---")
    return "\n".join(redact(line) for line in lines) + "\n"


class DiagnosticsCopier(QObject):
    """Copies the diagnostics and says so in the window's status bar."""

    STATUS_MS = 6000

    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window

    def copy(self) -> str:
        text = diagnostics_text(self._window)
        QGuiApplication.clipboard().setText(text)
        self._window.statusBar().showMessage(
            self.tr("Diagnostics copied: versions, system and the end of the log, no secrets."),
            self.STATUS_MS,
        )
        return text

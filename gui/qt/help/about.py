"""Help → About: the versions a bug report needs, read from what is installed."""

from __future__ import annotations

import html
import platform
import re
from importlib import metadata

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QMessageBox, QWidget

from gui import APP_ID, APP_NAME, __version__
from gui.qt import icons

# pyproject.toml's licence; used where the app's metadata is not installed (a PyInstaller
# bundle). tests/qt/test_help.py checks that it still says what pyproject.toml says.
LICENCE = "MIT"
# Listed where the app's own metadata (its requirements) is missing.
_FALLBACK_PREFIXES = ("azure-", "msal")


def _distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "—"  # not installed (a bundle without its metadata)


def _requirement_names() -> list[str]:
    """The libraries the app declares (without extras), else every Azure SDK installed."""
    try:
        requires = metadata.requires(APP_ID) or []
    except metadata.PackageNotFoundError:
        requires = []
    names: list[str] = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        if match is not None:
            names.append(match.group(0))
    if not names:
        names = sorted(
            {
                str(dist.metadata["Name"])
                for dist in metadata.distributions()
                if str(dist.metadata["Name"]).lower().startswith(_FALLBACK_PREFIXES)
            },
            key=str.lower,
        )
    # Qt and PySide6 come first, from the running binding itself.
    return [name for name in names if not name.lower().startswith(("pyside6", "shiboken6"))]


def versions() -> list[tuple[str, str]]:
    """(name, version) of the app, Python, Qt, PySide6 and every library the app uses."""
    found = [
        (APP_NAME, __version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
    ]
    found += [(name, _distribution_version(name)) for name in _requirement_names()]
    return found


def licence() -> str:
    try:
        info = metadata.metadata(APP_ID)
    except metadata.PackageNotFoundError:
        return LICENCE
    # get_all: a missing field raises KeyError in importlib_metadata (which some SDKs pull in)
    # where the standard library's answers None.
    for field in ("License-Expression", "License"):
        found = info.get_all(field) or []
        if found and found[0]:
            return str(found[0])
    return LICENCE


class AboutBox(QMessageBox):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("aboutBox")
        self.setWindowTitle(self.tr("About {app}").format(app=APP_NAME))
        self.setIconPixmap(icons.icon("app").pixmap(64, 64))
        self.setTextFormat(Qt.TextFormat.RichText)
        summary = self.tr("Browse, inspect, capture and upload Azure VM images.")
        licence_line = self.tr("Licence: {licence}").format(licence=licence())
        versions_caption = self.tr("Versions:")
        self.setText(
            f"<h3>{html.escape(APP_NAME)} {html.escape(__version__)}</h3>"
            f"<p>{html.escape(summary)}</p><p>{html.escape(licence_line)}</p>"
        )
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{html.escape(version)}</td></tr>"
            for name, version in versions()
        )
        self.setInformativeText(f"<p>{html.escape(versions_caption)}</p><table>{rows}</table>")
        self.setStandardButtons(QMessageBox.StandardButton.Close)

    def text_shown(self) -> str:
        return f"{self.text()}\n{self.informativeText()}"


def show_about(parent: QWidget) -> AboutBox:
    """Opens the About box window-modal (open(), not exec(): a nested event loop would stall
    the qasync loop's coroutines)."""
    box = AboutBox(parent)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box


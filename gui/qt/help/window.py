"""The help window: bundled HTML pages in a QTextBrowser, so help works offline.

It is a top-level window without a parent: the wizards and the settings dialog are window-modal
over the main window, and a help window owned by the main window would be blocked by the very
dialog it explains. It does not keep the app alive on its own (WA_QuitOnClose is off).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QTextBrowser, QToolBar, QVBoxLayout, QWidget

from gui import APP_NAME
from gui.qt import icons
from gui.qt.help.topics import CONTENTS, page_path
from gui.resources import MissingResourceError

# Only sizes and spacing: colours come from the palette, so dark and high-contrast themes work.
PAGE_STYLE = """
h1 { font-size: x-large; margin-bottom: 6px; }
h2 { font-size: large; margin-top: 14px; margin-bottom: 4px; }
h3 { margin-top: 10px; margin-bottom: 2px; }
p, li { margin-top: 3px; margin-bottom: 3px; }
dt { font-weight: bold; margin-top: 6px; }
dd { margin-bottom: 4px; }
code, kbd { font-family: monospace; }
td, th { padding: 2px 8px 2px 0px; }
th { text-align: left; }
"""

EXTERNAL_SCHEMES = ("http", "https", "mailto")


class HelpWindow(QWidget):
    def __init__(self) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setObjectName("helpWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)
        self.setWindowIcon(icons.icon("app"))
        self.browser = QTextBrowser()
        self.browser.setObjectName("helpBrowser")
        self.browser.setAccessibleName(self.tr("Help page"))
        # Links are followed here, so a page missing in the user's language falls back to
        # English and web links open in the system's browser.
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self.follow)
        self.browser.document().setDefaultStyleSheet(PAGE_STYLE)
        self.browser.document().setDocumentMargin(12)
        self.browser.sourceChanged.connect(self._update_title)

        self.action_back = QAction(self.tr("&Back"), self)
        self.action_back.setShortcut(QKeySequence.StandardKey.Back)
        self.action_back.setEnabled(False)
        self.action_back.triggered.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(self.action_back.setEnabled)
        self.action_forward = QAction(self.tr("&Forward"), self)
        self.action_forward.setShortcut(QKeySequence.StandardKey.Forward)
        self.action_forward.setEnabled(False)
        self.action_forward.triggered.connect(self.browser.forward)
        self.browser.forwardAvailable.connect(self.action_forward.setEnabled)
        self.action_contents = QAction(self.tr("&Contents"), self)
        self.action_contents.setShortcut(QKeySequence("Alt+Home"))
        self.action_contents.triggered.connect(lambda: self.show_topic(CONTENTS))
        self.action_close = QAction(self.tr("C&lose"), self)
        self.action_close.setShortcuts([QKeySequence(QKeySequence.StandardKey.Close),
                                        QKeySequence(Qt.Key.Key_Escape)])
        self.action_close.triggered.connect(self.close)
        self.addAction(self.action_close)
        for action, tip in (
            (self.action_back, self.tr("Back to the previous page")),
            (self.action_forward, self.tr("Forward to the next page")),
            (self.action_contents, self.tr("All help pages")),
        ):
            action.setToolTip(tip)
        bar = QToolBar()
        bar.setObjectName("helpToolBar")
        bar.setAccessibleName(self.tr("Help navigation"))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addActions([self.action_back, self.action_forward, self.action_contents])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(bar)
        layout.addWidget(self.browser, 1)
        self.resize(780, 680)
        self._update_title()

    def show_topic(self, topic: str) -> None:
        """Opens ``topic`` ("name" or "name#section") in the window's language, and shows it."""
        name, _, fragment = topic.partition("#")
        self.open_page(name, fragment)
        self.show()
        self.raise_()
        self.activateWindow()

    def open_page(self, name: str, fragment: str = "") -> None:
        try:
            path = page_path(name)
        except MissingResourceError as exc:
            self.browser.setPlainText(str(exc))
            return
        url = QUrl.fromLocalFile(str(path))
        if fragment:
            url.setFragment(fragment)
        self.browser.setSource(url)

    def current_page(self) -> str:
        """The base name of the page shown ("" before the first)."""
        return Path(self.browser.source().toLocalFile()).stem

    def current_file(self) -> Path | None:
        local = self.browser.source().toLocalFile()
        return Path(local) if local else None

    def follow(self, url: QUrl) -> None:
        if url.scheme() in EXTERNAL_SCHEMES:
            QDesktopServices.openUrl(url)
            return
        if not url.path():  # "#section" on the same page
            self.browser.scrollToAnchor(url.fragment())
            return
        self.open_page(Path(url.path()).stem, url.fragment())

    def _update_title(self) -> None:
        title = self.tr("{app} Help").format(app=APP_NAME)
        page = self.browser.documentTitle()
        self.setWindowTitle(f"{page} — {title}" if page else title)

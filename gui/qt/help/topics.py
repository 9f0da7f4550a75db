"""Which help page belongs to which window or wizard page, and where that page's file is.

A topic is the base name of an HTML file in ``resources/help/<language>/``, optionally with a
``#fragment`` (a section of a longer page). Topics are chosen by the class of a widget (its
module and class name, walking the class hierarchy), so the wizards and dialogs need nothing of
their own to take part: F1 starts at the focused widget and walks up its parents until one
of them has a topic; a wizard answers for its current page.

The classes are named as text, not imported: importing the wizards here would load the Azure
SDK before the window paints (tests/test_startup_imports.py). tests/qt/test_help.py checks that
every name below still names a class, so a renamed page cannot silently lose its help.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLocale, QObject
from PySide6.QtWidgets import QWidget, QWizard

from gui import resources

HELP_FOLDER = "help"
FALLBACK_LANGUAGE = "en"
CONTENTS = "index"

# "module.ClassName" -> topic. The most derived class with an entry wins.
TOPICS: dict[str, str] = {
    "gui.qt.main_window.MainWindow": "main_window",
    "gui.qt.browser.detail_pane.DetailPane": "main_window#detail",
    "gui.qt.browser.detail_pane.DropZone": "main_window#drop-zone",
    "gui.qt.browser.community_dialog.CommunityGalleryDialog": "main_window#community",
    "gui.qt.transfers.dock.TransfersDock": "transfers",
    "gui.qt.log_dock.LogDock": "log",
    "gui.qt.upload.wizard.UploadWizard": "upload_file",
    "gui.qt.upload.file_page.FilePage": "upload_file",
    "gui.qt.upload.target_page.TargetPage": "upload_target",
    "gui.qt.upload.follow_up_page.FollowUpPage": "upload_follow_up",
    "gui.qt.upload.wizard.ReviewPage": "upload_review",
    "gui.qt.upload.wizard.ProgressPage": "upload_progress",
    "gui.qt.capture.wizard.CaptureWizard": "capture_vm",
    "gui.qt.capture.pages.VmPage": "capture_vm",
    "gui.qt.capture.pages.PreparePage": "capture_prepare",
    "gui.qt.capture.target_page.TargetPage": "capture_target",
    "gui.qt.capture.wizard.ReviewPage": "capture_review",
    "gui.qt.capture.wizard.ProgressPage": "capture_progress",
    "gui.qt.settings_dialog.SettingsDialog": "settings",
    "gui.qt.sign_in_dialog.SignInDialog": "sign_in",
    "gui.qt.help.window.HelpWindow": CONTENTS,
}

# Pages reached only by links (no window of their own).
LINKED_ONLY = ("index", "errors")


def all_topic_files() -> list[str]:
    """Every page the app links to or opens, by base name."""
    names = {topic.split("#", 1)[0] for topic in TOPICS.values()}
    return sorted(names | set(LINKED_ONLY))


def _class_topic(obj: QObject) -> str | None:
    for cls in type(obj).__mro__:
        topic = TOPICS.get(f"{cls.__module__}.{cls.__qualname__}")
        if topic is not None:
            return topic
    return None


def topic_for(widget: QWidget | None) -> str:
    """The topic for ``widget``: its own, else its nearest parent's, else the contents."""
    current: QObject | None = widget
    while current is not None:
        if isinstance(current, QWizard):
            # The wizard's buttons are its children, not the page's: ask for the page shown.
            page = current.currentPage()
            found = _class_topic(page) if page is not None else None
            if found is not None:
                return found
        found = _class_topic(current)
        if found is not None:
            return found
        current = current.parent()
    return CONTENTS


def help_language() -> str:
    """The language the window speaks (install_translators sets the default locale)."""
    return QLocale.languageToCode(QLocale().language()) or FALLBACK_LANGUAGE


def page_path(name: str, language: str | None = None) -> Path:
    """The HTML file of page ``name`` in ``language`` (the window's), else in English.

    Raises MissingResourceError when not even the English page is installed.
    """
    file_name = f"{name}.html"
    wanted = language or help_language()
    translated = resources.root() / HELP_FOLDER / wanted / file_name
    if translated.is_file():
        return translated
    return resources.path(HELP_FOLDER, FALLBACK_LANGUAGE, file_name)

"""The window's language: Qt translators, rendering engine messages, locale-aware formatting.

The language is the user's choice in the settings, else the system's (``QLocale.system()``).
Two catalogues are loaded: ours (``resources/translations/azure_image_studio_<lang>.qm``) and
Qt's own (``qtbase_<lang>.qm``, which translates the standard buttons Qt draws: OK, Cancel,
Back, Next). English has a catalogue too: it holds the English plural forms ("1 disk",
"2 disks"), since the sources carry one ``%n`` template per plural message.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QDateTime,
    QLibraryInfo,
    QLocale,
    QTimeZone,
    QTranslator,
)

from gui.i18n import MESSAGE_CONTEXT, Localizable, Message

log = logging.getLogger(__name__)

CATALOGUE = "azure_image_studio"
# Languages with a complete catalogue, by their code; the first is the sources' language.
LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
SOURCE_LANGUAGE = "en"

# Translators must outlive the call that installs them: QCoreApplication keeps only a pointer.
_installed: list[QTranslator] = []


def translations_dir() -> Path:
    from gui import resources

    return resources.root() / "translations"


def resolve_language(choice: str, system: QLocale | None = None) -> str:
    """The language to show: ``choice`` when we have it, else the system's first we have."""
    if choice in LANGUAGES:
        return choice
    for name in (system or QLocale.system()).uiLanguages():
        code = name.replace("_", "-").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return SOURCE_LANGUAGE


def install_translators(choice: str = "") -> str:
    """Load the catalogues for ``choice`` ("" = follow the system); returns the language used.

    Safe to call again (the settings dialog does when the language changes): the previous
    translators are removed first, and widgets receive QEvent.LanguageChange.
    """
    app = QCoreApplication.instance()
    assert app is not None, "a QApplication must exist before translators are installed"
    for old in _installed:
        QCoreApplication.removeTranslator(old)
    _installed.clear()
    language = resolve_language(choice)
    QLocale.setDefault(QLocale(language))
    ours = QTranslator(app)
    if ours.load(f"{CATALOGUE}_{language}", str(translations_dir())):
        QCoreApplication.installTranslator(ours)
        _installed.append(ours)
    else:
        log.warning("No translation catalogue for %s in %s", language, translations_dir())
    if language != SOURCE_LANGUAGE:
        qt_own = QTranslator(app)
        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if qt_own.load(f"qtbase_{language}", qt_dir):
            QCoreApplication.installTranslator(qt_own)
            _installed.append(qt_own)
    return language


def render(message: Message | str) -> str:
    """An engine message in the window's language (a plain string passes through)."""
    if isinstance(message, str):
        return message
    count = -1 if message.count is None else message.count
    text = QCoreApplication.translate(MESSAGE_CONTEXT, message.template, None, count)
    if message.count is not None and text == message.template.replace("%n", str(count)):
        return message.english()  # no catalogue entry: the English plural, not "3 file(s)"
    if not message.args:
        return text
    return text.format(**{k: _LocaleNumber(v) if isinstance(v, int | float)
                          and not isinstance(v, bool) else v for k, v in message.args.items()})


class _LocaleNumber:
    """A number in a template, written the window's way: ``{n:,}`` gives "1,024" in English and
    "1.024" in German, ``{x:.1f}`` "1.5" / "1,5"; any other spec is Python's own."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        grouped = spec.startswith(",")
        rest = spec[1:] if grouped else spec
        locale = QLocale()
        if not grouped:
            locale.setNumberOptions(QLocale.NumberOption.OmitGroupSeparator)
        if rest == "":
            if isinstance(self.value, int):
                return locale.toString(self.value)
            return locale.toString(float(self.value), "g", 12) if grouped else str(self.value)
        if rest.startswith(".") and rest.endswith("f") and rest[1:-1].isdigit():
            return locale.toString(float(self.value), "f", int(rest[1:-1]))
        return format(self.value, spec)


def render_text(item: object) -> str:
    """Anything the engines hand the window, in its language: a Message, an error or finding
    that is Localizable, else ``str(item)`` (text that was never ours to translate)."""
    if isinstance(item, Message):
        return render(item)
    if isinstance(item, Localizable):
        return item.localized(render)
    return str(item)


def format_datetime(value: datetime, *, seconds: bool = False) -> str:
    """A date and time the one way the app shows them: the locale's short format, local time."""
    # A naive datetime is taken as local time, as Python's own timestamp() does.
    moment = QDateTime.fromSecsSinceEpoch(int(value.timestamp()), QTimeZone.utc()).toLocalTime()
    pattern = QLocale().dateTimeFormat(QLocale.FormatType.ShortFormat)
    if seconds and ":ss" not in pattern and ":mm" in pattern:
        pattern = pattern.replace(":mm", ":mm:ss")
    return QLocale().toString(moment, pattern)


def format_size(count: int) -> str:
    """1536 → "1.5 KiB" (English) / "1,5 KiB" (German): binary units, as Azure sizes disks."""
    return QLocale().formattedDataSize(count, 1, QLocale.DataSizeFormat.DataSizeIecFormat)


def format_number(value: float, decimals: int = 0) -> str:
    return QLocale().toString(float(value), "f", decimals)

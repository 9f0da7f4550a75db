"""The translation catalogues: current with the code, complete in German, and used by the window.

The `.ts` files are regenerated from the code here (into a temporary copy) and must come out
unchanged; the committed `.qm` files must be what `lrelease` makes of them.
"""

from __future__ import annotations

import importlib.util
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from PySide6.QtCore import QCoreApplication, QLocale
from PySide6.QtWidgets import QApplication

from gui.i18n import QT_TR_NOOP, Message, message
from gui.qt import i18n

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "resources" / "translations"


def _update_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("translations_update", FOLDER / "update.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


UPDATE = _update_module()


@pytest.mark.parametrize("language", UPDATE.LANGUAGES)
def test_ts_files_are_current_with_the_code(language: str, tmp_path: Path) -> None:
    committed = UPDATE.ts_file(language)
    copy = tmp_path / committed.name
    shutil.copy(committed, copy)
    UPDATE.run_lupdate(copy)
    assert copy.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), (
        f"{committed.name} is behind the code: run python resources/translations/update.py, "
        "translate what it adds, and commit the .ts and .qm files")


@pytest.mark.parametrize("language", UPDATE.LANGUAGES)
def test_qm_files_are_compiled_from_the_ts_files(language: str, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.qm"
    UPDATE.run_lrelease(UPDATE.ts_file(language), fresh)
    assert fresh.read_bytes() == UPDATE.qm_file(language).read_bytes(), (
        f"{UPDATE.qm_file(language).name} is stale: run python resources/translations/update.py")


def _messages(language: str) -> list[ET.Element]:
    tree = ET.parse(UPDATE.ts_file(language))
    return list(tree.getroot().iter("message"))


def test_every_german_message_is_translated() -> None:
    missing = []
    for msg in _messages("de"):
        source = msg.findtext("source") or ""
        translation = msg.find("translation")
        assert translation is not None
        forms = [f.text or "" for f in translation.iter("numerusform")]
        text = " ".join(forms) if msg.get("numerus") == "yes" else (translation.text or "")
        if translation.get("type") in ("unfinished", "vanished", "obsolete") or not text.strip():
            missing.append(source)
        elif msg.get("numerus") == "yes" and (len(forms) != 2 or not all(f.strip() for f in forms)):
            missing.append(source)  # German has two plural forms: one, other
    assert not missing, f"{len(missing)} German translations missing, e.g. {missing[:5]}"


def test_every_english_plural_has_both_forms() -> None:
    # The sources hold one "%n …(s)" template; the English catalogue turns it into real plurals.
    missing = []
    for msg in _messages("en"):
        if msg.get("numerus") != "yes":
            continue
        translation = msg.find("translation")
        assert translation is not None
        forms = [f.text or "" for f in translation.iter("numerusform")]
        if len(forms) != 2 or not all("%n" in f or f.strip() for f in forms):
            missing.append(msg.findtext("source"))
    assert not missing, f"English plural forms missing for {missing[:5]}"


@pytest.mark.parametrize(
    ("ui_languages", "choice", "expected"),
    [
        (["de-DE", "en-US"], "", "de"),
        (["de-AT"], "", "de"),
        (["fr-FR", "de-CH"], "", "de"),
        (["fr-FR"], "", "en"),
        (["de-DE"], "en", "en"),
        (["en-GB"], "de", "de"),
    ],
)
def test_language_follows_the_system_unless_chosen(
    ui_languages: list[str], choice: str, expected: str
) -> None:
    class System(QLocale):
        def uiLanguages(self, *args: object) -> list[str]:
            return ui_languages

    assert i18n.resolve_language(choice, System()) == expected


def test_installed_language_sets_the_locale_for_numbers_and_sizes(qapp: QApplication) -> None:
    try:
        assert i18n.install_translators("de") == "de"
        assert i18n.format_size(1536) == "1,5 KiB"
        assert i18n.format_number(1234.5, 1) == "1.234,5"
        assert i18n.install_translators("en") == "en"
        assert i18n.format_size(1536) == "1.5 KiB"
    finally:
        i18n.install_translators("en")


def test_engine_messages_render_in_english_without_a_catalogue_entry(qapp: QApplication) -> None:
    one = Message(QT_TR_NOOP("%n disk(s) left"), count=1, plural="%n disks left")
    many = Message(QT_TR_NOOP("%n disk(s) left"), count=3, plural="%n disks left")
    assert str(one) == "%n disk(s) left".replace("%n", "1")
    assert str(many) == "3 disks left"
    assert i18n.render(many) == "3 disks left"
    named = message(QT_TR_NOOP("The disk {name} is attached to {vm}."), name="d1", vm="vm1")
    assert str(named) == "The disk d1 is attached to vm1."
    assert i18n.render(named) == "The disk d1 is attached to vm1."
    assert QCoreApplication.translate("", "never translated") == "never translated"


def test_dates_follow_the_language(qapp: QApplication) -> None:
    from datetime import UTC, datetime

    moment = datetime(2026, 3, 4, 13, 5, tzinfo=UTC)
    try:
        i18n.install_translators("de")
        german = i18n.format_datetime(moment)
        i18n.install_translators("en")
        english = i18n.format_datetime(moment)
    finally:
        i18n.install_translators("en")
    assert "04.03.26" in german
    assert "3/4/26" in english


def test_localizable_errors_compose_translated_parts(qapp: QApplication) -> None:
    from gui.i18n import Localizable, english

    class Refused(Exception):
        def __init__(self, azure_text: str) -> None:
            super().__init__(azure_text)
            self.azure_text = azure_text

        def localized(self, render: Callable[[Message], str]) -> str:
            advice = render(message(QT_TR_NOOP("Pick another name for {name}."), name="d1"))
            return f"{self.azure_text}\n{advice}"

    error = Refused("Conflict: the disk exists.")
    assert isinstance(error, Localizable)
    assert english(error) == "Conflict: the disk exists.\nPick another name for d1."
    assert i18n.render_text(error) == english(error)  # no catalogue entry: English
    assert i18n.render_text(ValueError("plain")) == "plain"


def test_numbers_in_engine_messages_follow_the_language(qapp: QApplication) -> None:
    msg = message(QT_TR_NOOP("{count:,} blocks of {size:.1f} MiB"), count=1024, size=1.5)
    try:
        i18n.install_translators("de")
        german = i18n.render(msg)
        i18n.install_translators("en")
        english = i18n.render(msg)
    finally:
        i18n.install_translators("en")
    assert german == "1.024 blocks of 1,5 MiB"  # no catalogue entry: the numbers still German
    assert english == "1,024 blocks of 1.5 MiB" == str(msg)

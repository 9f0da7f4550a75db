"""Regenerate the translation catalogues from the code: ``python resources/translations/update.py``.

1. ``pyside6-lupdate`` collects every ``tr()``, ``QCoreApplication.translate()`` and
   ``QT_TR_NOOP()`` string of ``gui/`` (the sandbox excepted: it imitates Azure, whose error
   messages are English everywhere) into ``azure_image_studio_<lang>.ts``, keeping the
   translations already made and dropping strings the code no longer has.
2. ``pyside6-lrelease`` compiles each ``.ts`` into the ``.qm`` the app loads.

Translators edit the ``.ts`` files (Qt Linguist: ``pyside6-linguist FILE.ts``), then run this
again. ``tests/qt/test_translations.py`` fails when the committed files are behind the code.
Source locations are left out of the ``.ts`` files so that moving code does not change them.

``--merge FILE…`` first fills translations from other files into the catalogues: ``.ts`` files,
or JSON files ``{"language": "de", "messages": {CONTEXT: {SOURCE: TEXT or [ONE, OTHER]}}}``
(what a translator working on one part of the app hands in). Only messages the code still has
are filled; a translation already in the catalogue is replaced.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
LANGUAGES = ("en", "de")
CATALOGUE = "azure_image_studio"


def tool(name: str) -> str:
    """The PySide6 tool next to this Python (the venv's), else on PATH."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install the project (pip install -e .) first")
    return found


def sources(root: Path = ROOT) -> list[Path]:
    gui = root / "gui"
    return sorted(p for p in gui.rglob("*.py") if "sandbox" not in p.relative_to(gui).parts)


def ts_file(language: str, folder: Path = HERE) -> Path:
    return folder / f"{CATALOGUE}_{language}.ts"


def qm_file(language: str, folder: Path = HERE) -> Path:
    return folder / f"{CATALOGUE}_{language}.qm"


def run_lupdate(ts: Path, root: Path = ROOT) -> None:
    files = [str(p.relative_to(root)) for p in sources(root)]
    subprocess.run(
        [tool("pyside6-lupdate"), "-silent", "-no-obsolete", "-locations", "none",
         "-source-language", "en", "-target-language", ts.stem.rsplit("_", 1)[1],
         *files, "-ts", str(ts)],
        cwd=root, check=True)


def run_lrelease(ts: Path, qm: Path) -> None:
    subprocess.run([tool("pyside6-lrelease"), "-silent", str(ts), "-qm", str(qm)], check=True)


Translations = dict[tuple[str, str], "str | list[str]"]


def read_translations(path: Path) -> tuple[str, Translations]:
    """(language, {(context, source): text or plural forms}) of a .ts or JSON file."""
    found: Translations = {}
    if path.suffix == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        for context, messages in data["messages"].items():
            for source, text in messages.items():
                found[(context, source)] = text
        return str(data["language"]), found
    root = ET.parse(path).getroot()
    for context in root.iter("context"):
        name = context.findtext("name") or ""
        for msg in context.iter("message"):
            translation = msg.find("translation")
            if translation is None or translation.get("type") in ("unfinished", "vanished"):
                continue
            forms = [f.text or "" for f in translation.iter("numerusform")]
            found[(name, msg.findtext("source") or "")] = forms or (translation.text or "")
    return str(root.get("language", "")).split("_")[0], found


def merge(ts: Path, translations: Translations) -> int:
    """Fills ``translations`` into ``ts``; returns how many messages were filled."""
    tree = ET.parse(ts)
    filled = 0
    for context in tree.getroot().iter("context"):
        name = context.findtext("name") or ""
        for msg in context.iter("message"):
            text = translations.get((name, msg.findtext("source") or ""))
            translation = msg.find("translation")
            if text is None or translation is None:
                continue
            translation.attrib.pop("type", None)
            if msg.get("numerus") == "yes":
                forms = text if isinstance(text, list) else [text, text]
                for old in list(translation):
                    translation.remove(old)
                translation.text = None
                for form in forms:
                    ET.SubElement(translation, "numerusform").text = form
            else:
                translation.text = text if isinstance(text, str) else text[0]
            filled += 1
    ET.indent(tree, space="    ")
    body = ET.tostring(tree.getroot(), encoding="unicode")
    ts.write_text('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE TS>\n' + body + "\n",
                  encoding="utf-8")
    return filled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--merge", nargs="*", type=Path, default=[], metavar="FILE")
    args = parser.parse_args(argv)
    for language in LANGUAGES:
        run_lupdate(ts_file(language))
    for path in args.merge:
        language, translations = read_translations(path)
        if language in LANGUAGES:
            count = merge(ts_file(language), translations)
            print(f"{path.name}: {count} {language} messages filled")
    for language in LANGUAGES:
        run_lupdate(ts_file(language))  # lupdate's own layout again, so the check is stable
        run_lrelease(ts_file(language), qm_file(language))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

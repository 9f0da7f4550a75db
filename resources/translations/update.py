"""Regenerate the translation catalogues from the code: ``python resources/translations/update.py``.

1. ``pyside6-lupdate`` collects every ``tr()``, ``QCoreApplication.translate()`` and
   ``QT_TR_NOOP()`` string of ``gui/`` (the sandbox excepted: it imitates Azure, whose error
   messages are English everywhere) into ``azure_image_studio_<lang>.ts``, keeping the
   translations already made and dropping strings the code no longer has.
2. ``pyside6-lrelease`` compiles each ``.ts`` into the ``.qm`` the app loads.

Translators edit the ``.ts`` files (Qt Linguist: ``pyside6-linguist FILE.ts``), then run this
again. ``tests/qt/test_translations.py`` fails when the committed files are behind the code.
Source locations are left out of the ``.ts`` files so that moving code does not change them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
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


def main() -> int:
    for language in LANGUAGES:
        run_lupdate(ts_file(language))
        run_lrelease(ts_file(language), qm_file(language))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

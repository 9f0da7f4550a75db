"""The wheel is the whole app: installed into a fresh venv outside the checkout, it has its icons,
desktop files, translations and data, and its commands run (issue 16)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from gui import __version__
from tests.packaging.helpers import RESOURCES, ROOT, run, run_app_offscreen, small_disk

pytestmark = pytest.mark.packaging

# Run inside the fresh venv: where the app's files come from, and that every icon loads.
ICON_CHECK = """
import sys
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
import gui
from gui import resources
from gui.qt import icons
venv = Path(sys.prefix).resolve()
assert venv in Path(gui.__file__).resolve().parents, gui.__file__
assert venv in resources.root().resolve().parents, resources.root()
names = sorted(p.stem for p in (resources.root() / "icons").glob("*.svg"))
assert names, "no icons"
for name in names:
    icon = icons.icon(name)
    assert not icon.isNull() and not icon.pixmap(32, 32).isNull(), name
print(len(names), "icons")
"""


def _data_files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix() for p in folder.rglob("*")
        if p.is_file() and p.suffix not in {".py", ".pyc"} and "__pycache__" not in p.parts
    }


def test_wheel_holds_every_resource_and_package_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    # Generic on purpose: translations and help pages added later travel without a new rule.
    assert {f"gui/data/{name}" for name in _data_files(RESOURCES)} <= names
    assert {f"gui/{name}" for name in _data_files(ROOT / "gui")} <= names
    assert not [n for n in names if n.startswith("gui/data/") and n.endswith(".py")]


def test_fresh_venv_loads_every_icon_from_the_installed_package(wheel_venv: Path,
                                                                tmp_path: Path) -> None:
    done = run([wheel_venv / "bin" / "python", "-c", ICON_CHECK], cwd=tmp_path,
               env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert "icons" in done.stdout


def test_fresh_venv_commands_run(wheel_venv: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "QT_QPA_PLATFORM": "offscreen",
           "AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "data")}
    version = run([wheel_venv / "bin" / "azure-image-studio", "--version"], cwd=tmp_path, env=env)
    assert version.stdout.strip() == f"azure-image-studio {__version__}"
    inspect = run([wheel_venv / "bin" / "azure-image-studio-cli", "inspect",
                   small_disk(tmp_path)], cwd=tmp_path, env=env)
    assert "32 MiB" in inspect.stdout
    desktop = run([wheel_venv / "bin" / "azure-image-studio", "--install-desktop",
                   "--data-home", tmp_path / "share"], cwd=tmp_path, env=env)
    assert f"Launcher: {wheel_venv / 'bin' / 'azure-image-studio'}" in desktop.stdout


def test_fresh_venv_app_starts_in_sandbox_mode(wheel_venv: Path, tmp_path: Path) -> None:
    run_app_offscreen([wheel_venv / "bin" / "azure-image-studio", "--sandbox"], tmp_path)

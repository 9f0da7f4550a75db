"""The installed commands: a console script beside the windowed one (Windows gives gui-scripts no
console, so `inspect` and `upload` need this one for their output and exit codes)."""

from __future__ import annotations

import subprocess
import sysconfig
from importlib.metadata import entry_points
from pathlib import Path


def _script(name: str) -> Path:
    scripts = Path(sysconfig.get_path("scripts"))
    found = [p for p in (scripts / name, scripts / f"{name}.exe") if p.exists()]
    assert found, f"{name} is not installed in {scripts}"
    return found[0]


def test_console_script_is_declared_for_the_headless_commands() -> None:
    console = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    gui = {ep.name: ep.value for ep in entry_points(group="gui_scripts")}
    assert console.get("azure-image-studio-cli") == "gui.cli:main"
    assert gui.get("azure-image-studio") == "gui.cli:main"


def test_console_script_runs_inspect_with_its_exit_code(tmp_path: Path) -> None:
    good = tmp_path / "disk.raw"
    with good.open("wb") as f:
        f.truncate(32 << 20)
    tiny = tmp_path / "tiny.raw"
    tiny.write_bytes(b"\1" * 4096)
    cli = _script("azure-image-studio-cli")
    ok = subprocess.run([str(cli), "inspect", str(good)], capture_output=True, text=True,
                        timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    assert "32" in ok.stdout
    refused = subprocess.run([str(cli), "inspect", str(tiny)], capture_output=True, text=True,
                             timeout=60, check=False)
    assert refused.returncode == 2
    assert refused.stdout.strip() or refused.stderr.strip()

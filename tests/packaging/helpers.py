"""Shared by the packaging tests: where things are, and running a command with a clear failure."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import buildinfo  # packaging/, put on sys.path by conftest.py

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
RESOURCES = ROOT / "resources"

DESKTOP_DIR = RESOURCES / "desktop"
DESKTOP_FILE = DESKTOP_DIR / f"{buildinfo.DESKTOP_ID}.desktop"
METAINFO_FILE = DESKTOP_DIR / f"{buildinfo.DESKTOP_ID}.metainfo.xml"
MIME_FILE = DESKTOP_DIR / f"{buildinfo.DESKTOP_ID}.mime.xml"
# The formats issue 16 names, which the desktop entry must claim.
REQUIRED_SUFFIXES = (".vhd", ".vhdx", ".vmdk", ".qcow2", ".vdi", ".ova", ".img")


def run(command: Sequence[str | Path], *, timeout: float = 600, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``command``; fail the test with its output when it exits non-zero."""
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env, check=False)
    assert done.returncode == 0, (
        f"{' '.join(map(str, command))} exited {done.returncode}\n"
        f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    )
    return done


def desktop_keys(path: Path) -> dict[str, str]:
    """The [Desktop Entry] group of a desktop file as a dict."""
    keys: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            keys[key] = value
    return keys


def desktop_mime_types(path: Path) -> list[str]:
    return [t for t in desktop_keys(path)["MimeType"].split(";") if t]


def run_app_offscreen(command: Sequence[str | Path], home: Path, seconds: float = 10) -> str:
    """Start the app (sandbox mode, offscreen) for ``seconds``; assert it is still running then,
    that the sandbox came up and that nothing raised; return its log."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "AZURE_IMAGE_STUDIO_HOME": str(home / "data"),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
    }
    process = subprocess.Popen([str(part) for part in command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=home)
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.terminate()
        out, err = process.communicate(timeout=30)
        alive = True
    else:
        alive = False
    log_file = home / "data" / "azure-image-studio.log"
    log = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    assert alive, f"the app exited with {process.returncode}\n{out}\n{err}\n{log}"
    assert "Traceback" not in err and "Traceback" not in log, f"{err}\n{log}"
    # The installed app ran its sandbox in a child process of its own, and connected to it.
    assert re.search(r"Sandbox process \d+ listening at http://127\.0\.0\.1:", log), log
    return log


def small_disk(folder: Path) -> Path:
    """A 32 MiB raw disk image (a size Azure accepts)."""
    disk = folder / "disk.raw"
    with disk.open("wb") as f:
        f.truncate(32 << 20)
    return disk

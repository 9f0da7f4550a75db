"""Shared by the packaging tests: where things are, and running a command with a clear failure."""

from __future__ import annotations

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

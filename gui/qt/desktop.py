"""Linux desktop integration: the desktop entry, the AppStream metainfo, the MIME definition and
the icons, laid out under an XDG data directory.

``azure-image-studio --install-desktop`` puts them under ``$XDG_DATA_HOME`` (``~/.local/share``)
for the user, so the file manager opens disk images with the app and the launcher shows it; the
Debian package build (``packaging/build_deb.py``) lays out the same files under ``/usr/share``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QGuiApplication

from gui import resources
from gui.qt.icons import render_png

# The hicolor theme's bitmap sizes that desktops look up (freedesktop Icon Theme spec); the SVG
# serves every other size.
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def launcher_command() -> list[str]:
    """The command that starts this installation of the app, for the desktop entry's Exec key.

    A venv's script (``.venv/bin/azure-image-studio``) is usually not on PATH, so the entry names
    it by its full path; a frozen bundle names its own executable.
    """
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sysconfig.get_path("scripts")) / resources.COMMAND
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "gui"]


def _exec_value(command: Sequence[str]) -> str:
    """The Exec key's value: each argument quoted as the Desktop Entry spec asks, then %F."""
    quoted = []
    for arg in command:
        text = arg.replace("%", "%%")  # a literal percent sign; %F is the field code
        if any(c in text for c in ' \t\n"\'\\><~|&;$*?#()`'):
            for special in ("\\", '"', "`", "$"):
                text = text.replace(special, "\\" + special)
            text = f'"{text}"'
        quoted.append(text)
    # A desktop file's string values escape the backslash once more.
    return " ".join(quoted).replace("\\", "\\\\") + " %F"


def desktop_entry(command: Sequence[str]) -> str:
    """The packaged desktop entry, its Exec naming ``command``."""
    lines = []
    source = resources.path("desktop", f"{resources.DESKTOP_ID}.desktop")
    for line in source.read_text(encoding="utf-8").splitlines():
        lines.append("Exec=" + _exec_value(command) if line.startswith("Exec=") else line)
    return "\n".join(lines) + "\n"


def install(data_home: Path, command: Sequence[str]) -> list[Path]:
    """Write the desktop files under ``data_home`` (an XDG data directory); return them."""
    app_id = resources.DESKTOP_ID
    written: list[Path] = []

    def put(relative: str, content: bytes) -> None:
        target = data_home / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        written.append(target)

    put(f"applications/{app_id}.desktop", desktop_entry(command).encode())
    put(f"metainfo/{app_id}.metainfo.xml",
        resources.path("desktop", f"{app_id}.metainfo.xml").read_bytes())
    put(f"mime/packages/{app_id}.xml", resources.path("desktop", f"{app_id}.mime.xml").read_bytes())
    svg = resources.path("icons", "app.svg")
    put(f"icons/hicolor/scalable/apps/{app_id}.svg", svg.read_bytes())
    for size in ICON_SIZES:
        put(f"icons/hicolor/{size}x{size}/apps/{app_id}.png", render_png(svg, size))
    return written


def refresh_caches(data_home: Path) -> list[str]:
    """Rebuild the MIME, desktop and icon caches the desktop reads; return the tools missing."""
    tools = (
        ("update-mime-database", [str(data_home / "mime")]),
        ("update-desktop-database", [str(data_home / "applications")]),
        ("gtk-update-icon-cache", ["--force", "--ignore-theme-index", "--quiet",
                                   str(data_home / "icons" / "hicolor")]),
    )
    missing = []
    for tool, args in tools:
        found = shutil.which(tool)
        if found is None:
            missing.append(tool)
            continue
        subprocess.run([found, *args], check=False, capture_output=True, timeout=120)
    return missing


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{resources.COMMAND} --install-desktop",
        description="Install the desktop entry, MIME types, icons and AppStream metainfo for "
        "this user, so file managers open disk images with Azure Image Studio.",
    )
    parser.add_argument(
        "--data-home", type=Path, default=None,
        help="XDG data directory to install into (default: $XDG_DATA_HOME or ~/.local/share)",
    )
    args = parser.parse_args(list(argv))
    if not sys.platform.startswith("linux"):
        print("--install-desktop is for Linux desktops; on Windows the installer and on macOS "
              "the application bundle register the file types.", file=sys.stderr)
        return 2
    data_home = args.data_home or Path(
        os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    )
    # QPainter needs a QGuiApplication; the offscreen platform needs no display, so this works
    # over SSH and in a terminal without a desktop session.
    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0], "-platform", "offscreen"])
    try:
        written = install(data_home, launcher_command())
    except OSError as error:
        print(f"Could not install the desktop files under {data_home}: {error.strerror or error}. "
              "Choose a writable folder with --data-home.", file=sys.stderr)
        return 1
    for path in written:
        print(f"installed {path}")
    missing = refresh_caches(data_home)
    if missing:
        print(f"Not found: {', '.join(missing)}; the desktop picks the new files up at the next "
              "log-in (Debian/Ubuntu: apt install shared-mime-info desktop-file-utils "
              "gtk-update-icon-cache).")
    print(f"Launcher: {shlex.join(launcher_command())}")
    return 0

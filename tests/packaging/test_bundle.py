"""The PyInstaller bundle and the .deb made from it: the files land where a desktop looks for
them, apt accepts the package, and the bundled app starts (issue 16)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import buildinfo
import pytest

from gui import __version__, resources
from gui.qt.desktop import ICON_SIZES
from tests.packaging.helpers import (
    PACKAGING,
    desktop_keys,
    run,
    run_app_offscreen,
    small_disk,
)

pytestmark = pytest.mark.packaging

INSTALL_DIR = Path("usr/lib") / buildinfo.BUNDLE_DIR


def test_bundle_carries_the_resources_where_the_wheel_has_them(bundle: Path) -> None:
    data = bundle / "_internal" / "gui" / "data"
    assert (data / "icons" / "app.svg").is_file()
    assert (data / "desktop" / f"{resources.DESKTOP_ID}.desktop").is_file()
    for source, folder in buildinfo.resource_files():
        assert (bundle / "_internal" / folder / source.name).is_file(), source


def test_deb_installs_the_app_and_its_desktop_files(deb_root: Path) -> None:
    app_id = resources.DESKTOP_ID
    launcher = deb_root / "usr/bin" / resources.COMMAND
    assert os.readlink(launcher) == f"../lib/{buildinfo.BUNDLE_DIR}/{resources.COMMAND}"
    assert launcher.resolve() == (deb_root / INSTALL_DIR / resources.COMMAND).resolve()
    entry = deb_root / f"usr/share/applications/{app_id}.desktop"
    run(["desktop-file-validate", entry])
    assert desktop_keys(entry)["Exec"] == f"{resources.COMMAND} %F"  # on PATH via /usr/bin
    run(["appstreamcli", "validate", "--no-net",
         deb_root / f"usr/share/metainfo/{app_id}.metainfo.xml"])
    run(["xmllint", "--noout", deb_root / f"usr/share/mime/packages/{app_id}.xml"])
    icons = deb_root / "usr/share/icons/hicolor"
    assert (icons / f"scalable/apps/{app_id}.svg").is_file()
    for size in ICON_SIZES:
        assert (icons / f"{size}x{size}/apps/{app_id}.png").is_file()
    assert (deb_root / "usr/share/doc" / resources.COMMAND / "copyright").is_file()


def test_deb_control_declares_what_the_bundle_links_against(deb: Path) -> None:
    fields = run(["dpkg-deb", "--field", deb]).stdout
    assert f"Version: {__version__}" in fields
    depends = re.search(r"^Depends: (.+)$", fields, re.M)
    assert depends, fields
    names = {d.split()[0] for d in depends.group(1).split(", ")}
    # What PyInstaller leaves to the system (the C library, the GL drivers, the X connection);
    # the rest of the X11 plugin's libraries (libxcb-cursor, libxkbcommon-x11) travel inside.
    assert {"libc6", "libgl1", "libxcb1"} <= names, names
    assert re.search(r"libc6 \(>= [0-9.]+\)", depends.group(1))


def test_apt_accepts_the_deb(deb: Path) -> None:
    # A simulated `apt install ./azure-image-studio_*.deb`: the dependencies resolve on this
    # system, and nothing is changed.
    done = run(["apt-get", "install", "--simulate", "--no-install-recommends", deb])
    assert f"Inst {resources.COMMAND} " in done.stdout, done.stdout


def test_packaged_app_runs_headless_commands(deb_root: Path, tmp_path: Path) -> None:
    launcher = deb_root / "usr/bin" / resources.COMMAND
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "data")}
    assert run([launcher, "--version"], env=env).stdout.strip() == \
        f"{resources.COMMAND} {__version__}"
    inspect = run([launcher, "inspect", "--json", small_disk(tmp_path)], env=env)
    assert '"format"' in inspect.stdout
    refused = subprocess.run([str(launcher), "inspect", str(tmp_path / "missing.vhd")],
                             capture_output=True, text=True, env=env, timeout=120, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr


def test_packaged_app_starts_in_sandbox_mode_for_ten_seconds(deb_root: Path,
                                                             tmp_path: Path) -> None:
    run_app_offscreen([deb_root / "usr/bin" / resources.COMMAND, "--sandbox"], tmp_path,
                      seconds=10)


def test_installer_script_takes_files_the_bundle_has(bundle: Path) -> None:
    """The Inno Setup [Files] sources, checked against the Linux bundle: the same layout but for
    the .exe suffix and the console twin, which only the Windows branch builds."""
    iss = (PACKAGING / "windows" / "azure-image-studio.iss").read_text(encoding="utf-8")
    files = re.findall(r'^Source: "\.\.\\\.\.\\dist\\([^"]+)"', iss, re.M)
    assert files
    for source in files:
        relative = (source.replace("{#AppExe}", resources.COMMAND)
                    .replace("{#CliExe}", buildinfo.CONSOLE_COMMAND).replace("\\", "/"))
        if relative.endswith(f"/{buildinfo.CONSOLE_COMMAND}"):
            continue  # built by the spec on Windows only (test_platform_builds checks the spec)
        path = bundle.parent / relative
        if path.name == "*":
            assert path.parent.is_dir() and any(path.parent.iterdir()), relative
        else:
            assert path.is_file(), relative


def test_bundled_app_finds_its_resources_and_installs_the_desktop_files(bundle: Path,
                                                                       tmp_path: Path) -> None:
    """gui.resources inside the frozen app: a missing bundled file would stop --install-desktop
    with MissingResourceError, and the entry must start the bundle's own executable."""
    executable = bundle / resources.COMMAND
    done = run([executable, "--install-desktop", "--data-home", tmp_path / "share"],
               env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert f"Launcher: {executable}" in done.stdout
    entry = tmp_path / "share" / "applications" / f"{resources.DESKTOP_ID}.desktop"
    assert desktop_keys(entry)["Exec"] == f"{executable} %F"

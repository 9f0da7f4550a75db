"""The Linux desktop integration: the desktop entry, the metainfo and the MIME definition pass the
validators desktops use, claim the disk-image types, and `--install-desktop` lays them out so a
file manager finds the app for those files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import buildinfo
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from gui import __version__, resources
from gui.qt import desktop
from tests.packaging.helpers import (
    DESKTOP_FILE,
    METAINFO_FILE,
    MIME_FILE,
    REQUIRED_SUFFIXES,
    ROOT,
    desktop_keys,
    desktop_mime_types,
    run,
)

SYSTEM_MIME = Path("/usr/share/mime/packages/freedesktop.org.xml")


def test_desktop_entry_passes_desktop_file_validate() -> None:
    done = run(["desktop-file-validate", DESKTOP_FILE])
    assert done.stdout.strip() == "", done.stdout  # no warnings or hints either


def test_metainfo_passes_appstreamcli_validate() -> None:
    # --no-net: CI has no network; the screenshot URL is checked for form, not fetched.
    done = run(["appstreamcli", "validate", "--no-net", "--strict", METAINFO_FILE])
    assert "Validation was successful" in done.stdout


def test_mime_xml_is_well_formed_for_xmllint() -> None:
    run(["xmllint", "--noout", MIME_FILE])


def test_metainfo_has_screenshots_releases_and_content_rating() -> None:
    component = ET.parse(METAINFO_FILE).getroot()
    assert component.findtext("id") == resources.DESKTOP_ID
    assert component.findtext("launchable") == f"{resources.DESKTOP_ID}.desktop"
    images = [i.text or "" for i in component.findall("screenshots/screenshot/image")]
    assert images and all(url.startswith("https://") for url in images)
    for url in images:  # the image the URL serves once pushed is committed here
        assert (ROOT / url.split("/main/", 1)[1]).is_file(), url
    # The newest release is the version the package says it is.
    releases = component.findall("releases/release")
    assert releases[0].get("version") == __version__
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", releases[0].get("date") or "")
    assert component.find("content_rating[@type='oars-1.1']") is not None
    assert {m.text for m in component.findall("provides/mediatype")} == set(
        desktop_mime_types(DESKTOP_FILE)
    )


def test_desktop_entry_claims_the_types_the_builds_register() -> None:
    keys = desktop_keys(DESKTOP_FILE)
    assert keys["Icon"] == resources.DESKTOP_ID
    assert keys["Exec"].split()[0] == resources.COMMAND
    assert set(desktop_mime_types(DESKTOP_FILE)) == {d.mime for d in buildinfo.DOCUMENT_TYPES}


def _glob_types(mime_dir: Path) -> dict[str, set[str]]:
    """``{"*.vhd": {"application/x-vhd-disk", ...}}`` from a compiled MIME database's globs2:
    the types of the highest weight for each pattern, among which content sniffing decides."""
    weights: dict[str, int] = {}
    found: dict[str, set[str]] = {}
    for line in (mime_dir / "globs2").read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        weight, mime, pattern = line.split(":")[:3]
        if int(weight) > weights.get(pattern, -1):
            weights[pattern] = int(weight)
            found[pattern] = set()
        if int(weight) == weights[pattern]:
            found[pattern].add(mime)
    return found


def test_every_disk_image_suffix_maps_to_a_type_the_entry_claims(tmp_path: Path) -> None:
    """With the system's shared-mime-info plus ours compiled by update-mime-database (which also
    refuses a malformed package), each suffix the app opens names a type the entry lists."""
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(SYSTEM_MIME, packages)
    shutil.copy(MIME_FILE, packages / f"{resources.DESKTOP_ID}.xml")
    done = run(["update-mime-database", "-V", tmp_path / "mime"])
    assert "error" not in done.stderr.casefold(), done.stderr
    globs = _glob_types(tmp_path / "mime")
    claimed = set(desktop_mime_types(DESKTOP_FILE))
    suffixes = {f".{e}" for d in buildinfo.DOCUMENT_TYPES for e in d.extensions}
    assert set(REQUIRED_SUFFIXES) <= suffixes
    for suffix in sorted(suffixes):
        # .vhd ties with VHDL source (text/x-vhdl); a file manager's sniffing tells them apart.
        assert globs.get(f"*{suffix}", set()) & claimed, (suffix, globs.get(f"*{suffix}"))


def test_our_mime_package_adds_only_what_shared_mime_info_lacks(tmp_path: Path) -> None:
    """Without our package the Hyper-V names are unknown, with it they are disk images."""
    packages = tmp_path / "mime" / "packages"
    packages.mkdir(parents=True)
    shutil.copy(SYSTEM_MIME, packages)
    run(["update-mime-database", tmp_path / "mime"])
    before = _glob_types(tmp_path / "mime")
    ours = ET.parse(MIME_FILE).getroot()
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    added = [g.get("pattern") for g in ours.iter(f"{ns}glob")]
    assert added and all(pattern not in before for pattern in added)


def test_install_desktop_lays_out_the_files_for_a_file_manager(
    qapp: QApplication, tmp_path: Path
) -> None:
    data_home = tmp_path / "share with space"
    command = [str(tmp_path / "my venv" / "bin" / "azure-image-studio")]
    written = desktop.install(data_home, command)
    app_id = resources.DESKTOP_ID
    entry = data_home / "applications" / f"{app_id}.desktop"
    assert entry in written
    run(["desktop-file-validate", entry])
    assert desktop_keys(entry)["Exec"] == f'"{command[0]}" %F'
    for size in desktop.ICON_SIZES:
        png = data_home / f"icons/hicolor/{size}x{size}/apps/{app_id}.png"
        image = QImage(str(png))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # drawn, not blank
    assert (data_home / f"icons/hicolor/scalable/apps/{app_id}.svg").is_file()
    assert (data_home / f"metainfo/{app_id}.metainfo.xml").is_file()
    # update-desktop-database (run by the command) makes the file manager's "open with" list.
    run(["update-desktop-database", data_home / "applications"])
    cache = (data_home / "applications" / "mimeinfo.cache").read_text(encoding="utf-8")
    assert f"application/x-vhd-disk={app_id}.desktop;" in cache


def test_install_desktop_command_installs_for_the_user(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(ROOT)}
    done = run([sys.executable, "-m", "gui", "--install-desktop"], env=env, cwd=tmp_path)
    entry = tmp_path / "xdg" / "applications" / f"{resources.DESKTOP_ID}.desktop"
    assert f"installed {entry}" in done.stdout
    assert (tmp_path / "xdg" / "mime" / "mime.cache").is_file()  # update-mime-database ran
    run(["desktop-file-validate", entry])


def test_install_desktop_into_an_unwritable_folder_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "gui", "--install-desktop", "--data-home", str(blocker / "x")],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "--data-home" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_exec_quoting_follows_the_desktop_entry_spec() -> None:
    assert desktop.desktop_entry(["/opt/a b/run"]).count('Exec="/opt/a b/run" %F') == 1
    weird = desktop.desktop_entry(['/x/50%"$`\\'])
    assert 'Exec="/x/50%%\\\\"\\\\$\\\\`\\\\\\\\" %F' in weird

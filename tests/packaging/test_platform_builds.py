"""What of the Windows and macOS builds can be checked on Linux: the spec compiles, the Info.plist
is valid and declares every disk-image type, the Windows version resource is well formed, the
icons are real .ico/.icns files, and the Inno Setup script registers the same types."""

from __future__ import annotations

import ast
import plistlib
import re
from pathlib import Path

import buildinfo
import make_icons
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImageReader
from PySide6.QtWidgets import QApplication

from gui import __version__
from tests.packaging.helpers import PACKAGING

SPEC = PACKAGING / "azure-image-studio.spec"
ISS = PACKAGING / "windows" / "azure-image-studio.iss"


def test_spec_compiles_and_builds_each_system_branch() -> None:
    source = SPEC.read_text(encoding="utf-8")
    tree = ast.parse(compile(source, str(SPEC), "exec", ast.PyCF_ONLY_AST))
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= calls
    # The console twin is built for Windows, from the same analysis.
    assert "buildinfo.CONSOLE_COMMAND, console=True" in source


def test_info_plist_is_valid_and_declares_every_disk_image_type() -> None:
    info = buildinfo.info_plist()
    data = plistlib.loads(plistlib.dumps(info, fmt=plistlib.FMT_XML))
    assert data["CFBundleShortVersionString"] == __version__
    assert data["NSHighResolutionCapable"] is True
    # CFBundleIdentifier allows letters, digits, hyphens and dots only.
    assert re.fullmatch(r"[A-Za-z0-9.-]+", buildinfo.MACOS_BUNDLE_ID)
    declared = {t["UTTypeIdentifier"]: t for t in data["UTImportedTypeDeclarations"]}
    extensions = set()
    for document in data["CFBundleDocumentTypes"]:
        (uti,) = document["LSItemContentTypes"]
        assert uti in declared  # every document type is one macOS is taught to recognise
        assert document["LSHandlerRank"] == "Alternate"
        extensions |= set(declared[uti]["UTTypeTagSpecification"]["public.filename-extension"])
    assert {"vhd", "vhdx", "vmdk", "qcow2", "vdi", "ova", "img"} <= extensions


def test_windows_version_resource_names_this_version() -> None:
    text = buildinfo.windows_version_info("azure-image-studio-cli.exe")
    tree = ast.parse(text)  # PyInstaller evaluates it as a Python expression
    strings = {
        node.args[0].value: node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "StringStruct"
        and isinstance(node.args[0], ast.Constant) and isinstance(node.args[1], ast.Constant)
    }
    assert strings["FileVersion"] == __version__
    assert strings["OriginalFilename"] == "azure-image-studio-cli.exe"
    assert f"filevers={buildinfo.version_tuple()}" in text
    assert all(0 <= n < 1 << 16 for n in buildinfo.version_tuple())


def _images(data: bytes, kind: bytes) -> list[tuple[int, int]]:
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer, kind)
    sizes = []
    for index in range(reader.imageCount()):
        reader.jumpToImage(index)
        image = reader.read()
        assert not image.isNull(), reader.errorString()
        sizes.append((image.width(), image.height()))
    return sizes


def test_icons_are_real_ico_and_icns_files(qapp: QApplication, tmp_path: Path) -> None:
    ico, icns = make_icons.write_icons(tmp_path)
    assert sorted(_images(ico.read_bytes(), b"ico")) == [(s, s) for s in make_icons.ICO_SIZES]
    assert (1024, 1024) in _images(icns.read_bytes(), b"icns")


def _iss_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for line in ISS.read_text(encoding="utf-8").splitlines():
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif line.strip() and not line.startswith(";"):
            sections.setdefault(current, []).append(line)
    return sections


def test_installer_registers_every_disk_image_type_for_open_with() -> None:
    registry = "\n".join(_iss_sections()["Registry"])
    for document in buildinfo.DOCUMENT_TYPES:
        progid = f"{{#ProgIdPrefix}}.{document.extensions[0]}"
        for extension in document.extensions:
            assert (f'Subkey: "Software\\Classes\\.{extension}\\OpenWithProgids"; '
                    f'ValueType: string; ValueName: "{progid}"') in registry
        assert f'Subkey: "Software\\Classes\\{progid}"; ValueType: string; ValueName: ""; ' \
               f'ValueData: "{document.description}"' in registry
        assert f'Subkey: "Software\\Classes\\{progid}\\shell\\open\\command"' in registry
    # "Open with" only: the installer never sets an extension's default program.
    assert not re.search(r'Classes\\\.[a-z0-9]+"; ValueType: string; ValueName: ""', registry)


def test_installer_takes_the_executables_the_spec_builds() -> None:
    text = ISS.read_text(encoding="utf-8")
    assert f'#define AppExe "{buildinfo.COMMAND}.exe"' in text
    assert f'#define CliExe "{buildinfo.CONSOLE_COMMAND}.exe"' in text
    assert f"..\\..\\dist\\{buildinfo.BUNDLE_DIR}\\" in text
    assert "ChangesAssociations=yes" in text

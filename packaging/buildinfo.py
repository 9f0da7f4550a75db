"""What the builds for every system share: names, the disk-image file types the app registers,
the macOS Info.plist keys and the Windows version resource.

The PyInstaller spec reads it on each system, and tests/packaging checks it on Linux, so what
cannot be built here (the Windows and macOS branches) is still checked here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the spec and the build scripts run from anywhere
    sys.path.insert(0, str(ROOT))

from gui import APP_NAME, __version__  # noqa: E402
from gui.resources import COMMAND, DESKTOP_ID  # noqa: E402

__all__ = [
    "APP_NAME", "BUNDLE_DIR", "COMMAND", "CONSOLE_COMMAND", "DESKTOP_ID", "DOCUMENT_TYPES",
    "HOMEPAGE", "MACOS_APP", "MACOS_BUNDLE_ID", "MACOS_MINIMUM", "PUBLISHER", "ROOT",
    "DocumentType", "__version__", "info_plist", "resource_files", "version_tuple",
    "windows_version_info",
]

# The one-folder bundle (dist/<BUNDLE_DIR>) and its executables. Windows gets a console twin of
# the windowed executable: a windowed .exe has no console, so inspect/upload/download would print
# nothing and their exit codes would be lost in a terminal.
BUNDLE_DIR = COMMAND
CONSOLE_COMMAND = f"{COMMAND}-cli"

# macOS bundle identifiers allow letters, digits, hyphens and dots, not the underscores the
# freedesktop id needs (D-Bus names forbid hyphens): the same id in each system's spelling.
MACOS_BUNDLE_ID = DESKTOP_ID.replace("_", "-")
MACOS_APP = f"{APP_NAME}.app"
# Qt 6.10 and later (what a build installs today) support macOS 13 or later (doc.qt.io, "Qt for
# macOS", supported configurations).
MACOS_MINIMUM = "13.0"

PUBLISHER = "The Azure Image Studio contributors"
HOMEPAGE = "https://github.com/azure-image-studio/azure-image-studio"


@dataclass(frozen=True)
class DocumentType:
    """A disk-image format the app opens, named as each system names file types."""

    extensions: tuple[str, ...]  # without the dot
    description: str
    mime: str  # the shared-mime-info type (desktop entry, metainfo)
    uti: str  # the macOS Uniform Type Identifier, declared in Info.plist
    conforms_to: tuple[str, ...] = ("public.data", "public.disk-image")


_UTI = MACOS_BUNDLE_ID.rsplit(".", 1)[0]  # io.github.azure-image-studio

DOCUMENT_TYPES = (
    DocumentType(("vhd", "avhd"), "VHD disk image", "application/x-vhd-disk", f"{_UTI}.vhd"),
    DocumentType(("vhdx", "avhdx"), "VHDX disk image", "application/x-vhdx-disk", f"{_UTI}.vhdx"),
    DocumentType(("vmdk",), "VMDK disk image", "application/x-vmdk-disk", f"{_UTI}.vmdk"),
    DocumentType(("qcow2", "qcow"), "QEMU qcow2 disk image", "application/x-qemu-disk",
                 f"{_UTI}.qcow2"),
    DocumentType(("vdi",), "VirtualBox VDI disk image", "application/x-vdi-disk", f"{_UTI}.vdi"),
    # An OVA is a tar archive holding the disks; public.tar-archive lets Finder still unpack it.
    DocumentType(("ova",), "OVA virtual appliance", "application/ovf", f"{_UTI}.ova",
                 ("public.data", "public.tar-archive")),
    DocumentType(("img",), "Raw disk image", "application/x-raw-disk-image", f"{_UTI}.img"),
)


def info_plist() -> dict[str, Any]:
    """The Info.plist keys PyInstaller's BUNDLE merges over its defaults."""
    return {
        "CFBundleName": APP_NAME,
        "CFBundleDisplayName": APP_NAME,
        "CFBundleShortVersionString": __version__,
        "CFBundleVersion": __version__,
        "LSMinimumSystemVersion": MACOS_MINIMUM,
        "LSApplicationCategoryType": "public.app-category.developer-tools",
        "NSHighResolutionCapable": True,
        # Dark mode follows the system (Qt draws both).
        "NSRequiresAquaSystemAppearance": False,
        "NSHumanReadableCopyright": f"© {PUBLISHER}. MIT licence.",
        # Opened from Finder or by a drop on the Dock icon: "Viewer" because the app reads the
        # file and uploads it, never writes it; "Alternate" so it is offered in "Open With"
        # without taking the files over from the system's own disk mounter.
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": doc.description,
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Alternate",
                "LSItemContentTypes": [doc.uti],
            }
            for doc in DOCUMENT_TYPES
        ],
        # Imported, not exported: the formats belong to others; the declarations only teach
        # macOS which file names carry them.
        "UTImportedTypeDeclarations": [
            {
                "UTTypeIdentifier": doc.uti,
                "UTTypeDescription": doc.description,
                "UTTypeConformsTo": list(doc.conforms_to),
                "UTTypeTagSpecification": {
                    "public.filename-extension": list(doc.extensions),
                    "public.mime-type": [doc.mime],
                },
            }
            for doc in DOCUMENT_TYPES
        ],
    }


def version_tuple() -> tuple[int, int, int, int]:
    """``__version__`` as Windows' four 16-bit numbers (a pre-release suffix is dropped)."""
    numbers = []
    for part in __version__.split(".")[:4]:
        digits = "".join(c for c in part if c.isdigit()) or "0"
        numbers.append(int(digits))
    while len(numbers) < 4:
        numbers.append(0)
    return numbers[0], numbers[1], numbers[2], numbers[3]


def windows_version_info(executable: str) -> str:
    """The version resource of ``executable`` (e.g. ``azure-image-studio.exe``), in the text form
    PyInstaller's ``EXE(version=...)`` reads (its own classes, evaluated on Windows)."""
    numbers = version_tuple()
    strings = {
        "CompanyName": PUBLISHER,
        "FileDescription": APP_NAME,
        "FileVersion": __version__,
        "InternalName": Path(executable).stem,
        "LegalCopyright": f"© {PUBLISHER}. MIT licence.",
        "OriginalFilename": executable,
        "ProductName": APP_NAME,
        "ProductVersion": __version__,
    }
    table = ",\n          ".join(f"StringStruct({k!r}, {v!r})" for k, v in strings.items())
    return f"""# UTF-8
VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers},
    prodvers={numbers},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo([
      StringTable(
        '040904B0',
        [{table}])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def resource_files() -> list[tuple[Path, str]]:
    """Every bundled file as (source, folder in the bundle), as the wheel ships them: all of
    resources/ under gui/data/, less the scripts that build resources."""
    source = ROOT / "resources"
    return [
        (path, str(Path("gui", "data", path.parent.relative_to(source))))
        for path in sorted(source.rglob("*"))
        if path.is_file() and path.suffix not in {".py", ".pyc"} and "__pycache__" not in path.parts
    ]

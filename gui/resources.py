"""The one place that finds the app's bundled files: icons, translations, help pages, the desktop
entry, the AppStream metainfo and the MIME definition.

They live in the checkout's ``resources/``; a wheel installs that folder as ``gui/data/`` (see
``setup.py``) and the PyInstaller spec copies it to the same place in the bundle, so
``importlib.resources`` finds it in an installed app and in a frozen one alike. Only a source
checkout that was not installed as a wheel (``pip install -e .``, ``python -m gui``) has no
``gui/data/``; then the checkout's own ``resources/`` is used.

No Qt here: the headless commands and ``--install-desktop`` read these files too.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The reverse-DNS application id: the base name of the desktop entry, the metainfo, the MIME
# package and the icon, and the Wayland app id. The project has no domain of its own, so it takes
# its code-hosting namespace (io.github.<owner>), the convention AppStream and Flathub give for
# such projects; hyphens become underscores because D-Bus names, which desktop ids follow, forbid
# them. Not "com.microsoft": Microsoft does not publish this app. The data directory keeps the
# short name (gui.APP_ID), so existing settings and upload journals stay where they are.
DESKTOP_ID = "io.github.azure_image_studio.AzureImageStudio"

# The command the desktop entry runs and the .deb puts on PATH.
COMMAND = "azure-image-studio"


class MissingResourceError(FileNotFoundError):
    """A bundled file is not where the package put it: the installation is incomplete."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path} is missing: the installation is incomplete; reinstall Azure Image Studio "
            "(pip install --force-reinstall azure-image-studio, or the package you installed)."
        )
        self.path = path


def root() -> Path:
    """The folder that holds every bundled file."""
    packaged = files("gui").joinpath("data")
    # A regular package on disk (a wheel, a PyInstaller bundle) gives a real path; Qt needs one
    # (QIcon, QTranslator and QHelpEngine open files by name), so a zipped install is not served.
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "resources"


def path(*parts: str) -> Path:
    """``root() / parts``, which must exist (a missing one means a broken installation)."""
    found = root().joinpath(*parts)
    if not found.exists():
        raise MissingResourceError(found)
    return found


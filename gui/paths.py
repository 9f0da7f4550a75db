"""Where the application keeps its files.

Everything lives below one data directory so that tests and the sandbox can be pointed elsewhere
with ``AZURE_IMAGE_STUDIO_HOME``.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from gui import APP_ID

HOME_ENV = "AZURE_IMAGE_STUDIO_HOME"


def data_dir() -> Path:
    override = os.environ.get(HOME_ENV)
    path = Path(override) if override else platformdirs.user_data_path(APP_ID, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sub(name: str) -> Path:
    path = data_dir() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def sandbox_dir() -> Path:
    """State of the embedded sandbox (ARM resources, page-blob data)."""
    return _sub("sandbox")


def cache_dir() -> Path:
    """Listings cached with a time stamp so a second start shows the tree at once."""
    return _sub("cache")


def journal_dir() -> Path:
    """Upload resume journals."""
    return _sub("transfers")


def settings_file() -> Path:
    """The QSettings INI file (kept here, not in the registry, so it is easy to find and reset)."""
    return data_dir() / "settings.ini"

"""Test-wide set-up: offscreen Qt, an isolated data directory, and the shared fixture plugins."""

from __future__ import annotations

import os
import tempfile

from gui.paths import HOME_ENV

# Set before anything imports Qt or reads the data directory, so no test touches the user's files.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ[HOME_ENV] = tempfile.mkdtemp(prefix="ais-test-home-")

pytest_plugins = [
    "tests.fixtures.disk_images",
    "tests.fixtures.sandbox",
    "tests.fixtures.azurite",
]

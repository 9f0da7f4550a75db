"""packaging/ holds build scripts, not a package: its modules import each other by name, as they do
when PyInstaller or a developer runs them, so the tests find them the same way."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
if str(PACKAGING) not in sys.path:
    sys.path.insert(0, str(PACKAGING))

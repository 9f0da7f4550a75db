"""Helpers shared by the Azure-layer tests and the GUI tests that sign in: stand-in `az`
executables at the real process boundary (azure-identity and `az cloud show` run them).

Test modules import from here, never from one another.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

SIGNED_IN = """#!/bin/sh
case "$*" in
  *"account get-access-token"*)
    echo '{"accessToken": "cli-token-123", "expiresOn": "2099-01-01 00:00:00.000000",
           "expires_on": 4070908800, "subscription": "8d5f2b7e-3c41-4a8e-9b0f-6e2d1c7a9f35",
           "tenant": "3b9c6e1a-5d24-4f8b-a7c0-9e1d2f4b6a83", "tokenType": "Bearer"}'
    ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""

SIGNED_OUT = """#!/bin/sh
echo "ERROR: Please run 'az login' to setup account." >&2
exit 1
"""


def fake_az(directory: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Puts an `az` running ``script`` first on PATH (with only the system's own dirs after)."""
    directory.mkdir(parents=True, exist_ok=True)
    az = directory / "az"
    az.write_text(script)
    az.chmod(az.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}/usr/bin{os.pathsep}/bin")


def az_cloud_show(name: str, resource_manager: str, authority: str) -> str:
    """An `az` script that answers `az cloud show` with the named cloud's endpoints."""
    body = json.dumps(
        {
            "name": name,
            "isActive": True,
            "endpoints": {"resourceManager": resource_manager, "activeDirectory": authority},
        }
    )
    return f"""#!/bin/sh
case "$*" in
  "cloud show --output json") cat <<'JSON'
{body}
JSON
  ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


# The CLI set to US Government (and signed out there): the start should follow it.
US_GOVERNMENT_CLI = az_cloud_show(
    "AzureUSGovernment",
    "https://management.usgovcloudapi.net/",
    "https://login.microsoftonline.us",
)

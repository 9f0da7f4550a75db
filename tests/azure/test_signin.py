"""Sign-in through the Azure CLI, with stand-in `az` executables at the real process boundary
(azure-identity runs `az account get-access-token` and reads its JSON)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gui.azure.account.clouds import PUBLIC_CLOUD
from gui.azure.account.signin import try_azure_cli

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
    directory.mkdir(parents=True, exist_ok=True)
    az = directory / "az"
    az.write_text(script)
    az.chmod(az.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}/usr/bin{os.pathsep}/bin")


@pytest.mark.asyncio
async def test_an_azure_cli_sign_in_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_az(tmp_path / "bin", SIGNED_IN, monkeypatch)
    session = await try_azure_cli(PUBLIC_CLOUD)
    assert session is not None
    try:
        assert not session.is_sandbox
        assert session.arm_url == "https://management.azure.com"
        token = await session.credential.get_token(PUBLIC_CLOUD.arm_scope)
        assert token.token == "cli-token-123"
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_no_cli_sign_in_gives_no_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_az(tmp_path / "bin", SIGNED_OUT, monkeypatch)
    assert await try_azure_cli(PUBLIC_CLOUD) is None


@pytest.mark.asyncio
async def test_no_cli_at_all_gives_no_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert await try_azure_cli(PUBLIC_CLOUD) is None

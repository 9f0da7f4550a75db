"""Sign-in through the Azure CLI, with stand-in `az` executables at the real process boundary
(azure-identity runs `az account get-access-token` and reads its JSON)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui.azure.account.clouds import PUBLIC_CLOUD
from gui.azure.account.signin import try_azure_cli
from tests.azure.helpers import SIGNED_IN, SIGNED_OUT, fake_az


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

"""Which cloud a start uses: --cloud, else the app's remembered choice, else `az cloud show`;
and the sign-in dialog says where the sign-in will be kept before the user signs in."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.azure.account.clouds import (
    CLOUDS,
    PUBLIC_CLOUD,
    UnknownCloudError,
    cloud_from_cli_json,
    remember_cloud,
    remembered_cloud_name,
    resolve_cloud,
)
from tests.azure.helpers import US_GOVERNMENT_CLI, az_cloud_show, fake_az


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "data"
    monkeypatch.setenv("AZURE_IMAGE_STUDIO_HOME", str(home))
    return home


def test_the_azure_cli_cloud_is_followed(
    data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_az(tmp_path / "bin", US_GOVERNMENT_CLI, monkeypatch)
    assert resolve_cloud() is CLOUDS["AzureUSGovernment"]


def test_a_custom_cli_cloud_is_used_by_its_https_endpoints(
    data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = az_cloud_show(
        "AzureStackHub",
        "https://management.local.azurestack.example/",
        "https://adfs.stack.example/",
    )
    fake_az(tmp_path / "bin", script, monkeypatch)
    cloud = resolve_cloud()
    assert cloud.name == "AzureStackHub"
    assert cloud.resource_manager == "https://management.local.azurestack.example"
    assert cloud.authority_host == "adfs.stack.example"


def test_a_cli_cloud_over_plain_http_is_not_used() -> None:
    text = json.dumps(
        {
            "name": "Sneaky",
            "endpoints": {
                "resourceManager": "http://management.sneaky.example/",
                "activeDirectory": "https://login.sneaky.example",
            },
        }
    )
    assert cloud_from_cli_json(text) is None
    assert cloud_from_cli_json("not json") is None


def test_the_cloud_chosen_in_the_app_wins_over_the_cli_and_an_explicit_one_over_both(
    data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_az(tmp_path / "bin", US_GOVERNMENT_CLI, monkeypatch)
    assert remembered_cloud_name() is None
    remember_cloud(CLOUDS["AzureChinaCloud"])
    assert (data_home / "cloud.json").is_file()
    assert resolve_cloud() is CLOUDS["AzureChinaCloud"]
    assert resolve_cloud("AzureCloud") is PUBLIC_CLOUD
    with pytest.raises(UnknownCloudError, match="Unknown cloud 'Mars'"):
        resolve_cloud("Mars")


def test_without_cli_or_choice_the_global_cloud(
    data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert resolve_cloud() is PUBLIC_CLOUD


def test_the_sign_in_dialog_names_the_unencrypted_cache_and_offers_memory_only(
    qtbot: QtBot, data_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gui.qt.sign_in_dialog import SignInDialog

    monkeypatch.setitem(sys.modules, "gi", None)  # a desktop without libsecret
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    dialog = SignInDialog(None, "AzureCloud")
    qtbot.addWidget(dialog)
    expected = str(tmp_path / "home" / ".IdentityService" / "azure-image-studio.nocae")
    qtbot.waitUntil(lambda: expected in dialog.cache_note.text())
    assert "UNENCRYPTED" in dialog.cache_note.text()
    dialog.memory_only.setChecked(True)
    assert "memory only" in dialog.cache_note.text() and expected not in dialog.cache_note.text()
    dialog.memory_only.setChecked(False)
    assert expected in dialog.cache_note.text()


def test_an_unknown_cloud_on_the_command_line_is_a_one_line_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from gui.app import parse_args

    assert parse_args(["--cloud", "AzureChinaCloud"]).cloud == "AzureChinaCloud"
    assert parse_args([]).cloud is None
    with pytest.raises(SystemExit) as exited:
        parse_args(["--cloud", "Mars"])
    assert exited.value.code == 2
    assert "invalid choice: 'Mars'" in capsys.readouterr().err

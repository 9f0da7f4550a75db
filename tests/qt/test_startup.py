"""Start-up: without an Azure sign-in the app opens in its own sandbox, and says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.qt.app_controller import AppController
from tests.azure.helpers import SIGNED_OUT, US_GOVERNMENT_CLI, fake_az
from tests.qt.helpers import AsyncRunner

pytestmark = pytest.mark.gui


def test_without_a_sign_in_the_window_opens_on_the_sandbox(
    controller: AppController,
    qtbot: QtBot,
    run: AsyncRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_az(tmp_path / "bin", SIGNED_OUT, monkeypatch)
    window = controller.window
    assert not window.sandbox_badge.isVisible()
    run(controller.connect_initial(), timeout=60)
    try:
        assert window.session is not None and window.session.is_sandbox
        assert window.sandbox_badge.isVisible()
        assert window.windowTitle().endswith("Sandbox")
        assert window.subscription_box.count() == 2  # the sandbox's two subscriptions
        assert window.action_upload.isEnabled() and window.action_capture.isEnabled()
    finally:
        window.cancel_tasks()
        run(controller.shutdown(), timeout=60)


def test_the_start_follows_the_azure_cli_cloud(
    controller: AppController,
    run: AsyncRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CLI is on US Government and not signed in: the start looks there, then opens the sandbox.
    fake_az(tmp_path / "bin", US_GOVERNMENT_CLI, monkeypatch)
    window = controller.window
    run(controller.connect_initial(), timeout=60)
    try:
        assert controller.cloud_name == "AzureUSGovernment"
        assert window.session is not None and window.session.is_sandbox
    finally:
        window.cancel_tasks()
        run(controller.shutdown(), timeout=60)

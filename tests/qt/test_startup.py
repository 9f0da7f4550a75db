"""Start-up: without an Azure sign-in the app opens in its own sandbox, and says so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from tests.azure.helpers import SIGNED_OUT, US_GOVERNMENT_CLI, fake_az
from tests.qt.helpers import AsyncRunner

pytestmark = pytest.mark.gui


@contextmanager
def started(controller: AppController, run: AsyncRunner) -> Iterator[MainWindow]:
    """The controller's first connection made; its window's tasks and the controller are shut
    down after the body, whatever it asserted."""
    run(controller.connect_initial(), timeout=60)
    try:
        yield controller.window
    finally:
        controller.window.cancel_tasks()
        run(controller.shutdown(), timeout=60)


def test_without_a_sign_in_the_window_opens_on_the_sandbox(
    controller: AppController,
    qtbot: QtBot,
    run: AsyncRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_az(tmp_path / "bin", SIGNED_OUT, monkeypatch)
    assert not controller.window.sandbox_badge.isVisible()
    with started(controller, run) as window:
        assert window.session is not None and window.session.is_sandbox
        assert window.sandbox_badge.isVisible()
        assert window.windowTitle().endswith("Sandbox")
        assert window.subscription_box.count() == 2  # the sandbox's two subscriptions
        assert window.action_upload.isEnabled() and window.action_capture.isEnabled()


def test_the_start_follows_the_azure_cli_cloud(
    controller: AppController,
    run: AsyncRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The CLI is on US Government and not signed in: the start looks there, then opens the sandbox.
    fake_az(tmp_path / "bin", US_GOVERNMENT_CLI, monkeypatch)
    with started(controller, run) as window:
        assert controller.cloud_name == "AzureUSGovernment"
        assert window.session is not None and window.session.is_sandbox

"""Start-up: without an Azure sign-in the app opens in its own sandbox, and says so."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from tests.azure.helpers import SIGNED_OUT, US_GOVERNMENT_CLI, fake_az
from tests.qt.helpers import AsyncRunner, make_settings

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


# The app's own start (gui.app.run), in a process of its own: at the tree's first paint nothing
# of the upload engine's stack is imported and no sandbox is started (its process starts after
# the paint); once connected, the Transfers panel and the upload and capture workflows are
# there, the sandbox runs in a process of its own (no sandbox thread in the app's), and the
# upload engine and the catalog (the Azure SDK with them) were imported by a worker thread, not
# the window's; closing the window ends the process.
_APP_START = """
import sys
import threading
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv[:1])
HEAVY = ("aiohttp", "azure.mgmt.compute", "azure.identity", "gui.azure.upload.job")
importers = []


class Importer:
    # Which thread imports the upload engine and the catalog (the Azure SDK with them).
    def find_spec(self, name, path=None, target=None):
        if name in ("gui.azure.catalog.service", "gui.azure.upload.job"):
            importers.append((name, threading.current_thread() is threading.main_thread()))
        return None


sys.meta_path.insert(0, Importer())


class FirstPaint(QObject):
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and obj.objectName() == "sourceTree":
            app.removeEventFilter(self)
            window = obj.window()
            controller = next(c for c in window.findChildren(QObject)
                              if type(c).__name__ == "AppController")
            print("AT_PAINT", sorted(m for m in HEAVY if m in sys.modules),
                  f"sandbox={controller.server}", flush=True)
            QTimer.singleShot(50, self.poll)
        return False

    def poll(self):
        window = next(w for w in app.topLevelWidgets() if w.objectName() == "mainWindow")
        if window.session is None or not window.action_upload.isEnabled():  # not connected
            QTimer.singleShot(50, self.poll)
            return
        texts = [a.text() for a in window.view_menu.actions()]
        controller = next(c for c in window.findChildren(QObject)
                          if type(c).__name__ == "AppController")
        threads = [t.name for t in threading.enumerate() if t.name == "azure-sandbox"]
        print("CONNECTED", window.transfers_dock.objectName(), "Show &Transfers" in texts,
              type(controller.server).__name__, threads, flush=True)
        print("IMPORTED_ON_GUI_THREAD", importers, flush=True)
        window.close()


watch = FirstPaint()
app.installEventFilter(watch)
from gui.app import run
sys.exit(run(["--sandbox"]))
"""


def test_the_window_paints_before_the_upload_engine_loads_and_gets_it_after(
    tmp_path: Path,
) -> None:
    env = dict(os.environ, AZURE_IMAGE_STUDIO_HOME=str(tmp_path / "home"))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    done = subprocess.run(
        [sys.executable, "-c", _APP_START],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(("AT_", "CONN", "IMP"))]
    assert lines == [
        "AT_PAINT [] sandbox=None",
        "CONNECTED transfersDock True SandboxProcess []",
        "IMPORTED_ON_GUI_THREAD [('gui.azure.upload.job', False), "
        "('gui.azure.catalog.service', False)]",
    ], done.stderr
    assert done.returncode == 0, done.stderr


def test_a_transfers_panel_left_open_shows_again_when_made_after_the_paint(
    qtbot: QtBot, qloop: object, home: Path
) -> None:
    first = AppController(make_settings(home))
    qtbot.addWidget(first.window)
    first.window.show()
    first.window.transfers_dock.show()
    qtbot.waitUntil(first.window.transfers_dock.isVisible)
    first.window.save_layout()

    later = AppController(make_settings(home), defer_transfers=True)
    window = later.window
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.has_painted, timeout=5000)
    with pytest.raises(RuntimeError):
        window.transfers_dock  # noqa: B018 - not made before the paint
    later.attach_transfers()
    qtbot.waitUntil(window.transfers_dock.isVisible, timeout=5000)
    assert window.action_transfers is not None and window.action_transfers.isChecked()

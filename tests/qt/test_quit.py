"""Quitting the real window while a disk upload runs: the three answers of the quit dialog, with
the app's controller (its embedded sandbox over HTTP) and the keyring's documented file backend.
Qt warnings fail these tests (qt_log_level_fail), background-task errors too."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import qasync
from azure.core.exceptions import ResourceNotFoundError
from PySide6.QtWidgets import QApplication, QPushButton
from pytestqt.qtbot import QtBot

from gui.azure.image_builder import DiskFacts
from gui.azure.upload.job import ManagedDiskTargetPlan, UploadPlan
from gui.azure.upload.managed_disk import KEYRING_SERVICE, ManagedDiskSpec
from gui.paths import journal_dir
from gui.qt.app_controller import AppController
from gui.qt.transfers.model import Status, Transfer
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from tests.qt.helpers import AsyncRunner, make_settings

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
TIMEOUT_MS = 60_000


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """keyring's documented file backend (keyrings.alt), chosen explicitly as a user would with
    PYTHON_KEYRING_BACKEND, its file in this test's directory."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


class App:
    """The window and its controller as gui.app.run() makes them, the controller's run() a
    task on the test's qasync loop (the embedded sandbox starts in the test's data dir)."""

    def __init__(
        self, qtbot: QtBot, loop: qasync.QEventLoop, home: Path, server: Any = None
    ) -> None:
        self.qtbot = qtbot
        self.controller = AppController(make_settings(home), sandbox=True)
        self.window = self.controller.window
        self.window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
        qtbot.addWidget(self.window)
        self.window.show()
        self.controller.server = server  # None: the controller starts its own, as the app does
        self.task = loop.create_task(self.controller.run())
        qtbot.waitUntil(self.window.action_upload.isEnabled, timeout=TIMEOUT_MS)
        self.server = self.controller.server
        self.server.lro_seconds = 0.05

    def upload(self, path: Path, disk: str) -> Transfer:
        plan = UploadPlan(
            source_path=str(path),
            facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
            target=ManagedDiskTargetPlan(
                PRODUCTION_SUBSCRIPTION_ID,
                ManagedDiskSpec(RG_IMAGES, disk, "westeurope", os_type="Linux"),
            ),
        )
        return self.controller.transfers.submit(plan)

    def answer(self, button: str) -> None:
        """Closes the window (as Ctrl+Q does) and presses a button of the quit dialog."""
        self.window.action_quit.trigger()
        self.qtbot.waitUntil(lambda: self.window.quit_box is not None, timeout=10_000)
        box = self.window.quit_box
        assert box is not None and box.isVisible()
        found = box.findChild(QPushButton, button)
        assert isinstance(found, QPushButton), button
        found.click()


@pytest.fixture
def app(qtbot: QtBot, qloop: qasync.QEventLoop, home: Path) -> Iterator[App]:
    made = App(qtbot, qloop, home)
    yield made
    if not made.task.done():
        made.window._quit_now()
        qtbot.waitUntil(made.task.done, timeout=TIMEOUT_MS)
    qapp = QApplication.instance()
    assert isinstance(qapp, QApplication)
    qapp.setQuitOnLastWindowClosed(True)


@contextlib.contextmanager
def sandbox_as_left(app: App) -> Iterator[SandboxServer]:
    """The sandbox as the app left it when it quit (its state directory), for a look at what
    Azure would hold now."""
    left = app.server
    server = app.server = SandboxServer(left.state_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        app.server = left


def settled(transfer: Transfer, qtbot: QtBot) -> Status:
    """The transfer's status once it has stopped running."""
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=TIMEOUT_MS)
    return transfer.status


def sending(transfer: Transfer) -> bool:
    return transfer.snapshot is not None and transfer.snapshot.bytes_sent > 0


def start_slow_upload(app: App, disk_images: Any, disk: str) -> tuple[Any, Transfer]:
    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))])
    app.server.faults.latency = 0.15  # every request slow: the upload is surely mid-way
    transfer = app.upload(made.path, disk)
    app.qtbot.waitUntil(lambda: sending(transfer), timeout=TIMEOUT_MS)
    return made, transfer


def disk_state(app: App, run: AsyncRunner, name: str) -> str:
    from gui.azure.account.loopback import sandbox_compute_client

    async def get() -> str:
        compute = sandbox_compute_client(app.server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
        async with compute:
            disk = await compute.disks.get(RG_IMAGES, name)
        return str(getattr(disk.disk_state, "value", disk.disk_state))

    return run(get())


def ended_cleanly(app: App, caplog: pytest.LogCaptureFixture) -> None:
    app.qtbot.waitUntil(app.task.done, timeout=TIMEOUT_MS)
    assert app.task.exception() is None  # the controller's run() returned: the app exits 0
    assert not app.window.isVisible()
    # The app's own errors; the sandbox (the server side) logs requests a cancel cut short.
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        and r.name.startswith("gui.")
        and not r.name.startswith("gui.sandbox")
    ]
    assert errors == [], [r.getMessage() for r in errors]


def quit_mid_upload(
    app: App, disk_images: Any, disk: str, button: str, caplog: pytest.LogCaptureFixture
) -> Transfer:
    """Quits (answering ``button``) while an upload to ``disk`` sends; the app ends cleanly."""
    _made, transfer = start_slow_upload(app, disk_images, disk)
    app.answer(button)
    ended_cleanly(app, caplog)
    return transfer


def test_pause_and_quit_keeps_the_disk_resumable_and_the_next_start_finishes_it(
    app: App,
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    run: AsyncRunner,
    home: Path,
    disk_images: Any,
    file_keyring: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    transfer = quit_mid_upload(app, disk_images, "disk-quit-pause", "pauseAndQuit", caplog)
    assert transfer.status is Status.INTERRUPTED
    # Not stranded: the disk still takes writes, its SAS waits in the keyring, the plan is saved.
    with sandbox_as_left(app):
        assert disk_state(app, run, "disk-quit-pause") == "ActiveUpload"
        plans = list((journal_dir() / "plans").glob("*.json"))
        assert len(plans) == 1 and '"status": "suspended"' in plans[0].read_text()
        assert "sig=" not in plans[0].read_text()
        stored = [
            line for line in Path(file_keyring.file_path).read_text().splitlines() if "=" in line
        ]
        assert stored, "no SAS in the keyring"

    # The next start. Its sandbox listens where the last one did, as Azure's endpoints stay put
    # (the SAS kept in the keyring names the blob endpoint's port).
    arm, blob = urlsplit(app.server.arm_url).port, urlsplit(app.server.blob_url).port
    restarted = SandboxServer(app.server.state_dir, port=arm or 0, blob_port=blob or 0)
    restarted.start()
    again = App(qtbot, qloop, home, server=restarted)
    waiting = [
        t for t in again.controller.transfers.model.transfers if t.status is Status.INTERRUPTED
    ]
    assert len(waiting) == 1
    resumed = waiting[0]
    assert isinstance(resumed, Transfer)  # an upload's run
    again.controller.transfers.resume(resumed)
    assert settled(resumed, qtbot) is Status.COMPLETED, resumed.error
    assert resumed.job is not None and resumed.job._disk_upload is not None
    assert resumed.job._disk_upload.resumed_from_keyring  # written with the kept SAS
    assert resumed.snapshot is not None and resumed.snapshot.bytes_present > 0  # not sent again
    assert "drop-partial" not in resumed.steps  # the disk was not thrown away
    disk = resumed.result.disk_id if resumed.result else None
    assert disk and file_keyring.get_password(KEYRING_SERVICE, disk.casefold()) is None
    assert disk_state(again, run, "disk-quit-pause") == "Unattached"
    again.window.close()
    ended_cleanly(again, caplog)


def test_cancel_and_quit_revokes_access_and_deletes_the_partial_disk(
    app: App,
    run: AsyncRunner,
    disk_images: Any,
    file_keyring: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    transfer = quit_mid_upload(app, disk_images, "disk-quit-cancel", "cancelAndQuit", caplog)
    assert transfer.status is Status.CANCELLED
    assert transfer.steps["drop-partial"].state.value == "Done"
    with sandbox_as_left(app), pytest.raises(ResourceNotFoundError):
        disk_state(app, run, "disk-quit-cancel")  # nothing stranded that costs money
    plans = list((journal_dir() / "plans").glob("*.json"))
    assert len(plans) == 1 and '"status": "cancelled"' in plans[0].read_text()
    assert (
        not Path(file_keyring.file_path).exists()
        or "disk-quit-cancel" not in Path(file_keyring.file_path).read_text().casefold()
    )


def test_keep_working_changes_nothing_and_a_later_quit_asks_no_more(
    app: App,
    qtbot: QtBot,
    run: AsyncRunner,
    disk_images: Any,
    file_keyring: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _made, transfer = start_slow_upload(app, disk_images, "disk-quit-keep")
    app.answer("keepWorking")
    qtbot.waitUntil(lambda: app.window.quit_box is None, timeout=5000)
    assert app.window.isVisible() and not app.task.done()
    assert transfer.status is Status.RUNNING
    app.server.faults.latency = 0.0
    assert settled(transfer, qtbot) is Status.COMPLETED, transfer.error
    assert disk_state(app, run, "disk-quit-keep") == "Unattached"
    app.window.close()  # nothing runs: no question
    assert app.window.quit_box is None
    ended_cleanly(app, caplog)


def test_quit_while_the_dialog_waits_is_asked_once(
    app: App, qtbot: QtBot, disk_images: Any, file_keyring: Any
) -> None:
    _made, transfer = start_slow_upload(app, disk_images, "disk-quit-twice")
    app.window.close()
    qtbot.waitUntil(lambda: app.window.quit_box is not None, timeout=10_000)
    box = app.window.quit_box
    app.window.close()  # the window's close button again
    qtbot.wait(100)
    assert app.window.quit_box is box and app.window.isVisible()
    loop = asyncio.get_event_loop()
    assert loop.is_running()
    assert box is not None
    found = box.findChild(QPushButton, "cancelAndQuit")
    assert isinstance(found, QPushButton)
    found.click()
    qtbot.waitUntil(app.task.done, timeout=TIMEOUT_MS)
    assert transfer.status is Status.CANCELLED


# --- the whole app in a process of its own: exit code and what it prints ---------------------

APP_CHILD = """
import sys
from pathlib import Path
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QPushButton
from gui import app as gui_app
from gui.azure.upload.managed_disk import ManagedDiskSpec
from gui.azure.image_builder import DiskFacts
from gui.azure.upload.job import ManagedDiskTargetPlan, UploadPlan
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from gui.qt.app_controller import AppController

button, image = sys.argv[1], sys.argv[2]
qt = QApplication([sys.argv[0]])
state = {}

def drive():
    window = next((w for w in qt.topLevelWidgets() if w.objectName() == "mainWindow"), None)
    if window is None or not window.action_upload.isEnabled():
        return
    if "transfer" not in state:
        controller = next(c for c in window.findChildren(QObject) if isinstance(c, AppController))
        controller.server.faults.latency = 0.15
        controller.server.lro_seconds = 0.05
        plan = UploadPlan(
            source_path=image,
            facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
            target=ManagedDiskTargetPlan(
                PRODUCTION_SUBSCRIPTION_ID,
                ManagedDiskSpec(RG_IMAGES, "disk-quit-process", "westeurope", os_type="Linux"),
            ),
        )
        state["transfer"] = controller.transfers.submit(plan)
    elif "quit" not in state:
        snapshot = state["transfer"].snapshot
        if snapshot is not None and snapshot.bytes_sent > 0:
            state["quit"] = True
            window.action_quit.trigger()  # Ctrl+Q mid-upload
    elif window.quit_box is not None and "clicked" not in state:
        state["clicked"] = True
        window.quit_box.findChild(QPushButton, button).click()
        print("ANSWERED", button, flush=True)

timer = QTimer()
timer.timeout.connect(drive)
timer.start(20)
code = gui_app.run(["--sandbox"])
print("STATUS", state["transfer"].status.label, flush=True)
sys.exit(code)
"""


@pytest.mark.parametrize(
    ("button", "status"), [("pauseAndQuit", "Interrupted"), ("cancelAndQuit", "Cancelled")]
)
def test_quitting_mid_upload_exits_0_without_a_traceback(
    button: str, status: str, tmp_path: Path, disk_images: Any
) -> None:
    import subprocess
    import sys

    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))])
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "PYTHONPATH": str(root),
        "QT_QPA_PLATFORM": "offscreen",
        "AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "home"),
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
    done = subprocess.run(
        [sys.executable, "-c", APP_CHILD, button, str(made.path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert f"ANSWERED {button}" in done.stdout, done.stderr
    assert f"STATUS {status}" in done.stdout, done.stderr
    assert done.returncode == 0, done.stderr
    for bad in ("Traceback", "Event loop stopped", "Task was destroyed", "Error"):
        assert bad not in done.stderr, done.stderr

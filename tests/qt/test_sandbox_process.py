"""Sandbox mode runs the sandbox in a process of its own: the app starts it after the first
paint, connects to it, stops it on quit and on sign-in, and a dead app takes it along."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.cli import SANDBOX_ENTRY
from gui.qt.app_controller import AppController
from gui.sandbox.process import READY_PREFIX, SandboxProcess, sandbox_command
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from tests.qt.helpers import AsyncRunner, make_settings

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]
SUBSCRIPTION = PRODUCTION_SUBSCRIPTION_ID
GONE_WITHIN_S = 10.0


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rpartition(")")[2].split()[0] != "Z"


def ended(pid: int, within: float = GONE_WITHIN_S) -> bool:
    deadline = time.monotonic() + within
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def app_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QT_QPA_PLATFORM": "offscreen",
        "AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "home"),
    }


# The real app (gui.app.run) in sandbox mode: once the tree lists the sandbox's subscriptions it
# prints the sandbox's pid and whether a sandbox thread runs in the app, then closes the window
# (argv[1] == "close") or waits to be killed.
_APP = """
import sys
import threading
from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication
from gui import app as gui_app
from gui.qt.app_controller import AppController

qt = QApplication([sys.argv[0]])
shown = []


def drive():
    window = next((w for w in qt.topLevelWidgets() if w.objectName() == "mainWindow"), None)
    if window is None or window.session is None or shown:
        return
    if window.tree_model.rowCount() == 0:
        return
    shown.append(True)
    controller = next(c for c in window.findChildren(QObject) if isinstance(c, AppController))
    threads = sorted(t.name for t in threading.enumerate() if t.name == "azure-sandbox")
    print("SANDBOX", controller.server.pid, threads, window.tree_model.rowCount(), flush=True)
    if sys.argv[1] == "close":
        window.close()


timer = QTimer()
timer.timeout.connect(drive)
timer.start(20)
sys.exit(gui_app.run(["--sandbox"]))
"""


def _sandbox_line(process: subprocess.Popen[str]) -> list[str]:
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("SANDBOX "):
            return line.split(maxsplit=3)[1:]
    raise AssertionError("the app never listed the sandbox's tree")


def test_the_app_runs_the_sandbox_in_a_child_and_quitting_ends_it(tmp_path: Path) -> None:
    app = subprocess.Popen(
        [sys.executable, "-c", _APP, "close"],
        env=app_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pid, threads, rows = _sandbox_line(app)
        _out, err = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert int(pid) != app.pid
    assert threads == "[]"  # no sandbox thread in the app's process
    assert int(rows) >= 2  # the tree lists the sandbox's subscriptions
    assert app.returncode == 0, err
    assert ended(int(pid)), "the sandbox process outlived the app"
    assert "Traceback" not in err, err


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="SIGKILL is POSIX")
def test_a_killed_app_takes_its_sandbox_along(tmp_path: Path) -> None:
    app = subprocess.Popen(
        [sys.executable, "-c", _APP, "stay"],
        env=app_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        pid = int(_sandbox_line(app)[0])
        assert alive(pid)
        app.send_signal(signal.SIGKILL)
        app.wait(30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
        assert app.stdout is not None
        app.stdout.close()
    assert ended(pid, within=5.0), "the sandbox process outlived the app killed by SIGKILL"


def _put_group(arm_url: str, name: str) -> None:
    request = urllib.request.Request(
        f"{arm_url}/subscriptions/{SUBSCRIPTION}/resourcegroups/{name}?api-version=2021-04-01",
        data=json.dumps({"location": "westeurope"}).encode(),
        method="PUT",
        headers={"Authorization": "Bearer sandbox", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status in (200, 201)


def _has_group(arm_url: str, name: str) -> bool:
    request = urllib.request.Request(
        f"{arm_url}/subscriptions/{SUBSCRIPTION}/resourcegroups?api-version=2021-04-01",
        headers={"Authorization": "Bearer sandbox"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        groups = json.loads(answer.read())["value"]
    return any(group["name"] == name for group in groups)


def _controller_sandbox(
    qtbot: QtBot, run: AsyncRunner, home: Path, *, reset: bool
) -> tuple[AppController, SandboxProcess]:
    controller = AppController(make_settings(home), sandbox=True, sandbox_reset=reset)
    qtbot.addWidget(controller.window)
    run(controller.connect_initial(), timeout=60)
    server = controller.server
    assert isinstance(server, SandboxProcess) and server.running
    return controller, server


def test_sandbox_reset_starts_the_childs_state_over(
    qtbot: QtBot, run: AsyncRunner, home: Path
) -> None:
    controller, server = _controller_sandbox(qtbot, run, home, reset=False)
    _put_group(server.arm_url, "rg-made-before-reset")
    run(controller.shutdown(), timeout=60)
    assert not server.running and server.pid is None

    controller, server = _controller_sandbox(qtbot, run, home, reset=False)
    assert _has_group(server.arm_url, "rg-made-before-reset")  # state kept without reset
    run(controller.shutdown(), timeout=60)

    controller, server = _controller_sandbox(qtbot, run, home, reset=True)
    try:
        assert not _has_group(server.arm_url, "rg-made-before-reset")
        assert _has_group(server.arm_url, RG_IMAGES)  # the seed is back
    finally:
        run(controller.shutdown(), timeout=60)


def test_switching_to_a_signed_in_account_stops_the_sandbox_process(
    qtbot: QtBot, run: AsyncRunner, home: Path
) -> None:
    from gui.azure.account.clouds import Cloud
    from gui.azure.account.loopback import AsyncStaticTokenCredential
    from gui.azure.account.session import AzureSession

    controller, server = _controller_sandbox(qtbot, run, home, reset=False)
    pid = server.pid
    assert pid is not None
    # A signed-in account (not the sandbox) on a cloud of its own; nothing needs to answer
    # there for the switch to let the sandbox go.
    cloud = Cloud("Custom", "Custom cloud", "https://127.0.0.1:9/", "login.example.invalid")
    signed_in = AzureSession(AsyncStaticTokenCredential(), "admin@contoso.example", cloud)
    try:
        run(controller.use(signed_in), timeout=60)
        assert controller.session is signed_in and controller.server is None
        assert ended(pid), "the sandbox process still runs after the switch"
    finally:
        run(controller.shutdown(), timeout=60)


def test_a_sandbox_that_cannot_start_is_reported_and_the_window_works(
    qtbot: QtBot, run: AsyncRunner, home: Path
) -> None:
    # A damaged state directory: where the sandbox keeps its blobs, a file.
    state = home / "sandbox"
    state.mkdir(parents=True)
    (state / "blob").write_text("not a directory")
    controller = AppController(make_settings(home), sandbox=True)
    window = controller.window
    qtbot.addWidget(window)
    window.show()
    run(controller.connect_initial(), timeout=60)
    try:
        box = controller.sandbox_error_box
        assert box is not None and box.isVisible()
        assert box.text().startswith("The offline sandbox could not start: ")
        assert "blob" in box.text() and "--sandbox-reset" in box.text()
        assert "Traceback" not in box.text()
        assert controller.server is None and window.session is None
        assert "could not start" in window.statusBar().currentMessage()
        # The window still works: signing in is offered, and a second try is made on demand.
        assert window.isVisible() and window.isEnabled()
        box.close()
        (state / "blob").unlink()
        run(controller.switch_to_sandbox(), timeout=60)
        restarted: object = controller.server  # (mypy keeps the None asserted above)
        assert isinstance(restarted, SandboxProcess) and restarted.running
        assert getattr(window.session, "is_sandbox", False)  # connected to it
    finally:
        run(controller.shutdown(), timeout=60)


def test_tunables_reach_the_child(tmp_path: Path) -> None:
    with SandboxProcess(tmp_path / "state") as server:
        server.faults.latency = 0.3
        started = time.monotonic()
        _has_group(server.arm_url, RG_IMAGES)
        assert time.monotonic() - started >= 0.3
        server.faults.latency = 0.0
        counted = server.request_count
        _has_group(server.arm_url, RG_IMAGES)
        assert server.request_count == counted + 1
        server.lro_seconds = 0.05
        assert server.lro_seconds == 0.05
        pid = server.pid
        assert pid is not None
    assert ended(pid)


def test_the_child_stops_when_its_stdin_closes_even_mid_command(tmp_path: Path) -> None:
    server = SandboxProcess(tmp_path / "state")
    server.start()
    pid = server.pid
    assert pid is not None
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(30)
    assert not stopper.is_alive() and ended(pid)


def test_the_bundles_hidden_entry_runs_the_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Inside a PyInstaller bundle sys.executable is the app itself, whose entry is gui.cli: the
    # app's command line with the hidden entry must run the sandbox child.
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    command = sandbox_command("--control", "--state-dir", str(tmp_path / "state"))
    assert command[0] == sys.executable and command[1] == SANDBOX_ENTRY
    child = subprocess.Popen(
        [sys.executable, "-m", "gui", *command[1:]],  # gui/__main__.py: the bundle's script
        env=app_env(tmp_path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline().startswith(READY_PREFIX)
        child.stdin.close()  # the app is gone: the child stops
        assert child.wait(30) == 0
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()

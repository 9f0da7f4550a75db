"""``python -m gui.sandbox`` stops cleanly with whatever the platform offers.

Where a stop signal exists and may be handled, it stops the server; where none can be handled
(Windows without SIGTERM delivery, a non-main thread, an embedding host), Ctrl+C still stops it
through KeyboardInterrupt. ``--no-signal-handlers`` forces that fallback so Linux tests it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from gui.sandbox.__main__ import STOP_SIGNALS, stop_on_signals, wait_for_stop

ROOT = Path(__file__).resolve().parents[2]


def _start(state: Path, *extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gui.sandbox", "--state-dir", str(state), "--reset", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("Press Ctrl+C"):
        line = process.stdout.readline()
        assert line, f"the sandbox exited early: {process.communicate()}"
        lines.append(line.strip())
    arm_url = lines[0].split()[-1]
    return process, arm_url, lines


def _create_group(arm_url: str, name: str) -> None:
    request = urllib.request.Request(
        f"{arm_url}/subscriptions/8d5f2b7e-3c41-4a8e-9b0f-6e2d1c7a9f35/resourcegroups/{name}"
        "?api-version=2022-09-01",
        data=json.dumps({"location": "westeurope"}).encode(),
        method="PUT",
        headers={"Authorization": "Bearer t", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


def _stopped(process: subprocess.Popen[str], signum: int) -> tuple[int, str]:
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=20)
    return process.returncode, stderr


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_stop_signals_stop_the_server_cleanly(tmp_path: Path, signum: int) -> None:
    process, arm_url, lines = _start(tmp_path)
    assert lines[-2] == "Stops on:      SIGINT, SIGTERM, SIGHUP"
    _create_group(arm_url, "rg-kept")
    code, stderr = _stopped(process, signum)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    state = json.loads((tmp_path / "arm-state.json").read_text())
    assert any(r["name"] == "rg-kept" for r in state["resources"])


def test_forced_fallback_stops_on_keyboard_interrupt(tmp_path: Path) -> None:
    process, arm_url, lines = _start(tmp_path, "--no-signal-handlers")
    assert lines[-2] == "Stops on:      KeyboardInterrupt"
    _create_group(arm_url, "rg-fallback")
    # Ctrl+C: with no handler of ours, Python's default raises KeyboardInterrupt in the main thread.
    code, stderr = _stopped(process, signal.SIGINT)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    state = json.loads((tmp_path / "arm-state.json").read_text())
    assert any(r["name"] == "rg-fallback" for r in state["resources"])


def test_no_handler_can_be_installed_off_the_main_thread() -> None:
    # Python allows signal handlers only in the main thread: the same path an embedding host or a
    # restricted platform takes. Nothing is installed, nothing raises.
    outcome: list[object] = []

    def run() -> None:
        stop = threading.Event()
        try:
            with stop_on_signals(stop, STOP_SIGNALS) as installed:
                outcome.append(list(installed))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(10)
    assert outcome == [[]]


def test_signals_the_platform_lacks_are_skipped_and_handlers_put_back() -> None:
    before = signal.getsignal(signal.SIGUSR1)
    stop = threading.Event()
    with stop_on_signals(stop, ("SIGDOESNOTEXIST", "SIGUSR1")) as installed:
        assert installed == ["SIGUSR1"]
        signal.raise_signal(signal.SIGUSR1)
        wait_for_stop(stop)
    assert stop.is_set()
    assert signal.getsignal(signal.SIGUSR1) == before


def test_wait_for_stop_ends_on_keyboard_interrupt() -> None:
    stop = threading.Event()
    # No handler of ours for SIGINT: Python's default turns it into KeyboardInterrupt.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    timer = threading.Timer(0.2, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    try:
        wait_for_stop(stop)
    finally:
        timer.join()
    assert stop.is_set()

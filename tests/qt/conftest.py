"""Driving the real window offscreen, on a qasync loop, against the sandbox over HTTP.

Fixtures only; the helpers the tests call are in tests/qt/helpers.py.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.paths import HOME_ENV
from gui.qt.app_controller import AppController
from gui.qt.main_window import MainWindow
from gui.sandbox import SandboxServer
from tests.qt.helpers import AsyncRunner, make_settings, sandbox_sessions

# Closed loops, kept until the next GUI test starts (see _destroy_closed_loops).
_closed_loops: list[qasync.QEventLoop] = []


def _destroy_closed_loops() -> None:
    """A closed qasync loop still owns a QObject with running Qt timers (a cancelled call_later
    keeps its timer until it fires). Qt warns "Timers cannot be stopped from another thread" when
    such an object is destroyed off the GUI thread, and the garbage collector runs in whichever
    thread happens to allocate (often the sandbox's server thread). So the loops are dropped
    here, on the GUI thread, with automatic collection paused until they are collected."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        _closed_loops.clear()
        gc.collect()
    finally:
        if enabled:
            gc.enable()


async def _cancel_all_tasks() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """A qasync loop of the test's own on the shared QApplication.

    The test body turns Qt events itself (qtbot.waitUntil), so the loop is made the way qasync
    documents for an application whose event loop is already turning: ``already_running=True``,
    which makes it asyncio's running loop. Afterwards it is stopped, run once more until the
    tasks the test left are cancelled and done (qasync's run_until_complete clears the running
    loop when it returns, so plain asyncio tests after this one can start loops of their own),
    and closed."""
    _destroy_closed_loops()
    loop = qasync.QEventLoop(qapp, already_running=True)
    # worker threads that need no Qt: plain threads end cleanly at exit, QThreads do not
    loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="ais"))
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        loop.stop()
        loop.run_until_complete(_cancel_all_tasks())
        loop.close()
        _closed_loops.append(loop)
        asyncio.set_event_loop(None)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of the test's own: settings, listing cache, journals."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def run(qtbot: QtBot, qloop: qasync.QEventLoop) -> AsyncRunner:
    return AsyncRunner(qtbot, qloop)


@pytest.fixture
def controller(qtbot: QtBot, qloop: qasync.QEventLoop, home: Path) -> Iterator[AppController]:
    """The app as it starts: the controller with its window, transfers and workflows."""
    made = AppController(make_settings(home))
    win = made.window
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield made
    win.cancel_tasks()


@pytest.fixture
def window(controller: AppController) -> MainWindow:
    return controller.window


@pytest.fixture
def session_sandbox(sandbox: SandboxServer) -> SandboxServer:
    """The sandbox that ``new_session`` signs in to: the shared one; a module whose tests change
    the sandbox's state overrides this fixture with a sandbox of the test's own."""
    return sandbox


@pytest.fixture
def new_session(
    run: AsyncRunner, session_sandbox: SandboxServer
) -> Iterator[Callable[[], AzureSession]]:
    """Makes sandbox sessions (real SDK clients over HTTP) and closes them after the test."""
    with sandbox_sessions(run, session_sandbox.arm_url) as make:
        yield make


@pytest.fixture
def connected(
    controller: AppController, run: AsyncRunner, new_session: Callable[[], AzureSession]
) -> Iterator[MainWindow]:
    run(controller.use(new_session()))
    yield controller.window
    controller.window.cancel_tasks()

"""Driving the real window offscreen, on a qasync loop, against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from gui.paths import HOME_ENV
from gui.qt.main_window import MainWindow
from gui.qt.settings import Settings

T = TypeVar("T")

_LOOPS: list[qasync.QEventLoop] = []


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """One qasync loop for the whole session (Qt cannot host a second one), marked running only
    while a GUI test runs, so plain asyncio tests before and after keep working."""
    if not _LOOPS:
        loop = qasync.QEventLoop(qapp, already_running=True)
        # worker threads that need no Qt: plain threads end cleanly at exit, QThreads do not
        loop.set_default_executor(ThreadPoolExecutor(max_workers=4, thread_name_prefix="ais"))
        _LOOPS.append(loop)
    loop = _LOOPS[0]
    asyncio.events._set_running_loop(loop)
    asyncio.set_event_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    qapp.processEvents()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of the test's own: settings, listing cache, journals."""
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    return tmp_path / "home"


def make_settings(home: Path) -> Settings:
    home.mkdir(parents=True, exist_ok=True)
    return Settings(QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))


class AsyncRunner:
    def __init__(self, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
        self.qtbot = qtbot
        self.loop = loop

    def __call__(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        task = self.loop.create_task(coro)
        self.qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
        return task.result()


@pytest.fixture
def run(qtbot: QtBot, qloop: qasync.QEventLoop) -> AsyncRunner:
    return AsyncRunner(qtbot, qloop)


@pytest.fixture
def window(qtbot: QtBot, qloop: qasync.QEventLoop, home: Path) -> Iterator[MainWindow]:
    win = MainWindow(make_settings(home))
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    yield win
    win.cancel_tasks()


@pytest.fixture
def new_session(run: AsyncRunner, sandbox: Any) -> Iterator[Callable[[], Any]]:
    """Makes sandbox sessions (real SDK clients over HTTP) and closes them after the test."""
    from gui.azure.account.session import sandbox_session

    sessions: list[Any] = []

    def make() -> Any:
        sessions.append(sandbox_session(sandbox.arm_url))
        return sessions[-1]

    yield make
    for session in sessions:
        run(session.close())


@pytest.fixture
def connected(
    window: MainWindow, run: AsyncRunner, new_session: Callable[[], Any]
) -> Iterator[MainWindow]:
    run(window.use_session(new_session()))
    yield window
    window.cancel_tasks()

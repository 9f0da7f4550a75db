"""Helpers shared by the GUI tests (plain functions and classes; the fixtures are in conftest).

Test modules import from here, never from conftest.py or from one another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import qasync
from PySide6.QtCore import QModelIndex, QSettings
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.catalog.nodes import ImageDetail
from gui.qt.browser.tree_model import LoadState
from gui.qt.settings import Settings

if TYPE_CHECKING:
    from gui.qt.main_window import MainWindow

T = TypeVar("T")


def make_settings(home: Path) -> Settings:
    """Settings in an INI file inside ``home``, so a test never reads or writes the user's."""
    home.mkdir(parents=True, exist_ok=True)
    return Settings(QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))


class AsyncRunner:
    """Runs a coroutine on the GUI test's qasync loop and returns its result, turning Qt events
    meanwhile (the test body is synchronous; the window keeps working while it waits)."""

    def __init__(self, qtbot: QtBot, loop: qasync.QEventLoop) -> None:
        self.qtbot = qtbot
        self.loop = loop

    def __call__(self, coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
        task: asyncio.Task[T] = self.loop.create_task(coro)
        self.qtbot.waitUntil(task.done, timeout=int(timeout * 1000))
        return task.result()


@contextmanager
def sandbox_sessions(run: AsyncRunner, arm_url: str) -> Iterator[Callable[[], AzureSession]]:
    """Makes sessions on the sandbox at ``arm_url`` (real SDK clients over HTTP) and closes every
    one of them on the way out, so no test leaves an open aiohttp session behind."""
    sessions: list[AzureSession] = []

    def make() -> AzureSession:
        sessions.append(sandbox_session(arm_url))
        return sessions[-1]

    try:
        yield make
    finally:
        for session in sessions:
            run(session.close())


# --- the image browser: walking the tree the way a user does --------------------------------

LOAD_TIMEOUT_MS = 20_000


def child_named(window: MainWindow, parent: QModelIndex, label: str) -> QModelIndex:
    """The child row of ``parent`` labelled ``label``; fails naming the rows that are there."""
    model = window.tree_model
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        if model.data(index) == label:
            return index
    labels = [model.data(model.index(r, 0, parent)) for r in range(min(model.rowCount(parent), 20))]
    raise AssertionError(f"{label!r} not under {model.data(parent)!r}; first rows: {labels}")


def open_node(window: MainWindow, qtbot: QtBot, index: QModelIndex) -> LoadState:
    """Expands a node in the view, as a click on its arrow does, and waits for its children."""
    window.tree.expand(window.proxy.mapFromSource(index))
    qtbot.waitUntil(
        lambda: window.tree_model.load_state(index) in (LoadState.LOADED, LoadState.FAILED),
        timeout=LOAD_TIMEOUT_MS,
    )
    return window.tree_model.load_state(index)


def open_path(window: MainWindow, qtbot: QtBot, *labels: str) -> QModelIndex:
    """Opens the tree along ``labels`` from the top and returns the last row's index."""
    index = QModelIndex()
    for label in labels:
        index = child_named(window, index, label)
        node = window.tree_model.node_for(index)
        if node is not None and not node.is_image:
            state = open_node(window, qtbot, index)
            assert state is LoadState.LOADED, window.tree_model.message(index)
    return index


def select(window: MainWindow, qtbot: QtBot, index: QModelIndex) -> ImageDetail:
    """Selects an image row and waits until the detail pane shows that image."""
    window.tree.setCurrentIndex(window.proxy.mapFromSource(index))
    node = window.tree_model.node_for(index)
    assert node is not None, "select() needs a node row"

    def shown() -> bool:
        detail = window.detail_pane.detail
        return detail is not None and detail.ref == node.ref

    qtbot.waitUntil(shown, timeout=LOAD_TIMEOUT_MS)
    assert window.detail_pane.detail is not None
    return window.detail_pane.detail

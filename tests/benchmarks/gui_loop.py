"""The GUI benchmarks' event loop: the QApplication with a qasync loop on it, turned by hand.

A benchmark script drives the window the way a test does: it waits for a condition while Qt
events turn (wait) and runs a coroutine on the loop until it is done (run). The loop is made the
way qasync documents for an application whose event loop is already turning
(``already_running=True``, which also makes it asyncio's running loop), so nothing here touches
asyncio's private running-loop setter.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class GuiLoop:
    def __init__(self) -> None:
        import qasync
        from PySide6.QtWidgets import QApplication

        instance = QApplication.instance()
        self.app = instance if isinstance(instance, QApplication) else QApplication([])
        self.loop = qasync.QEventLoop(self.app, already_running=True)
        # worker threads that need no Qt, as the app's own loop has (gui/app.py)
        self.loop.set_default_executor(ThreadPoolExecutor(max_workers=4))
        asyncio.set_event_loop(self.loop)

    def wait(self, predicate: Callable[[], object], timeout: float = 60.0) -> None:
        """Turns Qt events until ``predicate()`` is true; SystemExit after ``timeout`` seconds."""
        deadline = time.perf_counter() + timeout
        while not predicate():
            self.app.processEvents()
            time.sleep(0.001)
            if time.perf_counter() > deadline:
                raise SystemExit(f"timed out after {timeout:.0f} s waiting for the window")

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Runs ``coro`` on the loop (Qt events turning meanwhile) and returns its result."""
        task: asyncio.Task[T] = self.loop.create_task(coro)
        self.wait(task.done, timeout)
        return task.result()

"""The one step model of every multi-step job (upload, image creation, capture).

A job is a list of ``StepSpec`` (what each step is, what it changes, what to do if it fails);
running it yields ``StepEvent``s (a step started, reported progress, ended, was skipped or
failed) from an async generator, so any view can follow any job with one widget. Steps may also
appear while the job runs (an upload learns its replication regions late): a view keys events
by ``StepSpec.key`` and adds the steps it has not seen.

Titles, changes, advice and messages are strings (English, as the commands print them); the
ones we write are :class:`~gui.i18n.Text`, which the window shows translated
(``gui.qt.i18n.render_text``). Azure's own error text stays as Azure wrote it.

``run_step`` runs one step's action and yields its events; ``pump`` turns work that reports
through a callback (the upload engine, which reports on its own terms) into such a generator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar

from gui.azure.errors import translate
from gui.i18n import QT_TR_NOOP, Message, Render, Text

T = TypeVar("T")


class StepState(StrEnum):
    PENDING = "Pending"
    RUNNING = "Running"
    DONE = "Done"
    FAILED = "Failed"
    SKIPPED = "Skipped"

    @property
    def ended(self) -> bool:
        return self in (StepState.DONE, StepState.FAILED, StepState.SKIPPED)


@dataclass(frozen=True)
class StepSpec:
    key: str  # unique within a job; "kind:argument" when one kind repeats (replicate:westeurope)
    title: str
    change: str = ""  # what this step changes in Azure, for a review ("" when nothing)
    advice: str = ""  # what to do if it fails


@dataclass(frozen=True)
class StepEvent:
    """A step's state at one moment. Events are values: a later event replaces an earlier one
    of the same key, so a view never sees an event change under it."""

    step: StepSpec
    state: StepState
    started: datetime | None = None
    ended: datetime | None = None
    message: str = ""
    advice: str = ""

    @property
    def key(self) -> str:
        return self.step.key

    @property
    def title(self) -> str:
        return self.step.title

    @property
    def seconds(self) -> float | None:
        """How long the step ran (until now while it runs)."""
        if self.started is None:
            return None
        return ((self.ended or now()) - self.started).total_seconds()

    def running(self, message: str) -> StepEvent:
        return replace(self, state=StepState.RUNNING, message=message)

    def ended_as(self, state: StepState, message: str = "", advice: str = "") -> StepEvent:
        return replace(self, state=state, ended=now(), message=message, advice=advice)


def now() -> datetime:
    return datetime.now(UTC)


def started(step: StepSpec, message: str = "") -> StepEvent:
    return StepEvent(step, StepState.RUNNING, now(), message=message)


class StepSkipped(Exception):
    """Raised by a step's action when there is nothing to do (the VM is already deallocated)."""

    def __init__(self, message: Message | str) -> None:
        self.message = Text(message)
        super().__init__(self.message)

    def localized(self, render: Render) -> str:
        return self.message.localized(render)


Progress = Callable[[str], None]
StepAction = Callable[[Progress], Awaitable[str]]


async def pump(work: Callable[[Callable[[T], None]], Awaitable[None]]) -> AsyncGenerator[T, None]:
    """Runs ``work(emit)`` and yields what it emits, as it emits it; ends when the work ends
    and raises what it raised. Closing the generator (the consumer stopped or was cancelled)
    cancels the work."""
    queue: asyncio.Queue[T] = asyncio.Queue()
    task = asyncio.ensure_future(work(queue.put_nowait))
    try:
        while True:
            while not queue.empty():
                yield queue.get_nowait()
            if task.done():
                break
            getter = asyncio.ensure_future(queue.get())
            try:
                await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
            if getter.done() and not getter.cancelled():
                yield getter.result()
        task.result()
    finally:
        if not task.done():
            task.cancel()
            # The work's own cleanup (revoking access, closing pollers) runs before we return.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def run_step(step: StepSpec, action: StepAction) -> AsyncIterator[StepEvent]:
    """Runs one step: yields RUNNING, a RUNNING event per progress message, then DONE with the
    action's message, or SKIPPED (the action raised ``StepSkipped``), or FAILED with Azure's
    message and what to do, after which the translated error (``AzureServiceError``) is raised
    so the job stops there. Cancellation propagates without an event: whoever cancelled knows."""
    first = started(step)
    yield first
    message = ""

    async def work(emit: Progress) -> None:
        nonlocal message
        message = await action(emit)

    try:
        async for note in pump(work):
            yield first.running(note)
    except StepSkipped as skipped:
        yield first.ended_as(StepState.SKIPPED, skipped.message)
        return
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        error = translate(exc)
        head = Text(Message(QT_TR_NOOP("{code}: {message}"),
                            {"code": error.code, "message": error.message})) if (
            error.code) else error.message
        yield first.ended_as(StepState.FAILED, head, step.advice or error.advice)
        raise error from exc
    yield first.ended_as(StepState.DONE, message)

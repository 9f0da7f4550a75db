"""What every server-side copy shares: its errors and the loop that runs its steps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from gui.azure.errors import AzureServiceError
from gui.azure.steps import StepAction, StepEvent, StepSpec, StepState, run_step
from gui.i18n import QT_TR_NOOP, Text


class CopyRefusedError(AzureServiceError):
    """The copy was checked before any change and would not work."""

    title = Text(QT_TR_NOOP("Copy refused before any change"))
    advice = Text(QT_TR_NOOP(
        "Nothing was changed. Correct what the message names and start the copy again."))


class DefinitionMismatchError(CopyRefusedError):
    title = Text(QT_TR_NOOP("The target image definition does not match"))
    advice = Text(QT_TR_NOOP(
        "Nothing was changed. Pick a target image definition with the same OS type, OS state, "
        "Hyper-V generation and architecture as the source's, or create one that matches."))


class CopyFailedError(AzureServiceError):
    """Azure accepted the copy and then reported that it failed."""

    title = Text(QT_TR_NOOP("Azure's copy failed"))
    advice = Text(QT_TR_NOOP(
        "Azure kept what it had copied so far. Delete the incomplete target and start the copy "
        "again; if it fails again, the message names Azure's reason."))


RESTART = Text(QT_TR_NOOP(
    "Nothing was changed yet. Correct the cause and start the copy again."))


class CopyJob:
    """A copy's steps (``steps``) and ``run()``, which yields their events. A failed step is the
    last: its event carries Azure's message and what to do, and no later step runs; ``failed``
    holds it. ``result`` names what the copy made (a resource ID or a blob URL without its SAS)
    once every step is done. Use once."""

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self.steps: list[StepSpec] = []
        self.result: str | None = None
        self.failed: StepEvent | None = None
        self.error: AzureServiceError | None = None  # what the failed step raised

    async def run(self) -> AsyncIterator[StepEvent]:
        for step in self.steps:
            try:
                async for event in run_step(step, self.action(step)):
                    if event.state is StepState.FAILED:
                        self.failed = event
                    yield event
            except AzureServiceError as exc:
                if self.failed is None:  # not a step's failure (run_step reported that one)
                    raise
                self.error = exc
                return
        self.result = self.made()

    def action(self, step: StepSpec) -> StepAction:
        raise NotImplementedError

    def made(self) -> str:
        raise NotImplementedError

    async def sleep(self) -> None:
        await asyncio.sleep(self.poll_seconds)


async def finished(begin: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Starts a long-running operation and waits for its end (raising its error)."""
    poller = await begin(*args)
    return await poller.result()

"""The shared step model: one step's events (run_step) and callback work as events (pump)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from azure.core.exceptions import HttpResponseError

from gui.azure.errors import AzureServiceError
from gui.azure.steps import (
    StepEvent,
    StepSkipped,
    StepSpec,
    StepState,
    pump,
    run_step,
    started,
)

pytestmark = pytest.mark.asyncio

STEP = StepSpec("create-image", "Create image web", "Creates image web", "Pick another name.")


async def _collect(events: AsyncIterator[StepEvent]) -> list[StepEvent]:
    return [event async for event in events]


async def test_a_step_runs_reports_progress_and_ends_done() -> None:
    async def action(progress: Callable[[str], None]) -> str:
        progress("half way")
        await asyncio.sleep(0.01)
        progress("nearly")
        return "Image web created."

    events = await _collect(run_step(STEP, action))
    assert [(e.state, e.message) for e in events] == [
        (StepState.RUNNING, ""),
        (StepState.RUNNING, "half way"),
        (StepState.RUNNING, "nearly"),
        (StepState.DONE, "Image web created."),
    ]
    assert {e.key for e in events} == {"create-image"}
    assert events[0].started == events[-1].started  # one step, one start
    assert events[-1].ended is not None and events[-1].seconds is not None
    assert events[-1].seconds >= 0.01
    assert events[-1].state.ended and not events[0].state.ended


async def test_a_skipped_step_says_why() -> None:
    async def action(progress: Callable[[str], None]) -> str:
        raise StepSkipped("The VM is already deallocated.")

    events = await _collect(run_step(STEP, action))
    assert [(e.state, e.message) for e in events] == [
        (StepState.RUNNING, ""),
        (StepState.SKIPPED, "The VM is already deallocated."),
    ]


async def test_a_failed_step_carries_azures_message_and_advice_then_raises_ours() -> None:
    async def action(progress: Callable[[str], None]) -> str:
        raise HttpResponseError(message="Operation 'create' is not allowed.")

    seen: list[StepEvent] = []
    with pytest.raises(AzureServiceError) as raised:
        async for event in run_step(STEP, action):
            seen.append(event)
    assert [e.state for e in seen] == [StepState.RUNNING, StepState.FAILED]
    assert "not allowed" in seen[-1].message
    assert seen[-1].advice == "Pick another name."  # the step's own advice comes first
    assert "not allowed" in raised.value.message


async def test_a_step_without_advice_takes_the_errors() -> None:
    async def action(progress: Callable[[str], None]) -> str:
        raise ConnectionError("reset by peer")

    seen: list[StepEvent] = []
    with pytest.raises(AzureServiceError) as raised:
        async for event in run_step(StepSpec("check", "Check"), action):
            seen.append(event)
    assert seen[-1].advice == raised.value.advice != ""


async def test_pump_yields_what_work_emits_and_raises_what_it_raised() -> None:
    async def work(emit: Callable[[int], None]) -> None:
        emit(1)
        await asyncio.sleep(0)
        emit(2)
        emit(3)
        raise ValueError("broken")

    seen: list[int] = []
    with pytest.raises(ValueError, match="broken"):
        async for value in pump(work):
            seen.append(value)
    assert seen == [1, 2, 3]  # everything emitted before the failure arrives first


async def test_closing_pump_cancels_the_work_and_waits_for_its_cleanup() -> None:
    cleaned = asyncio.Event()

    async def work(emit: Callable[[str], None]) -> None:
        emit("started")
        try:
            await asyncio.sleep(60)
        finally:
            cleaned.set()

    events = pump(work)
    assert await anext(events) == "started"
    await events.aclose()
    assert cleaned.is_set()


async def test_events_are_values() -> None:
    first = started(STEP)
    later = first.running("half way")
    done = later.ended_as(StepState.DONE, "ok")
    assert first.state is StepState.RUNNING and first.message == ""
    assert (later.message, done.message, done.state) == ("half way", "ok", StepState.DONE)
    assert first.ended is None and done.ended is not None
    assert StepState.DONE.value == "Done"

"""Editing a gallery image definition (issue 12) against the sandbox over HTTP: description, end
of life and recommended sizes updated with one PATCH, and what Azure would refuse named before
anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.manage.definitions import (
    DefinitionChange,
    DefinitionRef,
    check_change,
    read_definition,
    update_definition,
)
from gui.azure.manage.versions import ChangeRefused
from gui.azure.steps import StepState
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_IMAGE_WINDOWS, GALLERY_PROD, RG_GALLERY

pytestmark = pytest.mark.asyncio

REF = DefinitionRef(RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_WINDOWS)


@pytest_asyncio.fixture
async def compute(fresh_sandbox: Any) -> AsyncIterator[Any]:
    fresh_sandbox.lro_seconds = 0.05
    session: AzureSession = sandbox_session(fresh_sandbox.arm_url)
    try:
        yield session.compute(PRODUCTION_SUBSCRIPTION_ID)
    finally:
        await session.close()


async def test_description_end_of_life_and_recommended_sizes_are_updated(compute: Any) -> None:
    profile = await read_definition(compute, REF)
    assert profile.description == "Windows Server 2022 application server"
    assert profile.fixed["osType"] == "Windows"
    end = datetime(2031, 6, 30, tzinfo=UTC)
    change = DefinitionChange("Retiring: use ws2025-appserver", end, (2, 8), (4, None))
    events = [event async for event in update_definition(compute, profile, change)]
    assert events[-1].state is StepState.DONE
    after = await read_definition(compute, REF)
    assert after.description == "Retiring: use ws2025-appserver"
    assert after.end_of_life == end
    assert after.vcpus == (2, 8)
    assert after.memory_gib == (4, None)
    assert after.fixed == profile.fixed


async def test_what_azure_would_refuse_is_named_before_sending(compute: Any) -> None:
    profile = await read_definition(compute, REF)
    future = datetime.now(UTC) + timedelta(days=30)
    bad = DefinitionChange("x", future, (8, 2), (0, 4))
    problems = [str(p) for p in check_change(profile, bad)]
    assert any("minimum (8) is above the maximum (2)" in p for p in problems)
    assert any("0 is outside 1 to" in p for p in problems)
    past = DefinitionChange("x", datetime.now(UTC) - timedelta(days=1), (None, None),
                            (None, None))
    with pytest.raises(ChangeRefused) as refused:
        [event async for event in update_definition(compute, profile, past)]
    assert "must be in the future" in str(refused.value.problems[0])
    assert (await read_definition(compute, REF)).description == profile.description

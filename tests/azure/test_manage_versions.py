"""Editing a gallery image version (issue 12) against the sandbox over HTTP: each update (end of
life, exclude from latest, a region added with its replica count and storage type, replica
counts), the replication status advancing per region, a failed region retried, and Azure's
safeguard for dropping a region: refused before sending, refused by Azure when sent anyway,
done once the flag is set as a step of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.errors import AzureServiceError, ConflictError, translated
from gui.azure.manage.versions import (
    COMPLETED,
    FAILED,
    REPLICATING,
    ChangeRefused,
    TargetRegion,
    VersionChange,
    VersionProfile,
    VersionRef,
    VersionUpdate,
    check_change,
    end_of_life_at,
    plan_update,
    read_version,
    regions_with_zones,
    retry_region,
    update_body,
)
from gui.azure.steps import StepState
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_IMAGE_WINDOWS, GALLERY_PROD, RG_GALLERY

pytestmark = pytest.mark.asyncio

State = tuple[Any, Any]
REF = VersionRef(RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_WINDOWS, "2024.11.1")


@pytest_asyncio.fixture
async def sandbox_state(fresh_sandbox: Any) -> AsyncIterator[tuple[Any, Any]]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.4
    session: AzureSession = sandbox_session(fresh_sandbox.arm_url)
    try:
        yield fresh_sandbox, session.compute(PRODUCTION_SUBSCRIPTION_ID)
    finally:
        await session.close()


async def _apply(compute: Any, profile: VersionProfile, change: VersionChange) -> VersionUpdate:
    run = VersionUpdate(compute, plan_update(profile, change))
    events = [event async for event in run.events()]
    assert events[-1].state is StepState.DONE, events[-1]
    return run


def _with(profile: VersionProfile, *regions: TargetRegion, **changes: Any) -> VersionChange:
    change = VersionChange.of(profile)
    return VersionChange(
        changes.get("end_of_life", change.end_of_life),
        changes.get("exclude_from_latest", change.exclude_from_latest),
        regions or change.regions,
        changes.get("allow_region_deletion", False),
    )


async def test_reads_the_publishing_profile_and_the_status_per_region(sandbox_state: State) -> None:
    _, compute = sandbox_state
    profile = await read_version(compute, REF)
    assert [(r.name, r.replicas, r.storage) for r in profile.regions] == [
        ("West Europe", 3, "Standard_LRS"),
        ("Germany West Central", 1, "Standard_LRS"),
    ]
    assert profile.location.replace(" ", "").lower() == "westeurope"
    assert profile.allow_region_deletion is False
    assert [(s.region, s.state, s.progress) for s in profile.status] == [
        ("West Europe", COMPLETED, 100),
        ("Germany West Central", COMPLETED, 100),
    ]
    assert "/providers/Microsoft.Compute/images/" in profile.storage_profile["source"]["id"]


async def test_end_of_life_and_exclude_from_latest_are_updated(sandbox_state: State) -> None:
    _, compute = sandbox_state
    profile = await read_version(compute, REF)
    day = date.today() + timedelta(days=90)
    await _apply(
        compute, profile, _with(profile, end_of_life=end_of_life_at(day), exclude_from_latest=True)
    )
    after = await read_version(compute, REF)
    assert after.end_of_life == datetime(day.year, day.month, day.day, tzinfo=UTC)
    assert after.exclude_from_latest is True
    # Azure keeps a date once set: "none" is refused before sending, a later date is taken
    assert "choose a later date" in str(check_change(after, _with(after, end_of_life=None))[0])
    later = end_of_life_at(day + timedelta(days=30))
    await _apply(compute, after, _with(after, end_of_life=later))
    assert (await read_version(compute, REF)).end_of_life == later


async def test_an_added_region_replicates_over_several_polls_to_completed(
    sandbox_state: State,
) -> None:
    _, compute = sandbox_state
    profile = await read_version(compute, REF)
    change = _with(profile, *profile.regions, TargetRegion("eastus", 2, "Standard_ZRS"))
    run = VersionUpdate(compute, plan_update(profile, change))
    seen: list[tuple[str, int | None]] = []

    async def watch() -> None:
        while True:
            status = (await read_version(compute, REF)).status_of("eastus")
            if status is not None:
                seen.append((status.state, status.progress))
                if status.state == COMPLETED:
                    return
            await asyncio.sleep(0.05)

    async def apply() -> list[Any]:
        return [event async for event in run.events()]

    events, _ = await asyncio.wait_for(asyncio.gather(apply(), watch()), 10)
    assert events[-1].state is StepState.DONE
    replicating = [progress or 0 for state, progress in seen if state == REPLICATING]
    assert replicating, seen  # seen on its way, over several polls
    assert replicating == sorted(replicating)
    assert seen[-1] == (COMPLETED, 100)
    after = await read_version(compute, REF)
    regions = [(r.name, r.replicas, r.storage) for r in after.regions]
    assert ("East US", 2, "Standard_ZRS") in regions
    # the regions it was in already stayed Completed all along
    assert after.status_of("westeurope") is not None
    assert after.status_of("westeurope").state == COMPLETED  # type: ignore[union-attr]


async def test_a_changed_replica_count_is_sent(sandbox_state: State) -> None:
    _, compute = sandbox_state
    profile = await read_version(compute, REF)
    regions = tuple(
        TargetRegion(r.name, 5 if r.key == "westeurope" else r.replicas, r.storage)
        for r in profile.regions
    )
    await _apply(compute, profile, _with(profile, *regions))
    after = await read_version(compute, REF)
    assert after.regions[0].replicas == 5


async def test_checks_before_sending(sandbox_state: State) -> None:
    _, compute = sandbox_state
    profile = await read_version(compute, REF)
    west, germany = profile.regions
    zonal = frozenset({"westeurope", "eastus"})
    cases = {
        "replicas": _with(profile, west, TargetRegion(germany.name, 101, germany.storage)),
        "twice": _with(profile, west, germany, TargetRegion("germanywestcentral", 1)),
        "storage change": _with(profile, west, TargetRegion(germany.name, 1, "Premium_LRS")),
        "zrs without zones": _with(profile, west, germany, TargetRegion("uksouth", 1,
                                                                         "Standard_ZRS")),
        "source region": _with(profile, germany),
        "drop without safeguard": _with(profile, west),
        "past end of life": _with(profile, end_of_life=datetime.now(UTC) - timedelta(days=1)),
    }
    for name, change in cases.items():
        problems = check_change(profile, change, zonal)
        assert problems, name
    assert "availability zones" in str(check_change(profile, cases["zrs without zones"], zonal)[0])
    assert "allowDeletionOfReplicatedLocations" in str(
        check_change(profile, cases["drop without safeguard"], zonal)[0]
    )
    with pytest.raises(ChangeRefused) as refused:
        plan_update(profile, cases["replicas"], zonal)
    assert "Choose 1 to 100 replicas" in str(refused.value.problems[0])
    # unknown zones: ZRS is left for Azure to decide
    assert not check_change(profile, cases["zrs without zones"], None)


async def test_dropping_a_region_without_the_safeguard_is_refused_by_azure(
    sandbox_state: State,
) -> None:
    _, compute = sandbox_state
    profile = await read_version(compute, REF)
    west, _ = profile.regions
    body = update_body(profile, _with(profile, west))
    with pytest.raises(ConflictError) as refused, translated():
        poller = await compute.gallery_image_versions.begin_update(*REF.args, body)
        await poller.result()
    assert refused.value.code == "OperationNotAllowed"
    assert "allowDeletionOfReplicatedLocations" in refused.value.message
    assert [r.name for r in (await read_version(compute, REF)).regions] == [
        "West Europe",
        "Germany West Central",
    ]


async def test_dropping_a_region_with_the_safeguard_set_first(sandbox_state: State) -> None:
    _, compute = sandbox_state
    profile = await read_version(compute, REF)
    west, _ = profile.regions
    change = _with(profile, west, allow_region_deletion=True)
    plan = plan_update(profile, change)
    assert [step.key.split(":")[0] for step in plan.steps] == ["safeguard", "update"]
    run = VersionUpdate(compute, plan)
    events = [event async for event in run.events()]
    assert [e.key.split(":")[0] for e in events if e.state is StepState.DONE] == [
        "safeguard",
        "update",
    ]
    after = await read_version(compute, REF)
    assert [r.name for r in after.regions] == ["West Europe"]
    assert after.allow_region_deletion is True


async def test_a_failed_region_is_retried(sandbox_state: State) -> None:
    sandbox, compute = sandbox_state
    sandbox.faults.fail_replication("eastus")
    profile = await read_version(compute, REF)
    change = _with(profile, *profile.regions, TargetRegion("eastus", 1))
    run = VersionUpdate(compute, plan_update(profile, change))
    events = []
    with pytest.raises(AzureServiceError):
        async for event in run.events():
            events.append(event)
    assert events[-1].state is StepState.FAILED
    failed = await read_version(compute, REF)
    status = failed.status_of("eastus")
    assert status is not None and status.state == FAILED
    assert "eastus" in status.details and "retry" in status.details
    assert failed.failed_regions == ["East US"]

    await retry_region(compute, failed, "East US")

    async def completed() -> VersionProfile:
        while True:
            now = await read_version(compute, REF)
            if now.status_of("eastus").state == COMPLETED:  # type: ignore[union-attr]
                return now
            await asyncio.sleep(0.05)

    after = await asyncio.wait_for(completed(), 10)
    assert after.failed_regions == []
    assert after.provisioning == "Succeeded" or after.provisioning == "Updating"


async def test_regions_with_zones_unknown_when_no_region_reports_any(fresh_sandbox: Any) -> None:
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        zonal = await regions_with_zones(session.subscriptions(), PRODUCTION_SUBSCRIPTION_ID)
    finally:
        await session.close()
    # The sandbox's list-locations carries no availabilityZoneMappings: nothing is refused here.
    assert zonal is None

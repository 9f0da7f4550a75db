"""The capture service against the sandbox over HTTP: VM listing, validation with Azure's
reasons, and the step executor (order, skips, failures that stop everything, cancellation)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.capture.executor import CaptureExecutor, plan_steps
from gui.azure.capture.plan import (
    CapturePlan,
    Field,
    Generalization,
    RegionReplicas,
    TargetKind,
    validate,
)
from gui.azure.capture.targets import load_facts
from gui.azure.capture.vms import VmInfo, list_vms
from gui.azure.catalog.nodes import NodeRef, PurchasePlan, SourceKind
from gui.azure.steps import StepEvent, StepState
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB
from gui.sandbox.seed import vms as seeded
from gui.sandbox.seed import world

pytestmark = pytest.mark.asyncio
RG = seeded.RG_VMS


@pytest_asyncio.fixture
async def session(fresh_sandbox: SandboxServer) -> AsyncIterator[AzureSession]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.2
    made = sandbox_session(fresh_sandbox.arm_url)
    yield made
    await made.close()


async def _vms(session: AzureSession) -> dict[str, VmInfo]:
    return {vm.name: vm for vm in await list_vms(session.compute(SUB))}


async def _validate(session: AzureSession, plan: CapturePlan) -> list[str]:
    facts = await load_facts(session.compute(SUB), session.resources(SUB), plan)
    return [f"{p.field}: {p.message}" for p in validate(plan, facts).problems]


async def _run(executor: CaptureExecutor) -> list[StepEvent]:
    return [event async for event in executor.run()]


def _final(events: list[StepEvent]) -> dict[str, StepState]:
    """The last state of each step, by key."""
    return {event.step.key: event.state for event in events}


def _managed_plan(
    vm: VmInfo, generalization: Generalization, image_name: str, **changes: Any
) -> CapturePlan:
    plan = CapturePlan(
        vm=vm,
        generalization=generalization,
        target=TargetKind.MANAGED_IMAGE,
        resource_group=world.RG_IMAGES,
        image_name=image_name,
    )
    return dataclasses.replace(plan, **changes)


def _gallery_plan(vm: VmInfo, **changes: Any) -> CapturePlan:
    plan = CapturePlan(
        vm=vm,
        generalization=Generalization.CONFIRMED,
        target=TargetKind.GALLERY_VERSION,
        resource_group=world.RG_GALLERY,
        gallery_name=world.GALLERY_PROD,
        definition_name="new-def",
        create_definition=True,
        publisher="Contoso",
        offer="capture-tests",
        sku=vm.name,
        version="1.0.0",
    )
    return dataclasses.replace(plan, **changes)


async def test_vms_listed_with_state_os_security_and_disks(session: AzureSession) -> None:
    vms = await _vms(session)
    windows = vms[seeded.VM_WINDOWS]
    assert (windows.os_type, windows.power_state, windows.os_state) == (
        "Windows",
        "running",
        "Specialized",
    )
    assert windows.size == "Standard_D4s_v5"
    assert [(d.lun, d.size_gb) for d in windows.disks] == [(None, 127), (0, 128), (1, 256)]
    assert windows.admin_username == "contosoadmin"
    assert vms[seeded.VM_TRUSTED_LAUNCH].security_type == "TrustedLaunch"
    arm = vms[seeded.VM_ARM64]
    assert (arm.architecture, arm.power_state, arm.hyper_v_generation) == (
        "Arm64",
        "deallocated",
        "V2",
    )
    assert vms[seeded.VM_GEN1].hyper_v_generation == "V1"
    assert vms[seeded.VM_GEN1].power_state == "stopped"


async def test_managed_image_refusals(session: AzureSession) -> None:
    vms = await _vms(session)

    def managed(vm: VmInfo, generalization: Generalization) -> CapturePlan:
        return _managed_plan(vm, generalization, "img-new")

    tl = await _validate(
        session, managed(vms[seeded.VM_TRUSTED_LAUNCH], Generalization.RUN_COMMAND)
    )
    assert tl == [
        "target: Managed images do not support the security type TrustedLaunch of "
        "vm-ubuntu-tl-01; Azure refuses to capture it. Capture it into a gallery image version "
        "instead."
    ]
    arm = await _validate(session, managed(vms[seeded.VM_ARM64], Generalization.CONFIRMED))
    assert any("Managed images support x64 only" in p for p in arm)
    special = await _validate(session, managed(vms[seeded.VM_LINUX], Generalization.SPECIALIZED))
    assert any("only be made from a generalized VM" in p for p in special)
    taken = dataclasses.replace(
        managed(vms[seeded.VM_WINDOWS], Generalization.RUN_COMMAND),
        image_name=world.IMAGE_WITH_DATA_DISKS,
    )
    assert any("already exists in resource group" in p for p in await _validate(session, taken))
    bad_name = dataclasses.replace(taken, image_name="-bad")
    assert any(
        p.startswith("image-name: An image name") for p in await _validate(session, bad_name)
    )
    ok = await _validate(session, managed(vms[seeded.VM_WINDOWS], Generalization.RUN_COMMAND))
    assert ok == []


async def test_source_refusals(session: AzureSession) -> None:
    vms = await _vms(session)
    running = await _validate(session, _gallery_plan(vms[seeded.VM_SQLNODE]))
    assert any(
        "Operation 'generalize' is not allowed since the VM is running" in p for p in running
    )
    not_running = await _validate(
        session,
        _gallery_plan(vms[seeded.VM_ARM64], generalization=Generalization.RUN_COMMAND),
    )
    assert any("Run Command needs a running VM" in p for p in not_running)


async def _into_existing(
    session: AzureSession,
    vm: VmInfo,
    definition: str,
    generalization: Generalization = Generalization.CONFIRMED,
) -> list[str]:
    """The problems of capturing ``vm`` into a new version of the existing ``definition``."""
    plan = _gallery_plan(
        vm, definition_name=definition, create_definition=False, generalization=generalization
    )
    return await _validate(session, plan)


async def test_definition_mismatches_each_reported(session: AzureSession) -> None:
    vms = await _vms(session)
    linux = vms[seeded.VM_LINUX]
    run = Generalization.RUN_COMMAND
    problems = await _into_existing(session, linux, world.GALLERY_IMAGE_WINDOWS, run)
    assert problems == [
        "definition: The definition ws2022-appserver has OS type 'Windows' but the capture is "
        "'Linux' (Azure: 'different OS type than the parent gallery image')."
    ]
    specialized = await _into_existing(
        session, linux, world.GALLERY_IMAGE_GEN1, Generalization.SPECIALIZED
    )
    assert any("OS state 'Generalized' but the capture is 'Specialized'" in p for p in specialized)
    assert any("Hyper-V generation 'V1' but the capture is 'V2'" in p for p in specialized)
    arm = await _into_existing(session, vms[seeded.VM_ARM64], world.GALLERY_IMAGE_SECURE)
    assert any("architecture 'x64' but the capture is 'Arm64'" in p for p in arm)
    secure = await _into_existing(
        session, vms[seeded.VM_TRUSTED_LAUNCH], world.GALLERY_IMAGE_GEN1, run
    )
    assert any("does not accept a VM of security type 'TrustedLaunch'" in p for p in secure)


async def test_version_regions_and_names_checked(session: AzureSession) -> None:
    vms = await _vms(session)
    existing = _gallery_plan(
        vms[seeded.VM_LINUX],
        definition_name=world.GALLERY_IMAGE_SECURE,
        create_definition=False,
        generalization=Generalization.RUN_COMMAND,
        version="1.1.0",
    )
    problems = await _validate(session, existing)
    assert any("Version 1.1.0 already exists" in p and "e.g. 1.2.1" in p for p in problems)
    bad = dataclasses.replace(
        existing,
        version="1.0",
        regions=(RegionReplicas("northeurope", 0),),
        end_of_life=date.today() - timedelta(days=1),
        gallery_name="has-hyphen",
    )
    fields = {p.split(":", 1)[0] for p in await _validate(session, bad)}
    assert {Field.VERSION, Field.REGIONS, Field.END_OF_LIFE, Field.GALLERY} <= fields
    assert [r.region for r in bad.target_regions] == ["westeurope", "northeurope"]
    duplicate_id = _gallery_plan(
        vms[seeded.VM_LINUX],
        generalization=Generalization.RUN_COMMAND,
        publisher="Contoso",
        offer="ubuntu-base",
        sku="22.04-lts-gen2",
    )
    assert any(
        "already uses publisher/offer/SKU" in p for p in await _validate(session, duplicate_id)
    )


async def test_windows_vm_into_managed_image_every_step(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    vm = (await _vms(session))[seeded.VM_WINDOWS]
    plan = _managed_plan(
        vm,
        Generalization.RUN_COMMAND,
        "img-app",
        snapshot_disk_ids=tuple(d.id for d in vm.disks),
        delete_vm_after=True,
    )
    assert [s.key.split(":")[0] for s in plan_steps(plan)] == [
        "check",
        "snapshot",
        "snapshot",
        "snapshot",
        "run-generalization",
        "wait-stopped",
        "deallocate",
        "mark-generalized",
        "create-image",
        "delete-vm",
    ]
    executor = CaptureExecutor(session, SUB, plan, poll_seconds=0.05)
    events = await _run(executor)
    assert set(_final(events).values()) == {StepState.DONE}
    for event in events:
        if event.state is StepState.DONE:
            assert event.started is not None and event.ended is not None
            assert event.ended >= event.started
    assert executor.result == NodeRef(SourceKind.MANAGED, (world.RG_IMAGES, "img-app"))
    image = await session.compute(SUB).images.get(world.RG_IMAGES, "img-app")
    assert [d.lun for d in image.storage_profile.data_disks] == [0, 1]
    assert image.source_virtual_machine.id.lower() == vm.id.lower()
    snapshots = [s.name async for s in session.compute(SUB).snapshots.list_by_resource_group(RG)]
    assert len(snapshots) == 3
    assert seeded.VM_WINDOWS not in await _vms(session)


async def test_specialized_capture_into_existing_definition(session: AzureSession) -> None:
    vm = (await _vms(session))[seeded.VM_SQLNODE]
    plan = _gallery_plan(
        vm,
        generalization=Generalization.SPECIALIZED,
        definition_name=world.GALLERY_IMAGE_SPECIALIZED,
        create_definition=False,
        version="2.0.0",
        regions=(RegionReplicas("northeurope", 1),),
        exclude_from_latest=True,
        end_of_life=date.today() + timedelta(days=365),
    )
    assert await _validate(session, plan) == []
    executor = CaptureExecutor(session, SUB, plan, poll_seconds=0.05)
    events = await _run(executor)
    final = _final(events)
    assert "mark-generalized" not in final and "run-generalization" not in final
    assert set(final.values()) == {StepState.DONE}
    progress = [e.message for e in events if e.step.key == "replicate:northeurope"]
    assert any("Replicating" in message or "Waiting" in message for message in progress)
    version = await session.compute(SUB).gallery_image_versions.get(
        world.RG_GALLERY, world.GALLERY_PROD, world.GALLERY_IMAGE_SPECIALIZED, "2.0.0"
    )
    properties = version.properties
    assert properties is not None and properties.publishing_profile is not None
    profile = properties.publishing_profile
    assert profile.exclude_from_latest is True
    assert [r.name for r in profile.target_regions or []] == ["West Europe", "North Europe"]
    assert len(properties.storage_profile.data_disk_images or []) == 2
    # specialized: Azure never marked it generalized, so it can start again
    await (await session.compute(SUB).virtual_machines.begin_start(RG, vm.name)).result()


async def test_check_step_refuses_when_target_appeared_meanwhile(
    session: AzureSession,
) -> None:
    vm = (await _vms(session))[seeded.VM_GEN1]
    plan = _managed_plan(
        vm,
        Generalization.CONFIRMED,
        world.IMAGE_OS_ONLY,  # exists already
        snapshot_disk_ids=(vm.os_disk.id,),
    )
    events = await _run(CaptureExecutor(session, SUB, plan, poll_seconds=0.05))
    assert [(e.step.key, e.state) for e in events] == [
        ("check", StepState.RUNNING),
        ("check", StepState.FAILED),
    ]
    assert "already exists" in events[-1].message
    snapshots = [s.name async for s in session.compute(SUB).snapshots.list_by_resource_group(RG)]
    assert snapshots == []


async def test_failed_step_stops_everything_with_azure_message(
    session: AzureSession, fresh_sandbox: SandboxServer
) -> None:
    vm = (await _vms(session))[seeded.VM_GEN1]
    fresh_sandbox.faults.add(
        r"/virtualMachines/vm-rhel8-legacy-01/generalize$",
        status=409,
        code="OperationNotAllowed",
        message="The VM agent reported the guest is not ready.",
    )
    plan = _managed_plan(vm, Generalization.CONFIRMED, "img-never")
    executor = CaptureExecutor(session, SUB, plan, poll_seconds=0.05)
    events = await _run(executor)
    final = _final(events)
    assert final["mark-generalized"] is StepState.FAILED
    assert "create-image" not in final
    assert events[-1].message == (
        "OperationNotAllowed: The VM agent reported the guest is not ready."
    )
    assert "az vm generalize" in events[-1].advice
    assert executor.result is None
    images = [
        i.name async for i in session.compute(SUB).images.list_by_resource_group(world.RG_IMAGES)
    ]
    assert "img-never" not in images


async def test_cancel_stops_before_the_next_step(session: AzureSession) -> None:
    vm = (await _vms(session))[seeded.VM_LINUX]
    plan = _gallery_plan(vm, generalization=Generalization.RUN_COMMAND)
    executor = CaptureExecutor(session, SUB, plan, poll_seconds=0.05, stop_timeout=60)
    seen: list[StepEvent] = []

    async def consume() -> None:
        async for event in executor.run():
            seen.append(event)

    task = asyncio.ensure_future(consume())
    while not any(e.step.key == "wait-stopped" for e in seen):
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen[-1].step.key == "wait-stopped"
    await asyncio.sleep(0.5)  # the guest stops by itself; nothing deallocates it
    view = await session.compute(SUB).virtual_machines.instance_view(RG, vm.name)
    assert any(s.code == "PowerState/stopped" for s in view.statuses or [])


async def test_trusted_launch_vm_into_new_gallery_and_definition(session: AzureSession) -> None:
    vm = (await _vms(session))[seeded.VM_TRUSTED_LAUNCH]
    plan = _gallery_plan(
        vm,
        generalization=Generalization.RUN_COMMAND,
        resource_group=RG,
        gallery_name="gal_capture_tests",
        create_gallery=True,
        definition_name="ubuntu-tl",
    )
    assert await _validate(session, plan) == []
    keys = [step.key for step in plan_steps(plan)]
    assert (
        keys.index("create-gallery")
        < keys.index("create-definition")
        < keys.index("create-version")
    )
    events = await _run(CaptureExecutor(session, SUB, plan, poll_seconds=0.05))
    assert set(_final(events).values()) == {StepState.DONE}
    compute = session.compute(SUB)
    gallery = await compute.galleries.get(RG, "gal_capture_tests")
    assert gallery.location == "westeurope"
    definition = (await compute.gallery_images.get(RG, "gal_capture_tests", "ubuntu-tl")).as_dict()
    props = definition["properties"]
    assert (props["osType"], props["osState"], props["hyperVGeneration"]) == (
        "Linux",
        "Generalized",
        "V2",
    )
    assert {"name": "SecurityType", "value": "TrustedLaunch"} in props["features"]
    # the same choices again: the definition exists now, so creating it is refused up front
    again = await _validate(session, plan)
    assert any("already exists in this subscription" in p for p in again)


async def test_a_plan_vm_captured_into_a_new_definition_carries_its_plan(
    session: AzureSession,
) -> None:
    """Azure refuses VMs from a version of a plan image whose definition lacks the plan."""
    vm = (await _vms(session))[seeded.VM_PLAN]
    assert vm.plan == PurchasePlan("RedHat", "rhel-byos", "rhel-lvm94-gen2")
    plan = _gallery_plan(vm, definition_name="rhel-byos-golden", resource_group=RG,
                         gallery_name="gal_plan_tests", create_gallery=True,
                         generalization=Generalization.RUN_COMMAND)
    assert await _validate(session, plan) == []
    [step] = [step for step in plan_steps(plan) if step.key == "create-definition"]
    assert "RedHat/rhel-byos/rhel-lvm94-gen2" in str(step.change)
    events = await _run(CaptureExecutor(session, SUB, plan, poll_seconds=0.05))
    assert set(_final(events).values()) == {StepState.DONE}
    definition = await session.compute(SUB).gallery_images.get(
        RG, "gal_plan_tests", "rhel-byos-golden"
    )
    assert definition.as_dict()["properties"]["purchasePlan"] == {
        "publisher": "RedHat", "product": "rhel-byos", "name": "rhel-lvm94-gen2",
    }

    # Into an existing definition without the plan: refused before anything changes.
    existing = dataclasses.replace(
        plan, gallery_name=world.GALLERY_PROD, resource_group=world.RG_GALLERY,
        create_gallery=False, create_definition=False,
        definition_name=world.GALLERY_IMAGE_SECURE, version="9.9.9",
    )
    problems = await _validate(session, existing)
    assert any("Marketplace plan RedHat/rhel-byos/rhel-lvm94-gen2" in p for p in problems)

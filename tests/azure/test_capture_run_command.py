"""What the capture sends and how it reads Azure's answers, against the sandbox over HTTP: a
gallery capture names its VM with ``virtualMachineId`` (the current spec), and the generalization
step reads the Run Command's error stream in both of Azure's shapes, so a guest that refuses
sysprep stops the capture before the VM is touched."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.capture.executor import CaptureExecutor, generalization_failure
from gui.azure.capture.plan import CapturePlan, Generalization, TargetKind
from gui.azure.capture.vms import VmInfo, list_vms
from gui.azure.steps import StepEvent, StepState
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB
from gui.sandbox.seed import vms as seeded
from gui.sandbox.seed import world

RG = seeded.RG_VMS


@pytest_asyncio.fixture
async def session(fresh_sandbox: SandboxServer) -> AsyncIterator[AzureSession]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.1
    made = sandbox_session(fresh_sandbox.arm_url)
    yield made
    await made.close()


async def _vm(session: AzureSession, name: str) -> VmInfo:
    return next(vm for vm in await list_vms(session.compute(SUB)) if vm.name == name)


def _final(events: list[StepEvent]) -> dict[str, StepEvent]:
    return {event.step.key: event for event in events}


def _image_plan(vm: VmInfo, image_name: str) -> CapturePlan:
    return CapturePlan(
        vm=vm,
        generalization=Generalization.RUN_COMMAND,
        target=TargetKind.MANAGED_IMAGE,
        resource_group=world.RG_IMAGES,
        image_name=image_name,
    )


@pytest.mark.asyncio
async def test_gallery_capture_names_the_vm_with_virtual_machine_id(
    session: AzureSession,
) -> None:
    vm = await _vm(session, seeded.VM_LINUX)
    plan = CapturePlan(
        vm=vm,
        generalization=Generalization.RUN_COMMAND,
        target=TargetKind.GALLERY_VERSION,
        resource_group=world.RG_GALLERY,
        gallery_name=world.GALLERY_PROD,
        definition_name="ubuntu-web-spec",
        create_definition=True,
        publisher="Contoso",
        offer="spec-shapes",
        sku="web",
        version="1.0.0",
    )
    events = [event async for event in CaptureExecutor(session, SUB, plan, poll_seconds=0.05).run()]
    assert {e.state for e in _final(events).values()} == {StepState.DONE}
    version = await session.compute(SUB).gallery_image_versions.get(
        world.RG_GALLERY, world.GALLERY_PROD, "ubuntu-web-spec", "1.0.0"
    )
    # The sandbox shows the source as the request gave it.
    assert version.as_dict()["properties"]["storageProfile"]["source"] == {
        "virtualMachineId": vm.id
    }


@pytest.mark.asyncio
async def test_windows_guest_that_takes_sysprep_goes_on_to_the_image(
    session: AzureSession,
) -> None:
    vm = await _vm(session, seeded.VM_WINDOWS)
    executor = CaptureExecutor(session, SUB, _image_plan(vm, "img-ws-ok"), poll_seconds=0.05)
    final = _final([event async for event in executor.run()])
    assert final["run-generalization"].state is StepState.DONE
    assert final["create-image"].state is StepState.DONE


@pytest.mark.asyncio
async def test_windows_guest_that_refuses_sysprep_stops_the_capture(
    session: AzureSession,
) -> None:
    vm = await _vm(session, seeded.VM_SYSPREP_BLOCKED)
    executor = CaptureExecutor(session, SUB, _image_plan(vm, "img-ws-blocked"), poll_seconds=0.05)
    events = [event async for event in executor.run()]
    failed = events[-1]
    assert (failed.step.key, failed.state) == ("run-generalization", StepState.FAILED)
    assert failed.message == (
        "The guest reported: Start-Process : This command cannot be run due to the error: This "
        "program is blocked by group policy. For more information, contact your system "
        "administrator."
    )
    assert "wait-stopped" not in _final(events)  # nobody waits 30 minutes for a shutdown
    assert executor.result is None
    view = await session.compute(SUB).virtual_machines.instance_view(RG, vm.name)
    assert "PowerState/running" in [s.code for s in view.statuses or []]


def test_linux_shape_error_stream_is_a_failure() -> None:
    # RunShellScript's one status, as Azure answers when waagent is missing in the guest.
    ok = {
        "code": "ProvisioningState/succeeded",
        "level": "Info",
        "displayStatus": "Provisioning succeeded",
        "message": "Enable succeeded: \n[stdout]\nWARNING! user account will be deleted.\n"
        "\n[stderr]\n",
    }
    assert generalization_failure([ok]) is None
    broken = {
        **ok,
        "message": "Enable succeeded: \n[stdout]\n\n[stderr]\n"
        "/var/lib/waagent/run-command/download/0/script.sh: 1: waagent: not found\n",
    }
    assert generalization_failure([broken]) == (
        "/var/lib/waagent/run-command/download/0/script.sh: 1: waagent: not found"
    )

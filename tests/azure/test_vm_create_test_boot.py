"""Test boot (issue 12, Deliver 5) against the sandbox over HTTP: a good image passes, a bad one
fails with its cause, the serial log is read live (only new bytes), and the throw-away group is
gone afterwards in every outcome, cancel included."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
import pytest_asyncio
from azure.storage.blob import BlobClient

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, NodeRef, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.steps import StepEvent, StepState
from gui.azure.vm_create.executor import VmCreateExecutor
from gui.azure.vm_create.image import image_needs
from gui.azure.vm_create.request import TEST_BOOT_VM, Mode, VmRequest, throwaway_group
from gui.azure.vm_create.verdict import Outcome, judge
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import RG_VMS, VM_LINUX
from gui.sandbox.seed.world import STORAGE_ACCOUNT_PROD

SUB = PRODUCTION_SUBSCRIPTION_ID
MIB = 1024 * 1024
LOCATION = "westeurope"
KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGhvc3QtYS10ZXN0LWtleS1mb3Itc2FuZGJveA"
    " admin@laptop"
)


@pytest_asyncio.fixture
async def session(fresh_sandbox: Any) -> Any:
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        yield session
    finally:
        await session.close()


@pytest.fixture
def catalog(session: AzureSession) -> Catalog:
    return Catalog(session, Scope(SUB, LOCATION))


async def _ubuntu(catalog: Catalog) -> ImageDetail:
    ref = NodeRef(SourceKind.MARKETPLACE, ("Canonical", "ubuntu-24_04-lts", "server"))
    versions = await catalog.children(CatalogNode(ref, NodeKind.SKU, "server"))
    return await catalog.detail(versions[0])


async def captured_without_deprovisioning(session: AzureSession, catalog: Catalog) -> ImageDetail:
    """A managed image of a VM that was marked generalized but never ran waagent -deprovision:
    the image says Generalized, its disk is the old machine."""
    compute: Any = session.compute(SUB)
    await (await compute.virtual_machines.begin_deallocate(RG_VMS, VM_LINUX)).result()
    await compute.virtual_machines.generalize(RG_VMS, VM_LINUX)
    vm = await compute.virtual_machines.get(RG_VMS, VM_LINUX)
    body = {"location": LOCATION, "properties": {
        "sourceVirtualMachine": {"id": vm.id}, "hyperVGeneration": "V2"}}
    await (await compute.images.begin_create_or_update(RG_VMS, "img-not-generalized", body)
           ).result()
    return await catalog.detail(CatalogNode(
        NodeRef(SourceKind.MANAGED, (RG_VMS, "img-not-generalized")), NodeKind.IMAGE,
        "img-not-generalized", is_image=True))


async def mbr_disk_registered_as_gen2(
    server: SandboxServer, session: AzureSession, catalog: Catalog
) -> ImageDetail:
    """A managed image made from a VHD blob whose disk boots with BIOS (an MBR partition table,
    no EFI system partition) but registered as Gen2: the classic upload mistake."""
    url = server.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", "legacy-bios.vhd")
    blob = BlobClient.from_blob_url(url)
    blob.create_page_blob(MIB + 512)
    sector = bytearray(512)
    sector[446] = 0x80  # active
    sector[446 + 4] = 0x83  # a Linux partition
    sector[510:512] = b"\x55\xaa"
    blob.upload_page(bytes(sector), offset=0, length=512)
    blob.close()
    compute: Any = session.compute(SUB)
    body = {"location": LOCATION, "properties": {"hyperVGeneration": "V2", "storageProfile": {
        "osDisk": {"osType": "Linux", "osState": "Generalized", "blobUri": url.split("?")[0]}}}}

    await (await compute.images.begin_create_or_update(RG_VMS, "img-bios-as-gen2", body)
           ).result()
    return await catalog.detail(CatalogNode(
        NodeRef(SourceKind.MANAGED, (RG_VMS, "img-bios-as-gen2")), NodeKind.IMAGE,
        "img-bios-as-gen2", is_image=True))


def _request(detail: ImageDetail) -> VmRequest:
    needs = image_needs(detail)
    return VmRequest(
        needs=needs,
        mode=Mode.TEST_BOOT,
        name=TEST_BOOT_VM,
        resource_group=throwaway_group(needs),
        new_resource_group=True,
        location=LOCATION,
        size="Standard_D2s_v5",
        ssh_public_key=KEY,
        security_type=needs.security_types[0],
    )


async def _groups(session: AzureSession) -> list[str]:
    return [str(g.name) async for g in session.resources(SUB).resource_groups.list()]


async def _boot(
    session: AzureSession, detail: ImageDetail
) -> tuple[VmCreateExecutor, list[StepEvent], list[str]]:
    pieces: list[str] = []
    executor = VmCreateExecutor(session, SUB, _request(detail), poll_seconds=0.05,
                                on_serial=pieces.append)
    events = [event async for event in executor.run()]
    return executor, events, pieces


@pytest.mark.asyncio
async def test_a_good_image_boots_and_leaves_nothing_behind(
    session: AzureSession, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    before = await _groups(session)
    executor, events, pieces = await _boot(session, await _ubuntu(catalog))
    assert executor.verdict is not None and executor.verdict.outcome is Outcome.PASSED
    ended = {e.key: e.state for e in events if e.state.ended}
    assert ended == dict.fromkeys(
        ("check", "resource-group", "network", "create-vm", "provision", "verdict", "cleanup"),
        StepState.DONE)
    # the log was read while it grew, each piece only once
    assert len(pieces) > 3
    assert "".join(pieces) == executor.serial_log
    assert executor.serial_log.count("Linux version") == 1
    assert "Provisioning complete" in executor.serial_log
    assert sorted(await _groups(session)) == sorted(before)
    assert "sig=" not in caplog.text  # the serial log's SAS never reaches a log line


@pytest.mark.asyncio
async def test_an_image_that_was_not_generalized_fails_with_the_cause(
    session: AzureSession, catalog: Catalog
) -> None:
    detail = await captured_without_deprovisioning(session, catalog)
    assert str(detail.os_state) == "Generalized"  # what Azure believes
    before = await _groups(session)
    executor, events, _ = await _boot(session, detail)
    verdict = executor.verdict
    assert verdict is not None and verdict.outcome is Outcome.NOT_GENERALIZED
    assert "OSProvisioningTimedOut" not in verdict.cause and "generalized" in verdict.cause
    assert "waagent -deprovision+user" in verdict.advice
    assert "did not finish in the allotted time" in verdict.detail
    ended = {e.key: e for e in events if e.state.ended}
    assert ended["provision"].state is StepState.FAILED
    assert "OSProvisioningTimedOut" in str(ended["provision"].message)
    assert ended["verdict"].state is StepState.FAILED
    assert ended["cleanup"].state is StepState.DONE
    assert "Provisioning already completed" in executor.serial_log
    assert sorted(await _groups(session)) == sorted(before)


@pytest.mark.asyncio
async def test_a_bios_disk_registered_as_gen2_fails_with_the_generation(
    fresh_sandbox: SandboxServer, session: AzureSession, catalog: Catalog
) -> None:
    detail = await mbr_disk_registered_as_gen2(fresh_sandbox, session, catalog)
    assert "V2" in detail.hyper_v_generation
    before = await _groups(session)
    executor, _, _ = await _boot(session, detail)
    verdict = executor.verdict
    assert verdict is not None and verdict.outcome is Outcome.WRONG_GENERATION
    assert "no bootable device" in verdict.cause and "Gen1 for an MBR disk" in verdict.advice
    assert "No bootable device" in executor.serial_log
    assert sorted(await _groups(session)) == sorted(before)


@pytest.mark.asyncio
async def test_a_cancelled_test_boot_still_deletes_its_group(
    session: AzureSession, catalog: Catalog
) -> None:
    before = await _groups(session)
    cleanup: list[StepEvent] = []
    executor = VmCreateExecutor(session, SUB, _request(await _ubuntu(catalog)),
                                poll_seconds=0.05, on_cleanup=cleanup.append)
    seen: list[str] = []

    async def consume() -> None:
        async for event in executor.run():
            seen.append(event.key)

    task = asyncio.ensure_future(consume())
    while "provision" not in seen:
        await asyncio.sleep(0.05)
    assert executor.request.resource_group in await _groups(session)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert cleanup and cleanup[-1].state is StepState.DONE
    assert executor.verdict is not None and executor.verdict.outcome is Outcome.CANCELLED
    assert sorted(await _groups(session)) == sorted(before)


@pytest.mark.asyncio
async def test_a_refused_test_boot_made_nothing_and_deletes_nothing(
    session: AzureSession, catalog: Catalog
) -> None:
    request = _request(await _ubuntu(catalog))
    from dataclasses import replace

    executor = VmCreateExecutor(session, SUB, replace(request, size="Standard_A2_v2"))
    events = [event async for event in executor.run()]
    ended = {e.key: e.state for e in events if e.state.ended}
    assert ended["check"] is StepState.FAILED
    assert ended["cleanup"] is StepState.SKIPPED
    assert executor.verdict is not None and executor.verdict.outcome is Outcome.REFUSED


def test_the_verdict_reads_the_cause_from_the_serial_log() -> None:
    no_boot = "Hyper-V UEFI Release v4.1\nBoot Failed. SCSI Disk (0,0)\nNo bootable device\n"
    assert judge(provisioning_code="OSProvisioningTimedOut", provisioning_message="",
                 agent_ready=False, serial_log=no_boot, specialized=False
                 ).outcome is Outcome.WRONG_GENERATION
    bios = "Booting from Hard Disk...\nNo bootable device -- insert boot disk and press any key"
    assert judge(provisioning_code="OSProvisioningTimedOut", provisioning_message="",
                 agent_ready=False, serial_log=bios, specialized=False
                 ).outcome is Outcome.WRONG_GENERATION
    no_agent = "[ 6.8] systemd[1]: Started OpenSSH server.\n\nlocalhost login: "
    assert judge(provisioning_code="OSProvisioningTimedOut", provisioning_message="",
                 agent_ready=False, serial_log=no_agent, specialized=False
                 ).outcome is Outcome.NO_AGENT
    # running and provisioned (a specialized image), but the agent never said Ready
    assert judge(provisioning_code="succeeded", provisioning_message="", agent_ready=False,
                 serial_log="", specialized=True).outcome is Outcome.NO_AGENT
    # a specialized disk deployed as generalized
    assert judge(provisioning_code="OSProvisioningTimedOut", provisioning_message="",
                 agent_ready=False, serial_log="", specialized=True
                 ).outcome is Outcome.NOT_GENERALIZED
    assert judge(provisioning_code="succeeded", provisioning_message="", agent_ready=True,
                 serial_log="", specialized=False).passed


@pytest.mark.asyncio
async def test_a_windows_image_boots_with_a_password_that_stays_in_memory(
    session: AzureSession, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    from dataclasses import replace

    from gui.azure.vm_create.request import Secret

    caplog.set_level(logging.DEBUG)
    ref = NodeRef(SourceKind.MARKETPLACE,
                  ("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-g2"))
    versions = await catalog.children(CatalogNode(ref, NodeKind.SKU, "2022-datacenter-g2"))
    request = replace(_request(await catalog.detail(versions[0])), ssh_public_key="",
                      password=Secret("Correct-Horse-42"))
    assert "Correct-Horse-42" not in repr(request)
    pieces: list[str] = []
    executor = VmCreateExecutor(session, SUB, request, poll_seconds=0.05,
                                on_serial=pieces.append)
    [event async for event in executor.run()]
    assert executor.verdict is not None and executor.verdict.passed
    assert "SAC started and initialized" in executor.serial_log
    assert "Correct-Horse-42" not in caplog.text


def test_the_sdk_models_a_vm_answer_needs_are_built_before_azure_answers() -> None:
    """warm_models builds, on the caller's (worker) thread, the field maps every model class
    of a VM and its instance view builds on first use, so the answers that arrive later on
    the GUI loop do not pay for them (a fresh interpreter: other tests warm the classes)."""
    import subprocess
    import sys

    probe = (
        "from azure.mgmt.compute import models\n"
        "from gui.azure.vm_create.executor import warm_models\n"
        "names = ('VirtualMachine', 'StorageProfile', 'OSDisk', 'OSProfile', "
        "'LinuxConfiguration', 'SshPublicKey', 'VirtualMachineInstanceView', "
        "'VirtualMachineAgentInstanceView', 'InstanceViewStatus')\n"
        "def built():\n"
        "    return {n for n in names\n"
        "            if f'{models.__name__}._models.{n}' in models.VirtualMachine._calculated}\n"
        "before = built()\n"
        "warm_models({'location': 'westeurope', 'properties': {\n"
        "    'storageProfile': {'osDisk': {'createOption': 'FromImage'}},\n"
        "    'osProfile': {'computerName': 'vm', 'adminUsername': 'u', 'linuxConfiguration':\n"
        "        {'ssh': {'publicKeys': [{'path': '/p', 'keyData': 'k'}]}}}}})\n"
        "print(sorted(before), sorted(set(names) - built()))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[] []", out.stdout + out.stderr

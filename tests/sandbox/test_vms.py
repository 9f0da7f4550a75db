"""Virtual machines in the sandbox, through the real SDK over HTTP: instance view, Run Command
that generalizes the guest, deallocate, generalize, snapshots, images and versions from a VM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.sandbox import SandboxServer
from gui.sandbox.seed import vms as seeded
from tests.sandbox.helpers import fast_compute, image_from_vm_body

pytestmark = pytest.mark.asyncio
RG = seeded.RG_VMS


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    async with fast_compute(fresh_sandbox, replication_seconds=0.2) as c:
        yield c


async def _power(client: ComputeManagementClient, name: str) -> str:
    view = await client.virtual_machines.instance_view(RG, name)
    codes = [s.code or "" for s in view.statuses or []]
    return next(c.split("/", 1)[1] for c in codes if c.startswith("PowerState/"))


async def _wait_power(client: ComputeManagementClient, name: str, wanted: str) -> None:
    for _ in range(100):
        if await _power(client, name) == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never became {wanted}")


async def test_vms_listed_with_instance_view_and_disks(client: ComputeManagementClient) -> None:
    vms = {vm.name: vm async for vm in client.virtual_machines.list_all()}
    assert {seeded.VM_LINUX, seeded.VM_WINDOWS, seeded.VM_TRUSTED_LAUNCH} <= set(vms)
    windows = vms[seeded.VM_WINDOWS]
    assert windows.storage_profile.os_disk.os_type == "Windows"
    assert [d.lun for d in windows.storage_profile.data_disks] == [0, 1]
    assert [d.disk_size_gb for d in windows.storage_profile.data_disks] == [128, 256]
    assert vms[seeded.VM_TRUSTED_LAUNCH].security_profile.security_type == "TrustedLaunch"
    got = await client.virtual_machines.get(RG, seeded.VM_ARM64, expand="instanceView")
    assert any(s.code == "PowerState/deallocated" for s in got.instance_view.statuses)
    assert await _power(client, seeded.VM_GEN1) == "stopped"
    os_disk = await client.disks.get(RG, windows.storage_profile.os_disk.name)
    assert os_disk.managed_by == windows.id
    assert os_disk.disk_state == "Attached"


async def test_generalize_refused_while_running(client: ComputeManagementClient) -> None:
    with pytest.raises(HttpResponseError) as caught:
        await client.virtual_machines.generalize(RG, seeded.VM_LINUX)
    assert caught.value.status_code == 409
    assert "Operation 'generalize' is not allowed since the VM is running" in str(caught.value)


async def test_run_command_generalizes_and_stops_guest(
    client: ComputeManagementClient, fresh_sandbox: SandboxServer
) -> None:
    # The guest stops 3 x lro_seconds after the command ends; 0.05 s (0.15 s) is shorter than one
    # poll round trip on a loaded machine, so give it long enough to be seen running first.
    fresh_sandbox.lro_seconds = 0.4
    poller = await client.virtual_machines.begin_run_command(
        RG,
        seeded.VM_LINUX,
        {
            "commandId": "RunShellScript",
            "script": ["waagent -deprovision+user -force", "shutdown -h now"],
        },
    )
    result = await poller.result()
    assert result.value is not None
    assert "user account will be deleted" in (result.value[0].message or "")
    assert await _power(client, seeded.VM_LINUX) == "running"  # the guest takes a moment
    await _wait_power(client, seeded.VM_LINUX, "stopped")
    deallocate = await client.virtual_machines.begin_deallocate(RG, seeded.VM_LINUX)
    assert await _power(client, seeded.VM_LINUX) == "deallocating"
    await deallocate.result()
    assert await _power(client, seeded.VM_LINUX) == "deallocated"
    await client.virtual_machines.generalize(RG, seeded.VM_LINUX)
    view = await client.virtual_machines.instance_view(RG, seeded.VM_LINUX)
    assert any(s.code == "OSState/generalized" for s in view.statuses or [])
    with pytest.raises(HttpResponseError, match="since the VM is generalized"):
        await (await client.virtual_machines.begin_start(RG, seeded.VM_LINUX)).result()


async def test_run_command_needs_running_vm_and_matching_os(
    client: ComputeManagementClient,
) -> None:
    with pytest.raises(HttpResponseError, match="requires the VM to be running"):
        await client.virtual_machines.begin_run_command(
            RG, seeded.VM_ARM64, {"commandId": "RunShellScript", "script": ["true"]}
        )
    with pytest.raises(HttpResponseError, match="not supported for the OS type 'Windows'"):
        await client.virtual_machines.begin_run_command(
            RG, seeded.VM_WINDOWS, {"commandId": "RunShellScript", "script": ["true"]}
        )


async def test_snapshot_of_vm_disk(client: ComputeManagementClient) -> None:
    vm = await client.virtual_machines.get(RG, seeded.VM_WINDOWS)
    disk_id = vm.storage_profile.data_disks[1].managed_disk.id
    poller = await client.snapshots.begin_create_or_update(
        RG,
        "snap-lun1",
        {
            "location": "westeurope",
            "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": disk_id}},
        },
    )
    snapshot = await poller.result()
    assert snapshot.disk_size_gb == 256
    assert snapshot.provisioning_state == "Succeeded"
    os_poller = await client.snapshots.begin_create_or_update(
        RG,
        "snap-os",
        {
            "location": "westeurope",
            "properties": {
                "creationData": {
                    "createOption": "Copy",
                    "sourceResourceId": vm.storage_profile.os_disk.managed_disk.id,
                }
            },
        },
    )
    os_snapshot = await os_poller.result()
    assert os_snapshot.os_type == "Windows"
    assert os_snapshot.hyper_v_generation == "V2"
    names = [str(s.name) async for s in client.snapshots.list_by_resource_group(RG)]
    assert sorted(names) == ["snap-lun1", "snap-os"]


async def _generalize(client: ComputeManagementClient, name: str) -> None:
    await (await client.virtual_machines.begin_deallocate(RG, name)).result()
    await client.virtual_machines.generalize(RG, name)


async def test_managed_image_from_vm_carries_data_disks(client: ComputeManagementClient) -> None:
    body = image_from_vm_body((await client.virtual_machines.get(RG, seeded.VM_WINDOWS)).id)
    with pytest.raises(HttpResponseError, match="must be generalized"):
        await (await client.virtual_machines.begin_deallocate(RG, seeded.VM_WINDOWS)).result()
        await client.images.begin_create_or_update(RG, "img-win", body)
    await client.virtual_machines.generalize(RG, seeded.VM_WINDOWS)
    image = await (await client.images.begin_create_or_update(RG, "img-win", body)).result()
    assert image.storage_profile.os_disk.os_state == "Generalized"
    assert [(d.lun, d.disk_size_gb) for d in image.storage_profile.data_disks] == [
        (0, 128),
        (1, 256),
    ]


async def test_managed_image_refuses_trusted_launch(client: ComputeManagementClient) -> None:
    await _generalize(client, seeded.VM_TRUSTED_LAUNCH)
    vm = await client.virtual_machines.get(RG, seeded.VM_TRUSTED_LAUNCH)
    with pytest.raises(HttpResponseError, match="Managed images do not support 'TrustedLaunch'"):
        await client.images.begin_create_or_update(
            RG,
            "img-tl",
            image_from_vm_body(vm.id),
        )


async def test_delete_vm_keeps_disks(client: ComputeManagementClient) -> None:
    vm = await client.virtual_machines.get(RG, seeded.VM_GEN1)
    await (await client.virtual_machines.begin_delete(RG, seeded.VM_GEN1)).result()
    names = [v.name async for v in client.virtual_machines.list(RG)]
    assert seeded.VM_GEN1 not in names
    disk = await client.disks.get(RG, vm.storage_profile.os_disk.name)
    assert disk.disk_state == "Unattached"
    assert disk.managed_by is None

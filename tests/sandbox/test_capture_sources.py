"""Capture flows end to end through the aio SDK: a Linux VM into a gallery definition, a Windows
VM with data disks into a managed image (after snapshots), and the refusals on the way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.sandbox import SandboxServer
from gui.sandbox.seed import vms as seeded_vms
from gui.sandbox.seed import world as seeded
from tests.sandbox.helpers import (
    create_definition,
    definition_body,
    error_code,
    error_message,
    fast_compute,
    image_from_vm_body,
    refused_version,
    version_body,
)

pytestmark = pytest.mark.asyncio
RG = seeded_vms.RG_VMS


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    async with fast_compute(fresh_sandbox, replication_seconds=0.05) as c:
        yield c


def _power(view: object) -> str:
    statuses = getattr(view, "statuses", None) or []
    return next(str(s.code) for s in statuses if s.code.startswith("PowerState/"))


async def _wait_power(client: ComputeManagementClient, name: str, wanted: str) -> None:
    for _ in range(100):
        if _power(await client.virtual_machines.instance_view(RG, name)) == wanted:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} never reached {wanted}")


async def test_seeded_vms_with_instance_view(client: ComputeManagementClient) -> None:
    vms = {vm.name: vm async for vm in client.virtual_machines.list_all()}
    assert {
        seeded_vms.VM_LINUX,
        seeded_vms.VM_WINDOWS,
        seeded_vms.VM_TRUSTED_LAUNCH,
        seeded_vms.VM_ARM64,
    } <= set(vms)
    windows = await client.virtual_machines.get(RG, seeded_vms.VM_WINDOWS, expand="instanceView")
    assert windows.storage_profile.os_disk.os_type == "Windows"
    assert [d.lun for d in windows.storage_profile.data_disks] == [0, 1]
    assert windows.os_profile.admin_username == "contosoadmin"
    assert _power(windows.instance_view) == "PowerState/running"
    trusted = vms[seeded_vms.VM_TRUSTED_LAUNCH]
    assert trusted.security_profile.security_type == "TrustedLaunch"
    arm = await client.virtual_machines.instance_view(RG, seeded_vms.VM_ARM64)
    assert _power(arm) == "PowerState/deallocated"


async def test_generalize_is_refused_while_the_vm_runs(client: ComputeManagementClient) -> None:
    with pytest.raises(HttpResponseError) as info:
        await client.virtual_machines.generalize(RG, seeded_vms.VM_LINUX)
    assert error_code(info.value) == "OperationNotAllowed"
    assert "Operation 'generalize' is not allowed since the VM is running" in (
        error_message(info.value)
    )


async def test_run_command_must_match_the_os(client: ComputeManagementClient) -> None:
    with pytest.raises(HttpResponseError) as info:
        await client.virtual_machines.begin_run_command(
            RG, seeded_vms.VM_LINUX, {"commandId": "RunPowerShellScript", "script": ["dir"]}
        )
    assert error_code(info.value) == "OperationNotAllowed"


async def test_linux_vm_into_a_new_gallery_definition(client: ComputeManagementClient) -> None:
    name = seeded_vms.VM_LINUX
    result = await (
        await client.virtual_machines.begin_run_command(
            RG,
            name,
            {
                "commandId": "RunShellScript",
                "script": ["sudo waagent -deprovision+user -force", "sudo shutdown -h now"],
            },
        )
    ).result()
    assert result.value is not None
    assert "Enable succeeded" in (result.value[0].message or "")
    await _wait_power(client, name, "PowerState/stopped")
    await (await client.virtual_machines.begin_deallocate(RG, name)).result()
    assert _power(await client.virtual_machines.instance_view(RG, name)) == "PowerState/deallocated"
    await client.virtual_machines.generalize(RG, name)
    view = await client.virtual_machines.instance_view(RG, name)
    assert "OSState/generalized" in [s.code for s in view.statuses or []]

    vm = await client.virtual_machines.get(RG, name)
    await create_definition(
        client,
        seeded.RG_GALLERY,
        seeded.GALLERY_PROD,
        "ubuntu-web",
        definition_body(("Contoso", "web", "22.04")),
    )
    version = await (
        await client.gallery_image_versions.begin_create_or_update(
            seeded.RG_GALLERY,
            seeded.GALLERY_PROD,
            "ubuntu-web",
            "1.0.0",
            version_body(vm.id),
        )
    ).result()
    assert version.provisioning_state == "Succeeded"
    assert version.storage_profile.os_disk_image.size_in_gb == 30
    assert version.storage_profile.data_disk_images == []

    # A generalized VM can never start again.
    with pytest.raises(HttpResponseError) as info:
        await client.virtual_machines.begin_start(RG, name)
    assert error_code(info.value) == "OperationNotAllowed"


async def test_windows_vm_with_data_disks_into_a_managed_image(
    client: ComputeManagementClient,
) -> None:
    name = seeded_vms.VM_WINDOWS
    vm = await client.virtual_machines.get(RG, name)
    disks = [vm.storage_profile.os_disk, *vm.storage_profile.data_disks]
    for index, disk in enumerate(disks):
        snapshot = await (
            await client.snapshots.begin_create_or_update(
                RG,
                f"backup-{index}",
                {
                    "location": "westeurope",
                    "properties": {
                        "creationData": {
                            "createOption": "Copy",
                            "sourceResourceId": disk.managed_disk.id,
                        }
                    },
                },
            )
        ).result()
        assert snapshot.disk_size_gb == disk.disk_size_gb
    await (
        await client.virtual_machines.begin_run_command(
            RG,
            name,
            {
                "commandId": "RunPowerShellScript",
                "script": [
                    r"& $env:SystemRoot\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown"
                ],
            },
        )
    ).result()
    await _wait_power(client, name, "PowerState/stopped")
    await (await client.virtual_machines.begin_deallocate(RG, name)).result()
    await client.virtual_machines.generalize(RG, name)
    image = await (
        await client.images.begin_create_or_update(
            RG,
            "img-ws2022-app",
            image_from_vm_body(vm.id),
        )
    ).result()
    profile = image.storage_profile
    assert profile.os_disk.os_type == "Windows"
    assert profile.os_disk.os_state == "Generalized"
    assert [(d.lun, d.disk_size_gb) for d in profile.data_disks] == [(0, 128), (1, 256)]
    assert image.source_virtual_machine.id == vm.id


async def _refused_image(client: ComputeManagementClient, image: str, vm_id: str | None) -> str:
    """The error message ARM gives when capturing the VM into a managed image is refused."""
    with pytest.raises(HttpResponseError) as info:
        await client.images.begin_create_or_update(RG, image, image_from_vm_body(vm_id))
    return error_message(info.value)


async def _refused_version(
    client: ComputeManagementClient, definition: str, version: str, vm_id: str | None
) -> str:
    """The error message ARM gives when capturing the VM into a prod-gallery version is refused."""
    return await refused_version(
        client, seeded.RG_GALLERY, seeded.GALLERY_PROD, definition, version, version_body(vm_id)
    )


async def test_capture_mismatches_are_refused_with_azure_reasons(
    client: ComputeManagementClient,
) -> None:
    trusted = await client.virtual_machines.get(RG, seeded_vms.VM_TRUSTED_LAUNCH)
    assert "TrustedLaunch" in await _refused_image(client, "img-tl", trusted.id)

    arm = await client.virtual_machines.get(RG, seeded_vms.VM_ARM64)
    assert "Arm64" in await _refused_image(client, "img-arm", arm.id)

    # The ARM64 VM is deallocated but not generalized: a generalized definition refuses it.
    refusal = await _refused_version(client, seeded.GALLERY_IMAGE_ARM64, "2.0.0", arm.id)
    assert "different OS state" in refusal

    # A Standard-security definition refuses a TrustedLaunch VM.
    await create_definition(
        client,
        seeded.RG_GALLERY,
        seeded.GALLERY_PROD,
        "ubuntu-spec",
        definition_body(("Contoso", "spec", "1"), os_state="Specialized"),
    )
    refusal = await _refused_version(client, "ubuntu-spec", "1.0.0", trusted.id)
    assert "security type 'TrustedLaunch'" in refusal

"""Fields and shapes the sandbox answers as Microsoft's examples show them, read through the SDK
clients the app uses over HTTP: storage accounts' service endpoints (StorageAccountList.json), a
disk made from an image naming it (Disk_Get.json), a VM's instance view
(VirtualMachine_Get_InstanceView.json), Run Command output per command (VirtualMachineRunCommand
.json), and images that take their source's Hyper-V generation when the request names none
(Image_CreateFromAVM.json, Image_CreateFromAManagedDisk.json)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import pytest_asyncio
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.session import sandbox_session
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB
from gui.sandbox.seed import vms as seeded
from gui.sandbox.seed import world
from tests.sandbox.helpers import LOCATION, empty_disk_body, fast_compute, managed

pytestmark = pytest.mark.asyncio
RG = seeded.RG_VMS


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    async with fast_compute(fresh_sandbox, replication_seconds=0.05) as c:
        yield c


async def test_storage_accounts_list_every_service_endpoint(sandbox: SandboxServer) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        accounts = [a.as_dict() async for a in session.storage(SUB).storage_accounts.list()]
    finally:
        await session.close()
    (account,) = accounts
    endpoints = account["properties"]["primaryEndpoints"]
    assert set(endpoints) == {"web", "dfs", "blob", "file", "queue", "table"}
    assert endpoints["blob"] == f"{sandbox.blob_url}/{world.STORAGE_ACCOUNT_PROD}/"
    assert len(set(endpoints.values())) == 6


async def test_a_disk_made_from_an_image_names_it(client: ComputeManagementClient) -> None:
    vm = await client.virtual_machines.get(RG, seeded.VM_LINUX)
    os_disk = (await client.disks.get(RG, vm.storage_profile.os_disk.name)).as_dict()
    image = vm.storage_profile.image_reference
    creation = os_disk["properties"]["creationData"]
    assert creation["createOption"] == "FromImage"
    assert creation["imageReference"]["id"].endswith(
        f"/Publishers/{image.publisher}/ArtifactTypes/VMImage/Offers/{image.offer}"
        f"/Skus/{image.sku}/Versions/{image.exact_version}"
    )


async def test_instance_view_has_os_version_and_agent_status_time(
    client: ComputeManagementClient,
) -> None:
    view = (await client.virtual_machines.instance_view(RG, seeded.VM_WINDOWS)).as_dict()
    assert view["osVersion"] == "Microsoft Windows NT 10.0.20348.0"
    (status,) = view["vmAgent"]["statuses"]
    assert datetime.fromisoformat(status["time"].replace("Z", "+00:00")).tzinfo is not None
    linux = (await client.virtual_machines.instance_view(RG, seeded.VM_LINUX)).as_dict()
    assert linux["osVersion"] == "22.04"


async def test_run_command_output_has_the_commands_own_shape(
    client: ComputeManagementClient,
) -> None:
    windows = await (
        await client.virtual_machines.begin_run_command(
            RG, seeded.VM_WINDOWS, {"commandId": "RunPowerShellScript", "script": ["hostname"]}
        )
    ).result()
    assert [(s.code, s.level, s.message) for s in windows.value or []] == [
        ("ComponentStatus/StdOut/succeeded", "Info", ""),
        ("ComponentStatus/StdErr/succeeded", "Info", ""),
    ]
    linux = await (
        await client.virtual_machines.begin_run_command(
            RG, seeded.VM_LINUX, {"commandId": "RunShellScript", "script": ["hostname"]}
        )
    ).result()
    assert [(s.code, s.message) for s in linux.value or []] == [
        ("ProvisioningState/succeeded", "Enable succeeded: \n[stdout]\n\n[stderr]\n")
    ]


async def test_a_refused_sysprep_shows_on_the_error_stream_and_leaves_the_guest(
    client: ComputeManagementClient, fresh_sandbox: SandboxServer
) -> None:
    script = [
        r"Start-Process -FilePath 'C:\Windows\System32\Sysprep\sysprep.exe' "
        "-ArgumentList '/generalize','/oobe','/shutdown','/mode:vm','/quiet'"
    ]
    result = await (
        await client.virtual_machines.begin_run_command(
            RG,
            seeded.VM_SYSPREP_BLOCKED,
            {"commandId": "RunPowerShellScript", "script": script},
        )
    ).result()
    out, err = result.value or []
    assert (out.code, out.message) == ("ComponentStatus/StdOut/succeeded", "")
    assert err.code == "ComponentStatus/StdErr/succeeded"
    assert "blocked by group policy" in (err.message or "")
    vm = fresh_sandbox.world.store.get(
        world.compute_id(SUB, RG, "virtualMachines", seeded.VM_SYSPREP_BLOCKED)
    )
    assert vm is not None and vm["_guest"]["deprovisioned"] is False


async def test_images_take_the_generation_of_their_source(client: ComputeManagementClient) -> None:
    disk = await (
        await client.disks.begin_create_or_update(RG, "gen2-empty", empty_disk_body(4))
    ).result()
    from_disk = await (
        await client.images.begin_create_or_update(
            RG,
            "img-gen2-disk",
            {
                "location": LOCATION,
                "properties": {
                    "storageProfile": {
                        "osDisk": {"osType": "Linux", "osState": "Generalized", **managed(disk.id)}
                    }
                },
            },
        )
    ).result()
    assert from_disk.hyper_v_generation == "V2"
    name = seeded.VM_LINUX
    await (await client.virtual_machines.begin_deallocate(RG, name)).result()
    await client.virtual_machines.generalize(RG, name)
    vm = await client.virtual_machines.get(RG, name)
    from_vm = await (
        await client.images.begin_create_or_update(
            RG,
            "img-gen2-vm",
            {"location": LOCATION, "properties": {"sourceVirtualMachine": {"id": vm.id}}},
        )
    ).result()
    assert from_vm.hyper_v_generation == "V2"

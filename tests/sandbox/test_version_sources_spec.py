"""Gallery image versions from the sources the current spec names, in the request shapes of
Microsoft's examples (GalleryImageVersion_Create_WithVmAsSource.json, _WithVHD.json), through the
SDK over HTTP: the sandbox takes them and answers with the fields the examples show."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.storage.blob import BlobClient

from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID as SUB
from gui.sandbox.seed import vms as seeded_vms
from gui.sandbox.seed import world as seeded
from tests.sandbox.helpers import (
    create_definition,
    definition_body,
    error_code,
    error_target,
    fast_compute,
)

pytestmark = pytest.mark.asyncio
Json = dict[str, Any]
GALLERY_RG, GALLERY = seeded.RG_GALLERY, seeded.GALLERY_PROD
ACCOUNT = seeded.STORAGE_ACCOUNT_PROD
ACCOUNT_ID = (
    f"/subscriptions/{SUB}/resourceGroups/{seeded.RG_IMAGES}"
    f"/providers/Microsoft.Storage/storageAccounts/{ACCOUNT}"
)


@pytest_asyncio.fixture
async def client(fresh_sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    async with fast_compute(fresh_sandbox, replication_seconds=0.05) as c:
        yield c


def _vm_id(name: str) -> str:
    return seeded.compute_id(SUB, seeded_vms.RG_VMS, "virtualMachines", name)


def _version(storage_profile: Json) -> Json:
    """A version's PUT body shaped as the official examples: per-region excludeFromLatest and
    both safety flags."""
    return {
        "location": "West Europe",
        "properties": {
            "publishingProfile": {
                "targetRegions": [
                    {"name": "West Europe", "regionalReplicaCount": 1, "excludeFromLatest": False},
                    {
                        "name": "North Europe",
                        "regionalReplicaCount": 2,
                        "storageAccountType": "Standard_ZRS",
                        "excludeFromLatest": True,
                    },
                ]
            },
            "storageProfile": storage_profile,
            "safetyProfile": {
                "allowDeletionOfReplicatedLocations": False,
                "blockDeletionBeforeEndOfLife": False,
            },
        },
    }


async def _create(client: ComputeManagementClient, definition: str, name: str, body: Json) -> Json:
    poller = await client.gallery_image_versions.begin_create_or_update(
        GALLERY_RG, GALLERY, definition, name, body
    )
    return dict((await poller.result()).as_dict())


async def _windows_definition(client: ComputeManagementClient, name: str) -> None:
    await create_definition(
        client,
        GALLERY_RG,
        GALLERY,
        name,
        definition_body(("Contoso", name, "2022"), os_type="Windows", os_state="Specialized"),
    )


async def test_vm_capture_with_virtual_machine_id_as_the_spec_says(
    client: ComputeManagementClient,
) -> None:
    await _windows_definition(client, "ws2022-app")
    vm_id = _vm_id(seeded_vms.VM_WINDOWS)
    created = await _create(
        client, "ws2022-app", "1.0.0", _version({"source": {"virtualMachineId": vm_id}})
    )
    props = created["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["storageProfile"]["source"] == {"virtualMachineId": vm_id}
    assert [d["lun"] for d in props["storageProfile"]["dataDiskImages"]] == [0, 1]
    regions = props["publishingProfile"]["targetRegions"]
    assert [(r["name"], r["excludeFromLatest"]) for r in regions] == [
        ("West Europe", False),
        ("North Europe", True),
    ]
    assert regions[1]["storageAccountType"] == "Standard_ZRS"
    assert props["safetyProfile"] == {
        "allowDeletionOfReplicatedLocations": False,
        "reportedForPolicyViolation": False,
        "blockDeletionBeforeEndOfLife": False,
    }


async def test_vm_capture_with_the_older_source_id_still_taken(
    client: ComputeManagementClient,
) -> None:
    # Azure still takes source.id naming a VM; the version shows the source as it was given.
    await _windows_definition(client, "ws2022-old")
    vm_id = _vm_id(seeded_vms.VM_WINDOWS)
    created = await _create(client, "ws2022-old", "1.0.0", _version({"source": {"id": vm_id}}))
    assert created["properties"]["storageProfile"]["source"] == {"id": vm_id}


async def _vhd(sandbox: SandboxServer, blob: str, size: int = 2 * 1024**3 + 512) -> str:
    url = sandbox.blob_sas_url(ACCOUNT, "vhds", blob)
    BlobClient.from_blob_url(url).create_page_blob(size)
    return url.split("?")[0]


async def test_version_from_a_vhd_with_uri_and_storage_account_id(
    client: ComputeManagementClient, fresh_sandbox: SandboxServer
) -> None:
    await create_definition(
        client, GALLERY_RG, GALLERY, "from-vhd", definition_body(("Contoso", "vhd", "1"))
    )
    os_uri = await _vhd(fresh_sandbox, "os.vhd")
    data_uri = await _vhd(fresh_sandbox, "data.vhd", 4 * 1024**3 + 512)
    profile = {
        "osDiskImage": {
            "source": {"storageAccountId": ACCOUNT_ID, "uri": os_uri},
            "hostCaching": "ReadOnly",
        },
        "dataDiskImages": [
            {
                "source": {"storageAccountId": ACCOUNT_ID, "uri": data_uri},
                "lun": 1,
                "hostCaching": "None",
            }
        ],
    }
    created = await _create(client, "from-vhd", "1.0.0", _version(profile))
    storage = created["properties"]["storageProfile"]
    assert storage["osDiskImage"] == {
        "sizeInGB": 2,
        "hostCaching": "ReadOnly",
        "source": {"uri": os_uri, "storageAccountId": ACCOUNT_ID},
    }
    assert storage["dataDiskImages"] == [
        {
            "lun": 1,
            "sizeInGB": 4,
            "hostCaching": "None",
            "source": {"uri": data_uri, "storageAccountId": ACCOUNT_ID},
        }
    ]


async def test_a_vhd_needs_the_storage_account_that_holds_it(
    client: ComputeManagementClient, fresh_sandbox: SandboxServer
) -> None:
    await create_definition(
        client, GALLERY_RG, GALLERY, "from-vhd", definition_body(("Contoso", "vhd", "1"))
    )
    uri = await _vhd(fresh_sandbox, "os.vhd")
    other = ACCOUNT_ID.replace(ACCOUNT, "somebodyelse")
    cases = [
        ({"uri": uri}, 400, "InvalidParameter"),
        ({"uri": uri, "storageAccountId": other}, 404, "NotFound"),
    ]
    for source, status, code in cases:
        with pytest.raises(HttpResponseError) as info:
            await client.gallery_image_versions.begin_create_or_update(
                GALLERY_RG,
                GALLERY,
                "from-vhd",
                "1.0.0",
                _version({"osDiskImage": {"source": source}}),
            )
        assert (info.value.status_code, error_code(info.value)) == (status, code)
        assert error_target(info.value) == (
            "properties.storageProfile.osDiskImage.source.storageAccountId"
        )

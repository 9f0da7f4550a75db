"""The blob-listing half of "VHDs in storage accounts" against Azurite (the real blob service's
emulator): only page blobs are listed, a leased one (a VM's or a disk's) says "in use", its
detail shows the lease and Content-MD5, and a listing SAS without list permission is refused
with the one error model's permission error, its signature nowhere in the message."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import (
    BlobClient,
    ContainerSasPermissions,
    ContentSettings,
    generate_container_sas,
)

from gui.azure.catalog.nodes import NodeKind, NodeRef, SourceKind
from gui.azure.catalog.storage_blobs import blob_nodes, detail_of, list_page_blobs
from gui.azure.errors import PermissionDeniedError
from gui.azure.upload.storage import StorageAccount
from gui.i18n import english
from tests.fixtures.azurite import Azurite

pytestmark = pytest.mark.asyncio
MIB = 1024 * 1024


def _container_url(azurite: Azurite, container: str, permission: str = "rl") -> str:
    sas = generate_container_sas(
        account_name=azurite.account_name, container_name=container,
        account_key=azurite.account_key,
        permission=ContainerSasPermissions.from_string(permission),
        expiry=datetime.now(UTC) + timedelta(minutes=10))
    return f"{azurite.blob_endpoint}/{container}?{sas}"


async def test_only_page_blobs_are_listed_and_a_leased_one_is_in_use(
    azurite: Azurite, azurite_container: str
) -> None:
    def client(name: str) -> BlobClient:
        return BlobClient.from_blob_url(azurite.blob_sas_url(azurite_container, name))

    client("readme.txt").upload_blob(b"a block blob, not a disk")
    data = bytes(range(256)) * (MIB // 256)
    md5 = hashlib.md5(data).digest()
    leased = client("vm1-osdisk.vhd")
    leased.create_page_blob(MIB, content_settings=ContentSettings(content_md5=bytearray(md5)))
    leased.upload_page(data, offset=0, length=MIB)
    leased.acquire_lease()  # what a running unmanaged VM holds on its disk
    client("Spare.vhd").create_page_blob(2 * MIB)

    blobs = await list_page_blobs(_container_url(azurite, azurite_container))
    ref = NodeRef(SourceKind.STORAGE, ("rg", azurite.account_name, azurite_container))
    nodes = blob_nodes(ref, blobs)
    assert [n.label for n in nodes] == ["Spare.vhd", "vm1-osdisk.vhd"]
    assert all(n.kind is NodeKind.BLOB and n.is_image for n in nodes)
    assert english(nodes[0].summary).startswith("2.0 MiB · modified ")
    assert not english(nodes[0].summary).endswith("in use")
    assert english(nodes[1].summary).endswith(" · in use")

    account = StorageAccount("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/"
                             f"storageAccounts/{azurite.account_name}", azurite.account_name,
                             "rg", "westeurope", f"{azurite.blob_endpoint}/")
    detail = detail_of(nodes[1].ref, account, azurite_container, blobs[1])
    rows = dict(detail.properties)
    assert english(rows["Lease"]) == "Leased: in use by a VM or a disk"
    assert rows["Content-MD5"] == base64.b64encode(md5).decode()
    assert rows["Blob URL"] == f"{azurite.blob_endpoint}/{azurite_container}/vm1-osdisk.vhd"
    assert english(rows["Size"]) == f"1.0 MiB ({MIB} bytes)"


async def test_a_sas_without_list_permission_is_a_permission_error(
    azurite: Azurite, azurite_container: str
) -> None:
    url = _container_url(azurite, azurite_container, permission="r")
    with pytest.raises(PermissionDeniedError) as caught:
        await list_page_blobs(url)
    signature = url.split("sig=")[1].split("&")[0]
    assert signature not in caught.value.user_text()

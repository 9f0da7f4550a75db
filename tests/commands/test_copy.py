"""``azure-image-studio copy SOURCE --to TARGET`` against the sandbox over real HTTP: each kind of
copy, its --json document, its exit codes (0 done, 2 usage, 3 sign-in/permission, 4 not found),
and no data byte through the command."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobClient

from gui.cli import main as cli_main
from gui.sandbox import SandboxServer
from gui.sandbox.seed import (
    PARTNER_SUBSCRIPTION_ID,
    PARTNER_TENANT_ID,
    PRODUCTION_SUBSCRIPTION_ID,
)
from gui.sandbox.seed import world as seeded
from gui.sandbox.seed.world import STORAGE_ACCOUNT_DEVTEST, STORAGE_ACCOUNT_PROD

MIB = 1024 * 1024
COMPUTE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute"
SOURCE_VERSION = (
    COMPUTE.format(sub=PRODUCTION_SUBSCRIPTION_ID, rg=seeded.RG_GALLERY)
    + f"/galleries/{seeded.GALLERY_PROD}/images/{seeded.GALLERY_IMAGE_SECURE}/versions/1.1.0"
)
PARTNER_DEFINITION = (
    COMPUTE.format(sub=PARTNER_SUBSCRIPTION_ID, rg=seeded.RG_PARTNER)
    + f"/galleries/{seeded.GALLERY_PARTNER}/images/{seeded.PARTNER_IMAGE_UBUNTU}"
)


@pytest.fixture
def server(fresh_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.3
    fresh_sandbox.world.blobs.copy_seconds = 0.3
    yield fresh_sandbox


def _copy(
    capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any], str]:
    code = cli_main(["copy", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_a_gallery_version_into_another_tenant(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = _copy(
        capsys, SOURCE_VERSION, "--to", PARTNER_DEFINITION, "--tenant", PARTNER_TENANT_ID,
        "--sandbox", server.arm_url,
    )
    assert code == 0, err
    assert doc["kind"] == "gallery"
    assert doc["result"] == f"{PARTNER_DEFINITION}/versions/1.1.0"
    assert [s["state"] for s in doc["steps"]] == ["Done", "Done", "Done"]
    assert "[done] Replicate to northeurope" in err
    stored = server.world.store.get(doc["result"])
    assert stored is not None
    assert stored["properties"]["storageProfile"]["source"]["id"] == SOURCE_VERSION


def test_without_tenant_the_partner_subscription_is_a_sign_in_failure(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = _copy(
        capsys, SOURCE_VERSION, "--to", PARTNER_DEFINITION, "--sandbox", server.arm_url
    )
    assert code == 3
    assert doc["exit_code"] == 3
    assert doc["failed_step"] == "check"
    assert "InvalidAuthenticationTokenTenant" in doc["error"]["message"]
    assert "InvalidAuthenticationTokenTenant" in err


def test_a_gallery_copy_in_a_sandbox_of_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli_main([
        "copy", SOURCE_VERSION, "--to", f"{PARTNER_DEFINITION}/versions/9.0.0",
        "--tenant", PARTNER_TENANT_ID, "--sandbox",
    ])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.strip().endswith(f"copied: {PARTNER_DEFINITION}/versions/9.0.0")
    assert "[done] Check " in out


def test_a_snapshot_into_another_region(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from gui.azure.account.session import sandbox_session

    rg, group_id = "rg-copy-cmd", f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}"

    async def make() -> str:
        session = sandbox_session(server.arm_url)
        try:
            await session.resources(PRODUCTION_SUBSCRIPTION_ID).resource_groups.create_or_update(
                rg, {"location": "westeurope"}
            )
            compute: Any = session.compute(PRODUCTION_SUBSCRIPTION_ID)
            disk = await (await compute.disks.begin_create_or_update(rg, "d", {
                "location": "westeurope",
                "properties": {"diskSizeGB": 4, "creationData": {"createOption": "Empty"}},
            })).result()
            snap = await (await compute.snapshots.begin_create_or_update(rg, "s", {
                "location": "westeurope",
                "properties": {"creationData": {"createOption": "Copy",
                                                "sourceResourceId": disk.id},
                               "incremental": True},
            })).result()
            return str(snap.id)
        finally:
            await session.close()

    snapshot_id = asyncio.run(make())
    assert snapshot_id.startswith(group_id)
    code, doc, err = _copy(
        capsys, snapshot_id, "--to", "eastus", "--name", "s-eus", "--sandbox", server.arm_url
    )
    assert code == 0, err
    where = f"/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots/s-eus"
    assert doc["result"].endswith(where)
    copied = server.world.store.get(doc["result"])
    assert copied is not None and copied["location"] == "eastus"
    assert copied["properties"]["creationData"]["createOption"] == "CopyStart"


def test_a_page_blob_into_another_account_moves_no_bytes_through_the_command(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    source = BlobClient.from_blob_url(server.blob_sas_url(STORAGE_ACCOUNT_PROD, "vhds", "c.vhd"))
    source.create_page_blob(2 * MIB + 512)
    data = os.urandom(64 * 1024)
    source.upload_page(data, offset=MIB, length=len(data))
    traffic = server.world.blobs.traffic
    before = (traffic.sent, traffic.received)
    code, doc, err = _copy(
        capsys,
        f"{server.blob_url}/{STORAGE_ACCOUNT_PROD}/vhds/c.vhd",
        "--to", f"{server.blob_url}/{STORAGE_ACCOUNT_DEVTEST}/vhds",
        "--sandbox", server.arm_url,
    )
    assert code == 0, err
    assert (traffic.sent, traffic.received) == before
    assert doc["result"] == f"{server.blob_url}/{STORAGE_ACCOUNT_DEVTEST}/vhds/c.vhd"
    assert "sig=" not in json.dumps(doc) and "sig=" not in err
    target = BlobClient.from_blob_url(server.blob_sas_url(STORAGE_ACCOUNT_DEVTEST, "vhds", "c.vhd"))
    assert target.download_blob(offset=MIB, length=len(data)).readall() == data


def test_a_missing_source_is_not_found(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    group = COMPUTE.format(sub=PRODUCTION_SUBSCRIPTION_ID, rg=seeded.RG_IMAGES)
    missing = f"{group}/snapshots/nope"
    code, doc, _ = _copy(capsys, missing, "--to", "eastus", "--sandbox", server.arm_url)
    assert code == 4
    assert doc["error"]["type"] == "NotFoundError"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["/subscriptions/x/whatever", "--to", "eastus"], "SOURCE is not"),
        ([SOURCE_VERSION, "--to", "eastus"], "target image definition"),
        ([COMPUTE.format(sub="s", rg="r") + "/snapshots/a", "--to", "East US!"], "region"),
        ([SOURCE_VERSION, "--to", PARTNER_DEFINITION, "--tenant", "fabrikam"], "--tenant"),
        ([SOURCE_VERSION, "--to", PARTNER_DEFINITION, "--regions", "westeurope=0"], "replicas"),
        (["https://acct.blob.core.windows.net/c", "--to", "https://b.blob.core.windows.net/c"],
         "names a container"),
    ],
)
def test_bad_arguments_are_usage_errors(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["copy", *args, "--json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert json.loads(out)["error"]["type"] == "UsageError"
    assert says in err
    assert "Traceback" not in err


def test_help_defines_the_targets_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli_main(["copy", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for needed in ("galleries/G2/images/DEF2", "northeurope", "CONTAINER2", "exit status",
                   "--tenant", "incremental"):
        assert needed in text

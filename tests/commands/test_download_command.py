"""``azure-image-studio download``: every outcome's exit code and output, a SAS URL from standard
input (never an argument), a resource ID on the sandbox, a gallery version on a sandbox of its
own (``--sandbox``)."""

from __future__ import annotations

import io
import json
import os
import random
import uuid
from pathlib import Path

import pytest

from gui.commands.download import main
from gui.diskimage.writers.vhd import fixed_footer
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_IMAGE_SECURE, GALLERY_PROD, RG_BUILD, RG_GALLERY
from tests.fixtures.azurite import Azurite

MIB = 1024 * 1024
DISK = 24 * MIB  # disks take 20 MiB at least


def page_blob(azurite: Azurite, content: bytes) -> tuple[str, str]:
    """A page blob holding ``content`` and a VHD footer: its read SAS URL and its name."""
    from azure.storage.blob import BlobClient

    container = azurite.create_container()
    name = f"{uuid.uuid4().hex[:8]}.vhd"
    with BlobClient.from_connection_string(azurite.connection_string, container, name) as blob:
        blob.create_page_blob(len(content) + 512)
        for at in range(0, len(content), MIB):
            part = content[at : at + MIB]
            if part.count(0) != len(part):
                blob.upload_page(part, offset=at, length=len(part))
        blob.upload_page(fixed_footer(len(content), uuid.uuid4(), 0), offset=len(content),
                         length=512)
    return azurite.blob_sas_url(container, name, permission="r"), name


def content(seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytearray(DISK)
    data[2 * MIB : 5 * MIB] = rng.randbytes(3 * MIB)
    data[11 * MIB : 11 * MIB + 4096] = rng.randbytes(4096)
    return bytes(data)


def run_with_stdin(monkeypatch: pytest.MonkeyPatch, text: str, *argv: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(text + "\n"))
    return main(list(argv))


@pytest.fixture(autouse=True)
def _journals_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_help_documents_formats_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for expected in ("vhd-dynamic", "raw", "exit status:", "130", "--lun", "--sandbox"):
        assert expected in text


def test_a_sas_url_from_stdin_downloads_and_prints_json(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = content(1)
    url, _ = page_blob(azurite, data)
    out = tmp_path / "disk.raw"
    code = run_with_stdin(monkeypatch, url, "-", str(out), "--format", "raw", "--json",
                          "--progress", "none")
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert document["virtual_size"] == DISK and document["format"] == "raw"
    assert document["bytes_fetched"] == document["allocated_bytes"] == 4 * MIB  # 1 MiB pages
    assert out.read_bytes() == data
    signature = url.split("sig=", 1)[1].split("&", 1)[0]
    assert signature not in captured.out + captured.err


def test_a_sas_url_from_the_environment(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = content(2)
    url, _ = page_blob(azurite, data)
    monkeypatch.setenv("DL_SAS", url)
    code = main(["-", str(tmp_path / "d.vhd"), "--source-env", "DL_SAS", "--progress", "none"])
    assert code == 0, capsys.readouterr().err
    assert "downloaded" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("source", "extra", "code", "words"),
    [
        ("not-a-source", [], 2, "neither a SAS URL nor a resource ID"),
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", [],
         2, "not a managed disk"),
        ("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", ["--lun", "1"],
         2, "LUN"),
        ("http://example.com/c/b.vhd?sig=SECRET", [], 2, "plain http"),
    ],
    ids=["garbage", "vm", "lun-on-disk", "plain-http"],
)
def test_bad_sources_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, extra: list[str], code: int,
    words: str,
) -> None:
    assert main([source, str(tmp_path / "x.vhd"), "--json", *extra]) == code
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert document["exit_code"] == code and words in document["error"]["message"]
    assert "SECRET" not in captured.out + captured.err


def test_an_existing_file_is_a_usage_error_and_a_refused_sas_an_auth_error(
    azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, name = page_blob(azurite, content(3))
    taken = tmp_path / "taken.vhd"
    taken.write_bytes(b"keep me")
    assert run_with_stdin(monkeypatch, url, "-", str(taken), "--progress", "none") == 2
    assert "already exists" in capsys.readouterr().err
    assert taken.read_bytes() == b"keep me"
    forged = url.replace("sig=", "sig=AAAA")
    assert run_with_stdin(monkeypatch, forged, "-", str(tmp_path / "a.vhd"),
                          "--progress", "none") == 3
    missing = url.replace(name, "missing.vhd")
    assert run_with_stdin(monkeypatch, missing, "-", str(tmp_path / "b.vhd"),
                          "--progress", "none") in (3, 4)


async def _disk_with(server: SandboxServer, name: str, data: bytes) -> str:
    from azure.mgmt.compute.models import (
        CreationData,
        Disk,
        DiskProperties,
        DiskSku,
        GrantAccessData,
    )
    from azure.storage.blob.aio import BlobClient

    from gui.azure.account.loopback import sandbox_compute_client

    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with compute:
        disk = Disk(location="westeurope", sku=DiskSku(name="Standard_LRS"),
                    properties=DiskProperties(creation_data=CreationData(
                        create_option="Upload", upload_size_bytes=len(data) + 512)))
        made = await (await compute.disks.begin_create_or_update(RG_BUILD, name, disk)).result()
        access = await (await compute.disks.begin_grant_access(
            RG_BUILD, name, GrantAccessData(access="Write", duration_in_seconds=600))).result()
        assert access.access_sas is not None
        async with BlobClient.from_blob_url(access.access_sas) as blob:
            for at in range(0, len(data), MIB // 2):
                part = data[at : at + MIB // 2]
                if part.count(0) != len(part):
                    await blob.upload_page(part, offset=at, length=len(part))
            await blob.upload_page(fixed_footer(len(data), uuid.uuid4(), 0), offset=len(data),
                                   length=512)
        await (await compute.disks.begin_revoke_access(RG_BUILD, name)).result()
        return str(made.id)


def test_a_managed_disk_on_a_running_sandbox_and_a_missing_one(
    sandbox: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    data = content(4)
    disk_id = asyncio.run(_disk_with(sandbox, f"cmd-dl-{uuid.uuid4().hex[:6]}", data))
    out = tmp_path / "disk.vhdd"
    code = main([disk_id, str(out), "--format", "vhd-dynamic", "--sandbox", sandbox.arm_url,
                 "--progress", "plain"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "step Granting read access: done" in captured.err
    assert "step Revoking read access: done" in captured.err
    stored = sandbox.world.store.get(disk_id)
    assert stored is not None and stored["properties"]["diskState"] == "Unattached"

    missing = disk_id.rsplit("/", 1)[0] + "/no-such-disk"
    assert main([missing, str(tmp_path / "m.vhd"), "--sandbox", sandbox.arm_url, "--json",
                 "--progress", "none"]) == 4
    assert json.loads(capsys.readouterr().out)["error"]["type"] == "NotFoundError"


def test_a_gallery_version_on_a_sandbox_of_its_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The seeded version's source holds no data: a sparse file of the version's size, read
    through a temporary disk that is gone afterwards."""
    version = (f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{RG_GALLERY}/"
               f"providers/Microsoft.Compute/galleries/{GALLERY_PROD}/images/"
               f"{GALLERY_IMAGE_SECURE}/versions/1.0.0")
    out = tmp_path / "version.vhd"
    code = main([version, str(out), "--sandbox", "--json", "--progress", "none"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert "ais-download-" in document["temporary_disk"]
    assert document["bytes_fetched"] <= 512
    assert os.stat(out).st_blocks * 512 < MIB  # the whole disk is a hole

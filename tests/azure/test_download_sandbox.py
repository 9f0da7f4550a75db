"""Downloads from the sandbox's Azure: a managed disk, a snapshot and a gallery image version (OS
disk and a data disk, through a temporary disk), each read back with qemu-img as the disk's
bytes; read access revoked and the temporary disk deleted after success, failure and cancel."""

from __future__ import annotations

import asyncio
import random
import subprocess
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gui.azure.account.loopback import sandbox_compute_client
from gui.azure.download.job import (
    AzureDownload,
    AzureDownloadResult,
    DownloadStep,
    NoSuchDataDiskError,
)
from gui.azure.download.source import InvalidDownloadSourceError, SourceKind, parse_source
from gui.diskimage.writers.vhd import fixed_footer
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_PROD, RG_BUILD, RG_GALLERY
from gui.transfer.download import DownloadCancelledError, DownloadOptions, OutputError
from gui.transfer.progress import ProgressSnapshot

MIB = 1024 * 1024
DISK = 24 * MIB
LOCATION = "westeurope"
QEMU_FORMAT = {"raw": "raw", "vhd": "vpc", "vhd-dynamic": "vpc", "vhdx": "vhdx"}
T = TypeVar("T")


def run(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(make())


def disk_bytes(seed: int) -> bytes:
    rng = random.Random(seed)
    data = bytearray(DISK)
    data[MIB : 6 * MIB + 512] = rng.randbytes(5 * MIB + 512)
    for _ in range(20):
        at = rng.randrange(8 * MIB, DISK - 64 * 1024) // 512 * 512
        data[at : at + 4096] = rng.randbytes(4096)
    return bytes(data)


async def make_disk(server: SandboxServer, name: str, content: bytes) -> str:
    """A managed disk holding ``content`` (uploaded as Azure's direct upload takes it)."""
    from azure.mgmt.compute.models import (
        CreationData,
        Disk,
        DiskProperties,
        DiskSku,
        GrantAccessData,
    )
    from azure.storage.blob.aio import BlobClient

    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with compute:
        disk = Disk(
            location=LOCATION,
            sku=DiskSku(name="Standard_LRS"),
            properties=DiskProperties(
                os_type="Linux",
                hyper_v_generation="V2",
                creation_data=CreationData(create_option="Upload",
                                           upload_size_bytes=len(content) + 512),
            ),
        )
        created = await (await compute.disks.begin_create_or_update(RG_BUILD, name, disk)).result()
        access = await (await compute.disks.begin_grant_access(
            RG_BUILD, name, GrantAccessData(access="Write", duration_in_seconds=600))).result()
        assert access.access_sas is not None
        async with BlobClient.from_blob_url(access.access_sas) as blob:
            # Below aiohttp's 1 MiB, past which it warns about a large body in one piece.
            for at in range(0, len(content), MIB // 2):
                part = content[at : at + MIB // 2]
                if part.count(0) != len(part):
                    await blob.upload_page(part, offset=at, length=len(part))
            footer = fixed_footer(len(content), uuid.uuid4(), 0)
            await blob.upload_page(footer, offset=len(content), length=512)
        await (await compute.disks.begin_revoke_access(RG_BUILD, name)).result()
        return str(created.id)


async def make_snapshot(server: SandboxServer, disk_id: str, name: str) -> str:
    from azure.mgmt.compute.models import CreationData, Snapshot, SnapshotProperties, SnapshotSku

    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with compute:
        snapshot = Snapshot(
            location=LOCATION,
            sku=SnapshotSku(name="Standard_LRS"),
            properties=SnapshotProperties(
                creation_data=CreationData(create_option="Copy", source_resource_id=disk_id)),
        )
        poller = await compute.snapshots.begin_create_or_update(RG_BUILD, name, snapshot)
        return str((await poller.result()).id)


async def make_version(server: SandboxServer, os_disk: str, data_disk: str, image: str) -> str:
    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with compute:
        definition: Any = {
            "location": LOCATION,
            "properties": {
                "osType": "Linux",
                "osState": "Generalized",
                "hyperVGeneration": "V2",
                "identifier": {"publisher": "contoso", "offer": image, "sku": "download"},
            },
        }
        await (await compute.gallery_images.begin_create_or_update(
            RG_GALLERY, GALLERY_PROD, image, definition)).result()
        version: Any = {
            "location": LOCATION,
            "properties": {
                "publishingProfile": {"targetRegions": [{"name": LOCATION}]},
                "storageProfile": {
                    "osDiskImage": {"source": {"id": os_disk}},
                    "dataDiskImages": [{"lun": 3, "source": {"id": data_disk}}],
                },
            },
        }
        poller = await compute.gallery_image_versions.begin_create_or_update(
            RG_GALLERY, GALLERY_PROD, image, "1.0.0", version)
        return str((await poller.result()).id)


async def state_of(server: SandboxServer, resource_id: str) -> str | None:
    from azure.core.exceptions import ResourceNotFoundError

    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    source = parse_source(resource_id)
    async with compute:
        ops: Any = compute.disks if source.kind is SourceKind.DISK else compute.snapshots
        try:
            found = await ops.get(source.resource_group, source.name)
        except ResourceNotFoundError:
            return None
        return str(getattr(found.disk_state, "value", found.disk_state))


def temporary_disks(server: SandboxServer) -> list[str]:
    return [
        r["name"] for r in server.world.store.all()
        if r["type"] == "Microsoft.Compute/disks" and r["name"].startswith("ais-download-")
    ]


def read_back(path: Path, fmt: str) -> bytes:
    out = path.with_suffix(".readback")
    subprocess.run(["qemu-img", "convert", "-q", "-f", QEMU_FORMAT[fmt], "-O", "raw",
                    str(path), str(out)], check=True)
    return out.read_bytes()


class Job:
    """An AzureDownload on a sandbox compute client that is closed when the run ends."""

    def __init__(self, server: SandboxServer, source: str, path: Path, fmt: str, *,
                 lun: int | None = None, options: DownloadOptions | None = None,
                 on_progress: Callable[[ProgressSnapshot], None] | None = None,
                 steps: list[DownloadStep] | None = None) -> None:
        self.server = server
        self.clients: list[Any] = []
        self.job = AzureDownload(
            self.client,
            parse_source(source, lun),
            path,
            fmt,
            options or DownloadOptions(journal_dir=path.parent / "journals"),
            on_progress=on_progress,
            on_step=steps.append if steps is not None else None,
        )

    def client(self, subscription: str) -> Any:
        made = sandbox_compute_client(self.server.arm_url, subscription)
        self.clients.append(made)
        return made

    def cancel(self) -> None:
        self.job.cancel()

    async def _run(self) -> AzureDownloadResult:
        try:
            return await self.job.run()
        finally:
            for made in self.clients:
                await made.close()

    def run(self) -> AzureDownloadResult:
        return asyncio.run(self._run())


def download(server: SandboxServer, source: str, path: Path, fmt: str, *, lun: int | None = None,
             options: DownloadOptions | None = None,
             on_progress: Callable[[ProgressSnapshot], None] | None = None,
             steps: list[DownloadStep] | None = None) -> Job:
    return Job(server, source, path, fmt, lun=lun, options=options, on_progress=on_progress,
               steps=steps)


@pytest.fixture(scope="module")
def world(sandbox: SandboxServer) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    os_content, data_content = disk_bytes(1), disk_bytes(2)
    os_disk = run(lambda: make_disk(sandbox, f"dl-os-{tag}", os_content))
    data_disk = run(lambda: make_disk(sandbox, f"dl-data-{tag}", data_content))
    snapshot = run(lambda: make_snapshot(sandbox, os_disk, f"dl-snap-{tag}"))
    version = run(lambda: make_version(sandbox, os_disk, data_disk, f"dl-{tag}"))
    return {"os": os_disk, "data": data_disk, "snapshot": snapshot, "version": version,
            "os_content": os_content, "data_content": data_content}


def test_a_managed_disk_downloads_and_its_access_is_revoked(
    sandbox: SandboxServer, world: dict[str, Any], tmp_path: Path
) -> None:
    steps: list[DownloadStep] = []
    job = download(sandbox, world["os"], tmp_path / "os.vhd", "vhd-dynamic", steps=steps)
    result = job.run()
    assert read_back(tmp_path / "os.vhd", "vhd-dynamic") == world["os_content"]
    assert result.transfer.virtual_size == DISK
    assert steps == [DownloadStep.GRANTING, DownloadStep.DOWNLOADING, DownloadStep.REVOKING,
                     DownloadStep.DONE]
    assert run(lambda: state_of(sandbox, world["os"])) == "Unattached"


def test_a_snapshot_downloads_and_its_access_is_revoked(
    sandbox: SandboxServer, world: dict[str, Any], tmp_path: Path
) -> None:
    download(sandbox, world["snapshot"], tmp_path / "snap.raw", "raw").run()
    assert (tmp_path / "snap.raw").read_bytes() == world["os_content"]
    assert run(lambda: state_of(sandbox, world["snapshot"])) == "Unattached"


@pytest.mark.parametrize(("lun", "key"), [(None, "os_content"), (3, "data_content")],
                         ids=["os-disk", "data-disk"])
def test_a_gallery_version_downloads_through_a_temporary_disk_then_deleted(
    sandbox: SandboxServer, world: dict[str, Any], tmp_path: Path, lun: int | None, key: str
) -> None:
    steps: list[DownloadStep] = []
    job = download(sandbox, world["version"], tmp_path / "v.vhd", "vhd", lun=lun, steps=steps)
    result = job.run()
    assert read_back(tmp_path / "v.vhd", "vhd") == world[key]
    assert result.temporary_disk is not None and "ais-download-" in result.temporary_disk
    assert steps[0] is DownloadStep.CREATING_DISK and DownloadStep.DELETING_DISK in steps
    assert temporary_disks(sandbox) == []


def test_a_missing_data_disk_is_refused_before_any_disk_is_made(
    sandbox: SandboxServer, world: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(NoSuchDataDiskError, match="LUN 7"):
        download(sandbox, world["version"], tmp_path / "x.vhd", "vhd", lun=7).run()
    assert temporary_disks(sandbox) == []


def test_access_is_revoked_and_the_temporary_disk_deleted_after_a_failure(
    sandbox: SandboxServer, world: dict[str, Any], tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    options = DownloadOptions(journal_dir=tmp_path / "journals")
    with pytest.raises(OutputError):
        download(sandbox, world["os"], blocker / "out.vhd", "vhd", options=options).run()
    assert run(lambda: state_of(sandbox, world["os"])) == "Unattached"
    with pytest.raises(OutputError):
        download(sandbox, world["version"], blocker / "out.vhd", "vhd", options=options).run()
    assert temporary_disks(sandbox) == []


@pytest.mark.parametrize("which", ["os", "snapshot", "version"])
def test_access_is_revoked_after_a_cancel_and_the_download_resumes(
    sandbox: SandboxServer, world: dict[str, Any], tmp_path: Path, which: str
) -> None:
    path = tmp_path / "cancelled.vhd"
    slow = DownloadOptions(journal_dir=tmp_path / "journals", concurrency=1, chunk_size=MIB,
                           progress_interval=0.01)

    def on_progress(snap: ProgressSnapshot) -> None:
        if snap.bytes_sent >= 2 * MIB:
            job.cancel()

    job = download(sandbox, world[which], path, "vhd", options=slow, on_progress=on_progress)
    with pytest.raises(DownloadCancelledError):
        job.run()
    if which == "version":
        assert temporary_disks(sandbox) == []
    else:
        assert run(lambda: state_of(sandbox, world[which])) == "Unattached"

    again = download(sandbox, world[which], path, "vhd",
                     options=DownloadOptions(journal_dir=tmp_path / "journals")).run()
    assert again.transfer.resumed and again.transfer.bytes_present >= 2 * MIB
    assert read_back(path, "vhd") == world["os_content"]


def test_sources_are_read_from_the_text_alone() -> None:
    disk = parse_source(
        "/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/disks/d1")
    assert (disk.kind, disk.resource_group, disk.name) == (SourceKind.DISK, "rg", "d1")
    version = parse_source("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
                           "galleries/g/images/i/versions/1.2.3", 2)
    assert (version.kind, version.gallery, version.image, version.name, version.lun) == (
        SourceKind.GALLERY_VERSION, "g", "i", "1.2.3", 2)
    sas = parse_source("https://acct.blob.core.windows.net/c/b.vhd?sv=1&sig=SECRET")
    assert sas.kind is SourceKind.SAS_URL and "SECRET" not in sas.display
    for bad in ("disk.vhd", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/"
                "virtualMachines/vm"):
        with pytest.raises(InvalidDownloadSourceError):
            parse_source(bad)
    with pytest.raises(InvalidDownloadSourceError, match="LUN"):
        parse_source("/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/d", 1)

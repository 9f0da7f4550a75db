"""A VM image from several disks, headless: an OS disk and data disks upload at the same time
through the runner against the sandbox, and the image (managed image or gallery version) holds
each data disk at its LUN; plans keep every disk's source and old single-disk plan files load."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gui.azure.image_builder import (
    DefinitionSpec,
    DiskFacts,
    GalleryVersionSpec,
    ManagedImageSpec,
)
from gui.azure.upload.job import (
    BlobTargetPlan,
    DataDiskPlan,
    JobStatus,
    ManagedDiskTargetPlan,
    PlanStore,
    UploadPlan,
    combine_snapshots,
)
from gui.azure.upload.managed_disk import ManagedDiskSpec, SasVault
from gui.azure.upload.runner import JobRun, UploadRunner
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from gui.transfer import ProgressSnapshot, UploadState
from tests.fixtures.disk_images import MIB, DiskImageFactory

T = TypeVar("T")
FACTS = DiskFacts("Linux", "Generalized", "V2", "x64")
SUB = PRODUCTION_SUBSCRIPTION_ID
ACCOUNT = "contosoimgstore"  # a seeded storage account of the production subscription


@pytest.fixture
def quick(fresh_sandbox: SandboxServer) -> SandboxServer:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.1
    return fresh_sandbox


def qcow2(path: Path, size: str, pattern: int) -> Path:
    """A qcow2 holding one MiB of ``pattern`` at its start (qemu-img and qemu-io make it)."""
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P {pattern} 0 1M", str(path)],
                   check=True, capture_output=True)
    return path


def managed(name: str, os_type: str | None = None) -> ManagedDiskTargetPlan:
    return ManagedDiskTargetPlan(
        SUB, ManagedDiskSpec(RG_IMAGES, name, "westeurope", os_type=os_type))


def gallery_version(version: str = "1.0.0") -> GalleryVersionSpec:
    return GalleryVersionSpec(
        resource_group=RG_IMAGES,
        gallery="gal_multi",
        create_gallery=True,
        definition=DefinitionSpec("multi-def", "Linux", "Generalized", "V2"),
        create_definition=True,
        version=version,
        location="westeurope",
    )


async def _with_session(server: SandboxServer, work: Callable[[Any], Awaitable[T]]) -> T:
    from gui.azure.account.session import sandbox_session

    session = sandbox_session(server.arm_url)
    try:
        return await work(session)
    finally:
        await session.close()


async def _run_plan(session: Any, plan: UploadPlan, store: PlanStore,
                    *, on_run: Callable[[JobRun], Awaitable[None]] | None = None) -> JobRun:
    runner = UploadRunner(store, SasVault.nowhere(), JobRun)
    runner.session = session
    snapshots: list[ProgressSnapshot] = []
    run = runner.submit(plan)
    run.change_listeners.append(lambda r: snapshots.append(r.snapshot) if r.snapshot else None)
    if on_run is not None:
        await on_run(run)
    await run.wait()
    run.seen_snapshots = snapshots  # type: ignore[attr-defined]  # for the test's eyes only
    return run


def run_plan(server: SandboxServer, plan: UploadPlan, tmp_path: Path,
             on_run: Callable[[JobRun], Awaitable[None]] | None = None) -> JobRun:
    return asyncio.run(_with_session(
        server, lambda session: _run_plan(session, plan, PlanStore(tmp_path), on_run=on_run)))


async def _get(server: SandboxServer, fetch: Callable[[Any], Awaitable[T]]) -> T:
    from gui.azure.account.loopback import sandbox_compute_client

    compute = sandbox_compute_client(server.arm_url, SUB)
    async with compute:
        return await fetch(compute)


def test_two_disks_upload_together_and_the_gallery_version_holds_the_data_disk_at_lun_0(
    quick: SandboxServer, tmp_path: Path
) -> None:
    os_disk = qcow2(tmp_path / "os.qcow2", "24M", 0x11)
    # An odd size, rounded up to a whole MiB (and at least Azure's 20 MiB for a disk upload).
    data_disk = qcow2(tmp_path / "data.qcow2", str(21 * MIB + 3 * 512), 0x22)
    plan = UploadPlan(
        source_path=str(os_disk),
        facts=FACTS,
        target=managed("multi-osdisk", "Linux"),
        data_disks=(DataDiskPlan(str(data_disk), 0, managed("multi-datadisk-0")),),
        follow_up=gallery_version(),
    )
    run = run_plan(quick, plan, tmp_path)
    assert run.status is JobStatus.COMPLETED, run.error
    # Every disk's steps, one data step for both, and each step as planned before it started.
    assert list(run.steps) != [] and set(run.steps) == {s.key for s in run.planned_steps}
    assert {key: event.state.value for key, event in run.steps.items()} == {
        "create-disk": "Done", "grant": "Done", "create-disk:lun0": "Done", "grant:lun0": "Done",
        "upload": "Done", "revoke": "Done", "revoke:lun0": "Done",
        "gallery": "Done", "definition": "Done", "version": "Done",
        "replicate:westeurope": "Done",
    }
    # One progress for the job: the snapshots count both disks' streams.
    both = (24 + 22) * MIB + 2 * 512
    snapshots = run.seen_snapshots  # type: ignore[attr-defined]
    assert snapshots and snapshots[-1].total_bytes == both
    assert run.result is not None and run.result.data_disk_ids

    version = asyncio.run(_get(quick, lambda compute: compute.gallery_image_versions.get(
        RG_IMAGES, "gal_multi", "multi-def", "1.0.0")))
    storage = version.storage_profile
    assert storage.os_disk_image.source.id.endswith("/disks/multi-osdisk")
    (data,) = storage.data_disk_images
    assert data.lun == 0
    assert data.source.id.endswith("/disks/multi-datadisk-0")
    assert data.source.id == run.result.data_disk_ids[0]
    assert data.size_in_gb == 1


def test_a_managed_image_with_a_data_disk_from_page_blobs_in_a_storage_account(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    os_disk = disk_images.make("raw", 8 * MIB, [(0, os.urandom(MIB))]).path
    data_disk = disk_images.make("vpc", 6 * MIB, "scattered", subformat="dynamic").path

    async def plan_with_sas(session: Any) -> UploadPlan:
        from gui.azure.upload.storage import blob_sas_url, list_storage_accounts

        accounts = await list_storage_accounts(session, SUB)
        account = next(a for a in accounts if a.name == ACCOUNT)

        async def target(blob: str) -> BlobTargetPlan:
            url = await blob_sas_url(session, SUB, account, "vhds", blob)
            return BlobTargetPlan.from_url(url, SUB, storage_account_id=account.id)

        return UploadPlan(
            source_path=str(os_disk),
            facts=FACTS,
            target=await target("multi/img-osdisk.vhd"),
            data_disks=(DataDiskPlan(str(data_disk), 3, await target("multi/img-datadisk-3.vhd")),),
            follow_up=ManagedImageSpec(RG_IMAGES, "img-with-data", "westeurope"),
        )

    plan = asyncio.run(_with_session(quick, plan_with_sas))
    run = run_plan(quick, plan, tmp_path)
    assert run.status is JobStatus.COMPLETED, run.error
    image = asyncio.run(_get(quick, lambda c: c.images.get(RG_IMAGES, "img-with-data")))
    profile = image.storage_profile
    assert profile.os_disk.blob_uri.endswith("/vhds/multi/img-osdisk.vhd")
    (data,) = profile.data_disks
    assert data.lun == 3 and data.blob_uri.endswith("/vhds/multi/img-datadisk-3.vhd")


def test_a_pasted_sas_url_gets_its_storage_account_before_any_byte_moves(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    os_disk = disk_images.make("raw", 4 * MIB, [(0, os.urandom(MIB))]).path

    async def pasted(session: Any) -> tuple[str, str]:
        from gui.azure.upload.storage import blob_sas_url, list_storage_accounts

        account = next(a for a in await list_storage_accounts(session, SUB) if a.name == ACCOUNT)
        return await blob_sas_url(session, SUB, account, "vhds", "pasted.vhd"), account.id

    url, account_id = asyncio.run(_with_session(quick, pasted))
    # As the target page makes it from a pasted URL: no storage account id.
    plan = UploadPlan(str(os_disk), FACTS, BlobTargetPlan.from_url(url, SUB),
                      follow_up=gallery_version())
    run = run_plan(quick, plan, tmp_path)
    assert run.status is JobStatus.COMPLETED, run.error
    assert isinstance(run.plan.target, BlobTargetPlan)
    assert run.plan.target.storage_account_id == account_id  # saved: a resume renews the SAS
    version = asyncio.run(_get(quick, lambda compute: compute.gallery_image_versions.get(
        RG_IMAGES, "gal_multi", "multi-def", "1.0.0")))
    assert version.storage_profile.os_disk_image.source.storage_account_id == account_id

    # A blob whose endpoint no account of the subscription has: refused before the upload.
    base, _, query = url.partition("?")
    elsewhere = base.replace(f"/{ACCOUNT}/", "/notouraccount/") + "?" + query
    plan = UploadPlan(str(os_disk), FACTS, BlobTargetPlan.from_url(elsewhere, SUB),
                      follow_up=gallery_version("1.0.1"))
    run = run_plan(quick, plan, tmp_path)
    assert run.status is JobStatus.FAILED
    assert "needs its storage account" in run.error and "Nothing was uploaded" in run.error
    assert "upload" not in run.steps  # not a byte moved
    assert "sig=" not in run.error


def test_a_failing_data_disk_stops_the_other_and_the_error_names_it(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    os_disk = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))]).path
    data_disk = disk_images.make("raw", 21 * MIB, [(0, os.urandom(MIB))]).path
    quick.faults.add(r"/disks/fail-datadisk-1$", status=409, code="OperationNotAllowed",
                     message="The disk quota of the region is used up.", method="PUT")
    plan = UploadPlan(
        source_path=str(os_disk),
        facts=FACTS,
        target=managed("fail-osdisk", "Linux"),
        data_disks=(DataDiskPlan(str(data_disk), 1, managed("fail-datadisk-1")),),
        follow_up=ManagedImageSpec(RG_IMAGES, "img-never", "westeurope"),
    )
    run = run_plan(quick, plan, tmp_path)
    assert run.status is JobStatus.FAILED
    assert "the data disk at LUN 1 (fail-datadisk-1" in run.error
    assert "disk quota of the region is used up" in run.error
    assert "image" not in run.steps  # nothing after the failure
    assert run.steps["create-disk:lun1"].state.value == "Failed"
    # The OS disk was stopped too and its access revoked: nothing is left open for writes.
    disk = asyncio.run(_get(quick, lambda c: c.disks.get(RG_IMAGES, "fail-osdisk")))
    assert "ActiveUpload" not in str(disk.disk_state)


def test_cancel_deletes_every_partial_disk_of_the_plan(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    os_disk = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))]).path
    data_disk = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))]).path
    plan = UploadPlan(
        source_path=str(os_disk),
        facts=FACTS,
        target=managed("gone-osdisk", "Linux"),
        data_disks=(DataDiskPlan(str(data_disk), 0, managed("gone-datadisk-0")),),
    )

    async def cancel_midway(run: JobRun) -> None:
        while not (run.snapshot is not None and run.snapshot.bytes_sent > 0):
            assert run.status.active, run.error
            await asyncio.sleep(0.02)
        run.cancel()

    quick.faults.latency = 0.1  # every request slow: the cancel lands mid-way
    run = run_plan(quick, plan, tmp_path, cancel_midway)
    quick.faults.latency = 0.0
    assert run.status is JobStatus.CANCELLED
    for name in ("gone-osdisk", "gone-datadisk-0"):

        def fetch(compute: Any, name: str = name) -> Awaitable[Any]:
            return compute.disks.get(RG_IMAGES, name)  # type: ignore[no-any-return]

        with pytest.raises(ResourceNotFoundError):
            asyncio.run(_get(quick, fetch))
    assert run.steps["drop-partial"].state.value == "Done"
    assert run.steps["drop-partial:lun0"].state.value == "Done"


def test_a_plan_keeps_every_disk_and_an_old_single_disk_plan_file_still_loads(
    tmp_path: Path
) -> None:
    plan = UploadPlan(
        source_path="/data/appliance.ova",
        facts=FACTS,
        target=managed("app-osdisk", "Linux"),
        disk_index=0,
        data_disks=(
            DataDiskPlan("/data/appliance.ova", 0, managed("app-datadisk-0"), disk_index=1),
            DataDiskPlan("/data/extra.qcow2", 5, BlobTargetPlan.from_url(
                "https://acct.blob.core.windows.net/vhds/extra.vhd?sv=1&sig=secret", SUB)),
        ),
        follow_up=gallery_version(),
    )
    store = PlanStore(tmp_path)
    store.save(plan)
    saved = (tmp_path / "plans" / f"{plan.plan_id}.json").read_text()
    assert "secret" not in saved  # no SAS in the file, for data disks neither
    (again,) = store.unfinished()
    assert [(d.source_path, d.disk_index, d.lun) for d in again.disks()] == [
        ("/data/appliance.ova", 0, None),
        ("/data/appliance.ova", 1, 0),
        ("/data/extra.qcow2", 0, 5),
    ]
    assert again.data_disks[0].target == managed("app-datadisk-0")

    # Written by the version before data disks: no disk_index, no data_disks.
    old = {
        "version": 1,
        "plan_id": "0123456789abcdef",
        "created": "2024-05-01T10:00:00+00:00",
        "source_path": "/data/web.vhd",
        "facts": {"os_type": "Linux", "os_state": "Generalized", "hyper_v_generation": "V2",
                  "architecture": "x64", "security_type": "Standard"},
        "target": {"kind": "managed-disk", "subscription_id": SUB,
                   "spec": {"resource_group": "rg", "name": "web-disk", "location": "westeurope",
                            "sku": "Standard_LRS", "os_type": "Linux",
                            "hyper_v_generation": "V2", "tags": None}},
        "follow_up": None,
        "md5": True,
        "status": "suspended",
        "last_error": "",
    }
    (tmp_path / "plans" / "0123456789abcdef.json").write_text(json.dumps(old))
    loaded = next(p for p in store.unfinished() if p.plan_id == "0123456789abcdef")
    assert loaded.status is JobStatus.INTERRUPTED
    assert [(d.source_path, d.disk_index, d.lun) for d in loaded.disks()] == [
        ("/data/web.vhd", 0, None)]
    assert loaded.data_disks == ()


def _snapshot(state: UploadState, total: int, sent: int, rate: float) -> ProgressSnapshot:
    return ProgressSnapshot(state, total, sent, 0, 0, rate, rate, None, 1.0, 8, 0, 0)


def test_the_disks_progress_is_one_progress() -> None:
    both = combine_snapshots([
        (_snapshot(UploadState.UPLOADING, 100, 50, 10.0), 100),
        (None, 300),  # not started yet: counts with nothing done
    ])
    assert both.total_bytes == 400 and both.bytes_sent == 50 and both.fraction == 0.125
    assert both.state is UploadState.UPLOADING and both.eta_seconds == 35.0
    paused = combine_snapshots([
        (_snapshot(UploadState.PAUSED, 100, 50, 0.0), 100),
        (_snapshot(UploadState.COMPLETED, 300, 300, 0.0), 300),
    ])
    assert paused.state is UploadState.PAUSED  # every disk still going is paused
    done = combine_snapshots([
        (_snapshot(UploadState.COMPLETED, 100, 100, 0.0), 100),
        (_snapshot(UploadState.FAILED, 300, 30, 0.0), 300),
    ])
    assert done.state is UploadState.FAILED

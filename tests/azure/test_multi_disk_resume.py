"""A multi-disk upload that stopped after some disks were finished resumes with the others only:
each disk's placement is saved as soon as its data is in Azure, a retry skips it (after a GET
shows it is still there), and the image holds every disk at its LUN. Against the sandbox over
real HTTP, with disk images made by qemu-img.

The first run is stopped by its data disk's source failing to read (as a USB disk pulled out
does) once the OS disk is done: the source is the real opened image, whose reads wait for the
OS disk's upload and then fail. The second run is the runner's resume of the saved plan."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gui.azure.image_builder import (
    DefinitionSpec,
    DiskFacts,
    DiskSource,
    GalleryVersionSpec,
    ManagedImageSpec,
)
from gui.azure.steps import StepState
from gui.azure.upload.job import (
    BlobTargetPlan,
    DataDiskPlan,
    DiskFailedError,
    JobStatus,
    ManagedDiskTargetPlan,
    PlacedDisk,
    PlanStore,
    UploadJob,
    UploadPlan,
    open_sources,
)
from gui.azure.upload.managed_disk import ManagedDiskSpec, SasVault
from gui.azure.upload.runner import JobRun, UploadRunner
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from gui.transfer.source import SourceRange
from tests.fixtures.disk_images import MIB, DiskImageFactory

T = TypeVar("T")
FACTS = DiskFacts("Linux", "Generalized", "V2", "x64")
SUB = PRODUCTION_SUBSCRIPTION_ID
ACCOUNT = "contosoimgstore"  # a seeded storage account of the production subscription
SKIPPED_TEXT = "is in Azure from an earlier run; nothing is sent again"


@pytest.fixture
def quick(fresh_sandbox: SandboxServer) -> SandboxServer:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.1
    return fresh_sandbox


class FailsAfterGate:
    """A real opened disk image whose reads wait until ``gate`` is set and then fail with EIO:
    the data disk's file became unreadable after the OS disk was uploaded."""

    def __init__(self, image: Any, gate: threading.Event) -> None:
        self.image = image
        self.gate = gate

    @property
    def path(self) -> Path:
        return self.image.path  # type: ignore[no-any-return]

    @property
    def source_files(self) -> tuple[Path, ...]:
        return self.image.source_files  # type: ignore[no-any-return]

    @property
    def upload_size(self) -> int:
        return self.image.upload_size  # type: ignore[no-any-return]

    @property
    def footer(self) -> bytes:
        return self.image.footer  # type: ignore[no-any-return]

    @property
    def disk_id(self) -> Any:
        return self.image.disk_id

    def data_ranges(self) -> Sequence[SourceRange]:
        return self.image.data_ranges()  # type: ignore[no-any-return]

    def readinto(self, offset: int, buf: bytearray | memoryview) -> int:
        self.gate.wait(timeout=30)
        raise OSError(errno.EIO, "Input/output error", str(self.image.path))


def managed(name: str, os_type: str | None = None) -> ManagedDiskTargetPlan:
    return ManagedDiskTargetPlan(
        SUB, ManagedDiskSpec(RG_IMAGES, name, "westeurope", os_type=os_type))


def gallery_version(version: str = "1.0.0") -> GalleryVersionSpec:
    return GalleryVersionSpec(
        resource_group=RG_IMAGES,
        gallery="gal_resume",
        create_gallery=True,
        definition=DefinitionSpec("resume-def", "Linux", "Generalized", "V2"),
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


async def _get(server: SandboxServer, fetch: Callable[[Any], Awaitable[T]]) -> T:
    from gui.azure.account.loopback import sandbox_compute_client

    compute = sandbox_compute_client(server.arm_url, SUB)
    async with compute:
        return await fetch(compute)


def first_run_fails_on_the_data_disk(server: SandboxServer, plan: UploadPlan,
                                     store: PlanStore) -> UploadJob:
    """The OS disk is uploaded, then the data disk's source fails: the job fails as the runner
    would record it (status and error in the plan file)."""

    async def work(session: Any) -> UploadJob:
        images = await asyncio.to_thread(open_sources, plan)
        gate = threading.Event()
        sources = [images[0], *(FailsAfterGate(image, gate) for image in images[1:])]

        def placed(plan: UploadPlan) -> None:
            store.save(plan)
            if plan.placement(None) is not None:  # the OS disk is in Azure, and saved so
                gate.set()

        job = UploadJob(session, plan, sources, vault=SasVault.nowhere(), on_placed=placed)
        try:
            with pytest.raises(DiskFailedError) as failed:
                async for _event in job.run():
                    pass
        finally:
            gate.set()
            for image in images:
                await asyncio.to_thread(image.close)
        plan.status, plan.last_error = JobStatus.FAILED, str(failed.value)
        store.save(plan)
        return job

    return asyncio.run(_with_session(server, work))


def resume_from_the_transfers_panel(
    server: SandboxServer, store: PlanStore, plan: UploadPlan | None = None,
    on_run: Callable[[JobRun], Awaitable[None]] | None = None,
) -> JobRun:
    """The runner's retry: of the plan file as a new start finds it, or of ``plan`` as it is in
    memory (a blob's SAS lives there only)."""

    async def work(session: Any) -> JobRun:
        runner = UploadRunner(store, SasVault.nowhere(), JobRun)
        runner.session = session
        if plan is not None:
            run = runner.submit(plan)
        else:
            (run,) = runner.load_unfinished()
            assert run.status is JobStatus.FAILED or run.status is JobStatus.INTERRUPTED
            runner.resume(run)
        if on_run is not None:
            await on_run(run)
        await run.wait()
        return run

    return asyncio.run(_with_session(server, work))


def received(server: SandboxServer) -> int:
    """Blob data the sandbox's blob endpoint has received from clients (every Put Page)."""
    return server.world.blobs.traffic.received


def disk_blob_etag(server: SandboxServer, disk_id: str) -> str:
    """The ETag of the page blob behind a managed disk: any page written changes it."""
    disk = server.world.store.get(disk_id)
    assert disk is not None, disk_id
    ref = disk["_blob"]
    return server.world.blobs.blob(ref["account"], ref["container"], ref["blob"]).etag


def test_a_retried_upload_skips_the_managed_disk_that_was_finished(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    os_disk = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))]).path
    data_disk = disk_images.make("vhdx", 21 * MIB, [(0, os.urandom(MIB))]).path
    plan = UploadPlan(
        source_path=str(os_disk),
        facts=FACTS,
        target=managed("resume-osdisk", "Linux"),
        data_disks=(DataDiskPlan(str(data_disk), 2, managed("resume-datadisk-2")),),
        follow_up=gallery_version(),
    )
    store = PlanStore(tmp_path / "transfers")
    first_run_fails_on_the_data_disk(quick, plan, store)

    # The OS disk's placement is in the plan file, the data disk's is not.
    saved = json.loads((store.directory / f"{plan.plan_id}.json").read_text())
    assert [entry["lun"] for entry in saved["placed"]] == [None]
    os_id = saved["placed"][0]["managed_disk_id"]
    assert os_id.endswith("/disks/resume-osdisk")
    os_disk_before = asyncio.run(_get(quick, lambda c: c.disks.get(RG_IMAGES, "resume-osdisk")))
    etag_before = disk_blob_etag(quick, os_id)
    sent_before = received(quick)

    run = resume_from_the_transfers_panel(quick, store)

    assert run.status is JobStatus.COMPLETED, run.error
    states = {key: event.state.value for key, event in run.steps.items()}
    assert states == {
        "create-disk": "Skipped", "grant": "Skipped", "revoke": "Skipped",
        # The data disk's partial upload was sealed when it failed (no keyring here): it
        # starts over.
        "drop-partial:lun2": "Done", "create-disk:lun2": "Done", "grant:lun2": "Done",
        "upload": "Done", "revoke:lun2": "Done",
        "gallery": "Done", "definition": "Done", "version": "Done",
        "replicate:westeurope": "Done",
    }
    assert SKIPPED_TEXT in run.steps["create-disk"].message
    # Not one byte of the OS disk again: its blob is untouched, the disk is the one made first,
    # and what the blob endpoint received is less than the OS disk's data (24 MiB of noise).
    assert disk_blob_etag(quick, os_id) == etag_before
    os_disk_after = asyncio.run(_get(quick, lambda c: c.disks.get(RG_IMAGES, "resume-osdisk")))
    assert os_disk_after.time_created == os_disk_before.time_created
    assert 0 < received(quick) - sent_before <= 2 * MIB
    assert run.result is not None and run.result.upload is None  # the OS disk was not sent
    assert run.result.disk_id == os_id
    # One progress of both disks: the OS disk's counts as there, so the job ends at 100 %.
    assert run.snapshot is not None and run.snapshot.fraction == 1.0
    assert run.snapshot.total_bytes == (24 + 21) * MIB + 2 * 512  # each with its VHD footer
    (data_id,) = run.result.data_disk_ids
    assert data_id.endswith("/disks/resume-datadisk-2")

    version = asyncio.run(_get(quick, lambda compute: compute.gallery_image_versions.get(
        RG_IMAGES, "gal_resume", "resume-def", "1.0.0")))
    storage = version.storage_profile
    assert storage.os_disk_image.source.id == os_id
    (data,) = storage.data_disk_images
    assert data.lun == 2 and data.source.id == data_id
    assert store.unfinished() == []  # completed: the plan file is gone


def test_a_placed_disk_deleted_meanwhile_is_uploaded_again(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    os_disk = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))]).path
    data_disk = disk_images.make("raw", 21 * MIB, [(0, os.urandom(MIB))]).path
    plan = UploadPlan(
        source_path=str(os_disk),
        facts=FACTS,
        target=managed("gone-osdisk", "Linux"),
        data_disks=(DataDiskPlan(str(data_disk), 0, managed("gone-datadisk-0")),),
        follow_up=ManagedImageSpec(RG_IMAGES, "img-after-delete", "westeurope"),
    )
    store = PlanStore(tmp_path / "transfers")
    first_run_fails_on_the_data_disk(quick, plan, store)

    async def delete(compute: Any) -> None:
        poller = await compute.disks.begin_delete(RG_IMAGES, "gone-osdisk")
        await poller.result()

    asyncio.run(_get(quick, delete))  # someone tidied up the resource group
    sent_before = received(quick)

    run = resume_from_the_transfers_panel(quick, store)

    assert run.status is JobStatus.COMPLETED, run.error
    assert run.steps["create-disk"].state is StepState.DONE  # made again, not used blindly
    assert run.steps["revoke"].state is StepState.DONE
    assert received(quick) - sent_before >= 24 * MIB  # the OS disk's data went again
    assert run.result is not None and run.result.upload is not None
    image = asyncio.run(_get(quick, lambda c: c.images.get(RG_IMAGES, "img-after-delete")))
    profile = image.storage_profile
    assert profile.os_disk.managed_disk.id.casefold() == str(run.result.disk_id).casefold()
    (data,) = profile.data_disks
    assert data.lun == 0 and data.managed_disk.id.endswith("/disks/gone-datadisk-0")


def test_a_retried_upload_skips_the_page_blob_that_was_finished(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    os_disk = disk_images.make("raw", 8 * MIB, [(0, os.urandom(8 * MIB))]).path
    data_disk = disk_images.make("vpc", 6 * MIB, [(0, os.urandom(MIB))],
                                 subformat="dynamic").path

    async def plan_with_sas(session: Any) -> UploadPlan:
        from gui.azure.upload.storage import blob_sas_url, list_storage_accounts

        account = next(a for a in await list_storage_accounts(session, SUB) if a.name == ACCOUNT)

        async def target(blob: str) -> BlobTargetPlan:
            url = await blob_sas_url(session, SUB, account, "vhds", blob)
            return BlobTargetPlan.from_url(url, SUB, storage_account_id=account.id)

        return UploadPlan(
            source_path=str(os_disk),
            facts=FACTS,
            target=await target("resume/img-osdisk.vhd"),
            data_disks=(DataDiskPlan(str(data_disk), 1,
                                     await target("resume/img-datadisk-1.vhd")),),
            follow_up=ManagedImageSpec(RG_IMAGES, "img-resumed", "westeurope"),
        )

    plan = asyncio.run(_with_session(quick, plan_with_sas))
    store = PlanStore(tmp_path / "transfers")
    first_run_fails_on_the_data_disk(quick, plan, store)
    assert [disk.lun for disk in plan.placed] == [None]
    os_blob = quick.world.blobs.blob(ACCOUNT, "vhds", "resume/img-osdisk.vhd")
    etag_before, sent_before = os_blob.etag, received(quick)

    run = resume_from_the_transfers_panel(quick, store, plan)  # the SAS is still in memory

    assert run.status is JobStatus.COMPLETED, run.error
    assert run.steps["upload"].state is StepState.DONE
    assert quick.world.blobs.blob(ACCOUNT, "vhds", "resume/img-osdisk.vhd").etag == etag_before
    assert received(quick) - sent_before <= 2 * MIB  # the data disk's one MiB, not the 8 MiB
    assert run.result is not None and run.result.upload is None
    image = asyncio.run(_get(quick, lambda c: c.images.get(RG_IMAGES, "img-resumed")))
    profile = image.storage_profile
    assert profile.os_disk.blob_uri.endswith("/vhds/resume/img-osdisk.vhd")
    (data,) = profile.data_disks
    assert data.lun == 1 and data.blob_uri.endswith("/vhds/resume/img-datadisk-1.vhd")


def in_place(plan: UploadPlan) -> bool:
    """``data_in_place`` read afresh (mypy would keep an asserted property narrowed)."""
    return plan.data_in_place


def test_cancelling_a_resumed_upload_deletes_its_disks_and_forgets_them(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    """Cancel (with Settings' "delete a cancelled upload's partial disk", the default) drops
    the whole upload: the disk an earlier run finished as well, and the plan forgets it."""
    from azure.core.exceptions import ResourceNotFoundError

    os_disk = disk_images.make("raw", 21 * MIB, [(0, os.urandom(MIB))]).path
    data_disk = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))]).path
    plan = UploadPlan(
        source_path=str(os_disk),
        facts=FACTS,
        target=managed("cancel-osdisk", "Linux"),
        data_disks=(DataDiskPlan(str(data_disk), 0, managed("cancel-datadisk-0")),),
    )
    store = PlanStore(tmp_path / "transfers")
    first_run_fails_on_the_data_disk(quick, plan, store)

    async def cancel_midway(run: JobRun) -> None:
        while not (run.snapshot is not None and run.snapshot.bytes_sent > 0):
            assert run.status.active, run.error
            await asyncio.sleep(0.02)
        run.cancel()

    quick.faults.latency = 0.1  # every request slow: the cancel lands mid-way
    run = resume_from_the_transfers_panel(quick, store, on_run=cancel_midway)
    quick.faults.latency = 0.0

    assert run.status is JobStatus.CANCELLED, run.error
    assert run.steps["create-disk"].state is StepState.SKIPPED
    assert run.steps["drop-partial"].state is StepState.DONE
    assert run.steps["drop-partial:lun0"].state is StepState.DONE
    for name in ("cancel-osdisk", "cancel-datadisk-0"):

        def fetch(compute: Any, name: str = name) -> Awaitable[Any]:
            return compute.disks.get(RG_IMAGES, name)  # type: ignore[no-any-return]

        with pytest.raises(ResourceNotFoundError):
            asyncio.run(_get(quick, fetch))
    (kept,) = store.unfinished()
    assert kept.placed == ()  # a resume uploads every disk again


def test_partial_placements_survive_the_plan_file_and_old_files_still_load(
    tmp_path: Path
) -> None:
    plan = UploadPlan(
        source_path="/data/appliance.ova",
        facts=FACTS,
        target=managed("app-osdisk", "Linux"),
        data_disks=(
            DataDiskPlan("/data/appliance.ova", 0, managed("app-datadisk-0"), disk_index=1),
            DataDiskPlan("/data/appliance.ova", 4, managed("app-datadisk-4"), disk_index=2),
        ),
        follow_up=gallery_version(),
    )
    disk = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/"
    # Placed as the legs finish: the data disk at LUN 4 first, then the OS disk.
    plan.place(PlacedDisk(4, DiskSource(managed_disk_id=disk + "app-datadisk-4")))
    plan.place(PlacedDisk(None, DiskSource(managed_disk_id=disk + "app-osdisk")))
    assert not in_place(plan)  # LUN 0 is still to upload
    store = PlanStore(tmp_path)
    store.save(plan)
    (again,) = store.unfinished()
    assert again.placed == plan.placed
    assert [d.lun for d in again.placed] == [None, 4]  # OS disk first, then by LUN
    assert not in_place(again)
    again.place(PlacedDisk(0, DiskSource(managed_disk_id=disk + "app-datadisk-0")))
    assert in_place(again) and [d.lun for d in again.placed] == [None, 0, 4]
    again.unplace(0)
    assert not in_place(again) and again.placement(0) is None

    # Version 3: placements only once every disk was uploaded; version 2: none at all.
    data = plan.to_json()
    data["version"] = 3
    data["placed"] = [
        {"lun": None, "managed_disk_id": disk + "app-osdisk"},
        {"lun": 0, "managed_disk_id": disk + "app-datadisk-0"},
        {"lun": 4, "managed_disk_id": disk + "app-datadisk-4"},
    ]
    assert UploadPlan.from_json(data).data_in_place
    data["version"] = 2
    del data["placed"]
    old = UploadPlan.from_json(data)
    assert old.placed == () and not old.data_in_place
    # A placement of a LUN the plan does not have (a file edited by hand) is not kept.
    data["placed"] = [{"lun": 9, "managed_disk_id": disk + "other"}]
    assert UploadPlan.from_json(data).placed == ()

"""A multi-disk upload to page blobs, failed and then resumed after a restart of the app: no
SAS was saved, so every blob target, the data disks' too, needs a new one from its account."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from gui.azure.image_builder import ManagedImageSpec
from gui.azure.upload.job import BlobTargetPlan, DataDiskPlan, JobStatus, PlanStore, UploadPlan
from gui.azure.upload.runner import JobRun
from gui.sandbox import SandboxServer
from gui.sandbox.seed.world import RG_IMAGES
from tests.azure.test_multi_disk_resume import (
    ACCOUNT,
    FACTS,
    SUB,
    _get,
    _with_session,
    first_run_fails_on_the_data_disk,
    quick,
    received,
    resume_from_the_transfers_panel,
)
from tests.fixtures.disk_images import MIB, DiskImageFactory

__all__ = ["quick"]  # a fixture, used by name


def test_a_restarted_job_signs_new_sas_for_every_blob_and_finishes(
    quick: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    os_disk = disk_images.make("raw", 8 * MIB, [(0, os.urandom(8 * MIB))]).path
    data_disk = disk_images.make("raw", 6 * MIB, [(0, os.urandom(2 * MIB))]).path

    async def plan_with_sas(session: Any) -> UploadPlan:
        from gui.azure.upload.storage import blob_sas_url, list_storage_accounts

        account = next(a for a in await list_storage_accounts(session, SUB) if a.name == ACCOUNT)

        async def target(blob: str) -> BlobTargetPlan:
            url = await blob_sas_url(session, SUB, account, "vhds", blob)
            return BlobTargetPlan.from_url(url, SUB, storage_account_id=account.id)

        return UploadPlan(
            source_path=str(os_disk),
            facts=FACTS,
            target=await target("restart/os.vhd"),
            data_disks=(DataDiskPlan(str(data_disk), 1, await target("restart/data-1.vhd")),),
            follow_up=ManagedImageSpec(RG_IMAGES, "img-after-restart", "westeurope"),
        )

    plan = asyncio.run(_with_session(quick, plan_with_sas))
    store = PlanStore(tmp_path / "transfers")
    first_run_fails_on_the_data_disk(quick, plan, store)
    saved = UploadPlan.from_json(plan.to_json())
    assert all(isinstance(d.target, BlobTargetPlan) and not d.target.sas_query
               for d in saved.disks())  # what a restarted app finds: no SAS at all
    sent_before = received(quick)

    async def resumed_after_restart(run: JobRun) -> None:
        # The runner asks the accounts for new SAS first and starts the job after that (or
        # says why it cannot: a new error instead of the first run's).
        first_error = run.error
        while run.task is None and run.error is first_error:
            await asyncio.sleep(0.02)

    # From the plan file, as after a restart.
    run = resume_from_the_transfers_panel(quick, store, on_run=resumed_after_restart)

    assert run.status is JobStatus.COMPLETED, run.error
    data = quick.world.blobs.blob(ACCOUNT, "vhds", "restart/data-1.vhd")
    assert data.size == 6 * MIB + 512
    assert received(quick) - sent_before <= 3 * MIB  # the data disk's 2 MiB, not the OS disk
    image = asyncio.run(_get(quick, lambda c: c.images.get(RG_IMAGES, "img-after-restart")))
    (lun,) = image.storage_profile.data_disks
    assert lun.lun == 1 and lun.blob_uri.endswith("/restart/data-1.vhd")

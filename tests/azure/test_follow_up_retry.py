"""A failed image step retried alone, headless, against the sandbox over HTTP: the data went up
once, the image step failed (a taken image name, an existing gallery version), and a retry under
another name makes the image from the same managed disk without sending a byte again; the plan
file says so, so a restart offers the same."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from gui.azure.image_builder import (
    DefinitionSpec,
    DiskFacts,
    DiskSource,
    GalleryVersionSpec,
    ManagedImageSpec,
)
from gui.azure.upload.job import (
    FollowUp,
    JobStatus,
    ManagedDiskTargetPlan,
    PlacedDisk,
    PlanError,
    PlanStore,
    UploadPlan,
)
from gui.azure.upload.managed_disk import ManagedDiskSpec, SasVault
from gui.azure.upload.runner import JobRun, UploadRunner
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import (
    GALLERY_IMAGE_SECURE,
    GALLERY_PROD,
    IMAGE_OS_ONLY,
    RG_GALLERY,
    RG_IMAGES,
)
from tests.fixtures.disk_images import MIB, DiskImageFactory

FACTS = DiskFacts("Linux", "Generalized", "V2", "x64")


def _plan(path: Path, disk: str, follow_up: FollowUp) -> UploadPlan:
    return UploadPlan(
        source_path=str(path),
        facts=FACTS,
        target=ManagedDiskTargetPlan(
            PRODUCTION_SUBSCRIPTION_ID,
            ManagedDiskSpec(RG_IMAGES, disk, "westeurope", os_type="Linux",
                            hyper_v_generation="V2"),
        ),
        follow_up=follow_up,
    )


def _plan_file(store: PlanStore, plan: UploadPlan) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (store.directory / f"{plan.plan_id}.json").read_text(encoding="utf-8"))
    return data


async def _fail_then_retry(
    server: SandboxServer, store: PlanStore, plan: UploadPlan, retried: FollowUp,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs the plan to its failed image step, then retries that step alone with ``retried``
    while any data transfer (a blob write or a new write SAS) would trip a fault rule; returns
    what was seen after the failure and after the retry."""
    from gui.azure.account.session import sandbox_session

    session = sandbox_session(server.arm_url)
    runner = UploadRunner(store, SasVault.nowhere(), JobRun)
    runner.session = session
    try:
        run = runner.submit(plan)
        await run.wait()
        failed = {
            "status": run.status,
            "error": run.error,
            "steps": {key: event.state.value for key, event in run.steps.items()},
            "follow_up_failed": run.follow_up_failed,
            "file": _plan_file(store, plan),
            "disk_id": run.plan.placed[0].source.managed_disk_id if run.plan.placed else None,
        }
        # The trip wires: any blob write (the data's path is not under /subscriptions) and any
        # new write access to a disk.
        blob_writes = server.faults.add(r"^/(?!subscriptions/)", status=500, method="PUT")
        grants = server.faults.add(r"/beginGetAccess$", status=500, method="POST")
        run.snapshot = None  # whatever reports progress from here is a new transfer
        runner.retry_follow_up(run, retried)
        retry_file = _plan_file(store, plan)  # saved before anything is sent
        await run.wait()
        compute = session.compute(PRODUCTION_SUBSCRIPTION_ID)
        made: Any = None
        if isinstance(retried, ManagedImageSpec):
            made = await compute.images.get(retried.resource_group, retried.name)
        elif isinstance(retried, GalleryVersionSpec):
            made = await compute.gallery_image_versions.get(
                retried.resource_group, retried.gallery, retried.definition.name,
                retried.version)
        done = {
            "status": run.status,
            "error": run.error,
            "steps": {key: event.state.value for key, event in run.steps.items()},
            "messages": {key: str(event.message) for key, event in run.steps.items()},
            "image": list(run.result.image.parts) if run.result and run.result.image else None,
            # The SDK's models are the REST JSON (``as_dict`` keeps its camelCase names).
            "made": made.as_dict() if made is not None else None,
            "tripped": blob_writes.fired + grants.fired,
            "snapshot": run.snapshot,
            "retry_file": retry_file,
            "plans_left": sorted(p.name for p in store.directory.glob("*.json")),
        }
    finally:
        await session.close()
    return failed, done


def test_a_taken_image_name_is_retried_under_another_from_the_same_disk_without_resending(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    fresh_sandbox.lro_seconds = 0.05
    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(4 * MIB))])
    plan = _plan(made.path, "disk-retry-image",
                 ManagedImageSpec(RG_IMAGES, IMAGE_OS_ONLY, "westeurope"))
    store = PlanStore(tmp_path)
    retried = ManagedImageSpec(RG_IMAGES, "img-retried", "westeurope")
    failed, done = asyncio.run(_fail_then_retry(fresh_sandbox, store, plan, retried))

    # The data went up; the image step failed for its name.
    assert failed["status"] is JobStatus.FAILED
    assert "already exists" in failed["error"]
    assert failed["steps"]["upload"] == "Done" and failed["steps"]["image"] == "Failed"
    assert failed["follow_up_failed"]
    disk_id = failed["disk_id"]
    assert disk_id and disk_id.casefold().endswith("/disks/disk-retry-image")
    # The plan file knows where the data is: a restart retries from there.
    assert failed["file"]["status"] == "failed"
    assert failed["file"]["placed"] == [
        {"lun": None, "managed_disk_id": disk_id, "blob_uri": None, "storage_account_id": None}
    ]
    assert failed["file"]["follow_up"]["name"] == IMAGE_OS_ONLY

    # The retry: the new name on disk first, then only the image step ran.
    assert done["retry_file"]["follow_up"]["name"] == "img-retried"
    assert done["retry_file"]["placed"] == failed["file"]["placed"]
    assert done["status"] is JobStatus.COMPLETED, done["error"]
    assert done["steps"] == {
        "create-disk": "Skipped", "grant": "Skipped", "upload": "Skipped", "revoke": "Skipped",
        "image": "Done",
    }
    assert "nothing is sent again" in done["messages"]["upload"]
    assert done["tripped"] == 0 and done["snapshot"] is None  # not one byte sent again
    assert done["image"] == [RG_IMAGES, "img-retried"]
    os_disk = done["made"]["properties"]["storageProfile"]["osDisk"]
    assert os_disk["managedDisk"]["id"].casefold() == disk_id.casefold()
    assert done["plans_left"] == []  # completed: the plan is removed


def test_an_existing_gallery_version_is_refused_then_retried_with_another_number(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.1
    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(4 * MIB))])
    definition = DefinitionSpec(GALLERY_IMAGE_SECURE, "Linux", "Generalized", "V2",
                                security_type="TrustedLaunch")
    first = GalleryVersionSpec(RG_GALLERY, GALLERY_PROD, False, definition, False, "1.2.0",
                               "westeurope")
    plan = _plan(made.path, "disk-retry-version", first)
    store = PlanStore(tmp_path)
    retried = GalleryVersionSpec(RG_GALLERY, GALLERY_PROD, False, definition, False, "1.3.0",
                                 "westeurope")
    failed, done = asyncio.run(_fail_then_retry(fresh_sandbox, store, plan, retried))

    # 1.2.0 exists: refused before Azure would touch that version.
    assert failed["status"] is JobStatus.FAILED
    assert "Version 1.2.0 of ubuntu-22.04-base exists already" in failed["error"]
    assert "another version number" in failed["error"]  # the advice says what to do
    assert failed["steps"]["upload"] == "Done" and failed["steps"]["version"] == "Failed"
    assert failed["follow_up_failed"]
    assert failed["file"]["follow_up"]["version"] == "1.2.0"

    assert done["retry_file"]["follow_up"]["version"] == "1.3.0"
    assert done["status"] is JobStatus.COMPLETED, done["error"]
    assert done["steps"]["upload"] == "Skipped" and done["steps"]["version"] == "Done"
    assert done["steps"]["replicate:westeurope"] == "Done"
    assert done["tripped"] == 0 and done["snapshot"] is None
    assert done["image"] == [RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SECURE, "1.3.0"]
    source = done["made"]["properties"]["storageProfile"]["osDiskImage"]["source"]
    assert source["id"].casefold() == failed["disk_id"].casefold()


def test_a_plan_with_its_data_in_place_loads_as_a_failed_image_step_after_a_restart(
    tmp_path: Path,
) -> None:
    """What the plan file records is what the next start offers: the failed image step (its
    retry), not an interrupted upload."""
    store = PlanStore(tmp_path)
    plan = _plan(tmp_path / "gone.vhd", "d", ManagedImageSpec(RG_IMAGES, "img", "westeurope"))
    plan.status = JobStatus.FAILED
    plan.last_error = "The image exists."
    disk_id = (f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{RG_IMAGES}"
               "/providers/Microsoft.Compute/disks/d")
    plan.placed = (PlacedDisk(None, DiskSource(managed_disk_id=disk_id)),)
    store.save(plan)
    runner = UploadRunner(store, SasVault.nowhere(), JobRun)
    (run,) = runner.load_unfinished()
    assert run.plan.data_in_place and run.plan.placed == plan.placed
    assert run.status is JobStatus.FAILED and run.follow_up_failed
    # An invalid name is refused before anything changes, with what Azure accepts.
    with pytest.raises(PlanError, match="image name"):
        run.retry_follow_up(ManagedImageSpec(RG_IMAGES, "bad name!", "westeurope"), None)
    assert run.plan.follow_up == plan.follow_up
    assert _plan_file(store, plan)["follow_up"]["name"] == "img"

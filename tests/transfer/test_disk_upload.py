"""Managed disk by direct upload against the sandbox: states, data, and revoke in every outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gui.azure.disk_upload import (
    DiskExistsError,
    DiskStuckError,
    DiskUploadStep,
    ManagedDiskSpec,
    ManagedDiskUpload,
)
from gui.azure.loopback import sandbox_compute_client
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_BUILD
from gui.transfer import (
    ProgressSnapshot,
    RetryBudgetExhaustedError,
    RetryPolicy,
    UploadCancelledError,
    UploadOptions,
)
from gui.vhd import open_image
from tests.fixtures.disk_images import MIB, DiskImageFactory, pattern
from tests.transfer.helpers import fixed_stream

LOCATION = "westeurope"


async def disk_state(compute: Any, name: str) -> str | None:
    from azure.core.exceptions import ResourceNotFoundError

    try:
        disk = await compute.disks.get(RG_BUILD, name)
    except ResourceNotFoundError:
        return None
    return str(getattr(disk.disk_state, "value", disk.disk_state))


async def read_disk(compute: Any, name: str) -> bytes:
    """The disk's content through a read SAS, as a user would export it."""
    from azure.mgmt.compute.models import GrantAccessData
    from azure.storage.blob.aio import BlobClient

    poller = await compute.disks.begin_grant_access(
        RG_BUILD, name, GrantAccessData(access="Read", duration_in_seconds=600)
    )
    access = await poller.result()
    try:
        async with BlobClient.from_blob_url(access.access_sas) as blob:
            stream = await blob.download_blob(max_concurrency=4)
            return await stream.readall()
    finally:
        await (await compute.disks.begin_revoke_access(RG_BUILD, name)).result()


async def run_with_states(compute: Any, job: ManagedDiskUpload, name: str) -> tuple[list[str], Any]:
    """Run the upload while watching the disk's state change."""
    states: list[str] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            state = await disk_state(compute, name)
            if state and (not states or states[-1] != state):
                states.append(state)
            await asyncio.sleep(0.02)

    watcher = asyncio.create_task(watch())
    try:
        outcome: Any = await job.run()
    except Exception as exc:
        outcome = exc
    finally:
        done.set()
        await watcher
    final = await disk_state(compute, name)
    if final and states[-1:] != [final]:
        states.append(final)
    return states, outcome


def spec(name: str) -> ManagedDiskSpec:
    return ManagedDiskSpec(RG_BUILD, name, LOCATION, os_type="Linux", hyper_v_generation="V2")


def image_with_data(disk_images: DiskImageFactory, size: int = 32 * MIB) -> Any:
    writes = [(0, pattern(0, 12 * MIB)), (size - 2 * MIB, pattern(size - 2 * MIB, 2 * MIB))]
    return disk_images.make("vpc", size, writes, subformat="dynamic")


def arun(coro_factory: Callable[[], Any]) -> Any:
    return asyncio.run(coro_factory())


def test_disk_goes_ready_active_unattached_and_holds_the_fixed_stream(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    fresh_sandbox.faults.latency = 0.01
    made = image_with_data(disk_images)
    steps: list[DiskUploadStep] = []

    async def scenario() -> tuple[list[str], Any, bytes, bytes]:
        compute = sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
        async with compute:
            with open_image(made.path) as image:
                expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
                job = ManagedDiskUpload(
                    compute,
                    image,
                    spec("disk-upload-ok"),
                    UploadOptions(journal_dir=tmp_path),
                    on_step=steps.append,
                )
                states, outcome = await run_with_states(compute, job, "disk-upload-ok")
            content = await read_disk(compute, "disk-upload-ok")
            return states, outcome, content, expected

    states, outcome, content, expected = arun(scenario)
    assert not isinstance(outcome, Exception), outcome
    assert states == ["ReadyToUpload", "ActiveUpload", "Unattached"]
    assert steps == [
        DiskUploadStep.CREATING,
        DiskUploadStep.GRANTING,
        DiskUploadStep.UPLOADING,
        DiskUploadStep.REVOKING,
        DiskUploadStep.DONE,
    ]
    assert outcome.disk_state == "Unattached"
    assert outcome.upload.bytes_sent < len(expected) // 2  # only data: the zeros stayed home
    assert content == expected


def test_access_is_revoked_when_the_upload_is_cancelled(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    fresh_sandbox.faults.latency = 0.05
    made = image_with_data(disk_images)
    jobs: list[ManagedDiskUpload] = []

    def cancel_once_sending(snap: ProgressSnapshot) -> None:
        if snap.bytes_sent > 0:
            jobs[0].cancel()

    async def scenario() -> tuple[list[str], Any]:
        compute = sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
        async with compute:
            with open_image(made.path) as image:
                options = UploadOptions(concurrency=1, journal_dir=tmp_path)
                jobs.append(
                    ManagedDiskUpload(
                        compute,
                        image,
                        spec("disk-cancelled"),
                        options,
                        on_progress=cancel_once_sending,
                    )
                )
                return await run_with_states(compute, jobs[0], "disk-cancelled")

    states, outcome = arun(scenario)
    assert isinstance(outcome, UploadCancelledError)
    assert "ActiveUpload" in states
    assert states[-1] != "ActiveUpload"


def test_access_is_revoked_when_the_upload_fails(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = image_with_data(disk_images)
    # Every Put Page fails: the retry budget runs out, then access must still be revoked.
    blob_paths = r"^/(?!subscriptions/)[^/]+/[^/]+/.+"  # the page blob, not ARM
    fresh_sandbox.faults.add(blob_paths, status=500, code="InternalError", method="PUT")

    async def scenario() -> tuple[list[str], Any]:
        compute = sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
        async with compute:
            with open_image(made.path) as image:
                options = UploadOptions(
                    journal_dir=tmp_path, retry=RetryPolicy(max_attempts=2, base_delay=0.01)
                )
                job = ManagedDiskUpload(compute, image, spec("disk-failed"), options)
                return await run_with_states(compute, job, "disk-failed")

    states, outcome = arun(scenario)
    assert isinstance(outcome, RetryBudgetExhaustedError)
    assert "ActiveUpload" in states
    assert states[-1] != "ActiveUpload"


def test_an_existing_disk_in_use_is_not_touched(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = image_with_data(disk_images)

    async def scenario() -> Any:
        compute = sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
        async with compute:
            with open_image(made.path) as image:
                first = ManagedDiskUpload(
                    compute, image, spec("disk-twice"), UploadOptions(journal_dir=tmp_path)
                )
                await first.run()
                again = ManagedDiskUpload(
                    compute, image, spec("disk-twice"), UploadOptions(journal_dir=tmp_path)
                )
                with pytest.raises(DiskExistsError, match="already exists"):
                    await again.run()
            return await disk_state(compute, "disk-twice")

    assert arun(scenario) == "Unattached"


def test_a_disk_left_in_active_upload_is_unstuck_with_a_reason(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    from azure.mgmt.compute.models import GrantAccessData

    made = image_with_data(disk_images)

    async def scenario() -> tuple[str, str | None]:
        compute = sandbox_compute_client(fresh_sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
        async with compute:
            with open_image(made.path) as image:
                # An earlier run created and opened the disk, then died before revoking.
                job = ManagedDiskUpload(
                    compute, image, spec("disk-stuck"), UploadOptions(journal_dir=tmp_path)
                )
                await job._ensure_disk()
                poller = await compute.disks.begin_grant_access(
                    RG_BUILD, "disk-stuck", GrantAccessData(access="Write", duration_in_seconds=60)
                )
                await poller.result()
                assert await disk_state(compute, "disk-stuck") == "ActiveUpload"
                again = ManagedDiskUpload(
                    compute, image, spec("disk-stuck"), UploadOptions(journal_dir=tmp_path)
                )
                with pytest.raises(DiskStuckError) as caught:
                    await again.run()
            return str(caught.value), await disk_state(compute, "disk-stuck")

    message, state = arun(scenario)
    assert "not stuck" in message and "delete it" in message
    assert state == "Unattached"

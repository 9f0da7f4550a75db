"""Managed disk by direct upload against the sandbox: states, data, and revoke in every outcome."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gui.azure.account.loopback import sandbox_compute_client
from gui.azure.upload.managed_disk import (
    DiskExistsError,
    DiskStuckError,
    DiskUploadStep,
    ManagedDiskSpec,
    ManagedDiskUpload,
)
from gui.diskimage import open_image
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
from tests.fixtures.disk_images import MIB, DiskImageFactory, pattern
from tests.transfer.helpers import fixed_stream

LOCATION = "westeurope"
T = TypeVar("T")


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


@contextlib.asynccontextmanager
async def opened(server: SandboxServer, made: Any) -> AsyncIterator[tuple[Any, Any]]:
    """The sandbox's compute client and the disk image, both closed after the scenario."""
    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with compute:
        with open_image(made.path) as image:
            yield compute, image


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


def upload_with_states(
    server: SandboxServer,
    made: Any,
    name: str,
    options: UploadOptions,
    *,
    on_progress: Callable[[ProgressSnapshot], None] | None = None,
    jobs: list[ManagedDiskUpload] | None = None,
) -> tuple[list[str], Any]:
    """Uploads ``made`` to the disk ``name`` while watching its states; the upload is put in
    ``jobs`` first, for a progress callback that controls it."""

    async def scenario() -> tuple[list[str], Any]:
        async with opened(server, made) as (compute, image):
            job = ManagedDiskUpload(compute, image, spec(name), options, on_progress=on_progress)
            if jobs is not None:
                jobs.append(job)
            return await run_with_states(compute, job, name)

    return arun(scenario)


def assert_revoked_after_writing(states: list[str]) -> None:
    """The disk took writes, and its write access was revoked when the upload stopped."""
    assert "ActiveUpload" in states
    assert states[-1] != "ActiveUpload"


def spec(name: str) -> ManagedDiskSpec:
    return ManagedDiskSpec(RG_BUILD, name, LOCATION, os_type="Linux", hyper_v_generation="V2")


def image_with_data(disk_images: DiskImageFactory, size: int = 32 * MIB) -> Any:
    writes = [(0, pattern(0, 12 * MIB)), (size - 2 * MIB, pattern(size - 2 * MIB, 2 * MIB))]
    return disk_images.make("vpc", size, writes, subformat="dynamic")


def arun(coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(coro_factory())


def test_disk_goes_ready_active_unattached_and_holds_the_fixed_stream(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    fresh_sandbox.faults.latency = 0.01
    made = image_with_data(disk_images)
    steps: list[DiskUploadStep] = []

    async def scenario() -> tuple[list[str], Any, bytes, bytes]:
        async with opened(fresh_sandbox, made) as (compute, image):
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

    options = UploadOptions(concurrency=1, journal_dir=tmp_path)
    states, outcome = upload_with_states(
        fresh_sandbox, made, "disk-cancelled", options, on_progress=cancel_once_sending, jobs=jobs
    )
    assert isinstance(outcome, UploadCancelledError)
    assert_revoked_after_writing(states)


def test_access_is_revoked_when_the_upload_fails(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = image_with_data(disk_images)
    # Every Put Page fails: the retry budget runs out, then access must still be revoked.
    blob_paths = r"^/(?!subscriptions/)[^/]+/[^/]+/.+"  # the page blob, not ARM
    fresh_sandbox.faults.add(blob_paths, status=500, code="InternalError", method="PUT")

    options = UploadOptions(
        journal_dir=tmp_path, retry=RetryPolicy(max_attempts=2, base_delay=0.01)
    )
    states, outcome = upload_with_states(fresh_sandbox, made, "disk-failed", options)
    assert isinstance(outcome, RetryBudgetExhaustedError)
    assert_revoked_after_writing(states)


def test_an_existing_disk_in_use_is_not_touched(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = image_with_data(disk_images)

    async def scenario() -> Any:
        async with opened(fresh_sandbox, made) as (compute, image):
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
        async with opened(fresh_sandbox, made) as (compute, image):
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


# --- stopped without revoking: the SAS in the keyring resumes it -----------------------------

KILLED_CHILD = """
import asyncio, sys
from pathlib import Path
from gui.azure.upload.managed_disk import ManagedDiskSpec, ManagedDiskUpload
from gui.azure.account.loopback import sandbox_compute_client
from gui.transfer import UploadOptions
from gui.diskimage import open_image

arm_url, subscription, group, name, image_path, journal = sys.argv[1:7]

def progress(snapshot):
    if snapshot.bytes_sent > 0:
        print("SENDING", flush=True)  # the parent kills us now, mid-upload

async def main():
    compute = sandbox_compute_client(arm_url, subscription)
    async with compute:
        with open_image(image_path) as image:
            spec = ManagedDiskSpec(group, name, "westeurope", os_type="Linux")
            options = UploadOptions(concurrency=1, journal_dir=Path(journal))
            job = ManagedDiskUpload(compute, image, spec, options, on_progress=progress)
            await job.run()
    print("FINISHED", flush=True)

asyncio.run(main())
"""


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """keyring's documented file backend (keyrings.alt), chosen explicitly as a user would with
    PYTHON_KEYRING_BACKEND, its file in this test's directory; child processes get the same."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    data_home = tmp_path / "xdg-data"
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    backend = PlaintextKeyring()
    backend.file_path = str(data_home / "python_keyring" / "keyring_pass.cfg")
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def test_a_killed_disk_upload_resumes_with_the_sas_from_the_keyring(
    fresh_sandbox: SandboxServer,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    file_keyring: Any,
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from gui.azure.upload.managed_disk import KEYRING_SERVICE, SasVault

    fresh_sandbox.faults.latency = 0.1  # slow pages: the child is surely killed mid-way
    made = image_with_data(disk_images, 32 * MIB)
    journal = tmp_path / "journal"
    root = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_CHILD,
            fresh_sandbox.arm_url,
            PRODUCTION_SUBSCRIPTION_ID,
            RG_BUILD,
            "disk-killed",
            str(made.path),
            str(journal),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "SENDING", child.stderr.read() if child.stderr else line
    # Killed once the journal records a run: only recorded runs (with their CRC) are trusted
    # on resume; pages sent after the last journal write are sent again.
    from gui.transfer.journal import Journal

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        journals = [Journal.load(p) for p in journal.glob("*.json")]
        if any(j is not None and j.bytes_sent > 0 for j in journals):
            break
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)  # no revoke, no goodbye
    child.wait(timeout=30)
    child.stdout.close()
    assert child.stderr is not None
    child.stderr.close()
    fresh_sandbox.faults.latency = 0.0

    async def scenario() -> tuple[str | None, Any, bool, str | None, str | None, bytes, bytes]:
        async with opened(fresh_sandbox, made) as (compute, image):
            left = await disk_state(compute, "disk-killed")
            disk = await compute.disks.get(RG_BUILD, "disk-killed")
            kept = file_keyring.get_password(KEYRING_SERVICE, str(disk.id).casefold())
            expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
            job = ManagedDiskUpload(
                compute,
                image,
                spec("disk-killed"),
                UploadOptions(journal_dir=journal),
                vault=SasVault(),  # the keyring chosen above, as the next start finds it
            )
            result = await job.run()
            data = await read_disk(compute, "disk-killed")
            after = file_keyring.get_password(KEYRING_SERVICE, str(disk.id).casefold())
            return left, result, job.resumed_from_keyring, kept, after, data, expected

    left, result, from_keyring, kept, after, data, expected = arun(scenario)
    assert left == "ActiveUpload"  # the killed run could not revoke
    assert kept is not None and "sig=" in kept  # its write SAS waited in the keyring
    assert from_keyring  # ... and the new run wrote with it (Azure grants Write only once)
    assert result.disk_state == "Unattached"  # revoked at the end
    assert result.upload.resumed and result.upload.bytes_present > 0  # not sent twice
    assert data == expected
    assert after is None  # forgotten once access was revoked
    signature = json.loads(kept)["sas"].split("sig=")[1].split("&")[0]
    for path in journal.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert b"sig=" not in content and signature.encode() not in content, path


def test_without_a_keyring_a_killed_upload_is_revoked_and_says_why(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    from gui.azure.upload.managed_disk import SasVault

    made = image_with_data(disk_images)
    vault = SasVault.nowhere()
    assert not vault.available

    async def scenario() -> tuple[bool, str, str | None]:
        async with opened(fresh_sandbox, made) as (compute, image):
            first = ManagedDiskUpload(
                compute,
                image,
                spec("disk-nokeyring"),
                UploadOptions(journal_dir=tmp_path),
                vault=vault,
            )
            await first._ensure_disk()
            await first._grant_or_unstick(await compute.disks.get(RG_BUILD, "disk-nokeyring"))
            kept = first.sas_kept
            again = ManagedDiskUpload(
                compute,
                image,
                spec("disk-nokeyring"),
                UploadOptions(journal_dir=tmp_path),
                vault=vault,
            )
            with pytest.raises(DiskStuckError) as caught:
                await again.run()
            return kept, str(caught.value), await disk_state(compute, "disk-nokeyring")

    kept, message, state = arun(scenario)
    assert not kept
    assert "no keyring" in message and "not stuck" in message
    assert state == "Unattached"

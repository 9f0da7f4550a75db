"""The upload runner without a window: a plan runs headless (no Qt loaded) against the sandbox,
its step events arrive as the job yields them; plans keep the job's one status on disk and
journals the engine's ``UploadState`` (files written with the old strings still load)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gui.azure.image_builder import DiskFacts, ManagedImageSpec
from gui.azure.upload.job import JobStatus, ManagedDiskTargetPlan, PlanStore, UploadPlan
from gui.azure.upload.managed_disk import ManagedDiskSpec
from gui.azure.upload.runner import JobRun
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_IMAGES
from gui.transfer import UploadState
from gui.transfer.journal import Journal, list_unfinished
from gui.transfer.source import SourceFile, SourceIdentity
from tests.fixtures.disk_images import MIB, DiskImageFactory

ROOT = Path(__file__).resolve().parents[2]

HEADLESS = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path

    from gui.azure.account.session import sandbox_session
    from gui.azure.upload.job import PlanStore, UploadPlan
    from gui.azure.upload.managed_disk import SasVault
    from gui.azure.upload.runner import JobRun, UploadRunner

    arm_url, plan_file, plans_dir = sys.argv[1:4]

    async def main() -> None:
        session = sandbox_session(arm_url)
        runner = UploadRunner(PlanStore(Path(plans_dir)), SasVault.nowhere(), JobRun)
        runner.session = session
        seen = []
        plan = UploadPlan.from_json(json.loads(Path(plan_file).read_text()))
        run = runner.submit(plan)
        run.change_listeners.append(
            lambda r: seen.append({key: e.state.value for key, e in r.steps.items()})
        )
        await run.wait()
        await session.close()
        print(json.dumps({
            "status": run.status.value,
            "error": run.error,
            "steps": {key: event.state.value for key, event in run.steps.items()},
            "image": list(run.result.image.parts) if run.result and run.result.image else None,
            "qt": sorted(name for name in sys.modules if name.startswith(("PySide6", "shiboken"))),
            "seen": seen,
            "plans_left": sorted(p.name for p in (Path(plans_dir) / "plans").glob("*.json")),
        }))

    asyncio.run(main())
    """
)


def test_the_runner_uploads_and_makes_the_image_headless_without_qt(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    fresh_sandbox.lro_seconds = 0.05
    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(4 * MIB))])
    plan = UploadPlan(
        source_path=str(made.path),
        facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
        target=ManagedDiskTargetPlan(
            PRODUCTION_SUBSCRIPTION_ID,
            ManagedDiskSpec(RG_IMAGES, "headless-disk", "westeurope", os_type="Linux"),
        ),
        follow_up=ManagedImageSpec(RG_IMAGES, "headless-image", "westeurope"),
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan.to_json()))
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "home"),
    }
    done = subprocess.run(
        [sys.executable, "-c", HEADLESS, fresh_sandbox.arm_url, str(plan_file), str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.splitlines()[-1])
    assert outcome["qt"] == []  # the runner never loads Qt
    assert outcome["status"] == "completed", outcome["error"]
    assert outcome["steps"] == {
        "create-disk": "Done",
        "grant": "Done",
        "upload": "Done",
        "revoke": "Done",
        "image": "Done",
    }
    assert outcome["image"] == [RG_IMAGES, "headless-image"]
    # The steps arrived one by one while the job ran, not at its end.
    assert {"create-disk": "Done", "grant": "Done", "upload": "Running"} in outcome["seen"]
    assert outcome["plans_left"] == []  # a completed plan is removed


def _plan() -> UploadPlan:
    return UploadPlan(
        source_path="/data/web.vhd",
        facts=DiskFacts("Linux", "Generalized", "V2"),
        target=ManagedDiskTargetPlan("sub", ManagedDiskSpec("rg", "web-disk", "westeurope")),
    )


@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        ("pending", JobStatus.QUEUED),  # before the one enum: a plan not yet started
        ("running", JobStatus.RUNNING),
        ("failed", JobStatus.FAILED),
        ("cancelled", JobStatus.CANCELLED),
        ("suspended", JobStatus.INTERRUPTED),
        ("completed", JobStatus.COMPLETED),
        ("something-else", JobStatus.FAILED),  # unknown: kept, so it can be resumed
    ],
)
def test_plan_files_with_old_status_strings_still_load(
    tmp_path: Path, written: str, loaded: JobStatus
) -> None:
    store = PlanStore(tmp_path)
    plan = _plan()
    store.save(plan)
    path = store.directory / f"{plan.plan_id}.json"
    data = json.loads(path.read_text())
    data["status"] = written
    path.write_text(json.dumps(data))
    found = store.unfinished()
    if loaded is JobStatus.COMPLETED:
        assert found == []
    else:
        assert [p.status for p in found] == [loaded]


def test_a_plan_keeps_its_one_status_on_disk(tmp_path: Path) -> None:
    store = PlanStore(tmp_path)
    plan = _plan()
    plan.status = JobStatus.INTERRUPTED
    store.save(plan)
    text = (store.directory / f"{plan.plan_id}.json").read_text()
    assert '"status": "suspended"' in text
    (again,) = store.unfinished()
    assert again.status is JobStatus.INTERRUPTED and again.status.label == "Interrupted"
    assert again.status.resumable and not again.status.active


@pytest.mark.parametrize(
    ("written", "loaded"),
    [
        ("running", UploadState.UPLOADING),  # before journals held UploadState values
        ("uploading", UploadState.UPLOADING),
        ("failed", UploadState.FAILED),
        ("cancelled", UploadState.CANCELLED),
    ],
)
def test_journals_hold_the_engines_state(tmp_path: Path, written: str, loaded: UploadState) -> None:
    identity = SourceIdentity((SourceFile("/data/web.vhd", 1024, 1),), "disk", 1024, "f")
    journal = Journal(tmp_path / "k.json", "k", {"kind": "page-blob"}, identity, 4096)
    journal.state = UploadState.FAILED
    journal.save()
    data = json.loads(journal.path.read_text())
    assert data["state"] == "failed"
    data["state"] = written
    journal.path.write_text(json.dumps(data))
    again = Journal.load(journal.path)
    assert again is not None and again.state is loaded
    (unfinished,) = list_unfinished(tmp_path)
    assert unfinished.state is loaded


async def _cancel_midway(server: SandboxServer, plan: UploadPlan, store: PlanStore,
                         delete_partial_disk: bool) -> tuple[JobRun, str | None]:
    from azure.core.exceptions import ResourceNotFoundError

    from gui.azure.account.loopback import sandbox_compute_client
    from gui.azure.account.session import sandbox_session
    from gui.azure.upload.managed_disk import SasVault
    from gui.azure.upload.runner import UploadRunner

    session = sandbox_session(server.arm_url)
    runner = UploadRunner(store, SasVault.nowhere(), JobRun)
    runner.session = session
    runner.preferences.delete_partial_disk = delete_partial_disk
    run = runner.submit(plan)
    while not (run.snapshot is not None and run.snapshot.bytes_sent > 0):
        assert run.status.active, run.error
        await asyncio.sleep(0.02)
    run.cancel()
    await run.wait()
    await session.close()
    compute = sandbox_compute_client(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with compute:
        try:
            disk = await compute.disks.get(RG_IMAGES, "cancelled-disk")
        except ResourceNotFoundError:
            return run, None
    return run, str(getattr(disk.disk_state, "value", disk.disk_state))


@pytest.mark.parametrize("delete_partial_disk", [True, False])
def test_a_cancelled_upload_deletes_its_partial_disk_unless_told_to_keep_it(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path,
    delete_partial_disk: bool,
) -> None:
    made = disk_images.make("raw", 24 * MIB, [(0, os.urandom(24 * MIB))])
    plan = UploadPlan(
        source_path=str(made.path),
        facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
        target=ManagedDiskTargetPlan(
            PRODUCTION_SUBSCRIPTION_ID,
            ManagedDiskSpec(RG_IMAGES, "cancelled-disk", "westeurope", os_type="Linux"),
        ),
    )
    fresh_sandbox.faults.latency = 0.1  # every request slow: the cancel lands mid-way
    run, state = asyncio.run(
        _cancel_midway(fresh_sandbox, plan, PlanStore(tmp_path), delete_partial_disk))
    fresh_sandbox.faults.latency = 0.0
    assert run.status is JobStatus.CANCELLED
    if delete_partial_disk:
        assert state is None  # nothing left behind that costs money
        assert run.steps["drop-partial"].state.value == "Done"
    else:
        assert state == "Unattached"  # kept, sealed: the user asked to look at it
        assert "drop-partial" not in run.steps

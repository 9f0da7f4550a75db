"""Downloads in the Transfers panel (issue 13): a download from the sandbox is a row beside the
uploads, with the same buttons; pause stops its requests, resume completes it, cancel revokes
its read access, and one left unfinished by a quit is offered at the next start (a new
TransferManager) and resumes fetching only the rest. The model holds to Qt's rules with rows of
both kinds (qtmodeltester)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.download.runner import DownloadPlan, DownloadPlanStore
from gui.azure.download.source import parse_source
from gui.azure.image_builder import DiskFacts
from gui.azure.jobs import Direction, TransferRun
from gui.azure.upload.job import JobStatus, ManagedDiskTargetPlan, PlanStore, UploadPlan
from gui.azure.upload.managed_disk import ManagedDiskSpec
from gui.diskimage.writers.vhd import fixed_footer
from gui.paths import journal_dir
from gui.qt.transfers.dock import TransfersDock
from gui.qt.transfers.model import (
    DIRECTION,
    FILE,
    PROGRESS,
    SENT,
    STATE,
    TARGET,
    DownloadTransfer,
    TransferManager,
)
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import GALLERY_PROD, RG_BUILD, RG_GALLERY
from tests.qt.helpers import AsyncRunner

# A data directory per test: the plans and journals one test leaves are not the next one's.
pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("home")]

MIB = 1024 * 1024
DISK = 24 * MIB
TIMEOUT_MS = 60_000


def disk_bytes() -> bytes:
    """Data in every other MiB: each piece is a request of its own (the gaps are too wide to
    join), so a pause falls between requests."""
    data = bytearray(DISK)
    for index, start in enumerate(range(0, DISK, 2 * MIB)):
        data[start : start + MIB] = bytes([index + 1]) * MIB
    return bytes(data)


async def make_disk(session: AzureSession, name: str, data: bytes) -> str:
    """A managed disk holding ``data`` (uploaded as Azure's direct upload takes it)."""
    from azure.mgmt.compute.models import (
        CreationData,
        Disk,
        DiskProperties,
        DiskSku,
        GrantAccessData,
    )
    from azure.storage.blob.aio import BlobClient

    compute = session.compute(PRODUCTION_SUBSCRIPTION_ID)
    disk = Disk(location="westeurope", sku=DiskSku(name="Standard_LRS"),
                properties=DiskProperties(
                    os_type="Linux", hyper_v_generation="V2",
                    creation_data=CreationData(create_option="Upload",
                                               upload_size_bytes=len(data) + 512)))
    made = await (await compute.disks.begin_create_or_update(RG_BUILD, name, disk)).result()
    access = await (await compute.disks.begin_grant_access(
        RG_BUILD, name, GrantAccessData(access="Write", duration_in_seconds=600))).result()
    assert access.access_sas is not None
    async with BlobClient.from_blob_url(access.access_sas) as blob:
        for start in range(0, len(data), 2 * MIB):
            await blob.upload_page(data[start : start + MIB], offset=start, length=MIB)
        await blob.upload_page(fixed_footer(len(data), uuid.uuid4(), 0), offset=len(data),
                               length=512)
    await (await compute.disks.begin_revoke_access(RG_BUILD, name)).result()
    return str(made.id)


async def make_version(session: AzureSession, os_disk: str, image: str) -> str:
    """A gallery image version of ``os_disk`` (a definition of its own)."""
    compute = session.compute(PRODUCTION_SUBSCRIPTION_ID)
    definition: Any = {
        "location": "westeurope",
        "properties": {
            "osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2",
            "identifier": {"publisher": "contoso", "offer": image, "sku": "panel"},
        },
    }
    await (await compute.gallery_images.begin_create_or_update(
        RG_GALLERY, GALLERY_PROD, image, definition)).result()
    version: Any = {
        "location": "westeurope",
        "properties": {
            "publishingProfile": {"targetRegions": [{"name": "westeurope"}]},
            "storageProfile": {"osDiskImage": {"source": {"id": os_disk}}},
        },
    }
    poller = await compute.gallery_image_versions.begin_create_or_update(
        RG_GALLERY, GALLERY_PROD, image, "1.0.0", version)
    return str((await poller.result()).id)


def temporary_disks(server: SandboxServer) -> list[str]:
    """The disks a gallery version's download makes (and must delete)."""
    return [
        r["name"] for r in server.world.store.all()
        if r["type"] == "Microsoft.Compute/disks" and r["name"].startswith("ais-download-")
    ]


async def disk_state(session: AzureSession, name: str) -> str:
    """What ARM says of the disk (the sandbox answers as Azure does)."""
    disk = await session.compute(PRODUCTION_SUBSCRIPTION_ID).disks.get(RG_BUILD, name)
    return str(getattr(disk.disk_state, "value", disk.disk_state))


def status_of(run: TransferRun) -> JobStatus:
    """The status now (read through a call: a test's earlier assert does not fix it)."""
    return run.status


@pytest.fixture
def session(new_session: Callable[[], AzureSession]) -> AzureSession:
    return new_session()


@pytest.fixture
def disk(session: AzureSession, run: AsyncRunner) -> tuple[str, str, bytes]:
    name = f"qt-panel-dl-{uuid.uuid4().hex[:6]}"
    data = disk_bytes()
    return name, run(make_disk(session, name, data)), data


def panel(qtbot: QtBot, session: AzureSession | None) -> TransfersDock:
    """The panel over a manager of its own, as the window makes them."""
    manager = TransferManager()
    manager.session = session
    dock = TransfersDock(manager)
    qtbot.addWidget(dock)
    dock.resize(1200, 260)
    dock.show()
    qtbot.waitExposed(dock)
    return dock


def slow(manager: TransferManager) -> None:
    """The settings' bandwidth cap, shared with uploads: about 4 MiB/s, so the download takes
    seconds and can be paused on the way."""
    manager.preferences.concurrency = 1
    manager.preferences.bandwidth.set_rate(4 * MIB)


def start_download(dock: TransfersDock, disk_id: str, path: Path) -> DownloadTransfer:
    return dock.manager.submit_download(parse_source(disk_id), path, "raw", overwrite=True)


def received(transfer: DownloadTransfer) -> int:
    """Bytes fetched so far (the holes count for the progress at once, not here)."""
    return transfer.snapshot.bytes_sent if transfer.snapshot is not None else 0


def wait_paused(qtbot: QtBot, transfer: DownloadTransfer) -> None:
    def paused() -> bool:
        snapshot = transfer.snapshot
        return (transfer.status is JobStatus.PAUSED and snapshot is not None
                and snapshot.requests_in_flight == 0)

    qtbot.waitUntil(paused, timeout=TIMEOUT_MS)


def test_a_download_is_a_row_that_pauses_without_requests_and_resumes_to_the_end(
    qtbot: QtBot, session: AzureSession, session_sandbox: SandboxServer,
    disk: tuple[str, str, bytes], tmp_path: Path,
) -> None:
    name, disk_id, data = disk
    dock = panel(qtbot, session)
    manager, model = dock.manager, dock.manager.model
    slow(manager)
    out = tmp_path / f"{name}.raw"
    transfer = start_download(dock, disk_id, out)

    # A row of the panel, selected, with the same buttons as an upload's.
    assert model.rowCount() == 1 and dock.selected() is transfer
    row = model.index(0, 0)
    assert model.data(row.siblingAtColumn(DIRECTION)) == "↓ Download"
    assert model.data(row.siblingAtColumn(DIRECTION),
                      Qt.ItemDataRole.AccessibleTextRole) == "Download to this computer"
    assert model.data(row.siblingAtColumn(FILE)) == out.name
    assert model.data(row.siblingAtColumn(FILE), Qt.ItemDataRole.ToolTipRole).startswith(
        f"{out}\nStarted ")
    assert model.data(row.siblingAtColumn(TARGET)) == f"Managed disk {name} ({RG_BUILD})"
    assert dock.cancel_button.text() == "&Cancel download"
    assert dock.pause_button.isEnabled() and dock.cancel_button.isEnabled()
    assert not dock.resume_button.isEnabled() and not dock.remove_button.isEnabled()
    assert manager.active == [transfer]  # the quit question counts it

    qtbot.waitUntil(lambda: received(transfer) >= 2 * MIB, timeout=TIMEOUT_MS)
    assert model.data(row.siblingAtColumn(STATE)) == "Downloading"
    dock.pause_button.click()
    wait_paused(qtbot, transfer)
    assert model.data(row.siblingAtColumn(STATE)) == "Paused"
    assert dock.resume_button.isEnabled() and not dock.pause_button.isEnabled()
    # Paused: no request reaches the sandbox (ARM or blob), no byte arrives.
    requests, held = session_sandbox.request_count, received(transfer)
    qtbot.wait(600)
    assert session_sandbox.request_count == requests
    assert received(transfer) == held
    assert 0 < transfer.fraction < 1

    dock.resume_button.click()
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=TIMEOUT_MS)
    assert transfer.status is JobStatus.COMPLETED, transfer.error
    assert out.read_bytes() == data
    assert model.data(row.siblingAtColumn(PROGRESS)) == 100
    assert model.data(row.siblingAtColumn(SENT)) == "12.0 MiB"  # the data, not the holes
    assert transfer.steps_version and [s.state.value for s in transfer.steps.values()] == [
        "Done", "Done", "Done"]
    assert manager.active == []
    assert not list((journal_dir() / "download-plans").glob("*.json"))  # nothing to offer


def test_cancel_revokes_read_access_and_keeps_what_arrived(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession,
    disk: tuple[str, str, bytes], tmp_path: Path,
) -> None:
    name, disk_id, _data = disk
    dock = panel(qtbot, session)
    slow(dock.manager)
    transfer = start_download(dock, disk_id, tmp_path / "cancelled.raw")
    qtbot.waitUntil(lambda: received(transfer) >= 2 * MIB, timeout=TIMEOUT_MS)
    assert run(disk_state(session, name)) == "ActiveSAS"  # read access while it runs
    dock.cancel_button.click()
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=TIMEOUT_MS)
    assert transfer.status is JobStatus.CANCELLED
    assert run(disk_state(session, name)) == "Unattached"
    # Resumable from the panel, and removable; the steps say where it stopped.
    assert dock.resume_button.isEnabled() and dock.remove_button.isEnabled()
    assert transfer.steps["downloading"].state.value == "Failed"
    assert received(transfer) >= 2 * MIB


def test_a_download_a_quit_left_unfinished_is_offered_and_fetches_only_the_rest(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession,
    disk: tuple[str, str, bytes], tmp_path: Path,
) -> None:
    name, disk_id, data = disk
    out = tmp_path / "resumed.raw"
    first = panel(qtbot, session)
    slow(first.manager)
    transfer = first.manager.submit_download(parse_source(disk_id), out, "raw", overwrite=True)
    qtbot.waitUntil(lambda: received(transfer) >= 2 * MIB, timeout=TIMEOUT_MS)
    # Quit with "Pause and quit": what the window's quit does (stop_all, keep).
    run(first.manager.stop_all(keep=True))
    assert transfer.status is JobStatus.INTERRUPTED
    assert run(disk_state(session, name)) == "Unattached"  # a quit leaves no grant behind
    fetched_before = received(transfer)
    assert fetched_before >= 2 * MIB
    first.close()

    # The next start: a new manager (and panel) finds the download and offers it.
    again = panel(qtbot, None)
    again.manager.session = session  # connected after the panel was made, as in the app
    found = again.manager.load_unfinished()
    assert len(found) == 1 and found[0].direction is Direction.DOWNLOAD
    offered = again.manager.model.transfers[0]
    assert offered is found[0] and offered.status is JobStatus.INTERRUPTED
    model = again.manager.model
    assert model.data(model.index(0, STATE)).startswith("Interrupted: Stopped when the app "
                                                        "closed")
    assert 0 < offered.data_fraction < 1 and model.data(model.index(0, PROGRESS)) > 0
    assert again.resume_button.isEnabled() and not again.cancel_button.isEnabled()
    again.table.selectRow(0)
    again.resume_button.click()
    qtbot.waitUntil(lambda: not offered.status.active, timeout=TIMEOUT_MS)
    assert status_of(offered) is JobStatus.COMPLETED, offered.error
    downloaded = again.manager.downloads.run_of(offered) if again.manager.downloads else None
    assert downloaded is not None and downloaded.result is not None
    result = downloaded.result.transfer
    allocated = DISK // 2
    # Only the rest travelled: what the first run fetched was not fetched again.
    assert result.resumed and result.bytes_present >= fetched_before
    assert result.bytes_fetched <= allocated - fetched_before + MIB
    assert result.bytes_fetched + result.bytes_present == allocated
    assert run(disk_state(session, name)) == "Unattached"
    assert out.read_bytes() == data


@pytest.fixture
def mixed(qtbot: QtBot, home: Path) -> Iterator[TransfersDock]:
    """An unfinished upload and an unfinished download, as the next start finds them."""
    upload = UploadPlan(
        source_path=str(home / "ubuntu-2204.vhdx"),
        facts=DiskFacts("Linux", "Generalized", "V2", "x64"),
        target=ManagedDiskTargetPlan(
            PRODUCTION_SUBSCRIPTION_ID,
            ManagedDiskSpec("rg-images-prod", "disk-ubuntu-2204", "westeurope",
                            os_type="Linux")),
        status=JobStatus.INTERRUPTED,
    )
    PlanStore(journal_dir()).save(upload)
    version = (f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/rg-gallery/"
               "providers/Microsoft.Compute/galleries/gal_prod/images/ubuntu-2204/versions/1.2.0")
    DownloadPlanStore(journal_dir()).save(DownloadPlan.of(
        parse_source(version, 1), home / "ubuntu-data.vhdx", "vhdx"))
    dock = panel(qtbot, None)
    dock.manager.load_unfinished()
    yield dock


def test_the_model_with_uploads_and_downloads_keeps_qts_rules(
    mixed: TransfersDock, qtmodeltester: Any,
) -> None:
    model = mixed.manager.model
    assert [model.data(model.index(row, DIRECTION)) for row in range(2)] == [
        "↑ Upload", "↓ Download"]
    assert model.data(model.index(1, TARGET)) == (
        "Image version 1.2.0 of ubuntu-2204 (gal_prod), data disk LUN 1")
    assert model.headerData(SENT, Qt.Orientation.Horizontal) == "Transferred"
    qtmodeltester.check(model, force_py=True)


def test_buttons_name_the_kind_of_the_selected_row(mixed: TransfersDock) -> None:
    dock = mixed
    dock.table.selectRow(0)
    assert dock.cancel_button.text() == "&Cancel upload"
    assert "upload" in dock.remove_button.toolTip()
    dock.table.selectRow(1)
    assert dock.cancel_button.text() == "&Cancel download"
    assert "partial file stays" in dock.remove_button.toolTip()
    assert dock.resume_button.isEnabled() and dock.remove_button.isEnabled()
    assert not dock.retry_button.isVisible()


def test_removing_an_unfinished_download_forgets_its_plan_and_journal(
    qtbot: QtBot, mixed: TransfersDock,
) -> None:
    from PySide6.QtWidgets import QMessageBox, QPushButton

    dock = mixed
    plans = journal_dir() / "download-plans"
    assert list(plans.glob("*.json"))
    dock.table.selectRow(1)
    dock.remove_button.click()
    box = dock.findChild(QMessageBox, "removeUploadBox")
    assert isinstance(box, QMessageBox)
    assert box.windowTitle() == "Remove download" and "ubuntu-data.vhdx" in box.text()
    confirm = box.findChild(QPushButton, "confirmRemove")
    assert isinstance(confirm, QPushButton)
    confirm.click()
    assert dock.manager.model.rowCount() == 1
    assert not list(plans.glob("*.json"))
    # The upload stays.
    assert dock.manager.model.transfers[0].direction is Direction.UPLOAD


def test_a_gallery_version_a_quit_left_unfinished_resumes_through_a_new_temporary_disk(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession, session_sandbox: SandboxServer,
    disk: tuple[str, str, bytes], tmp_path: Path,
) -> None:
    _name, disk_id, data = disk
    version_id = run(make_version(session, disk_id, f"panel-{uuid.uuid4().hex[:6]}"))
    out = tmp_path / "version.raw"
    first = panel(qtbot, session)
    slow(first.manager)
    transfer = first.manager.submit_download(parse_source(version_id), out, "raw")
    assert [s.key for s in transfer.planned_steps] == [
        "creating_disk", "granting", "downloading", "revoking", "deleting_disk"]
    qtbot.waitUntil(lambda: received(transfer) >= 2 * MIB, timeout=TIMEOUT_MS)
    run(first.manager.stop_all(keep=True))
    assert transfer.status is JobStatus.INTERRUPTED
    assert temporary_disks(session_sandbox) == []  # deleted on the way out
    fetched_before = received(transfer)
    first.close()

    again = panel(qtbot, session)
    (offered,) = again.manager.load_unfinished()
    assert again.manager.model.data(again.manager.model.index(0, TARGET)).startswith(
        "Image version 1.0.0 of panel-")
    again.resume_button.click()
    qtbot.waitUntil(lambda: not offered.status.active, timeout=TIMEOUT_MS)
    assert status_of(offered) is JobStatus.COMPLETED, offered.error
    downloaded = again.manager.downloads.run_of(offered) if again.manager.downloads else None
    assert downloaded is not None and downloaded.result is not None
    # A new temporary disk was made for the resume, and deleted; only the rest travelled.
    assert downloaded.result.temporary_disk is not None
    assert temporary_disks(session_sandbox) == []
    result = downloaded.result.transfer
    assert result.resumed and result.bytes_present >= fetched_before
    assert result.bytes_fetched + result.bytes_present == DISK // 2
    assert out.read_bytes() == data

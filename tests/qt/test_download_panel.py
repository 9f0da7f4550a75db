"""Download… hands its download to the Transfers panel (issue 13): the panel comes to the front,
the dialog may close while the download goes on, and quitting the window with a download running
asks as it does for uploads (the window's own quit logic, through the TransferManager)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.download.source import parse_source
from gui.azure.jobs import TransferRun
from gui.azure.upload.job import JobStatus
from gui.diskimage.writers.vhd import fixed_footer
from gui.qt.download.dialog import DownloadActions
from gui.qt.main_window import MainWindow
from gui.qt.transfers.model import TransferManager
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import RG_BUILD
from tests.qt.helpers import AsyncRunner, make_settings

pytestmark = pytest.mark.gui

MIB = 1024 * 1024
DISK = 24 * MIB
TIMEOUT_MS = 60_000


async def make_disk(session: AzureSession, name: str, data: bytes) -> str:
    """A managed disk holding ``data`` in every other MiB (Azure's direct upload)."""
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
                properties=DiskProperties(creation_data=CreationData(
                    create_option="Upload", upload_size_bytes=len(data) + 512)))
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


async def disk_state(session: AzureSession, name: str) -> str:
    disk = await session.compute(PRODUCTION_SUBSCRIPTION_ID).disks.get(RG_BUILD, name)
    return str(getattr(disk.disk_state, "value", disk.disk_state))


def status_of(run: TransferRun) -> JobStatus:
    return run.status


@pytest.fixture
def window(qtbot: QtBot, home: Path, run: AsyncRunner) -> MainWindow:
    """The window with its Transfers panel over a TransferManager, as the app makes them."""
    made = MainWindow(make_settings(home))
    made.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    qtbot.addWidget(made)
    made.resize(1300, 850)
    made.attach_transfers(TransferManager(made))
    made.show()
    qtbot.waitExposed(made)
    return made


def setup(window: MainWindow, run: AsyncRunner, session: AzureSession,
          ) -> tuple[DownloadActions, TransferManager, str, str, bytes]:
    manager = window.transfers_dock.manager
    manager.session = session  # what the app controller does once connected
    actions = DownloadActions(window)
    actions.connected(session)
    name = f"qt-dl-panel-{uuid.uuid4().hex[:6]}"
    data = bytearray(DISK)
    for index, start in enumerate(range(0, DISK, 2 * MIB)):
        data[start : start + MIB] = bytes([index + 1]) * MIB
    disk_id = run(make_disk(session, name, bytes(data)))
    return actions, manager, name, disk_id, bytes(data)


def test_a_started_download_goes_on_in_the_panel_after_the_dialog_closes(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner,
    new_session: Callable[[], AzureSession], tmp_path: Path,
) -> None:
    session = new_session()
    actions, manager, name, disk_id, data = setup(window, run, session)
    dock = window.transfers_dock
    dock.hide()
    manager.preferences.concurrency = 1
    manager.preferences.bandwidth.set_rate(4 * MIB)  # seconds long: the dialog closes first
    dialog = actions.download(parse_source(disk_id))
    assert "Transfers panel" in dialog.findChildren(type(dialog.status))[0].text()
    out = tmp_path / f"{name}.raw"
    dialog.format.setCurrentIndex(dialog.format.findData("raw"))
    dialog.path.setText(str(out))
    dialog.start_button.click()
    # Every step is listed from the start, the clean-up too (grant, download, revoke).
    assert len(dialog.steps.states()) == 3 and dialog.steps.states()[-1] == "Waiting"
    # A row of the panel, which is shown in front.
    assert manager.model.rowCount() == 1
    transfer = manager.model.transfers[0]
    assert dialog.run is transfer
    qtbot.waitUntil(dock.isVisible)
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty())
    qtbot.waitUntil(lambda: transfer.snapshot is not None and transfer.snapshot.bytes_sent > 0,
                    timeout=TIMEOUT_MS)
    assert dialog.progress.value() > 0  # the dialog follows the panel's run
    dialog.close()
    assert transfer.status.active  # closing the dialog did not stop it
    qtbot.waitUntil(lambda: not transfer.status.active, timeout=TIMEOUT_MS)
    assert status_of(transfer) is JobStatus.COMPLETED, transfer.error
    assert out.read_bytes() == data
    assert run(disk_state(session, name)) == "Unattached"
    assert dialog._changed not in transfer.change_listeners  # let go of the closed dialog


def test_quitting_with_a_download_running_asks_and_pause_keeps_it_for_the_next_start(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner,
    new_session: Callable[[], AzureSession], tmp_path: Path,
) -> None:
    session = new_session()
    _actions, manager, name, disk_id, _data = setup(window, run, session)
    manager.preferences.concurrency = 1
    manager.preferences.bandwidth.set_rate(2 * MIB)
    transfer = manager.submit_download(parse_source(disk_id), tmp_path / "q.raw", "raw")
    qtbot.waitUntil(lambda: transfer.snapshot is not None and transfer.snapshot.bytes_sent > 0,
                    timeout=TIMEOUT_MS)
    window.close()
    qtbot.waitUntil(lambda: window.quit_box is not None and window.quit_box.isVisible(),
                    timeout=TIMEOUT_MS)
    box = window.quit_box
    assert isinstance(box, QMessageBox) and window.isVisible()
    pause = box.findChild(QPushButton, "pauseAndQuit")
    assert isinstance(pause, QPushButton)
    pause.click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    assert status_of(transfer) is JobStatus.INTERRUPTED
    assert run(disk_state(session, name)) == "Unattached"
    # Offered at the next start.
    again = TransferManager()
    (offered,) = again.load_unfinished()
    assert offered.status is JobStatus.INTERRUPTED and offered.local_path == str(
        tmp_path / "q.raw")

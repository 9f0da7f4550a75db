"""Transfers as the GUI sees them: a QObject per upload and a table model of all of them.

The engine reports progress on its own thread; ``Transfer.on_progress`` only emits a signal, and
the queued connection brings the snapshot to the GUI thread. Steps (create disk, grant, image,
replication) arrive on the GUI loop already.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from enum import StrEnum
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from gui.azure.errors import AzureServiceError
from gui.azure.image_builder import StepEvent, StepState
from gui.azure.upload.job import BlobTargetPlan, JobResult, PlanStore, UploadJob, UploadPlan
from gui.azure.upload.managed_disk import SasVault
from gui.paths import journal_dir
from gui.qt.tasks import TaskSet
from gui.transfer import ProgressSnapshot, UploadCancelledError, UploadError, UploadState
from gui.units import human_bytes, human_duration

log = logging.getLogger(__name__)

AnyIndex = QModelIndex | QPersistentModelIndex
TransferRole = Qt.ItemDataRole.UserRole + 1


class Status(StrEnum):
    QUEUED = "Queued"
    RUNNING = "Running"
    PAUSED = "Paused"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    INTERRUPTED = "Interrupted"

    @property
    def resumable(self) -> bool:
        return self in (Status.FAILED, Status.CANCELLED, Status.INTERRUPTED)

    @property
    def active(self) -> bool:
        return self in (Status.QUEUED, Status.RUNNING, Status.PAUSED)


class Transfer(QObject):
    changed = Signal()
    finished = Signal()
    snapshot_arrived = Signal(object)

    def __init__(
        self,
        plan: UploadPlan,
        store: PlanStore,
        parent: QObject | None = None,
        *,
        vault: SasVault | None = None,
    ) -> None:
        super().__init__(parent)
        self.plan = plan
        self.store = store
        self.vault = vault
        self._stop: str | None = None  # "cancel" or "suspend", asked for before the job exists
        self.status = Status.QUEUED
        self.snapshot: ProgressSnapshot | None = None
        self.steps: dict[str, StepEvent] = {}
        self.steps_version = 0  # bumped when a step changes, so views redraw steps only then
        self.error = ""
        self.result: JobResult | None = None
        self.job: UploadJob | None = None
        self.task: asyncio.Task[None] | None = None
        self.snapshot_arrived.connect(self._on_snapshot, Qt.ConnectionType.QueuedConnection)

    @property
    def title(self) -> str:
        return self.plan.title

    @property
    def target_label(self) -> str:
        return self.plan.target.label

    # --- callbacks (progress from the engine thread, steps on the GUI loop) -------------------

    def on_progress(self, snapshot: ProgressSnapshot) -> None:
        self.snapshot_arrived.emit(snapshot)

    def _on_snapshot(self, snapshot: ProgressSnapshot) -> None:
        self.snapshot = snapshot
        if snapshot.state is UploadState.PAUSED:
            self.status = Status.PAUSED
        elif self.status is Status.PAUSED and snapshot.state is UploadState.UPLOADING:
            self.status = Status.RUNNING
        self.changed.emit()

    def on_step(self, event: StepEvent) -> None:
        self.steps[event.key] = dataclasses.replace(event)
        self.steps_version += 1
        self.changed.emit()

    # --- control ------------------------------------------------------------------------------

    def start(self, session: Any) -> None:
        """Opens the disk image and runs the plan on the GUI's loop."""
        if self.task is not None and not self.task.done():
            return
        self.status = Status.RUNNING
        self.error = ""
        self._stop = None
        self.steps = {}
        self.steps_version += 1
        self.changed.emit()
        self.task = asyncio.get_event_loop().create_task(self._run(session))

    async def _run(self, session: Any) -> None:
        from gui.vhd import VhdError, open_image

        plan = self.plan
        plan.status, plan.last_error = "running", ""
        self.store.save(plan)
        try:
            image = await asyncio.to_thread(open_image, Path(plan.source_path))
        except VhdError as exc:
            self._finish(Status.FAILED, str(exc))
            return
        try:
            self.job = UploadJob(
                session,
                plan,
                image,
                on_progress=self.on_progress,
                on_step=self.on_step,
                vault=self.vault,
            )
            if self._stop == "cancel":
                self.job.cancel()
            elif self._stop == "suspend":
                self.job.suspend()
            self.result = await self.job.run()
        except UploadCancelledError as exc:
            if self._stop == "suspend":
                # "Pause and quit": the journal (and for a managed disk the SAS in the
                # keyring) let the next start resume it.
                self._finish(Status.INTERRUPTED, SUSPENDED_TEXT)
            else:
                self._finish(Status.CANCELLED, str(exc))
        except asyncio.CancelledError:
            self._finish(Status.CANCELLED, "Stopped when the window closed. Resume it any time.")
            raise
        except (UploadError, AzureServiceError) as exc:
            text = exc.user_text() if isinstance(exc, AzureServiceError) else str(exc)
            self._finish(Status.FAILED, text)
        except Exception as exc:  # unexpected: show it, keep the plan for a retry
            log.exception("Upload %s failed", plan.title)
            self._finish(Status.FAILED, f"Unexpected error: {exc}")
        else:
            self._finish(Status.COMPLETED, "")
        finally:
            await asyncio.to_thread(image.close)

    def _finish(self, status: Status, message: str) -> None:
        self.status = status
        self.error = message
        self.plan.status = {
            Status.COMPLETED: "completed",
            Status.CANCELLED: "cancelled",
            Status.INTERRUPTED: "suspended",
        }.get(status, "failed")
        self.plan.last_error = message
        if status is Status.COMPLETED:
            self.store.remove(self.plan)
        else:
            with contextlib.suppress(OSError):
                self.store.save(self.plan)
        self.changed.emit()
        self.finished.emit()

    def pause(self) -> None:
        if self.job is not None and self.status is Status.RUNNING:
            self.job.pause()

    def resume(self) -> None:
        if self.job is not None and self.status is Status.PAUSED:
            self.job.resume()

    def cancel(self) -> None:
        if not self.status.active:
            return
        self._stop = "cancel"
        if self.job is not None:
            self.job.cancel()

    def suspend(self) -> None:
        """Stop for a resume at the next start (quitting): a managed disk keeps its write access
        when the keyring can hold its SAS, and is revoked otherwise."""
        if not self.status.active:
            return
        if self._stop != "cancel":
            self._stop = "suspend"
        if self.job is not None:
            self.job.suspend()

    # --- what the views show ------------------------------------------------------------------

    @property
    def fraction(self) -> float:
        if self.status is Status.COMPLETED:
            return 1.0
        return self.snapshot.fraction if self.snapshot is not None else 0.0

    @property
    def needs_sas(self) -> bool:
        """A blob upload resumed at a new start: the SAS was not saved and must be pasted."""
        target = self.plan.target
        return (
            isinstance(target, BlobTargetPlan)
            and not target.sas_query
            and not target.storage_account_id  # those get a new SAS from the account
        )

    def state_text(self) -> str:
        if self.status is Status.RUNNING:
            running = [s for s in self.steps.values() if s.state is StepState.RUNNING]
            if running:
                return running[-1].title
        if self.status in (Status.FAILED, Status.CANCELLED, Status.INTERRUPTED) and self.error:
            return f"{self.status.value}: {self.error.splitlines()[0]}"
        return self.status.value


SUSPENDED_TEXT = "Paused when the app closed; it resumes where it stopped."

COLUMNS = ("File", "Target", "State", "Progress", "Speed", "ETA", "Sent", "Skipped")


class TransfersModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._transfers: list[Transfer] = []

    @property
    def transfers(self) -> list[Transfer]:
        return list(self._transfers)

    def add(self, transfer: Transfer) -> None:
        row = len(self._transfers)
        self.beginInsertRows(QModelIndex(), row, row)
        self._transfers.append(transfer)
        self.endInsertRows()
        transfer.changed.connect(lambda t=transfer: self._changed(t))

    def remove(self, transfer: Transfer) -> None:
        if transfer not in self._transfers:
            return
        row = self._transfers.index(transfer)
        self.beginRemoveRows(QModelIndex(), row, row)
        self._transfers.pop(row)
        self.endRemoveRows()

    def _changed(self, transfer: Transfer) -> None:
        if transfer in self._transfers:
            row = self._transfers.index(transfer)
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._transfers)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._transfers):
            return None
        transfer = self._transfers[index.row()]
        if role == TransferRole:
            return transfer
        column = index.column()
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 2 and transfer.error:
                return transfer.error
            if column == 0:
                return transfer.plan.source_path
            if column == 1:
                return transfer.target_label
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        snapshot = transfer.snapshot
        if column == 0:
            return transfer.title
        if column == 1:
            return transfer.target_label
        if column == 2:
            return transfer.state_text()
        if column == 3:
            return round(transfer.fraction * 100)
        if snapshot is None or not transfer.status.active:
            if column == 6 and snapshot is not None:
                return human_bytes(snapshot.bytes_sent)
            if column == 7 and snapshot is not None:
                return human_bytes(snapshot.bytes_skipped)
            return "—"
        if column == 4:
            return f"{human_bytes(snapshot.rate)}/s"
        if column == 5:
            return human_duration(snapshot.eta_seconds)
        if column == 6:
            return human_bytes(snapshot.bytes_sent)
        if column == 7:
            return human_bytes(snapshot.bytes_skipped)
        return None


class TransferManager(QObject):
    """Owns every transfer of this run, and the plans left unfinished by earlier runs."""

    transfer_added = Signal(object)
    transfer_finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = TransfersModel(self)
        self.store = PlanStore(journal_dir())
        self.vault = SasVault()  # the OS keyring, for the SAS of disk uploads stopped by a quit
        self.session: Any = None
        self._tasks = TaskSet("transfers")

    def submit(self, plan: UploadPlan) -> Transfer:
        transfer = self._add(plan)
        transfer.start(self.session)
        return transfer

    def _add(self, plan: UploadPlan) -> Transfer:
        transfer = Transfer(plan, self.store, self, vault=self.vault)
        transfer.finished.connect(lambda t=transfer: self.transfer_finished.emit(t))
        self.model.add(transfer)
        self.transfer_added.emit(transfer)
        return transfer

    def load_unfinished(self) -> list[Transfer]:
        """Shows uploads that an earlier run left unfinished, ready to resume."""
        known = {t.plan.plan_id for t in self.model.transfers}
        found = []
        for plan in self.store.unfinished():
            if plan.plan_id in known:
                continue
            transfer = self._add(plan)
            transfer.status = Status.INTERRUPTED
            transfer.error = plan.last_error or "The app closed before the upload finished."
            found.append(transfer)
        return found

    def resume(self, transfer: Transfer, sas_url: str | None = None) -> None:
        target = transfer.plan.target
        if isinstance(target, BlobTargetPlan):
            if sas_url:
                transfer.plan.target = BlobTargetPlan.from_url(
                    sas_url, target.subscription_id, storage_account_id=target.storage_account_id
                )
            elif not target.sas_query and target.storage_account_id:
                self._tasks.spawn(self._resume_with_new_sas(transfer, target))
                return
        transfer.start(self.session)

    async def _resume_with_new_sas(self, transfer: Transfer, target: BlobTargetPlan) -> None:
        """The SAS was not saved: the storage account signs a new one."""
        from gui.azure.upload.storage import renew_blob_sas

        try:
            url = await renew_blob_sas(
                self.session, target.subscription_id, target.storage_account_id, target.blob_url
            )
        except AzureServiceError as exc:
            transfer.error = f"Could not get a new SAS from the storage account: {exc.user_text()}"
            transfer.changed.emit()
            return
        transfer.plan.target = BlobTargetPlan.from_url(
            url, target.subscription_id, storage_account_id=target.storage_account_id
        )
        transfer.start(self.session)

    def discard(self, transfer: Transfer) -> None:
        if transfer.status.active:
            return
        self.store.remove(transfer.plan)
        self.model.remove(transfer)

    def cancel_all(self) -> None:
        for transfer in self.model.transfers:
            if transfer.status.active:
                transfer.cancel()

    @property
    def active(self) -> list[Transfer]:
        return [t for t in self.model.transfers if t.status.active]


async def stop_all(manager: TransferManager, timeout: float = 20.0, *, keep: bool = False) -> None:
    """Stops running uploads and waits (bounded) until each has saved its journal and revoked
    access (``keep=False``: cancel) or kept it for a resume at the next start (``keep=True``:
    pause and quit; a managed disk without a keyring is revoked all the same)."""
    tasks = []
    for transfer in manager.active:
        if keep:
            transfer.suspend()
        else:
            transfer.cancel()
        if transfer.task is not None and not transfer.task.done():
            tasks.append(transfer.task)
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)

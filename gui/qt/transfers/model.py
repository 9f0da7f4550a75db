"""Transfers as the GUI sees them: a QObject per upload and a table model of all of them.

A thin adapter over ``gui.azure.upload.runner``, which runs the uploads (the headless command
uses it too). The engine reports progress on its own thread; ``Transfer`` only emits a signal,
and the queued connection brings the snapshot to the GUI thread. Step events arrive on the GUI
loop already; each one is a queued signal too, so views redraw from the event loop, never
inside the job.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from gui.azure.steps import StepEvent
from gui.azure.upload.job import JobResult, JobStatus, PlanStore, UploadJob, UploadPlan
from gui.azure.upload.managed_disk import SasVault
from gui.azure.upload.runner import SUSPENDED_TEXT, JobRun, UploadRunner
from gui.paths import journal_dir
from gui.transfer import ProgressSnapshot
from gui.units import human_bytes, human_duration

AnyIndex = QModelIndex | QPersistentModelIndex
TransferRole = Qt.ItemDataRole.UserRole + 1

Status = JobStatus  # the views' name for the job's one status

__all__ = ["SUSPENDED_TEXT", "Status", "Transfer", "TransferManager", "TransfersModel", "stop_all"]


class Transfer(QObject):
    """One upload as a QObject: ``changed`` and ``finished`` signals over a ``JobRun``."""

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
        self.run = JobRun(plan, store, vault=vault, on_snapshot=self.snapshot_arrived.emit)
        self.snapshot_arrived.connect(self.run.apply_snapshot, Qt.ConnectionType.QueuedConnection)
        self.run.change_listeners.append(lambda _run: self.changed.emit())
        self.run.finish_listeners.append(lambda _run: self.finished.emit())

    # --- the run's state, read by the views and the tests ---------------------------------------

    @property
    def plan(self) -> UploadPlan:
        return self.run.plan

    @property
    def status(self) -> JobStatus:
        return self.run.status

    @status.setter
    def status(self, status: JobStatus) -> None:
        self.run.status = status

    @property
    def error(self) -> str:
        return self.run.error

    @error.setter
    def error(self, text: str) -> None:
        self.run.error = text

    @property
    def snapshot(self) -> ProgressSnapshot | None:
        return self.run.snapshot

    @property
    def steps(self) -> dict[str, StepEvent]:
        return self.run.steps

    @property
    def steps_version(self) -> int:
        return self.run.steps_version

    @property
    def result(self) -> JobResult | None:
        return self.run.result

    @property
    def job(self) -> UploadJob | None:
        return self.run.job

    @property
    def task(self) -> Any:
        return self.run.task

    @property
    def title(self) -> str:
        return self.run.title

    @property
    def target_label(self) -> str:
        return self.run.target_label

    @property
    def fraction(self) -> float:
        return self.run.fraction

    @property
    def needs_sas(self) -> bool:
        return self.run.needs_sas

    def state_text(self) -> str:
        return self.run.state_text()

    # --- control ------------------------------------------------------------------------------

    def start(self, session: Any) -> None:
        self.run.start(session)

    def pause(self) -> None:
        self.run.pause()

    def resume(self) -> None:
        self.run.resume()

    def cancel(self) -> None:
        self.run.cancel()

    def suspend(self) -> None:
        self.run.suspend()


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
    """The GUI's side of the ``UploadRunner``: each run is a ``Transfer`` row of the model."""

    transfer_added = Signal(object)
    transfer_finished = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.model = TransfersModel(self)
        # The OS keyring holds the SAS of disk uploads stopped by a quit.
        self.runner = UploadRunner(PlanStore(journal_dir()), SasVault(), make_run=self._make)
        self._transfers: dict[int, Transfer] = {}
        self.runner.added.append(self._added)
        self.runner.removed.append(lambda run: self.model.remove(self._transfers.pop(id(run))))

    @property
    def store(self) -> PlanStore:
        return self.runner.store

    @property
    def vault(self) -> SasVault:
        return self.runner.vault

    @property
    def session(self) -> Any:
        return self.runner.session

    @session.setter
    def session(self, session: Any) -> None:
        self.runner.session = session

    def _make(self, plan: UploadPlan) -> JobRun:
        transfer = Transfer(plan, self.runner.store, self, vault=self.runner.vault)
        transfer.finished.connect(lambda t=transfer: self.transfer_finished.emit(t))
        self._transfers[id(transfer.run)] = transfer
        return transfer.run

    def _added(self, run: JobRun) -> None:
        transfer = self._transfers[id(run)]
        self.model.add(transfer)
        self.transfer_added.emit(transfer)

    def submit(self, plan: UploadPlan) -> Transfer:
        return self._transfers[id(self.runner.submit(plan))]

    def load_unfinished(self) -> list[Transfer]:
        """Shows uploads that an earlier run left unfinished, ready to resume."""
        return [self._transfers[id(run)] for run in self.runner.load_unfinished()]

    def resume(self, transfer: Transfer, sas_url: str | None = None) -> None:
        self.runner.resume(transfer.run, sas_url)

    def discard(self, transfer: Transfer) -> None:
        self.runner.discard(transfer.run)

    def cancel_all(self) -> None:
        self.runner.cancel_all()

    @property
    def active(self) -> list[Transfer]:
        return [self._transfers[id(run)] for run in self.runner.active]


async def stop_all(manager: TransferManager, timeout: float = 20.0, *, keep: bool = False) -> None:
    """``UploadRunner.stop_all`` for the window's transfers (see there)."""
    await manager.runner.stop_all(timeout, keep=keep)

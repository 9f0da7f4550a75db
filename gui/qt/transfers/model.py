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

from gui.azure.upload.job import JobStatus, PlanStore, UploadPlan
from gui.azure.upload.managed_disk import SasVault
from gui.azure.upload.runner import SUSPENDED_TEXT, JobRun, UploadRunner
from gui.paths import journal_dir
from gui.units import human_bytes, human_duration

AnyIndex = QModelIndex | QPersistentModelIndex
TransferRole = Qt.ItemDataRole.UserRole + 1

Status = JobStatus  # the views' name for the job's one status

__all__ = ["SUSPENDED_TEXT", "Status", "Transfer", "TransferManager", "TransfersModel", "stop_all"]


class _Signals(QObject):
    changed = Signal()
    finished = Signal()
    snapshot_arrived = Signal(object)


class Transfer(JobRun):
    """One upload as the views see it: a ``JobRun`` with ``changed`` and ``finished`` signals.

    The signals live on a QObject owned by ``parent`` (the manager): a run is plain Python, and
    PySide6 cannot mix a QObject with a base class that takes its own arguments."""

    def __init__(
        self,
        plan: UploadPlan,
        store: PlanStore,
        vault: SasVault | None = None,
        parent: QObject | None = None,
    ) -> None:
        self.signals = _Signals(parent)
        super().__init__(plan, store, vault, on_snapshot=self.signals.snapshot_arrived.emit)
        self.changed = self.signals.changed
        self.finished = self.signals.finished
        self.signals.snapshot_arrived.connect(
            self.apply_snapshot, Qt.ConnectionType.QueuedConnection
        )
        self.change_listeners.append(lambda _run: self.changed.emit())
        self.finish_listeners.append(lambda _run: self.finished.emit())


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


class _ManagerSignals(QObject):
    transfer_added = Signal(object)
    transfer_finished = Signal(object)


class TransferManager(UploadRunner[Transfer]):
    """The window's ``UploadRunner``: each run is a ``Transfer``, a row of ``model``; the signals
    live on a QObject owned by ``parent``, as ``Transfer``'s do."""

    def __init__(self, parent: QObject | None = None) -> None:
        self.signals = _ManagerSignals(parent)
        # The OS keyring holds the SAS of disk uploads stopped by a quit.
        super().__init__(PlanStore(journal_dir()), SasVault(), self._make)
        self.transfer_added = self.signals.transfer_added
        self.transfer_finished = self.signals.transfer_finished
        self.model = TransfersModel(self.signals)
        self.added.append(self._added)
        self.removed.append(self.model.remove)

    def _make(self, plan: UploadPlan, store: PlanStore, vault: SasVault) -> Transfer:
        transfer = Transfer(plan, store, vault, self.signals)
        transfer.finished.connect(lambda t=transfer: self.transfer_finished.emit(t))
        return transfer

    def _added(self, transfer: Transfer) -> None:
        self.model.add(transfer)
        self.transfer_added.emit(transfer)


async def stop_all(manager: TransferManager, timeout: float = 20.0, *, keep: bool = False) -> None:
    """``UploadRunner.stop_all`` for the window's transfers (see there)."""
    await manager.stop_all(timeout, keep=keep)

"""Transfers as the GUI sees them: a QObject per upload and a table model of all of them.

A thin adapter over ``gui.azure.upload.runner``, which runs the uploads (the headless command
uses it too). The engine reports progress on its own thread; ``Transfer`` only emits a signal,
and the queued connection brings the snapshot to the GUI thread. Step events arrive on the GUI
loop already; each one is a queued signal too, so views redraw from the event loop, never
inside the job.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from gui.azure.steps import StepState
from gui.azure.upload.job import BlobTargetPlan, JobStatus, PlanStore, UploadPlan
from gui.azure.upload.managed_disk import SasVault
from gui.azure.upload.runner import SUSPENDED_TEXT, JobRun, UploadRunner
from gui.i18n import Message
from gui.paths import journal_dir
from gui.qt.i18n import format_datetime, format_size, render, render_text
from gui.qt.style import Tone
from gui.qt.widgets.measures import UNKNOWN, format_duration, format_percent, format_rate

AnyIndex = QModelIndex | QPersistentModelIndex
TransferRole = Qt.ItemDataRole.UserRole + 1
ToneRole = Qt.ItemDataRole.UserRole + 2  # the progress bar's colour: a style.Tone, or None

Status = JobStatus  # the views' name for the job's one status

__all__ = [
    "SUSPENDED_TEXT",
    "Status",
    "ToneRole",
    "Transfer",
    "TransferManager",
    "TransfersModel",
    "error_text",
    "status_text",
    "status_tone",
    "stop_all",
]

_CONTEXT = "TransfersModel"
_STATUS_TEXT = {
    JobStatus.QUEUED: QT_TRANSLATE_NOOP("TransfersModel", "Queued"),
    JobStatus.RUNNING: QT_TRANSLATE_NOOP("TransfersModel", "Running"),
    JobStatus.PAUSED: QT_TRANSLATE_NOOP("TransfersModel", "Paused"),
    JobStatus.COMPLETED: QT_TRANSLATE_NOOP("TransfersModel", "Completed"),
    JobStatus.FAILED: QT_TRANSLATE_NOOP("TransfersModel", "Failed"),
    JobStatus.CANCELLED: QT_TRANSLATE_NOOP("TransfersModel", "Cancelled"),
    JobStatus.INTERRUPTED: QT_TRANSLATE_NOOP("TransfersModel", "Interrupted"),
}
# A bar that did not end well must not look like success (the theme's highlight, often blue
# or green): failed in the error colour, stopped ones in the warning colour.
_STATUS_TONES = {
    JobStatus.COMPLETED: Tone.OK,
    JobStatus.FAILED: Tone.ERROR,
    JobStatus.CANCELLED: Tone.WARNING,
    JobStatus.INTERRUPTED: Tone.WARNING,
    JobStatus.PAUSED: Tone.MUTED,
}


def _tr(text: object) -> str:
    """A QT_TRANSLATE_NOOP-marked constant of this module, translated (typed as ``object`` by
    PySide6's stubs; it is the string itself)."""
    return QCoreApplication.translate(_CONTEXT, str(text))


def status_text(status: JobStatus) -> str:
    return _tr(_STATUS_TEXT[status])


def status_tone(status: JobStatus) -> Tone | None:
    """The colour of a job's progress bar; None: the theme's own (running)."""
    return _STATUS_TONES.get(status)


def error_text(run: JobRun) -> str:
    """The run's error in the window's language: the runner's own texts are catalogued (in the
    engine messages' context); Azure's and the engine's pass as they are."""
    return render(Message(run.error)) if run.error else ""


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


COLUMNS = (
    QT_TRANSLATE_NOOP("TransfersModel", "File"),
    QT_TRANSLATE_NOOP("TransfersModel", "Target"),
    QT_TRANSLATE_NOOP("TransfersModel", "State"),
    QT_TRANSLATE_NOOP("TransfersModel", "Progress"),
    QT_TRANSLATE_NOOP("TransfersModel", "Network"),
    QT_TRANSLATE_NOOP("TransfersModel", "Effective"),
    QT_TRANSLATE_NOOP("TransfersModel", "Time left"),
    QT_TRANSLATE_NOOP("TransfersModel", "Sent"),
    QT_TRANSLATE_NOOP("TransfersModel", "Skipped"),
)
FILE, TARGET, STATE, PROGRESS, NETWORK, EFFECTIVE, ETA, SENT, SKIPPED = range(len(COLUMNS))
COLUMN_TIPS = {
    PROGRESS: QT_TRANSLATE_NOOP(
        "TransfersModel", "The whole job: the data transfer and every step after it"
    ),
    NETWORK: QT_TRANSLATE_NOOP("TransfersModel", "Bytes actually sent over the network per second"),
    EFFECTIVE: QT_TRANSLATE_NOOP(
        "TransfersModel",
        "How fast the image is covered: sent bytes plus empty blocks that need no sending",
    ),
    ETA: QT_TRANSLATE_NOOP(
        "TransfersModel", "Time left for the data transfer, from the effective speed"
    ),
    SKIPPED: QT_TRANSLATE_NOOP(
        "TransfersModel", "Empty blocks: never sent, Azure reads them as zeros"
    ),
}
_NUMERIC = {PROGRESS, NETWORK, EFFECTIVE, ETA, SENT, SKIPPED}


def target_text(plan: UploadPlan) -> str:
    target = plan.target
    if isinstance(target, BlobTargetPlan):
        return QCoreApplication.translate("TransfersModel", "Page blob {url}").format(
            url=target.blob_url
        )
    spec = target.spec
    return QCoreApplication.translate(
        "TransfersModel", "Managed disk {name} ({group}, {location})"
    ).format(name=spec.name, group=spec.resource_group, location=spec.location)


def state_text(run: JobRun) -> str:
    """One line for the State column; the whole error is its tooltip."""
    status = run.status
    if status is JobStatus.RUNNING:
        running = [s for s in run.steps.values() if s.state is StepState.RUNNING]
        if running:
            return render_text(running[-1].title)
    error = error_text(run)
    if status.resumable and error:
        return QCoreApplication.translate("TransfersModel", "{status}: {reason}").format(
            status=status_text(status), reason=error.splitlines()[0]
        )
    return status_text(status)


def _started(plan: UploadPlan) -> str:
    try:
        return format_datetime(datetime.fromisoformat(plan.created))
    except ValueError:  # a plan file from before it held the time
        return ""


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
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _tr(COLUMNS[section])
        if role == Qt.ItemDataRole.ToolTipRole and section in COLUMN_TIPS:
            return _tr(COLUMN_TIPS[section])
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._transfers):
            return None
        transfer = self._transfers[index.row()]
        column = index.column()
        if role == TransferRole:
            return transfer
        if role == ToneRole:
            return status_tone(transfer.status) if column == PROGRESS else None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMERIC:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(transfer, column)
        if role == Qt.ItemDataRole.AccessibleTextRole and column == PROGRESS:
            return format_percent(transfer.fraction)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == FILE:
            return transfer.title
        if column == TARGET:
            return target_text(transfer.plan)
        if column == STATE:
            return state_text(transfer)
        if column == PROGRESS:
            # Whole percent, rounded down: 99.6 % of a job is not done.
            return int(transfer.fraction * 100)
        snapshot = transfer.snapshot
        if snapshot is None:
            return UNKNOWN
        if column == SENT:
            return format_size(snapshot.bytes_sent)
        if column == SKIPPED:
            return format_size(snapshot.bytes_skipped)
        if not transfer.status.active:
            return UNKNOWN
        if column == NETWORK:
            return format_rate(snapshot.send_rate)
        if column == EFFECTIVE:
            return format_rate(snapshot.rate)
        if column == ETA:
            return format_duration(snapshot.eta_seconds)
        return None

    @staticmethod
    def _tooltip(transfer: Transfer, column: int) -> str | None:
        if column == FILE:
            started = _started(transfer.plan)
            if not started:
                return transfer.plan.source_path
            return QCoreApplication.translate("TransfersModel", "{path}\nStarted {date}").format(
                path=transfer.plan.source_path, date=started
            )
        if column == TARGET:
            return target_text(transfer.plan)
        if column == STATE:
            # As rich text, which Qt wraps: a long error stays readable.
            return f"<p>{html.escape(error_text(transfer) or state_text(transfer))}</p>"
        if column == PROGRESS:
            return QCoreApplication.translate(
                "TransfersModel", "{job} of the whole job; data {data}"
            ).format(
                job=format_percent(transfer.fraction, 1),
                data=format_percent(transfer.data_fraction, 1),
            )
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

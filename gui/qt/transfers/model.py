"""Transfers as the GUI sees them: a QObject per upload or download, and a table model of all.

A thin adapter over ``gui.azure.upload.runner`` and ``gui.azure.download.runner``, which run the
jobs (the headless commands use them too). The model shows any ``gui.azure.jobs.TransferRun``:
one set of columns and buttons for every kind, no branch per kind. The engines report progress
on their own threads; ``Transfer`` and ``DownloadTransfer`` only emit a signal, and the queued
connection brings the snapshot to the GUI thread. Step events arrive on the GUI loop already.
"""

from __future__ import annotations

import asyncio
import html
from datetime import datetime
from pathlib import Path
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

from gui.azure.download.runner import (
    DownloadPlan,
    DownloadPlanStore,
    DownloadRun,
    DownloadRunner,
)
from gui.azure.download.source import DownloadSource
from gui.azure.jobs import Direction, TransferRun
from gui.azure.steps import StepState
from gui.azure.upload.job import JobStatus, PlanStore, UploadPlan
from gui.azure.upload.managed_disk import SasVault
from gui.azure.upload.runner import SUSPENDED_TEXT, JobRun, UploadRunner
from gui.i18n import Message
from gui.paths import journal_dir
from gui.qt.i18n import format_datetime, format_size, render, render_text
from gui.qt.style import Tone
from gui.qt.widgets.measures import UNKNOWN, format_duration, format_percent, format_rate
from gui.transfer.download import DownloadOptions

AnyIndex = QModelIndex | QPersistentModelIndex
TransferRole = Qt.ItemDataRole.UserRole + 1
ToneRole = Qt.ItemDataRole.UserRole + 2  # the progress bar's colour: a style.Tone, or None

Status = JobStatus  # the views' name for the job's one status

__all__ = [
    "SUSPENDED_TEXT",
    "DownloadTransfer",
    "Status",
    "ToneRole",
    "Transfer",
    "TransferManager",
    "TransferRun",
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


def error_text(run: TransferRun) -> str:
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


class DownloadTransfer(DownloadRun):
    """One download as the views see it: a ``DownloadRun`` with the same signals as
    ``Transfer`` (the engine's snapshots reach the GUI thread through a queued one)."""

    def __init__(
        self,
        source: DownloadSource,
        plan: DownloadPlan,
        options: DownloadOptions,
        store: DownloadPlanStore,
        parent: QObject | None = None,
    ) -> None:
        self.signals = _Signals(parent)
        super().__init__(source, Path(plan.path), plan.format, options, plan=plan, store=store,
                         on_snapshot=self.signals.snapshot_arrived.emit)
        self.changed = self.signals.changed
        self.finished = self.signals.finished
        self.signals.snapshot_arrived.connect(
            self.apply_snapshot, Qt.ConnectionType.QueuedConnection
        )
        self.change_listeners.append(lambda _run: self.changed.emit())
        self.finish_listeners.append(lambda _run: self.finished.emit())


COLUMNS = (
    QT_TRANSLATE_NOOP("TransfersModel", "Direction"),
    QT_TRANSLATE_NOOP("TransfersModel", "File"),
    QT_TRANSLATE_NOOP("TransfersModel", "Target"),
    QT_TRANSLATE_NOOP("TransfersModel", "State"),
    QT_TRANSLATE_NOOP("TransfersModel", "Progress"),
    QT_TRANSLATE_NOOP("TransfersModel", "Network"),
    QT_TRANSLATE_NOOP("TransfersModel", "Effective"),
    QT_TRANSLATE_NOOP("TransfersModel", "Time left"),
    # Uploads send, downloads receive: one column, one word for both.
    QT_TRANSLATE_NOOP("TransfersModel", "Transferred"),
    QT_TRANSLATE_NOOP("TransfersModel", "Skipped"),
)
DIRECTION, FILE, TARGET, STATE, PROGRESS, NETWORK, EFFECTIVE, ETA, SENT, SKIPPED = range(
    len(COLUMNS))
TRANSFERRED = SENT
COLUMN_TIPS = {
    DIRECTION: QT_TRANSLATE_NOOP(
        "TransfersModel", "Upload to Azure, or download from Azure to this computer"
    ),
    FILE: QT_TRANSLATE_NOOP(
        "TransfersModel", "The file on this computer: read by an upload, written by a download"
    ),
    TARGET: QT_TRANSLATE_NOOP(
        "TransfersModel",
        "The Azure side: the disk, snapshot, image version or page blob",
    ),
    PROGRESS: QT_TRANSLATE_NOOP(
        "TransfersModel", "The whole job: the data transfer and every step before and after it"
    ),
    NETWORK: QT_TRANSLATE_NOOP(
        "TransfersModel", "Bytes actually sent or received over the network per second"
    ),
    EFFECTIVE: QT_TRANSLATE_NOOP(
        "TransfersModel",
        "How fast the disk is covered: transferred bytes plus empty blocks that need no "
        "transfer",
    ),
    ETA: QT_TRANSLATE_NOOP(
        "TransfersModel", "Time left for the data transfer, from the effective speed"
    ),
    SENT: QT_TRANSLATE_NOOP(
        "TransfersModel", "Bytes sent to Azure (upload) or received from Azure (download)"
    ),
    SKIPPED: QT_TRANSLATE_NOOP(
        "TransfersModel", "Empty blocks: never transferred, they read as zeros"
    ),
}
_NUMERIC = {PROGRESS, NETWORK, EFFECTIVE, ETA, SENT, SKIPPED}
_DIRECTION_TEXT = {
    Direction.UPLOAD: QT_TRANSLATE_NOOP("TransfersModel", "↑ Upload"),
    Direction.DOWNLOAD: QT_TRANSLATE_NOOP("TransfersModel", "↓ Download"),
}
# For screen readers: the arrow is not read, the word is.
_DIRECTION_ACCESSIBLE = {
    Direction.UPLOAD: QT_TRANSLATE_NOOP("TransfersModel", "Upload to Azure"),
    Direction.DOWNLOAD: QT_TRANSLATE_NOOP("TransfersModel", "Download to this computer"),
}


def direction_text(run: TransferRun) -> str:
    return _tr(_DIRECTION_TEXT[run.direction])


def direction_texts() -> list[str]:
    """Every direction's text, translated (the column is made as wide as the longest)."""
    return [_tr(text) for text in _DIRECTION_TEXT.values()]


def target_text(run: TransferRun) -> str:
    """The Azure side of ``run`` in the window's language."""
    return render_text(run.target_label)


def state_text(run: TransferRun) -> str:
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


def _started(run: TransferRun) -> str:
    try:
        return format_datetime(datetime.fromisoformat(run.created))
    except ValueError:  # a plan file from before it held the time
        return ""


class TransfersModel(QAbstractTableModel):
    """One row per ``TransferRun``, whatever its kind: every cell comes from the protocol."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._transfers: list[TransferRun] = []
        self._listeners: dict[int, Any] = {}  # id(run) -> its change listener, to detach it

    @property
    def transfers(self) -> list[TransferRun]:
        return list(self._transfers)

    def add(self, transfer: TransferRun) -> None:
        row = len(self._transfers)
        self.beginInsertRows(QModelIndex(), row, row)
        self._transfers.append(transfer)
        self.endInsertRows()

        def changed(_run: object, t: TransferRun = transfer) -> None:
            self._changed(t)

        self._listeners[id(transfer)] = changed
        transfer.change_listeners.append(changed)

    def remove(self, transfer: TransferRun) -> None:
        if transfer not in self._transfers:
            return
        listener = self._listeners.pop(id(transfer), None)
        if listener in transfer.change_listeners:
            transfer.change_listeners.remove(listener)
        row = self._transfers.index(transfer)
        self.beginRemoveRows(QModelIndex(), row, row)
        self._transfers.pop(row)
        self.endRemoveRows()

    def _changed(self, transfer: TransferRun) -> None:
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
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if column == PROGRESS:
                return format_percent(transfer.fraction)
            if column == DIRECTION:
                return _tr(_DIRECTION_ACCESSIBLE[transfer.direction])
            return None
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == DIRECTION:
            return direction_text(transfer)
        if column == FILE:
            return render_text(transfer.title)
        if column == TARGET:
            return target_text(transfer)
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
    def _tooltip(transfer: TransferRun, column: int) -> str | None:
        if column == DIRECTION:
            return _tr(_DIRECTION_ACCESSIBLE[transfer.direction])
        if column == FILE:
            started = _started(transfer)
            if not started:
                return transfer.local_path
            return QCoreApplication.translate("TransfersModel", "{path}\nStarted {date}").format(
                path=transfer.local_path, date=started
            )
        if column == TARGET:
            return target_text(transfer)
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
    transfer_finished = Signal(object)  # an upload (the workflows' notifications are theirs)
    download_added = Signal(object)
    download_finished = Signal(object)


class TransferManager(UploadRunner[Transfer]):
    """The window's transfers: an ``UploadRunner`` whose runs are ``Transfer``s, and its
    ``downloads`` (a ``DownloadRunner`` of ``DownloadTransfer``s), all rows of one ``model``.
    The signals live on a QObject owned by ``parent``, as ``Transfer``'s do.

    ``active``, ``load_unfinished``, ``stop_all`` and ``cancel_all`` cover both kinds, so the
    window asks before quitting while a download runs and offers an unfinished one at start
    exactly as it does for uploads."""

    def __init__(self, parent: QObject | None = None) -> None:
        self.signals = _ManagerSignals(parent)
        self.downloads: DownloadRunner[DownloadTransfer] | None = None  # before super() sets
        # the session, which the property below hands on
        # The OS keyring holds the SAS of disk uploads stopped by a quit.
        super().__init__(PlanStore(journal_dir()), SasVault(), self._make)
        self.transfer_added = self.signals.transfer_added
        self.transfer_finished = self.signals.transfer_finished
        self.download_added = self.signals.download_added
        self.download_finished = self.signals.download_finished
        self.model = TransfersModel(self.signals)
        self.added.append(self._added)
        self.removed.append(self.model.remove)
        # One preferences object: the settings' bandwidth budget is shared by both directions.
        downloads = DownloadRunner(DownloadPlanStore(journal_dir()), self._make_download,
                                   self.preferences)
        downloads.session = self._session
        downloads.added.append(self._download_added)
        downloads.removed.append(self.model.remove)
        self.downloads = downloads

    @property
    def session(self) -> Any:
        return self._session

    @session.setter
    def session(self, session: Any) -> None:
        self._session = session
        if self.downloads is not None:
            self.downloads.session = session

    def _make(self, plan: UploadPlan, store: PlanStore, vault: SasVault) -> Transfer:
        transfer = Transfer(plan, store, vault, self.signals)
        transfer.finished.connect(lambda t=transfer: self.transfer_finished.emit(t))
        return transfer

    def _make_download(
        self, source: DownloadSource, plan: DownloadPlan, options: DownloadOptions,
        store: DownloadPlanStore,
    ) -> DownloadTransfer:
        run = DownloadTransfer(source, plan, options, store, self.signals)
        run.finished.connect(lambda r=run: self.download_finished.emit(r))
        return run

    def _added(self, transfer: Transfer) -> None:
        self.model.add(transfer)
        self.transfer_added.emit(transfer)

    def _download_added(self, run: DownloadTransfer) -> None:
        self.model.add(run)
        self.download_added.emit(run)

    def _downloads(self) -> DownloadRunner[DownloadTransfer]:
        assert self.downloads is not None  # made in __init__
        return self.downloads

    # --- both kinds ---------------------------------------------------------------------------

    def submit_download(self, source: DownloadSource, path: Path, fmt: str, *,
                        overwrite: bool = False) -> DownloadTransfer:
        """Starts a download with the app's session; it shows as a row at once."""
        return self._downloads().submit(source, path, fmt, overwrite=overwrite)

    def upload_of(self, run: object) -> Transfer | None:
        """``run`` as one of the uploads, or None (by identity: the panel's rows are runs of
        any kind, and upload-only actions such as a retried image step need the upload)."""
        return next((mine for mine in self.runs if mine is run), None)

    # Overrides that widen the upload runner's methods to every row (a TransferRun): the base's
    # callers (the quit logic, the workflows) use only what the protocol gives.
    @property
    def active(self) -> list[TransferRun]:  # type: ignore[override]
        return [*self._running(), *self._downloads().active]

    def load_unfinished(self) -> list[TransferRun]:  # type: ignore[override]
        """Uploads and downloads an earlier run left unfinished, ready to resume."""
        return [*super().load_unfinished(), *self._downloads().load_unfinished()]

    def resume(self, run: TransferRun, sas_url: str | None = None) -> None:
        upload = self.upload_of(run)
        if upload is not None:
            super().resume(upload, sas_url)
            return
        download = self._downloads().run_of(run)
        if download is not None:
            self._downloads().resume(download, sas_url)

    def discard(self, run: TransferRun) -> None:
        upload = self.upload_of(run)
        if upload is not None:
            super().discard(upload)
            return
        download = self._downloads().run_of(run)
        if download is not None:
            self._downloads().discard(download)

    def cancel_all(self) -> None:
        super().cancel_all()
        self._downloads().cancel_all()

    async def stop_all(self, timeout: float = 20.0, *, keep: bool = False) -> None:
        await asyncio.gather(super().stop_all(timeout, keep=keep),
                             self._downloads().stop_all(timeout, keep=keep))


async def stop_all(manager: TransferManager, timeout: float = 20.0, *, keep: bool = False) -> None:
    """``TransferManager.stop_all`` for the window's transfers, uploads and downloads."""
    await manager.stop_all(timeout, keep=keep)

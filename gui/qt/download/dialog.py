"""Download…: where the file goes and in which format, then the download with its progress.

Given the window's ``TransferManager`` (as "Download…" in the tree does), the download is a row
of the Transfers panel, which runs it: the dialog follows it (the steps in the one step widget,
a progress bar, Pause/Resume and Stop) and may close while it goes on. Without one (a window
with no Transfers panel) the dialog runs the download itself and closing it stops the download;
what was fetched stays in either case, and the same download started again resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import CatalogNode, NodeKind, SourceKind
from gui.azure.download.source import DownloadSource
from gui.azure.download.source import SourceKind as DownloadKind
from gui.azure.upload.job import JobStatus
from gui.qt.i18n import format_size, render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet
from gui.qt.widgets.step_list import StepList

if TYPE_CHECKING:
    from gui.qt.transfers.dock import TransfersDock
    from gui.qt.transfers.model import TransferManager

# The formats offered, in this order (the writers' spellings; the labels are translated below).
FORMATS = ("vhd", "vhd-dynamic", "vhdx", "raw")


def _suffix(fmt: str) -> str:
    from gui.diskimage.writers import OutputFormat

    return OutputFormat(fmt).suffix


def download_source_of(node: CatalogNode, subscription_id: str) -> DownloadSource | None:
    """What ``node`` downloads, in ``subscription_id`` (the tree's): a managed disk, a snapshot
    or a version of one of the user's own galleries; None for anything else."""
    from gui.azure.download.source import parse_source

    ref, parts = node.ref, node.ref.parts
    compute = f"/subscriptions/{subscription_id}/resourceGroups/{{rg}}/providers/Microsoft.Compute"
    if ref.source is SourceKind.GALLERY and len(parts) == 4 and node.kind is NodeKind.VERSION:
        rg, gallery, definition, version = parts
        return parse_source(compute.format(rg=rg) + f"/galleries/{gallery}/images/{definition}"
                            f"/versions/{version}")
    if ref.source is SourceKind.MANAGED and ref.disk_kind is not None:
        kind = "snapshots" if ref.disk_kind is NodeKind.SNAPSHOT else "disks"
        return parse_source(compute.format(rg=parts[0]) + f"/{kind}/{parts[2]}")
    return None


def is_blob_node(node: CatalogNode) -> bool:
    """A page blob of "VHDs in storage accounts": downloaded by a read-only SAS URL that is
    signed (``blob_download_source``) only when the user asks, kept in memory only."""
    return node.ref.source is SourceKind.STORAGE and node.kind is NodeKind.BLOB


async def blob_download_source(session: Any, subscription_id: str,
                               node: CatalogNode) -> DownloadSource:
    """The blob as a SAS URL source: a short-lived read-only SAS signed with the account key."""
    from gui.azure.catalog.storage_blobs import blob_read_sas_url

    url = await blob_read_sas_url(session, subscription_id, node.ref)
    name = node.name.rsplit("/", 1)[-1]
    stem = name[:-4] if name.lower().endswith(".vhd") and len(name) > 4 else name
    return DownloadSource(DownloadKind.SAS_URL, url, name=stem)


class DownloadDialog(QDialog):
    """Asks for the file, the format (and a gallery version's disk), then downloads ``source``:
    through ``transfers`` (the panel's manager, with its session) when given, else itself with
    ``session``. ``started`` carries the run once it started (a row of the panel then);
    ``downloaded`` carries the file's path when the download is complete."""

    downloaded = Signal(str)
    started = Signal(object)
    _snapshot = Signal(object)  # from the engine's thread to this one (a queued connection)

    def __init__(self, source: DownloadSource, session: Any,
                 parent: QWidget | None = None,
                 transfers: TransferManager | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("downloadDialog")
        self.source = source
        self.session = session
        self.transfers = transfers
        self.run: Any = None
        self.setWindowTitle(self.tr("Download {name}").format(name=source.name))
        layout = QVBoxLayout(self)
        heading = QLabel(self.tr(
            "Only the disk's data travels; empty parts stay empty in the file. An interrupted "
            "download continues where it stopped when you start it again with the same file."))
        if transfers is not None:
            heading.setText(heading.text() + " " + self.tr(
                "The download also shows in the Transfers panel: you may close this window "
                "while it goes on."))
        heading.setWordWrap(True)
        layout.addWidget(heading)
        form = QFormLayout()
        layout.addLayout(form)
        self.path = QLineEdit(self)
        self.path.setObjectName("downloadPath")
        self.browse = QPushButton(self.tr("&Browse…"), self)
        self.browse.setAccessibleName(self.tr("Choose the file"))
        self.browse.clicked.connect(self._choose_file)
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(self.browse)
        self._row(form, self.tr("&File:"), self.path, self.tr("File"), row)
        self.format = QComboBox(self)
        self.format.setObjectName("downloadFormat")
        labels = {
            "vhd": self.tr("Fixed VHD (what Azure stores)"),
            "vhd-dynamic": self.tr("Dynamic VHD (only blocks with data)"),
            "vhdx": self.tr("VHDX (Hyper-V; only blocks with data)"),
            "raw": self.tr("Raw disk"),
        }
        for fmt in FORMATS:
            self.format.addItem(labels[fmt], fmt)
        self.format.currentIndexChanged.connect(self._format_changed)
        self._row(form, self.tr("F&ormat:"), self.format, self.tr("Format"))
        self.lun = QSpinBox(self)
        self.lun.setObjectName("downloadLun")
        self.lun.setRange(-1, 63)
        self.lun.setSpecialValueText(self.tr("OS disk"))
        self.lun.setValue(-1)
        if source.kind is DownloadKind.GALLERY_VERSION:
            self._row(form, self.tr("Dis&k (data disk LUN):"), self.lun, self.tr("Disk"))
        else:
            self.lun.hide()
        self.problem = QLabel()
        self.problem.setObjectName("downloadProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(text_style(Tone.ERROR))
        self.problem.hide()
        layout.addWidget(self.problem)
        self.steps = StepList()
        self.steps.setAccessibleName(self.tr("Download steps"))
        layout.addWidget(self.steps)
        self.progress = QProgressBar(self)
        self.progress.setObjectName("downloadProgress")
        self.progress.setRange(0, 1000)
        self.progress.setAccessibleName(self.tr("Download progress"))
        layout.addWidget(self.progress)
        self.status = QLabel()
        self.status.setObjectName("downloadStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.start_button = QPushButton(self.tr("&Download"))
        self.start_button.setObjectName("startDownload")
        self.start_button.setDefault(True)
        self.pause_button = QPushButton(self.tr("&Pause"))
        self.pause_button.setObjectName("pauseDownload")
        self.pause_button.setEnabled(False)
        self.cancel_button = QPushButton(self.tr("S&top download"))
        self.cancel_button.setObjectName("cancelDownload")
        self.cancel_button.setEnabled(False)
        for button in (self.start_button, self.pause_button, self.cancel_button):
            self.buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self._pause_or_resume)
        self.cancel_button.clicked.connect(self._cancel)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._snapshot.connect(self._apply_snapshot)
        self.path.setText(str(Path.home() / f"{source.name}{_suffix('vhd')}"))
        self.resize(620, 460)

    @staticmethod
    def _row(form: QFormLayout, text: str, field: QWidget, accessible: str,
             row: QHBoxLayout | None = None) -> None:
        label = QLabel(text)
        label.setBuddy(field)
        field.setAccessibleName(accessible)
        if row is not None:
            form.addRow(label, row)
        else:
            form.addRow(label, field)

    # --- what was asked ----------------------------------------------------------------------

    def chosen_format(self) -> str:
        return str(self.format.currentData())

    def _format_changed(self) -> None:
        """The file's suffix follows the format while it is one of ours."""
        text = self.path.text().strip()
        if not text:
            return
        path = Path(text)
        if path.suffix.lower() in {_suffix(fmt) for fmt in FORMATS}:
            self.path.setText(str(path.with_suffix(_suffix(self.chosen_format()))))

    def _choose_file(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(
            self, self.tr("Download to"), self.path.text(),
            self.tr("Disk images (*.vhd *.vhdx *.raw *.img);;All files (*)"))
        if chosen:
            self.path.setText(chosen)

    def plan(self) -> tuple[DownloadSource, Path, str]:
        """The source (with the chosen LUN), the file and the format; ValueError with what to
        correct (translated)."""
        from dataclasses import replace

        text = self.path.text().strip()
        if not text:
            raise ValueError(self.tr("Give the file to download to."))
        path = Path(text).expanduser()
        if path.is_dir():
            raise ValueError(self.tr("{path} is a folder: give a file name.").format(path=path))
        if not path.parent.is_dir():
            raise ValueError(self.tr("The folder {folder} does not exist.").format(
                folder=path.parent))
        source = self.source
        if source.kind is DownloadKind.GALLERY_VERSION:
            source = replace(source, lun=None if self.lun.value() < 0 else self.lun.value())
        return source, path, self.chosen_format()

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        from gui.azure.download.runner import DownloadRun
        from gui.transfer.download import DownloadOptions

        try:
            source, path, fmt = self.plan()
        except ValueError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.problem.hide()
        for field in (self.path, self.browse, self.format, self.lun, self.start_button):
            field.setEnabled(False)
        self.status.setStyleSheet("")
        self.status.setText(self.tr("Downloading…"))
        self._detach()  # a run this dialog started before (failed or stopped) is followed no more
        self.pause_button.setEnabled(True)
        self.cancel_button.setEnabled(True)
        # Overwriting an existing file is the user's choice here (the file dialog asked).
        previous = self.run
        if self.transfers is not None:
            # The panel's manager runs it (and offers it again after a restart if need be).
            if previous is not None and (previous.source, previous.path, previous.format) == (
                source, path, fmt
            ):
                # The same download again: its row resumes (one row, its journal kept).
                self.transfers.resume(previous)
            else:
                self.run = self.transfers.submit_download(source, path, fmt, overwrite=True)
            self._follow(self.run)
            self._changed(self.run)
        else:
            self.run = DownloadRun(source, path, fmt, DownloadOptions(overwrite=True),
                                   on_snapshot=self._snapshot.emit)
            self._follow(self.run)
            self.run.start(self.session)
        self.started.emit(self.run)

    def _follow(self, run: Any) -> None:
        self.steps.set_steps(run.planned_steps)  # all of them, waiting, from the start
        run.change_listeners.append(self._changed)
        run.finish_listeners.append(self._finished)

    def _detach(self) -> None:
        """Stops following the run: the panel may keep it long after this dialog is gone."""
        run = self.run
        if run is None:
            return
        if self._changed in run.change_listeners:
            run.change_listeners.remove(self._changed)
        if self._finished in run.finish_listeners:
            run.finish_listeners.remove(self._finished)

    def _apply_snapshot(self, snapshot: Any) -> None:
        if self.run is not None:
            self.run.apply_snapshot(snapshot)

    def _changed(self, run: Any) -> None:
        self.steps.show_events(run.steps.values())
        self.progress.setValue(int(run.fraction * 1000))
        snapshot = run.snapshot
        if snapshot is not None and run.status in (JobStatus.RUNNING, JobStatus.PAUSED):
            self.status.setText(self.tr("{done} of {total} ({fetched} fetched)").format(
                done=format_size(snapshot.bytes_done), total=format_size(snapshot.total_bytes),
                fetched=format_size(snapshot.bytes_sent)))
        paused = run.status is JobStatus.PAUSED
        self.pause_button.setText(self.tr("&Resume") if paused else self.tr("&Pause"))

    def _finished(self, run: Any) -> None:
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.steps.stop()
        if run.status is JobStatus.COMPLETED:
            self.progress.setValue(1000)
            self.status.setText(self.tr("Downloaded to {path}").format(path=run.path))
            self.downloaded.emit(str(run.path))
            return
        for field in (self.path, self.browse, self.format, self.lun, self.start_button):
            field.setEnabled(True)
        self.start_button.setText(self.tr("&Download again (resumes)"))
        self.status.setText(render_text(run.error))
        self.status.setStyleSheet(text_style(Tone.ERROR))

    def _pause_or_resume(self) -> None:
        if self.run is None:
            return
        if self.run.status is JobStatus.PAUSED:
            self.run.resume()
        else:
            self.run.pause()

    def _cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()

    def done(self, result: int) -> None:
        # A download of the panel goes on there. One this dialog runs alone stops with it (the
        # journal keeps what was fetched).
        if (self.transfers is None and self.run is not None
                and self.run.status in (JobStatus.RUNNING, JobStatus.PAUSED)):
            self.run.cancel()
        self._detach()
        super().done(result)


class DownloadActions(QObject):
    """"Download…" in the tree's context menu for a managed disk, a snapshot, a version of one
    of the user's galleries or a page blob (VHD) in a storage account.

    The app controller registers it: ``window.add_node_actions(download_actions.node_actions)``,
    and hands it the session when one is connected (``connected``). Once the window has its
    Transfers panel, a started download is a row there and the panel comes to the front."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.session: Any = None
        self.dialogs: list[DownloadDialog] = []
        self.action = QAction(self.tr("Download…"), window)
        self.action.setObjectName("downloadSelected")
        self.action.setStatusTip(self.tr(
            "Download the selected disk, snapshot, image version or VHD blob to a file on this "
            "computer"))
        self.action.triggered.connect(self.download_selected)
        self._tasks = TaskSet("DownloadActions")
        self.problem: QMessageBox | None = None  # the last "could not start" message

    def connected(self, session: Any) -> None:
        self.session = session

    def _panel(self) -> TransfersDock | None:
        """The window's Transfers panel; None before it has one (it comes after first paint)."""
        try:
            dock: TransfersDock = self.window.transfers_dock
        except (AttributeError, RuntimeError):
            return None
        return dock

    @staticmethod
    def _show_panel(dock: TransfersDock) -> None:
        # In front, as the workflows show it for an upload: it shares its place with the Log.
        dock.show()
        dock.raise_()

    def _source(self, nodes: list[CatalogNode]) -> DownloadSource | None:
        if len(nodes) != 1 or self.session is None:
            return None
        return download_source_of(nodes[0], self.window.subscription_id)

    def _blob(self, nodes: list[CatalogNode]) -> CatalogNode | None:
        if len(nodes) != 1 or self.session is None or not is_blob_node(nodes[0]):
            return None
        return nodes[0]

    def node_actions(self, menu: QMenu, nodes: list[CatalogNode]) -> None:
        if self._source(nodes) is not None or self._blob(nodes) is not None:
            menu.addAction(self.action)

    def download_selected(self) -> DownloadDialog | None:
        """The dialog for the selected node; for a page blob it opens once the blob's SAS is
        signed (None is returned then: ``dialogs`` gets it)."""
        nodes = self.window.selected_nodes()
        blob = self._blob(nodes)
        if blob is not None:
            self._tasks.spawn(self._download_blob(blob))
            return None
        source = self._source(nodes)
        if source is None:
            return None
        return self.download(source)

    async def _download_blob(self, node: CatalogNode) -> None:
        from gui.azure.errors import translate

        try:
            source = await blob_download_source(self.session, self.window.subscription_id, node)
        except Exception as exc:  # shown, never raised into Qt: the one error model's text
            self.problem = QMessageBox(
                QMessageBox.Icon.Warning, self.tr("Download {name}").format(name=node.label),
                render_text(translate(exc)), QMessageBox.StandardButton.Close, self.window)
            self.problem.setObjectName("downloadProblemBox")
            self.problem.open()
            return
        self.download(source)

    def download(self, source: DownloadSource) -> DownloadDialog:
        """The dialog for ``source``; a download it starts is the panel's (shown in front)."""
        dock = self._panel()
        dialog = DownloadDialog(source, self.session, self.window,
                                dock.manager if dock is not None else None)
        if dock is not None:
            dialog.started.connect(lambda _run: self._show_panel(dock))
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _result: self.dialogs.remove(dialog))
        dialog.open()
        return dialog

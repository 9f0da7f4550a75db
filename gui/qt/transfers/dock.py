"""The Transfers panel: every upload and download of this run and those an earlier run left
unfinished, one row each, with the same buttons for both (a row is any ``TransferRun``)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from PySide6.QtCore import (
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import NodeRef
from gui.azure.jobs import Direction, TransferRun
from gui.qt.style import Tone, color
from gui.qt.transfers.model import (
    DIRECTION,
    EFFECTIVE,
    ETA,
    FILE,
    NETWORK,
    PROGRESS,
    SENT,
    SKIPPED,
    STATE,
    TARGET,
    Status,
    ToneRole,
    Transfer,
    TransferManager,
    direction_texts,
    target_text,
)
from gui.qt.widgets.measures import format_percent


class ProgressDelegate(QStyledItemDelegate):
    """The Progress column as a bar, coloured by how the job stands (``ToneRole``)."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        value = index.data(Qt.ItemDataRole.DisplayRole)
        if not isinstance(value, int):
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 3, -2, -3)
        bar.minimum, bar.maximum, bar.progress = 0, 100, value
        bar.text = format_percent(value / 100)
        bar.textVisible = True
        widget = option.widget
        style = widget.style() if isinstance(widget, QWidget) else QApplication.style()
        # The selection as the other cells show it, behind the bar; the bar itself is never
        # drawn "selected" (in the highlight colour, which a failed job must not wear).
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        # Qt 6 draws a bar horizontally only when told so
        bar.state = (option.state & ~QStyle.StateFlag.State_Selected) | (
            QStyle.StateFlag.State_Horizontal
        )
        palette = QPalette(option.palette)
        tone = index.data(ToneRole)
        if isinstance(tone, Tone):
            chunk = color(tone, palette, QPalette.ColorRole.Base)
            palette.setColor(QPalette.ColorRole.Highlight, chunk)
        bar.palette = palette
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class ElideRightDelegate(QStyledItemDelegate):
    """State text reads from its start ("Failed: …"); paths elsewhere keep both ends."""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideRight


@runtime_checkable
class ShowsNewImages(Protocol):
    """A window that selects a new image in its browser (the main window)."""

    def image_ready(self, ref: NodeRef) -> None: ...


class TransfersDock(QDockWidget):
    # An image step retried from here made its image (the wizard has its own signal).
    image_ready = Signal(object)

    def __init__(self, manager: TransferManager, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        window: object = parent  # any QWidget; the main window also shows new images
        if isinstance(window, ShowsNewImages):
            # The window selects the image a retry made, as it does for the wizard's.
            self.image_ready.connect(window.image_ready)
        self.setWindowTitle(self.tr("Transfers"))
        self.setObjectName("transfersDock")
        self.manager = manager
        self.table = QTableView()
        self.table.setObjectName("transfersTable")
        self.table.setAccessibleName(self.tr("Transfers"))
        self.table.setModel(manager.model)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.table))
        self.table.setItemDelegateForColumn(STATE, ElideRightDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        # Tab moves on to the buttons instead of from cell to cell (never stuck in the table).
        self.table.setTabKeyNavigation(False)
        # Paths and URLs keep both ends (the disk's name is at the end); tooltips hold all.
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self._size_columns()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.installEventFilter(self)
        self.pause_button = QPushButton(self.tr("&Pause"))
        self.resume_button = QPushButton(self.tr("&Resume"))
        self.cancel_button = QPushButton(self.tr("&Cancel upload"))
        self.remove_button = QPushButton(self.tr("Re&move"))
        # The texts that name the kind of the selected row (the same & in both).
        self._cancel_texts = {
            Direction.UPLOAD: self.tr("&Cancel upload"),
            Direction.DOWNLOAD: self.tr("&Cancel download"),
        }
        self._cancel_tips = {
            Direction.UPLOAD: self.tr(
                "Stop the upload and revoke write access; what was sent is kept for a resume"),
            Direction.DOWNLOAD: self.tr(
                "Stop the download and revoke read access; what was received stays in the "
                "file for a resume"),
        }
        self._remove_tips = {
            Direction.UPLOAD: self.tr(
                "Remove the upload from the list (an unfinished one can then not be resumed)"),
            Direction.DOWNLOAD: self.tr(
                "Remove the download from the list (an unfinished one can then not be "
                "resumed; the partial file stays)"),
        }
        self.pause_button.setToolTip(self.tr("Pause the selected transfer; nothing is sent or "
                                             "received until it is resumed"))
        self.resume_button.setToolTip(self.tr("Continue the selected transfer where it "
                                              "stopped"))
        self.cancel_button.setToolTip(self._cancel_tips[Direction.UPLOAD])
        self.remove_button.setToolTip(self._remove_tips[Direction.UPLOAD])
        self.pause_button.clicked.connect(lambda: self._act("pause"))
        self.resume_button.clicked.connect(lambda: self._act("resume"))
        self.cancel_button.clicked.connect(lambda: self._act("cancel"))
        self.remove_button.clicked.connect(lambda: self._act("remove"))
        # Only for a failed image step (its data is in Azure): that step alone, renamed.
        self.retry_button = QPushButton(self.tr("Retry with &another name…"))
        self.retry_button.setObjectName("retryFollowUp")
        self.retry_button.setToolTip(self.tr(
            "Make the image again from the uploaded disks under another name (a gallery "
            "version: another version number or definition); no data is uploaded again"))
        self.retry_button.clicked.connect(lambda: self._act("retry"))
        self.retry_dialog: QWidget | None = None  # the open "Retry with another name…"
        buttons = QHBoxLayout()
        for button in (
            self.pause_button,
            self.resume_button,
            self.cancel_button,
            self.retry_button,
            self.remove_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        manager.model.dataChanged.connect(self._update_buttons)
        manager.model.rowsInserted.connect(self._select_new)
        manager.model.rowsRemoved.connect(self._update_buttons)
        self._update_buttons()

    def _size_columns(self) -> None:
        """Widths from the font: names and targets get room to be read (they elide in the
        middle beyond), numbers the room their longest value needs; the user may drag any."""
        metrics = self.table.fontMetrics()
        char = metrics.averageCharWidth()
        pad = 2 * char

        def fits(text: str) -> int:
            return metrics.horizontalAdvance(text) + pad

        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setMinimumSectionSize(6 * char)
        # The State column is moved last: it reads best there and takes what is left (an
        # error's first line), at least its own width (the table scrolls rather than squeeze).
        header.setStretchLastSection(True)
        widths = {
            DIRECTION: max(fits(text) for text in direction_texts()),
            STATE: 32 * char,
            FILE: 28 * char,
            TARGET: 40 * char,
            PROGRESS: max(fits("100.0 %"), 16 * char),
            NETWORK: fits("8888.8 MiB/s"),
            EFFECTIVE: fits("8888.8 MiB/s"),
            ETA: fits("88 min 88 s"),
            SENT: fits("888.8 GiB"),
            SKIPPED: fits("888.8 GiB"),
        }
        model = self.table.model()
        for column, width in widths.items():
            # Never narrower than the header's own text (translations are often longer).
            title = model.headerData(column, Qt.Orientation.Horizontal)
            header.resizeSection(column, max(width, fits(str(title or "")) + char))
        header.setSectionsMovable(False)
        header.moveSection(STATE, header.count() - 1)
        self.table.setMinimumWidth(60 * char)

    def selected(self) -> TransferRun | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        transfers = self.manager.model.transfers
        row = rows[0].row()
        return transfers[row] if 0 <= row < len(transfers) else None

    def _select_new(self, _parent: QModelIndex, _first: int, last: int) -> None:
        self.table.selectRow(last)

    def _update_buttons(self, *_args: Any) -> None:
        transfer = self.selected()
        status = transfer.status if transfer is not None else None
        self.pause_button.setEnabled(status is Status.RUNNING)
        self.resume_button.setEnabled(status is not None and self._resumable(status))
        self.cancel_button.setEnabled(status is not None and status.active)
        self.remove_button.setEnabled(status is not None and not status.active)
        if transfer is not None:
            direction = transfer.direction
            self.cancel_button.setText(self._cancel_texts[direction])
            self.cancel_button.setToolTip(self._cancel_tips[direction])
            self.remove_button.setToolTip(self._remove_tips[direction])
        retry = transfer is not None and transfer.follow_up_failed
        self.retry_button.setVisible(retry)
        self.retry_button.setEnabled(retry)

    @staticmethod
    def _resumable(status: Status) -> bool:
        return status is Status.PAUSED or status.resumable

    # --- keyboard and context menu ------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """In the table, Delete does what Remove does (only for a row that is not running, and
        an unfinished one is asked about first); Enter and Return do nothing: no upload starts
        or stops by a stray key."""
        if watched is self.table and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key == Qt.Key.Key_Delete:
                if self.remove_button.isEnabled():
                    self._act("remove")
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                return True
        return super().eventFilter(watched, event)

    def _context_menu(self, pos: QPoint) -> None:
        """Also opened by the Menu key and Shift+F10: then ``pos`` may be over no row, and the
        current row is meant."""
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.selectRow(index.row())
        else:
            current = self.table.currentIndex()
            if not current.isValid():
                return
            self.table.selectRow(current.row())
            rect = self.table.visualRect(current)
            pos = rect.center()
        menu = QMenu(self)
        for button, action in (
            (self.pause_button, "pause"),
            (self.resume_button, "resume"),
            (self.cancel_button, "cancel"),
            (self.retry_button, "retry"),
            (self.remove_button, "remove"),
        ):
            if button is self.retry_button and not button.isEnabled():
                continue  # offered only where it applies: a failed image step
            item = menu.addAction(button.text())
            item.setEnabled(button.isEnabled())
            item.triggered.connect(lambda _checked=False, a=action: self._act(a))
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # --- actions ------------------------------------------------------------------------------

    def _act(self, action: str) -> None:
        transfer = self.selected()
        if transfer is None:
            return
        if action == "pause":
            transfer.pause()
        elif action == "cancel":
            transfer.cancel()
        elif action == "remove":
            self._remove(transfer)
        elif action == "retry":
            self._retry_follow_up(transfer)
        elif transfer.status is Status.PAUSED:
            transfer.resume()
        elif transfer.needs_sas:
            self._ask_sas(transfer)
        else:
            self.manager.resume(transfer)
        self._update_buttons()

    def _remove(self, transfer: TransferRun) -> None:
        """A finished transfer goes at once; an unfinished one is asked about, since removing
        it forgets what was transferred (it cannot be resumed after that)."""
        if transfer.status is Status.COMPLETED:
            self.manager.discard(transfer)
            return
        questions = {
            Direction.UPLOAD: (self.tr("Remove upload"), self.tr(
                "Remove the unfinished upload of {file}? It can then no longer be resumed; "
                "an upload of it starts from the beginning.")),
            Direction.DOWNLOAD: (self.tr("Remove download"), self.tr(
                "Remove the unfinished download to {file}? It can then no longer be resumed; "
                "a download of it starts from the beginning. The partial file stays.")),
        }
        title, question = questions[transfer.direction]
        box = QMessageBox(
            QMessageBox.Icon.Question,
            title,
            question.format(file=transfer.title),
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("removeUploadBox")
        remove = box.addButton(self.tr("Re&move"), QMessageBox.ButtonRole.DestructiveRole)
        remove.setObjectName("confirmRemove")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        remove.clicked.connect(lambda: self.manager.discard(transfer))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _retry_follow_up(self, run: TransferRun) -> None:
        """Asks for another name (checked before anything is sent), then runs the failed image
        step alone; once it made its image, the window selects it."""
        transfer = self.manager.upload_of(run)  # only an upload has an image step
        if transfer is None or not transfer.follow_up_failed:
            return
        # Imported here: the dialog is only needed once an image step has failed.
        from gui.azure.upload.follow_up import FollowUpNames
        from gui.qt.upload.rename_dialog import RetryFollowUpDialog

        manager = self.manager

        def retry(spec: Any) -> None:
            manager.retry_follow_up(transfer, spec)
            transfer.finished.connect(lambda: self._retried(transfer),
                                      Qt.ConnectionType.SingleShotConnection)

        dialog = RetryFollowUpDialog(
            transfer.plan, FollowUpNames(manager.session, transfer.plan), retry, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.retry_dialog = dialog
        dialog.open()

    def _retried(self, transfer: Transfer) -> None:
        result = transfer.result
        if transfer.status is Status.COMPLETED and result is not None and result.image:
            self.image_ready.emit(result.image)

    def _ask_sas(self, transfer: TransferRun) -> None:
        """The SAS was never saved: ask for it again (with open(), not exec())."""
        dialog = QInputDialog(self)
        asks = {
            Direction.UPLOAD: (self.tr("Resume upload"), self.tr(
                "Paste a SAS URL with write access for\n{target}\n"
                "(SAS tokens are never stored, so it is needed again):")),
            Direction.DOWNLOAD: (self.tr("Resume download"), self.tr(
                "Paste a SAS URL with read access for\n{target}\n"
                "(SAS tokens are never stored, so it is needed again):")),
        }
        title, label = asks[transfer.direction]
        dialog.setWindowTitle(title)
        dialog.setLabelText(label.format(target=target_text(transfer)))
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.textValueSelected.connect(
            lambda url: self.manager.resume(transfer, url.strip()) if url.strip() else None
        )
        dialog.open()

"""The Transfers panel: every upload of this run and those an earlier run left unfinished."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.qt.transfers.model import Status, Transfer, TransferManager, TransferRole


class ProgressDelegate(QStyledItemDelegate):
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
        bar.text = f"{value} %"
        bar.textVisible = True
        # Qt 6 draws a bar horizontally only when told so
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        style = QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class TransfersDock(QDockWidget):
    def __init__(self, manager: TransferManager, parent: QWidget | None = None) -> None:
        super().__init__("Transfers", parent)
        self.setObjectName("transfersDock")
        self.manager = manager
        self.table = QTableView()
        self.table.setObjectName("transfersTable")
        self.table.setModel(manager.model)
        self.table.setItemDelegateForColumn(3, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(3, 160)
        self.pause_button = QPushButton("Pause")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.remove_button = QPushButton("Remove")
        self.pause_button.clicked.connect(lambda: self._act("pause"))
        self.resume_button.clicked.connect(lambda: self._act("resume"))
        self.cancel_button.clicked.connect(lambda: self._act("cancel"))
        self.remove_button.clicked.connect(lambda: self._act("remove"))
        buttons = QHBoxLayout()
        for button in (
            self.pause_button,
            self.resume_button,
            self.cancel_button,
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
        self._update_buttons()

    def selected(self) -> Transfer | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        transfer = rows[0].data(TransferRole)
        return transfer if isinstance(transfer, Transfer) else None

    def _select_new(self, _parent: QModelIndex, _first: int, last: int) -> None:
        self.table.selectRow(last)

    def _update_buttons(self, *_args: Any) -> None:
        transfer = self.selected()
        status = transfer.status if transfer is not None else None
        self.pause_button.setEnabled(status is Status.RUNNING)
        self.resume_button.setEnabled(
            status is Status.PAUSED or (status is not None and status.resumable)
        )
        self.cancel_button.setEnabled(status is not None and status.active)
        self.remove_button.setEnabled(status is not None and not status.active)

    def _act(self, action: str) -> None:
        transfer = self.selected()
        if transfer is None:
            return
        if action == "pause":
            transfer.pause()
        elif action == "cancel":
            transfer.cancel()
        elif action == "remove":
            self.manager.discard(transfer)
        elif transfer.status is Status.PAUSED:
            transfer.resume()
        elif transfer.needs_sas:
            self._ask_sas(transfer)
        else:
            self.manager.resume(transfer)
        self._update_buttons()

    def _ask_sas(self, transfer: Transfer) -> None:
        """The SAS was never saved: ask for it again (with open(), not exec())."""
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Resume upload")
        dialog.setLabelText(
            f"Paste a SAS URL with write access for\n{transfer.target_label}\n"
            "(SAS tokens are never stored, so it is needed again):"
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.textValueSelected.connect(
            lambda url: self.manager.resume(transfer, url.strip()) if url.strip() else None
        )
        dialog.open()

"""The disks of one image: the OS disk first, then each data disk by LUN."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from gui.azure.catalog.nodes import DiskRole, DiskSpec
from gui.qt.i18n import format_size, render_text

AnyIndex = QModelIndex | QPersistentModelIndex

DiskRoleData = Qt.ItemDataRole.UserRole + 1

_DASH = "—"
_CONTEXT = "DiskTableModel"

# QT_TRANSLATE_NOOP is typed to return object: the texts are str at run time.
COLUMNS: tuple[tuple[object, object], ...] = (
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "Disk"),
        QT_TRANSLATE_NOOP("DiskTableModel", "The OS disk, or a data disk"),
    ),
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "LUN"),
        QT_TRANSLATE_NOOP("DiskTableModel", "Logical unit number the data disk is attached at"),
    ),
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "OS type"),
        QT_TRANSLATE_NOOP("DiskTableModel", "Operating system on the OS disk"),
    ),
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "OS state"),
        QT_TRANSLATE_NOOP(
            "DiskTableModel",
            "Generalized images make new VMs; specialized ones keep the original identity",
        ),
    ),
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "Size"),
        QT_TRANSLATE_NOOP("DiskTableModel", "Disk size in GiB"),
    ),
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "Caching"),
        QT_TRANSLATE_NOOP("DiskTableModel", "Host caching of the disk"),
    ),
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "Storage type"),
        QT_TRANSLATE_NOOP(
            "DiskTableModel", "Storage account type (disk SKU) the image keeps its disks on"
        ),
    ),
    (
        QT_TRANSLATE_NOOP("DiskTableModel", "Source"),
        QT_TRANSLATE_NOOP("DiskTableModel", "The disk, snapshot or blob the image was made from"),
    ),
)

_ROLES = {
    DiskRole.OS: QT_TRANSLATE_NOOP("DiskTableModel", "OS disk"),
    DiskRole.DATA: QT_TRANSLATE_NOOP("DiskTableModel", "Data disk"),
}


def _tr(text: object) -> str:
    return QCoreApplication.translate(_CONTEXT, str(text))


def _cells(disk: DiskSpec) -> tuple[str, ...]:
    if disk.storage_type:
        storage = render_text(disk.storage_type)  # an SKU as Azure names it, or our Text
    elif disk.role is DiskRole.OS:
        storage = QCoreApplication.translate("DiskTableModel", "chosen at deployment")
    else:
        storage = _DASH
    return (
        _tr(_ROLES[disk.role]),
        _DASH if disk.lun is None else str(disk.lun),
        disk.os_type or _DASH,
        disk.os_state or _DASH,
        format_size(disk.size_bytes)
        if disk.size_bytes is not None
        else _DASH
        if disk.size_gb is None
        else QCoreApplication.translate("DiskTableModel", "{size} GiB").format(size=disk.size_gb),
        disk.caching or _DASH,
        storage,
        disk.source or _DASH,
    )


class DiskTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._disks: list[DiskSpec] = []

    def set_disks(self, disks: tuple[DiskSpec, ...] | list[DiskSpec]) -> None:
        self.beginResetModel()
        self._disks = list(disks)
        self.endResetModel()

    @property
    def disks(self) -> list[DiskSpec]:
        return list(self._disks)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._disks)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._disks):
            return None
        disk = self._disks[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return _cells(disk)[index.column()]
        if role == DiskRoleData:
            return disk
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (1, 4):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return _tr(COLUMNS[section][0])
        if role == Qt.ItemDataRole.ToolTipRole:
            return _tr(COLUMNS[section][1])
        return None

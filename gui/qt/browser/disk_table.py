"""The disks of one image: the OS disk first, then each data disk by LUN."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from gui.azure.catalog.nodes import DiskRole, DiskSpec

AnyIndex = QModelIndex | QPersistentModelIndex

DiskRoleData = Qt.ItemDataRole.UserRole + 1

_DASH = "—"

COLUMNS: tuple[tuple[str, str], ...] = (
    ("Disk", "The OS disk, or a data disk"),
    ("LUN", "Logical unit number the data disk is attached at"),
    ("OS type", "Operating system on the OS disk"),
    ("OS state", "Generalized images make new VMs; specialized ones keep the original identity"),
    ("Size", "Disk size in GiB"),
    ("Caching", "Host caching of the disk"),
    ("Storage type", "Storage account type (disk SKU) the image keeps its disks on"),
    ("Source", "The disk, snapshot or blob the image was made from"),
)


def _cells(disk: DiskSpec) -> tuple[str, ...]:
    return (
        disk.role.value,
        _DASH if disk.lun is None else str(disk.lun),
        disk.os_type or _DASH,
        disk.os_state or _DASH,
        _DASH if disk.size_gb is None else f"{disk.size_gb} GiB",
        disk.caching or _DASH,
        disk.storage_type or ("chosen at deployment" if disk.role is DiskRole.OS else _DASH),
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
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][1]
        return None

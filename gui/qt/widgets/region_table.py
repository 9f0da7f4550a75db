"""Target regions and replica counts of a gallery image version, as both wizards ask for them.

The first row is the source region: always there, never removable (a version is stored where it
is made). More regions are added with their own replica counts. The version editor also asks
for each region's storage account type (``storage_types``): a third column, chosen when a region
is added and fixed for the regions the version is already in (Azure does not update it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

MAX_REPLICAS = 100


class RegionReplicaTable(QWidget):
    changed = Signal()

    def __init__(
        self,
        source_tip: str,
        parent: QWidget | None = None,
        storage_types: Sequence[str] = (),
    ) -> None:
        super().__init__(parent)
        self.source_tip = source_tip
        self.storage_types = tuple(storage_types)
        self._locations: list[tuple[str, str]] = []  # (name, display name)
        self.table = QTableWidget(0, 3 if self.storage_types else 2)
        self.table.setObjectName("regions")
        headers = [self.tr("Target region"), self.tr("Replicas")]
        if self.storage_types:
            headers.append(self.tr("Storage type"))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setAccessibleName(self.tr("Target regions and replicas"))
        # Tab moves through the boxes in the cells and on, never from cell to cell.
        self.table.setTabKeyNavigation(False)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if self.storage_types:
            # The longest type name in full ("Standard_LRS"), never cut off.
            self.table.horizontalHeader().setSectionResizeMode(
                2, QHeaderView.ResizeMode.ResizeToContents
            )
        self.table.setMinimumHeight(90)
        self.table.setMaximumHeight(150)
        self.add_button = QPushButton(self.tr("&Add region"))
        self.add_button.clicked.connect(self._add_empty_row)
        self.remove_button = QPushButton(self.tr("Remove regi&on"))
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QVBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def set_locations(self, locations: Iterable[tuple[str, str]]) -> None:
        self._locations = list(locations)
        for row in range(self.table.rowCount()):
            self._fill_combo(row)

    def reset(self, source: str, extra: Iterable[str] = ()) -> None:
        """Starts over with the source region (fixed) and optionally more regions."""
        self.table.setRowCount(0)
        self.add_row(source, 1, fixed=True)
        for region in extra:
            if region and region.casefold() != source.casefold():
                self.add_row(region, 1)

    def _add_empty_row(self) -> None:
        self.add_row("", 1)

    def add_row(
        self,
        region: str,
        replicas: int,
        fixed: bool = False,
        storage: str = "",
        storage_fixed: bool = False,
    ) -> None:
        """A row for ``region``; ``fixed``: the region cannot be changed (the source);
        ``storage_fixed``: its storage type cannot (a region the version is already in)."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        combo = QComboBox()
        combo.setObjectName(f"region-{row}")
        combo.setAccessibleName(self.tr("Target region {number}").format(number=row + 1))
        combo.setProperty("wanted", region)
        combo.setEnabled(not fixed)
        if fixed:
            combo.setToolTip(self.source_tip)
        self.table.setCellWidget(row, 0, combo)
        self._fill_combo(row)
        spin = QSpinBox()
        spin.setObjectName(f"replicas-{row}")
        spin.setAccessibleName(
            self.tr("Replicas in target region {number}").format(number=row + 1)
        )
        spin.setRange(1, MAX_REPLICAS)
        spin.setValue(replicas)
        spin.valueChanged.connect(self.changed)
        self.table.setCellWidget(row, 1, spin)
        if self.storage_types:
            kind = QComboBox()
            kind.setObjectName(f"storage-{row}")
            kind.setAccessibleName(
                self.tr("Storage type in target region {number}").format(number=row + 1)
            )
            for name in self.storage_types:
                kind.addItem(name, name)
            if storage and kind.findData(storage) < 0:
                kind.addItem(storage, storage)
            kind.setCurrentIndex(max(0, kind.findData(storage or self.storage_types[0])))
            kind.setEnabled(not storage_fixed)
            if storage_fixed:
                kind.setToolTip(self.tr(
                    "Azure keeps a region's storage type: it is chosen when the region is added."))
            kind.currentIndexChanged.connect(self.changed)
            self.table.setCellWidget(row, 2, kind)
        combo.currentIndexChanged.connect(self.changed)
        self.changed.emit()

    def _fill_combo(self, row: int) -> None:
        combo = self.table.cellWidget(row, 0)
        assert isinstance(combo, QComboBox)
        wanted = str(combo.property("wanted") or combo.currentData() or "")
        combo.blockSignals(True)
        combo.clear()
        names = [name for name, _ in self._locations]
        if wanted and wanted not in names:
            combo.addItem(wanted, wanted)
        for name, display in self._locations:
            combo.addItem(f"{display} ({name})", name)
        if wanted:
            combo.setCurrentIndex(max(0, combo.findData(wanted)))
        elif row > 0:
            used = {region for region, _ in self.rows()}
            free = next((i for i in range(combo.count()) if combo.itemData(i) not in used), 0)
            combo.setCurrentIndex(free)
        combo.setProperty("wanted", None)
        combo.blockSignals(False)

    def remove_selected(self) -> None:
        selected = {index.row() for index in self.table.selectionModel().selectedRows()}
        rows = sorted(row for row in selected if row > 0)
        if not rows and self.table.rowCount() > 1:
            rows = [self.table.rowCount() - 1]  # the source region (row 0) stays
        for row in reversed(rows):
            self.table.removeRow(row)
        self.changed.emit()

    def storage_of(self, row: int) -> str:
        """The storage type chosen in ``row`` ("" without the storage column)."""
        kind = self.table.cellWidget(row, 2) if self.storage_types else None
        return str(kind.currentData() or "") if isinstance(kind, QComboBox) else ""

    def rows(self) -> list[tuple[str, int]]:
        """(region name, replica count) for each row, the source region first."""
        out: list[tuple[str, int]] = []
        for row in range(self.table.rowCount()):
            combo = self.table.cellWidget(row, 0)
            spin = self.table.cellWidget(row, 1)
            if isinstance(combo, QComboBox) and isinstance(spin, QSpinBox):
                region = str(combo.currentData() or combo.property("wanted") or "")
                out.append((region, spin.value()))
        return out

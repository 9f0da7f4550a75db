"""Filters the source tree as the user types: a node stays when it, a descendant or an ancestor
matches, so a publisher that matches keeps its offers and an offer that matches keeps its path."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from gui.models.catalog_tree import Role, RowKind


class CatalogSearchProxy(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)

    def set_search_text(self, text: str) -> None:
        self.setFilterFixedString(text.strip())

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        if not self.filterRegularExpression().pattern():
            return True
        model = self.sourceModel()
        index = model.index(source_row, 0, source_parent)
        if model.data(index, Role.ROW_KIND) != RowKind.NODE.name:
            return False  # loading and error rows never match a search on their own
        return super().filterAcceptsRow(source_row, source_parent)

"""Filters the source tree as the user types.

A node stays when it, a descendant or an ancestor matches, so a matching publisher keeps its
offers and a matching offer keeps its path. Qt's own recursive filter does the work in C++ on
the model's search role (empty for loading and error rows, so they never match on their own).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt

from gui.qt.browser.tree_model import Role


class CatalogSearchProxy(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setAutoAcceptChildRows(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(0)
        self.setFilterRole(Role.SEARCH)

    def set_search_text(self, text: str) -> None:
        self.setFilterFixedString(text.strip())

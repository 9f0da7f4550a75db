"""The search results as a table: one row per hit, in the order the service ranked them.

A ``QAbstractTableModel`` over a tuple of plain ``SearchHit``: a result list holds at most a few
dozen rows and is replaced whole on every answer (one model reset), so no per-row items are
kept. Every text a row shows is made here, translated, once per answer.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

from gui.azure.search.model import SearchHit
from gui.qt.i18n import format_datetime
from gui.qt.style import Tone, brush

AnyIndex = QModelIndex | QPersistentModelIndex

HIT_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's SearchHit


class Column(IntEnum):
    IMAGE = 0  # publisher / offer / SKU (or the gallery image's path)
    LATEST = 1  # the latest version and its release date
    FACTS = 2  # OS, architecture, generation, security type
    STATE = 3  # deprecation and purchase plan




class SearchResultsModel(QAbstractTableModel):
    """The hits of the last answer shown; ``query`` is the text they answer."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._hits: tuple[SearchHit, ...] = ()
        self._rows: list[tuple[str, str, str, str]] = []
        self.query = ""
        self._headers = [
            self.tr("Image"),
            self.tr("Latest version"),
            self.tr("Operating system and hardware"),
            self.tr("State"),
        ]
        self._warning = brush(Tone.WARNING)

    # --- content ------------------------------------------------------------------------------

    @property
    def hits(self) -> tuple[SearchHit, ...]:
        return self._hits

    def set_hits(self, query: str, hits: tuple[SearchHit, ...]) -> None:
        self.beginResetModel()
        self.query = query
        self._hits = tuple(hits)
        self._rows = [self._texts(hit) for hit in self._hits]
        self.endResetModel()

    def clear(self) -> None:
        self.set_hits("", ())

    def hit(self, row: int) -> SearchHit | None:
        return self._hits[row] if 0 <= row < len(self._hits) else None

    def _texts(self, hit: SearchHit) -> tuple[str, str, str, str]:
        if hit.publisher and hit.offer and hit.sku:
            image = self.tr("{publisher} / {offer} / {sku}").format(
                publisher=hit.publisher, offer=hit.offer, sku=hit.sku
            )
        else:
            image = hit.title
        if hit.latest_version and hit.release_date is not None:
            released = datetime(hit.release_date.year, hit.release_date.month, hit.release_date.day)
            latest = self.tr("{version} ({date})").format(
                version=hit.latest_version, date=format_datetime(released)
            )
        else:
            latest = hit.latest_version
        facts = hit.facts
        generation = {"V1": self.tr("Gen1"), "V2": self.tr("Gen2")}.get(
            facts.generation.upper(), facts.generation
        )
        hardware = " · ".join(
            part
            for part in (facts.os_type, facts.architecture, generation, facts.security_type)
            if part
        )
        state: list[str] = []
        if facts.deprecated:
            state.append(self.tr("Deprecated ({state})").format(state=facts.deprecation))
        if facts.plan is True:
            state.append(self.tr("Purchase plan needed"))
        elif facts.plan is False and hit.is_image:
            state.append(self.tr("No plan needed"))
        return image, latest, hardware, " · ".join(state)

    # --- QAbstractItemModel -------------------------------------------------------------------

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(Column)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        hit = self._hits[index.row()]
        column = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._rows[index.row()][column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(hit)
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.STATE:
            return self._warning if hit.facts.deprecated else None
        if role == HIT_ROLE:
            return hit
        return None

    def _tooltip(self, hit: SearchHit) -> str:
        lines = [hit.version_urn or hit.title]
        if hit.alias:
            lines.append(self.tr("az alias: {alias}").format(alias=hit.alias))
        if hit.description:
            lines.append(hit.description)
        if hit.facts.data_disks:
            lines.append(
                self.tr("%n data disk(s) besides the OS disk", "", hit.facts.data_disks)
            )
        return "\n".join(lines)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self._headers)
        ):
            return self._headers[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return flags | Qt.ItemFlag.ItemNeverHasChildren

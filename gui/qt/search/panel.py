"""The search box over everything: type, and the ranked hits of the Marketplace Catalog and the
local index appear below it; Enter (or a click) reveals the hit in the tree.

The panel knows nothing of Azure: the window hands it a ``Searcher`` (the search service's
``search`` for the current scope). Typing restarts a 200 ms timer; when it fires, the query
before is cancelled and a new one starts. Each query carries a generation number and only the
newest may fill the list, so an answer that arrives late (a cancelled query that had already
finished, or a slow catalogue) never overwrites a newer one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from gui.azure.errors import AzureServiceError
from gui.azure.search.model import SearchFilters, SearchHit
from gui.qt import icons
from gui.qt.i18n import render_text
from gui.qt.search.results_model import Column, SearchResultsModel
from gui.qt.tasks import TaskSet

log = logging.getLogger(__name__)

DEBOUNCE_MS = 200
# A query's answer: the search service's SearchResult (hits, catalog_used, catalog_error).
Searcher = Callable[[str, SearchFilters], Awaitable[Any]]

# Keys the box passes to the results list (the text cursor needs none of them).
_MOVES = (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp)


class SearchPanel(QWidget):
    """The box, the four filter switches, and the results (shown while there is a query)."""

    reveal_requested = Signal(object)  # the SearchHit to show in the tree
    answered = Signal(str)  # the query whose answer the list now shows

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self._searcher: Searcher | None = None
        self._tasks = TaskSet("search panel")
        self._task: asyncio.Task[None] | None = None
        self._generation = 0
        self.model = SearchResultsModel(self)

        self.box = QLineEdit()
        self.box.setObjectName("imageSearchBox")
        self.box.setClearButtonEnabled(True)
        self.box.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.box.setAccessibleName(self.tr("Search all images"))
        self.label = QLabel(self.tr("Fi&nd:"))
        self.label.setBuddy(self.box)
        self.set_shortcut_text("")
        self.box.textChanged.connect(self._text_changed)
        self.box.installEventFilter(self)

        self.hide_deprecated = QCheckBox(self.tr("Hide de&precated"))
        self.hide_deprecated.setToolTip(self.tr("Leave out images their publisher deprecated"))
        self.gen2_only = QCheckBox(self.tr("Gen&2 only"))
        self.gen2_only.setToolTip(self.tr("Only images for Hyper-V generation 2 VMs"))
        self.arm64_only = QCheckBox(self.tr("Arm&64 only"))
        self.arm64_only.setToolTip(self.tr("Only images for Arm64 VM sizes"))
        self.trusted_only = QCheckBox(self.tr("T&rusted Launch only"))
        self.trusted_only.setToolTip(self.tr("Only images that can start with Trusted Launch"))
        self.switches = [self.hide_deprecated, self.gen2_only, self.arm64_only, self.trusted_only]
        for switch in self.switches:
            switch.setAccessibleName(switch.text().replace("&", ""))
            switch.toggled.connect(self._filters_changed)

        self.view = QTreeView()
        self.view.setObjectName("searchResults")
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setAllColumnsShowFocus(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setTabKeyNavigation(False)  # Tab leaves the list; arrows move inside it
        self.view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.header().setStretchLastSection(True)
        self.view.setColumnWidth(Column.IMAGE, 300)
        self.view.setColumnWidth(Column.LATEST, 190)
        self.view.setColumnWidth(Column.FACTS, 240)
        self.view.setAccessibleName(self.tr("Search results"))
        self.view.setAccessibleDescription(
            self.tr("Images found, best first; Enter shows the selected one in the tree")
        )
        self.view.activated.connect(self._activated)
        self.view.clicked.connect(self._activated)
        self.view.installEventFilter(self)
        self.results_label = QLabel(self.tr("Resul&ts:"))
        self.results_label.setBuddy(self.view)
        self.status = QLabel()
        self.status.setObjectName("searchStatus")
        self.status.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.label)
        row.addWidget(self.box, 1)
        layout.addLayout(row)
        # Two by two: the tree's pane stays as narrow as users like it (300 px).
        switches = QGridLayout()
        switches.setContentsMargins(0, 0, 0, 0)
        for place, switch in enumerate(self.switches):
            switches.addWidget(switch, place // 2, place % 2)
        switches.setColumnStretch(2, 1)
        layout.addLayout(switches)
        # The results are a widget of their own that the host places (below the box, sharing
        # the height with the tree); the panel shows it while there is a query.
        self.results = QWidget()
        results_layout = QVBoxLayout(self.results)
        results_layout.setContentsMargins(0, 0, 0, 0)
        heading = QHBoxLayout()
        heading.addWidget(self.results_label)
        heading.addWidget(self.status, 1)
        results_layout.addLayout(heading)
        results_layout.addWidget(self.view, 1)
        self.results.hide()
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)

    # --- configuration ------------------------------------------------------------------------

    def set_shortcut_text(self, keys: str) -> None:
        """The placeholder and tooltip name the keys that focus the box (the window's)."""
        if keys:
            self.box.setPlaceholderText(
                self.tr("Search the Marketplace and every gallery ({keys})…").format(keys=keys)
            )
        else:
            self.box.setPlaceholderText(self.tr("Search the Marketplace and every gallery…"))
        self.box.setToolTip(
            self.tr(
                "Finds images by publisher, offer, SKU, alias or description, also those not "
                "loaded in the tree; Enter shows the selected result in the tree"
            )
        )

    def set_searcher(self, searcher: Searcher | None) -> None:
        """What answers queries (None: nothing to search yet); a shown query is asked anew."""
        self._searcher = searcher
        if self.box.text().strip() and self.results.isVisible():
            self._timer.start()

    @property
    def filters(self) -> SearchFilters:
        return SearchFilters(
            hide_deprecated=self.hide_deprecated.isChecked(),
            gen2_only=self.gen2_only.isChecked(),
            arm64_only=self.arm64_only.isChecked(),
            trusted_launch_only=self.trusted_only.isChecked(),
        )

    @property
    def busy(self) -> bool:
        return (self._task is not None and not self._task.done()) or self._timer.isActive()

    def current_hit(self) -> SearchHit | None:
        return self.model.hit(self.view.currentIndex().row())

    # --- querying -----------------------------------------------------------------------------

    def _text_changed(self, text: str) -> None:
        self._cancel()
        if not text.strip():
            self.model.clear()
            self.status.clear()
            self.results.hide()
            return
        self.results.show()
        self.status.setText(self.tr("Searching…"))
        self._timer.start()

    def _filters_changed(self) -> None:
        if self.box.text().strip():
            self._cancel()
            self.results.show()
            self._start()

    def _cancel(self) -> None:
        self._timer.stop()
        self._generation += 1  # whatever is still on its way is stale from now on
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _start(self) -> None:
        self._cancel()
        text = self.box.text().strip()
        if not text:
            return
        if self._searcher is None:
            self.status.setText(self.tr("Not connected yet: nothing to search."))
            return
        self.status.setText(self.tr("Searching…"))
        self._task = self._tasks.spawn(self._run(self._generation, text, self.filters))

    async def _run(self, generation: int, text: str, filters: SearchFilters) -> None:
        assert self._searcher is not None
        try:
            result = await self._searcher(text, filters)
        except AzureServiceError as error:
            if generation == self._generation:
                self.status.setText(
                    self.tr("The search failed: {reason}").format(reason=render_text(error))
                )
            return
        if generation != self._generation:
            log.debug("Search answer for %r dropped: a newer query is running", text)
            return
        self._task = None
        self._show(text, result)

    def _show(self, text: str, result: Any) -> None:
        self.model.set_hits(text, tuple(result.hits))
        count = len(result.hits)
        if count == 0:
            message = self.tr("No image matches “{text}”.").format(text=text)
        else:
            message = self.tr("%n result(s)", "", count)
        if not result.catalog_used:
            message = self.tr("{message} From the images listed so far (no Marketplace "
                              "Catalog).").format(message=message)
        self.status.setText(message)
        if count:
            self.view.setCurrentIndex(self.model.index(0, 0))
        self.answered.emit(text)

    # --- keyboard -----------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = Qt.Key(event.key())
            if watched is self.box:
                return self._box_key(key)
            if watched is self.view and key == Qt.Key.Key_Escape:
                self.close_results()
                self.box.setFocus(Qt.FocusReason.OtherFocusReason)
                return True
        return super().eventFilter(watched, event)

    def _box_key(self, key: Qt.Key) -> bool:
        if key in _MOVES and self.model.rowCount():
            self.results.show()
            current = self.view.currentIndex()
            if not current.isValid():
                target = self.model.index(0, 0)
            else:
                step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(key, 0)
                page = max(1, self.view.viewport().height() // max(1, self.view.sizeHintForRow(0)))
                step = step or (page if key == Qt.Key.Key_PageDown else -page)
                row = min(max(current.row() + step, 0), self.model.rowCount() - 1)
                target = self.model.index(row, 0)
            self.view.setCurrentIndex(target)
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self._timer.isActive():
                self._start()  # Enter before the pause: ask now, the first hit shows
                return True
            hit = self.current_hit()
            if hit is not None:
                self.reveal_requested.emit(hit)
            return True
        if key == Qt.Key.Key_Escape and self.results.isVisible():
            self.close_results()
            return True
        return False

    def close_results(self) -> None:
        self._cancel()
        self.results.hide()

    def _activated(self, index: QModelIndex) -> None:
        hit = self.model.hit(index.row())
        if hit is not None:
            self.reveal_requested.emit(hit)

    def cancel_tasks(self) -> None:
        """Stops every query (only Python objects: the window may already be deleted)."""
        self._generation += 1
        self._task = None
        self._tasks.cancel_all()

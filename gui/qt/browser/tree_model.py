"""The image-source tree: a QStandardItemModel over the catalog's plain nodes, with custom roles.

Children load when a node is first expanded: an unloaded node carries one "Loading…" row (so the
view draws its arrow without asking Python), the load starts on expansion, and an error becomes
a row under the node (and the node's tooltip), never a crash. Listings cached on disk are shown
at once and then refreshed quietly from Azure.

Why QStandardItemModel and not a Python QAbstractItemModel: a Marketplace level holds 3,000+
publishers and QTreeView walks every visible row on each layout; with a Python model that is
~30,000 calls into Python per expand (150–250 ms of frozen window). Here index(), flags(),
data() and the search filter stay in C++, and rows go in in chunks with the loop running between.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from enum import Enum, IntEnum, auto
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont, QStandardItem, QStandardItemModel

from gui.azure.catalog.cache import CachedCatalog, ListingCache, Loader
from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef
from gui.azure.errors import AzureServiceError
from gui.i18n import Localizable
from gui.qt import icons
from gui.qt.browser.texts import node_label, node_tooltip, show
from gui.qt.i18n import format_datetime, render_text
from gui.qt.style import Tone, brush

log = logging.getLogger(__name__)

AnyIndex = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    NODE = Qt.ItemDataRole.UserRole + 1
    ROW_KIND = Qt.ItemDataRole.UserRole + 3
    MESSAGE = Qt.ItemDataRole.UserRole + 5
    SEARCH = Qt.ItemDataRole.UserRole + 6  # the label for nodes; empty for loading/error rows


class RowKind(Enum):
    NODE = auto()
    LOADING = auto()
    ERROR = auto()
    EMPTY = auto()


class LoadState(Enum):
    NOT_LOADED = auto()
    LOADING = auto()
    LOADED = auto()
    FAILED = auto()


COLUMN_COUNT = 2  # the node's name, and its details (the summary)
# Long listings go in chunk by chunk with the loop turning between: each chunk takes about
# CHUNK_BUDGET_S to make and insert (the view's layout and paint of it come in the next turn).
CHUNK_BUDGET_S = 0.010
CHUNK_MIN_ROWS = 100
CHUNK_MAX_ROWS = 1000

_NODE_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_PLACEHOLDER_FLAGS = Qt.ItemFlag.ItemIsEnabled
# Enum .name is a slow property on Python 3.11; rows are made by the thousand.
_KIND_NAMES = {kind: kind.name for kind in RowKind}
_SOURCE = NodeKind.SOURCE


def _when(timestamp: float) -> str:
    """When a listing was made, in the app's one date format."""
    return format_datetime(datetime.fromtimestamp(timestamp))


def error_text(error: AzureServiceError) -> str:
    """An Azure error with its advice, in the window's language where the error can say it."""
    return render_text(error) if isinstance(error, Localizable) else error.user_text()


def _italic() -> QFont:
    font = QFont()
    font.setItalic(True)
    return font


class _Entry:
    """What the model knows of one node besides its items: load state and pending load."""

    __slots__ = ("item", "listed_at", "message", "node", "pending", "state")

    def __init__(self, node: CatalogNode, item: QStandardItem) -> None:
        self.node = node
        self.item = item
        self.state = LoadState.NOT_LOADED if not node.is_image else LoadState.LOADED
        self.message = ""
        self.listed_at = 0.0  # when the rows shown were listed (time.time()), 0 when not yet
        self.pending: asyncio.Future[None] | None = None


class CatalogTreeModel(QStandardItemModel):
    children_loaded = Signal(str)
    load_failed = Signal(str, str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._loader: Loader | None = None
        # The one listing cache (gui/azure/catalog/cache.py); the detail pane reads it too.
        self.listings = CachedCatalog()
        self._tasks: set[asyncio.Task[None]] = set()
        self._entries: dict[str, _Entry] = {}
        self._font_italic = _italic()
        # Colours from the palette when the model is made (there is no palette before the app).
        self._muted = brush(Tone.MUTED)
        # Cached listings younger than this are not asked from Azure again (the settings).
        self.max_age_seconds = 0.0
        self._error = brush(Tone.ERROR)
        # Translated once: a placeholder row is made for each of thousands of nodes.
        self._texts = {
            RowKind.LOADING: self.tr("Loading…"),
            RowKind.EMPTY: self.tr("Nothing here"),
            RowKind.ERROR: self.tr("Failed"),
        }
        self._row_seconds = 0.0  # how long a row took to make and insert, lately
        self._reset_headers()

    def _reset_headers(self) -> None:
        self.setColumnCount(COLUMN_COUNT)
        self.setHorizontalHeaderLabels([self.tr("Name"), self.tr("Details")])

    # --- configuration ------------------------------------------------------------------------

    def set_source(
        self, roots: list[CatalogNode], loader: Loader | None, cache: ListingCache | None
    ) -> None:
        """Shows a new set of root nodes (a new scope); loading waits until a loader is given."""
        self.cancel_all()
        self._loader = loader
        self.listings = CachedCatalog(cache)
        self._entries = {}
        self.clear()
        self._reset_headers()
        self._append_rows(self.invisibleRootItem(), roots)

    def set_loader(self, loader: Loader | None) -> None:
        self._loader = loader

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    # --- rows ---------------------------------------------------------------------------------

    def _append_rows(self, parent: QStandardItem, nodes: list[CatalogNode]) -> None:
        """Appends rows with one insertion (one rowsInserted for the proxy and the view, not
        one per row: that alone was 60 ms for 300 publishers), and learns the pace per row."""
        started = time.perf_counter()
        rows = [self._make_row(node) for node in nodes]
        first = parent.rowCount()
        parent.appendRows([row[0] for row in rows])
        for offset, row in enumerate(rows):
            if len(row) > 1:
                parent.setChild(first + offset, 1, row[1])
        if len(nodes) >= CHUNK_MIN_ROWS:
            self._row_seconds = (time.perf_counter() - started) / len(nodes)

    def _make_row(self, node: CatalogNode) -> list[QStandardItem]:
        search = label = node.label
        if node.kind is _SOURCE:
            label = node_label(node)
            search = f"{label}\n{node.label}"  # found by what it shows, and by its English title
        elif node.ref.parts and node.ref.parts[-1] != label:
            search = f"{label}\n{node.ref.parts[-1]}"  # also by Azure's name (a unique name)
        name = QStandardItem(icons.node_icon(node), label)
        name.setFlags(_NODE_FLAGS)
        name.setData(node, Role.NODE)
        name.setData(search, Role.SEARCH)
        tooltip = node_tooltip(node) if node.summary or search is not label else ""
        if tooltip:
            name.setToolTip(tooltip)
        if node.has_children:
            # One empty cell, no item: the view draws the node's arrow from the row count (in
            # C++), and the "Loading…" item is made only when the node is opened (_load). An
            # item per node was 40 % of making a row, and the search filter visited it too.
            name.setRowCount(1)
            name.setColumnCount(1)
        self._entries[node.ref.key] = _Entry(node, name)
        if not node.summary:
            return [name]
        details = QStandardItem(show(node.summary))
        details.setFlags(_NODE_FLAGS)
        details.setForeground(self._muted)
        if tooltip:
            details.setToolTip(tooltip)
        return [name, details]

    def _placeholder(self, kind: RowKind, message: str = "") -> QStandardItem:
        text = message.splitlines()[0] if kind is RowKind.ERROR and message else self._texts[kind]
        item = QStandardItem(text)
        item.setFlags(_PLACEHOLDER_FLAGS)
        item.setData(_KIND_NAMES[kind], Role.ROW_KIND)
        item.setData("", Role.SEARCH)
        item.setFont(self._font_italic)
        if kind is RowKind.ERROR:
            item.setIcon(icons.icon("error"))
            item.setForeground(self._error)
            item.setData(message, Role.MESSAGE)
            retry = self.tr("Double-click, or select the node and press F5, to retry.")
            item.setToolTip(f"{message}\n\n{retry}")
        else:
            item.setForeground(self._muted)
        return item

    def _forget(self, item: QStandardItem) -> None:
        stack = [item]
        while stack:
            current = stack.pop()
            node = current.data(Role.NODE)
            if isinstance(node, CatalogNode):
                entry = self._entries.get(node.ref.key)
                if entry is not None and entry.item is current:
                    del self._entries[node.ref.key]
            stack.extend(
                child
                for child in (current.child(row) for row in range(current.rowCount()))
                if child is not None  # a node's unopened (empty) first row
            )

    def _remove_rows(self, parent: QStandardItem, first: int, count: int) -> None:
        for row in range(first, first + count):
            child = parent.child(row)
            if child is not None:
                self._forget(child)
        parent.removeRows(first, count)

    def _set_placeholder(self, entry: _Entry, kind: RowKind, message: str = "") -> None:
        parent = entry.item
        if parent.rowCount():
            self._remove_rows(parent, 0, parent.rowCount())
        parent.appendRow(self._placeholder(kind, message))

    # --- reading ------------------------------------------------------------------------------

    def node_for(self, index: AnyIndex) -> CatalogNode | None:
        if not index.isValid():
            return None
        node = self.data(index.sibling(index.row(), 0), Role.NODE)
        return node if isinstance(node, CatalogNode) else None

    def row_kind(self, index: AnyIndex) -> RowKind:
        if self.node_for(index) is not None:
            return RowKind.NODE
        kind = self.data(index.sibling(index.row(), 0), Role.ROW_KIND)
        return RowKind.LOADING if kind is None else RowKind[str(kind)]  # None: not opened yet

    def _entry(self, index: AnyIndex) -> _Entry | None:
        node = self.node_for(index)
        return self._entries.get(node.ref.key) if node is not None else None

    def index_for_key(self, key: str) -> QModelIndex:
        entry = self._entries.get(key)
        return entry.item.index() if entry is not None else QModelIndex()

    def load_state(self, index: AnyIndex) -> LoadState:
        entry = self._entry(index)
        return entry.state if entry is not None else LoadState.LOADED

    def message(self, index: AnyIndex) -> str:
        entry = self._entry(index)
        if entry is not None:
            return entry.message
        return str(self.data(index.sibling(index.row(), 0), Role.MESSAGE) or "")

    # --- loading ------------------------------------------------------------------------------

    def ensure_loaded(self, index: AnyIndex) -> None:
        """Starts loading a node's children unless they are loaded or loading (on expansion)."""
        entry = self._entry(index)
        if entry is not None and entry.state is LoadState.NOT_LOADED:
            self._load(entry)

    def _load(self, entry: _Entry) -> None:
        parent = entry.item
        if parent.rowCount() == 1 and parent.child(0) is None:
            parent.setChild(0, 0, self._placeholder(RowKind.LOADING))  # see _make_row
        cached = self.listings.cached_children(entry.node.ref)
        if cached is None and self._loader is None:
            return  # nothing to show yet: stays "Loading…" until connected
        entry.state = LoadState.LOADING
        entry.pending = asyncio.get_event_loop().create_future()
        self._spawn(self._fill(entry, cached))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_event_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fill(self, entry: _Entry, cached: tuple[list[CatalogNode], float] | None) -> None:
        try:
            if cached is not None:
                nodes, listed_at = cached
                await self._show_children(entry, nodes)
                entry.listed_at = listed_at
                entry.item.setToolTip(
                    self.tr("Listed {when} (from the cache); asking Azure again…").format(
                        when=_when(listed_at)
                    )
                )
                entry.state = LoadState.LOADED
                self._settle(entry)
                fresh = time.time() - listed_at < self.max_age_seconds
                if self._loader is not None and not fresh:
                    await self._fetch(entry, self._loader, quiet=True)
                elif fresh:
                    entry.item.setToolTip(
                        self.tr("Listed {when} (from the cache)").format(when=_when(listed_at))
                    )
            elif self._loader is not None:
                await self._fetch(entry, self._loader, quiet=False)
        finally:
            self._settle(entry)

    def refresh(self, index: AnyIndex) -> None:
        """Asks Azure again for a node's children (the node keeps what it shows until then)."""
        entry = self._entry(index)
        if entry is None or entry.node.is_image or self._loader is None:
            return
        if entry.state is LoadState.NOT_LOADED:
            self._load(entry)
            return
        if entry.state is LoadState.LOADING:
            return
        quiet = entry.state is LoadState.LOADED
        if entry.state is LoadState.FAILED:
            self._set_placeholder(entry, RowKind.LOADING)
        entry.state = LoadState.LOADING if not quiet else entry.state
        entry.pending = asyncio.get_event_loop().create_future()
        self._spawn(self._refetch(entry, quiet))

    async def _refetch(self, entry: _Entry, quiet: bool) -> None:
        assert self._loader is not None
        try:
            await self._fetch(entry, self._loader, quiet=quiet)
        finally:
            self._settle(entry)

    def refresh_all(self) -> None:
        """Refreshes every node whose children were loaded (or failed to load)."""
        for entry in list(self._entries.values()):
            if entry.state in (LoadState.LOADED, LoadState.FAILED) and not entry.node.is_image:
                self.refresh(entry.item.index())

    async def _fetch(self, entry: _Entry, loader: Loader, *, quiet: bool) -> None:
        try:
            nodes = await self.listings.children(entry.node, loader)
        except asyncio.CancelledError:
            raise
        except AzureServiceError as exc:
            self._fail(entry, error_text(exc), quiet=quiet)
            return
        except Exception as exc:
            log.exception("Listing %s failed", entry.node.ref.key)
            text = self.tr("Unexpected error: {error}").format(error=render_text(exc))
            self._fail(entry, text, quiet=quiet)
            return
        if not self._alive(entry):
            return
        await self._show_children(entry, nodes)
        entry.state = LoadState.LOADED
        entry.message = ""
        entry.listed_at = time.time()
        entry.item.setIcon(icons.node_icon(entry.node))
        entry.item.setToolTip(node_tooltip(entry.node))
        self.children_loaded.emit(entry.node.ref.key)

    def _settle(self, entry: _Entry) -> None:
        if entry.pending is not None and not entry.pending.done():
            entry.pending.set_result(None)

    def _fail(self, entry: _Entry, message: str, *, quiet: bool) -> None:
        if not self._alive(entry):
            return
        log.warning("Could not list %s: %s", entry.node.label, message.splitlines()[0])
        entry.message = message
        entry.item.setIcon(icons.icon("error"))
        entry.item.setToolTip(message)
        self.load_failed.emit(entry.node.ref.key, message)
        if quiet and entry.state is LoadState.LOADED:
            # a background refresh failed: keep the rows shown, and say how old they are
            if entry.listed_at:
                entry.item.setToolTip(
                    self.tr("Could not refresh; showing what was listed {when}.").format(
                        when=_when(entry.listed_at)
                    )
                    + f"\n\n{message}"
                )
            return
        entry.state = LoadState.FAILED
        self._set_placeholder(entry, RowKind.ERROR, message)

    def _alive(self, entry: _Entry) -> bool:
        return self._entries.get(entry.node.ref.key) is entry

    async def _show_children(self, entry: _Entry, nodes: list[CatalogNode]) -> None:
        """Makes the children match ``nodes``, keeping rows (and loaded subtrees) that stay;
        large lists go in chunk by chunk so the window keeps responding."""
        parent = entry.item
        current: list[str | None] = []
        for row in range(parent.rowCount()):
            item = parent.child(row)
            node = item.data(Role.NODE) if item is not None else None
            current.append(node.ref.key if isinstance(node, CatalogNode) else None)
        shown = {key for key in current if key is not None}
        # Only when rows are shown (a refresh): 3,400 keys are worth not making for nothing.
        keep = shown & {node.ref.key for node in nodes} if shown else set()
        if not keep:
            if len(nodes) > CHUNK_MIN_ROWS:
                # The listing was read in this turn of the loop: rows go in from the next one.
                await asyncio.sleep(0)
                if not self._alive(entry):
                    return
            start = 0
            while start < len(nodes):
                end = self._chunk_end(nodes, start)
                self._append_rows(parent, nodes[start:end])
                start = end
                if start < len(nodes):
                    await asyncio.sleep(0)
                    if not self._alive(entry):
                        return
            if current:  # the "Loading…" row stayed on top until the rows were in
                self._remove_rows(parent, 0, len(current))
            if not nodes:
                parent.appendRow(self._placeholder(RowKind.EMPTY))
            return
        for row in reversed(range(len(current))):
            if current[row] not in keep:
                self._remove_rows(parent, row, 1)
        for row, node in enumerate(nodes):
            existing = parent.child(row) if row < parent.rowCount() else None
            existing_node = existing.data(Role.NODE) if existing is not None else None
            if isinstance(existing_node, CatalogNode) and existing_node.ref == node.ref:
                if existing_node != node:
                    existing.setData(node, Role.NODE)  # type: ignore[union-attr]
                    # The row's Details cell and tooltip follow the node ("running" ->
                    # "deallocated" after a capture), not only its data.
                    entry = self._entries[node.ref.key]
                    fresh = self._make_row(node)
                    self._entries[node.ref.key] = entry  # the row shown stays the node's row
                    entry.node = node
                    if len(fresh) > 1:
                        parent.setChild(row, 1, fresh[1])
                    existing.setToolTip(fresh[0].toolTip())  # type: ignore[union-attr]
                continue
            parent.insertRow(row, self._make_row(node))

    def _chunk_end(self, nodes: list[CatalogNode], start: int) -> int:
        """Where the chunk from ``start`` ends: as many rows as ``CHUNK_BUDGET_S`` of the last
        chunk's pace allows (a slow or busy machine gets smaller chunks, so no turn of the loop
        takes much longer than the budget), between CHUNK_MIN_ROWS and CHUNK_MAX_ROWS."""
        count = round(CHUNK_BUDGET_S / self._row_seconds) if self._row_seconds else CHUNK_MIN_ROWS
        end = min(len(nodes), start + max(CHUNK_MIN_ROWS, min(CHUNK_MAX_ROWS, count)))
        return end

    async def wait_loaded(self, index: AnyIndex) -> LoadState:
        """Loads a node's children if needed and waits until they are there (or failed)."""
        entry = self._entry(index)
        if entry is None:
            return LoadState.LOADED
        if entry.state is LoadState.NOT_LOADED:
            self._load(entry)
        while entry.pending is not None and not entry.pending.done():
            await asyncio.shield(entry.pending)
        return entry.state

    async def reveal(self, ref: NodeRef) -> QModelIndex:
        """Loads the path down to ``ref`` (from the cache where it can) and returns its index."""
        index = self.index_for_key(NodeRef(ref.source).key)
        while index.isValid():
            node = self.node_for(index)
            if node is None or node.ref == ref:
                return index
            if await self.wait_loaded(index) is not LoadState.LOADED:
                return index
            index = self.index_for_key(node.ref.key)  # the row may have moved meanwhile
            following = QModelIndex()
            for row in range(self.rowCount(index)):
                child = self.node_for(self.index(row, 0, index))
                if child is not None and ref.parts[: len(child.ref.parts)] == child.ref.parts:
                    following = self.index(row, 0, index)
                    break
            if not following.isValid():
                return index
            index = following
        return QModelIndex()

"""The image-source tree: a QAbstractItemModel over the catalog's plain nodes.

Children load when a node is first expanded (``canFetchMore``/``fetchMore``): a "Loading…" row
shows meanwhile, an error becomes a row under the node (and the node's tooltip), never a crash.
Listings cached on disk are shown at once and then refreshed quietly from Azure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from enum import Enum, IntEnum, auto
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon

from gui.azure.errors import AzureServiceError
from gui.azure.images import CatalogNode, NodeRef
from gui.azure.listing_cache import ListingCache
from gui.views import icons

log = logging.getLogger(__name__)

Loader = Callable[[CatalogNode], Awaitable[list[CatalogNode]]]
AnyIndex = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    NODE = Qt.ItemDataRole.UserRole + 1
    KEY = Qt.ItemDataRole.UserRole + 2
    ROW_KIND = Qt.ItemDataRole.UserRole + 3
    LOAD_STATE = Qt.ItemDataRole.UserRole + 4
    MESSAGE = Qt.ItemDataRole.UserRole + 5


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


class _Item:
    __slots__ = ("children", "kind", "message", "node", "parent", "pending", "row", "state")

    def __init__(
        self,
        node: CatalogNode | None,
        parent: _Item | None,
        kind: RowKind = RowKind.NODE,
        message: str = "",
    ) -> None:
        self.node = node
        self.parent = parent
        self.kind = kind
        self.message = message
        self.children: list[_Item] = []
        self.state = LoadState.NOT_LOADED
        self.row = 0
        self.pending: asyncio.Future[None] | None = None

    @property
    def key(self) -> str:
        return self.node.ref.key if self.node is not None else ""

    @property
    def expandable(self) -> bool:
        return self.parent is None or (
            self.kind is RowKind.NODE and self.node is not None and self.node.has_children
        )

    def renumber(self) -> None:
        for row, child in enumerate(self.children):
            child.row = row


COLUMNS = ("Name", "Details")

_EMPTY_TEXT = "Nothing here"
_LOADING_TEXT = "Loading…"


class CatalogTreeModel(QAbstractItemModel):
    children_loaded = Signal(str)
    load_failed = Signal(str, str)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._root = _Item(None, None)
        self._loader: Loader | None = None
        self._cache: ListingCache | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._by_key: dict[str, _Item] = {}

    # --- configuration ------------------------------------------------------------------------

    def set_source(
        self, roots: list[CatalogNode], loader: Loader | None, cache: ListingCache | None
    ) -> None:
        """Shows a new set of root nodes (a new scope); loading stops until a loader is given."""
        self.cancel_all()
        self.beginResetModel()
        self._loader = loader
        self._cache = cache
        self._root = _Item(None, None)
        self._by_key = {}
        self._root.children = [_Item(node, self._root) for node in roots]
        self._root.renumber()
        for item in self._root.children:
            self._by_key[item.key] = item
        self._root.state = LoadState.LOADED
        self.endResetModel()

    def set_loader(self, loader: Loader | None) -> None:
        self._loader = loader

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    # --- Qt model interface -------------------------------------------------------------------

    def _item(self, index: AnyIndex) -> _Item:
        if index.isValid():
            item = index.internalPointer()
            assert isinstance(item, _Item)
            return item
        return self._root

    def index(self, row: int, column: int, parent: AnyIndex = QModelIndex()) -> QModelIndex:
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        item = self._item(parent)
        return self.createIndex(row, column, item.children[row])

    def parent(self, index: AnyIndex = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        item = self._item(index)
        parent = item.parent
        if parent is None or parent is self._root:
            return QModelIndex()
        return self.createIndex(parent.row, 0, parent)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._item(parent).children)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return len(COLUMNS)

    def hasChildren(self, parent: AnyIndex = QModelIndex()) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        item = self._item(parent)
        return bool(item.children) or (item.expandable and item.state is LoadState.NOT_LOADED)

    def canFetchMore(self, parent: AnyIndex) -> bool:
        if parent.isValid() and parent.column() != 0:
            return False
        item = self._item(parent)
        return (
            item is not self._root
            and item.expandable
            and item.state is LoadState.NOT_LOADED
            and (self._loader is not None or self._has_cache(item))
        )

    def fetchMore(self, parent: AnyIndex) -> None:
        if self.canFetchMore(parent):
            self._load(self._item(parent))

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        item = self._item(index)
        if item.kind is RowKind.NODE:
            return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return Qt.ItemFlag.ItemIsEnabled

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation is Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._item(index)
        column = index.column()
        if item.kind is not RowKind.NODE:
            return self._placeholder_data(item, column, role)
        node = item.node
        assert node is not None
        if role == Qt.ItemDataRole.DisplayRole:
            return node.label if column == 0 else node.summary
        if role == Qt.ItemDataRole.ToolTipRole:
            if item.state is LoadState.FAILED:
                return item.message
            return node.summary or node.label
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            if item.state is LoadState.FAILED:
                return icons.icon("error")
            return icons.node_icon(node)
        if role == Role.NODE:
            return node
        if role == Role.KEY:
            return node.ref.key
        if role == Role.ROW_KIND:
            return item.kind.name
        if role == Role.LOAD_STATE:
            return item.state.name
        if role == Role.MESSAGE:
            return item.message
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QBrush(QColor("#6b6b6b"))
        return None

    def _placeholder_data(self, item: _Item, column: int, role: int) -> Any:
        if role == Role.ROW_KIND:
            return item.kind.name
        if role == Role.MESSAGE:
            return item.message
        if column != 0:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if item.kind is RowKind.LOADING:
                return _LOADING_TEXT
            if item.kind is RowKind.EMPTY:
                return _EMPTY_TEXT
            return item.message.splitlines()[0] if item.message else "Failed"
        if role == Qt.ItemDataRole.ToolTipRole:
            if item.kind is RowKind.ERROR:
                return item.message + "\n\nDouble-click or press F5 on the node to try again."
            return None
        if role == Qt.ItemDataRole.DecorationRole:
            return icons.icon("error") if item.kind is RowKind.ERROR else QIcon()
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(QColor("#b3261e" if item.kind is RowKind.ERROR else "#6b6b6b"))
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)
            return font
        return None

    # --- loading ------------------------------------------------------------------------------

    def node_for(self, index: AnyIndex) -> CatalogNode | None:
        item = self._item(index) if index.isValid() else None
        return item.node if item is not None and item.kind is RowKind.NODE else None

    def index_for_key(self, key: str) -> QModelIndex:
        item = self._by_key.get(key)
        if item is None or item.parent is None:
            return QModelIndex()
        return self.createIndex(item.row, 0, item)

    def load_state(self, index: AnyIndex) -> LoadState:
        return self._item(index).state

    def _has_cache(self, item: _Item) -> bool:
        return (
            self._cache is not None
            and item.node is not None
            and self._cache.children(item.node.ref) is not None
        )

    def _load(self, item: _Item) -> None:
        assert item.node is not None
        cached = self._cache.children(item.node.ref) if self._cache is not None else None
        if cached is not None:
            nodes, _when = cached
            self._show_children(item, nodes)
            item.state = LoadState.LOADED
            if self._loader is not None:
                self._start_fetch(item, quiet=True)
            return
        item.state = LoadState.LOADING
        self._replace_with_placeholder(item, RowKind.LOADING, "")
        self._notify_item_changed(item)
        self._start_fetch(item, quiet=False)

    def refresh(self, index: AnyIndex) -> None:
        """Asks Azure again for the children of a node (the node keeps what it shows until then)."""
        item = self._item(index)
        if item is self._root or not item.expandable:
            return
        if item.state in (LoadState.NOT_LOADED, LoadState.LOADING):
            if item.state is LoadState.NOT_LOADED:
                self._load(item)
            return
        if item.state is LoadState.FAILED:
            item.state = LoadState.LOADING
            self._replace_with_placeholder(item, RowKind.LOADING, "")
            self._notify_item_changed(item)
        self._start_fetch(item, quiet=item.state is LoadState.LOADED)

    def refresh_all(self) -> None:
        """Refreshes every node whose children were loaded (or failed to load)."""
        for item in list(self._by_key.values()):
            if item.state in (LoadState.LOADED, LoadState.FAILED):
                self.refresh(self.createIndex(item.row, 0, item))

    def _start_fetch(self, item: _Item, *, quiet: bool) -> None:
        if self._loader is None:
            return
        loop = asyncio.get_event_loop()
        if item.pending is None or item.pending.done():
            item.pending = loop.create_future()
        task = loop.create_task(self._fetch(item, self._loader, quiet=quiet))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch(self, item: _Item, loader: Loader, *, quiet: bool) -> None:
        assert item.node is not None
        try:
            nodes = await loader(item.node)
        except asyncio.CancelledError:
            self._settle(item)
            raise
        except AzureServiceError as exc:
            self._fail(item, exc.user_text(), quiet=quiet)
        except Exception as exc:
            log.exception("Listing %s failed", item.key)
            self._fail(item, f"Unexpected error: {exc}", quiet=quiet)
        else:
            if not self._alive(item):
                return
            if self._cache is not None:
                self._cache.put_children(item.node.ref, nodes)
            item.state = LoadState.LOADED
            item.message = ""
            self._show_children(item, nodes)
            self._notify_item_changed(item)
            self.children_loaded.emit(item.key)
        finally:
            self._settle(item)

    def _settle(self, item: _Item) -> None:
        if item.pending is not None and not item.pending.done():
            item.pending.set_result(None)

    def _fail(self, item: _Item, message: str, *, quiet: bool) -> None:
        if not self._alive(item):
            return
        log.warning("Could not list %s: %s", item.node.label if item.node else "", message)
        self.load_failed.emit(item.key, message)
        if quiet and item.children and item.state is LoadState.LOADED:
            # A background refresh failed: keep the cached rows, say so on the node.
            item.message = message
            self._notify_item_changed(item)
            return
        item.state = LoadState.FAILED
        item.message = message
        self._replace_with_placeholder(item, RowKind.ERROR, message)
        self._notify_item_changed(item)

    def _alive(self, item: _Item) -> bool:
        return item.node is not None and self._by_key.get(item.key) is item

    async def wait_loaded(self, index: AnyIndex) -> LoadState:
        """Loads a node's children if needed and waits until they are there (or failed)."""
        item = self._item(index)
        if item.state is LoadState.NOT_LOADED:
            self.fetchMore(index)
        while item.state is LoadState.LOADING and item.pending is not None:
            await asyncio.shield(item.pending)
        return item.state

    async def reveal(self, ref: NodeRef) -> QModelIndex:
        """Loads the path down to ``ref`` (from the cache where it can) and returns its index."""
        index = self.index_for_key(NodeRef(ref.source).key)
        while index.isValid():
            node = self.node_for(index)
            if node is None or node.ref == ref:
                return index
            if await self.wait_loaded(index) is not LoadState.LOADED:
                return index
            item = self._item(index)
            following = [
                child
                for child in item.children
                if child.node is not None
                and ref.parts[: len(child.node.ref.parts)] == child.node.ref.parts
            ]
            if not following:
                return index
            child = following[0]
            index = self.createIndex(child.row, 0, child)
        return QModelIndex()

    # --- row bookkeeping ----------------------------------------------------------------------

    def _index_of(self, item: _Item) -> QModelIndex:
        if item is self._root or item.parent is None:
            return QModelIndex()
        return self.createIndex(item.row, 0, item)

    def _notify_item_changed(self, item: _Item) -> None:
        if item is self._root or item.parent is None:
            return
        left = self.createIndex(item.row, 0, item)
        right = self.createIndex(item.row, len(COLUMNS) - 1, item)
        self.dataChanged.emit(left, right)

    def _forget(self, item: _Item) -> None:
        stack = [item]
        while stack:
            current = stack.pop()
            if current.node is not None and self._by_key.get(current.key) is current:
                del self._by_key[current.key]
            stack.extend(current.children)

    def _remove_rows(self, item: _Item, first: int, last: int) -> None:
        self.beginRemoveRows(self._index_of(item), first, last)
        for child in item.children[first : last + 1]:
            self._forget(child)
        del item.children[first : last + 1]
        item.renumber()
        self.endRemoveRows()

    def _insert_rows(self, item: _Item, row: int, new: list[_Item]) -> None:
        self.beginInsertRows(self._index_of(item), row, row + len(new) - 1)
        item.children[row:row] = new
        item.renumber()
        for child in new:
            if child.node is not None:
                self._by_key[child.key] = child
        self.endInsertRows()

    def _replace_with_placeholder(self, item: _Item, kind: RowKind, message: str) -> None:
        if item.children:
            self._remove_rows(item, 0, len(item.children) - 1)
        self._insert_rows(item, 0, [_Item(None, item, kind, message)])

    def _show_children(self, item: _Item, nodes: list[CatalogNode]) -> None:
        """Makes the children match ``nodes``, keeping the rows (and loaded subtrees) that stay."""
        placeholders = [row for row, child in enumerate(item.children) if child.node is None]
        for row in reversed(placeholders):
            self._remove_rows(item, row, row)
        wanted = {node.ref.key for node in nodes}
        for row in reversed(range(len(item.children))):
            if item.children[row].key not in wanted:
                self._remove_rows(item, row, row)
        if not item.children and nodes:
            self._insert_rows(item, 0, [_Item(node, item) for node in nodes])
            return
        for row, node in enumerate(nodes):
            existing = item.children[row] if row < len(item.children) else None
            if existing is not None and existing.key == node.ref.key:
                if existing.node != node:
                    existing.node = node
                    self._notify_item_changed(existing)
                continue
            self._insert_rows(item, row, [_Item(node, item)])
        if not nodes:
            self._insert_rows(item, 0, [_Item(None, item, RowKind.EMPTY)])

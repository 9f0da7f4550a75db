"""The one cache of catalog listings and image details: cache first, then Azure.

``ListingCache`` keeps them on disk with a time stamp, one JSON file per scope, written
atomically. ``CachedCatalog`` is how the tree model and the detail pane reach it: they show
``cached_children`` / ``cached_detail`` at once, then ask Azure through ``children`` / ``detail``,
which store every answer. So a second start shows the tree without waiting for the network, and
there is no other place a listing is kept between requests.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar, cast

from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeRef

log = logging.getLogger(__name__)

FORMAT_VERSION = 1

T = TypeVar("T")

Loader = Callable[[CatalogNode], Awaitable[list[CatalogNode]]]
Describer = Callable[[CatalogNode], Awaitable[ImageDetail]]


class ListingCache:
    def __init__(self, directory: Path, scope_key: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", scope_key)
        self.path = directory / f"catalog-{safe}.json"
        self._lock = threading.Lock()
        self._children: dict[str, dict[str, Any]] = {}
        self._details: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("Ignoring unreadable listing cache %s: %s", self.path, exc)
            return
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            return
        self._children = data.get("children", {})
        self._details = data.get("details", {})

    def children(self, ref: NodeRef) -> tuple[list[CatalogNode], float] | None:
        """The cached children of a node and when they were listed, or None."""
        with self._lock:
            entry = self._children.get(ref.key)
            if entry is None:
                return None
            nodes = entry.get("nodes")
            if nodes is None:
                try:
                    nodes = [CatalogNode.from_json(item) for item in entry["items"]]
                except (KeyError, TypeError, ValueError):
                    return None
                entry["nodes"] = nodes
            return list(nodes), float(entry["time"])

    def put_children(self, ref: NodeRef, nodes: list[CatalogNode]) -> None:
        """Remembers a listing; it is turned into JSON only when flushed (off the GUI thread)."""
        with self._lock:
            self._children[ref.key] = {"time": time.time(), "nodes": list(nodes)}
            self._dirty = True

    def detail(self, ref: NodeRef) -> tuple[ImageDetail, float] | None:
        with self._lock:
            entry = self._details.get(ref.key)
        if entry is None:
            return None
        try:
            return ImageDetail.from_json(entry["detail"]), float(entry["time"])
        except (KeyError, TypeError, ValueError):
            return None

    def put_detail(self, detail: ImageDetail) -> None:
        with self._lock:
            self._details[detail.ref.key] = {"time": time.time(), "detail": detail.to_json()}
            self._dirty = True

    def clear(self) -> None:
        """Forgets every listing and detail, in memory and on disk."""
        with self._lock:
            self._children.clear()
            self._details.clear()
            self._dirty = False
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def flush(self) -> None:
        """Writes the cache if it changed; safe to call from a worker thread."""
        with self._lock:
            if not self._dirty:
                return
            snapshot = {key: dict(entry) for key, entry in self._children.items()}
            details = dict(self._details)
            self._dirty = False
        # Serialised outside the lock: the GUI thread may read or add listings meanwhile.
        children = {
            key: {
                "time": entry["time"],
                "items": entry["items"]
                if "items" in entry
                else [node.to_json() for node in entry["nodes"]],
            }
            for key, entry in snapshot.items()
        }
        payload = json.dumps(
            {"version": FORMAT_VERSION, "children": children, "details": details},
            separators=(",", ":"),
        )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".catalog-", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(payload)
            os.replace(temp, self.path)
        except OSError as exc:
            log.warning("Could not write the listing cache %s: %s", self.path, exc)
            Path(temp).unlink(missing_ok=True)


class ListingListener(Protocol):
    """Told of every listing and detail fetched from Azure (the local search index is one)."""

    def listed(self, parent: CatalogNode, children: list[CatalogNode]) -> None: ...

    def described(self, detail: ImageDetail) -> None: ...


class CachedCatalog:
    """Cache-first reads and fetch-then-store refreshes over one scope's ``ListingCache``.

    The fetch functions are handed in per call (the catalog's ``children`` / ``detail``): the
    window swaps catalogs on sign-in while the cache, and what the tree shows from it, stays.
    Without a store (no scope yet) nothing is cached and fetches pass straight through.
    """

    def __init__(self, store: ListingCache | None = None) -> None:
        self.store = store
        # Raw answers several listings are cut from (all managed images: one per resource
        # group), kept until the next refresh so expanding a group does not list them again.
        self._shared: dict[str, Any] = {}
        # Everything fetched here is also told to these (the search index: issue 14).
        self.listeners: list[ListingListener] = []

    async def shared(self, key: str, fetch: Callable[[], Awaitable[T]]) -> T:
        """The answer ``fetch`` gave for ``key`` since the last ``forget``, or a new one."""
        if key not in self._shared:
            self._shared[key] = await fetch()
        return cast(T, self._shared[key])  # only this method stores under a key

    def forget(self, key: str | None = None) -> None:
        """Drops one shared answer (or all), so the next listing asks Azure again."""
        if key is None:
            self._shared.clear()
        else:
            self._shared.pop(key, None)

    def clear(self) -> None:
        """Forgets every listing kept, on disk too (Settings → Clear the cache)."""
        self._shared.clear()
        if self.store is not None:
            self.store.clear()

    def cached_children(self, ref: NodeRef) -> tuple[list[CatalogNode], float] | None:
        """A node's children as last listed, and when; None when never listed here."""
        return self.store.children(ref) if self.store is not None else None

    def cached_detail(self, ref: NodeRef) -> tuple[ImageDetail, float] | None:
        """An image's detail as last described, and when; None when never described here."""
        return self.store.detail(ref) if self.store is not None else None

    async def children(self, node: CatalogNode, fetch: Loader) -> list[CatalogNode]:
        """Asks Azure (through ``fetch``) for a node's children and keeps the answer."""
        nodes = await fetch(node)
        if self.store is not None:
            self.store.put_children(node.ref, nodes)
        for listener in self.listeners:
            listener.listed(node, nodes)
        return nodes

    async def detail(self, node: CatalogNode, fetch: Describer) -> ImageDetail:
        """Asks Azure (through ``fetch``) for an image's detail and keeps the answer."""
        detail = await fetch(node)
        if self.store is not None:
            self.store.put_detail(detail)
        for listener in self.listeners:
            listener.described(detail)
        return detail

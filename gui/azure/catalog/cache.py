"""Listings and image details cached on disk with a time stamp.

A second start shows the tree from here without waiting for the network; the window then asks
Azure again and replaces what changed. One JSON file per scope, written atomically.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeRef

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


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

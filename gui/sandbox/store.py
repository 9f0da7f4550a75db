"""The sandbox's mutable ARM state, persisted as one JSON document with atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Json = dict[str, Any]


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` so that a crash leaves either the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with _suppress_missing():
            os.unlink(tmp)
        raise


class _suppress_missing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: object, tb: object) -> bool:
        return isinstance(exc, FileNotFoundError)


def _seed_version(seeded: list[Json]) -> str:
    ids = sorted(resource_key(r["id"]) for r in seeded)
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]


def resource_key(resource_id: str) -> str:
    """ARM ids are case-insensitive; the store keys them lower-cased without a trailing slash."""
    return resource_id.rstrip("/").lower()


class ResourceStore:
    """ARM resources by id (case-insensitive), in insertion order, saved after each change."""

    FILE_NAME = "arm-state.json"
    FORMAT = 1

    def __init__(self, state_dir: Path, initial: Callable[[], list[Json]], *, reset: bool) -> None:
        self._path = state_dir / self.FILE_NAME
        self._lock = threading.RLock()
        self._resources: dict[str, Json] = {}
        seeded = initial()
        self._seed = _seed_version(seeded)
        if not reset and self._path.exists():
            loaded = json.loads(self._path.read_text(encoding="utf-8"))
            if loaded.get("format") == self.FORMAT:
                for resource in loaded["resources"]:
                    self._resources[resource_key(resource["id"])] = resource
                if loaded.get("seed") != self._seed:
                    # A newer sandbox seeds more: add what is new, keep the user's changes.
                    for resource in seeded:
                        self._resources.setdefault(resource_key(resource["id"]), resource)
                    self.save()
                return
        for resource in seeded:
            self._resources[resource_key(resource["id"])] = resource
        self.save()

    @property
    def path(self) -> Path:
        return self._path

    def save(self) -> None:
        with self._lock:
            doc = {
                "format": self.FORMAT,
                "seed": self._seed,
                "resources": list(self._resources.values()),
            }
            write_json_atomic(self._path, doc)

    def get(self, resource_id: str) -> Json | None:
        with self._lock:
            return self._resources.get(resource_key(resource_id))

    def put(self, resource: Json) -> Json:
        with self._lock:
            self._resources[resource_key(resource["id"])] = resource
            self.save()
        return resource

    def delete(self, resource_id: str) -> Json | None:
        """Remove a resource and everything below it; returns the resource, if it existed."""
        key = resource_key(resource_id)
        with self._lock:
            found = self._resources.pop(key, None)
            prefix = key + "/"
            for child in [k for k in self._resources if k.startswith(prefix)]:
                del self._resources[child]
            self.save()
        return found

    def children(self, parent_id: str, resource_type: str) -> list[Json]:
        """Direct children of ``parent_id`` of ``resource_type`` (e.g. Microsoft.Compute/images)."""
        parent = resource_key(parent_id)
        wanted = resource_type.lower()
        with self._lock:
            return [
                r
                for k, r in self._resources.items()
                if r["type"].lower() == wanted
                and k.startswith(parent + "/")
                and _direct_child(parent, k)
            ]

    def under(self, scope_id: str, resource_type: str) -> list[Json]:
        """Every resource of ``resource_type`` anywhere below ``scope_id``."""
        prefix = resource_key(scope_id) + "/"
        wanted = resource_type.lower()
        with self._lock:
            return [
                r
                for k, r in self._resources.items()
                if r["type"].lower() == wanted and k.startswith(prefix)
            ]

    def all(self) -> list[Json]:
        with self._lock:
            return list(self._resources.values())

    def of_type(self, resource_type: str) -> Iterator[Json]:
        wanted = resource_type.lower()
        with self._lock:
            items = list(self._resources.values())
        return (r for r in items if r["type"].lower() == wanted)


def _direct_child(parent: str, key: str) -> bool:
    """True for parent + "/providers/<ns>/<type>/<name>" and for parent + "/<type>/<name>"."""
    rest = key[len(parent) :]
    parts = [p for p in rest.split("/") if p]
    if parts and parts[0] == "providers":
        parts = parts[2:]
    return len(parts) == 2

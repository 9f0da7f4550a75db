"""Storage accounts, containers and blobs on disk: blob data in sparse files, metadata in JSON.

Put Page writes land directly in the blob's file (``os.pwrite`` where the platform has it, a
seek and a write on a descriptor of the request's own elsewhere); the metadata (size, page
ranges, properties) is kept in memory and written back a moment later, so an upload of
thousands of pages does not rewrite a JSON file per page. Clear Page gives the space back with
Linux's ``fallocate`` punch-hole where it works, and writes zeros anywhere else.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import json
import os
import secrets
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gui.sandbox.blob.errors import blob_not_found, container_not_found
from gui.sandbox.blob.sas import StoredPolicy
from gui.sandbox.store import write_json_atomic
from gui.transfer.ranges import RangeSet

Json = dict[str, Any]


def _now() -> datetime:
    return datetime.now(UTC)


def _new_etag() -> str:
    return f'"0x{uuid.uuid4().hex[:15].upper()}"'


@dataclass
class BlobMeta:
    name: str
    blob_type: str  # "PageBlob" | "BlockBlob"
    size: int
    created: datetime = field(default_factory=_now)
    last_modified: datetime = field(default_factory=_now)
    etag: str = field(default_factory=_new_etag)
    content_md5: str | None = None
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    sequence_number: int = 0
    ranges: RangeSet = field(default_factory=RangeSet)
    # The Copy Blob that made this blob (None for a blob written by a client): its id, source
    # URL (without its SAS), start, how long it takes and the size copied.
    copy: CopyState | None = None

    def touch(self) -> None:
        self.last_modified = _now()
        self.etag = _new_etag()

    def to_json(self) -> Json:
        return {
            "name": self.name,
            "blob_type": self.blob_type,
            "size": self.size,
            "created": self.created.isoformat(),
            "last_modified": self.last_modified.isoformat(),
            "etag": self.etag,
            "content_md5": self.content_md5,
            "content_type": self.content_type,
            "metadata": self.metadata,
            "sequence_number": self.sequence_number,
            "ranges": self.ranges.to_json(),
            "copy": self.copy.to_json() if self.copy is not None else None,
        }

    @classmethod
    def from_json(cls, doc: Json) -> BlobMeta:
        return cls(
            name=doc["name"],
            blob_type=doc["blob_type"],
            size=int(doc["size"]),
            created=datetime.fromisoformat(doc["created"]),
            last_modified=datetime.fromisoformat(doc["last_modified"]),
            etag=doc["etag"],
            content_md5=doc.get("content_md5"),
            content_type=doc.get("content_type") or "application/octet-stream",
            metadata=dict(doc.get("metadata") or {}),
            sequence_number=int(doc.get("sequence_number") or 0),
            ranges=RangeSet.from_json(doc.get("ranges") or []),
            copy=CopyState.from_json(doc["copy"]) if doc.get("copy") else None,
        )


@dataclass
class CopyState:
    """An asynchronous Copy Blob as Azure reports it on the destination: pending, with
    x-ms-copy-progress "copied/total", until ``seconds`` after its start, then success."""

    copy_id: str
    source: str
    total: int
    started: float
    seconds: float

    def progress(self, now: float | None = None) -> tuple[str, int, float | None]:
        """(status, bytes copied, completion time or None while pending)."""
        now = time.time() if now is None else now
        done = now - self.started >= self.seconds
        if done:
            return "success", self.total, self.started + self.seconds
        fraction = max(0.0, (now - self.started) / self.seconds) if self.seconds > 0 else 1.0
        # Whole pages, as a page blob copy moves them.
        copied = min(self.total, int(self.total * fraction) // 512 * 512)
        return "pending", copied, None

    def to_json(self) -> Json:
        return {
            "copy_id": self.copy_id,
            "source": self.source,
            "total": self.total,
            "started": self.started,
            "seconds": self.seconds,
        }

    @classmethod
    def from_json(cls, doc: Json) -> CopyState:
        return cls(
            copy_id=str(doc["copy_id"]),
            source=str(doc["source"]),
            total=int(doc["total"]),
            started=float(doc["started"]),
            seconds=float(doc["seconds"]),
        )


@dataclass
class Traffic:
    """Blob data that crossed the wire to or from clients (bodies of Get Blob, Put Page and
    Put Blob): what a server-side copy must leave at zero."""

    sent: int = 0
    received: int = 0


@dataclass
class Container:
    name: str
    created: datetime = field(default_factory=_now)
    etag: str = field(default_factory=_new_etag)
    metadata: dict[str, str] = field(default_factory=dict)
    policies: dict[str, StoredPolicy] = field(default_factory=dict)
    blobs: dict[str, BlobMeta] = field(default_factory=dict)


@dataclass
class Account:
    name: str
    key: str
    containers: dict[str, Container] = field(default_factory=dict)

    @property
    def secondary_key(self) -> str:
        """Azure accounts have two keys; the second derives from the first (never stored)."""
        return base64.b64encode(hashlib.sha512(b"key2:" + self.key.encode()).digest()).decode()


def new_account_key() -> str:
    return base64.b64encode(secrets.token_bytes(64)).decode()


class BlobStore:
    """All blob state of the sandbox under ``root``."""

    #: Most page ranges one Get Page Ranges answer holds before a NextMarker. High, as Azure's
    #: is in practice: azure-storage-blob's page-blob download reads only the first answer to
    #: skip empty chunks. Tests lower it to make clients follow markers.
    page_range_limit = 10_000
    #: How long an asynchronous Copy Blob stays pending (tests lower it).
    copy_seconds = 1.0

    def __init__(self, root: Path, *, reset: bool) -> None:
        self.root = root
        self._lock = threading.RLock()
        self._accounts: dict[str, Account] = {}
        self._dirty: set[tuple[str, str, str]] = set()
        self.traffic = Traffic()
        if reset and root.exists():
            _remove_tree(root)
        root.mkdir(parents=True, exist_ok=True)
        self._load()

    # ---- persistence -------------------------------------------------------------------

    @property
    def _index_path(self) -> Path:
        return self.root / "accounts.json"

    def _load(self) -> None:
        if not self._index_path.exists():
            return
        doc = json.loads(self._index_path.read_text(encoding="utf-8"))
        for acc in doc["accounts"]:
            account = Account(acc["name"], acc["key"])
            for c in acc["containers"]:
                container = Container(
                    name=c["name"],
                    created=datetime.fromisoformat(c["created"]),
                    etag=c["etag"],
                    metadata=dict(c.get("metadata") or {}),
                    policies={
                        pid: StoredPolicy(
                            permissions=p["permissions"],
                            expiry=datetime.fromisoformat(p["expiry"]),
                            start=datetime.fromisoformat(p["start"]) if p.get("start") else None,
                        )
                        for pid, p in (c.get("policies") or {}).items()
                    },
                )
                folder = self._container_dir(account.name, container.name)
                if folder.exists():
                    for meta_file in folder.glob("*.json"):
                        meta = BlobMeta.from_json(json.loads(meta_file.read_text("utf-8")))
                        container.blobs[meta.name] = meta
                account.containers[container.name] = container
            self._accounts[account.name] = account

    def _save_index(self) -> None:
        accounts = []
        for account in self._accounts.values():
            containers = []
            for c in account.containers.values():
                containers.append(
                    {
                        "name": c.name,
                        "created": c.created.isoformat(),
                        "etag": c.etag,
                        "metadata": c.metadata,
                        "policies": {
                            pid: {
                                "permissions": p.permissions,
                                "expiry": p.expiry.isoformat(),
                                "start": p.start.isoformat() if p.start else None,
                            }
                            for pid, p in c.policies.items()
                        },
                    }
                )
            accounts.append({"name": account.name, "key": account.key, "containers": containers})
        write_json_atomic(self._index_path, {"format": 1, "accounts": accounts})

    def _container_dir(self, account: str, container: str) -> Path:
        return self.root / "data" / account / container

    def _blob_base(self, account: str, container: str, blob: str) -> Path:
        digest = hashlib.sha256(blob.encode()).hexdigest()[:32]
        return self._container_dir(account, container) / digest

    def data_path(self, account: str, container: str, blob: str) -> Path:
        return self._blob_base(account, container, blob).with_suffix(".data")

    def mark_dirty(self, account: str, container: str, blob: str) -> None:
        with self._lock:
            self._dirty.add((account, container, blob))

    def flush(self) -> None:
        """Write back the metadata of every blob changed since the last flush."""
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            for account, container, blob in dirty:
                meta = self._find_meta(account, container, blob)
                base = self._blob_base(account, container, blob)
                if meta is None:
                    continue
                write_json_atomic(base.with_suffix(".json"), meta.to_json())

    def _find_meta(self, account: str, container: str, blob: str) -> BlobMeta | None:
        acc = self._accounts.get(account)
        cont = acc.containers.get(container) if acc else None
        return cont.blobs.get(blob) if cont else None

    # ---- accounts and containers -------------------------------------------------------

    def account(self, name: str) -> Account | None:
        with self._lock:
            return self._accounts.get(name)

    def ensure_account(self, name: str, key: str | None = None) -> Account:
        with self._lock:
            account = self._accounts.get(name)
            if account is None:
                account = Account(name, key or new_account_key())
                self._accounts[name] = account
                self._save_index()
            return account

    def container(self, account: str, name: str) -> Container:
        with self._lock:
            acc = self._accounts.get(account)
            cont = acc.containers.get(name) if acc else None
            if cont is None:
                raise container_not_found()
            return cont

    def create_container(self, account: str, name: str) -> tuple[Container, bool]:
        """(container, created): creating an existing container is not an error here."""
        with self._lock:
            acc = self.ensure_account(account)
            existing = acc.containers.get(name)
            if existing is not None:
                return existing, False
            cont = Container(name)
            acc.containers[name] = cont
            self._container_dir(account, name).mkdir(parents=True, exist_ok=True)
            self._save_index()
            return cont, True

    def delete_container(self, account: str, name: str) -> None:
        with self._lock:
            acc = self._accounts.get(account)
            if acc is None or name not in acc.containers:
                raise container_not_found()
            del acc.containers[name]
            _remove_tree(self._container_dir(account, name))
            self._save_index()

    def set_policy(
        self, account: str, container: str, identifier: str, policy: StoredPolicy
    ) -> None:
        with self._lock:
            self.container(account, container).policies[identifier] = policy
            self._save_index()

    def remove_policy(self, account: str, container: str, identifier: str) -> None:
        with self._lock:
            self.container(account, container).policies.pop(identifier, None)
            self._save_index()

    # ---- blobs -------------------------------------------------------------------------

    def blob(self, account: str, container: str, name: str) -> BlobMeta:
        with self._lock:
            meta = self.container(account, container).blobs.get(name)
            if meta is None:
                raise blob_not_found()
            return meta

    def put_blob(self, account: str, container: str, meta: BlobMeta, content: bytes = b"") -> None:
        with self._lock:
            cont = self.container(account, container)
            path = self.data_path(account, container, meta.name)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as out:
                if content:
                    out.write(content)
                out.truncate(meta.size)
            if cont.blobs.get(meta.name) is not None:
                meta.created = cont.blobs[meta.name].created
            cont.blobs[meta.name] = meta
            self._dirty.add((account, container, meta.name))
            self.flush()

    def delete_blob(self, account: str, container: str, name: str) -> None:
        with self._lock:
            cont = self.container(account, container)
            if cont.blobs.pop(name, None) is None:
                raise blob_not_found()
            base = self._blob_base(account, container, name)
            for suffix in (".data", ".json"):
                base.with_suffix(suffix).unlink(missing_ok=True)
            self._dirty.discard((account, container, name))

    def resize(self, account: str, container: str, meta: BlobMeta, size: int) -> None:
        with self._lock:
            os.truncate(self.data_path(account, container, meta.name), size)
            meta.size = size
            meta.ranges.truncate(size)
            meta.touch()
            self._dirty.add((account, container, meta.name))

    def write_pages(
        self, account: str, container: str, meta: BlobMeta, offset: int, data: bytes
    ) -> None:
        fd = os.open(self.data_path(account, container, meta.name), _WRITE_FLAGS)
        try:
            _write_at(fd, data, offset)
        finally:
            os.close(fd)
        with self._lock:
            meta.ranges.add(offset, offset + len(data))
            meta.touch()
            self._dirty.add((account, container, meta.name))

    def clear_pages(
        self, account: str, container: str, meta: BlobMeta, offset: int, length: int
    ) -> None:
        path = self.data_path(account, container, meta.name)
        fd = os.open(path, _WRITE_FLAGS)
        try:
            _punch_hole(fd, offset, length)
        finally:
            os.close(fd)
        with self._lock:
            meta.ranges.remove(offset, offset + length)
            meta.touch()
            self._dirty.add((account, container, meta.name))

    def copy_blob(
        self,
        source: tuple[str, str, str],
        target: tuple[str, str, str],
        *,
        content_md5: bool = True,
    ) -> BlobMeta:
        """Copy a blob inside the store (what Azure does behind a snapshot, a copied snapshot or
        Copy Blob): only the source's written ranges are read and written, so holes stay holes
        and a 127 GiB empty disk costs nothing. Returns the target's metadata."""
        src_meta = self.blob(*source)
        copy = BlobMeta(
            name=target[2],
            blob_type=src_meta.blob_type,
            size=src_meta.size,
            content_md5=src_meta.content_md5 if content_md5 else None,
            content_type=src_meta.content_type,
            metadata=dict(src_meta.metadata),
        )
        if src_meta.blob_type != "PageBlob":
            content = self.read(source[0], source[1], src_meta, 0, src_meta.size)
            self.put_blob(target[0], target[1], copy, content)
            return copy
        self.put_blob(target[0], target[1], copy)
        for start, end in list(src_meta.ranges):
            offset = start
            while offset < end:
                n = min(_COPY_CHUNK, end - offset)
                data = self.read(source[0], source[1], src_meta, offset, n)
                self.write_pages(target[0], target[1], copy, offset, data)
                offset += n
        self.flush()
        return copy

    def read(self, account: str, container: str, meta: BlobMeta, offset: int, length: int) -> bytes:
        with open(self.data_path(account, container, meta.name), "rb") as src:
            src.seek(offset)
            data = src.read(length)
        return data.ljust(length, b"\0")


# O_BINARY: on Windows a descriptor from os.open is in text mode by default and would turn
# every 0x0A byte of a page into 0x0D 0x0A.
_WRITE_FLAGS = os.O_WRONLY | getattr(os, "O_BINARY", 0)
# None where the platform lacks it (Windows): tests set it to None to force the fallback.
_PWRITE: Any = getattr(os, "pwrite", None)
_ZERO_CHUNK = bytes(1 << 20)
_COPY_CHUNK = 4 * 1024 * 1024


def _write_at(fd: int, data: bytes | memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset`` of ``fd``.

    Without ``pwrite``, ``lseek`` then ``write``: every call opens its own descriptor (and so
    its own file position), so concurrent Put Page requests cannot move each other's position
    and need no lock between them.
    """
    view = memoryview(data)
    while view.nbytes:
        if _PWRITE is not None:
            written = _PWRITE(fd, view, offset)
        else:
            os.lseek(fd, offset, os.SEEK_SET)
            written = os.write(fd, view)
        view = view[written:]
        offset += written


_FALLOC_FL_KEEP_SIZE = 0x01
_FALLOC_FL_PUNCH_HOLE = 0x02


def _linux_fallocate() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fallocate = libc.fallocate
    except (OSError, AttributeError):
        return None
    fallocate.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
    fallocate.restype = ctypes.c_int
    return fallocate


_FALLOCATE = _linux_fallocate()


def _punch_hole(fd: int, offset: int, length: int) -> None:
    """Zero [offset, offset+length), giving the space back where the file system can (Linux),
    so cleared pages stay as sparse as never-written ones."""
    if _FALLOCATE is not None:
        flags = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE
        if _FALLOCATE(fd, flags, offset, length) == 0:
            return
    # No punch-hole (another OS, or a file system that refuses it): zeros read back the same.
    zeros = memoryview(_ZERO_CHUNK)
    done = 0
    while done < length:
        n = min(len(zeros), length - done)
        _write_at(fd, zeros[:n], offset + done)
        done += n


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)

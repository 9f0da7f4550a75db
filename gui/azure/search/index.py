"""The local search index: everything the app has listed, in SQLite with FTS5.

Fed by the one listing cache (``CachedCatalog`` tells its listeners every listing and detail
it fetched), so it holds exactly what the user (or the background refresh) has seen:
Marketplace publishers, offers and SKUs with their versions; community, shared and own
galleries with their image definitions and versions; managed images; VMs. It lives in the cache
directory (``gui.paths.cache_dir()``), answers without the network, and survives restarts.

Why SQLite + FTS5: it is in the standard library, answers a prefix query over tens of
thousands of rows in about a millisecond, ranks with bm25, and is safe for the window and a
headless command to use at the same time (WAL). The schema is versioned: a database written
by another schema version is rebuilt (it is a cache of listings; the next listing refills it).

One row per node. Image rows (a Marketplace SKU, a gallery image definition, a managed image,
a VM) carry the facts (OS, architecture, generation, security type, deprecation, plan, data
disks) and their latest version with its release date; versions themselves sit in a table of
their own, so ``latest`` resolves without asking Azure.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, NodeRef, SourceKind
from gui.azure.search.aliases import aliases_for
from gui.azure.search.model import (
    Facts,
    HitOrigin,
    SearchFilters,
    SearchHit,
    release_date_from_version,
    version_sort_key,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
INDEX_FILE = "search-index.sqlite3"

# Nodes whose children are versions: the image rows of the versioned sources.
_VERSIONED = {
    (SourceKind.MARKETPLACE, NodeKind.SKU),
    (SourceKind.COMMUNITY, NodeKind.DEFINITION),
    (SourceKind.SHARED, NodeKind.DEFINITION),
    (SourceKind.GALLERY, NodeKind.DEFINITION),
}

# bm25 weights of the FTS columns: a word in the name counts most, then the path to it
# (publisher, offer, URN, aliases), then its facts, then free text (summary, description).
_BM25 = "bm25(items_fts, 6.0, 3.0, 1.0, 0.5)"
_CANDIDATES = 250  # rows taken from FTS before boosts, filters and de-duplication
_EXACT_BOOST = 100.0  # an exact URN or alias match is what the user meant

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY,
    scope TEXT NOT NULL,
    location TEXT NOT NULL,
    key TEXT NOT NULL,
    parent_key TEXT NOT NULL,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    is_image INTEGER NOT NULL,
    publisher TEXT NOT NULL DEFAULT '',
    offer TEXT NOT NULL DEFAULT '',
    sku TEXT NOT NULL DEFAULT '',
    urn TEXT NOT NULL DEFAULT '',
    latest_version TEXT NOT NULL DEFAULT '',
    release_date TEXT NOT NULL DEFAULT '',
    facts TEXT NOT NULL DEFAULT '{}',
    summary TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    listed_at REAL NOT NULL,
    enriched_at REAL NOT NULL DEFAULT 0,
    UNIQUE (scope, key)
);
CREATE INDEX IF NOT EXISTS items_parent ON items (scope, parent_key);
CREATE INDEX IF NOT EXISTS items_urn ON items (location, urn COLLATE NOCASE);
CREATE TABLE IF NOT EXISTS versions (
    scope TEXT NOT NULL,
    parent_key TEXT NOT NULL,
    version TEXT NOT NULL,
    release_date TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (scope, parent_key, version)
);
CREATE INDEX IF NOT EXISTS versions_parent ON versions (parent_key);
CREATE INDEX IF NOT EXISTS items_key ON items (key);
CREATE VIRTUAL TABLE IF NOT EXISTS items_fts USING fts5(
    name, path, facts, text, tokenize = 'unicode61 remove_diacritics 2'
);
"""

_WORD = re.compile(r"[^\W_]+")
# Where a name's word splits for people: letters|digits and lower|Upper ("Win2022Datacenter").
_PIECE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def index_words(*texts: str) -> str:
    """The words of ``texts`` for the FTS index: each word as written and, where it glues
    letters to digits or words in camel case, its pieces too, so "sql 2022" finds the offer
    ``sql2022-ws2022`` and "arm64" still finds ``server-arm64``."""
    out: list[str] = []
    for text in texts:
        for word in _WORD.findall(text):
            out.append(word)
            pieces = _PIECE.findall(word)
            if len(pieces) > 1:
                out.extend(pieces)
    return " ".join(out)


def match_expression(text: str) -> str | None:
    """An FTS5 query for what the user typed: every word must match, the last one as a prefix
    while it is still being typed (no space after it). None when there is no word."""
    words = [word.casefold() for word in _WORD.findall(text)]
    if not words:
        return None
    quoted = [f'"{word}"' for word in words]
    if text and not text[-1].isspace():
        quoted[-1] += "*"
    return " ".join(quoted)


@dataclass(frozen=True)
class IndexedNode:
    """A row the background refresh works on: the node as the tree knows it, and when its
    facts were last read from Azure (0: never)."""

    scope: str
    location: str
    node: CatalogNode
    enriched_at: float
    latest_version: str


class SearchIndex:
    """The SQLite database; every method is safe to call from any thread (one connection,
    one lock: writes are small and a query takes about a millisecond)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = self._open(path)

    @classmethod
    def in_cache_dir(cls) -> SearchIndex:
        from gui.paths import cache_dir

        return cls(cache_dir() / INDEX_FILE)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            version = _schema_version(db)
            if version not in (None, SCHEMA_VERSION):
                # Another schema wrote it: the index is a cache of listings, so start afresh.
                log.info("Rebuilding the search index %s (schema %s)", path, version)
                for table in ("items", "versions", "items_fts", "meta"):
                    db.execute(f"DROP TABLE IF EXISTS {table}")
            db.executescript(_SCHEMA)
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        except sqlite3.DatabaseError as error:
            db.close()
            # A damaged file (a crash while the disk was full): it only holds listings.
            log.warning("The search index %s is unreadable (%s); starting a new one", path, error)
            path.unlink(missing_ok=True)
            for suffix in ("-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return SearchIndex._open(path)
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # --- feeding ----------------------------------------------------------------------------

    def record_listing(
        self, scope: str, location: str, parent: CatalogNode, children: Sequence[CatalogNode]
    ) -> None:
        """Keeps a listing: the children of ``parent`` as listed now (those gone are dropped);
        a list of versions becomes the parent image's versions and its latest one."""
        now = time.time()
        with self._write() as db:
            if (parent.ref.source, parent.kind) in _VERSIONED:
                self._store_versions(db, scope, parent, [c.name for c in children if c.is_image])
                return
            existing = {
                str(key): (int(item_id), str(label), str(summary), str(facts))
                for item_id, key, label, summary, facts in db.execute(
                    "SELECT id, key, label, summary, facts FROM items "
                    "WHERE scope = ? AND parent_key = ?",
                    (scope, parent.ref.key),
                )
            }
            keep = {child.ref.key for child in children}
            for key in existing.keys() - keep:
                self._delete_subtree(db, scope, key)
            fresh = [child for child in children if child.ref.key not in existing]
            self._insert_nodes(db, scope, location, parent.ref.key, fresh, now=now)
            for child in children:
                known = existing.get(child.ref.key)
                if known is None:
                    continue
                summary = str(child.summary or "")
                if (known[1], known[2]) == (child.label, summary):
                    continue  # unchanged: what the index holds for it stays
                self._upsert_node(db, scope, location, parent.ref.key, child, now=now)
            db.execute(
                "UPDATE items SET listed_at = ? WHERE scope = ? AND parent_key = ?",
                (now, scope, parent.ref.key),
            )

    def _insert_nodes(
        self,
        db: sqlite3.Connection,
        scope: str,
        location: str,
        parent_key: str,
        nodes: Sequence[CatalogNode],
        *,
        now: float,
    ) -> None:
        """New rows in bulk (a region's 3,400 publishers at once: one statement each)."""
        if not nodes:
            return
        (top,) = db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()
        rows = []
        fts = []
        for offset, node in enumerate(nodes, start=1):
            publisher, offer, sku, urn = _names(node)
            facts = _facts_from_names(node)
            summary = str(node.summary or "")
            item_id = int(top) + offset
            rows.append(
                (
                    item_id, scope, location, node.ref.key, parent_key, node.ref.source.value,
                    node.kind.value, node.label, int(_is_image_row(node)), publisher, offer, sku,
                    urn, _facts_json(facts), summary, now,
                )
            )
            text = RowText(node, publisher, offer, sku, urn, facts, "", summary, "")
            fts.append((item_id, *_fts_columns(text)))
        db.executemany(
            "INSERT INTO items (id, scope, location, key, parent_key, source, kind, label, "
            "is_image, publisher, offer, sku, urn, facts, summary, listed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        db.executemany(
            "INSERT INTO items_fts (rowid, name, path, facts, text) VALUES (?, ?, ?, ?, ?)", fts
        )

    def record_detail(self, scope: str, detail: ImageDetail) -> None:
        """Keeps what a detail says about an image (its facts, and a version's date)."""
        facts = facts_from_detail(detail)
        published = _published(detail)
        ref = detail.ref
        with self._write() as db:
            if ref.source is SourceKind.MARKETPLACE or ref.source in (
                SourceKind.COMMUNITY,
                SourceKind.SHARED,
                SourceKind.GALLERY,
            ):
                if len(ref.parts) < 2:
                    return
                parent_key = NodeRef(ref.source, ref.parts[:-1]).key
                version = ref.parts[-1]
                when = published or release_date_from_version(version)
                if when is not None:
                    db.execute(
                        "UPDATE versions SET release_date = ? "
                        "WHERE scope = ? AND parent_key = ? AND version = ?",
                        (when.isoformat(), scope, parent_key, version),
                    )
                self._merge_facts(db, scope, parent_key, facts, version=version, when=when)
            else:
                self._merge_facts(db, scope, ref.key, facts)

    def record_enrichment(
        self, scope: str, key: str, facts: Facts, description: str = ""
    ) -> None:
        """Keeps facts and words read for an image outside the tree's listings (the refresh
        reads a gallery image definition's description and disclaimer)."""
        with self._write() as db:
            self._merge_facts(db, scope, key, facts, description=description)

    def mark_enriched(self, scope: str, key: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE items SET enriched_at = ? WHERE scope = ? AND key = ?",
                (time.time(), scope, key),
            )

    def clear(self) -> None:
        with self._write() as db:
            for table in ("items", "versions", "items_fts"):
                db.execute(f"DELETE FROM {table}")

    def _upsert_node(
        self,
        db: sqlite3.Connection,
        scope: str,
        location: str,
        parent_key: str,
        node: CatalogNode,
        *,
        now: float,
    ) -> None:
        publisher, offer, sku, urn = _names(node)
        row = db.execute(
            "SELECT id, facts, latest_version, description FROM items "
            "WHERE scope = ? AND key = ?",
            (scope, node.ref.key),
        ).fetchone()
        inferred = _facts_from_names(node)
        summary = str(node.summary or "")
        if row is None:
            cursor = db.execute(
                "INSERT INTO items (scope, location, key, parent_key, source, kind, label, "
                "is_image, publisher, offer, sku, urn, facts, summary, listed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scope,
                    location,
                    node.ref.key,
                    parent_key,
                    node.ref.source.value,
                    node.kind.value,
                    node.label,
                    int(_is_image_row(node)),
                    publisher,
                    offer,
                    sku,
                    urn,
                    _facts_json(inferred),
                    summary,
                    now,
                ),
            )
            item_id = int(cursor.lastrowid or 0)
            facts, latest, description = inferred, "", ""
        else:
            item_id = int(row[0])
            facts = inferred.merged(_facts_from_json(row[1]))
            latest, description = str(row[2]), str(row[3])
            db.execute(
                "UPDATE items SET label = ?, summary = ?, facts = ?, listed_at = ? WHERE id = ?",
                (node.label, summary, _facts_json(facts), now, item_id),
            )
        text = RowText(node, publisher, offer, sku, urn, facts, latest, summary, description)
        self._write_fts(db, item_id, text)

    def _write_fts(self, db: sqlite3.Connection, item_id: int, text: RowText) -> None:
        db.execute("DELETE FROM items_fts WHERE rowid = ?", (item_id,))
        db.execute(
            "INSERT INTO items_fts (rowid, name, path, facts, text) VALUES (?, ?, ?, ?, ?)",
            (item_id, *_fts_columns(text)),
        )

    def _refresh_fts(self, db: sqlite3.Connection, scope: str, key: str) -> None:
        row = db.execute(
            "SELECT id, key, kind, label, is_image, publisher, offer, sku, urn, facts, "
            "latest_version, summary, description FROM items WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            return
        node = CatalogNode(NodeRef.from_key(row[1]), NodeKind(row[2]), row[3], bool(row[4]))
        text = RowText(
            node, row[5], row[6], row[7], row[8], _facts_from_json(row[9]), row[10], row[11],
            row[12],
        )
        self._write_fts(db, row[0], text)

    def _store_versions(
        self, db: sqlite3.Connection, scope: str, parent: CatalogNode, names: list[str]
    ) -> None:
        key = parent.ref.key
        known: dict[str, str] = dict(
            db.execute(
                "SELECT version, release_date FROM versions WHERE scope = ? AND parent_key = ?",
                (scope, key),
            ).fetchall()
        )
        db.execute("DELETE FROM versions WHERE scope = ? AND parent_key = ?", (scope, key))
        for name in names:
            named = release_date_from_version(name)
            when = known.get(name) or (named.isoformat() if named else "")
            db.execute(
                "INSERT INTO versions (scope, parent_key, version, release_date) "
                "VALUES (?, ?, ?, ?)",
                (scope, key, name, when),
            )
        latest = max(names, key=version_sort_key) if names else ""
        latest_date = ""
        if latest:
            latest_date = known.get(latest) or _iso(release_date_from_version(latest))
        db.execute(
            "UPDATE items SET latest_version = ?, release_date = ? WHERE scope = ? AND key = ?",
            (latest, latest_date, scope, key),
        )
        self._refresh_fts(db, scope, key)

    def _merge_facts(
        self,
        db: sqlite3.Connection,
        scope: str,
        key: str,
        facts: Facts,
        *,
        version: str = "",
        when: date | None = None,
        description: str = "",
    ) -> None:
        row = db.execute(
            "SELECT id, facts, latest_version, description FROM items "
            "WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        if row is None:
            return
        merged = _facts_from_json(row[1]).merged(facts)
        updates: dict[str, Any] = {"facts": _facts_json(merged)}
        latest = str(row[2])
        if version and (not latest or version_sort_key(version) >= version_sort_key(latest)):
            updates["latest_version"] = version
            if when is not None:
                updates["release_date"] = when.isoformat()
        if description:
            updates["description"] = description
        assignments = ", ".join(f"{name} = ?" for name in updates)
        db.execute(f"UPDATE items SET {assignments} WHERE id = ?", (*updates.values(), row[0]))
        self._refresh_fts(db, scope, key)

    def _delete_subtree(self, db: sqlite3.Connection, scope: str, key: str) -> None:
        pattern = _like_prefix(key)
        ids = [
            item_id
            for (item_id,) in db.execute(
                "SELECT id FROM items WHERE scope = ? AND (key = ? OR key LIKE ? ESCAPE '\\')",
                (scope, key, pattern),
            )
        ]
        for item_id in ids:
            db.execute("DELETE FROM items_fts WHERE rowid = ?", (item_id,))
            db.execute("DELETE FROM items WHERE id = ?", (item_id,))
        db.execute(
            "DELETE FROM versions WHERE scope = ? AND (parent_key = ? OR parent_key LIKE ? "
            "ESCAPE '\\')",
            (scope, key, pattern),
        )

    # --- reading ----------------------------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        location: str | None = None,
        filters: SearchFilters | None = None,
        limit: int = 50,
    ) -> list[SearchHit]:
        """The rows matching every word of ``text``, best first: bm25 over name, path, facts
        and text, then boosts (an exact URN or alias, a newer release, not deprecated)."""
        expression = match_expression(text)
        if expression is None:
            return []
        sql = (
            f"SELECT items.*, {_BM25} AS rank FROM items_fts "
            "JOIN items ON items.id = items_fts.rowid WHERE items_fts MATCH ?"
        )
        args: list[Any] = [expression]
        if location:
            sql += " AND items.location = ?"
            args.append(location.casefold())
        sql += f" ORDER BY rank LIMIT {_CANDIDATES}"
        with self._lock:
            try:
                cursor = self._db.execute(sql, args)
                rows = cursor.fetchall()
                names = [column[0] for column in cursor.description]
            except sqlite3.OperationalError as error:
                log.debug("FTS query %r refused: %s", expression, error)
                return []
        hits = [_hit(dict(zip(names, row, strict=True))) for row in rows]
        return rank_hits(hits, text, filters or SearchFilters(), limit)

    def find_image(self, location: str, publisher: str, offer: str, sku: str) -> SearchHit | None:
        """The Marketplace SKU row ``publisher:offer:sku`` (case-blind), if listed here."""
        urn = f"{publisher}:{offer}:{sku}"
        with self._lock:
            cursor = self._db.execute(
                "SELECT items.*, 0.0 AS rank FROM items WHERE location = ? "
                "AND urn = ? COLLATE NOCASE AND source = 'marketplace' AND kind = 'sku' "
                "ORDER BY enriched_at DESC LIMIT 1",
                (location.casefold(), urn),
            )
            row = cursor.fetchone()
            names = [column[0] for column in cursor.description]
        return _hit(dict(zip(names, row, strict=True))) if row is not None else None

    def versions(self, location: str, key: str) -> list[tuple[str, date | None]]:
        """The versions of an image as last listed, newest first, with their release dates."""
        with self._lock:
            rows = self._db.execute(
                "SELECT version, release_date FROM versions WHERE parent_key = ? AND scope IN "
                "(SELECT scope FROM items WHERE key = ? AND location = ?)",
                (key, key, location.casefold()),
            ).fetchall()
        found = {str(version): _date(when) for version, when in rows}
        return sorted(found.items(), key=lambda item: version_sort_key(item[0]), reverse=True)

    def nodes_to_refresh(
        self, *, scope: str | None = None, older_than: float, limit: int
    ) -> list[IndexedNode]:
        """Image rows whose facts were never read, or not since ``older_than`` (a time stamp),
        those never read first, then the oldest."""
        sql = (
            "SELECT scope, location, key, kind, label, is_image, enriched_at, latest_version "
            "FROM items WHERE is_image = 1 AND enriched_at < ?"
        )
        args: list[Any] = [older_than]
        if scope is not None:
            sql += " AND scope = ?"
            args.append(scope)
        sql += " ORDER BY enriched_at, listed_at DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out = []
        for row_scope, location, key, kind, label, _is_image, enriched, latest in rows:
            ref = NodeRef.from_key(key)
            node_kind = NodeKind(kind)
            leaf = node_kind in (NodeKind.IMAGE, NodeKind.VM)
            out.append(
                IndexedNode(
                    row_scope,
                    location,
                    CatalogNode(ref, node_kind, label, is_image=leaf),
                    float(enriched),
                    str(latest),
                )
            )
        return out

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM items").fetchone()[0])


# --- ranking (shared with the service, so merged results rank the same way) -------------------


def rank_hits(
    hits: Iterable[SearchHit], text: str, filters: SearchFilters, limit: int | None = None
) -> list[SearchHit]:
    """Filters, de-duplicates (one hit per location-free key), and orders hits by score:
    relevance × (image 1, place to browse ½) × (deprecated ½) × (1 + ¼ × how recent among
    these hits), plus a fixed boost for an exact URN or alias match. Only the best ``limit``
    come back (all without one)."""
    wanted = text.strip().casefold()
    kept: dict[str, SearchHit] = {}
    for hit in hits:
        if hit.is_image and not filters.accepts(hit.facts):
            continue
        if not hit.is_image and filters.any and hit.kind == NodeKind.VERSION.value:
            continue
        previous = kept.get(hit.key)
        if previous is None or hit.score > previous.score:
            kept[hit.key] = hit
    dated = [hit.release_date for hit in kept.values() if hit.release_date is not None]
    oldest, newest = (min(dated), max(dated)) if dated else (None, None)
    span = (newest - oldest).days if oldest is not None and newest is not None else 0
    scored: list[tuple[float, SearchHit]] = []
    for hit in kept.values():
        score = hit.score * (1.0 if hit.is_image else 0.5)
        if hit.facts.deprecated:
            score *= 0.5
        if hit.release_date is not None and oldest is not None and span > 0:
            score *= 1.0 + 0.25 * (hit.release_date - oldest).days / span
        if wanted and wanted in (
            hit.urn.casefold(),
            hit.version_urn.casefold(),
            hit.alias.casefold(),
        ):
            score += _EXACT_BOOST
        scored.append((score, hit))
    scored.sort(key=lambda pair: (-pair[0], pair[1].title.casefold(), pair[1].key))
    # A hit is a frozen dataclass and copying one costs more than scoring it: only the hits
    # that come back are copied with their score (a one-letter prefix has hundreds of rows).
    return [_with_score(hit, score) for score, hit in scored[:limit]]


def _with_score(hit: SearchHit, score: float) -> SearchHit:
    return replace(hit, score=score)


# --- rows and nodes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowText:
    """What of a row is searchable."""

    node: CatalogNode
    publisher: str
    offer: str
    sku: str
    urn: str
    facts: Facts
    latest: str
    summary: str
    description: str


def _fts_columns(text: RowText) -> tuple[str, str, str, str]:
    """The FTS columns of a row: name, path (with URN, latest version, az aliases), facts, text."""
    facts = text.facts
    alias_names = " ".join(a.name for a in aliases_for(text.publisher, text.offer, text.sku))
    path = index_words(*text.node.ref.parts[:-1], text.urn, text.latest, alias_names)
    fact_words = index_words(
        facts.os_type,
        facts.architecture,
        {"V1": "Gen1", "V2": "Gen2"}.get(facts.generation.upper(), facts.generation),
        facts.security_type,
        facts.deprecation,
        "plan" if facts.plan else "",
    )
    name = index_words(text.node.label, text.node.name)
    return name, path, fact_words, index_words(text.summary, text.description)


def _hit(row: dict[str, Any]) -> SearchHit:
    facts = _facts_from_json(row["facts"])
    publisher, offer, sku = row["publisher"], row["offer"], row["sku"]
    found = aliases_for(publisher, offer, sku) if row["source"] == "marketplace" else []
    return SearchHit(
        key=row["key"],
        source=row["source"],
        kind=row["kind"],
        title=_title(row),
        publisher=publisher,
        offer=offer,
        sku=sku,
        urn=row["urn"],
        latest_version=row["latest_version"],
        release_date=_date(row["release_date"]),
        facts=facts,
        is_image=bool(row["is_image"]),
        score=-float(row["rank"]),
        origins=(HitOrigin.INDEX,),
        alias=found[0].name if found else "",
        description=row["description"],
    )


def _title(row: dict[str, Any]) -> str:
    if row["source"] == "marketplace" and row["urn"]:
        return str(row["urn"])
    parts = NodeRef.from_key(row["key"]).parts
    if row["is_image"] and row["source"] in ("community", "shared", "gallery") and len(parts) >= 2:
        return f"{parts[-2]}/{row['label']}"  # the gallery and the image definition
    return str(row["label"])


def _names(node: CatalogNode) -> tuple[str, str, str, str]:
    """Publisher, offer, SKU and URN of a node (a gallery image's path as its URN)."""
    parts = node.ref.parts
    if node.ref.source is SourceKind.MARKETPLACE:
        publisher, offer, sku = (*parts, "", "", "")[:3]
        urn = ":".join(parts[:3]) if len(parts) >= 3 else ""
        return publisher, offer, sku, urn
    return "", "", "", "/".join(parts) if _is_image_row(node) else ""


def _is_image_row(node: CatalogNode) -> bool:
    """An image unit: a SKU or image definition (whose versions are its children), a managed
    image or a VM."""
    if (node.ref.source, node.kind) in _VERSIONED:
        return True
    return node.kind in (NodeKind.IMAGE, NodeKind.VM)


_ARM64 = re.compile(r"(?:^|[^a-z0-9])(?:arm64|aarch64)(?:$|[^a-z0-9])")
_GEN2 = re.compile(r"(?:gen2|gensecond|-g2$|-g2-)")
_GEN1 = re.compile(r"gen1")


def _facts_from_names(node: CatalogNode) -> Facts:
    """What a Marketplace SKU's name says until Azure is asked: publishers mark Arm64 and Gen2
    SKUs in their names (``server-arm64``, ``22_04-lts-gen2``, ``2019-datacenter-gensecond``).
    Only for SKUs, and only what the name says outright; the detail replaces it."""
    if node.ref.source is not SourceKind.MARKETPLACE or node.kind is not NodeKind.SKU:
        return Facts()
    name = node.name.casefold()
    architecture = "Arm64" if _ARM64.search(name) else ""
    generation = "V2" if _GEN2.search(name) or architecture else "V1" if _GEN1.search(name) else ""
    return Facts(architecture=architecture, generation=generation)


def facts_from_detail(detail: ImageDetail) -> Facts:
    """The facts of an image detail, in ARM's words (the detail pane's labels turned back)."""
    properties = {str(label): value for label, value in detail.properties}
    security = ""
    for line in str(properties.get("Features", "")).splitlines():
        name, _, value = line.partition("=")
        if name.strip().casefold() == "securitytype":
            security = value.strip()
    if not security:
        security = _SECURITY_FROM_LABEL.get(str(detail.security_type), "")
    deprecation = str(properties.get("Deprecation", "")).split(",", 1)[0].strip()
    generation_match = re.search(r"\((V\d)\)", detail.hyper_v_generation)
    generation = generation_match.group(1) if generation_match else ""
    plan: bool | None = None
    if detail.ref.source is SourceKind.MARKETPLACE:
        plan = "Purchase plan" in properties
    return Facts(
        os_type=detail.os_type,
        architecture=detail.architecture,
        generation=generation,
        security_type=security or "Standard",
        deprecation="" if deprecation.casefold() == "active" else deprecation,
        plan=plan,
        data_disks=len(detail.data_disks),
    )


_SECURITY_FROM_LABEL = {
    "Standard": "Standard",
    "Trusted launch": "TrustedLaunch",
    "Standard or Trusted launch": "TrustedLaunchSupported",
    "Confidential VM": "ConfidentialVM",
    "Standard or Confidential VM": "ConfidentialVmSupported",
    "Standard, Trusted launch or Confidential VM": "TrustedLaunchAndConfidentialVmSupported",
}


def _published(detail: ImageDetail) -> date | None:
    for label, value in detail.properties:
        if str(label) == "Published" and isinstance(value, datetime):
            return value.date()
    return None


@functools.lru_cache(maxsize=256)
def _facts_json(facts: Facts) -> str:
    return json.dumps(
        {name: getattr(facts, name) for name in facts.__dataclass_fields__}, sort_keys=True
    )


@functools.lru_cache(maxsize=1024)
def _facts_from_json(text: str) -> Facts:
    # Cached (Facts is frozen): rows share a handful of fact sets, and a broad query reads
    # hundreds of rows while the user types.
    try:
        data = json.loads(text)
    except ValueError:
        return Facts()
    if not isinstance(data, dict):
        return Facts()
    known = {name: data[name] for name in Facts.__dataclass_fields__ if name in data}
    return Facts(**known)


def _date(text: object) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def _iso(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _like_prefix(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "/%"


def _schema_version(db: sqlite3.Connection) -> int | None:
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:
        return None  # a new file
    return int(row[0]) if row is not None and str(row[0]).isdigit() else -1

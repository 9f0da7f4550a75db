"""The local search index against the sandbox over HTTP: fed by the one listing cache, found
by words, kept across restarts, refreshed within a budget of ARM reads, filtered."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.session import sandbox_session
from gui.azure.catalog.cache import CachedCatalog
from gui.azure.catalog.nodes import CatalogNode, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.search.index import SCHEMA_VERSION, SearchIndex, match_expression, rank_hits
from gui.azure.search.model import Facts, SearchFilters, SearchHit, release_date_from_version
from gui.azure.search.refresh import ReadBudget, Refresher, attach
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

SCOPE = Scope(PRODUCTION_SUBSCRIPTION_ID, "westeurope")


class World:
    def __init__(self, catalog: Catalog, cache: CachedCatalog, index: SearchIndex) -> None:
        self.catalog, self.cache, self.index = catalog, cache, index

    def root(self, source: SourceKind) -> CatalogNode:
        return next(n for n in self.catalog.roots() if n.ref.source is source)

    async def expand(self, node: CatalogNode) -> list[CatalogNode]:
        return await self.cache.children(node, self.catalog.children)

    async def publisher(self, name: str) -> list[CatalogNode]:
        """Lists the Marketplace's publishers, then every offer and SKU of ``name``."""
        publishers = await self.expand(self.root(SourceKind.MARKETPLACE))
        skus: list[CatalogNode] = []
        for offer in await self.expand(next(p for p in publishers if p.label == name)):
            skus += await self.expand(offer)
        return skus

    async def refresh_all(self) -> None:
        refresher = Refresher(
            self.index, self.catalog, budget=ReadBudget(per_second=10_000, burst=10_000)
        )
        await refresher.refresh_once(limit=500)


@pytest_asyncio.fixture
async def world(sandbox: Any, tmp_path: Path) -> AsyncIterator[World]:
    session = sandbox_session(sandbox.arm_url)
    cache = CachedCatalog()
    catalog = Catalog(session, SCOPE, cache=cache)
    index = SearchIndex(tmp_path / "search.sqlite3")
    feed = attach(cache, index, SCOPE)
    try:
        yield World(catalog, cache, index)
    finally:
        await feed.drained()
        feed.close()
        index.close()
        await session.close()


def _titles(index: SearchIndex, text: str, **kwargs: Any) -> list[str]:
    return [hit.title for hit in index.search(text, location="westeurope", **kwargs)]


@pytest.mark.asyncio
async def test_a_listing_through_the_cache_is_found_by_its_words(world: World) -> None:
    await world.publisher("Canonical")
    feed = world.cache.listeners[0]
    await feed.drained()  # type: ignore[attr-defined]

    titles = _titles(world.index, "ubuntu 24.04 arm64")
    assert titles[0] == "Canonical:ubuntu-24_04-lts:server-arm64"
    # typed as far as "ar": the Arm64 SKU is still first (the last word is a prefix)
    assert _titles(world.index, "ubuntu 24.04 ar")[0] == titles[0]
    assert _titles(world.index, "no-such-image-anywhere") == []


@pytest.mark.asyncio
async def test_a_community_image_is_found_by_a_word_of_its_publisher_s_text(world: World) -> None:
    galleries = await world.expand(world.root(SourceKind.COMMUNITY))
    for gallery in galleries:
        await world.expand(gallery)
    assert _titles(world.index, "errata") == []  # listed, but its words not read yet
    await world.refresh_all()

    titles = _titles(world.index, "errata")  # "Images rebuilt monthly with the latest errata."
    assert titles and all(t.startswith("RockyLinuxLab-") for t in titles)
    hit = world.index.search("rocky 9 lvm", location="westeurope")[0]
    assert hit.title.endswith("/rocky-9-lvm")
    assert hit.latest_version == "9.5.20241120"
    assert hit.release_date is not None and hit.facts.data_disks == 1


@pytest.mark.asyncio
async def test_the_index_answers_after_a_restart_without_asking_azure(
    world: World, sandbox: Any, tmp_path: Path
) -> None:
    await world.publisher("Canonical")
    await world.refresh_all()
    before = sandbox.request_count
    again = SearchIndex(tmp_path / "search.sqlite3")  # a new start: the same file
    try:
        hit = again.search("Ubuntu2404", location="westeurope")[0]
    finally:
        again.close()
    assert hit.urn == "Canonical:ubuntu-24_04-lts:server"
    assert hit.latest_version == "24.04.202411030"
    assert hit.release_date is not None and hit.release_date.isoformat() == "2024-11-03"
    assert hit.facts.generation == "V2" and hit.facts.trusted_launch_capable
    assert sandbox.request_count == before


def test_an_index_of_another_schema_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
        f"INSERT INTO meta VALUES ('schema_version', '{SCHEMA_VERSION + 99}');"
        "CREATE TABLE items (nonsense TEXT);"
    )
    old.close()
    index = SearchIndex(path)
    try:
        assert index.count() == 0
        assert index.search("anything", location="westeurope") == []
    finally:
        index.close()


def test_a_damaged_index_file_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "search.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    index = SearchIndex(path)
    try:
        assert index.count() == 0
    finally:
        index.close()


@pytest.mark.asyncio
async def test_the_refresh_keeps_within_its_read_budget(world: World, sandbox: Any) -> None:
    await world.publisher("Canonical")
    clock = [0.0]
    waited: list[float] = []

    async def sleep(seconds: float) -> None:  # time passes only when the budget waits
        waited.append(seconds)
        clock[0] += seconds

    budget = ReadBudget(per_second=2.0, burst=3, clock=lambda: clock[0], sleep=sleep)
    refresher = Refresher(world.index, world.catalog, budget=budget)
    before = sandbox.request_count
    report = await refresher.refresh_once(limit=6)

    reads = sandbox.request_count - before
    assert report.refreshed == 6 and report.failed == 0
    assert reads == budget.spent == 12  # versions + the latest version's image, per SKU
    # never more than the burst plus what the rate refilled in the time that passed
    assert reads <= 3 + 2.0 * clock[0] + 1e-9
    assert waited  # it did wait for the budget


@pytest.mark.asyncio
async def test_filters(world: World) -> None:
    await world.publisher("Canonical")
    await world.refresh_all()
    index = world.index

    arm = index.search("ubuntu", location="westeurope", filters=SearchFilters(arm64_only=True))
    assert arm and all(h.facts.architecture == "Arm64" for h in arm if h.is_image)
    gen2 = index.search("ubuntu lts", location="westeurope", filters=SearchFilters(gen2_only=True))
    assert gen2 and all(h.facts.generation == "V2" for h in gen2 if h.is_image)
    assert "Canonical:ubuntu-24_04-lts:server-gen1" not in [h.title for h in gen2]
    trusted = index.search(
        "ubuntu 24.04", location="westeurope", filters=SearchFilters(trusted_launch_only=True)
    )
    assert trusted and all(h.facts.trusted_launch_capable for h in trusted if h.is_image)
    assert "Canonical:ubuntu-24_04-lts:server-arm64" not in [h.title for h in trusted]
    every = _titles(index, "18.04")
    shown = _titles(index, "18.04", filters=SearchFilters(hide_deprecated=True))
    assert "Canonical:UbuntuServer:18.04-LTS" in every
    assert "Canonical:UbuntuServer:18.04-LTS" not in shown


def test_query_words_and_version_dates() -> None:
    assert match_expression("ubuntu 24.04 ar") == '"ubuntu" "24" "04" "ar"*'
    assert match_expression("ubuntu ") == '"ubuntu"'
    assert match_expression('"; DROP TABLE items -- ') == '"drop" "table" "items"'
    assert match_expression("  ") is None
    assert str(release_date_from_version("24.04.202411030")) == "2024-11-03"
    assert str(release_date_from_version("20348.2849.241109")) == "2024-11-09"
    assert str(release_date_from_version("16.0.241010")) == "2024-10-10"
    assert release_date_from_version("1.0.0") is None


def test_ranking_a_few_of_many_hits_gives_the_best_of_the_whole_ranking() -> None:
    # A one-letter prefix brings hundreds of rows; only the best few are asked for, and they
    # must be exactly the head of the full ranking, scores included.
    hits = [
        SearchHit(
            key=f"marketplace/p/o/sku{n}",
            source="marketplace",
            kind="sku",
            title=f"p:o:sku{n}",
            urn=f"p:o:sku{n}",
            is_image=n % 3 != 0,
            score=1.0 + (n * 7 % 11) / 10,
            release_date=date(2024, 1 + n % 12, 1),
            facts=Facts(deprecation="Deprecated" if n % 5 == 0 else ""),
        )
        for n in range(40)
    ]
    hits.append(SearchHit(key="marketplace/p/o/exact", source="marketplace", kind="sku",
                          title="p:o:exact", urn="p:o:exact", is_image=True, score=0.1))
    whole = rank_hits(hits, "p:o:exact", SearchFilters())
    assert len(whole) == len(hits) and whole[0].key == "marketplace/p/o/exact"
    best = rank_hits(hits, "p:o:exact", SearchFilters(), limit=7)
    assert best == whole[:7]
    assert [hit.score for hit in best] == sorted((hit.score for hit in best), reverse=True)
    assert rank_hits(hits, "p:o:exact", SearchFilters(), limit=None) == whole

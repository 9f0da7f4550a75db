"""The search service against the sandbox over HTTP: the Marketplace Catalog and the local index
merged and ranked, ``latest`` resolved with its date, aliases, filters, and offline answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.session import sandbox_session
from gui.azure.catalog.cache import CachedCatalog
from gui.azure.catalog.nodes import SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.search.catalog_api import MarketplaceCatalogClient
from gui.azure.search.index import SearchIndex
from gui.azure.search.model import HitOrigin, SearchFilters
from gui.azure.search.refresh import ReadBudget, Refresher
from gui.azure.search.service import SearchService
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

SCOPE = Scope(PRODUCTION_SUBSCRIPTION_ID, "westeurope")


@pytest_asyncio.fixture
async def service(sandbox: Any, tmp_path: Path) -> AsyncIterator[SearchService]:
    session = sandbox_session(sandbox.arm_url)
    client = MarketplaceCatalogClient.for_sandbox(sandbox.catalog_url)
    index = SearchIndex(tmp_path / "search.sqlite3")
    catalog = Catalog(session, SCOPE, cache=CachedCatalog())
    try:
        yield SearchService(index, catalog=catalog, catalog_client=client)
    finally:
        await client.close()
        index.close()
        await session.close()


@pytest.mark.asyncio
async def test_ubuntu_24_04_arm64_finds_canonicals_arm64_sku_first(service: SearchService) -> None:
    result = await service.search("ubuntu 24.04 arm64")
    assert result.catalog_used
    first = result.hits[0]
    assert first.urn == "Canonical:ubuntu-24_04-lts:server-arm64"
    assert first.facts.architecture == "Arm64" and first.facts.generation == "V2"
    assert HitOrigin.CATALOG in first.origins
    assert set(result.facets) >= {"OperatingSystems", "PricingTypes", "PublisherType"}


@pytest.mark.asyncio
async def test_sql_2022_enterprise_finds_the_sql_image_with_data_disks(
    service: SearchService,
) -> None:
    first = (await service.search("sql 2022 enterprise")).hits[0]
    assert first.urn == "MicrosoftSQLServer:sql2022-ws2022:enterprise-gen2"
    assert first.facts.data_disks == 2  # read from ARM's image of its latest version
    assert first.facts.os_type == "Windows"


@pytest.mark.asyncio
async def test_latest_resolves_to_the_newest_version_with_its_date(service: SearchService) -> None:
    first = (await service.search("Canonical:ubuntu-24_04-lts:server:latest")).hits[0]
    assert first.urn == "Canonical:ubuntu-24_04-lts:server"
    assert first.latest_version == "24.04.202411030"
    assert first.version_urn == "Canonical:ubuntu-24_04-lts:server:24.04.202411030"
    assert first.release_date is not None and first.release_date.isoformat() == "2024-11-03"


@pytest.mark.asyncio
async def test_az_aliases_resolve_to_their_urns(service: SearchService) -> None:
    for alias, urn in (
        ("Ubuntu2404", "Canonical:ubuntu-24_04-lts:server"),
        ("ubuntu2204", "Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2"),
    ):
        first = (await service.search(alias)).hits[0]
        assert (first.urn, first.alias.casefold()) == (urn, alias.casefold())
        assert HitOrigin.ALIAS in first.origins
        assert first.latest_version and first.release_date is not None


@pytest.mark.asyncio
async def test_filters_apply_to_merged_results(service: SearchService) -> None:
    arm = await service.search("ubuntu", SearchFilters(arm64_only=True))
    assert arm.hits and all(h.facts.architecture == "Arm64" for h in arm.hits if h.is_image)
    trusted = await service.search("ubuntu 24.04", SearchFilters(trusted_launch_only=True))
    urns = [h.urn for h in trusted.hits]
    assert "Canonical:ubuntu-24_04-lts:server" in urns
    assert "Canonical:ubuntu-24_04-lts:server-arm64" not in urns
    gen2 = await service.search("ubuntu 24.04", SearchFilters(gen2_only=True))
    assert "Canonical:ubuntu-24_04-lts:server-gen1" not in [h.urn for h in gen2.hits]


@pytest.mark.asyncio
async def test_offline_answers_come_from_the_local_index(
    sandbox: Any, tmp_path: Path, service: SearchService
) -> None:
    catalog = service.catalog
    assert catalog is not None
    root = next(n for n in catalog.roots() if n.ref.source is SourceKind.COMMUNITY)
    for gallery in await catalog.cache.children(root, catalog.children):
        await catalog.cache.children(gallery, catalog.children)
    budget = ReadBudget(per_second=10_000, burst=10_000)
    await Refresher(service.index, catalog, budget=budget).refresh_once(limit=100)

    offline = SearchService(service.index)  # no catalogue, no session: sandbox mode offline
    before = sandbox.request_count
    result = await offline.search("nightly flatcar arm64", location="westeurope")
    assert sandbox.request_count == before
    assert not result.catalog_used and result.catalog_error == "offline"
    first = result.hits[0]
    assert first.title.endswith("/flatcar-stable-arm64")
    assert first.origins == (HitOrigin.INDEX,)
    assert first.latest_version == "4081.2.0" and first.release_date is not None


@pytest.mark.asyncio
async def test_latest_the_index_knows_is_shown_without_reading_arm(
    sandbox: Any, service: SearchService
) -> None:
    catalog = service.catalog
    assert catalog is not None
    root = next(n for n in catalog.roots() if n.ref.source is SourceKind.MARKETPLACE)
    canonical = next(
        p for p in await catalog.cache.children(root, catalog.children) if p.label == "Canonical"
    )
    for offer in await catalog.cache.children(canonical, catalog.children):
        await catalog.cache.children(offer, catalog.children)
    budget = ReadBudget(per_second=10_000, burst=10_000)
    refresher = Refresher(service.index, catalog, budget=budget)
    await refresher.refresh_once(limit=100)
    await refresher.feed.drained()

    before = sandbox.request_count
    result = await service.search("ubuntu 24.04 arm64")
    assert sandbox.request_count == before + 1  # the catalogue's search, no ARM read
    first = result.hits[0]
    assert first.urn == "Canonical:ubuntu-24_04-lts:server-arm64"
    assert first.latest_version == "24.04.202411030" and first.release_date is not None
    assert first.facts.data_disks == 0

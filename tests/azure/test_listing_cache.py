"""The one listing cache: what was listed or described is there first on the next start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gui.azure.account.session import sandbox_session
from gui.azure.catalog.cache import CachedCatalog, ListingCache
from gui.azure.catalog.nodes import SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

SCOPE = Scope(PRODUCTION_SUBSCRIPTION_ID, "westeurope")


@pytest.mark.asyncio
async def test_listings_and_details_are_there_first_on_the_next_start(
    sandbox: Any, tmp_path: Path
) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        listings = CachedCatalog(ListingCache(tmp_path, SCOPE.key))
        catalog = Catalog(session, SCOPE, cache=listings)
        root = next(n for n in catalog.roots() if n.ref.source is SourceKind.MANAGED)
        assert listings.cached_children(root.ref) is None
        groups = await listings.children(root, catalog.children)
        images = await listings.children(groups[0], catalog.children)
        detail = await listings.detail(images[0], catalog.detail)
        assert listings.store is not None
        listings.store.flush()
    finally:
        await session.close()

    before = sandbox.request_count
    again = CachedCatalog(ListingCache(tmp_path, SCOPE.key))  # a new start: read from disk
    cached_groups = again.cached_children(root.ref)
    cached_images = again.cached_children(groups[0].ref)
    cached_detail = again.cached_detail(images[0].ref)
    assert cached_groups is not None and cached_images is not None and cached_detail is not None
    assert [n.label for n in cached_groups[0]] == [n.label for n in groups]
    assert [n.ref for n in cached_images[0]] == [n.ref for n in images]
    assert cached_detail[0].title == detail.title
    assert cached_detail[0].disks == detail.disks
    assert sandbox.request_count == before  # all of it without asking Azure


@pytest.mark.asyncio
async def test_managed_images_are_listed_once_for_every_group_until_a_refresh(
    sandbox: Any,
) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        listings = CachedCatalog()
        catalog = Catalog(session, SCOPE, cache=listings)
        root = next(n for n in catalog.roots() if n.ref.source is SourceKind.MANAGED)
        groups = await listings.children(root, catalog.children)
        assert groups
        before = sandbox.request_count
        for group in groups:
            assert await listings.children(group, catalog.children)
        assert sandbox.request_count == before  # cut from the list the source level fetched
        catalog.forget_cached_listings()
        await listings.children(groups[0], catalog.children)
        assert sandbox.request_count > before  # a refresh asks Azure again
    finally:
        await session.close()


def test_without_a_store_nothing_is_cached() -> None:
    listings = CachedCatalog()
    root = Catalog.roots()[0]
    assert listings.cached_children(root.ref) is None
    assert listings.cached_detail(root.ref) is None

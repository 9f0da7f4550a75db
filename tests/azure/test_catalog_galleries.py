"""Shared and community galleries as people know them, against the sandbox over HTTP:
"Shared with me" by the gallery's own name and publisher (the unique name kept), and a
mistyped community gallery name answered with where to find the right one."""

from __future__ import annotations

from typing import Any

import pytest

from gui.azure.account.session import sandbox_session
from gui.azure.catalog.nodes import CatalogNode, SourceKind
from gui.azure.catalog.service import (
    Catalog,
    CommunityGalleryNotFoundError,
    Scope,
    shared_gallery_display_name,
)
from gui.i18n import Text, english
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.community import COMMUNITY_GALLERIES, SHARED_GALLERIES

LOCATION = "westeurope"


def _root(catalog: Catalog, source: SourceKind) -> CatalogNode:
    return next(node for node in catalog.roots() if node.ref.source is source)


def test_a_shared_gallery_unique_name_gives_the_gallery_name() -> None:
    owner = "0b6e3f2a-8c15-4d97-a2e4-7f1c9b5d3e60"
    assert shared_gallery_display_name(f"{owner}-FABRIKAM_BASEIMAGES") == "FABRIKAM_BASEIMAGES"
    assert shared_gallery_display_name(f"{owner}-MY-GALLERY") == "MY-GALLERY"
    # not Azure's "{subscription-id}-NAME" shape: shown as it is
    assert shared_gallery_display_name("galleryUniqueName") == "galleryUniqueName"
    assert shared_gallery_display_name("ab-CD") == "ab-CD"


@pytest.mark.asyncio
async def test_shared_with_me_shows_gallery_names_and_publishers_keeping_the_unique_name(
    sandbox: Any,
) -> None:
    here = [g for g in SHARED_GALLERIES if LOCATION in g.locations]
    session = sandbox_session(sandbox.arm_url)
    try:
        catalog = Catalog(session, Scope(PRODUCTION_SUBSCRIPTION_ID, LOCATION))
        galleries = await catalog.children(_root(catalog, SourceKind.SHARED))
        by_name = {node.name: node for node in galleries}
        assert set(by_name) == {g.unique_name for g in here}
        for spec in here:
            node = by_name[spec.unique_name]
            # the label is the gallery's own name, not "<owner subscription GUID>-NAME"
            assert node.label == spec.unique_name.split("-", 5)[5]
            assert node.label != spec.unique_name and spec.unique_name.endswith(node.label)
            summary = english(node.summary)
            publishers = {image.identifier[0] for image in spec.images}
            assert all(publisher in summary for publisher in publishers), summary
            if spec.shared_to == "tenant":
                assert "shared with this subscription's tenant" in summary
            else:
                assert "shared with this subscription" in summary
            assert isinstance(node.summary, Text)  # our words: translated where shown
        # expanding a gallery asks by the unique name, from the listing already made
        before = sandbox.request_count
        fabrikam = next(node for node in galleries if node.label == "FABRIKAM_BASEIMAGES")
        definitions = await catalog.children(fabrikam)
        assert {d.label for d in definitions} >= {"fabrikam-ubuntu-2204-cis"}
        assert sandbox.request_count == before
        # listing "Shared with me" again asks Azure again (a refresh is a refresh)
        await catalog.children(_root(catalog, SourceKind.SHARED))
        assert sandbox.request_count > before
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_shared_gallery_nodes_survive_the_listing_cache_as_json(sandbox: Any) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        catalog = Catalog(session, Scope(PRODUCTION_SUBSCRIPTION_ID, LOCATION))
        galleries = await catalog.children(_root(catalog, SourceKind.SHARED))
    finally:
        await session.close()
    for node in galleries:
        again = CatalogNode.from_json(node.to_json())
        assert again == node
        assert english(again.summary) == english(node.summary)


@pytest.mark.asyncio
async def test_a_mistyped_community_gallery_says_it_does_not_exist_there_and_where_to_look(
    sandbox: Any,
) -> None:
    real = next(g for g in COMMUNITY_GALLERIES if LOCATION in g.locations).public_name
    typo = real.replace("-", "_", 1)
    session = sandbox_session(sandbox.arm_url)
    try:
        catalog = Catalog(session, Scope(PRODUCTION_SUBSCRIPTION_ID, LOCATION))
        with pytest.raises(CommunityGalleryNotFoundError) as caught:
            await catalog.add_community_gallery(typo)
        assert catalog.extra_community_galleries == []  # nothing kept from the mistake
        node = await catalog.add_community_gallery(f"  {real} ")  # corrected, then accepted
    finally:
        await session.close()
    text = caught.value.user_text()
    assert f"No community gallery with the public name {typo} exists in {LOCATION}." in text
    assert "Community galleries" in text and "prefix-GUID" in text
    assert "deleted or renamed" not in text
    assert caught.value.request_id and caught.value.request_id in text
    assert english(caught.value) == text
    assert node.name == real and catalog.extra_community_galleries == [real]

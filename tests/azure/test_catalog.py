"""The catalog against the sandbox over HTTP: every source down to an image and its disks."""

from __future__ import annotations

from typing import Any

import pytest

from gui.azure.account.session import sandbox_session
from gui.azure.catalog.nodes import CatalogNode, DiskRole, SourceKind
from gui.azure.catalog.service import Catalog, Scope, shared_gallery_display_name
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID


async def first_image(catalog: Catalog, node: CatalogNode) -> CatalogNode:
    while not node.is_image:
        children = await catalog.children(node)
        assert children, f"{node.label} has no children"
        node = children[0]
    return node


@pytest.mark.asyncio
@pytest.mark.parametrize("source", [SourceKind.COMMUNITY, SourceKind.SHARED])
async def test_public_galleries_down_to_a_version_with_its_disks(
    sandbox: Any, source: SourceKind
) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        catalog = Catalog(session, Scope(PRODUCTION_SUBSCRIPTION_ID, "westeurope"))
        root = next(node for node in catalog.roots() if node.ref.source is source)
        galleries = await catalog.children(root)
        assert galleries
        definitions = await catalog.children(galleries[0])
        assert all(d.summary for d in definitions)  # OS type, state, generation shown
        image = await first_image(catalog, definitions[0])
        detail = await catalog.detail(image)
        assert detail.os_type in ("Linux", "Windows")
        assert detail.os_state in ("Generalized", "Specialized")
        assert detail.disks[0].role is DiskRole.OS and detail.disks[0].size_gb
        gallery, *rest = image.ref.parts
        if source is SourceKind.SHARED:  # the gallery's own name; the unique one in the ID
            assert gallery in detail.resource_id
            gallery = shared_gallery_display_name(gallery)
        assert detail.title == "/".join((gallery, *rest))
        # a gallery with a specialized VM image: its data disks come through
        for definition in definitions:
            if definition.label.endswith("sql-node"):
                sql = await catalog.detail(await first_image(catalog, definition))
                assert sql.os_state == "Specialized" and len(sql.data_disks) == 2
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_shared_with_me_lists_galleries_shared_with_the_tenant_and_the_subscription(
    sandbox: Any,
) -> None:
    from gui.sandbox.seed.community import SHARED_GALLERIES

    location = "westeurope"
    here = [g for g in SHARED_GALLERIES if location in g.locations]
    to_tenant = {g.unique_name for g in here if g.shared_to == "tenant"}
    to_subscription = {g.unique_name for g in here if g.shared_to == "subscription"}
    assert to_tenant and to_subscription
    session = sandbox_session(sandbox.arm_url)
    try:
        catalog = Catalog(session, Scope(PRODUCTION_SUBSCRIPTION_ID, location))
        root = next(node for node in catalog.roots() if node.ref.source is SourceKind.SHARED)
        names = [node.name for node in await catalog.children(root)]  # Azure's unique names
        tenant_gallery = next(n for n in await catalog.children(root) if n.name in to_tenant)
        assert await catalog.children(tenant_gallery)  # its definitions list like any other
    finally:
        await session.close()
    assert sorted(names) == sorted(to_tenant | to_subscription)
    assert len(names) == len(set(names))

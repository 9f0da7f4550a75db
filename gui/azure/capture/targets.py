"""What exists where a capture goes: resource groups, images, galleries, definitions, versions."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient

from gui.azure.arm import resource_group_of
from gui.azure.capture.plan import CapturePlan, DefinitionInfo, GalleryInfo, TargetFacts, TargetKind
from gui.azure.errors import NotFoundError, translating
from gui.azure.image_builder import definition_from_json

T = TypeVar("T")


async def list_resource_groups(resources: ResourceManagementClient) -> list[str]:
    @translating
    async def collect() -> list[str]:
        return [str(g.name) async for g in resources.resource_groups.list() if g.name]

    return sorted(await collect(), key=str.lower)


async def list_galleries(client: ComputeManagementClient) -> list[GalleryInfo]:
    @translating
    async def collect() -> list[GalleryInfo]:
        return [
            GalleryInfo(resource_group_of(str(g.id or "")), str(g.name), str(g.location or ""))
            async for g in client.galleries.list()
            if g.name
        ]

    return sorted(await collect(), key=lambda g: g.name.lower())


async def list_definitions(
    client: ComputeManagementClient, resource_group: str, gallery: str
) -> list[DefinitionInfo]:
    @translating
    async def collect() -> list[DefinitionInfo]:
        pager = client.gallery_images.list_by_gallery(resource_group, gallery)
        return [definition_from_json(item.as_dict()) async for item in pager]

    return sorted(await collect(), key=lambda d: d.name.lower())


async def list_versions(
    client: ComputeManagementClient, resource_group: str, gallery: str, definition: str
) -> list[str]:
    @translating
    async def collect() -> list[str]:
        pager = client.gallery_image_versions.list_by_gallery_image(
            resource_group, gallery, definition
        )
        return [str(v.name) async for v in pager if v.name]

    return await collect()


async def _or_empty(awaitable: Awaitable[list[T]]) -> list[T]:
    """A listing below something that does not exist (yet) is empty."""
    try:
        return await awaitable
    except NotFoundError:
        return []


async def load_facts(
    compute: ComputeManagementClient, resources: ResourceManagementClient, plan: CapturePlan
) -> TargetFacts:
    """Reads what validation of ``plan`` needs from Azure (a few list calls)."""

    async def images() -> list[str]:
        if plan.target is not TargetKind.MANAGED_IMAGE or not plan.resource_group:
            return []
        pager = compute.images.list_by_resource_group(plan.resource_group)
        return await _or_empty(_names(pager))

    async def snapshots() -> list[str]:
        if not plan.snapshot_disk_ids:
            return []
        pager = compute.snapshots.list_by_resource_group(plan.vm.resource_group)
        return await _or_empty(_names(pager))

    async def definitions() -> list[DefinitionInfo]:
        if plan.target is not TargetKind.GALLERY_VERSION or plan.create_gallery:
            return []
        if not plan.gallery_name:
            return []
        return await _or_empty(list_definitions(compute, plan.resource_group, plan.gallery_name))

    async def versions() -> list[str]:
        if plan.target is not TargetKind.GALLERY_VERSION or plan.create_definition:
            return []
        if plan.create_gallery or not plan.definition_name or not plan.gallery_name:
            return []
        return await _or_empty(
            list_versions(compute, plan.resource_group, plan.gallery_name, plan.definition_name)
        )

    async def galleries() -> list[GalleryInfo]:
        if plan.target is not TargetKind.GALLERY_VERSION:
            return []
        return await list_galleries(compute)

    (
        groups,
        image_names,
        snapshot_names,
        gallery_list,
        definition_list,
        version_list,
    ) = await asyncio.gather(
        list_resource_groups(resources),
        images(),
        snapshots(),
        galleries(),
        definitions(),
        versions(),
    )
    return TargetFacts(
        resource_groups=frozenset(g.lower() for g in groups),
        image_names=frozenset(n.lower() for n in image_names),
        galleries=tuple(gallery_list),
        definitions=tuple(definition_list),
        versions=frozenset(version_list),
        snapshot_names=frozenset(n.lower() for n in snapshot_names),
    )


@translating
async def _names(pager: Any) -> list[str]:
    return [str(item.name) async for item in pager if item.name]

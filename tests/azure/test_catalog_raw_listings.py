"""The browser's big ARM listings read past the SDK's pager, against the sandbox over HTTP.

Gallery versions, definitions, galleries, managed images, disks, snapshots, VMs and the images
and versions of community and shared galleries are fetched
with the SDK's request builders and the client's pipeline, page after page along ``nextLink``,
and turned into models and nodes on worker threads: the GUI loop (which the SDK awaits on)
makes none of those models. The nodes are the ones the typed pager gives, and an ARM error on a
later page becomes the same error.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.catalog import service
from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.errors import AzureServiceError
from gui.i18n import english
from gui.sandbox import SandboxServer
from tests.azure import listing_seed as seed

VERSIONS = 40  # besides the three seeded ones: pages of seven make seven pages
DISKS = 30
PAGE = 7


@pytest.fixture(scope="module")
def big_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of this module's own, with many versions in one definition and many disks."""
    with tempfile.TemporaryDirectory(prefix="ais-raw-listings-") as state:
        server = SandboxServer(Path(state) / "sandbox", reset=True)
        server.start()
        try:

            async def fill() -> None:
                session = sandbox_session(server.arm_url)
                try:
                    compute = session.compute(seed.SUB)
                    await seed.seed_versions(compute, VERSIONS)
                    await seed.seed_disks(compute, DISKS)
                finally:
                    await session.close()

            asyncio.run(fill())
            yield server
        finally:
            server.stop()


@pytest_asyncio.fixture
async def session(big_sandbox: SandboxServer) -> AsyncIterator[AzureSession]:
    big_sandbox.page_size = PAGE
    opened = sandbox_session(big_sandbox.arm_url)
    try:
        yield opened
    finally:
        await opened.close()
        big_sandbox.faults.clear()
        big_sandbox.page_size = 100


def _catalog(session: AzureSession) -> Catalog:
    return Catalog(session, Scope(seed.SUB, seed.LOCATION))


def _versions_node() -> CatalogNode:
    ref = NodeRef(SourceKind.GALLERY, (seed.GROUP, seed.GALLERY, seed.DEFINITION))
    return CatalogNode(ref, NodeKind.DEFINITION, seed.DEFINITION)


def _root(source: SourceKind) -> CatalogNode:
    return next(node for node in Catalog.roots() if node.ref.source is source)


async def _listings(catalog: Catalog) -> dict[str, list[CatalogNode]]:
    """Every listing read past the pager, from the roots down to the seeded definition."""
    galleries = await catalog.children(_root(SourceKind.GALLERY))
    gallery = next(node for node in galleries if node.label == seed.GALLERY)
    groups = await catalog.children(_root(SourceKind.MANAGED))
    in_groups = [node for group in groups for node in await catalog.children(group)]
    found = {
        "galleries": galleries,
        "definitions": await catalog.children(gallery),
        "versions": await catalog.children(_versions_node()),
        "groups": groups,
        "in groups": in_groups,
        "vms": await catalog.children(_root(SourceKind.VMS)),
    }
    for source in (SourceKind.COMMUNITY, SourceKind.SHARED):
        public = await catalog.children(_root(source))
        images = [node for each in public for node in await catalog.children(each)]
        versions = [node for image in images for node in await catalog.children(image)]
        found[f"{source.name} images"] = images
        found[f"{source.name} versions"] = versions
    return found


def _shown(nodes: list[CatalogNode]) -> list[tuple[Any, ...]]:
    return [(node, english(node.summary), node.is_image) for node in nodes]


@pytest.mark.asyncio
async def test_listings_follow_next_link_and_give_the_typed_pagers_nodes(
    session: AzureSession, big_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = big_sandbox.request_count
    raw = await _listings(_catalog(session))
    raw_requests = big_sandbox.request_count - before
    # every page was read: all versions and disks, across several pages each
    assert len(raw["versions"]) == VERSIONS + 3
    assert {seed.version_name(i) for i in range(VERSIONS)} <= {n.name for n in raw["versions"]}
    bulk = next(node for node in raw["groups"] if node.label == seed.DISK_GROUP)
    assert "disks: 30" in english(bulk.summary)
    assert sum(node.label.startswith("bulk-disk-") for node in raw["in groups"]) == DISKS
    assert all(raw.values()), [name for name, nodes in raw.items() if not nodes]

    # the typed pager's answer, through the fallback a later SDK without the builders takes
    monkeypatch.setattr(service, "_RAW_LISTS", {})
    before = big_sandbox.request_count
    typed = await _listings(_catalog(session))
    assert big_sandbox.request_count - before == raw_requests  # the same pages, no more
    assert raw.keys() == typed.keys()
    for name in raw:
        assert _shown(raw[name]) == _shown(typed[name]), name


class _LoopModelCounter:
    """Counts the SDK models of the given classes made on this (the loop's) thread: a profile
    hook sees every call of the models' ``__init__`` here, not on worker threads."""

    def __init__(self, *names: str) -> None:
        self.names = set(names)
        self.made: dict[str, int] = {}

    def _profile(self, frame: FrameType, event: str, _arg: object) -> None:
        if event != "call" or frame.f_code.co_name != "__init__":
            return
        if not frame.f_code.co_filename.endswith("model_base.py"):
            return
        made = type(frame.f_locals.get("self")).__name__
        if made in self.names:
            self.made[made] = self.made.get(made, 0) + 1

    async def count(self, work: Callable[[], Awaitable[object]]) -> dict[str, int]:
        assert threading.current_thread() is threading.main_thread()
        sys.setprofile(self._profile)
        try:
            await work()
        finally:
            sys.setprofile(None)
        return self.made


@pytest.mark.asyncio
async def test_the_big_listings_make_no_sdk_models_on_the_loop(session: AzureSession) -> None:
    catalog = _catalog(session)
    counter = _LoopModelCounter(
        "GalleryImageVersion", "GalleryImage", "Gallery", "Image", "Disk", "Snapshot",
        "CommunityGalleryImage", "CommunityGalleryImageVersion",
        "SharedGalleryImage", "SharedGalleryImageVersion",
    )

    async def browse() -> None:
        galleries = await catalog.children(_root(SourceKind.GALLERY))
        await catalog.children(next(node for node in galleries if node.label == seed.GALLERY))
        await catalog.children(_versions_node())
        for group in await catalog.children(_root(SourceKind.MANAGED)):
            await catalog.children(group)
        for source in (SourceKind.COMMUNITY, SourceKind.SHARED):
            for public in await catalog.children(_root(source)):
                for image in await catalog.children(public):
                    await catalog.children(image)

    assert await counter.count(browse) == {}
    # the VMs' listing too (each VM's own reads, its disk among them, are single answers)
    vms = _LoopModelCounter("VirtualMachine")
    listed: list[CatalogNode] = []

    async def list_vms() -> None:
        listed.extend(await catalog.children(_root(SourceKind.VMS)))

    assert await vms.count(list_vms) == {}
    assert listed


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "code"),
    [(403, "AuthorizationFailed"), (404, "ResourceNotFound"), (400, "InvalidParameter")],
)
async def test_an_arm_error_on_page_two_is_the_typed_pagers_error(
    session: AzureSession,
    big_sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    code: str,
) -> None:
    text = f"Page two refused ({status})."

    async def fail_on_page_two() -> AzureServiceError:
        catalog = _catalog(session)
        # Each request waits before the sandbox answers it, so the fault is in place while the
        # second page's request waits: the first page was answered without it.
        big_sandbox.faults.latency = 0.4
        start = big_sandbox.request_count
        listing = asyncio.ensure_future(catalog.children(_versions_node()))
        while big_sandbox.request_count < start + 2 and not listing.done():
            await asyncio.sleep(0.002)
        big_sandbox.faults.add(
            r"/images/ubuntu-22\.04-base/versions$", status=status, code=code, message=text,
            times=1,
        )
        try:
            with pytest.raises(AzureServiceError) as caught:
                await listing
        finally:
            big_sandbox.faults.clear()
        assert big_sandbox.request_count == start + 2  # page one, then page two failed
        return caught.value

    raw = await fail_on_page_two()
    monkeypatch.setattr(service, "_RAW_LISTS", {})
    typed = await fail_on_page_two()
    assert type(raw) is type(typed)
    assert (raw.code, raw.message, raw.status) == (typed.code, typed.message, typed.status)
    assert (raw.code, raw.message, raw.status) == (code, text, status)
    assert raw.request_id and typed.request_id
    assert raw.user_text().replace(raw.request_id, "") == typed.user_text().replace(
        typed.request_id, ""
    )

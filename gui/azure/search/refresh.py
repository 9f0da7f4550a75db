"""Keeping the local index filled and fresh: the feed from the listing cache, and a background
refresh that reads what the index holds within a budget of ARM reads.

ARM throttles reads per subscription with a token bucket (250 requests, refilled at 25 per
second, per subscription and region, in Azure Resource Manager's "Understand how Azure
Resource Manager throttles requests"). The window's own listings must never be the ones that
run out of it, so the refresh keeps to a small share of it (``ReadBudget``: 10 reads at once,
then 2 a second, by default) and backs off for the time ARM asks when it is throttled anyway.
No Qt: the window runs ``Refresher.run`` as one of its tasks, the command does not run it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azure.core.rest import HttpRequest

from gui.azure.catalog.cache import CachedCatalog
from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeRef, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.errors import AzureServiceError, NotFoundError, ThrottledError, translated
from gui.azure.search.index import IndexedNode, SearchIndex
from gui.azure.search.model import Facts, version_sort_key

log = logging.getLogger(__name__)

COMPUTE_GALLERY_API = "2023-07-03"  # community/shared/own gallery image definitions
MARKETPLACE_IMAGE_API = "2024-07-01"  # VirtualMachineImages_Get (imageDeprecationStatus)


class IndexFeed:
    """A ``ListingListener`` of the one listing cache: writes every listing and detail of one
    scope into the index, on a thread of its own (a region's 3,400 publishers take a few
    hundred milliseconds to index the first time: never on the window's thread). A failing
    write is logged, never raised: the tree must not lose a listing because the search index
    could not keep it."""

    def __init__(self, index: SearchIndex, scope: Scope) -> None:
        self.index = index
        self.scope = scope
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-index")

    def listed(self, parent: CatalogNode, children: list[CatalogNode]) -> None:
        self._submit(self._record_listing, parent, list(children))

    def described(self, detail: ImageDetail) -> None:
        self._submit(self.index.record_detail, self.scope.key, detail)

    def _submit(self, write: Callable[..., None], *args: object) -> None:
        try:
            self._writer.submit(self._guarded, write, *args)
        except RuntimeError:  # closed: a newer feed (another scope) has taken over
            log.debug("A closed search-index feed was told of a listing; ignored")

    def _record_listing(self, parent: CatalogNode, children: list[CatalogNode]) -> None:
        self.index.record_listing(self.scope.key, self.scope.location.casefold(), parent, children)

    @staticmethod
    def _guarded(write: Callable[..., None], *args: object) -> None:
        try:
            write(*args)
        except sqlite3.Error as error:
            log.warning("The search index could not keep a listing: %s", error)

    async def drained(self) -> None:
        """Returns once every listing told so far is in the index."""
        try:
            done = self._writer.submit(lambda: None)
        except RuntimeError:  # closed: it wrote everything before it stopped
            return
        await asyncio.wrap_future(done)

    def close(self) -> None:
        """Writes what is queued, then stops the writer thread."""
        self._writer.shutdown(wait=True)


def attach(cache: CachedCatalog, index: SearchIndex, scope: Scope) -> IndexFeed:
    """Feeds ``index`` from everything ``cache`` fetches for ``scope`` (replacing an earlier
    feed of this index: one scope at a time, as the tree shows one)."""
    for listener in cache.listeners:
        if isinstance(listener, IndexFeed) and listener.index is index:
            listener.close()
    cache.listeners[:] = [
        listener
        for listener in cache.listeners
        if not (isinstance(listener, IndexFeed) and listener.index is index)
    ]
    feed = IndexFeed(index, scope)
    cache.listeners.append(feed)
    return feed


class ReadBudget:
    """A token bucket of ARM reads: ``burst`` at once, refilled at ``per_second``."""

    def __init__(
        self,
        per_second: float = 2.0,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self.spent = 0  # reads taken so far (the tests compare it with what the server saw)
        self._tokens = float(burst)
        self._stamp = clock()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.per_second)
        self._stamp = now

    async def take(self, reads: int = 1) -> None:
        """Waits until ``reads`` ARM reads fit the budget, and spends them."""
        async with self._lock:
            while True:
                self._refill()
                pause = self._paused_until - self._clock()
                if pause > 0:
                    await self._sleep(pause)
                    continue
                if self._tokens >= reads:
                    self._tokens -= reads
                    self.spent += reads
                    return
                await self._sleep((reads - self._tokens) / self.per_second)

    def back_off(self, seconds: float) -> None:
        """ARM throttled a read anyway: spend nothing for ``seconds`` and start empty."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._tokens = 0.0


@dataclass(frozen=True)
class RefreshReport:
    refreshed: int
    failed: int


class Refresher:
    """Reads the facts of what the index holds: for each image row never read (or not for
    ``max_age`` seconds), its versions and its latest version's detail through the one listing
    cache (which feeds the index), and for a gallery image definition its description and
    disclaimer. Every ARM read is paid for from the budget first."""

    THROTTLE_PAUSE = 30.0  # when ARM throttles us without saying for how long

    def __init__(
        self,
        index: SearchIndex,
        catalog: Catalog,
        *,
        budget: ReadBudget | None = None,
        max_age: float = 24 * 3600.0,
    ) -> None:
        self.index = index
        self.catalog = catalog
        self.cache = catalog.cache
        self.budget = budget or ReadBudget()
        self.max_age = max_age
        self.feed = attach(self.cache, index, catalog.scope)

    async def refresh_once(self, limit: int = 50) -> RefreshReport:
        """Refreshes up to ``limit`` rows of the catalog's scope; returns what it did."""
        # Index reads and writes off the loop: it is the window's (SQLite waits for the disk).
        rows = await asyncio.to_thread(
            self.index.nodes_to_refresh,
            scope=self.catalog.scope.key, older_than=time.time() - self.max_age, limit=limit,
        )
        refreshed = failed = 0
        for row in rows:
            try:
                await self._refresh(row)
            except ThrottledError:
                self.budget.back_off(self.THROTTLE_PAUSE)
                failed += 1
                continue
            except NotFoundError:
                # Gone from Azure since it was listed: the next listing of its parent drops it.
                await asyncio.to_thread(self.index.mark_enriched, row.scope, row.node.ref.key)
                failed += 1
                continue
            except AzureServiceError as error:
                log.info("Could not refresh %s for search: %s", row.node.label, error)
                failed += 1
                continue
            await self.feed.drained()
            await asyncio.to_thread(self.index.mark_enriched, row.scope, row.node.ref.key)
            refreshed += 1
        return RefreshReport(refreshed, failed)

    async def run(self, idle_seconds: float = 60.0) -> None:
        """Refreshes for as long as it runs (cancel the task to stop), resting when done."""
        while True:
            report = await self.refresh_once()
            if report.refreshed == 0:
                await asyncio.sleep(idle_seconds)

    async def _read(self, awaitable: Callable[[], Awaitable[object]], reads: int = 1) -> object:
        await self.budget.take(reads)
        return await awaitable()

    async def _refresh(self, row: IndexedNode) -> None:
        node = row.node
        if node.is_image:  # a managed image or a VM: its detail is all there is
            await self._read(lambda: self.cache.detail(node, self.catalog.detail))
            return
        versions = await self._read(lambda: self.cache.children(node, self.catalog.children))
        assert isinstance(versions, list)
        if not versions and node.ref.source is SourceKind.MARKETPLACE:
            return
        if node.ref.source is SourceKind.MARKETPLACE:
            latest = max(versions, key=lambda v: version_sort_key(v.name))
            facts = await self._read(lambda: marketplace_facts(self.catalog, latest.ref))
            assert isinstance(facts, Facts)
            await self.feed.drained()  # the versions first: the facts go to the newest
            await asyncio.to_thread(self.index.record_enrichment, row.scope, node.ref.key, facts)
            return
        if versions:
            latest = max(versions, key=lambda v: version_sort_key(v.name))
            # A gallery version's detail reads its definition and the version: two reads.
            await self._read(lambda: self.cache.detail(latest, self.catalog.detail), 2)
        await self._read(lambda: self._definition_words(row))

    async def _definition_words(self, row: IndexedNode) -> None:
        """A gallery image definition's own words: its description (own galleries), the
        disclaimer and EULA text its publisher wrote (community), and its artifact tags."""
        ref = row.node.ref
        request = _definition_request(self.catalog.scope, ref)
        if request is None:
            return
        compute = self.catalog.session.compute(self.catalog.scope.subscription_id)
        with translated():
            response = await compute.send_request(request)
            response.raise_for_status()
        body = response.json()
        properties = body.get("properties") or {}
        words = [
            str(properties.get(name) or "")
            for name in ("description", "disclaimer", "eula", "privacyStatementUri")
        ]
        tags = properties.get("artifactTags") or {}
        if isinstance(tags, dict):
            words.extend(f"{key} {value}" for key, value in tags.items())
        identifier = properties.get("identifier") or {}
        facts = Facts(
            os_type=str(properties.get("osType") or ""),
            architecture=str(properties.get("architecture") or ""),
            generation=str(properties.get("hyperVGeneration") or ""),
        )
        words.extend(str(identifier.get(name) or "") for name in ("publisher", "offer", "sku"))
        description = " ".join(word for word in words if word)
        await asyncio.to_thread(
            lambda: self.index.record_enrichment(row.scope, ref.key, facts, description=description)
        )


async def marketplace_facts(catalog: Catalog, ref: NodeRef) -> Facts:
    """A Marketplace image version's facts from ARM's own answer (one read): generation,
    architecture, SecurityType, deprecation state, purchase plan and data disks."""
    publisher, offer, sku, version = ref.parts
    scope = catalog.scope
    compute = catalog.session.compute(scope.subscription_id)
    request = HttpRequest(
        "GET",
        f"/subscriptions/{scope.subscription_id}/providers/Microsoft.Compute/locations/"
        f"{scope.location}/publishers/{publisher}/artifacttypes/vmimage/offers/{offer}"
        f"/skus/{sku}/versions/{version}",
        params={"api-version": MARKETPLACE_IMAGE_API},
    )
    with translated():
        response = await compute.send_request(request)
        response.raise_for_status()
    properties = response.json().get("properties") or {}
    security = "Standard"
    for feature in properties.get("features") or ():
        if str(feature.get("name", "")).casefold() == "securitytype":
            security = str(feature.get("value") or security)
    state = str((properties.get("imageDeprecationStatus") or {}).get("imageState") or "")
    return Facts(
        os_type=str((properties.get("osDiskImage") or {}).get("operatingSystem") or ""),
        architecture=str(properties.get("architecture") or "x64"),
        generation=str(properties.get("hyperVGeneration") or "V1"),
        security_type=security,
        deprecation="" if state.casefold() in ("", "active") else state,
        plan=bool(properties.get("plan")),
        data_disks=len(properties.get("dataDiskImages") or ()),
    )


def _definition_request(scope: Scope, ref: NodeRef) -> HttpRequest | None:
    """The read of a gallery image definition, whichever kind of gallery holds it (each request
    written out, so the operation inventory sees which operation it is)."""
    sub, location = scope.subscription_id, scope.location
    api = {"api-version": COMPUTE_GALLERY_API}
    if ref.source is SourceKind.COMMUNITY and len(ref.parts) == 2:
        gallery, image = ref.parts
        return HttpRequest(
            "GET",
            f"/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}"
            f"/communityGalleries/{gallery}/images/{image}",
            params=api,
        )
    if ref.source is SourceKind.SHARED and len(ref.parts) == 2:
        gallery, image = ref.parts
        return HttpRequest(
            "GET",
            f"/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}"
            f"/sharedGalleries/{gallery}/images/{image}",
            params=api,
        )
    if ref.source is SourceKind.GALLERY and len(ref.parts) == 3:
        group, gallery, image = ref.parts
        return HttpRequest(
            "GET",
            f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute"
            f"/galleries/{gallery}/images/{image}",
            params=api,
        )
    return None

"""One search over everything: the Marketplace Catalog and the local index, merged and ranked.

``SearchService.search(text, filters, location)`` asks the Marketplace Catalog's Search API
(VM products only; each plan mapped to its ``publisher:offer:sku``) and the local index at the
same time, merges the two rankings (reciprocal rank fusion: a hit both rank high is surest),
applies the same boosts and filters as the index alone (``rank_hits``), and resolves
``latest`` for the best Marketplace hits to a version with its release date (from the index
when it knows the versions, else one ARM listing and one image read through the listing cache,
which feeds the index). An az alias (``Ubuntu2404``) or a URN typed whole is the first hit.

Offline (no catalogue client, or it fails) the index answers alone: the window's and the
headless command's ranking is this one function either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from gui.azure.catalog.cache import CachedCatalog
from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef, SourceKind
from gui.azure.catalog.service import Catalog
from gui.azure.errors import AzureServiceError, NotFoundError
from gui.azure.search.aliases import ImageAlias, alias_of_urn, resolve_alias
from gui.azure.search.catalog_api import CatalogPlanHit, MarketplaceCatalogClient
from gui.azure.search.index import SearchIndex, rank_hits
from gui.azure.search.model import (
    Facts,
    HitOrigin,
    SearchFilters,
    SearchHit,
    release_date_from_version,
    version_sort_key,
)
from gui.azure.search.refresh import IndexFeed, attach, marketplace_facts

log = logging.getLogger(__name__)

_FUSION_K = 10  # reciprocal rank fusion's constant: the first few places weigh most
_EXACT = 100.0


@dataclass(frozen=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    catalog_used: bool = False
    catalog_error: str = ""  # why the catalogue did not answer (offline, refused...)


class SearchService:
    """Search for one scope's tree (its catalog resolves ``latest`` through the listing cache).

    ``catalog_client`` is None offline (sandbox mode without a catalogue, or no network): the
    local index answers alone. ``catalog`` is None when there is no session at all: nothing
    is resolved against Azure, only what the index knows.
    """

    def __init__(
        self,
        index: SearchIndex,
        *,
        catalog: Catalog | None = None,
        catalog_client: MarketplaceCatalogClient | None = None,
        resolve_top: int = 5,
    ) -> None:
        self.index = index
        self.catalog = catalog
        self.catalog_client = catalog_client
        self.resolve_top = resolve_top
        self.feed: IndexFeed | None = None
        if catalog is not None:
            self.feed = attach(catalog.cache, index, catalog.scope)

    async def search(
        self,
        text: str,
        filters: SearchFilters | None = None,
        location: str | None = None,
        *,
        limit: int = 20,
    ) -> SearchResult:
        filters = filters or SearchFilters()
        where = (location or (self.catalog.scope.location if self.catalog else "")).casefold()
        if not text.strip():
            return SearchResult(())
        if self.feed is not None:
            await self.feed.drained()
        catalog_error = ""
        plans: Sequence[CatalogPlanHit] = ()
        facets: dict[str, dict[str, int]] = {}
        if self.catalog_client is not None:
            local_task = asyncio.to_thread(
                self.index.search, text, location=where or None, filters=SearchFilters(), limit=60
            )
            remote = self.catalog_client.search(text, location=where or None)
            local, answer = await asyncio.gather(local_task, remote, return_exceptions=True)
            if isinstance(answer, AzureServiceError):
                catalog_error = answer.message
                log.info("The Marketplace Catalog did not answer %r: %s", text, answer.message)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                plans, facets = answer.plans, {k: dict(v) for k, v in answer.facets.items()}
            if isinstance(local, BaseException):
                raise local
        else:
            local = None  # searched with the merge below: one trip to a worker thread
            catalog_error = "offline"
        # Merging looks catalogue plans and typed URNs up in the index, and the best images'
        # versions are read with it: SQLite queries, which the window's loop must never wait
        # for (a search runs on the GUI's qasync loop), in one trip to a worker thread (each
        # trip waits for a core on a busy machine).
        ranked, known = await asyncio.to_thread(
            self._merge, text, filters, local, plans, where=where, limit=limit
        )
        top = await self._resolve_latest(ranked, where, known)
        # Resolving may have learnt facts a filter needs (a SKU's generation): filter again.
        final = [hit for hit in top if not hit.is_image or filters.accepts(hit.facts)]
        return SearchResult(
            tuple(final),
            facets=facets,
            catalog_used=self.catalog_client is not None and not catalog_error,
            catalog_error=catalog_error,
        )

    # --- merging ----------------------------------------------------------------------------

    def _merge(
        self,
        text: str,
        filters: SearchFilters,
        local: Sequence[SearchHit] | None,
        plans: Sequence[CatalogPlanHit],
        *,
        where: str,
        limit: int,
    ) -> tuple[list[SearchHit], dict[str, list[tuple[str, date | None]]]]:
        """The best ``limit`` hits, and the versions the index holds of those whose ``latest``
        is resolved (``local``: the index's own hits, searched here when None)."""
        if local is None:
            local = self.index.search(
                text, location=where or None, filters=SearchFilters(), limit=60
            )
        merged = self._fused(local, plans, where)
        exact = self._exact(text, where)
        if exact is not None:
            merged = [exact, *(hit for hit in merged if hit.key != exact.key)]
        ranked = rank_hits(merged, text, filters, limit)
        known = {
            ranked[i].key: self.index.versions(where, ranked[i].key) if where else []
            for i in self._to_resolve(ranked)
        }
        return ranked, known

    def _fused(
        self, local: Sequence[SearchHit], plans: Sequence[CatalogPlanHit], location: str
    ) -> list[SearchHit]:
        by_key: dict[str, SearchHit] = {}
        scores: dict[str, float] = {}
        for place, hit in enumerate(local, start=1):
            by_key.setdefault(hit.key, hit)
            scores[hit.key] = scores.get(hit.key, 0.0) + 1.0 / (_FUSION_K + place)
        for plan in plans:
            key = NodeRef(SourceKind.MARKETPLACE, (plan.publisher, plan.offer, plan.sku)).key
            known = by_key.get(key) or self._known(key, plan, location)
            by_key[key] = _with_plan(known, plan) if known is not None else _plan_hit(plan)
            scores[key] = scores.get(key, 0.0) + 1.0 / (_FUSION_K + plan.rank)
        return [replace(hit, score=scores[key]) for key, hit in by_key.items()]

    def _known(self, key: str, plan: CatalogPlanHit, location: str) -> SearchHit | None:
        """The index's row for a catalogue plan (ARM names are case-blind; the catalogue may
        spell a publisher differently from ARM's listing)."""
        if not location:
            return None
        found = self.index.find_image(location, plan.publisher, plan.offer, plan.sku)
        return found

    def _exact(self, text: str, location: str) -> SearchHit | None:
        """The hit for an az alias or a whole ``publisher:offer:sku[:version]`` URN typed."""
        alias = resolve_alias(text)
        if alias is not None:
            return self._alias_hit(alias, location)
        parts = text.strip().split(":")
        if len(parts) in (3, 4) and all(parts):
            publisher, offer, sku = parts[:3]
            found = self.index.find_image(location, publisher, offer, sku) if location else None
            hit = found or SearchHit(
                key=NodeRef(SourceKind.MARKETPLACE, (publisher, offer, sku)).key,
                source=SourceKind.MARKETPLACE.value,
                kind=NodeKind.SKU.value,
                title=f"{publisher}:{offer}:{sku}",
                publisher=publisher,
                offer=offer,
                sku=sku,
                urn=f"{publisher}:{offer}:{sku}",
                is_image=True,
                alias=alias_of_urn(text),
            )
            if len(parts) == 4 and parts[3].casefold() != "latest":
                hit = replace(
                    hit, latest_version=parts[3], release_date=release_date_from_version(parts[3])
                )
            return replace(hit, score=_EXACT, origins=(*hit.origins, HitOrigin.ALIAS))
        return None

    def _alias_hit(self, alias: ImageAlias, location: str) -> SearchHit:
        found = (
            self.index.find_image(location, alias.publisher, alias.offer, alias.sku)
            if location
            else None
        )
        base = found or SearchHit(
            key=NodeRef(SourceKind.MARKETPLACE, (alias.publisher, alias.offer, alias.sku)).key,
            source=SourceKind.MARKETPLACE.value,
            kind=NodeKind.SKU.value,
            title=alias.urn,
            publisher=alias.publisher,
            offer=alias.offer,
            sku=alias.sku,
            urn=alias.urn,
            is_image=True,
            facts=Facts(os_type=alias.os_type, architecture=alias.architecture),
        )
        origins = (*base.origins, HitOrigin.ALIAS)
        return replace(base, alias=alias.name, score=_EXACT, origins=origins)

    # --- latest -----------------------------------------------------------------------------

    def _to_resolve(self, hits: Sequence[SearchHit]) -> list[int]:
        """Where the Marketplace images among ``hits`` are whose ``latest`` is resolved."""
        return [
            index
            for index, hit in enumerate(hits)
            if hit.source == SourceKind.MARKETPLACE.value and hit.is_image
        ][: self.resolve_top]

    async def _resolve_latest(
        self,
        hits: list[SearchHit],
        location: str,
        known: dict[str, list[tuple[str, date | None]]],
    ) -> list[SearchHit]:
        """``latest`` of the first ``resolve_top`` Marketplace images: their newest version,
        its release date and the image's facts (data disks, plan, deprecation); ``known``
        holds the versions the index has of each, newest first."""
        todo = self._to_resolve(hits)
        resolved = await asyncio.gather(
            *(self._latest(hits[i], location, known.get(hits[i].key, [])) for i in todo)
        )
        out = list(hits)
        for index, hit in zip(todo, resolved, strict=True):
            out[index] = hit
        return out

    async def _latest(
        self, hit: SearchHit, location: str, known: list[tuple[str, date | None]]
    ) -> SearchHit:
        if known and hit.facts.data_disks is not None:
            version, when = known[0]
            return replace(hit, latest_version=version, release_date=when or hit.release_date)
        if self.catalog is None or location != self.catalog.scope.location.casefold():
            if known:
                version, when = known[0]
                return replace(hit, latest_version=version, release_date=when)
            return hit
        cache: CachedCatalog = self.catalog.cache
        sku_node = CatalogNode(NodeRef.from_key(hit.key), NodeKind.SKU, hit.sku)
        try:
            versions = await cache.children(sku_node, self.catalog.children)
            if not versions:
                return hit
            latest = max(versions, key=lambda node: version_sort_key(node.name))
            read = await marketplace_facts(self.catalog, latest.ref)
        except NotFoundError:
            return hit  # the catalogue names a plan this region does not carry
        except AzureServiceError as error:
            log.info("Could not resolve latest of %s: %s", hit.urn, error.message)
            return hit
        if self.feed is not None:
            await self.feed.drained()  # the versions are in: the facts go to the newest
        await asyncio.to_thread(self.index.record_enrichment, self.catalog.scope.key, hit.key, read)
        facts = hit.facts.merged(read)
        return replace(
            hit,
            latest_version=latest.name,
            release_date=release_date_from_version(latest.name) or hit.release_date,
            facts=facts,
        )


def _plan_hit(plan: CatalogPlanHit) -> SearchHit:
    return SearchHit(
        key=NodeRef(SourceKind.MARKETPLACE, (plan.publisher, plan.offer, plan.sku)).key,
        source=SourceKind.MARKETPLACE.value,
        kind=NodeKind.SKU.value,
        title=plan.urn,
        publisher=plan.publisher,
        offer=plan.offer,
        sku=plan.sku,
        urn=plan.urn,
        facts=plan.facts,
        is_image=True,
        origins=(HitOrigin.CATALOG,),
        alias=alias_of_urn(plan.urn),
        description=f"{plan.product_title} · {plan.plan_title}",
    )


def _with_plan(hit: SearchHit, plan: CatalogPlanHit) -> SearchHit:
    """The index's hit with what the catalogue adds: ARM's own facts win where the index has
    read them (a detail), the catalogue's fill the gaps."""
    origins = hit.origins if HitOrigin.CATALOG in hit.origins else (*hit.origins, HitOrigin.CATALOG)
    return replace(
        hit,
        facts=plan.facts.merged(hit.facts),
        origins=origins,
        description=hit.description or f"{plan.product_title} · {plan.plan_title}",
    )

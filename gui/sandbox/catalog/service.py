"""The Marketplace Catalog data plane (``https://catalogapi.azure.com``), api-version 2025-05-01.

Served on the sandbox's own loopback port, at the paths the real host has, so a client needs only
its base URL changed: ``GET /search`` (Search: full text, filters, facets, paging by
``nextLink``), ``GET /product/{uniqueProductId}`` (ProductOperations_Get: one product with its
plans) and ``GET /products`` (ProductOperations_List: OData ``filter``, ``select``, paging).

As the spec says (Azure/azure-rest-api-specs, specification/marketplacecatalog/data-plane/Search
and .../Products, stable/2025-05-01): requests carry an API key in ``X-API-Key`` (the data plane
takes no bearer token; Azure's signed-in access is the ARM route
``Microsoft.Marketplace/products``), a missing key is 401, ``language`` and ``market`` are
required for Search and ``market`` for a product, errors are ``{"error": {"code", "message"}}``
with ``x-ms-error-code``. An api-version other than 2025-05-01 is refused with the answer of
ASP.NET API Versioning (which the service's NSwag-era specs show it is built on): 400
``UnsupportedApiVersion``, or ``ApiVersionUnspecified`` without one.

Every request waits ``World.faults.latency`` and counts in ``request_count``, like ARM's; fault
rules match its paths too. ARM's read throttling does not apply: this is not ARM.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import gc
import json
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web

from gui.sandbox.catalog.index import CatalogIndex, Hit
from gui.sandbox.contract.api_versions import CATALOG_API_VERSIONS
from gui.sandbox.seed.catalog import VIRTUAL_MACHINE, CatalogPlan, CatalogProduct, catalog_products

if TYPE_CHECKING:
    from gui.sandbox.world import World

Json = dict[str, Any]

DEFAULT_TOP = 20
MAX_TOP = 1000
API_KEY_HEADER = "X-API-Key"


class CatalogError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        return _json(
            {"error": {"code": self.code, "message": self.message}},
            self.status,
            {"x-ms-error-code": self.code},
        )


def _json(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(doc).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


_BUILDING = threading.Lock()


def catalog_index() -> CatalogIndex:
    """The catalogue and its index: one per process, built on the first call (the sandbox's
    own process builds it as soon as it listens: ``warm_catalog``). Concurrent first calls
    wait for the one build rather than making a second."""
    with _BUILDING:
        return _built_index()


def warm_catalog() -> threading.Thread:
    """Builds the catalogue on a daemon thread now, so the first search does not wait for it;
    for a process of the sandbox's own, where no window shares the GIL."""
    thread = threading.Thread(target=catalog_index, name="catalog-build", daemon=True)
    thread.start()
    return thread


@cache
def _built_index() -> CatalogIndex:
    """The build behind ``catalog_index``.

    Where the sandbox shares its process (and the GIL) with a window (the tests, the
    in-process ``SandboxServer``): the catalogue is a hundred thousand objects the cyclic
    garbage collector would otherwise scan; measured (bench_search_gui.py), a full collection
    during the build stalled the window for 60 ms, and every full collection after it scanned
    the catalogue for over 100 ms, whichever thread set it off. So the collector rests while
    the build allocates (its objects hold no cycles to free), and the finished catalogue is
    frozen out of its reach, as the window freezes its start-up heap
    (``gui.qt.main_window.settle_heap``).
    """
    resting = gc.isenabled()
    gc.disable()
    try:
        index = CatalogIndex(catalog_products())
    finally:
        if resting:
            gc.enable()
    gc.freeze()
    return index


# ---- query parameters -------------------------------------------------------------------------


class _Query:
    """A request's query, read as ASP.NET binds it: names case-insensitive, arrays given as
    comma-separated values (``collectionFormat: csv``) or as repeated parameters (``multi``)."""

    def __init__(self, request: web.Request) -> None:
        self._raw = list(request.query.items())
        self._items = [(k.lower(), v) for k, v in self._raw]

    def get(self, name: str) -> str | None:
        return next((v for k, v in self._items if k == name.lower()), None)

    def required(self, name: str) -> str:
        value = self.get(name)
        if value is None or not value.strip():
            raise CatalogError(400, "BadRequest", f"The '{name}' query parameter is required.")
        return value

    def values(self, name: str) -> list[str]:
        return [
            part.strip()
            for k, v in self._items
            if k == name.lower()
            for part in v.split(",")
            if part.strip()
        ]

    def enum_values(self, name: str, allowed: Sequence[str]) -> set[str]:
        """The values given for an enum array, spelt as the spec does (matched ignoring case)."""
        by_lower = {a.lower(): a for a in allowed}
        found: set[str] = set()
        for value in self.values(name):
            canonical = by_lower.get(value.lower())
            if canonical is None:
                raise CatalogError(
                    400,
                    "BadRequest",
                    f"'{value}' is not a valid value for '{name}'. Use one of: "
                    f"{', '.join(allowed)}.",
                )
            found.add(canonical)
        return found

    def boolean(self, name: str) -> bool:
        value = self.get(name)
        if value is None:
            return False
        if value.lower() not in ("true", "false"):
            raise CatalogError(400, "BadRequest", f"'{name}' must be true or false.")
        return value.lower() == "true"

    def without(self, name: str) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self._raw if k.lower() != name.lower()]


# ---- the spec's vocabularies --------------------------------------------------------------------

PRICING_TYPES = ("Free", "FreeTrial", "Byol", "Payg", "Ri")
PUBLISHER_TYPES = ("Microsoft", "ThirdParty")
ARCHITECTURE_TYPES = ("X64Gen1", "X64Gen2", "Arm64")
SECURITY_TYPES = ("None", "Trusted", "Confidential")
RATING_BUCKETS = ("AboveOne", "AboveTwo", "AboveThree", "AboveFour")
BADGES = ("PreferredSolution", "PowerBICertified", "AdditionalPurchaseRequirement")
AZURE_BENEFIT = ("Eligible", "NotEligible")
PRODUCT_TYPES = (
    "None", "DevService", "ManagedApplication", "VirtualMachine", "AzureApplication",
    "Container", "SaaS", "SolutionTemplate", "IotEdgeModules", "ManagedServices",
    "ContainerApps", "VisualStudioExtension", "DynamicsOps", "DynamicsCE", "DynamicsBC",
    "PowerBI", "ConsultingServices", "CosellOnly", "CoreVirtualMachine", "PowerBIVisuals",
    "Office365", "AADApps", "AzureServices", "AppService", "LogAnalytics",
)  # fmt: skip
# SearchFieldName (select=, facets=) -> the ProductSummary key it names; None: not a field of
# the summary (accepted, nothing to return).
SEARCH_FIELDS: dict[str, str | None] = {
    "All": None, "LastModifiedDateTime": "lastModifiedDateTime", "Market": None,
    "SupportedProducts": "supportedProducts", "HideKeys": None, "PublisherId": "publisherId",
    "DisplayName": "displayName", "AzureBenefit": "azureBenefit", "Badges": "badges",
    "SmallIconUri": "smallIconUri", "IndustryCloud": None, "PublisherType": "publisherType",
    "PublishingState": "publishingStage", "Language": None, "UniqueProductId": "uniqueProductId",
    "ProductType": "productType", "Plans": "plans", "OperatingSystems": "operatingSystems",
    "PricingTypes": "pricingTypes", "PublisherDisplayName": "publisherDisplayName",
    "Summary": "summary", "LongSummary": "longSummary", "VmImageGenerations": None,
    "VmSecurityTypes": None, "VmArchitectureTypes": None, "Description": "description",
    "RatingBuckets": "ratingBuckets", "RatingAverage": "ratingAverage",
    "RatingCount": "ratingCount",
}  # fmt: skip
_ORDER_FIELDS: dict[str, Callable[[CatalogProduct], float | str]] = {
    "ratingcount": lambda p: p.rating_count,
    "lastmodifieddatetime": lambda p: p.last_modified,
    "ratingaverage": lambda p: p.rating_average,
}


# ---- the JSON of products and plans ------------------------------------------------------------


def _rating_buckets(average: float) -> list[str]:
    return [name for threshold, name in enumerate(RATING_BUCKETS, start=1) if average > threshold]


def _badges(product: CatalogProduct) -> list[str]:
    # A product sold only as bring-your-own-licence needs a purchase elsewhere.
    return ["AdditionalPurchaseRequirement"] if product.pricing == ("Byol",) else []


def _azure_benefit(product: CatalogProduct) -> str:
    transactable = product.publisher_type == "ThirdParty" and "Payg" in product.pricing
    return "Eligible" if transactable else "NotEligible"


def _plan_summary(product: CatalogProduct, plan: CatalogPlan, ri_key: str) -> Json:
    doc: Json = {
        "planId": plan.plan_id,
        # "prefixed by combining uniqueProductId and PlanId with no separator in between"
        "uniquePlanId": product.unique_id + plan.plan_id,
        "displayName": plan.display_name,
        "cspState": "OptIn",
        "categoryIds": [],
        "hasProtectedArtifacts": False,
        "pricingTypes": list(plan.pricing),
        "summary": plan.summary,
        "description": plan.summary,
        "skuId": f"{plan.rank:04d}",
        "planType": plan.plan_type,
        "displayRank": str(plan.rank),
        "isPrivate": False,
        ri_key: False,
    }
    if plan.plan_type == VIRTUAL_MACHINE:
        doc["vmArchitectureType"] = plan.architecture
        doc["metadata"] = {"generation": plan.generation}
        doc["stackType"] = plan.generation
        doc["vmSecuritytypes"] = list(plan.security_types)
    return doc


def _stop_sell_info(plan: CatalogPlan) -> Json | None:
    dep = plan.deprecation
    if dep is None:
        return None
    info: Json = {"startDate": dep.scheduled, "reason": "EndOfSupport"}
    if dep.alternative_offer:
        info["alternativeOfferId"] = dep.alternative_offer
    return info


def _plan_details(product: CatalogProduct, plan: CatalogPlan, with_skus: bool) -> Json:
    doc = _plan_summary(product, plan, "hasRI")
    doc |= {
        "id": doc["uniquePlanId"],
        "isHidden": False,
        "isStopSell": plan.stop_sold,
        "isQuantifiable": False,
        "isHiddenPrivateOffer": False,
    }
    info = _stop_sell_info(plan)
    if info is not None:
        doc["stopSellInfo"] = info
    if with_skus:
        doc["availabilities"] = [
            {
                "id": f"{doc['uniquePlanId']}-direct",
                "actions": ["Browse", "Purchase"] if not plan.stop_sold else ["Browse"],
                "pricingAudience": "DirectCommercial",
                "hasFreeTrials": False,
                "consumptionUnitType": "Hour",
                "displayRank": plan.rank,
            }
        ]
    return doc


def _summary_fields(product: CatalogProduct) -> Json:
    """The ProductSummary fields of a product (its plans apart)."""
    return {
        "displayName": product.display_name,
        "popularity": product.popularity,
        "categoryIds": ["compute"],
        "publisherId": product.publisher_id,
        "azureBenefit": _azure_benefit(product),
        "badges": _badges(product),
        "publisherType": product.publisher_type,
        "publishingStage": "Public",
        "uniqueProductId": product.unique_id,
        "productType": product.product_type,
        "productFamily": "Compute" if product.product_type == VIRTUAL_MACHINE else "Services",
        "operatingSystems": list(product.operating_systems),
        "pricingTypes": list(product.pricing),
        "publisherDisplayName": product.publisher_display_name,
        "longSummary": product.summary,
        "summary": product.summary,
        "description": product.description,
        "ratingBuckets": _rating_buckets(product.rating_average),
        "ratingAverage": product.rating_average,
        "ratingCount": product.rating_count,
        "lastModifiedDateTime": product.last_modified,
        "locations": list(product.locations),
        "serviceFamily": "Compute",
        "service": "Virtual Machines" if product.product_type == VIRTUAL_MACHINE else "Services",
        "productId": product.product_id,
        "hasMarketplaceFootprint": True,
    }


def product_summary(product: CatalogProduct, plans: Iterable[CatalogPlan]) -> Json:
    """A product as Search returns it (``select=All``)."""
    doc = _summary_fields(product)
    doc["hasRiPlans"] = False
    doc["plans"] = [_plan_summary(product, plan, "hasRi") for plan in plans]
    return doc


def product_details(product: CatalogProduct, plans: Iterable[CatalogPlan], with_skus: bool) -> Json:
    """A product as ProductOperations_Get returns it."""
    plans = list(plans)
    doc = _summary_fields(product)
    doc |= {
        "offerId": product.offer_id,
        "language": "en",
        "isPrivate": False,
        "isStopSell": bool(product.plans) and all(p.stop_sold for p in product.plans),
        "isCoreVm": product.is_core_vm,
        "isReseller": False,
        "hasStandardContractAmendments": False,
        "legalTermsType": "None",
        "plans": [_plan_details(product, plan, with_skus) for plan in plans],
    }
    return doc


# ---- filters ----------------------------------------------------------------------------------


def _os_matches(product: CatalogProduct, wanted: set[str]) -> bool:
    # "windows" takes every "windows.*" value; "linux.ubuntu" only that one.
    return any(
        value == want or value.startswith(want + ".")
        for value in product.operating_systems
        for want in wanted
    )


PlanTest = Callable[[CatalogPlan], bool]


def _plan_tests(query: _Query) -> list[PlanTest]:
    tests: list[PlanTest] = []
    pricing = query.enum_values("pricingTypes", PRICING_TYPES)
    if pricing:
        tests.append(lambda plan: bool(pricing & set(plan.pricing)))
    arch = query.enum_values("vmArchitectureTypes", ARCHITECTURE_TYPES)
    if arch:
        tests.append(lambda plan: plan.architecture in arch)
    security = query.enum_values("vmSecurityTypes", SECURITY_TYPES)
    if security:
        tests.append(lambda plan: bool(security & set(plan.security_types)))
    return tests


ProductTest = Callable[[CatalogProduct], bool]


def _product_tests(query: _Query) -> list[ProductTest]:
    tests: list[ProductTest] = []
    systems = {v.lower() for v in query.values("operatingSystems")}
    if systems:
        tests.append(lambda p: _os_matches(p, systems))
    publisher_types = query.enum_values("publisherTypes", PUBLISHER_TYPES)
    if publisher_types:
        tests.append(lambda p: p.publisher_type in publisher_types)
    product_types = query.enum_values("productTypes", PRODUCT_TYPES)
    if product_types:
        tests.append(lambda p: p.product_type in product_types)
    publisher_ids = {v.lower() for v in query.values("publisherIds")}
    if publisher_ids:
        tests.append(lambda p: p.publisher_id.lower() in publisher_ids)
    publisher_name = (query.get("publisherDisplayName") or "").strip().lower()
    if publisher_name:
        tests.append(lambda p: publisher_name in p.publisher_display_name.lower())
    buckets = query.enum_values("ratingBuckets", RATING_BUCKETS)
    if buckets:
        tests.append(lambda p: bool(buckets & set(_rating_buckets(p.rating_average))))
    badges = query.enum_values("badges", BADGES)
    if badges:
        tests.append(lambda p: bool(badges & set(_badges(p))))
    benefit = query.enum_values("azureBenefit", AZURE_BENEFIT)
    if benefit:
        tests.append(lambda p: _azure_benefit(p) in benefit)
    stage = query.enum_values("publishingStage", ("Preview", "Public"))
    if stage and "Public" not in stage:
        tests.append(lambda p: False)  # the sandbox has no preview products
    return tests


def _facets(hits: Sequence[Hit], names: set[str]) -> Json:
    """Counts of the filtered results per value of each asked facet (a product counts once per
    value it has)."""
    keyed: dict[str, Callable[[CatalogProduct], Iterable[str]]] = {
        "PricingTypes": lambda p: p.pricing,
        "OperatingSystems": lambda p: {
            part for v in p.operating_systems for part in (v, v.split(".")[0])
        },
        "PublisherType": lambda p: (p.publisher_type,),
        "ProductType": lambda p: (p.product_type,),
        "AzureBenefit": lambda p: (_azure_benefit(p),),
        "RatingBuckets": lambda p: _rating_buckets(p.rating_average),
        "VmArchitectureTypes": lambda p: {x.architecture for x in p.plans if x.architecture},
        "VmImageGenerations": lambda p: {x.generation for x in p.plans if x.generation},
        "VmSecurityTypes": lambda p: {s for x in p.plans for s in x.security_types},
        "Badges": _badges,
    }
    doc: Json = {}
    for name in sorted(names):
        values = keyed.get(name)
        if values is None:
            continue
        counts = Counter(value for hit in hits for value in set(values(hit.product)))
        doc[name] = {"facetValues": {v: {"count": n} for v, n in sorted(counts.items())}}
    return doc


# ---- paging -------------------------------------------------------------------------------------


def _skip(query: _Query) -> int:
    token = query.get("$skiptoken")
    if token is None:
        return 0
    try:
        skip = int(base64.urlsafe_b64decode(token.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise CatalogError(400, "BadRequest", "The '$skiptoken' is not valid.") from exc
    if skip < 0:
        raise CatalogError(400, "BadRequest", "The '$skiptoken' is not valid.")
    return skip


def _next_link(base: str, request: web.Request, query: _Query, skip: int) -> str:
    params = query.without("$skiptoken")
    params.append(("$skiptoken", base64.urlsafe_b64encode(str(skip).encode()).decode()))
    return f"{base}{request.path}?{urlencode(params, quote_via=quote, safe='$,')}"


# ---- the service --------------------------------------------------------------------------------


class CatalogService:
    """The catalogue's HTTP front: every request of the catalogue's port comes through here."""

    def __init__(self, world: World) -> None:
        self.world = world
        self._ready = asyncio.Lock()

    async def _index(self) -> CatalogIndex:
        # Built on a worker thread (it takes a second or two), so ARM's requests on the same
        # loop are not held up meanwhile; the lock keeps concurrent first requests to one build.
        async with self._ready:
            return await asyncio.get_running_loop().run_in_executor(None, catalog_index)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        world = self.world
        world.request_count += 1
        if world.faults.latency > 0:
            await asyncio.sleep(world.faults.latency)
        try:
            response = await self._answer(request)
        except CatalogError as err:
            response = err.response()
        client_id = request.headers.get("x-ms-client-request-id")
        if client_id:
            response.headers["x-ms-client-request-id"] = client_id
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        rule = self.world.faults.take(request.method, request.path)
        if rule is not None:
            raise CatalogError(rule.status, rule.code, rule.message or "The request failed.")
        if not request.headers.get(API_KEY_HEADER, "").strip():
            bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
            hint = " (this API takes no bearer token)" if bearer else ""
            raise CatalogError(
                401,
                "Unauthorized",
                f"The '{API_KEY_HEADER}' header is missing{hint}. Send the Marketplace Catalog "
                "API key in it.",
            )
        query = _Query(request)
        _check_api_version(request, query)
        if request.method != "GET":
            raise CatalogError(
                405, "MethodNotAllowed", f"The method '{request.method}' is not allowed here."
            )
        path = request.path.rstrip("/")
        if path.lower() == "/search":
            return await self._search(request, query)
        if path.lower() == "/products":
            return await self._list(request, query)
        m = re.fullmatch(r"/product/([^/]+)", path, re.IGNORECASE)
        if m:
            return await self._product(m.group(1), query)
        raise CatalogError(404, "NotFound", f"The path '{request.path}' is not served here.")

    async def _search(self, request: web.Request, query: _Query) -> web.Response:
        query.required("language")
        query.required("market")
        top = _top(query)
        skip = _skip(query)
        select = _names(query, "select")
        facet_names = _names(query, "facets")
        index = await self._index()
        text = query.get("searchQuery") or ""
        product_tests = _product_tests(query)
        plan_tests = _plan_tests(query)
        hits = [
            _order_plans(hit, plan_tests)
            for hit in index.search(text)
            if all(test(hit.product) for test in product_tests)
            and (not plan_tests or any(_passes(plan, plan_tests) for plan in hit.product.plans))
        ]
        hits = _ordered(hits, query.values("orderby"))
        page = hits[skip : skip + top]
        doc: Json = {
            "results": [_select(product_summary(h.product, h.plans), select) for h in page],
            "totalCount": len(hits),
        }
        if text:
            doc["showingResultsFor"] = text
        if facet_names:
            doc["facets"] = _facets(hits, facet_names)
        if skip + top < len(hits):
            doc["nextLink"] = _next_link(self.world.catalog_url, request, query, skip + top)
        return _json(doc)

    async def _product(self, unique_id: str, query: _Query) -> web.Response:
        query.required("market")
        index = await self._index()
        product = index.product(unique_id)
        locations = {v.lower() for v in query.values("locations")}
        if product is not None and locations and not locations & set(product.locations):
            product = None
        if product is None:
            raise CatalogError(404, "NotFound", f"The product '{unique_id}' was not found.")
        stop_sold = query.boolean("includeStopSoldPlans")
        plans = [p for p in product.plans if stop_sold or not p.stop_sold]
        sku_id = query.get("skuId")
        if sku_id:
            plans = [p for p in plans if f"{p.rank:04d}" == sku_id]
        return _json(product_details(product, plans, not query.boolean("excludeSkuDetails")))

    async def _list(self, request: web.Request, query: _Query) -> web.Response:
        index = await self._index()
        test = _odata_filter(query.get("filter") or query.get("$filter") or "")
        products = [p for p in index.products if test(p)]
        skip = _skip(query)
        size = max(1, self.world.page_size)
        select = {v.lower() for v in query.values("select")}
        page = products[skip : skip + size]
        items = []
        for product in page:
            doc = _summary_fields(product) | {
                "hasRIPlans": False,
                "plans": [_plan_summary(product, plan, "hasRI") for plan in product.plans],
            }
            if select:
                doc = {k: v for k, v in doc.items() if k.lower() in select or k in _ALWAYS}
            items.append(doc)
        body: Json = {"value": items}
        if skip + size < len(products):
            body["nextLink"] = _next_link(self.world.catalog_url, request, query, skip + size)
        return _json(body)


# The properties the spec's models require: returned whatever ``select`` asks.
_ALWAYS = ("uniqueProductId", "productType")


def _check_api_version(request: web.Request, query: _Query) -> None:
    version = query.get("api-version")
    if not version:
        raise CatalogError(
            400, "ApiVersionUnspecified", "An API version is required, but was not specified."
        )
    if version not in CATALOG_API_VERSIONS:
        raise CatalogError(
            400,
            "UnsupportedApiVersion",
            f"The HTTP resource that matches the request URI '{request.path}' does not support "
            f"the API version '{version}'.",
        )


def _top(query: _Query) -> int:
    raw = query.get("top") or query.get("$top")
    if raw is None:
        return DEFAULT_TOP
    if not raw.isdigit() or int(raw) > MAX_TOP:
        raise CatalogError(400, "BadRequest", f"'top' must be a number from 0 to {MAX_TOP}.")
    return int(raw)


def _names(query: _Query, name: str) -> set[str]:
    return query.enum_values(name, tuple(SEARCH_FIELDS))


def _select(doc: Json, select: set[str]) -> Json:
    """The fields ``select`` asks for; without it, as the spec says, uniqueProductId and
    displayName (and always the fields the model requires)."""
    if "All" in select:
        return doc
    keys = {SEARCH_FIELDS[name] for name in select} if select else {"displayName"}
    keys |= set(_ALWAYS)
    return {k: v for k, v in doc.items() if k in keys}


def _passes(plan: CatalogPlan, tests: list[PlanTest]) -> bool:
    return all(test(plan) for test in tests)


def _order_plans(hit: Hit, tests: list[PlanTest]) -> Hit:
    """The plans a filter asked for come first (then by relevance, as the index ordered them)."""
    if not tests:
        return hit
    plans = sorted(hit.plans, key=lambda plan: not _passes(plan, tests))
    return Hit(hit.product, hit.matched, hit.score, tuple(plans))


def _ordered(hits: list[Hit], orderby: list[str]) -> list[Hit]:
    # Sorted by the last key first, so the first key decides (Python's sort is stable).
    for clause in reversed(orderby):
        field, _, direction = clause.strip().partition(" ")
        key = _ORDER_FIELDS.get(field.lower())
        if key is None or direction.strip().lower() not in ("", "asc", "desc"):
            raise CatalogError(
                400,
                "BadRequest",
                f"Cannot order by '{clause}'. Use RatingCount, RatingAverage or "
                "LastModifiedDateTime, with asc or desc.",
            )
        order_key = key
        hits.sort(key=lambda h: order_key(h.product), reverse=direction.strip().lower() == "desc")
    return hits


_CLAUSE = re.compile(r"^\s*([\w.]+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.IGNORECASE)
_FILTER_FIELDS: dict[str, Callable[[CatalogProduct], Iterable[str]]] = {
    "producttype": lambda p: (p.product_type,),
    "publisherid": lambda p: (p.publisher_id,),
    "uniqueproductid": lambda p: (p.unique_id,),
    "displayname": lambda p: (p.display_name,),
    "publisherdisplayname": lambda p: (p.publisher_display_name,),
    "plan.planid": lambda p: tuple(plan.plan_id for plan in p.plans),
}


def _odata_filter(text: str) -> ProductTest:
    """The subset of OData ``filter`` the sandbox reads: ``field eq 'value'`` joined by ``and``."""
    if not text.strip():
        return lambda product: True
    clauses: list[tuple[Callable[[CatalogProduct], Iterable[str]], str]] = []
    for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE):
        m = _CLAUSE.match(part)
        field = _FILTER_FIELDS.get(m.group(1).lower()) if m else None
        if m is None or field is None:
            raise CatalogError(
                400,
                "BadRequest",
                f"The filter '{part.strip()}' is not supported here. Use "
                "<field> eq '<value>' joined by 'and', on productType, publisherId, "
                "uniqueProductId, displayName, publisherDisplayName or plan.planId.",
            )
        clauses.append((field, m.group(2).replace("''", "'").lower()))
    return lambda p: all(any(v.lower() == want for v in field(p)) for field, want in clauses)

"""The Marketplace Catalog data-plane API (api-version 2025-05-01): Search and Products.

What the portal's Marketplace search uses: full-text search over public products with facets
(``GET /search``), and a product with its plans (``GET /product/{uniqueProductId}``). Shapes
from Azure/azure-rest-api-specs ``specification/marketplacecatalog/data-plane/Search`` and
``.../Products`` (``stable/2025-05-01/openapi.json``): a search answers ``results`` of
``ProductSummary`` (``uniqueProductId``, ``displayName``, ``publisherId``, ``plans`` of
``PlanSummary`` with ``planId``, ``vmArchitectureType``, ``vmSecuritytypes``, ``pricingTypes``),
``facets`` and ``totalCount``. A VM product's ``uniqueProductId`` is ``publisher.offer`` and each
plan's ``planId`` is its SKU, so a plan maps to the ARM URN ``publisher:offer:planId``.

The client is an azure-core pipeline built like every other client of the app (the session's
network options: proxy, CA bundle, User-Agent, the TLS rule, the operation log with redaction).
The data plane takes no bearer token: its spec's security is an API key in ``X-API-Key``
(issued by the Marketplace Catalog team, https://aka.ms/DiscoveryAPI/keys). The key is read
from the environment (``AZURE_IMAGE_STUDIO_CATALOG_KEY``), never from a command line, and goes
only into that header; without one the search answers from the local index alone. The sandbox
serves the catalogue on a loopback port of its own and takes any key.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from azure.core import AsyncPipelineClient
from azure.core.pipeline import PipelineRequest, policies
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.rest import HttpRequest

from gui.azure.account.loopback import require_loopback_url
from gui.azure.account.network import sdk_client_options
from gui.azure.errors import translated
from gui.azure.search.model import Facts

log = logging.getLogger(__name__)

API_VERSION = "2025-05-01"
PUBLIC_ENDPOINT = "https://catalogapi.azure.com"
API_KEY_HEADER = "X-API-Key"
API_KEY_ENV = "AZURE_IMAGE_STUDIO_CATALOG_KEY"
SANDBOX_API_KEY = "sandbox"  # the sandbox takes any key; this one is not a secret

# The fields a result needs (the API answers only uniqueProductId and displayName otherwise).
SEARCH_SELECT = (
    "UniqueProductId",
    "DisplayName",
    "PublisherId",
    "PublisherDisplayName",
    "PublisherType",
    "ProductType",
    "Summary",
    "OperatingSystems",
    "PricingTypes",
    "Plans",
    "LastModifiedDateTime",
)
SEARCH_FACETS = ("OperatingSystems", "PublisherType", "PricingTypes")

_ARCHITECTURES = {"x64gen1": ("x64", "V1"), "x64gen2": ("x64", "V2"), "arm64": ("Arm64", "V2")}


@dataclass(frozen=True)
class CatalogPlanHit:
    """One plan of a VM product, as an ARM image: ``publisher:offer:sku``."""

    publisher: str
    offer: str
    sku: str
    product_title: str
    plan_title: str
    summary: str
    facts: Facts
    pricing: tuple[str, ...]
    rank: int  # the order the search gave (product order, then the product's plan order)
    last_modified: date | None

    @property
    def urn(self) -> str:
        return f"{self.publisher}:{self.offer}:{self.sku}"


@dataclass(frozen=True)
class CatalogAnswer:
    plans: tuple[CatalogPlanHit, ...]
    facets: Mapping[str, Mapping[str, int]]
    total: int


class ApiKeyPolicy(SansIOHTTPPolicy[Any, Any]):
    """Sends the catalogue's API key in its header (and nowhere else: no query string, no log)."""

    def __init__(self, key: str) -> None:
        self._key = key

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.http_request.headers[API_KEY_HEADER] = self._key


class MarketplaceCatalogClient:
    """``search`` (VM products only) and ``product`` over one endpoint."""

    def __init__(self, endpoint: str, *, api_key: str, market: str = "US") -> None:
        self.endpoint = endpoint.rstrip("/")
        self.market = market
        options = sdk_client_options(self.endpoint, "The Marketplace Catalog endpoint")
        transport = options.pop("transport")
        pipeline_policies = [
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(user_agent=options.get("user_agent")),
            *options["per_call_policies"],
            policies.AsyncRetryPolicy(retry_total=2, retry_backoff_factor=0.4),
            ApiKeyPolicy(api_key),
            *options["per_retry_policies"],
            policies.ContentDecodePolicy(),
            policies.NetworkTraceLoggingPolicy(),
        ]
        self._client: AsyncPipelineClient[Any, Any] = AsyncPipelineClient(
            base_url=self.endpoint, policies=pipeline_policies, transport=transport
        )

    @classmethod
    def from_environment(cls, endpoint: str = PUBLIC_ENDPOINT) -> MarketplaceCatalogClient | None:
        """The client for Azure with the key from the environment, or None without a key."""
        key = os.environ.get(API_KEY_ENV, "").strip()
        return cls(endpoint, api_key=key) if key else None

    @classmethod
    def for_sandbox(cls, catalog_url: str) -> MarketplaceCatalogClient:
        """The client for the sandbox's catalogue (loopback only, as every sandbox client)."""
        require_loopback_url(catalog_url)
        return cls(catalog_url, api_key=SANDBOX_API_KEY)

    async def close(self) -> None:
        await self._client.close()

    async def _get(self, request: HttpRequest) -> Any:
        # Each caller builds its request with the path written out, so the operation inventory
        # (tests/azure/test_operation_inventory.py) reads which data-plane operation it is.
        with translated():
            response = await self._client.send_request(request)
            response.raise_for_status()
        return response.json()

    async def search(
        self, text: str, *, location: str | None = None, top: int = 20
    ) -> CatalogAnswer:
        """VM products matching ``text``, as their plans' URNs, in the catalogue's order."""
        params = {
            "api-version": API_VERSION,
            "searchQuery": text,
            "productTypes": "VirtualMachine",
            "select": ",".join(SEARCH_SELECT),
            "facets": ",".join(SEARCH_FACETS),
            "language": "en",
            "market": self.market,
            "top": str(top),
        }
        body = await self._get(
            HttpRequest("GET", f"{self.endpoint}/search", params=dict(params)))
        results = body.get("results") or []
        plans = list(_plan_hits(results))
        facets = {
            str(name): {
                str(value): int((count or {}).get("count") or 0)
                for value, count in ((item or {}).get("facetValues") or {}).items()
            }
            for name, item in (body.get("facets") or {}).items()
        }
        return CatalogAnswer(tuple(plans), facets, int(body.get("totalCount") or len(results)))

    async def product(self, unique_product_id: str, *, location: str | None = None) -> Any:
        """A product with its plans (``GET /product/{uniqueProductId}``)."""
        params = {"api-version": API_VERSION, "language": "en", "market": self.market}
        if location:
            params["locations"] = location
        return await self._get(HttpRequest(
            "GET", f"{self.endpoint}/product/{unique_product_id}", params=dict(params)))


def _plan_hits(results: Iterable[Any]) -> Iterable[CatalogPlanHit]:
    rank = 0
    for product in results:
        if not isinstance(product, dict):
            continue
        if str(product.get("productType") or "VirtualMachine") != "VirtualMachine":
            continue
        publisher, offer = _publisher_offer(product)
        if not publisher or not offer:
            continue
        modified = _date(product.get("lastModifiedDateTime"))
        for plan in product.get("plans") or []:
            if not isinstance(plan, dict) or not plan.get("planId"):
                continue
            if str(plan.get("planType") or "VirtualMachine") != "VirtualMachine":
                continue
            rank += 1
            yield CatalogPlanHit(
                publisher=publisher,
                offer=offer,
                sku=str(plan["planId"]),
                product_title=str(product.get("displayName") or ""),
                plan_title=str(plan.get("displayName") or ""),
                summary=str(plan.get("summary") or product.get("summary") or ""),
                facts=_plan_facts(plan, product),
                pricing=tuple(str(p) for p in plan.get("pricingTypes") or ()),
                rank=rank,
                last_modified=modified,
            )


def _publisher_offer(product: Mapping[str, Any]) -> tuple[str, str]:
    """ARM's publisher and offer of a VM product: ``publisherId`` and the ``uniqueProductId``
    after ``publisherId.`` (the offer id where the answer names it)."""
    unique = str(product.get("uniqueProductId") or "")
    publisher = str(product.get("publisherId") or unique.partition(".")[0])
    offer = str(product.get("offerId") or "")
    if not offer and unique.casefold().startswith(publisher.casefold() + "."):
        offer = unique[len(publisher) + 1 :]
    return publisher, offer


def _plan_facts(plan: Mapping[str, Any], product: Mapping[str, Any]) -> Facts:
    architecture, generation = _ARCHITECTURES.get(
        str(plan.get("vmArchitectureType") or "").casefold(), ("", "")
    )
    security_types = {str(s).casefold() for s in plan.get("vmSecuritytypes") or ()}
    security = ""
    if "trusted" in security_types and "confidential" in security_types:
        security = "TrustedLaunchAndConfidentialVmSupported"
    elif "trusted" in security_types:
        security = "TrustedLaunchSupported"
    elif "confidential" in security_types:
        security = "ConfidentialVmSupported"
    elif security_types:
        security = "Standard"
    systems = [str(s) for s in product.get("operatingSystems") or ()]
    os_type = ""
    if systems:
        os_type = "Windows" if systems[0].casefold().startswith("windows") else "Linux"
    deprecation = "Deprecated" if plan.get("isStopSell") else ""
    return Facts(
        os_type=os_type,
        architecture=architecture,
        generation=generation,
        security_type=security,
        deprecation=deprecation,
    )


def _date(text: object) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None

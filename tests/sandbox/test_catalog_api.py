"""The sandbox's Marketplace Catalog data plane (Search, Products; api-version 2025-05-01), over
real HTTP: ranking, filters and facets, paging by nextLink, product details whose plans are URNs
the ARM VM-image routes serve, the API key, and Azure's refusal of an unknown api-version."""

from __future__ import annotations

import gc
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from gui.sandbox import SandboxServer
from gui.sandbox.catalog.service import catalog_index
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

Json = dict[str, Any]
API = "2025-05-01"
KEY = {"X-API-Key": "sandbox-test-key"}
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Json, dict[str, str]]:
    request = urllib.request.Request(url, headers=KEY if headers is None else headers)
    try:
        with _OPENER.open(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as err:
        body = json.loads(err.read() or b"{}")
        status, got = err.code, dict(err.headers)
        err.close()
        return status, body, got


def search(sandbox: SandboxServer, **params: str) -> Json:
    query = {"api-version": API, "language": "en", "market": "US", **params}
    status, body, _ = _get(f"{sandbox.catalog_url}/search?{urlencode(query, quote_via=quote)}")
    assert status == 200, body
    return body


def product(sandbox: SandboxServer, unique_id: str, **params: str) -> Json:
    query = urlencode({"api-version": API, "market": "US", **params})
    status, body, _ = _get(f"{sandbox.catalog_url}/product/{unique_id}?{query}")
    assert status == 200, body
    return body


def sku_path(publisher: str, offer: str, sku: str) -> str:
    return f"publishers/{publisher}/artifacttypes/vmimage/offers/{offer}/skus/{sku}"


def arm(sandbox: SandboxServer, path: str) -> Any:
    status, body, _ = _get(
        f"{sandbox.arm_url}/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/providers/"
        f"Microsoft.Compute/locations/westeurope/{path}?api-version=2024-07-01",
        {"Authorization": "Bearer test"},
    )
    assert status == 200, body
    return body


def test_ubuntu_24_04_arm64_ranks_canonicals_arm64_sku_first(sandbox: SandboxServer) -> None:
    body = search(sandbox, searchQuery="ubuntu 24.04 arm64", select="All")
    first = body["results"][0]
    assert (first["publisherId"], first["uniqueProductId"]) == (
        "Canonical",
        "canonical.ubuntu-24_04-lts",
    )
    plan = first["plans"][0]
    assert (plan["planId"], plan["vmArchitectureType"]) == ("server-arm64", "Arm64")
    assert body["showingResultsFor"] == "ubuntu 24.04 arm64"


def test_sql_2022_enterprise_finds_the_2022_image_first(sandbox: SandboxServer) -> None:
    body = search(sandbox, searchQuery="sql 2022 enterprise", select="Plans,PublisherId")
    first = body["results"][0]
    assert first["uniqueProductId"] == "microsoftsqlserver.sql2022-ws2022"
    assert first["plans"][0]["planId"] == "enterprise-gen2"


def test_without_select_a_result_is_its_id_and_name(sandbox: SandboxServer) -> None:
    result = search(sandbox, searchQuery="debian", top="1")["results"][0]
    # The spec: uniqueProductId and displayName; productType is required by the model.
    assert set(result) == {"uniqueProductId", "displayName", "productType"}


def test_filters_narrow_the_results_and_facets_count_them(sandbox: SandboxServer) -> None:
    everything = search(sandbox, facets="OperatingSystems,PublisherType")
    linux_by_microsoft = search(
        sandbox,
        searchQuery="linux",
        operatingSystems="linux",
        publisherTypes="Microsoft",
        select="OperatingSystems,PublisherType,PricingTypes",
        facets="OperatingSystems,PublisherType,PricingTypes",
        top="1000",
    )
    results = linux_by_microsoft["results"]
    assert 0 < len(results) == linux_by_microsoft["totalCount"] < everything["totalCount"]
    assert all(r["publisherType"] == "Microsoft" for r in results)
    assert all(any(os.startswith("linux") for os in r["operatingSystems"]) for r in results)
    facets = linux_by_microsoft["facets"]
    assert facets["PublisherType"]["facetValues"] == {"Microsoft": {"count": len(results)}}
    assert facets["OperatingSystems"]["facetValues"]["linux"]["count"] == len(results)
    assert "windows" not in facets["OperatingSystems"]["facetValues"]
    assert "windows" in everything["facets"]["OperatingSystems"]["facetValues"]
    pricing = facets["PricingTypes"]["facetValues"]
    assert sum(1 for r in results if "Free" in r["pricingTypes"]) == pricing["Free"]["count"]


def test_pricing_and_architecture_filters_apply_to_plans(sandbox: SandboxServer) -> None:
    byol = search(sandbox, searchQuery="linux", pricingTypes="Byol", select="Plans", top="1000")
    assert byol["results"]
    assert all(any("Byol" in p["pricingTypes"] for p in r["plans"]) for r in byol["results"])
    arm64 = search(sandbox, searchQuery="ubuntu", vmArchitectureTypes="Arm64", select="Plans")
    # The plans the filter asked for come first.
    assert all(r["plans"][0]["vmArchitectureType"] == "Arm64" for r in arm64["results"])
    assert "canonical.0001-com-ubuntu-server-jammy" in {
        r["uniqueProductId"] for r in arm64["results"]
    }


def test_vm_products_only(sandbox: SandboxServer) -> None:
    every_type = search(sandbox, searchQuery="ubuntu", top="1000", select="ProductType")
    assert "SaaS" in {r["productType"] for r in every_type["results"]}
    vms = search(
        sandbox,
        searchQuery="ubuntu",
        top="1000",
        select="ProductType",
        productTypes="VirtualMachine",
    )
    assert {r["productType"] for r in vms["results"]} == {"VirtualMachine"}
    assert vms["totalCount"] < every_type["totalCount"]


def test_paging_follows_next_link_to_every_result(sandbox: SandboxServer) -> None:
    whole = search(sandbox, searchQuery="ubuntu", top="1000")
    assert "nextLink" not in whole
    expected = [r["uniqueProductId"] for r in whole["results"]]
    assert len(expected) == whole["totalCount"] > 12
    body = search(sandbox, searchQuery="ubuntu", top="5")
    seen = [r["uniqueProductId"] for r in body["results"]]
    pages = 1
    while "nextLink" in body:
        assert body["nextLink"].startswith(sandbox.catalog_url + "/search?")
        status, body, _ = _get(body["nextLink"])
        assert status == 200, body
        seen += [r["uniqueProductId"] for r in body["results"]]
        pages += 1
    assert seen == expected
    assert pages == -(-len(expected) // 5)


def test_a_bad_skip_token_is_refused(sandbox: SandboxServer) -> None:
    status, body, headers = _get(
        f"{sandbox.catalog_url}/search?api-version={API}&language=en&market=US&$skiptoken=%21%21"
    )
    assert status == 400
    assert headers["x-ms-error-code"] == body["error"]["code"] == "BadRequest"


def test_product_plans_are_urns_the_arm_routes_serve(sandbox: SandboxServer) -> None:
    for unique_id in ("canonical.ubuntu-24_04-lts", "microsoftsqlserver.sql2022-ws2022"):
        details = product(sandbox, unique_id)
        assert details["isCoreVm"] is True  # no purchase plan on these images
        publisher, offer = details["publisherId"], details["offerId"]
        for plan in details["plans"]:
            urn = (
                f"publishers/{publisher}/artifacttypes/vmimage/offers/{offer}/skus/{plan['planId']}"
            )
            versions = arm(sandbox, f"{urn}/versions")
            assert versions, f"ARM lists no version of {urn}"
            latest = versions[-1]["name"]
            image = arm(sandbox, f"{urn}/versions/{latest}")["properties"]
            arch = (
                "Arm64"
                if image["architecture"] == "Arm64"
                else f"X64Gen{image['hyperVGeneration'][1]}"
            )
            assert plan["vmArchitectureType"] == arch, plan["planId"]
            assert plan["metadata"]["generation"] == f"Gen{image['hyperVGeneration'][1]}"
            if unique_id.startswith("microsoftsqlserver"):
                assert image["dataDiskImages"], "the SQL images carry data disks"
            assert "plan" not in image


def test_a_purchase_plan_and_deprecation_show_in_the_details(sandbox: SandboxServer) -> None:
    alma = product(sandbox, "almalinux.almalinux-x86_64")
    assert alma["isCoreVm"] is False
    plan = alma["plans"][0]
    urn = (
        f"publishers/almalinux/artifacttypes/vmimage/offers/almalinux-x86_64/skus/{plan['planId']}"
    )
    latest = arm(sandbox, f"{urn}/versions")[-1]["name"]
    assert arm(sandbox, f"{urn}/versions/{latest}")["properties"]["plan"]["name"] == plan["planId"]

    bionic = product(sandbox, "canonical.ubuntuserver")
    info = bionic["plans"][0]["stopSellInfo"]
    assert (info["reason"], info["alternativeOfferId"]) == (
        "EndOfSupport",
        "0001-com-ubuntu-server-jammy",
    )
    assert bionic["plans"][0]["isStopSell"] is False  # scheduled: still sold, as ARM lists it

    # A deprecated (stop-sold) plan only when asked for, as the spec's includeStopSoldPlans says.
    ws = "microsoftwindowsserver.windowsserver"
    assert "2012-r2-datacenter" not in {p["planId"] for p in product(sandbox, ws)["plans"]}
    with_old = product(sandbox, ws, includeStopSoldPlans="true")["plans"]
    old = next(p for p in with_old if p["planId"] == "2012-r2-datacenter")
    assert old["isStopSell"] is True


def test_an_unknown_product_is_404(sandbox: SandboxServer) -> None:
    status, body, headers = _get(
        f"{sandbox.catalog_url}/product/nobody.nothing?api-version={API}&market=US"
    )
    assert status == 404
    assert headers["x-ms-error-code"] == body["error"]["code"] == "NotFound"


def test_products_list_filters_and_pages(sandbox: SandboxServer) -> None:
    sandbox.page_size = 3
    query = urlencode(
        {"api-version": API, "market": "US", "filter": "publisherId eq 'Canonical'"},
        quote_via=quote,
    )
    status, body, _ = _get(f"{sandbox.catalog_url}/products?{query}")
    ids: list[str] = []
    while True:
        assert status == 200, body
        ids += [item["uniqueProductId"] for item in body["value"]]
        if "nextLink" not in body:
            break
        status, body, _ = _get(body["nextLink"])
    assert len(ids) == len(set(ids)) == 7  # six offers and one SaaS product
    assert all(i.startswith("canonical.") for i in ids)
    status, body, _ = _get(
        f"{sandbox.catalog_url}/products?api-version={API}&market=US&filter=rating%20gt%203"
    )
    assert status == 400


def test_an_unknown_api_version_is_refused_as_azure_does(sandbox: SandboxServer) -> None:
    base = f"{sandbox.catalog_url}/search?language=en&market=US"
    status, body, _ = _get(f"{base}&api-version=1999-01-01")
    assert status == 400
    assert body["error"]["code"] == "UnsupportedApiVersion"
    assert "'1999-01-01'" in body["error"]["message"]
    status, body, _ = _get(base)
    assert (status, body["error"]["code"]) == (400, "ApiVersionUnspecified")


def test_the_api_key_is_required(sandbox: SandboxServer) -> None:
    url = f"{sandbox.catalog_url}/search?api-version={API}&language=en&market=US"
    status, body, _ = _get(url, {})
    assert (status, body["error"]["code"]) == (401, "Unauthorized")
    status, body, _ = _get(url, {"Authorization": "Bearer token"})
    assert status == 401
    assert "X-API-Key" in body["error"]["message"]


@pytest.mark.parametrize("missing", ["language", "market"])
def test_required_parameters(sandbox: SandboxServer, missing: str) -> None:
    params = {"api-version": API, "language": "en", "market": "US"}
    del params[missing]
    status, body, _ = _get(f"{sandbox.catalog_url}/search?{urlencode(params)}")
    assert status == 400
    assert missing in body["error"]["message"]


def test_latency_and_the_request_count_apply_to_the_catalogue(sandbox: SandboxServer) -> None:
    search(sandbox, searchQuery="debian")  # the index is built: only the latency is left
    before = sandbox.request_count
    sandbox.faults.latency = 0.3
    started = time.monotonic()
    search(sandbox, searchQuery="debian")
    # A lower bound only: the sandbox sleeps the latency before answering.
    assert time.monotonic() - started >= 0.3
    assert sandbox.request_count == before + 1


def test_the_endpoint_answers_only_loopback_host_names(sandbox: SandboxServer) -> None:
    status, body, _ = _get(
        f"{sandbox.catalog_url}/search?api-version={API}&language=en&market=US",
        {**KEY, "Host": "catalogapi.azure.com"},
    )
    assert (status, body["error"]["code"]) == (400, "InvalidHostName")


def test_the_built_catalogue_is_out_of_the_garbage_collectors_reach(
    sandbox: SandboxServer,
) -> None:
    # In sandbox mode the window shares the process: a full collection that scanned the
    # catalogue's hundred thousand objects would hold the GIL (and freeze the window) for 100 ms.
    search(sandbox, searchQuery="ubuntu")  # the catalogue is built on its first request
    built = catalog_index()
    product = built.products[0]
    assert gc.isenabled() and gc.is_tracked(product)
    assert not any(tracked is product for tracked in gc.get_objects())

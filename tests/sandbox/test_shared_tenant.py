"""Direct shared galleries over raw HTTP: shared with the subscription vs shared with the tenant.

Azure's SharedGalleries_List answers galleries shared with the subscription by default and those
shared with the whole tenant only with ``sharedTo=tenant`` (the REST spec's ``SharedToValues``
enum has the single value ``tenant``). "Shared with me" needs both lists, so the sandbox must keep
them apart exactly as Azure does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from gui.sandbox import SandboxServer
from gui.sandbox.seed import DEVTEST_SUBSCRIPTION_ID, PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.community import SHARED_GALLERIES

_API = "api-version=2025-03-03"


def _get(url: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": "Bearer t"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _list(sandbox: SandboxServer, subscription: str, location: str, extra: str = "") -> list[str]:
    base = (
        f"{sandbox.arm_url}/subscriptions/{subscription}/providers/Microsoft.Compute/"
        f"locations/{location}/sharedGalleries?{_API}{extra}"
    )
    status, body = _get(base)
    assert status == 200, body
    return [item["name"] for item in body["value"]]


def _shared_to(kind: str) -> list[str]:
    return [g.unique_name for g in SHARED_GALLERIES if g.shared_to == kind]


def test_the_seed_has_a_gallery_shared_with_the_tenant_only() -> None:
    to_tenant, to_subscription = _shared_to("tenant"), _shared_to("subscription")
    assert to_tenant and to_subscription
    assert not set(to_tenant) & set(to_subscription)


@pytest.mark.parametrize("subscription", [PRODUCTION_SUBSCRIPTION_ID, DEVTEST_SUBSCRIPTION_ID])
def test_tenant_galleries_come_only_with_shared_to_tenant(
    sandbox: SandboxServer, subscription: str
) -> None:
    default = _list(sandbox, subscription, "westeurope")
    tenant = _list(sandbox, subscription, "westeurope", "&sharedTo=tenant")
    assert default == _shared_to("subscription")
    assert tenant == _shared_to("tenant")
    # The value is case-insensitive, as the SDK's enum is.
    assert _list(sandbox, subscription, "westeurope", "&sharedto=Tenant") == tenant


def test_a_tenant_gallery_is_browsable_down_to_its_versions(sandbox: SandboxServer) -> None:
    gallery = next(g for g in SHARED_GALLERIES if g.shared_to == "tenant")
    base = (
        f"{sandbox.arm_url}/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/providers/"
        f"Microsoft.Compute/locations/westeurope/sharedGalleries/{gallery.unique_name}"
    )
    status, body = _get(f"{base}?{_API}")
    assert status == 200
    assert body["identifier"]["uniqueId"] == f"/SharedGalleries/{gallery.unique_name}"
    status, images = _get(f"{base}/images?{_API}")
    assert status == 200
    assert [i["name"] for i in images["value"]] == [i.name for i in gallery.images]
    image = gallery.images[0]
    status, versions = _get(f"{base}/images/{image.name}/versions?{_API}")
    assert status == 200
    assert [v["name"] for v in versions["value"]] == list(image.versions)


def test_a_region_the_tenant_gallery_is_not_in_lists_none(sandbox: SandboxServer) -> None:
    gallery = next(g for g in SHARED_GALLERIES if g.shared_to == "tenant")
    assert "northeurope" not in gallery.locations
    assert _list(sandbox, PRODUCTION_SUBSCRIPTION_ID, "northeurope", "&sharedTo=tenant") == []


def test_an_unknown_shared_to_value_is_refused_as_arm_does(sandbox: SandboxServer) -> None:
    status, body = _get(
        f"{sandbox.arm_url}/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/providers/"
        f"Microsoft.Compute/locations/westeurope/sharedGalleries?{_API}&sharedTo=everyone"
    )
    assert status == 400
    assert body["error"]["code"] == "InvalidParameter"
    assert body["error"]["target"] == "sharedTo"

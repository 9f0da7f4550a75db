"""Marketplace terms (issue 12) against the sandbox over HTTP, through the Marketplace Ordering
SDK the app uses: read, accept, cancel, and the refusals Azure gives."""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.error import HTTPError

import pytest

from gui.azure.account.session import sandbox_session
from gui.azure.catalog.nodes import PurchasePlan
from gui.azure.errors import NotFoundError
from gui.azure.terms import MarketplaceTerms
from gui.sandbox.seed import DEVTEST_SUBSCRIPTION_ID, PRODUCTION_SUBSCRIPTION_ID

PLAN = PurchasePlan("RedHat", "rhel-byos", "rhel-lvm94-gen2")
API = "api-version=2021-01-01"


def _current_url(server: Any, subscription: str, plan: PurchasePlan) -> str:
    return (
        f"{server.arm_url}/subscriptions/{subscription}/providers/Microsoft.MarketplaceOrdering/"
        f"offerTypes/virtualmachine/publishers/{plan.publisher}/offers/{plan.product}/plans/"
        f"{plan.name}/agreements/current?{API}"
    )


def _send(url: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", "Bearer sandbox")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.asyncio
async def test_terms_are_accepted_per_subscription_and_can_be_cancelled(fresh_sandbox: Any) -> None:
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        production = MarketplaceTerms(session, PRODUCTION_SUBSCRIPTION_ID)
        before = await production.state(PLAN)
        assert not before.accepted and before.accepted_at is None
        assert before.license_link.startswith("https://")

        accepted = await production.accept(PLAN)
        assert accepted.accepted and accepted.accepted_at is not None
        assert (await production.state(PLAN)).accepted
        # another subscription has its own terms
        devtest = MarketplaceTerms(session, DEVTEST_SUBSCRIPTION_ID)
        assert not (await devtest.state(PLAN)).accepted
        # accepting again changes nothing and asks nothing of the user
        assert (await production.accept(PLAN)).accepted

        cancelled = await production.cancel(PLAN)
        assert not cancelled.accepted
        assert not (await production.state(PLAN)).accepted
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_acceptance_survives_a_restart_of_the_sandbox(fresh_sandbox: Any) -> None:
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        await MarketplaceTerms(session, PRODUCTION_SUBSCRIPTION_ID).accept(PLAN)
    finally:
        await session.close()
    fresh_sandbox.stop()
    fresh_sandbox.start()
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        assert (await MarketplaceTerms(session, PRODUCTION_SUBSCRIPTION_ID).state(PLAN)).accepted
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_a_plan_the_marketplace_does_not_sell_is_not_found(sandbox: Any) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        terms = MarketplaceTerms(session, PRODUCTION_SUBSCRIPTION_ID)
        with pytest.raises(NotFoundError):
            await terms.state(PurchasePlan("RedHat", "rhel-byos", "no-such-plan"))
        # an image without a plan has no terms either
        with pytest.raises(NotFoundError):
            await terms.state(PurchasePlan("Canonical", "ubuntu-24_04-lts", "server"))
    finally:
        await session.close()


def test_terms_are_accepted_only_as_they_were_read(fresh_sandbox: Any) -> None:
    url = _current_url(fresh_sandbox, PRODUCTION_SUBSCRIPTION_ID, PLAN)
    status, terms = _send(url)
    assert status == 200 and terms["properties"]["accepted"] is False
    forged = json.loads(json.dumps(terms))
    forged["properties"].update(accepted=True, signature="NOT-THE-SIGNATURE")
    status, error = _send(url, "PUT", forged)
    assert status == 400 and "signature" in error["error"]["message"]
    terms["properties"]["accepted"] = True
    status, done = _send(url, "PUT", terms)
    assert status == 200 and done["properties"]["accepted"] is True
    # the contract: a body of the wrong shape is refused before the handler sees it
    status, error = _send(url, "PUT", {"properties": {"accepted": "yes"}})
    assert status == 400 and error["error"]["code"] == "InvalidRequestContent", error
    # and an api-version the provider does not serve
    status, error = _send(url.replace(API, "api-version=2019-01-01"), "GET")
    assert status == 400, error

"""The one wrapper that turns SDK failures into our error types, against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError

from gui.azure.account.session import sandbox_session
from gui.azure.errors import (
    AzureServiceError,
    ConnectionLostError,
    NotFoundError,
    PermissionDeniedError,
    translated,
    translating,
)
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.asyncio
async def test_a_missing_resource_becomes_not_found_with_its_request_id(sandbox: Any) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:
        client = session.compute(PRODUCTION_SUBSCRIPTION_ID)
        with pytest.raises(NotFoundError) as caught, translated():
            await client.images.get("no-such-group", "no-such-image")
        assert isinstance(caught.value.__cause__, HttpResponseError)
        assert caught.value.status == 404
        assert caught.value.request_id
        assert "HttpResponseError" not in caught.value.user_text()
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_the_decorator_translates_async_functions(sandbox: Any) -> None:
    session = sandbox_session(sandbox.arm_url)
    try:

        @translating
        async def get_missing() -> object:
            return await session.compute(PRODUCTION_SUBSCRIPTION_ID).images.get("nope", "nope")

        with pytest.raises(NotFoundError):
            await get_missing()
        assert get_missing.__name__ == "get_missing"
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_an_unreachable_endpoint_is_a_lost_connection() -> None:
    session = sandbox_session(f"http://127.0.0.1:{_closed_port()}")
    try:
        with pytest.raises(ConnectionLostError, match="did not reach Azure"), translated():
            await session.compute(PRODUCTION_SUBSCRIPTION_ID).images.get("rg", "image")
    finally:
        await session.close()


def test_the_decorator_translates_plain_functions() -> None:
    @translating
    def refuse() -> None:
        raise ConnectionResetError("peer reset")

    with pytest.raises(ConnectionLostError):
        refuse()


def test_our_own_errors_pass_unchanged() -> None:
    original = PermissionDeniedError("no role")
    with pytest.raises(PermissionDeniedError) as caught, translated():
        raise original
    assert caught.value is original


def test_a_narrowed_wrapper_lets_other_failures_through() -> None:
    with pytest.raises(ValueError), translated(HttpResponseError):
        raise ValueError("a bug, not an Azure failure")
    with pytest.raises(AzureServiceError), translated():
        raise ValueError("anything else becomes the generic Azure error")


@pytest.mark.asyncio
async def test_cancellation_is_never_translated() -> None:
    @translating
    async def wait_forever() -> None:
        await asyncio.Event().wait()

    task = asyncio.ensure_future(wait_forever())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

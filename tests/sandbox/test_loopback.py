"""The loopback-only bearer policy and the sandbox client factories."""

from __future__ import annotations

import pytest
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from gui.azure.account.loopback import (
    SANDBOX_TOKEN,
    AsyncStaticTokenCredential,
    LoopbackBearerPolicy,
    LoopbackOnlyError,
    StaticTokenCredential,
    sandbox_compute_client,
    sandbox_resource_clients,
)
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID


def _run_policy(url: str) -> HttpRequest:
    request = HttpRequest("GET", url)
    LoopbackBearerPolicy().on_request(PipelineRequest(request, PipelineContext(None)))
    return request


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5000/x", "http://localhost/x", "http://[::1]:80/x", "http://127.8.9.1/"],
)
def test_loopback_hosts_get_the_token(url: str) -> None:
    assert _run_policy(url).headers["Authorization"] == f"Bearer {SANDBOX_TOKEN}"


@pytest.mark.parametrize(
    "url",
    [
        "https://management.azure.com/subscriptions",
        "http://10.0.0.5/",
        "http://evil.localhost.example/",
    ],
)
def test_other_hosts_are_refused(url: str) -> None:
    with pytest.raises(LoopbackOnlyError, match=r"only talks to 127\.0\.0\.1"):
        _run_policy(url)


def test_client_factories_refuse_a_non_loopback_endpoint() -> None:
    with pytest.raises(LoopbackOnlyError):
        sandbox_compute_client("https://management.azure.com", PRODUCTION_SUBSCRIPTION_ID)
    with pytest.raises(LoopbackOnlyError):
        sandbox_resource_clients("http://192.168.1.10:8080", PRODUCTION_SUBSCRIPTION_ID)


@pytest.mark.asyncio
async def test_a_request_redirected_off_loopback_is_refused(sandbox: SandboxServer) -> None:
    async with sandbox_compute_client(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as client:
        with pytest.raises(LoopbackOnlyError):
            await client.send_request(
                HttpRequest("GET", "https://management.azure.com/subscriptions")
            )


@pytest.mark.asyncio
async def test_static_credentials_hand_out_the_sandbox_token() -> None:
    assert StaticTokenCredential().get_token("scope").token == SANDBOX_TOKEN
    token = await AsyncStaticTokenCredential().get_token_info("scope")
    assert token.token == SANDBOX_TOKEN
    assert token.expires_on > 0


def test_the_sandbox_and_the_transfer_engine_share_one_loopback_rule() -> None:
    from gui.azure.account import loopback
    from gui.transfer import tls

    assert vars(loopback)["is_loopback_host"] is tls.is_loopback_host  # imported, not copied
    assert tls.is_loopback_host("[::ffff:127.0.0.1]") and tls.is_loopback_host("LOCALHOST.")
    assert not tls.is_loopback_host("127.0.0.1.nip.io")  # would need a DNS lookup to know


@pytest.mark.asyncio
async def test_a_sandbox_client_refuses_plain_http_off_loopback_with_the_tls_rule(
    sandbox: SandboxServer,
) -> None:
    from gui.transfer.tls import InsecureTransportError

    async with sandbox_compute_client(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as client:
        with pytest.raises(InsecureTransportError, match="plain http://"):
            await client.send_request(HttpRequest("GET", "http://10.1.2.3/subscriptions"))

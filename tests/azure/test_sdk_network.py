"""Every SDK client the app builds: TLS only (loopback excepted), the corporate proxy and CA
bundle from the environment, our User-Agent, and failures logged with their client request id.

Real parts only: the SDK clients talk to the sandbox or to a small server on loopback, through
a real tinyproxy for the proxy cases, over real TLS with a throw-away CA for the CA-bundle cases.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gui import __version__
from gui.azure.account.clouds import Cloud
from gui.azure.account.loopback import AsyncStaticTokenCredential
from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.errors import ConnectionLostError, InsecureEndpointError, translate
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.transfer.tls import InsecureTransportError, MalformedUrlError, require_tls
from tests.azure.local_server import local_server, make_certificates
from tests.fixtures.proxy import HttpProxy, running_proxy, use_proxy

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def looked_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host name this process resolves (the real resolver still answers)."""
    hosts: list[str] = []
    real = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        hosts.append(str(host))
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    return hosts


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[HttpProxy]:
    with running_proxy(tmp_path / "proxy", user="corp", password="proxy-secret-7") as started:
        yield started


def _cloud(resource_manager: str) -> Cloud:
    return Cloud("Custom", "Custom cloud", resource_manager, "login.example.invalid")


# ---- secrets only over TLS -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://management.azure.com/",
        "http://127.0.0.1:5000/",
        "http://127.9.0.1/",
        "http://localhost:80/",
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]/",
    ],
)
def test_tls_or_loopback_is_allowed(url: str) -> None:
    require_tls(url, "The endpoint")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("http://management.example.invalid/", InsecureTransportError),
        ("http://10.0.0.4/", InsecureTransportError),
        ("http://localhost.example.com/", InsecureTransportError),
        ("ftp://management.example.invalid/", InsecureTransportError),
        ("http://[::1/a", MalformedUrlError),
        ("https://host.example:99999/", MalformedUrlError),
        ("management.azure.com", MalformedUrlError),
    ],
)
def test_plain_http_elsewhere_and_malformed_urls_are_refused(
    url: str, error: type[Exception]
) -> None:
    with pytest.raises(error) as raised:
        require_tls(url, "The endpoint")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("The endpoint")


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["compute", "resources", "storage", "subscriptions"])
async def test_every_sdk_client_refuses_plain_http_before_any_lookup(
    kind: str, looked_up: list[str]
) -> None:
    session = AzureSession(
        credential=AsyncStaticTokenCredential(),
        account="test",
        cloud=_cloud("http://management.example.invalid"),
    )
    make: dict[str, Callable[[], Any]] = {
        "compute": lambda: session.compute(PRODUCTION_SUBSCRIPTION_ID),
        "resources": lambda: session.resources(PRODUCTION_SUBSCRIPTION_ID),
        "storage": lambda: session.storage(PRODUCTION_SUBSCRIPTION_ID),
        "subscriptions": session.subscriptions,
    }
    try:
        with pytest.raises(InsecureTransportError, match="plain http:// to 'management"):
            make[kind]()
    finally:
        await session.close()
    assert "management.example.invalid" not in looked_up
    error = translate(InsecureTransportError("x"))
    assert isinstance(error, InsecureEndpointError) and "https://" in error.advice


@pytest.mark.asyncio
async def test_a_next_page_over_plain_http_is_refused_before_any_lookup(
    looked_up: list[str],
) -> None:
    """The service names the next page's URL; a plain-HTTP one elsewhere is never requested."""

    def respond(request: web.Request, base: str) -> tuple[int, Any]:
        return 200, {
            "value": [{"subscriptionId": PRODUCTION_SUBSCRIPTION_ID, "displayName": "One"}],
            "nextLink": "http://nextpage.example.invalid/subscriptions?page=2",
        }

    async with local_server(respond) as server:
        session = sandbox_session(server.url)
        try:
            with pytest.raises(InsecureTransportError, match=r"nextpage\.example\.invalid"):
                async for _ in session.subscriptions().subscriptions.list():
                    pass
        finally:
            await session.close()
    assert len(server.requests) == 1
    assert "nextpage.example.invalid" not in looked_up


# ---- User-Agent, client request id, failure log ----------------------------------------------


@pytest.mark.asyncio
async def test_every_request_carries_our_user_agent_and_a_client_request_id() -> None:
    def respond(request: web.Request, base: str) -> tuple[int, Any]:
        return 200, {"value": [{"subscriptionId": PRODUCTION_SUBSCRIPTION_ID}]}

    async with local_server(respond) as server:
        session = sandbox_session(server.url)
        try:
            listed = [s async for s in session.subscriptions().subscriptions.list()]
            groups = session.resources(PRODUCTION_SUBSCRIPTION_ID).resource_groups.list()
            _ = [g async for g in groups]
        finally:
            await session.close()
    assert len(listed) == 1 and len(server.requests) == 2
    ids = set()
    for request in server.requests:
        assert request.headers["User-Agent"].startswith(f"azure-image-studio/{__version__} ")
        ids.add(request.headers["x-ms-client-request-id"])
        assert UUID.fullmatch(request.headers["x-ms-client-request-id"])
    assert len(ids) == 2


@pytest.mark.asyncio
async def test_a_failure_is_logged_with_its_client_request_id(
    sandbox: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.faults.add(r"/providers/Microsoft\.Compute/images", status=403, times=1)
    session = sandbox_session(sandbox.arm_url)
    caplog.set_level(logging.INFO, logger="gui.azure.account.network")
    try:
        with pytest.raises(Exception) as raised:
            _ = [i async for i in session.compute(PRODUCTION_SUBSCRIPTION_ID).images.list()]
    finally:
        await session.close()
    error = translate(raised.value)
    assert error.request_id is not None and UUID.fullmatch(error.request_id)
    assert f"Request id: {error.request_id}" in error.user_text()
    failures = [r.getMessage() for r in caplog.records if "failed: HTTP 403" in r.getMessage()]
    assert len(failures) == 1
    assert f"x-ms-client-request-id {error.request_id}" in failures[0]


# ---- corporate proxy and CA bundle ------------------------------------------------------------


@pytest.mark.asyncio
async def test_sdk_listing_goes_through_the_proxy_with_its_credentials(
    sandbox: SandboxServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_proxy(monkeypatch, proxy)  # NO_PROXY is empty: loopback goes through the proxy too
    before = sandbox.request_count
    session = sandbox_session(sandbox.arm_url)
    try:
        subscriptions = [s async for s in session.subscriptions().subscriptions.list()]
        images = [i async for i in session.compute(PRODUCTION_SUBSCRIPTION_ID).images.list()]
    finally:
        await session.close()
    assert subscriptions and images
    served = sandbox.request_count - before
    through_proxy = proxy.requests_to(sandbox.arm_url)
    assert served >= 2 and len(through_proxy) == served
    assert proxy.forwarded() == served  # each one authenticated and sent on, none refused (407)


@pytest.mark.asyncio
async def test_a_proxy_that_wants_credentials_refuses_a_client_without_them(
    sandbox: SandboxServer, proxy: HttpProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_proxy(monkeypatch, proxy)
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, proxy.url_without_credentials)
    session = sandbox_session(sandbox.arm_url)
    try:
        with pytest.raises(Exception) as raised:
            _ = [s async for s in session.subscriptions().subscriptions.list()]
    finally:
        await session.close()
    assert translate(raised.value).status == 407
    assert proxy.requests_to(sandbox.arm_url) and proxy.forwarded() == 0


@pytest.mark.asyncio
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
async def test_a_custom_ca_bundle_from_the_environment_is_trusted(
    variable: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificates = make_certificates(tmp_path / "ca")
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)

    def respond(request: web.Request, base: str) -> tuple[int, Any]:
        return 200, {"value": [{"subscriptionId": PRODUCTION_SUBSCRIPTION_ID}]}

    async with local_server(respond, tls=certificates.server_context) as server:

        async def listing() -> list[Any]:
            session = AzureSession(
                credential=AsyncStaticTokenCredential(), account="t", cloud=_cloud(server.url)
            )
            try:
                return [s async for s in session.subscriptions().subscriptions.list()]
            finally:
                await session.close()

        with pytest.raises(Exception) as untrusted:
            await listing()
        assert isinstance(translate(untrusted.value), ConnectionLostError)
        monkeypatch.setenv(variable, str(certificates.ca_pem))
        assert len(await listing()) == 1
    assert server.requests[-1].headers["Authorization"].startswith("Bearer ")


def test_a_missing_ca_bundle_is_named_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nowhere.pem"))
    session = AzureSession(credential=AsyncStaticTokenCredential(), account="t")
    with pytest.raises(ConnectionLostError, match="REQUESTS_CA_BUNDLE names the CA bundle"):
        session.subscriptions()


@pytest.mark.asyncio
async def test_with_a_ca_bundle_connections_are_still_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """azure-core alone builds an SSL context per request from a bundle path, so aiohttp never
    reuses a connection; the app's transport builds one per bundle."""
    certificates = make_certificates(tmp_path / "ca")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_pem))

    def respond(request: web.Request, base: str) -> tuple[int, Any]:
        return 200, {"value": [{"subscriptionId": PRODUCTION_SUBSCRIPTION_ID}]}

    async with local_server(respond, tls=certificates.server_context, keep_alive=True) as server:
        session = AzureSession(
            credential=AsyncStaticTokenCredential(), account="t", cloud=_cloud(server.url)
        )
        try:
            for _ in range(5):
                _ = [s async for s in session.subscriptions().subscriptions.list()]
        finally:
            await session.close()
    assert len(server.requests) == 5
    assert len({request.peer for request in server.requests}) == 1

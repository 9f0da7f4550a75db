"""The network options every SDK client and credential of the app gets.

The corporate proxy and CA bundle from the environment, the app's User-Agent, and two policies:
``TlsOnlyPolicy`` (the one TLS rule of gui/transfer/tls.py, checked before every send, redirects
and next pages included) and ``FailureLogPolicy`` (a failed request is logged with its
``x-ms-client-request-id``). A module of its own so that the session and the sandbox's loopback
clients both build on it without importing each other.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import sys
from pathlib import Path
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import AioHttpTransport

from gui.azure.errors import ConnectionLostError, client_request_id
from gui.transfer.network import CA_BUNDLE_VARIABLES, user_agent
from gui.transfer.redact import redact, strip_query
from gui.transfer.tls import require_tls

log = logging.getLogger(__name__)


class TlsOnlyPolicy(SansIOHTTPPolicy[Any, Any]):
    """Refuses to send any request over plain HTTP except to loopback (gui/transfer/tls.py).

    Placed after the retry policy, so it sees every request that would reach the transport:
    the first, each retry, each redirect and every next page or polling URL the service names.
    It raises before the transport opens a connection or looks up a name.
    """

    def on_request(self, request: PipelineRequest[Any]) -> None:
        require_tls(request.http_request.url, "An Azure request")


class FailureLogPolicy(SansIOHTTPPolicy[Any, Any]):
    """Logs every failed request with its ``x-ms-client-request-id`` (what Azure support asks).

    A per-call policy: it sees the final outcome after retries, once per operation.
    """

    def on_response(
        self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
    ) -> None:
        status = response.http_response.status_code
        if status < 400:
            return
        http_request = request.http_request
        # 404 is an ordinary answer ("does it exist?"), not a failure worth a warning.
        level = logging.INFO if status == 404 else logging.WARNING
        log.log(
            level,
            "%s %s failed: HTTP %d %s (x-ms-client-request-id %s, x-ms-request-id %s)",
            http_request.method,
            redact(strip_query(http_request.url)),
            status,
            response.http_response.headers.get("x-ms-error-code") or "",
            client_request_id(http_request.headers) or "-",
            response.http_response.headers.get("x-ms-request-id") or "-",
        )

    def on_exception(self, request: PipelineRequest[Any]) -> None:
        error = sys.exc_info()[1]
        http_request = request.http_request
        log.warning(
            "%s %s failed: %s (x-ms-client-request-id %s)",
            http_request.method,
            redact(strip_query(http_request.url)),
            redact(f"{type(error).__name__}: {error}") if error else "no answer",
            client_request_id(http_request.headers) or "-",
        )


def ca_bundle() -> str | None:
    """The custom CA bundle named by the environment, or None for the system's trust store."""
    for name in CA_BUNDLE_VARIABLES:
        value = os.environ.get(name)
        if value:
            if not Path(value).is_file():
                raise ConnectionLostError(
                    f"{name} names the CA bundle '{value}', which is not a readable file. "
                    f"Point {name} at your organisation's PEM bundle or unset it."
                )
            return value
    return None


def network_options() -> dict[str, Any]:
    """Keyword arguments for every azure-core client and azure-identity credential we build.

    ``use_env_settings=True`` is azure-core's default, stated here because the proxy depends
    on it: it makes the aiohttp transport a ``trust_env`` session (HTTPS_PROXY, HTTP_PROXY,
    NO_PROXY, credentials in the proxy URL, .netrc) and the requests transport read the same
    variables. aiohttp does not read REQUESTS_CA_BUNDLE, so the bundle is passed explicitly as
    ``connection_verify`` to every transport.
    """
    options: dict[str, Any] = {"user_agent": user_agent(), "use_env_settings": True}
    bundle = ca_bundle()
    if bundle is not None:
        options["connection_verify"] = bundle
    return options


class _CaBundleTransport(AioHttpTransport):  # type: ignore[misc]  # azure-core exports it lazily
    """The aiohttp transport with one SSL context per CA bundle.

    Given ``connection_verify=<path>``, azure-core's aiohttp transport builds a new SSLContext
    from the file for every request: it re-reads the bundle each time and, as aiohttp pools
    connections per SSL context, never reuses a connection (measured against the sandbox:
    ~150 ms per request instead of ~5 ms). The context is built once per bundle instead.
    """

    def _build_ssl_config(self, cert: Any, verify: Any) -> Any:
        if not cert and isinstance(verify, str):
            return _ca_context(verify)
        return super()._build_ssl_config(cert, verify)


@functools.lru_cache(maxsize=4)
def _ca_context(path: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=path)


def sdk_client_options(endpoint: str, what: str = "The Azure endpoint") -> dict[str, Any]:
    """``network_options`` plus the TLS and failure-log policies, after checking ``endpoint``.

    For the aio SDK clients: each call makes a transport of its own (a client closes its
    transport when it is closed).
    """
    require_tls(endpoint, what)
    options = network_options()
    options["transport"] = _CaBundleTransport(**options)
    options["per_call_policies"] = [FailureLogPolicy()]
    options["per_retry_policies"] = [TlsOnlyPolicy()]
    return options

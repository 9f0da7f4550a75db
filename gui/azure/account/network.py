"""The network options every SDK client and credential of the app gets.

The corporate proxy and CA bundle from the environment, the app's User-Agent, and two policies:
``TlsOnlyPolicy`` (the one TLS rule of gui/transfer/tls.py, checked before every send, redirects
and next pages included) and ``OperationLogPolicy`` (gui/azure/account/oplog.py: every request is
logged with its status, duration and request ids; failures as warnings). A module of its own so
that the session and the sandbox's loopback clients both build on it without importing each
other.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
from pathlib import Path
from typing import Any

from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.core.pipeline.transport import AioHttpTransport

from gui.azure.account.oplog import OperationLogPolicy
from gui.azure.errors import ConnectionLostError
from gui.transfer.network import CA_BUNDLE_VARIABLES, user_agent
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


def preload_ssl_context() -> None:
    """Builds the custom CA bundle's SSL context now, so the first request does not: reading and
    parsing a bundle takes ~50 ms, which the window spends on a worker thread before it connects.
    """
    bundle = ca_bundle()
    if bundle is not None:
        _ca_context(bundle)


def sdk_client_options(endpoint: str, what: str = "The Azure endpoint") -> dict[str, Any]:
    """``network_options`` plus the TLS and operation-log policies, after checking ``endpoint``.

    For the aio SDK clients: each call makes a transport of its own (a client closes its
    transport when it is closed).
    """
    require_tls(endpoint, what)
    options = network_options()
    options["transport"] = _CaBundleTransport(**options)
    options["per_call_policies"] = [OperationLogPolicy()]
    options["per_retry_policies"] = [TlsOnlyPolicy()]
    return options

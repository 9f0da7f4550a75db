"""Reaching the embedded sandbox with the real Azure SDK clients.

The SDK's ARM challenge policy refuses plain HTTP, which is right for Azure and wrong for a server
on 127.0.0.1. ``LoopbackBearerPolicy`` takes its place: it sends a fixed bearer token and allows
plain HTTP only to loopback hosts, so a sandbox client pointed elsewhere by mistake fails loudly
instead of leaking a token over the network.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken, AccessTokenInfo, TokenRequestOptions
from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

from gui.azure.account.network import sdk_client_options
from gui.transfer.tls import is_loopback_host

SANDBOX_TOKEN = "sandbox-token-not-a-secret"  # not a secret: the sandbox accepts any bearer
_TOKEN_LIFETIME_S = 24 * 3600


class LoopbackOnlyError(AzureError):
    """A sandbox client was asked to talk to a host that is not this machine."""


def require_loopback_url(url: str) -> None:
    """Raise ``LoopbackOnlyError`` unless ``url`` points at this machine."""
    host = urlsplit(url).hostname
    if not is_loopback_host(host):
        raise LoopbackOnlyError(
            f"Refusing to send sandbox credentials to '{host or url}': the sandbox client only "
            "talks to 127.0.0.1, ::1 or localhost. Point it at the sandbox's own URL."
        )


class LoopbackBearerPolicy(SansIOHTTPPolicy[Any, Any]):
    """Sets ``Authorization: Bearer <token>``; refuses every host but loopback (HTTP allowed)."""

    def __init__(self, token: str = SANDBOX_TOKEN) -> None:
        super().__init__()
        self._token = token

    def on_request(self, request: PipelineRequest[Any]) -> None:
        require_loopback_url(request.http_request.url)
        request.http_request.headers["Authorization"] = f"Bearer {self._token}"


def _access_token(token: str) -> AccessToken:
    return AccessToken(token, int(time.time()) + _TOKEN_LIFETIME_S)


def _access_token_info(token: str) -> AccessTokenInfo:
    return AccessTokenInfo(token, int(time.time()) + _TOKEN_LIFETIME_S)


class StaticTokenCredential:
    """A synchronous TokenCredential that always hands out the sandbox token."""

    def __init__(self, token: str = SANDBOX_TOKEN) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return _access_token(self._token)

    def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        return _access_token_info(self._token)

    def close(self) -> None:
        return None


class AsyncStaticTokenCredential:
    """The asynchronous counterpart of ``StaticTokenCredential``."""

    def __init__(self, token: str = SANDBOX_TOKEN) -> None:
        self._token = token

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return _access_token(self._token)

    async def get_token_info(
        self, *scopes: str, options: TokenRequestOptions | None = None
    ) -> AccessTokenInfo:
        return _access_token_info(self._token)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> AsyncStaticTokenCredential:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None


def sandbox_compute_client(
    arm_url: str, subscription_id: str, **kwargs: Any
) -> ComputeManagementClient:
    """An aio ComputeManagementClient talking to the sandbox at ``arm_url``.

    Extra keyword arguments go to the client (e.g. ``retry_total=0``).
    """
    require_loopback_url(arm_url)
    return ComputeManagementClient(
        credential=AsyncStaticTokenCredential(),
        subscription_id=subscription_id,
        base_url=arm_url,
        authentication_policy=LoopbackBearerPolicy(),
        **_options(arm_url, kwargs),
    )


def _options(arm_url: str, extra: dict[str, Any]) -> dict[str, Any]:
    """The app's network options (proxy, CA, User-Agent, TLS rule, failure log) plus ``extra``."""
    return {**sdk_client_options(arm_url, "The sandbox endpoint"), **extra}


def sandbox_resource_clients(
    arm_url: str, subscription_id: str, **kwargs: Any
) -> tuple[SubscriptionClient, ResourceManagementClient]:
    """The aio SubscriptionClient and ResourceManagementClient for the sandbox at ``arm_url``."""
    require_loopback_url(arm_url)
    subscriptions = SubscriptionClient(
        credential=AsyncStaticTokenCredential(),
        base_url=arm_url,
        authentication_policy=LoopbackBearerPolicy(),
        **_options(arm_url, kwargs),
    )
    resources = ResourceManagementClient(
        credential=AsyncStaticTokenCredential(),
        subscription_id=subscription_id,
        base_url=arm_url,
        authentication_policy=LoopbackBearerPolicy(),
        **_options(arm_url, kwargs),
    )
    return subscriptions, resources

"""A signed-in connection to Azure (or to the sandbox) that hands out SDK clients.

The same SDK code path serves both: in sandbox mode the clients point at the local server's
``base_url`` with a policy that sends a static bearer token over plain HTTP to loopback only.

Every client gets the same network options (gui/azure/account/network.py): proxy, CA bundle,
User-Agent, the TLS rule and the failure log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.credentials_async import AsyncTokenCredential
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.resource.resources.aio import ResourceManagementClient
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

from gui.azure.account.clouds import PUBLIC_CLOUD, Cloud
from gui.azure.account.loopback import (
    AsyncStaticTokenCredential,
    LoopbackBearerPolicy,
    require_loopback_url,
)
from gui.azure.account.network import sdk_client_options
from gui.i18n import QT_TR_NOOP, Text

C = TypeVar("C")  # an SDK client class

# Browsing should fail visibly within seconds, not after the SDK's default ten retries.
_CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.4,
    "connection_timeout": 10,
    "read_timeout": 60,
}


@dataclass
class AzureSession:
    credential: AsyncTokenCredential
    account: str
    cloud: Cloud = PUBLIC_CLOUD
    sandbox_url: str | None = None
    _compute: dict[str, ComputeManagementClient] = field(default_factory=dict, repr=False)
    _resources: dict[str, ResourceManagementClient] = field(default_factory=dict, repr=False)
    _subscriptions: SubscriptionClient | None = field(default=None, repr=False)
    _storage: dict[str, Any] = field(default_factory=dict, repr=False)
    _ordering: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_url is not None

    @property
    def arm_url(self) -> str:
        return self.sandbox_url or self.cloud.resource_manager

    def _options(self) -> dict[str, Any]:
        options = dict(_CLIENT_OPTIONS)
        options.update(sdk_client_options(self.arm_url, "The Azure Resource Manager endpoint"))
        options["base_url"] = self.arm_url
        options["credential_scopes"] = [self.cloud.arm_scope]
        if self.is_sandbox:
            options["authentication_policy"] = LoopbackBearerPolicy()
        return options

    def _client(self, clients: dict[str, C], make: Callable[..., C], subscription_id: str) -> C:
        """The client ``make`` builds for a subscription, made once and kept until ``close``."""
        client = clients.get(subscription_id)
        if client is None:
            client = clients[subscription_id] = make(
                self.credential, subscription_id, **self._options()
            )
        return client

    def compute(self, subscription_id: str) -> ComputeManagementClient:
        return self._client(self._compute, ComputeManagementClient, subscription_id)

    def resources(self, subscription_id: str) -> ResourceManagementClient:
        return self._client(self._resources, ResourceManagementClient, subscription_id)

    def storage(self, subscription_id: str) -> Any:
        """The aio StorageManagementClient, imported on first use (only blob targets need it)."""
        from azure.mgmt.storage.aio import StorageManagementClient

        return self._client(self._storage, StorageManagementClient, subscription_id)

    def marketplace_ordering(self, subscription_id: str) -> Any:
        """The aio MarketplaceOrderingAgreements client (Marketplace terms), made on first use."""
        from azure.mgmt.marketplaceordering.aio import MarketplaceOrderingAgreements

        return self._client(self._ordering, MarketplaceOrderingAgreements, subscription_id)

    def subscriptions(self) -> SubscriptionClient:
        if self._subscriptions is None:
            self._subscriptions = SubscriptionClient(self.credential, **self._options())
        return self._subscriptions

    async def close(self) -> None:
        clients: list[Any] = [
            *self._compute.values(),
            *self._resources.values(),
            *self._storage.values(),
            *self._ordering.values(),
        ]
        if self._subscriptions is not None:
            clients.append(self._subscriptions)
        self._compute.clear()
        self._resources.clear()
        self._storage.clear()
        self._ordering.clear()
        self._subscriptions = None
        for client in clients:
            await client.close()
        close = getattr(self.credential, "close", None)
        if close is not None:
            await close()


def sandbox_session(arm_url: str) -> AzureSession:
    """A session on the embedded sandbox: real SDK clients, a static token, loopback only."""
    require_loopback_url(arm_url)
    return AzureSession(
        credential=AsyncStaticTokenCredential(),
        # Our words, not an account Azure named: the window shows them translated.
        account=Text(QT_TR_NOOP("Sandbox account (offline)")),
        sandbox_url=arm_url,
    )

"""A second tenant: the session a cross-tenant copy writes with.

A gallery image version made in tenant B from a version in tenant A needs two tokens on the same
request (Azure's "authenticate across tenants"): B's in ``Authorization`` and A's in
``x-ms-authorization-auxiliary``. azure-mgmt-core has the policy that sets the second header
(``AsyncAuxiliaryAuthenticationPolicy``: it asks each auxiliary credential for a token and joins
them); the generated clients take it as a ``per_retry_policies`` entry, so every retry carries
fresh tokens. ``LinkedSession`` is an ``AzureSession`` signed in to B (the second sign-in) whose
clients add that policy with A's credential.

In sandbox mode the second sign-in is the sandbox's: a fixed token that names the tenant (the
sandbox's seed, gui/sandbox/seed, reads the same prefix), sent like the first one only to
loopback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.pipeline import PipelineRequest
from azure.mgmt.core.policies import AsyncAuxiliaryAuthenticationPolicy

from gui.azure.account.loopback import AsyncStaticTokenCredential, LoopbackBearerPolicy
from gui.azure.account.session import AzureSession
from gui.azure.errors import InsecureEndpointError
from gui.transfer.tls import InsecureTransportError, MalformedUrlError, require_tls

#: A sandbox token for another tenant is this prefix and the tenant's id (not a secret: the
#: sandbox is offline and accepts any token for its own tenant).
SANDBOX_TENANT_TOKEN_PREFIX = "sandbox-token-for-tenant-"


class AuxiliaryTokenPolicy(AsyncAuxiliaryAuthenticationPolicy):
    """azure-mgmt-core's auxiliary-token policy under the app's TLS rule: https://, or plain
    http:// to loopback only (the sandbox), where the SDK's own rule refuses any http://."""

    @staticmethod
    def _enforce_https(request: PipelineRequest[Any]) -> None:
        try:
            require_tls(request.http_request.url, "The Azure Resource Manager endpoint")
        except (InsecureTransportError, MalformedUrlError) as exc:
            raise InsecureEndpointError(str(exc)) from exc


class TenantCredential(AsyncTokenCredential):
    """A credential that asks for tokens of one tenant (the sign-in chain's credentials take
    ``tenant_id``: the Azure CLI for a tenant it signed in to, a multi-tenant app's secret)."""

    def __init__(self, credential: AsyncTokenCredential, tenant_id: str) -> None:
        self._credential = credential
        self.tenant_id = tenant_id

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return await self._credential.get_token(
            *scopes, claims=claims, tenant_id=self.tenant_id, enable_cae=enable_cae, **kwargs
        )

    async def close(self) -> None:
        return None  # the wrapped credential belongs to its session, which closes it

    async def __aexit__(self, *args: object) -> None:
        await self.close()


@dataclass
class LinkedSession(AzureSession):
    """A session signed in to ``tenant_id`` whose requests also carry tokens of the tenants of
    ``auxiliary`` (the credentials of the sessions whose resources they link to). Closing it
    leaves the auxiliary credentials to their own sessions."""

    tenant_id: str = ""
    auxiliary: tuple[AsyncTokenCredential, ...] = ()
    sandbox_token: str | None = None

    def _options(self) -> dict[str, Any]:
        options = super()._options()
        if self.sandbox_token is not None:
            options["authentication_policy"] = LoopbackBearerPolicy(self.sandbox_token)
        if self.auxiliary:
            options["per_retry_policies"] = [
                AuxiliaryTokenPolicy(list(self.auxiliary), self.cloud.arm_scope)
            ]
        return options


def linked_session(
    source: AzureSession,
    tenant_id: str,
    credential: AsyncTokenCredential | None = None,
    *,
    account: str = "",
) -> LinkedSession:
    """The session for the other tenant ``tenant_id``: signed in with ``credential`` (the second
    sign-in; in sandbox mode the sandbox's token for that tenant), carrying ``source``'s token
    as the auxiliary one."""
    auxiliary: Sequence[AsyncTokenCredential] = (source.credential,)
    if source.is_sandbox:
        token = SANDBOX_TENANT_TOKEN_PREFIX + tenant_id.lower()
        return LinkedSession(
            credential=AsyncStaticTokenCredential(token),
            account=account or f"Sandbox tenant {tenant_id}",
            sandbox_url=source.sandbox_url,
            tenant_id=tenant_id,
            auxiliary=tuple(auxiliary),
            sandbox_token=token,
        )
    if credential is None:
        credential = TenantCredential(source.credential, tenant_id)
    return LinkedSession(
        credential=credential,
        account=account or f"{source.account} (tenant {tenant_id})",
        cloud=source.cloud,
        tenant_id=tenant_id,
        auxiliary=tuple(auxiliary),
    )

"""The seeded world of the sandbox: tenant, subscriptions and the resources they start with."""

from __future__ import annotations

SANDBOX_TENANT_ID = "3b9c6e1a-5d24-4f8b-a7c0-9e1d2f4b6a83"
# The signed-in principal (used in AuthorizationFailed messages, as Azure names the caller).
SANDBOX_PRINCIPAL_ID = "5f0e2c7b-91d4-4a3e-8c6f-2b7d9e1a4c05"

PRODUCTION_SUBSCRIPTION_ID = "8d5f2b7e-3c41-4a8e-9b0f-6e2d1c7a9f35"
DEVTEST_SUBSCRIPTION_ID = "1f0c9a3d-7b62-4e15-8a4d-2c9e5b7f0d18"

# (subscription id, display name)
SANDBOX_SUBSCRIPTIONS: tuple[tuple[str, str], ...] = (
    (PRODUCTION_SUBSCRIPTION_ID, "Contoso Production"),
    (DEVTEST_SUBSCRIPTION_ID, "Contoso Dev/Test"),
)

# A second tenant (another organisation) with a subscription of its own and a gallery, for
# copies across tenants. Its subscription is not listed for the signed-in tenant (GET
# /subscriptions answers the token's tenant only, as Azure does); a request to it must carry
# that tenant's token, and a request that links resources of both tenants must carry the other
# tenant's token in x-ms-authorization-auxiliary.
PARTNER_TENANT_ID = "9e4a1c7d-2b58-4f03-b6e9-71d2c5a8f0b4"
PARTNER_SUBSCRIPTION_ID = "c2a7e5d1-8f36-4b9c-a0e4-5d1b7f2c9e68"
PARTNER_SUBSCRIPTIONS: tuple[tuple[str, str], ...] = (
    (PARTNER_SUBSCRIPTION_ID, "Fabrikam Images"),
)

# The sandbox accepts any bearer token as the signed-in tenant's. A token naming a tenant,
# "<prefix><tenant id>", is that tenant's: what a second sign-in to another tenant hands out
# in sandbox mode (gui/azure/copy/tenants.py writes the same prefix; neither layer may import
# the other, and tests/sandbox/test_copy_gallery.py holds them to the same text).
TENANT_TOKEN_PREFIX = "sandbox-token-for-tenant-"


def tenant_of_subscription(subscription_id: str) -> str:
    """The tenant a seeded subscription belongs to (the signed-in tenant for any other)."""
    for known, _ in PARTNER_SUBSCRIPTIONS:
        if known.lower() == subscription_id.lower():
            return PARTNER_TENANT_ID
    return SANDBOX_TENANT_ID


def tenant_of_token(token: str) -> str:
    """The tenant a sandbox bearer token was issued for."""
    token = token.strip()
    if token.startswith(TENANT_TOKEN_PREFIX):
        return token[len(TENANT_TOKEN_PREFIX) :].lower()
    return SANDBOX_TENANT_ID


__all__ = [
    "DEVTEST_SUBSCRIPTION_ID",
    "PARTNER_SUBSCRIPTIONS",
    "PARTNER_SUBSCRIPTION_ID",
    "PARTNER_TENANT_ID",
    "PRODUCTION_SUBSCRIPTION_ID",
    "SANDBOX_PRINCIPAL_ID",
    "SANDBOX_SUBSCRIPTIONS",
    "SANDBOX_TENANT_ID",
    "TENANT_TOKEN_PREFIX",
    "tenant_of_subscription",
    "tenant_of_token",
]

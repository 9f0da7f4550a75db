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

__all__ = [
    "DEVTEST_SUBSCRIPTION_ID",
    "PRODUCTION_SUBSCRIPTION_ID",
    "SANDBOX_PRINCIPAL_ID",
    "SANDBOX_SUBSCRIPTIONS",
    "SANDBOX_TENANT_ID",
]

"""Where the seeded storage accounts live in ARM (the blob endpoint holds their data)."""

from __future__ import annotations

from gui.sandbox.seed import DEVTEST_SUBSCRIPTION_ID, PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import (
    RG_DEVTEST,
    RG_IMAGES,
    STORAGE_ACCOUNT_DEVTEST,
    STORAGE_ACCOUNT_PROD,
)

# account -> (subscription id, resource group, region)
STORAGE_ACCOUNT_HOMES: dict[str, tuple[str, str, str]] = {
    STORAGE_ACCOUNT_PROD: (PRODUCTION_SUBSCRIPTION_ID, RG_IMAGES, "westeurope"),
    STORAGE_ACCOUNT_DEVTEST: (DEVTEST_SUBSCRIPTION_ID, RG_DEVTEST, "eastus"),
}

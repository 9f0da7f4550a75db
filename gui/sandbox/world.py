"""Everything the request handlers share: the persisted resources, settings and counters."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gui.sandbox.blob.store import BlobStore
from gui.sandbox.errors import resource_group_not_found, subscription_not_found
from gui.sandbox.faults import Faults
from gui.sandbox.seed import PARTNER_SUBSCRIPTIONS, SANDBOX_SUBSCRIPTIONS
from gui.sandbox.seed.storage import seed_page_blobs
from gui.sandbox.seed.world import STORAGE_ACCOUNTS, initial_resources, rg_id
from gui.sandbox.store import ResourceStore

if TYPE_CHECKING:
    from gui.sandbox.arm.lro import Operation

Json = dict[str, Any]

DEFAULT_PAGE_SIZE = 100
_BLOB_FLUSH_DELAY_S = 0.5


@dataclass
class World:
    state_dir: Path
    store: ResourceStore
    blobs: BlobStore
    faults: Faults = field(default_factory=Faults)
    page_size: int = DEFAULT_PAGE_SIZE
    arm_url: str = ""
    blob_url: str = ""
    catalog_url: str = ""  # the Marketplace Catalog data plane (catalogapi.azure.com's stand-in)
    request_count: int = 0
    # How long simulated operations take (seconds) and the polling interval the server suggests.
    lro_seconds: float = 0.3
    lro_poll_seconds: float = 0.1
    replication_seconds_per_region: float = 2.0
    operations: dict[str, Operation] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None
    _flush_pending: bool = False

    @classmethod
    def open(cls, state_dir: Path, *, reset: bool) -> World:
        state_dir.mkdir(parents=True, exist_ok=True)
        store = ResourceStore(state_dir, initial_resources, reset=reset)
        blobs = BlobStore(state_dir / "blob", reset=reset)
        for account, containers in STORAGE_ACCOUNTS.items():
            blobs.ensure_account(account)
            for container in containers:
                blobs.create_container(account, container)
        seed_page_blobs(blobs)
        return cls(state_dir=state_dir, store=store, blobs=blobs)

    def require_subscription(self, subscription_id: str) -> str:
        for known, _ in (*SANDBOX_SUBSCRIPTIONS, *PARTNER_SUBSCRIPTIONS):
            if known.lower() == subscription_id.lower():
                return known
        raise subscription_not_found(subscription_id)

    def require_resource_group(self, subscription_id: str, resource_group: str) -> Json:
        subscription_id = self.require_subscription(subscription_id)
        group = self.store.get(rg_id(subscription_id, resource_group))
        if group is None:
            raise resource_group_not_found(resource_group)
        return group

    def schedule_blob_flush(self) -> None:
        """Write blob metadata back shortly (called on the server loop after page writes)."""
        if self._flush_pending or self.loop is None:
            return
        self._flush_pending = True

        def flush() -> None:
            self._flush_pending = False
            self.blobs.flush()

        self.loop.call_later(_BLOB_FLUSH_DELAY_S, flush)


def public(resource: Json) -> Json:
    """The resource as ARM shows it: bookkeeping keys (leading underscore) removed."""
    return {k: v for k, v in resource.items() if not k.startswith("_")}

"""Everything the request handlers share: the persisted resources, settings and counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gui.sandbox.errors import resource_group_not_found, subscription_not_found
from gui.sandbox.faults import Faults
from gui.sandbox.seed import SANDBOX_SUBSCRIPTIONS
from gui.sandbox.seed.world import initial_resources, rg_id
from gui.sandbox.store import ResourceStore

Json = dict[str, Any]

DEFAULT_PAGE_SIZE = 100


@dataclass
class World:
    state_dir: Path
    store: ResourceStore
    faults: Faults = field(default_factory=Faults)
    page_size: int = DEFAULT_PAGE_SIZE
    arm_url: str = ""
    blob_url: str = ""
    request_count: int = 0

    @classmethod
    def open(cls, state_dir: Path, *, reset: bool) -> World:
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            state_dir=state_dir, store=ResourceStore(state_dir, initial_resources, reset=reset)
        )

    def require_subscription(self, subscription_id: str) -> str:
        for known, _ in SANDBOX_SUBSCRIPTIONS:
            if known.lower() == subscription_id.lower():
                return known
        raise subscription_not_found(subscription_id)

    def require_resource_group(self, subscription_id: str, resource_group: str) -> Json:
        subscription_id = self.require_subscription(subscription_id)
        group = self.store.get(rg_id(subscription_id, resource_group))
        if group is None:
            raise resource_group_not_found(resource_group)
        return group


def public(resource: Json) -> Json:
    """The resource as ARM shows it: bookkeeping keys (leading underscore) removed."""
    return {k: v for k, v in resource.items() if not k.startswith("_")}

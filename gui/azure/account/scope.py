"""Subscriptions and locations the signed-in account can use."""

from __future__ import annotations

from dataclasses import dataclass

from gui.azure.account.session import AzureSession
from gui.azure.arm import enum_text
from gui.azure.errors import translated


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    display_name: str
    tenant_id: str
    state: str

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.subscription_id[:8]}…)"


@dataclass(frozen=True)
class Location:
    name: str
    display_name: str
    group: str = ""


async def list_subscriptions(session: AzureSession) -> list[Subscription]:
    with translated():
        items = [item async for item in session.subscriptions().subscriptions.list()]
    subscriptions = [
        Subscription(
            subscription_id=item.subscription_id or "",
            display_name=item.display_name or item.subscription_id or "",
            tenant_id=item.tenant_id or "",
            state=enum_text(item.state),
        )
        for item in items
        if item.subscription_id
    ]
    return sorted(subscriptions, key=lambda sub: sub.display_name.casefold())


async def list_locations(session: AzureSession, subscription_id: str) -> list[Location]:
    client = session.subscriptions()
    with translated():
        items = [item async for item in client.subscriptions.list_locations(subscription_id)]
    locations = []
    for item in items:
        if not item.name:
            continue
        metadata = item.metadata
        kind = str(getattr(metadata, "region_type", "") or "") if metadata is not None else ""
        if kind.casefold() == "logical":  # "global", "europe": not places to put images
            continue
        group = str(getattr(metadata, "geography_group", "") or "") if metadata else ""
        locations.append(Location(item.name, item.display_name or item.name, group))
    return sorted(locations, key=lambda loc: (loc.group, loc.display_name))

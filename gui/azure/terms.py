"""Marketplace terms: whether a plan's terms are accepted in a subscription; accept or cancel.

A Marketplace image with a purchase plan (most third-party images: Red Hat BYOS, SQL, firewalls)
makes VMs only in a subscription that accepted the plan's terms; Azure refuses the VM otherwise,
after the user has filled in everything. So the app shows the state next to the image and
accepts the terms where the user asks, through Azure's Marketplace Ordering API (what `az vm
image terms accept` calls): read the current terms, put them back with ``accepted`` set, with
the signature they were read with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gui.azure.catalog.nodes import PurchasePlan
from gui.azure.errors import translated

OFFER_TYPE = "virtualmachine"  # the only offer type the API knows


@dataclass(frozen=True)
class TermsState:
    plan: PurchasePlan
    accepted: bool
    license_link: str
    privacy_link: str
    marketplace_terms_link: str
    # when the terms were accepted (Azure fills it in when they are); None when they are not
    accepted_at: datetime | None

    @classmethod
    def from_sdk(cls, plan: PurchasePlan, terms: Any) -> TermsState:
        accepted = bool(terms.accepted)
        return cls(
            plan=plan,
            accepted=accepted,
            license_link=terms.license_text_link or "",
            privacy_link=terms.privacy_policy_link or "",
            marketplace_terms_link=terms.marketplace_terms_link or "",
            accepted_at=_date_time(terms.retrieve_datetime) if accepted else None,
        )


def _date_time(value: object) -> datetime | None:
    """The SDK types retrieveDatetime as a plain string (the spec says date-time)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class MarketplaceTerms:
    """The terms of plans in one subscription (``session`` is an AzureSession)."""

    def __init__(self, session: Any, subscription_id: str) -> None:
        self._session = session
        self._subscription_id = subscription_id

    def _ordering(self) -> Any:
        return self._session.marketplace_ordering(self._subscription_id)

    async def state(self, plan: PurchasePlan) -> TermsState:
        with translated():
            terms = await self._ordering().marketplace_agreements.get(
                OFFER_TYPE, plan.publisher, plan.product, plan.name
            )
        return TermsState.from_sdk(plan, terms)

    async def accept(self, plan: PurchasePlan) -> TermsState:
        """Accepts the terms as Azure shows them now (their signature goes back with them)."""
        with translated():
            terms = await self._ordering().marketplace_agreements.get(
                OFFER_TYPE, plan.publisher, plan.product, plan.name
            )
            if terms.accepted:
                return TermsState.from_sdk(plan, terms)
            terms.accepted = True
            done = await self._ordering().marketplace_agreements.create(
                OFFER_TYPE, plan.publisher, plan.product, plan.name, terms
            )
        return TermsState.from_sdk(plan, done)

    async def cancel(self, plan: PurchasePlan) -> TermsState:
        """Withdraws the acceptance: new VMs from the plan are refused; running ones keep
        running (Azure checks the terms when a VM is created)."""
        with translated():
            await self._ordering().marketplace_agreements.cancel(
                plan.publisher, plan.product, plan.name
            )
        # The SDK reads the answer as the old agreement model (signDate, state), not the terms
        # the spec says it returns: read the terms again for the state the window shows.
        return await self.state(plan)

"""The VM sizes of a region that run an image, from the Resource SKUs API.

A size runs an image when it boots the image's Hyper-V generation (capability
``HyperVGenerations``), has its CPU architecture (``CpuArchitectureType``) and offers the security
type chosen: Trusted launch unless ``TrustedLaunchDisabled``, a Confidential VM only on a size
with ``ConfidentialComputingType`` (and those sizes take nothing else). Sizes restricted for the
subscription in the region (``restrictions`` of type Location) are left out.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from azure.core.rest import HttpRequest

from gui.azure.errors import translated
from gui.azure.vm_create.image import ImageNeeds, SecurityType


@dataclass(frozen=True)
class VmSize:
    name: str
    vcpus: int
    memory_gb: float
    generations: tuple[str, ...]
    architecture: str
    trusted_launch: bool
    confidential: bool

    def runs(self, needs: ImageNeeds, security: SecurityType) -> bool:
        if needs.generation not in self.generations:
            return False
        if needs.architecture.casefold() != self.architecture.casefold():
            return False
        if security is SecurityType.CONFIDENTIAL:
            return self.confidential
        if self.confidential:
            return False
        return self.trusted_launch or security is not SecurityType.TRUSTED_LAUNCH


def _capabilities(sku: dict[str, Any]) -> dict[str, str]:
    return {
        str(c["name"]): str(c.get("value"))
        for c in sku.get("capabilities") or []
        if isinstance(c, dict) and c.get("name")
    }


def _restricted(sku: dict[str, Any], location: str) -> bool:
    for restriction in sku.get("restrictions") or []:
        info = restriction.get("restrictionInfo")
        places = [str(loc).casefold() for loc in (info or {}).get("locations") or []]
        if str(restriction.get("type")).casefold().endswith("location") and (
            info is None or location.casefold() in places
        ):
            return True
    return False


def size_from_sku(sku: dict[str, Any]) -> VmSize:
    """A VM size from a Resource SKU as Azure answers it (the REST shape)."""
    caps = _capabilities(sku)

    def number(name: str) -> float:
        try:
            return float(caps.get(name, "0"))
        except ValueError:
            return 0.0

    return VmSize(
        name=str(sku.get("name")),
        vcpus=int(number("vCPUs")),
        memory_gb=number("MemoryGB"),
        # Azure leaves HyperVGenerations out for old sizes: they boot Gen1 only.
        generations=tuple(
            g.strip().upper() for g in caps.get("HyperVGenerations", "V1").split(",")
        ),
        architecture=caps.get("CpuArchitectureType", "x64"),
        trusted_launch=caps.get("TrustedLaunchDisabled", "False").casefold() != "true",
        confidential=bool(caps.get("ConfidentialComputingType")),
    )


def _sizes_of_page(body: bytes, location: str) -> tuple[list[VmSize], str | None]:
    """One page of Resource SKUs: the region's VM sizes and the next page's link. Run on a
    worker thread: a region lists thousands of SKUs, and reading them as SDK models took the
    GUI loop for tens of milliseconds at a time."""
    page = json.loads(body)
    sizes = [
        size_from_sku(sku)
        for sku in page.get("value") or []
        if str(sku.get("resourceType")).casefold() == "virtualmachines"
        and not _restricted(sku, location)
    ]
    return sizes, page.get("nextLink") or None


async def region_sizes(compute: Any, subscription_id: str, location: str) -> list[VmSize]:
    """Every VM size offered in ``location`` to the subscription, by name.

    Sent through the SDK client's own pipeline and request builder (same URL, api-version,
    auth, retries); the answer is read on a worker thread, not as SDK models on the GUI loop."""
    # Imported here: the VM room's actions are registered at start-up, and the SDK's request
    # builders (48,000 lines) are loaded on a worker thread before the first connect.
    from azure.mgmt.compute.operations._operations import build_resource_skus_list_request

    sizes: list[VmSize] = []
    next_link: str | None = None
    with translated():
        while True:
            request: HttpRequest = build_resource_skus_list_request(
                subscription_id=subscription_id, filter=f"location eq '{location}'"
            )
            if next_link:
                request.url = next_link  # the next page: Azure's link holds the whole query
            response = await compute.send_request(request)
            response.raise_for_status()
            found, next_link = await asyncio.to_thread(_sizes_of_page, response.content, location)
            sizes.extend(found)
            if not next_link:
                break
    return sorted(sizes, key=lambda s: (s.vcpus, s.memory_gb, s.name))


def sizes_for(sizes: list[VmSize], needs: ImageNeeds, security: SecurityType) -> list[VmSize]:
    return [size for size in sizes if size.runs(needs, security)]

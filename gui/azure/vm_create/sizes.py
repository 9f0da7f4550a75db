"""The VM sizes of a region that run an image, from the Resource SKUs API.

A size runs an image when it boots the image's Hyper-V generation (capability
``HyperVGenerations``), has its CPU architecture (``CpuArchitectureType``) and offers the security
type chosen: Trusted launch unless ``TrustedLaunchDisabled``, a Confidential VM only on a size
with ``ConfidentialComputingType`` (and those sizes take nothing else). Sizes restricted for the
subscription in the region (``restrictions`` of type Location) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def _capabilities(sku: Any) -> dict[str, str]:
    return {str(c.name): str(c.value) for c in (sku.capabilities or []) if c.name}


def _restricted(sku: Any, location: str) -> bool:
    for restriction in sku.restrictions or []:
        info = restriction.restriction_info
        if str(restriction.type).casefold().endswith("location") and (
            info is None
            or any(loc.casefold() == location.casefold() for loc in (info.locations or []))
        ):
            return True
    return False


def size_from_sku(sku: Any) -> VmSize:
    caps = _capabilities(sku)

    def number(name: str) -> float:
        try:
            return float(caps.get(name, "0"))
        except ValueError:
            return 0.0

    return VmSize(
        name=str(sku.name),
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


async def region_sizes(compute: Any, location: str) -> list[VmSize]:
    """Every VM size offered in ``location`` to the subscription, by name."""
    sizes: list[VmSize] = []
    with translated():
        async for sku in compute.resource_skus.list(filter=f"location eq '{location}'"):
            if str(sku.resource_type).casefold() != "virtualmachines":
                continue
            if _restricted(sku, location):
                continue
            sizes.append(size_from_sku(sku))
    return sorted(sizes, key=lambda s: (s.vcpus, s.memory_gb, s.name))


def sizes_for(sizes: list[VmSize], needs: ImageNeeds, security: SecurityType) -> list[VmSize]:
    return [size for size in sizes if size.runs(needs, security)]

"""VM sizes the sandbox sells, as the Resource SKUs API lists them (``Microsoft.Compute/skus``).

A dozen sizes chosen for what they teach about an image: x64 sizes that run both Hyper-V
generations, older ones that run only Gen1 (A-series v2, classic D), Ampere Arm64 sizes (Gen2
only), sizes without Trusted launch (M-series, GPU NC-series v3: ``TrustedLaunchDisabled``) and
an AMD SEV-SNP confidential size (``ConfidentialComputingType``: Confidential VMs only). The
capability names and value spellings are Azure's (``az vm list-skus --location westeurope``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gui.sandbox.seed.regions import REGIONS

Json = dict[str, Any]


@dataclass(frozen=True)
class SizeSpec:
    name: str
    family: str
    vcpus: int
    memory_gb: float
    generations: str = "V1,V2"  # HyperVGenerations, as Azure spells it
    architecture: str = "x64"  # CpuArchitectureType
    trusted_launch_disabled: bool = False
    confidential: str | None = None  # ConfidentialComputingType ("SNP", "TDX")
    premium_io: bool = True

    @property
    def size(self) -> str:
        return self.name.removeprefix("Standard_")


SIZES: tuple[SizeSpec, ...] = (
    SizeSpec("Standard_B2s", "standardBSFamily", 2, 4),
    SizeSpec("Standard_B2ms", "standardBSFamily", 2, 8),
    SizeSpec("Standard_D2s_v5", "standardDSv5Family", 2, 8),
    SizeSpec("Standard_D4s_v5", "standardDSv5Family", 4, 16),
    SizeSpec("Standard_E2s_v5", "standardESv5Family", 2, 16),
    SizeSpec("Standard_F2s_v2", "standardFSv2Family", 2, 4),
    # Gen1 only: the older families that never got UEFI firmware.
    SizeSpec("Standard_A2_v2", "standardAv2Family", 2, 4, generations="V1", premium_io=False),
    SizeSpec("Standard_A4_v2", "standardAv2Family", 4, 8, generations="V1", premium_io=False),
    SizeSpec("Standard_D1_v2", "standardDv2Family", 1, 3.5, premium_io=False),
    # Ampere Altra: Arm64, Gen2 only.
    SizeSpec("Standard_D2ps_v5", "standardDPSv5Family", 2, 8, generations="V2",
             architecture="Arm64"),
    SizeSpec("Standard_D4ps_v5", "standardDPSv5Family", 4, 16, generations="V2",
             architecture="Arm64"),
    # No Trusted launch on these (Azure's list of sizes that do not support it).
    SizeSpec("Standard_M8ms", "standardMSFamily", 8, 218.75, trusted_launch_disabled=True),
    SizeSpec("Standard_NC6s_v3", "standardNCSv3Family", 6, 112, trusted_launch_disabled=True),
    # AMD SEV-SNP: Confidential VMs only, Gen2 only.
    SizeSpec("Standard_DC2as_v5", "standardDCASv5Family", 2, 8, generations="V2",
             confidential="SNP"),
)  # fmt: skip

SIZES_BY_NAME = {size.name.lower(): size for size in SIZES}


def find_size(name: str) -> SizeSpec | None:
    return SIZES_BY_NAME.get(name.lower())


def _capabilities(size: SizeSpec) -> list[Json]:
    caps: list[tuple[str, str]] = [
        ("MaxResourceVolumeMB", "0"),
        ("OSVhdSizeMB", "1047552"),
        ("vCPUs", str(size.vcpus)),
        ("MemoryGB", f"{size.memory_gb:g}"),
        ("MaxDataDiskCount", str(max(4, size.vcpus * 2))),
        ("HyperVGenerations", size.generations),
        ("CpuArchitectureType", size.architecture),
        ("PremiumIO", str(size.premium_io)),
        ("AcceleratedNetworkingEnabled", "True"),
        ("vCPUsAvailable", str(size.vcpus)),
    ]
    if size.trusted_launch_disabled:
        caps.append(("TrustedLaunchDisabled", "True"))
    if size.confidential:
        caps.append(("ConfidentialComputingType", size.confidential))
    return [{"name": name, "value": value} for name, value in caps]


def sku_json(size: SizeSpec, location: str) -> Json:
    """One ResourceSku of a VM size in one region (one location per entry, as Azure lists them
    when the request filters by location)."""
    return {
        "resourceType": "virtualMachines",
        "name": size.name,
        "tier": "Standard",
        "size": size.size,
        "family": size.family,
        "locations": [location],
        "locationInfo": [
            {
                "location": location,
                "zones": ["1", "2", "3"],
                # Ultra disks are offered in one zone of the region, as Azure lists it.
                "zoneDetails": [
                    {
                        "name": ["2"],
                        "capabilities": [{"name": "UltraSSDAvailable", "value": "True"}],
                    }
                ],
            }
        ],
        "capabilities": _capabilities(size),
        "restrictions": [],
    }


def skus_in(location: str | None) -> list[Json]:
    """Every size in ``location`` (every region's when None)."""
    names = [r.name for r in REGIONS] if location is None else [location]
    return [sku_json(size, name) for name in names for size in SIZES]

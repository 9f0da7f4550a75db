"""The Marketplace Catalog's products, made from the same seed as ARM's VM-image routes.

One product per Marketplace offer (``uniqueProductId`` = ``publisher.offer``, lower case, as the
real catalogue spells them), one plan per SKU (``planId`` = the SKU's name): so a plan's URN is
``publisherId:offerId:planId`` and ARM's ``.../publishers/{p}/.../offers/{o}/skus/{s}/versions``
lists its versions. The well-known offers carry the display names, summaries and pricing the
portal shows for them; the thousands of filler publishers get plausible generated text. A few
non-VM products (SaaS, Azure applications, containers) are there so that a client that forgets to
ask for VM products only sees what it would see on Azure.

What the Catalog's 2025-05-01 models cannot say per plan is taken from the SKU: generation and
architecture (``vmArchitectureType``), security types, pricing, deprecation (``isStopSell`` and
``stopSellInfo``, from the SKU's ``imageDeprecationStatus``). Whether an image needs a purchase
plan is ARM's to say (the image's ``plan``); the catalogue's product-level ``isCoreVm`` ("a
Windows or endorsed Linux image", which carries no plan) is true only where no SKU needs one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache

from gui.sandbox.seed.filler import filler_publisher
from gui.sandbox.seed.marketplace import publisher_names
from gui.sandbox.seed.regions import MARKETPLACE_REGIONS
from gui.sandbox.seed.wellknown import CVM, TL, TL_CVM, WELL_KNOWN, Deprecation, Offer, Sku

MICROSOFT = "Microsoft"
THIRD_PARTY = "ThirdParty"
VIRTUAL_MACHINE = "VirtualMachine"


@dataclass(frozen=True)
class CatalogPlan:
    plan_id: str  # the SKU's name: the third part of the URN
    display_name: str
    architecture: str  # vmArchitectureType: "X64Gen1" | "X64Gen2" | "Arm64"
    generation: str  # "Gen1" | "Gen2"
    security_types: tuple[str, ...]  # "None" | "Trusted" | "Confidential"
    pricing: tuple[str, ...]  # "Free" | "Payg" | "Byol"
    os_value: str  # "linux.ubuntu", "windows.windowsserver2022"... (the spec's vocabulary)
    summary: str
    rank: int  # displayRank: the portal's order, 1 first
    purchase_plan: bool
    deprecation: Deprecation | None
    plan_type: str = VIRTUAL_MACHINE

    @property
    def stop_sold(self) -> bool:
        # Still sold while only scheduled for deprecation, as ARM still lists the image.
        return self.deprecation is not None and self.deprecation.state == "Deprecated"


@dataclass(frozen=True)
class CatalogProduct:
    unique_id: str  # "canonical.ubuntu-24_04-lts"
    product_id: str  # the commercial id, e.g. "DZH318Z0BNVK"
    publisher_id: str  # ARM's publisher name, exactly
    publisher_display_name: str
    publisher_type: str  # "Microsoft" | "ThirdParty"
    offer_id: str  # ARM's offer name, exactly
    display_name: str
    summary: str
    description: str
    plans: tuple[CatalogPlan, ...]
    locations: tuple[str, ...]
    popularity: float
    rating_average: float
    rating_count: int
    last_modified: str
    product_type: str = VIRTUAL_MACHINE

    @property
    def operating_systems(self) -> tuple[str, ...]:
        return tuple(sorted({p.os_value for p in self.plans if p.os_value}))

    @property
    def pricing(self) -> tuple[str, ...]:
        return tuple(sorted({t for p in self.plans for t in p.pricing}))

    @property
    def is_core_vm(self) -> bool:
        return self.product_type == VIRTUAL_MACHINE and not any(p.purchase_plan for p in self.plans)


# ---- the well-known offers as the portal shows them -----------------------------------------

_PUBLISHERS: dict[str, tuple[str, str]] = {
    "Canonical": ("Canonical", THIRD_PARTY),
    "MicrosoftWindowsServer": ("Microsoft", MICROSOFT),
    "MicrosoftWindowsDesktop": ("Microsoft", MICROSOFT),
    "MicrosoftSQLServer": ("Microsoft", MICROSOFT),
    "RedHat": ("Red Hat", THIRD_PARTY),
    "SUSE": ("SUSE", THIRD_PARTY),
    "Debian": ("Debian", THIRD_PARTY),
    "OpenLogic": ("OpenLogic", THIRD_PARTY),
    "Oracle": ("Oracle", THIRD_PARTY),
    "almalinux": ("AlmaLinux OS Foundation", THIRD_PARTY),
    "kinvolk": ("Kinvolk", THIRD_PARTY),
    "MicrosoftCBLMariner": ("Microsoft", MICROSOFT),
    "MicrosoftVisualStudio": ("Microsoft", MICROSOFT),
    "microsoft-dsvm": ("Microsoft", MICROSOFT),
    "resf": ("Rocky Enterprise Software Foundation", THIRD_PARTY),
    "bitnami": ("Bitnami by VMware", THIRD_PARTY),
    "center-for-internet-security-inc": ("Center for Internet Security", THIRD_PARTY),
    "fortinet": ("Fortinet", THIRD_PARTY),
    "paloaltonetworks": ("Palo Alto Networks, Inc.", THIRD_PARTY),
    "checkpoint": ("Check Point Software Technologies", THIRD_PARTY),
    "cisco": ("Cisco Systems, Inc.", THIRD_PARTY),
    "MicrosoftWindowsServerHPCPack": ("Microsoft", MICROSOFT),
}

# (publisher, offer) -> display name, summary, OS value, default pricing of its plans
# fmt: off
_OFFERS: dict[tuple[str, str], tuple[str, str, str, str]] = {
    ("Canonical", "0001-com-ubuntu-server-jammy"): (
        "Ubuntu Server 22.04 LTS", "Ubuntu 22.04 LTS (Jammy Jellyfish) for x64 and Arm64, with "
        "security updates until 2027.", "linux.ubuntu", "Free"),
    ("Canonical", "ubuntu-24_04-lts"): (
        "Ubuntu Server 24.04 LTS", "Ubuntu 24.04 LTS (Noble Numbat): server, minimal, Pro and "
        "confidential images for x64 and Arm64.", "linux.ubuntu", "Free"),
    ("Canonical", "0001-com-ubuntu-server-focal"): (
        "Ubuntu Server 20.04 LTS", "Ubuntu 20.04 LTS (Focal Fossa) for x64 and Arm64.",
        "linux.ubuntu", "Free"),
    ("Canonical", "0001-com-ubuntu-confidential-vm-jammy"): (
        "Ubuntu 22.04 LTS Confidential VM", "Ubuntu for confidential VMs with AMD SEV-SNP.",
        "linux.ubuntu", "Free"),
    ("Canonical", "0001-com-ubuntu-pro-jammy"): (
        "Ubuntu Pro 22.04 LTS", "Ubuntu with expanded security maintenance and compliance "
        "tooling.", "linux.ubuntu", "Payg"),
    ("Canonical", "UbuntuServer"): (
        "Ubuntu Server 18.04 LTS", "Ubuntu 18.04 LTS (Bionic Beaver), past its standard "
        "support.", "linux.ubuntu", "Free"),
    ("MicrosoftWindowsServer", "WindowsServer"): (
        "Windows Server", "Windows Server 2025 Datacenter, Windows Server 2022 Datacenter, "
        "2019, 2016 and 2012 R2, with Azure Edition and Server Core.", "", "Payg"),
    ("MicrosoftWindowsServer", "windows-cvm"): (
        "Windows Server Confidential VM", "Windows Server Datacenter for confidential VMs.",
        "", "Payg"),
    ("MicrosoftWindowsDesktop", "windows-11"): (
        "Windows 11", "Windows 11 Enterprise, Pro and multi-session for Azure Virtual "
        "Desktop.", "windows.others", "Byol"),
    ("MicrosoftWindowsDesktop", "windows-10"): (
        "Windows 10", "Windows 10 Enterprise and Pro 22H2.", "windows.others", "Byol"),
    ("MicrosoftWindowsDesktop", "office-365"): (
        "Windows 11 Enterprise multi-session + Microsoft 365 Apps", "Azure Virtual Desktop "
        "images with Microsoft 365 Apps installed.", "windows.others", "Byol"),
    ("MicrosoftSQLServer", "sql2022-ws2022"): (
        "SQL Server 2022 on Windows Server 2022", "SQL 2022 Enterprise, Standard, Web and "
        "Developer on Windows Server 2022, with data and log disks.",
        "windows.windowsserver2022", "Payg"),
    ("MicrosoftSQLServer", "sql2019-ws2022"): (
        "SQL Server 2019 on Windows Server 2022", "SQL 2019 Enterprise, Standard and "
        "Developer, with data and log disks.", "windows.windowsserver2022", "Payg"),
    ("MicrosoftSQLServer", "sql2019-ws2019"): (
        "SQL Server 2019 on Windows Server 2019", "SQL 2019 Enterprise, Standard and "
        "Developer, with data and log disks.", "windows.windowsserver2019", "Payg"),
    ("RedHat", "RHEL"): (
        "Red Hat Enterprise Linux", "RHEL 9, 8 and 7 with Red Hat support, billed by the "
        "hour.", "linux.redhat", "Payg"),
    ("RedHat", "rhel-arm64"): (
        "Red Hat Enterprise Linux for Arm64", "RHEL 9 for Ampere Altra Arm64 VMs.",
        "linux.redhat", "Payg"),
    ("RedHat", "rhel-byos"): (
        "Red Hat Enterprise Linux (BYOS)", "Bring your own Red Hat subscription (Cloud "
        "Access).", "linux.redhat", "Byol"),
    ("SUSE", "sles-15-sp6"): (
        "SUSE Linux Enterprise Server 15 SP6", "SLES 15 SP6 with SUSE support, billed by "
        "the hour.", "linux.suse", "Payg"),
    ("SUSE", "sles-15-sp6-arm64"): (
        "SUSE Linux Enterprise Server 15 SP6 for Arm64", "SLES 15 SP6 for Arm64 VMs.",
        "linux.suse", "Payg"),
    ("SUSE", "sles-15-sp5"): (
        "SUSE Linux Enterprise Server 15 SP5", "SLES 15 SP5 with SUSE support.",
        "linux.suse", "Payg"),
    ("SUSE", "sles-sap-15-sp5"): (
        "SUSE Linux Enterprise Server for SAP Applications 15 SP5", "SLES for SAP "
        "workloads with high-availability extensions.", "linux.suse", "Payg"),
    ("SUSE", "sles-15-sp6-byos"): (
        "SUSE Linux Enterprise Server 15 SP6 (BYOS)", "Bring your own SUSE subscription.",
        "linux.suse", "Byol"),
    ("Debian", "debian-12"): (
        "Debian 12 \"Bookworm\"", "The official Debian 12 images, for x64 and Arm64.",
        "linux.debian", "Free"),
    ("Debian", "debian-11"): (
        "Debian 11 \"Bullseye\"", "The official Debian 11 images, with backports.",
        "linux.debian", "Free"),
    ("OpenLogic", "CentOS"): (
        "CentOS-based", "CentOS Linux images by OpenLogic (end of life).", "linux.centos",
        "Free"),
    ("OpenLogic", "centos-lvm"): (
        "CentOS-based LVM", "CentOS Linux with LVM partitioning (end of life).",
        "linux.centos", "Free"),
    ("Oracle", "Oracle-Linux"): (
        "Oracle Linux", "Oracle Linux 9, 8 and 7 with the Unbreakable Enterprise Kernel.",
        "linux.others", "Free"),
    ("Oracle", "oracle-database-19-3"): (
        "Oracle Database 19.3", "Oracle Database Enterprise Edition on Oracle Linux; bring "
        "your own licence.", "linux.others", "Byol"),
    ("almalinux", "almalinux-x86_64"): (
        "AlmaLinux OS (x86_64)", "A community enterprise Linux, binary compatible with RHEL.",
        "linux.others", "Free"),
    ("almalinux", "almalinux-arm"): (
        "AlmaLinux OS (Arm64)", "AlmaLinux for Arm64 VMs.", "linux.others", "Free"),
    ("kinvolk", "flatcar-container-linux-free"): (
        "Flatcar Container Linux", "A minimal, immutable Linux for containers, updated "
        "automatically.", "linux.others", "Free"),
    ("kinvolk", "flatcar-container-linux-corevm-amd64"): (
        "Flatcar Container Linux (CoreVM)", "Flatcar for CoreVM deployments.",
        "linux.others", "Free"),
    ("MicrosoftCBLMariner", "azure-linux-3"): (
        "Azure Linux 3.0", "Microsoft's Linux for cloud infrastructure and containers.",
        "linux.others", "Free"),
    ("MicrosoftCBLMariner", "cbl-mariner"): (
        "CBL-Mariner 2.0", "The previous Azure Linux release.", "linux.others", "Free"),
    ("MicrosoftVisualStudio", "visualstudio2022"): (
        "Visual Studio 2022", "Visual Studio 2022 Enterprise and Community on Windows Server "
        "2022.", "windows.windowsserver2022", "Byol"),
    ("microsoft-dsvm", "ubuntu-2204"): (
        "Data Science Virtual Machine - Ubuntu 22.04", "Python, R, Jupyter, PyTorch and GPU "
        "drivers, ready for data science.", "linux.ubuntu", "Free"),
    ("microsoft-dsvm", "dsvm-win-2019"): (
        "Data Science Virtual Machine - Windows Server 2019", "Data science tools on Windows "
        "Server.", "windows.windowsserver2019", "Free"),
    ("resf", "rockylinux-x86_64"): (
        "Rocky Linux (x86_64)", "Official Rocky Linux images from the RESF.", "linux.others",
        "Free"),
    ("bitnami", "wordpress"): (
        "WordPress packaged by Bitnami", "WordPress with Apache, MariaDB and PHP, up to date "
        "and secure.", "linux.others", "Free"),
    ("bitnami", "nginxstack"): (
        "NGINX Open Source packaged by Bitnami", "NGINX web server and reverse proxy.",
        "linux.others", "Free"),
    ("bitnami", "postgresql"): (
        "PostgreSQL packaged by Bitnami", "PostgreSQL database server.", "linux.others",
        "Free"),
    ("center-for-internet-security-inc", "cis-ubuntu-linux-2204-l1"): (
        "CIS Hardened Image Level 1 on Ubuntu Linux Server 22.04 LTS", "Hardened to the CIS "
        "Benchmark; passes its compliance checks out of the box.", "linux.ubuntu", "Payg"),
    ("center-for-internet-security-inc", "cis-windows-server-2022-l1"): (
        "CIS Hardened Image Level 1 on Windows Server 2022", "Hardened to the CIS Benchmark; "
        "passes its compliance checks out of the box.", "windows.windowsserver2022", "Payg"),
    ("fortinet", "fortinet_fortigate-vm_v5"): (
        "Fortinet FortiGate Next-Generation Firewall", "FortiGate NGFW with threat "
        "protection, SD-WAN and VPN.", "linux.others", "Payg"),
    ("paloaltonetworks", "vmseries-flex"): (
        "VM-Series Next-Generation Firewall (Flex)", "Palo Alto Networks firewall with "
        "flexible licensing.", "linux.others", "Byol"),
    ("checkpoint", "check-point-cg-r8120"): (
        "Check Point CloudGuard Network Security R81.20", "Firewall, IPS and threat "
        "prevention for Azure networks.", "linux.others", "Byol"),
    ("cisco", "cisco-c8000v-byol"): (
        "Cisco Catalyst 8000V Edge Software - BYOL", "SD-WAN and routing for Azure.",
        "linux.others", "Byol"),
    ("MicrosoftWindowsServerHPCPack", "WindowsServer2019HPCPack"): (
        "HPC Pack 2019 on Windows Server 2019", "Microsoft HPC Pack cluster head node.",
        "windows.windowsserver2019", "Free"),
}
# fmt: on

# Products the catalogue lists beside VM images: (publisher, id, type, display name, summary).
_NON_VM: tuple[tuple[str, str, str, str, str], ...] = (
    ("Canonical", "ubuntu-pro-saas", "SaaS", "Ubuntu Pro subscription",
     "Ubuntu Pro security and support for machines anywhere, billed through Azure."),
    ("RedHat", "rh-ocp-self-managed", "AzureApplication", "Red Hat OpenShift Container Platform",
     "Self-managed OpenShift clusters deployed into your subscription."),
    ("SUSE", "rancher-prime", "Container", "SUSE Rancher Prime",
     "Kubernetes management for AKS and any other cluster."),
    ("fortinet", "fortigate-cloud-saas", "SaaS", "FortiGate Cloud",
     "Cloud management and analytics for FortiGate firewalls."),
    ("MicrosoftSQLServer", "sql-server-arc", "AzureServices", "SQL Server enabled by Azure Arc",
     "Manage SQL Server 2022 anywhere from Azure."),
)  # fmt: skip

# Plan names that say how the plan is billed, whatever the offer's usual pricing.
_PLAN_PRICING = {"sqldev": "Free", "byos": "Byol", "byol": "Byol", "payg": "Payg", "bundle": "Payg"}


@cache
def _words(text: str) -> str:
    return " ".join(w.capitalize() if w.islower() else w for w in re.split(r"[-_]+", text) if w)


def _architecture(sku: Sku) -> str:
    if sku.architecture.lower() == "arm64":
        return "Arm64"
    return "X64Gen2" if sku.generation == "V2" else "X64Gen1"


_ARCH_LABEL = {"Arm64": "Arm64", "X64Gen2": "x64 Gen2", "X64Gen1": "x64 Gen1"}


def _security(sku: Sku) -> tuple[str, ...]:
    return {
        TL: ("Trusted",),
        TL_CVM: ("Trusted", "Confidential"),
        CVM: ("Confidential",),
    }.get(sku.security or "", ("None",))


def _windows_server_os(sku_name: str) -> str:
    for year in ("2022", "2019", "2016"):
        if sku_name.startswith(year):
            return f"windows.windowsserver{year}"
    if sku_name.startswith("2012-r2"):
        return "windows.windowsserver2012r2"
    return "windows.others"  # 2025: the spec's vocabulary has no value for it yet


def _pricing(sku: Sku, default: str) -> tuple[str, ...]:
    name = sku.name.lower()
    for marker, pricing in _PLAN_PRICING.items():
        if marker in name:
            return (pricing,)
    return (default,)


def _filler_pricing(sku: Sku, seed: str) -> tuple[str, ...]:
    name = sku.name.lower()
    if "byol" in name:
        return ("Byol",)
    if name in ("free", "community"):
        return ("Free",)
    if name in ("payg", "standard", "enterprise", "premium", "pro"):
        return ("Payg",)
    return ("Payg",) if (len(seed) + len(sku.name)) % 3 else ("Free",)


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


_ID_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTVWXZ"


def _product_id(value: int) -> str:
    # Commercial product ids are 12 upper-case letters and digits (e.g. "DZH318Z0BNVK").
    return "".join(_ID_ALPHABET[(value >> (5 * i)) & 31] for i in range(12))


def _plans(
    publisher: str, offer: Offer, os_default: str, pricing_default: str
) -> list[CatalogPlan]:
    plans: list[CatalogPlan] = []
    for rank, sku in enumerate(offer.skus, start=1):
        arch = _architecture(sku)
        if os_default:
            os_value = os_default
        elif sku.os == "Windows":
            os_value = _windows_server_os(sku.name)
        else:
            os_value = "linux.others"
        pricing = (
            _pricing(sku, pricing_default)
            if pricing_default
            else _filler_pricing(sku, f"{publisher}/{offer.name}")
        )
        label = _ARCH_LABEL[arch]
        plans.append(
            CatalogPlan(
                plan_id=sku.name,
                display_name=f"{_words(sku.name)} - {label}",
                architecture=arch,
                generation="Gen2" if sku.generation == "V2" else "Gen1",
                security_types=_security(sku),
                pricing=pricing,
                os_value=os_value,
                summary=f"{_words(sku.name)} ({label}, {sku.os}).",
                rank=rank,
                purchase_plan=sku.plan,
                deprecation=sku.deprecation,
            )
        )
    return plans


def _rating(h: int, well_known: bool) -> tuple[float, int]:
    if well_known:
        return round(3.8 + (h % 12) / 10, 1), 40 + (h >> 4) % 900
    return round(2.5 + (h % 25) / 10, 1), (h >> 4) % 60


def _modified(h: int) -> str:
    return f"2024-{1 + h % 11:02d}-{1 + (h >> 8) % 28:02d}T{(h >> 16) % 24:02d}:00:00Z"


@cache
def _filler_display_name(publisher: str) -> str:
    # "cobaltcloudinc1594196937845" -> "Cobaltcloudinc": the onboarding time stamp dropped.
    return re.sub(r"\d{6,}$", "", publisher).capitalize()


@cache
def _regions_by_publisher() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for region in MARKETPLACE_REGIONS:
        for name in publisher_names(region):
            found.setdefault(name, []).append(region)
    return {name: tuple(regions) for name, regions in found.items()}


def _product(
    publisher: str, offer: Offer, text: tuple[str, str, str, str] | None, regions: tuple[str, ...]
) -> CatalogProduct:
    unique_id = f"{publisher}.{offer.name}".lower()
    h = _hash(unique_id)  # one hash per product: its id, popularity, rating and date
    if text is not None:
        display, summary, os_value, pricing = text
        publisher_display, publisher_type = _PUBLISHERS[publisher]
        popularity = 0.5 + (h >> 40) % 50 / 100
    else:
        first_sku = offer.skus[0]
        publisher_display = _filler_display_name(publisher)
        publisher_type = THIRD_PARTY
        display = f"{_words(offer.name)} by {publisher_display}"
        summary = f"{_words(offer.name)} on {first_sku.os}, ready to run."
        os_value, pricing = ("windows.others" if first_sku.os == "Windows" else ""), ""
        popularity = (h >> 40) % 40 / 100
    plans = tuple(_plans(publisher, offer, os_value, pricing))
    rating, count = _rating(h >> 20, text is not None)
    description = (
        f"{display} from {publisher_display}. {summary} Plans: "
        + "; ".join(p.display_name for p in plans)
        + "."
    )
    return CatalogProduct(
        unique_id=unique_id,
        product_id=_product_id(h),
        publisher_id=publisher,
        publisher_display_name=publisher_display,
        publisher_type=publisher_type,
        offer_id=offer.name,
        display_name=display,
        summary=summary,
        description=description,
        plans=plans,
        locations=regions,
        popularity=round(popularity, 2),
        rating_average=rating,
        rating_count=count,
        last_modified=_modified(h),
    )


def _non_vm(entry: tuple[str, str, str, str, str]) -> CatalogProduct:
    publisher, offer_id, kind, display, summary = entry
    unique_id = f"{publisher}.{offer_id}".lower()
    publisher_display, publisher_type = _PUBLISHERS[publisher]
    plan = CatalogPlan(
        plan_id="standard",
        display_name="Standard",
        architecture="",
        generation="",
        security_types=(),
        pricing=("Payg",),
        os_value="",
        summary=f"{display}, standard plan.",
        rank=1,
        purchase_plan=False,
        deprecation=None,
        plan_type=kind,
    )
    h = _hash(unique_id)
    rating, count = _rating(h, True)
    return CatalogProduct(
        unique_id=unique_id,
        product_id=_product_id(h),
        publisher_id=publisher,
        publisher_display_name=publisher_display,
        publisher_type=publisher_type,
        offer_id=offer_id,
        display_name=display,
        summary=summary,
        description=f"{display} from {publisher_display}. {summary}",
        plans=(plan,),
        locations=MARKETPLACE_REGIONS,
        popularity=0.6,
        rating_average=rating,
        rating_count=count,
        last_modified=_modified(h),
        product_type=kind,
    )


@cache
def catalog_products() -> tuple[CatalogProduct, ...]:
    """Every product of the sandbox's catalogue (built once, on the first catalogue request:
    generating the filler publishers takes a second or two)."""
    regions = _regions_by_publisher()
    products: list[CatalogProduct] = []
    for publisher in WELL_KNOWN:
        for offer in publisher.offers:
            text = _OFFERS[(publisher.name, offer.name)]
            products.append(_product(publisher.name, offer, text, MARKETPLACE_REGIONS))
    products += [_non_vm(entry) for entry in _NON_VM]
    well_known = {p.name for p in WELL_KNOWN}
    for name in sorted(regions):
        if name in well_known:
            continue
        for offer in filler_publisher(name).offers:
            products.append(_product(name, offer, None, regions[name]))
    return tuple(products)

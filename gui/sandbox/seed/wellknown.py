"""The Marketplace publishers everyone knows, with offers, SKUs and versions as Azure lists them.

Version strings follow each publisher's real scheme (Canonical ``22.04.YYYYMMDDn``, Windows
``build.revision.yymmdd``, Debian ``0.YYYYMMDD.build``...). Sizes are what the platform images
report: 30 GiB Linux OS disks, 127 GiB Windows (32 GiB for ``smalldisk``), SQL Server images with
data disks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict, Unpack

TL = "TrustedLaunchSupported"
TL_CVM = "TrustedLaunchAndConfidentialVmSupported"
CVM = "ConfidentialVmSupported"


@dataclass(frozen=True)
class Deprecation:
    state: str  # "ScheduledForDeprecation" | "Deprecated"
    scheduled: str  # ISO time of the deprecation
    alternative_offer: str | None = None


@dataclass(frozen=True)
class Sku:
    name: str
    os: str  # "Linux" | "Windows"
    generation: str  # "V1" | "V2"
    versions: tuple[str, ...]
    architecture: str = "x64"
    os_gib: int = 30
    security: str | None = None  # SecurityType feature (Gen2 only)
    nvme: bool = False
    hibernate: bool = False
    accelerated_networking: bool = True
    plan: bool = False
    data_disk_gib: tuple[int, ...] = ()
    deprecation: Deprecation | None = None
    automatic_os_upgrade: bool = False


@dataclass(frozen=True)
class Offer:
    name: str
    skus: tuple[Sku, ...]


@dataclass(frozen=True)
class Publisher:
    name: str
    offers: tuple[Offer, ...] = field(default_factory=tuple)


def _ubuntu(prefix: str, dates: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{d}" for d in dates)


_JAMMY = _ubuntu("22.04", ("202408140", "202409110", "202410020", "202411060"))
_NOBLE = _ubuntu("24.04", ("202409120", "202410020", "202411030"))
_FOCAL = _ubuntu("20.04", ("202408080", "202410020", "202411050"))
_BIONIC = _ubuntu("18.04", ("202304110", "202305160"))
_WS2025 = ("26100.1742.240906", "26100.2033.241004", "26100.2314.241107")
_WS2022 = ("20348.2655.240810", "20348.2700.240905", "20348.2762.241006", "20348.2849.241109")
_WS2019 = ("17763.6189.240811", "17763.6293.240905", "17763.6414.241004", "17763.6532.241101")
_WS2016 = ("14393.7259.240811", "14393.7336.240905", "14393.7428.241004")
_WS2012R2 = ("9600.21563.230812", "9600.21620.231004")
_WIN11_23H2 = ("22631.4169.240905", "22631.4317.241008", "22631.4460.241106")
_WIN11_24H2 = ("26100.2033.241004", "26100.2314.241107")
_WIN10 = ("19045.4894.240906", "19045.5011.241009", "19045.5131.241107")
_TL_WIN: _TrustedLaunch = {"security": TL, "nvme": True, "hibernate": True}

_DEPRECATED_BIONIC = Deprecation(
    "ScheduledForDeprecation", "2025-05-31T00:00:00+00:00", "0001-com-ubuntu-server-jammy"
)
_DEPRECATED_CENTOS = Deprecation(
    "ScheduledForDeprecation", "2024-09-30T00:00:00+00:00", "almalinux-x86_64"
)
_DEPRECATED_2012 = Deprecation("Deprecated", "2023-10-10T00:00:00+00:00")


class _SkuOptions(TypedDict, total=False):
    """A ``Sku``'s optional fields (typed: table rows are checked like constructor calls)."""

    architecture: str
    os_gib: int
    security: str | None
    nvme: bool
    hibernate: bool
    accelerated_networking: bool
    plan: bool
    data_disk_gib: tuple[int, ...]
    deprecation: Deprecation | None
    automatic_os_upgrade: bool


class _TrustedLaunch(TypedDict):
    """The options most Trusted Launch SKUs share (exactly these keys, so rows may add others)."""

    security: str
    nvme: bool
    hibernate: bool


def _lin(name: str, gen: str, versions: tuple[str, ...], **kw: Unpack[_SkuOptions]) -> Sku:
    return Sku(name=name, os="Linux", generation=gen, versions=versions, **kw)


def _win(name: str, gen: str, versions: tuple[str, ...], **kw: Unpack[_SkuOptions]) -> Sku:
    kw.setdefault("os_gib", 127)
    return Sku(name=name, os="Windows", generation=gen, versions=versions, **kw)


# The catalogue as a table: one SKU a row (kept compact, so a row reads as one record).
# fmt: off
WELL_KNOWN: tuple[Publisher, ...] = (
    Publisher(
        "Canonical",
        (
            Offer(
                "0001-com-ubuntu-server-jammy",
                (
                    _lin("22_04-lts", "V1", _JAMMY),
                    _lin("22_04-lts-gen2", "V2", _JAMMY, security=TL_CVM, nvme=True,
                         hibernate=True),
                    _lin("22_04-lts-arm64", "V2", _JAMMY, architecture="Arm64", nvme=True),
                ),
            ),
            Offer(
                "ubuntu-24_04-lts",
                (
                    _lin("server", "V2", _NOBLE, security=TL, nvme=True, hibernate=True),
                    _lin("server-gen1", "V1", _NOBLE),
                    _lin("server-arm64", "V2", _NOBLE, architecture="Arm64", nvme=True),
                    _lin("minimal", "V2", _NOBLE, security=TL, nvme=True),
                    _lin("cvm", "V2", _NOBLE, security=CVM),
                    _lin("ubuntu-pro", "V2", _NOBLE, security=TL, nvme=True, hibernate=True),
                ),
            ),
            Offer(
                "0001-com-ubuntu-server-focal",
                (
                    _lin("20_04-lts", "V1", _FOCAL),
                    _lin("20_04-lts-gen2", "V2", _FOCAL, security=TL, hibernate=True),
                    _lin("20_04-lts-arm64", "V2", _FOCAL, architecture="Arm64"),
                ),
            ),
            Offer(
                "0001-com-ubuntu-confidential-vm-jammy",
                (_lin("22_04-lts-cvm", "V2", _JAMMY, security=CVM),),
            ),
            Offer(
                "0001-com-ubuntu-pro-jammy",
                (
                    _lin("pro-22_04-lts", "V1", _JAMMY),
                    _lin("pro-22_04-lts-gen2", "V2", _JAMMY, security=TL, nvme=True,
                         hibernate=True),
                ),
            ),
            Offer(
                "UbuntuServer",
                (
                    _lin("18.04-LTS", "V1", _BIONIC, deprecation=_DEPRECATED_BIONIC),
                    _lin("18_04-lts-gen2", "V2", _BIONIC, security=TL,
                         deprecation=_DEPRECATED_BIONIC),
                ),
            ),
        ),
    ),
    Publisher(
        "MicrosoftWindowsServer",
        (
            Offer(
                "WindowsServer",
                (
                    _win("2025-datacenter-azure-edition", "V2", _WS2025, **_TL_WIN),
                    _win("2025-datacenter-g2", "V2", _WS2025, **_TL_WIN),
                    _win("2025-datacenter", "V1", _WS2025),
                    _win("2022-datacenter-azure-edition", "V2", _WS2022, security=TL_CVM,
                         nvme=True, hibernate=True),
                    _win("2022-datacenter-azure-edition-hotpatch", "V2", _WS2022, **_TL_WIN),
                    _win("2022-datacenter-g2", "V2", _WS2022, **_TL_WIN),
                    _win("2022-datacenter", "V1", _WS2022),
                    _win("2022-datacenter-smalldisk-g2", "V2", _WS2022, os_gib=32, **_TL_WIN),
                    _win("2022-datacenter-core-g2", "V2", _WS2022, os_gib=30, **_TL_WIN),
                    _win("2019-datacenter-gensecond", "V2", _WS2019, security=TL, hibernate=True),
                    _win("2019-datacenter", "V1", _WS2019),
                    _win("2019-datacenter-smalldisk", "V1", _WS2019, os_gib=32),
                    _win("2019-datacenter-core-g2", "V2", _WS2019, os_gib=30, security=TL),
                    _win("2016-datacenter-gensecond", "V2", _WS2016, security=TL),
                    _win("2016-datacenter", "V1", _WS2016),
                    _win("2012-r2-datacenter", "V1", _WS2012R2, deprecation=_DEPRECATED_2012),
                ),
            ),
            Offer(
                "windows-cvm",
                (
                    _win("2022-datacenter-cvm", "V2", _WS2022, security=CVM),
                    _win("2019-datacenter-cvm", "V2", _WS2019, security=CVM),
                ),
            ),
        ),
    ),
    Publisher(
        "MicrosoftWindowsDesktop",
        (
            Offer(
                "windows-11",
                (
                    _win("win11-24h2-ent", "V2", _WIN11_24H2, **_TL_WIN),
                    _win("win11-24h2-pro", "V2", _WIN11_24H2, **_TL_WIN),
                    _win("win11-24h2-avd", "V2", _WIN11_24H2, **_TL_WIN),
                    _win("win11-23h2-ent", "V2", _WIN11_23H2, **_TL_WIN),
                    _win("win11-23h2-pro", "V2", _WIN11_23H2, **_TL_WIN),
                    _win("win11-23h2-avd", "V2", _WIN11_23H2, **_TL_WIN),
                ),
            ),
            Offer(
                "windows-10",
                (
                    _win("win10-22h2-ent-g2", "V2", _WIN10, security=TL),
                    _win("win10-22h2-pro-g2", "V2", _WIN10, security=TL),
                    _win("win10-22h2-ent", "V1", _WIN10),
                    _win("win10-22h2-avd", "V1", _WIN10),
                ),
            ),
            Offer(
                "office-365",
                (
                    _win("win11-24h2-avd-m365", "V2", _WIN11_24H2, **_TL_WIN),
                    _win("win11-23h2-avd-m365", "V2", _WIN11_23H2, **_TL_WIN),
                ),
            ),
        ),
    ),
    Publisher(
        "MicrosoftSQLServer",
        (
            Offer(
                "sql2022-ws2022",
                (
                    _win("enterprise-gen2", "V2", ("16.0.240810", "16.0.240912", "16.0.241010"),
                         data_disk_gib=(1024, 1024), security=TL),
                    _win("standard-gen2", "V2", ("16.0.240810", "16.0.240912", "16.0.241010"),
                         data_disk_gib=(1024, 1024), security=TL),
                    _win("sqldev-gen2", "V2", ("16.0.240912", "16.0.241010"),
                         data_disk_gib=(1024, 1024), security=TL),
                    _win("web-gen2", "V2", ("16.0.241010",), data_disk_gib=(1024, 1024),
                         security=TL),
                ),
            ),
            Offer(
                "sql2019-ws2022",
                (
                    _win("enterprise-gen2", "V2", ("15.0.240810", "15.0.241010"),
                         data_disk_gib=(1024, 1024), security=TL),
                    _win("standard-gen2", "V2", ("15.0.240810", "15.0.241010"),
                         data_disk_gib=(1024, 1024), security=TL),
                    _win("sqldev-gen2", "V2", ("15.0.241010",), data_disk_gib=(1024, 1024),
                         security=TL),
                ),
            ),
            Offer(
                "sql2019-ws2019",
                (
                    _win("enterprise", "V1", ("15.0.240614", "15.0.240912"),
                         data_disk_gib=(1024, 1024)),
                    _win("standard", "V1", ("15.0.240614", "15.0.240912"),
                         data_disk_gib=(1024, 1024)),
                    _win("sqldev", "V1", ("15.0.240912",), data_disk_gib=(1024, 1024)),
                ),
            ),
        ),
    ),
    Publisher(
        "RedHat",
        (
            Offer(
                "RHEL",
                (
                    _lin("9-lvm-gen2", "V2",
                         ("9.4.2024081415", "9.4.2024101517", "9.5.2024111410"), os_gib=64,
                         security=TL, nvme=True),
                    _lin("9_4", "V1", ("9.4.2024081415", "9.4.2024101517"), os_gib=64),
                    _lin("94_gen2", "V2", ("9.4.2024081415", "9.4.2024101517"), os_gib=64,
                         security=TL),
                    _lin("8-lvm-gen2", "V2", ("8.10.2024072210", "8.10.2024101517"), os_gib=64,
                         security=TL),
                    _lin("8_10", "V1", ("8.10.2024072210", "8.10.2024101517"), os_gib=64),
                    _lin("7-lvm", "V1", ("7.9.2023092014", "7.9.2024031209"), os_gib=64),
                ),
            ),
            Offer(
                "rhel-arm64",
                (
                    _lin("9_4-arm64", "V2", ("9.4.2024081415", "9.4.2024101517"), os_gib=64,
                         architecture="Arm64"),
                ),
            ),
            Offer(
                "rhel-byos",
                (
                    _lin("rhel-lvm94-gen2", "V2", ("9.4.2024081415",), os_gib=64, security=TL,
                         plan=True),
                    _lin("rhel-lvm810-gen2", "V2", ("8.10.2024072210",), os_gib=64, plan=True),
                ),
            ),
        ),
    ),
    Publisher(
        "SUSE",
        (
            Offer(
                "sles-15-sp6",
                (
                    _lin("gen2", "V2", ("2024.07.02", "2024.09.25", "2024.11.06"), security=TL,
                         nvme=True),
                    _lin("gen1", "V1", ("2024.07.02", "2024.09.25", "2024.11.06")),
                ),
            ),
            Offer(
                "sles-15-sp6-arm64",
                (_lin("gen2", "V2", ("2024.09.25", "2024.11.06"), architecture="Arm64"),),
            ),
            Offer(
                "sles-15-sp5",
                (
                    _lin("gen2", "V2", ("2024.04.10", "2024.09.25"), security=TL),
                    _lin("gen1", "V1", ("2024.04.10", "2024.09.25")),
                ),
            ),
            Offer(
                "sles-sap-15-sp5",
                (_lin("gen2", "V2", ("2024.06.12", "2024.10.01"), os_gib=64, security=TL),),
            ),
            Offer("sles-15-sp6-byos", (_lin("gen2", "V2", ("2024.09.25",), plan=True),)),
        ),
    ),
    Publisher(
        "Debian",
        (
            Offer(
                "debian-12",
                (
                    _lin("12-gen2", "V2",
                         ("0.20240901.1857", "0.20241004.1890", "0.20241111.1927"), os_gib=30,
                         security=TL, nvme=True),
                    _lin("12", "V1", ("0.20240901.1857", "0.20241004.1890", "0.20241111.1927")),
                    _lin("12-arm64", "V2", ("0.20241004.1890", "0.20241111.1927"),
                         architecture="Arm64"),
                ),
            ),
            Offer(
                "debian-11",
                (
                    _lin("11-gen2", "V2", ("0.20240701.1788", "0.20241004.1890"), security=TL),
                    _lin("11", "V1", ("0.20240701.1788", "0.20241004.1890")),
                    _lin("11-backports-gen2", "V2", ("0.20241004.1890",), security=TL),
                ),
            ),
        ),
    ),
    Publisher(
        "OpenLogic",
        (
            Offer(
                "CentOS",
                (
                    _lin("7_9-gen2", "V2", ("7.9.2022101800", "7.9.2024010200"),
                         deprecation=_DEPRECATED_CENTOS),
                    _lin("7_9", "V1", ("7.9.2022101800", "7.9.2024010200"),
                         deprecation=_DEPRECATED_CENTOS),
                    _lin("8_5-gen2", "V2", ("8.5.2022101800",), deprecation=_DEPRECATED_CENTOS),
                ),
            ),
            Offer(
                "centos-lvm",
                (_lin("7-lvm-gen2", "V2", ("7.9.2022101801",), deprecation=_DEPRECATED_CENTOS),),
            ),
        ),
    ),
    Publisher(
        "Oracle",
        (
            Offer(
                "Oracle-Linux",
                (
                    _lin("ol94-lvm-gen2", "V2", ("9.4.1", "9.4.3"), security=TL),
                    _lin("ol94-arm64-lvm-gen2", "V2", ("9.4.1",), architecture="Arm64"),
                    _lin("ol810-lvm-gen2", "V2", ("8.10.2", "8.10.4"), security=TL),
                    _lin("ol79-gen2", "V2", ("7.9.36",)),
                ),
            ),
            Offer(
                "oracle-database-19-3",
                (
                    _lin("oracle-database-19-0904", "V1", ("19.3.1", "19.3.2"), os_gib=64,
                         plan=True, data_disk_gib=(128,)),
                ),
            ),
        ),
    ),
    Publisher(
        "almalinux",
        (
            Offer(
                "almalinux-x86_64",
                (
                    _lin("9-gen2", "V2", ("9.4.2024050902", "9.4.2024080501", "9.5.2024111801"),
                         plan=True, security=TL),
                    _lin("9-gen1", "V1", ("9.4.2024050902", "9.5.2024111801"), plan=True),
                    _lin("8-gen2", "V2", ("8.10.2024061201", "8.10.2024101701"), plan=True),
                ),
            ),
            Offer(
                "almalinux-arm",
                (
                    _lin("9-arm-gen2", "V2", ("9.4.2024050902", "9.5.2024111801"),
                         architecture="Arm64", plan=True),
                ),
            ),
        ),
    ),
    Publisher(
        "kinvolk",
        (
            Offer(
                "flatcar-container-linux-free",
                (
                    _lin("stable-gen2", "V2", ("3975.2.1", "3975.2.2", "4081.2.0"), plan=True,
                         security=TL, automatic_os_upgrade=True),
                    _lin("stable", "V1", ("3975.2.1", "3975.2.2", "4081.2.0"), plan=True,
                         automatic_os_upgrade=True),
                    _lin("stable-arm64", "V2", ("3975.2.2", "4081.2.0"), architecture="Arm64",
                         plan=True),
                ),
            ),
            Offer(
                "flatcar-container-linux-corevm-amd64",
                (_lin("stable-gen2", "V2", ("4081.2.0",), plan=True),),
            ),
        ),
    ),
    Publisher(
        "MicrosoftCBLMariner",
        (
            Offer(
                "azure-linux-3",
                (
                    _lin("azure-linux-3-gen2", "V2", ("3.20240924.01", "3.20241105.01"),
                         security=TL, nvme=True),
                    _lin("azure-linux-3-arm64", "V2", ("3.20241105.01",), architecture="Arm64"),
                ),
            ),
            Offer(
                "cbl-mariner",
                (
                    _lin("cbl-mariner-2-gen2", "V2", ("2.20240820.01", "2.20241014.01"),
                         security=TL),
                    _lin("cbl-mariner-2", "V1", ("2.20240820.01", "2.20241014.01")),
                ),
            ),
        ),
    ),
    Publisher(
        "MicrosoftVisualStudio",
        (
            Offer(
                "visualstudio2022",
                (
                    _win("vs-2022-ent-latest-ws2022", "V2", ("2024.10.14", "2024.11.13"),
                         **_TL_WIN),
                    _win("vs-2022-comm-latest-ws2022", "V2", ("2024.10.14", "2024.11.13"),
                         **_TL_WIN),
                ),
            ),
        ),
    ),
    Publisher(
        "microsoft-dsvm",
        (
            Offer(
                "ubuntu-2204",
                (
                    _lin("2204-gen2", "V2", ("24.10.07", "24.11.04"), os_gib=150,
                         data_disk_gib=(256,)),
                ),
            ),
            Offer(
                "dsvm-win-2019",
                (_win("winserver-2019", "V1", ("24.09.12",), data_disk_gib=(256,)),),
            ),
        ),
    ),
    Publisher(
        "resf",
        (
            Offer(
                "rockylinux-x86_64",
                (
                    _lin("9-base", "V2", ("9.4.20240523", "9.5.20241118"), plan=True, security=TL),
                    _lin("8-base", "V2", ("8.10.20240528",), plan=True),
                ),
            ),
        ),
    ),
    Publisher(
        "bitnami",
        (
            Offer("wordpress", (_lin("default", "V1", ("6.6.2", "6.7.0"), plan=True),)),
            Offer("nginxstack", (_lin("1-9", "V1", ("1.27.2", "1.27.3"), plan=True),)),
            Offer("postgresql", (_lin("default", "V2", ("16.4.0", "17.1.0"), plan=True),)),
        ),
    ),
    Publisher(
        "center-for-internet-security-inc",
        (
            Offer(
                "cis-ubuntu-linux-2204-l1",
                (
                    _lin("cis-ubuntu-linux-2204-l1-gen2", "V2", ("2.0.3", "2.0.4"), plan=True,
                         security=TL),
                ),
            ),
            Offer(
                "cis-windows-server-2022-l1",
                (
                    _win("cis-windows-server-2022-l1-gen2", "V2", ("3.0.10", "3.0.11"), plan=True,
                         security=TL),
                ),
            ),
        ),
    ),
    Publisher(
        "fortinet",
        (
            Offer(
                "fortinet_fortigate-vm_v5",
                (
                    _lin("fortinet_fg-vm_payg_2023", "V1", ("7.2.10", "7.4.5", "7.6.0"), os_gib=2,
                         plan=True, data_disk_gib=(30,)),
                    _lin("fortinet_fg-vm", "V1", ("7.4.5", "7.6.0"), os_gib=2, plan=True,
                         data_disk_gib=(30,)),
                ),
            ),
        ),
    ),
    Publisher(
        "paloaltonetworks",
        (
            Offer(
                "vmseries-flex",
                (
                    _lin("byol", "V1", ("10.2.10", "11.1.4", "11.2.3"), os_gib=60, plan=True),
                    _lin("bundle2", "V1", ("11.1.4", "11.2.3"), os_gib=60, plan=True),
                ),
            ),
        ),
    ),
    Publisher(
        "checkpoint",
        (
            Offer(
                "check-point-cg-r8120",
                (_lin("sg-byol", "V1", ("8120.900.720", "8120.900.744"), os_gib=100, plan=True),),
            ),
        ),
    ),
    Publisher(
        "cisco",
        (
            Offer(
                "cisco-c8000v-byol",
                (_lin("17_13_01a-byol", "V1", ("17.13.0120240306",), os_gib=16, plan=True),),
            ),
        ),
    ),
    Publisher(
        "MicrosoftWindowsServerHPCPack",
        (Offer("WindowsServer2019HPCPack", (_win("2019-HPC-Pack-2019", "V1", ("6.3.8328",)),)),),
    ),
)
# fmt: on

"""Thousands of plausible third-party Marketplace publishers, generated deterministically.

Real Marketplace publisher ids look like ``bitnami``, ``f5-networks``, ``tidalmediainc`` or
``cloudwhizsolutions1594196937845`` (a company name with a 13-digit onboarding time stamp); the
generator mixes those shapes. Everything derives from a fixed seed, so every start (and every
machine) sees the same catalogue, and a publisher's offers are generated only when asked for.
"""

from __future__ import annotations

import hashlib
import random
from functools import lru_cache

from gui.sandbox.seed.wellknown import TL, Offer, Publisher, Sku

_STEMS = (
    "acumen",
    "aether",
    "agile",
    "alpine",
    "altitude",
    "amber",
    "anchor",
    "apex",
    "aqua",
    "arc",
    "arcadia",
    "atlas",
    "aurora",
    "axiom",
    "azul",
    "bastion",
    "beacon",
    "bedrock",
    "birch",
    "blackpeak",
    "bluefin",
    "boreal",
    "brightway",
    "cadence",
    "caliber",
    "canopy",
    "capstone",
    "cascade",
    "catalyst",
    "cedar",
    "celerity",
    "cipher",
    "citadel",
    "clearpath",
    "cobalt",
    "codeword",
    "comet",
    "compass",
    "conduit",
    "copper",
    "corvus",
    "crest",
    "crimson",
    "crystal",
    "cygnus",
    "datapoint",
    "dawn",
    "delta",
    "dione",
    "dragonfly",
    "driftwood",
    "dynamo",
    "eagle",
    "echo",
    "eclipse",
    "edgewise",
    "element",
    "elevate",
    "ember",
    "emerald",
    "envoy",
    "epoch",
    "equinox",
    "evergreen",
    "falcon",
    "fathom",
    "fern",
    "firefly",
    "flint",
    "forge",
    "fulcrum",
    "galena",
    "gateway",
    "geode",
    "glacier",
    "granite",
    "graphite",
    "greenfield",
    "halcyon",
    "harbor",
    "hawthorn",
    "helix",
    "horizon",
    "hyperion",
    "indigo",
    "ingot",
    "insight",
    "ion",
    "iris",
    "ironclad",
    "jade",
    "juniper",
    "keystone",
    "kinetic",
    "kite",
    "lakeside",
    "lattice",
    "ledger",
    "lighthouse",
    "linden",
    "lodestar",
    "lumen",
    "lynx",
    "magnet",
    "mantis",
    "maple",
    "meridian",
    "mesa",
    "meteor",
    "monarch",
    "mosaic",
    "nebula",
    "nexus",
    "nimbus",
    "northwind",
    "nova",
    "oak",
    "obsidian",
    "octave",
    "onyx",
    "orbit",
    "orchid",
    "osprey",
    "paragon",
    "pathway",
    "peregrine",
    "phoenix",
    "pinnacle",
    "pioneer",
    "polaris",
    "prism",
    "pulsar",
    "quantum",
    "quartz",
    "quill",
    "radiant",
    "rapid",
    "raven",
    "redwood",
    "relay",
    "ridge",
    "rivet",
    "sable",
    "sapphire",
    "sentinel",
    "sequoia",
    "shale",
    "sierra",
    "signal",
    "silverline",
    "skyline",
    "slate",
    "solstice",
    "sparrow",
    "spectrum",
    "spruce",
    "stellar",
    "stratus",
    "summit",
    "sunrise",
    "talon",
    "tandem",
    "tempest",
    "terra",
    "thistle",
    "thunder",
    "tidal",
    "timber",
    "titan",
    "topaz",
    "torrent",
    "trellis",
    "trident",
    "tundra",
    "umbra",
    "unity",
    "valor",
    "vanguard",
    "vector",
    "velocity",
    "verdant",
    "vertex",
    "vista",
    "volt",
    "wavelength",
    "willow",
    "wolfram",
    "zenith",
    "zephyr",
    "zircon",
)
_DOMAINS = (
    "soft",
    "data",
    "cloud",
    "net",
    "sec",
    "logic",
    "works",
    "labs",
    "systems",
    "tech",
    "ware",
    "ops",
    "byte",
    "stack",
    "grid",
    "link",
    "mind",
    "code",
    "sys",
    "io",
)
_COMPANY = (
    "",
    "",
    "",
    "inc",
    "llc",
    "ltd",
    "gmbh",
    "corp",
    "corporation",
    "technologies",
    "solutions",
    "software",
    "networks",
    "security",
    "consulting",
    "group",
    "analytics",
    "it",
    "ag",
    "sa",
)
_PRODUCTS = (
    ("firewall", "Linux"),
    ("waf", "Linux"),
    ("sftp-gateway", "Linux"),
    ("backup-appliance", "Linux"),
    ("siem-collector", "Linux"),
    ("vpn-server", "Linux"),
    ("nginx-plus", "Linux"),
    ("wordpress", "Linux"),
    ("gitlab-ce", "Linux"),
    ("jenkins", "Linux"),
    ("kafka", "Linux"),
    ("postgresql-ha", "Linux"),
    ("mongodb", "Linux"),
    ("redis", "Linux"),
    ("elastic-stack", "Linux"),
    ("grafana", "Linux"),
    ("sonarqube", "Linux"),
    ("openvpn-as", "Linux"),
    ("tomcat", "Linux"),
    ("docker-ce", "Linux"),
    ("k8s-node", "Linux"),
    ("hardened-ubuntu", "Linux"),
    ("cis-rhel9-l1", "Linux"),
    ("ai-inference", "Linux"),
    ("ftp-server", "Linux"),
    ("squid-proxy", "Linux"),
    ("minio", "Linux"),
    ("rabbitmq", "Linux"),
    ("zabbix", "Linux"),
    ("nextcloud", "Linux"),
    ("odoo", "Linux"),
    ("moodle", "Linux"),
    ("mattermost", "Linux"),
    ("keycloak", "Linux"),
    ("vault", "Linux"),
    ("haproxy", "Linux"),
    ("dns-server", "Linux"),
    ("sd-wan-edge", "Linux"),
    ("nas-gateway", "Linux"),
    ("data-science-vm", "Linux"),
    ("iis-server", "Windows"),
    ("sql-express", "Windows"),
    ("active-directory", "Windows"),
    ("remote-desktop", "Windows"),
    ("file-server", "Windows"),
    ("sharepoint-ready", "Windows"),
    ("dotnet-hosting", "Windows"),
    ("print-server", "Windows"),
    ("gis-server", "Windows"),
    ("cad-workstation", "Windows"),
)
_SKU_SHAPES = (
    ("byol",),
    ("payg",),
    ("standard", "enterprise"),
    ("byol", "payg"),
    ("gen1", "gen2"),
    ("basic", "standard", "premium"),
    ("community",),
    ("default",),
    ("free", "pro"),
)


def _rng(*parts: str) -> random.Random:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@lru_cache(maxsize=1)
def filler_pool(size: int = 4200) -> tuple[str, ...]:
    """``size`` unique publisher ids, always the same ones."""
    rng = _rng("sandbox-filler-publishers")
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < size:
        stem = rng.choice(_STEMS)
        shape = rng.random()
        if shape < 0.35:
            name = stem + rng.choice(_DOMAINS) + rng.choice(_COMPANY)
        elif shape < 0.55:
            name = f"{stem}-{rng.choice(_DOMAINS)}"
            if rng.random() < 0.5:
                name += f"-{rng.choice([c for c in _COMPANY if c])}"
        elif shape < 0.85:
            stamp = rng.randrange(1_550_000_000_000, 1_730_000_000_000)
            name = f"{stem}{rng.choice(_DOMAINS)}{rng.choice(_COMPANY)}{stamp}"
        else:
            name = stem + rng.choice(_COMPANY)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return tuple(names)


def publishers_for_location(location: str, count: int, reserved: frozenset[str]) -> list[str]:
    """The filler publishers a region lists: a region-specific subset of the shared pool."""
    pool = [n for n in filler_pool() if n.lower() not in reserved]

    def order(name: str) -> bytes:
        return hashlib.sha256(f"{location}|{name}".encode()).digest()

    return sorted(pool, key=order)[: max(0, count)]


def _versions(rng: random.Random) -> tuple[str, ...]:
    scheme = rng.random()
    count = rng.randint(1, 3)
    if scheme < 0.5:
        major = rng.randint(1, 12)
        minor = rng.randint(0, 9)
        return tuple(
            f"{major}.{minor}.{patch}" for patch in sorted(rng.sample(range(0, 30), count))
        )
    if scheme < 0.8:
        year = rng.choice((2023, 2024))
        months = sorted(rng.sample(range(1, 13), count))
        return tuple(f"{year}.{m:02d}.{rng.randint(1, 28):02d}" for m in months)
    major = rng.randint(1, 5)
    return tuple(
        f"{major}.{m}.{rng.randint(100, 999)}" for m in sorted(rng.sample(range(0, 20), count))
    )


@lru_cache(maxsize=4096)
def filler_publisher(name: str) -> Publisher:
    """1-3 offers of 1-3 SKUs of 1-3 versions each, third-party style (with a purchase plan)."""
    rng = _rng("publisher", name)
    offers: list[Offer] = []
    used: set[str] = set()
    for _ in range(rng.randint(1, 3)):
        product, os_name = rng.choice(_PRODUCTS)
        offer_name = (
            product if rng.random() < 0.6 else f"{name.split('-', maxsplit=1)[0][:12]}-{product}"
        )
        if offer_name in used:
            continue
        used.add(offer_name)
        skus: list[Sku] = []
        for sku_name in rng.choice(_SKU_SHAPES)[: rng.randint(1, 3)]:
            gen = "V2" if sku_name == "gen2" or rng.random() < 0.45 else "V1"
            os_gib = 127 if os_name == "Windows" else rng.choice((30, 30, 32, 64, 16, 2))
            data = (rng.choice((32, 64, 128, 256)),) if rng.random() < 0.12 else ()
            skus.append(
                Sku(
                    name=sku_name,
                    os=os_name,
                    generation=gen,
                    versions=_versions(rng),
                    architecture="Arm64" if gen == "V2" and rng.random() < 0.05 else "x64",
                    os_gib=os_gib,
                    security=TL if gen == "V2" and rng.random() < 0.5 else None,
                    accelerated_networking=rng.random() < 0.7,
                    plan=rng.random() < 0.9,
                    data_disk_gib=data,
                )
            )
        offers.append(Offer(offer_name, tuple(skus)))
    return Publisher(name, tuple(offers))

"""What a search answers: hits with the facts an administrator picks an image by, and filters.

Plain data, no Qt and no SDK types: the local index, the Marketplace Catalog client, the
service, the headless command and the window all speak it. A hit's ``to_json`` is the stable
shape ``images search --json`` prints (keys only ever added, never renamed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any


class HitOrigin(StrEnum):
    """Where a hit came from: the local index, the Marketplace Catalog, or an az alias."""

    INDEX = "index"
    CATALOG = "catalog"
    ALIAS = "alias"


@dataclass(frozen=True)
class Facts:
    """What decides whether an image fits: each '' (or None) while not known yet."""

    os_type: str = ""  # "Linux" | "Windows"
    architecture: str = ""  # "x64" | "Arm64"
    generation: str = ""  # "V1" | "V2" (ARM's hyperVGeneration)
    security_type: str = ""  # ARM's SecurityType feature, e.g. "TrustedLaunchSupported"
    deprecation: str = ""  # ARM's imageState when not Active, e.g. "ScheduledForDeprecation"
    plan: bool | None = None  # a purchase plan (Marketplace terms) is needed
    data_disks: int | None = None  # data disks the image carries besides the OS disk

    @property
    def deprecated(self) -> bool:
        return bool(self.deprecation) and self.deprecation.casefold() != "active"

    @property
    def trusted_launch_capable(self) -> bool:
        """Trusted Launch is possible: the image says TrustedLaunch or *Supported with it."""
        return "trustedlaunch" in self.security_type.casefold()

    def merged(self, newer: Facts) -> Facts:
        """These facts with every field ``newer`` knows taken from it."""
        changes: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(newer, name)
            if value not in ("", None):
                changes[name] = value
        return replace(self, **changes)


@dataclass(frozen=True)
class SearchFilters:
    """The four switches of the search box (all off: everything)."""

    hide_deprecated: bool = False
    gen2_only: bool = False
    arm64_only: bool = False
    trusted_launch_only: bool = False

    def accepts(self, facts: Facts) -> bool:
        """Whether an image with ``facts`` passes. An unknown fact does not pass a switch that
        asks for it: "only Arm64" must not show an image that may well be x64."""
        if self.hide_deprecated and facts.deprecated:
            return False
        if self.gen2_only and facts.generation.upper() != "V2":
            return False
        if self.arm64_only and facts.architecture.casefold() != "arm64":
            return False
        return not (self.trusted_launch_only and not facts.trusted_launch_capable)

    @property
    def any(self) -> bool:
        return self.hide_deprecated or self.gen2_only or self.arm64_only or self.trusted_launch_only


@dataclass(frozen=True)
class SearchHit:
    """One result: an image (a Marketplace SKU, a gallery image definition, a managed image or
    a VM), or a place to browse (a publisher, an offer, a gallery).

    ``key`` is the tree's ``NodeRef.key`` where the node is known (the window reveals it),
    ``urn`` the ``publisher:offer:sku`` of a Marketplace image (a gallery image's path
    otherwise). ``latest_version`` is what ``latest`` resolves to, with its release date.
    """

    key: str
    source: str  # gui.azure.catalog.nodes.SourceKind value
    kind: str  # gui.azure.catalog.nodes.NodeKind value
    title: str
    publisher: str = ""
    offer: str = ""
    sku: str = ""
    urn: str = ""
    latest_version: str = ""
    release_date: date | None = None
    facts: Facts = field(default_factory=Facts)
    is_image: bool = False
    score: float = 0.0
    origins: tuple[HitOrigin, ...] = ()
    alias: str = ""
    description: str = ""

    @property
    def version_urn(self) -> str:
        """``publisher:offer:sku:version`` once ``latest`` is resolved (the URN otherwise)."""
        if self.urn and self.latest_version and self.source == "marketplace":
            return f"{self.urn}:{self.latest_version}"
        return self.urn

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "source": self.source,
            "kind": self.kind,
            "title": self.title,
            "publisher": self.publisher,
            "offer": self.offer,
            "sku": self.sku,
            "urn": self.urn,
            "alias": self.alias or None,
            "latest_version": self.latest_version or None,
            "release_date": self.release_date.isoformat() if self.release_date else None,
            "os_type": self.facts.os_type or None,
            "architecture": self.facts.architecture or None,
            "generation": self.facts.generation or None,
            "security_type": self.facts.security_type or None,
            "deprecation": self.facts.deprecation or None,
            "plan_required": self.facts.plan,
            "data_disks": self.facts.data_disks,
            "origins": [origin.value for origin in self.origins],
            "score": round(self.score, 4),
        }


# --- release dates read from version names ----------------------------------------------------

_YYYYMMDD = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})")
_YYMMDD = re.compile(r"^(\d{2})(\d{2})(\d{2})$")


def release_date_from_version(version: str) -> date | None:
    """The date a Marketplace version names, where its publisher's scheme carries one.

    ARM lists Marketplace versions by name only, with no date; publishers put the build date
    in the name: Canonical ``24.04.202411030`` and Debian ``0.20241111.1234`` (YYYYMMDD),
    Windows and SQL Server ``20348.2849.241109`` / ``16.0.241010`` (a last part YYMMDD).
    A name that follows neither gives None rather than a guess.
    """
    for match in _YYYYMMDD.finditer(version):
        found = _valid(int(match[1]), int(match[2]), int(match[3]))
        if found is not None:
            return found
    parts = version.split(".")
    if len(parts) >= 3:
        match6 = _YYMMDD.match(parts[-1])
        if match6 is not None:
            return _valid(2000 + int(match6[1]), int(match6[2]), int(match6[3]))
    return None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def version_sort_key(name: str) -> tuple[tuple[int, str], ...]:
    """Version names in numeric order (``1.10.0`` after ``1.9.0``), as ARM and az sort them."""
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.\-]", name)
    )

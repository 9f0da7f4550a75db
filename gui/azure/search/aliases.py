"""The Azure CLI's VM image aliases (``az vm create --image Ubuntu2404``), resolved to URNs.

Data, not code: the table is the alias list the Azure CLI ships (azure-cli's
``src/azure-cli/azure/cli/command_modules/vm/_alias.py``, which copies
``arm-compute/quickstart-templates/aliases.json`` of Azure/azure-rest-api-specs), as
``az vm image list`` prints it offline and as ``az vm create`` names the valid choices in
azure-cli 2.6x: "pick an image from ['CentOS85Gen2', 'Debian11', 'OpenSuseLeap154Gen2',
'RHELRaw8LVMGen2', 'SuseSles15SP5', 'Ubuntu2204', 'Ubuntu2404', 'Ubuntu2404Pro',
'FlatcarLinuxFreeGen2', 'Win2022Datacenter', 'Win2022AzureEditionCore', 'Win2019Datacenter',
'Win2016Datacenter', 'Win2012R2Datacenter', 'Win2012Datacenter']". Every alias means the
``latest`` version; the service resolves that to a version and its date.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageAlias:
    name: str
    os_type: str
    publisher: str
    offer: str
    sku: str
    architecture: str = "x64"

    @property
    def urn(self) -> str:
        """``publisher:offer:sku`` (the version is ``latest``)."""
        return f"{self.publisher}:{self.offer}:{self.sku}"


def _linux(name: str, publisher: str, offer: str, sku: str) -> ImageAlias:
    return ImageAlias(name, "Linux", publisher, offer, sku)


def _windows(sku: str, name: str) -> ImageAlias:
    return ImageAlias(name, "Windows", "MicrosoftWindowsServer", "WindowsServer", sku)


# In the order az lists them.
ALIASES: tuple[ImageAlias, ...] = (
    _linux("CentOS85Gen2", "OpenLogic", "CentOS", "8_5-gen2"),
    _linux("Debian11", "Debian", "debian-11", "11-backports-gen2"),
    _linux("OpenSuseLeap154Gen2", "SUSE", "openSUSE-leap-15-4", "gen2"),
    _linux("RHELRaw8LVMGen2", "RedHat", "RHEL", "8-lvm-gen2"),
    _linux("SuseSles15SP5", "SUSE", "sles-15-sp5", "gen2"),
    _linux("Ubuntu2204", "Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2"),
    _linux("Ubuntu2404", "Canonical", "ubuntu-24_04-lts", "server"),
    _linux("Ubuntu2404Pro", "Canonical", "ubuntu-24_04-lts", "ubuntu-pro"),
    _linux("FlatcarLinuxFreeGen2", "kinvolk", "flatcar-container-linux-free", "stable-gen2"),
    _windows("2022-datacenter-g2", "Win2022Datacenter"),
    _windows("2022-datacenter-azure-edition-core", "Win2022AzureEditionCore"),
    _windows("2019-datacenter-gensecond", "Win2019Datacenter"),
    _windows("2016-datacenter-gensecond", "Win2016Datacenter"),
    _windows("2012-R2-Datacenter", "Win2012R2Datacenter"),
    _windows("2012-Datacenter", "Win2012Datacenter"),
)

_BY_NAME = {alias.name.casefold(): alias for alias in ALIASES}
_BY_SKU: dict[tuple[str, str, str], list[ImageAlias]] = {}
for _alias in ALIASES:
    _BY_SKU.setdefault(
        (_alias.publisher.casefold(), _alias.offer.casefold(), _alias.sku.casefold()), []
    ).append(_alias)


def resolve_alias(text: str) -> ImageAlias | None:
    """The alias ``text`` names (case-blind, as az matches them), or None."""
    return _BY_NAME.get(text.strip().casefold())


def aliases_for(publisher: str, offer: str, sku: str) -> list[ImageAlias]:
    """The aliases that name this Marketplace SKU (ARM's names are case-blind)."""
    if not sku:
        return []
    return list(_BY_SKU.get((publisher.casefold(), offer.casefold(), sku.casefold()), ()))


def alias_of_urn(urn: str) -> str:
    """The alias of ``publisher:offer:sku`` (a trailing ``:version`` is ignored), or ''."""
    parts = urn.split(":")
    if len(parts) < 3:
        return ""
    found = aliases_for(*parts[:3])
    return found[0].name if found else ""

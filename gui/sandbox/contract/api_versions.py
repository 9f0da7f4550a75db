"""The api-versions Azure serves for each resource type the sandbox serves.

ARM refuses a request whose api-version the resource type does not list, before any resource
provider sees it, so the sandbox does the same: an app that sends a wrong api-version fails here
as it would on Azure.

Where each list comes from (Azure/azure-rest-api-specs, MIT licence; the readme files list one
AutoRest tag per api-version with its input files, and the SDK columns are what the installed
Python SDKs send, read from their request builders):

* ``_COMPUTE_RP`` - specification/compute/resource-manager/Microsoft.Compute/Compute/readme.md
  (commit 02710b5688fb8a754d723f12b19df4c567c3b0f8): every ``compute.json``/``ComputeRP.json``
  input folder; 2026-04-01 is ``Compute/stable/2026-04-01/ComputeRP.json`` (commit
  c6b9f819620cf5013f0d3b06f7909322365fcffa), the version azure-mgmt-compute 39.0.0 sends for VMs,
  images, VM images and run command. 2015-05-01-preview and 2016-08-30 have no spec folder but
  Azure lists them for Compute types (an ARM answer quoted in Azure/migAz#246).
* ``_DISK_RP`` - the same readme's ``disk.json``/``DiskRP.json`` input folders; 2026-03-02 is
  ``Compute/stable/2026-03-02/DiskRP.json`` (commit 01bbff181b4fa7cab095167b1d584eada1dd1975),
  which azure-mgmt-compute 39.0.0 sends for disks and snapshots.
* ``_GALLERY_RP`` - the same readme's ``gallery.json``/``GalleryRP.json`` input folders (shared
  galleries from 2020-09-30, community galleries from 2021-07-01); 2026-03-03 is
  ``Compute/stable/2026-03-03/GalleryRP.json`` (commit 02b772848f8feee653663b6797e215179debce01),
  sent by azure-mgmt-compute 39.0.0 for galleries and shared/community galleries.
* ``_STORAGE`` - specification/storage/resource-manager/Microsoft.Storage/Storage/readme.md
  (commit 0940ebf92ff46596a59a628deb6e44c0a00d0829); azure-mgmt-storage 25.3.0 sends 2026-09-01.
* ``_RESOURCES`` - specification/resources/resource-manager/Microsoft.Resources/resources/
  readme.md (commit 01fd66f3aee58e0bb99d208692333687a9a0e54f); azure-mgmt-resource 26.0.0 sends
  2025-04-01 for resource groups.
* ``_SUBSCRIPTIONS`` - .../Microsoft.Resources/subscriptions/readme.md (commit
  1311a1c78a628ebfe9d54eabb538587fcaaa3d90); azure-mgmt-resource-subscriptions 1.0.0 sends
  2022-12-01 for subscriptions, their locations and tenants.
* ``_RESOURCE_GRAPH`` - specification/resourcegraph/resource-manager/Microsoft.ResourceGraph/
  ResourceGraph/readme.md (commit 198de9a2aed0ffca876e712399d49425abfaa09d); the app sends
  2022-10-01 (gui.azure.catalog.service.RESOURCE_GRAPH_API).
* ``_MARKETPLACE_ORDERING`` - specification/marketplaceordering/resource-manager/
  Microsoft.MarketplaceOrdering/stable/ (2015-06-01 and 2021-01-01, read at commit
  e5e3b4c7ac1b77470d0570748bc2c4c22c8dc5d2); azure-mgmt-marketplaceordering 1.1 sends 2021-01-01.
* ``_SKUS`` - the Compute readme's ``skus.json`` input folders (Microsoft.Compute/Skus/stable:
  2017-09-01, 2019-04-01, 2021-07-01; 2017-03-30 had resourceSkus in ``compute.json``);
  azure-mgmt-compute 39.0.0 sends 2021-07-01 for ``resource_skus.list``.
* ``_NETWORK`` - specification/network/resource-manager/Microsoft.Network/stable/ (the folders
  from 2023-04-01 on; ``2024-05-01/virtualNetwork.json`` and ``networkInterface.json`` listed at
  commit e282d2fe9e6dd8f4fae51c1908ca1c71a4276f9f); the app creates networks through the generic
  resources API with 2024-05-01 (gui.azure.handoff.NETWORK_API).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COMPUTE_RP = (
    "2015-05-01-preview", "2015-06-15", "2016-03-30", "2016-04-30-preview", "2016-08-30",
    "2017-03-30", "2017-12-01", "2018-04-01", "2018-06-01", "2018-10-01", "2019-03-01",
    "2019-07-01", "2019-12-01", "2020-06-01", "2020-12-01", "2021-03-01", "2021-04-01",
    "2021-07-01", "2021-11-01", "2022-03-01", "2022-08-01", "2022-11-01", "2023-03-01",
    "2023-07-01", "2023-09-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-04-01",
    "2026-04-01",
)  # fmt: skip
_DISK_RP = (
    "2016-04-30-preview", "2017-03-30", "2018-04-01", "2018-06-01", "2018-09-30", "2019-03-01",
    "2019-07-01", "2019-11-01", "2020-05-01", "2020-06-30", "2020-09-30", "2020-12-01",
    "2021-04-01", "2021-08-01", "2021-12-01", "2022-03-02", "2022-07-02", "2023-01-02",
    "2023-04-02", "2023-10-02", "2024-03-02", "2025-01-02", "2026-03-02",
)  # fmt: skip
_GALLERY_RP = (
    "2018-06-01", "2019-03-01", "2019-07-01", "2019-12-01", "2020-09-30", "2021-07-01",
    "2021-10-01", "2022-01-03", "2022-03-03", "2022-08-03", "2023-07-03", "2024-03-03",
    "2025-03-03", "2026-03-03",
)  # fmt: skip
_SHARED_GALLERIES = tuple(v for v in _GALLERY_RP if v >= "2020-09-30")
_COMMUNITY_GALLERIES = tuple(v for v in _GALLERY_RP if v >= "2021-07-01")
_STORAGE = (
    "2015-05-01-preview", "2015-06-15", "2016-01-01", "2016-05-01", "2016-12-01", "2017-06-01",
    "2017-10-01", "2018-02-01", "2018-03-01-preview", "2018-07-01", "2018-11-01", "2019-04-01",
    "2019-06-01", "2020-08-01-preview", "2021-01-01", "2021-02-01", "2021-04-01", "2021-06-01",
    "2021-08-01", "2021-09-01", "2022-05-01", "2022-09-01", "2023-01-01", "2023-04-01",
    "2023-05-01", "2024-01-01", "2025-01-01", "2025-06-01", "2025-08-01", "2026-04-01",
    "2026-06-01", "2026-09-01",
)  # fmt: skip
# Blob containers came with the blob service (blob.json), first in 2018-02-01.
_BLOB_CONTAINERS = tuple(v for v in _STORAGE if v >= "2018-02-01")
_RESOURCES = (
    "2015-11-01", "2016-02-01", "2016-07-01", "2016-09-01", "2017-05-10", "2018-02-01",
    "2018-05-01", "2019-03-01", "2019-05-01", "2019-05-10", "2019-07-01", "2019-08-01",
    "2019-10-01", "2020-06-01", "2020-08-01", "2020-10-01", "2021-01-01", "2021-04-01",
    "2022-09-01", "2023-07-01", "2024-03-01", "2024-07-01", "2024-11-01", "2025-03-01",
    "2025-04-01",
)  # fmt: skip
_SUBSCRIPTIONS = (
    "2015-11-01", "2016-06-01", "2018-06-01", "2019-06-01", "2019-11-01", "2020-01-01",
    "2021-01-01", "2022-12-01",
)  # fmt: skip
_RESOURCE_GRAPH = (
    "2018-09-01-preview", "2019-04-01", "2020-04-01-preview", "2021-03-01", "2021-06-01-preview",
    "2022-10-01", "2023-09-01-preview", "2024-04-01",
)  # fmt: skip
_MARKETPLACE_ORDERING = ("2015-06-01", "2021-01-01")
_SKUS = ("2017-03-30", "2017-09-01", "2019-04-01", "2021-07-01")
_NETWORK = (
    "2023-04-01", "2023-05-01", "2023-06-01", "2023-09-01", "2023-11-01", "2024-01-01",
    "2024-03-01", "2024-05-01",
)  # fmt: skip

# A resource provider's types, by "Namespace/type" (nested types joined by "/"); ARM names the
# part after the namespace in NoRegisteredProviderFound.
PROVIDER_TYPES: dict[str, tuple[str, ...]] = {
    "Microsoft.Compute/virtualMachines": _COMPUTE_RP,
    "Microsoft.Compute/images": _COMPUTE_RP,
    "Microsoft.Compute/locations/publishers": _COMPUTE_RP,
    "Microsoft.Compute/disks": _DISK_RP,
    "Microsoft.Compute/snapshots": _DISK_RP,
    "Microsoft.Compute/galleries": _GALLERY_RP,
    "Microsoft.Compute/galleries/images": _GALLERY_RP,
    "Microsoft.Compute/galleries/images/versions": _GALLERY_RP,
    "Microsoft.Compute/locations/sharedGalleries": _SHARED_GALLERIES,
    "Microsoft.Compute/locations/communityGalleries": _COMMUNITY_GALLERIES,
    # The sandbox polls every Compute LRO (VMs, disks, galleries) on one operations path, with
    # the api-version of the request that started it, so it takes all three RPs' versions.
    "Microsoft.Compute/locations/operations": tuple(
        sorted(set(_COMPUTE_RP) | set(_DISK_RP) | set(_GALLERY_RP))
    ),
    "Microsoft.Storage/storageAccounts": _STORAGE,
    "Microsoft.Storage/storageAccounts/blobServices/containers": _BLOB_CONTAINERS,
    "Microsoft.ResourceGraph/resources": _RESOURCE_GRAPH,
    # Terms are read at offerTypes/.../agreements/current and cancelled at agreements/...: both
    # are the provider's, with one list of api-versions.
    "Microsoft.MarketplaceOrdering/offerTypes": _MARKETPLACE_ORDERING,
    "Microsoft.MarketplaceOrdering/agreements": _MARKETPLACE_ORDERING,
    "Microsoft.Compute/skus": _SKUS,
    "Microsoft.Network/virtualNetworks": _NETWORK,
    "Microsoft.Network/virtualNetworks/subnets": _NETWORK,
    "Microsoft.Network/networkInterfaces": _NETWORK,
    "Microsoft.Network/publicIPAddresses": _NETWORK,
}
_BY_LOWER = {name.lower(): name for name in PROVIDER_TYPES}

# ARM's own routes (no provider segment): subscriptions, their locations, tenants; and resource
# groups, which ARM serves itself too and refuses with InvalidApiVersionParameter.
_ARM_ROUTES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"^/subscriptions/[^/]+/resourcegroups(/[^/]+)?/?$", re.I), _RESOURCES),
    (re.compile(r"^/(tenants|subscriptions)(/[^/]+(/locations)?)?/?$", re.I), _SUBSCRIPTIONS),
)

_PROVIDER = re.compile(r"/providers/([^/]+)((?:/[^/]+)*)$", re.I)


@dataclass(frozen=True)
class Served:
    """What serves a path: a provider's resource type (``Microsoft.Compute/disks``), or ARM."""

    resource_type: str  # "disks", "galleries/images"; "" for ARM's own routes
    versions: tuple[str, ...]

    @property
    def by_provider(self) -> bool:
        return bool(self.resource_type)


def served(path: str) -> Served | None:
    """The resource type behind ``path`` and the api-versions Azure serves for it; None when the
    sandbox does not know the type (its router answers those)."""
    for pattern, versions in _ARM_ROUTES:
        if pattern.match(path):
            return Served("", versions)
    m = _PROVIDER.search(path.rstrip("/"))
    if m is None:
        return None
    namespace = m.group(1)
    segments = m.group(2).strip("/").split("/") if m.group(2).strip("/") else []
    # Type names sit at the even positions (type/name/type/name...); a trailing odd segment is an
    # action (runCommand, listKeys, beginGetAccess) or a collection, both of the same type.
    types = segments[0::2]
    key = f"{namespace}/{'/'.join(types)}".lower()
    # VM images: locations/{l}/publishers/{p}/artifacttypes/vmimage/offers/... are one type.
    if key.startswith("microsoft.compute/locations/publishers"):
        key = "microsoft.compute/locations/publishers"
    for shared in ("sharedgalleries", "communitygalleries"):
        if key.startswith(f"microsoft.compute/locations/{shared}"):
            key = f"microsoft.compute/locations/{shared}"
    while key not in _BY_LOWER and "/" in key.partition("/")[2]:
        key = key.rsplit("/", 1)[0]  # an action or child collection: its parent's type
    name = _BY_LOWER.get(key)
    if name is None:
        return None
    return Served(name.partition("/")[2], PROVIDER_TYPES[name])


# The Marketplace Catalog data plane (catalogapi.azure.com) is not ARM: no resource types, one
# api-version for its Search and Products routes. specification/marketplacecatalog/data-plane/
# Search/stable/2025-05-01/openapi.json and .../Products/stable/2025-05-01/openapi.json (read at
# commits 067257372a43dc5c7474e424819e1cdf025dc9a2 and 0096944a3499eae085d651b2a164ec65b02d8c98).
# Older
# versions (2022-02-02, 2023-01-01-preview, 2023-05-01-preview) exist on Azure with other paths
# and shapes (``/products/{id}``, ``items``/``nextPageLink``); the sandbox answers only the
# 2025-05-01 shapes, so it refuses those rather than answer them wrongly.
CATALOG_API_VERSIONS: tuple[str, ...] = ("2025-05-01",)

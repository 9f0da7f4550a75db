"""Which schema checks which request: the sandbox's write operations, matched on (method, path).

Kept apart from the handlers so the contract is one table: a route that takes a body and is not
listed here (or in ``BODILESS``) fails ``tests/sandbox/test_contract_enforcement.py``.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

from gui.sandbox.arm.routing import compile_template

if TYPE_CHECKING:
    from gui.sandbox.contract.validation import BodySchema

_RG = "/subscriptions/{sub}/resourceGroups/{rg}"
_COMPUTE = _RG + "/providers/Microsoft.Compute"
_GALLERY = _COMPUTE + "/galleries/{gallery}"
_ACCOUNT = _RG + "/providers/Microsoft.Storage/storageAccounts/{name}"
_ORDERING = "/subscriptions/{sub}/providers/Microsoft.MarketplaceOrdering"
_AGREEMENT = _ORDERING + "/agreements/{publisher}/offers/{offer}/plans/{plan}"
_NETWORK = _RG + "/providers/Microsoft.Network"

# (method, path template, schema file in schemas/ without ".json")
OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("PUT", "/subscriptions/{sub}/resourcegroups/{rg}", "ResourceGroups_CreateOrUpdate"),
    ("PUT", _COMPUTE + "/images/{name}", "Images_CreateOrUpdate"),
    ("PUT", _GALLERY, "Galleries_CreateOrUpdate"),
    ("PUT", _GALLERY + "/images/{image}", "GalleryImages_CreateOrUpdate"),
    ("PUT", _GALLERY + "/images/{image}/versions/{version}", "GalleryImageVersions_CreateOrUpdate"),
    ("PATCH", _GALLERY + "/images/{image}", "GalleryImages_Update"),
    ("PATCH", _GALLERY + "/images/{image}/versions/{version}", "GalleryImageVersions_Update"),
    ("PUT", _COMPUTE + "/disks/{name}", "Disks_CreateOrUpdate"),
    ("POST", _COMPUTE + "/disks/{name}/beginGetAccess", "Disks_GrantAccess"),
    ("PUT", _COMPUTE + "/snapshots/{name}", "Snapshots_CreateOrUpdate"),
    ("POST", _COMPUTE + "/snapshots/{name}/beginGetAccess", "Snapshots_GrantAccess"),
    ("POST", _COMPUTE + "/virtualMachines/{name}/runCommand", "VirtualMachines_RunCommand"),
    ("PUT", _COMPUTE + "/virtualMachines/{name}", "VirtualMachines_CreateOrUpdate"),
    ("PUT", _NETWORK + "/virtualNetworks/{name}", "VirtualNetworks_CreateOrUpdate"),
    ("PUT", _NETWORK + "/networkInterfaces/{name}", "NetworkInterfaces_CreateOrUpdate"),
    ("PUT", _NETWORK + "/publicIPAddresses/{name}", "PublicIPAddresses_CreateOrUpdate"),
    ("POST", "/providers/Microsoft.ResourceGraph/resources", "Resources"),
    ("PUT", _ACCOUNT + "/blobServices/default/containers/{container}", "BlobContainers_Create"),
    (
        "PUT",
        _ORDERING + "/offerTypes/{offer_type}/publishers/{publisher}/offers/{offer}/plans/{plan}"
        "/agreements/current",
        "MarketplaceAgreements_Create",
    ),
)

# Writes whose spec has no request body.
BODILESS: tuple[tuple[str, str], ...] = (
    ("POST", _COMPUTE + "/disks/{name}/endGetAccess"),
    ("POST", _COMPUTE + "/snapshots/{name}/endGetAccess"),
    ("POST", _ACCOUNT + "/listKeys"),
    ("POST", _AGREEMENT + "/cancel"),
    ("POST", _AGREEMENT + "/sign"),
    *(
        ("POST", _COMPUTE + f"/virtualMachines/{{name}}/{action}")
        for action in ("deallocate", "powerOff", "start", "generalize",
                       "retrieveBootDiagnosticsData")
    ),
)


@cache
def _table() -> tuple[tuple[str, re.Pattern[str], BodySchema], ...]:
    # Compiled once, on the first write the sandbox serves. jsonschema is imported here, not at
    # the top: it costs 100-250 ms to import, which the sandbox's start would otherwise pay
    # (compiling the schemas themselves takes about 6 ms).
    from gui.sandbox.contract.validation import BodySchema

    return tuple(
        (method, compile_template(template), BodySchema.load(name))
        for method, template, name in OPERATIONS
    )


def load_schemas() -> None:
    """Compile every schema now rather than on the first write."""
    _table()


def schema_for(method: str, path: str) -> BodySchema | None:
    """The body schema of the operation at (method, path), if it has one."""
    method = method.upper()
    if method not in ("PUT", "POST", "PATCH"):
        return None
    for wanted, pattern, schema in _table():
        if wanted == method and pattern.match(path):
            return schema
    return None

"""Hand-offs: the selected image as an `az vm create` command, as a Bicep file, or in the portal.

An administrator who found an image here often finishes elsewhere: a pipeline (az CLI), an
infrastructure-as-code repository (Bicep), or the portal for a colleague. Each hand-off creates
a VM from exactly the image that is selected, with what the image needs: its reference in the
form that source takes, its purchase plan and the terms to accept first, a size of its
architecture, the security type it supports, and no OS profile for a specialized image (Azure
refuses one there).

Qt-free; the window copies the text to the clipboard or opens the URL.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from gui.azure.account.clouds import Cloud
from gui.azure.catalog.nodes import ImageDetail, PurchasePlan, SourceKind
from gui.i18n import QT_TR_NOOP, Message, Render, message

# Sizes that run every generation and security type of their architecture (D-series v5: Gen1
# and Gen2, Trusted launch; the 'p' sizes are Ampere Arm64, Gen2 only).
DEFAULT_SIZE_X64 = "Standard_D2s_v5"
DEFAULT_SIZE_ARM64 = "Standard_D2ps_v5"
DEFAULT_ADMIN = "azureuser"
# The API versions the Bicep names: current GA versions of the three resource types.
COMPUTE_API = "2024-07-01"
NETWORK_API = "2024-05-01"


class ReferenceKind(StrEnum):
    MARKETPLACE = "marketplace"  # publisher:offer:sku:version
    RESOURCE_ID = "id"  # a managed image or an own gallery's version
    COMMUNITY = "community"  # /CommunityGalleries/{public name}/Images/{image}/Versions/{v}
    SHARED = "shared"  # /SharedGalleries/{unique name}/Images/{image}/Versions/{v}


@dataclass(frozen=True)
class ImageReference:
    kind: ReferenceKind
    value: str  # the URN or the ID, as az's --image takes it

    @property
    def urn_parts(self) -> tuple[str, str, str, str]:
        publisher, offer, sku, version = self.value.split(":")
        return publisher, offer, sku, version


class HandoffError(ValueError):
    """The selection cannot be handed off (not an image, or an image without a usable ID)."""

    def __init__(self, text: Message) -> None:
        super().__init__(text.english())
        self.text = text

    def localized(self, render: Render) -> str:
        return render(self.text)


@dataclass(frozen=True)
class VmRecipe:
    """What a VM created from the image needs, derived once for every hand-off."""

    reference: ImageReference
    location: str
    linux: bool
    specialized: bool
    arm64: bool
    trusted_launch: bool
    plan: PurchasePlan | None

    @property
    def size(self) -> str:
        return DEFAULT_SIZE_ARM64 if self.arm64 else DEFAULT_SIZE_X64


_GALLERY_ID = re.compile(r"^/(Community|Shared)Galleries/[^/]+/Images/[^/]+/Versions/[^/]+$", re.I)


def image_reference(detail: ImageDetail) -> ImageReference:
    """The image as a VM's storageProfile.imageReference names it, per source."""
    source = detail.ref.source
    if source is SourceKind.MARKETPLACE:
        if len(detail.ref.parts) != 4:
            raise HandoffError(
                message(QT_TR_NOOP("Choose a Marketplace image version to hand off."))
            )
        return ImageReference(ReferenceKind.MARKETPLACE, ":".join(detail.ref.parts))
    if source in (SourceKind.COMMUNITY, SourceKind.SHARED):
        if not _GALLERY_ID.match(detail.resource_id):
            raise HandoffError(
                message(
                    QT_TR_NOOP(
                        "This gallery image version has no public ID; choose a version of "
                        "the image."
                    )
                )
            )
        kind = ReferenceKind.COMMUNITY if source is SourceKind.COMMUNITY else ReferenceKind.SHARED
        return ImageReference(kind, detail.resource_id)
    if source in (SourceKind.MANAGED, SourceKind.GALLERY) and detail.resource_id:
        return ImageReference(ReferenceKind.RESOURCE_ID, detail.resource_id)
    raise HandoffError(
        message(QT_TR_NOOP("Only images and image versions can be handed off as a VM create."))
    )


def recipe(detail: ImageDetail, plan: PurchasePlan | None = None) -> VmRecipe:
    security = str(detail.security_type).casefold()
    generation2 = "v2" in detail.hyper_v_generation.casefold()
    return VmRecipe(
        reference=image_reference(detail),
        location=detail.location,
        linux=detail.os_type.casefold() == "linux",
        specialized=str(detail.os_state).casefold() == "specialized",
        arm64=detail.architecture.casefold() == "arm64",
        # Trusted launch where the image allows it (Gen2 only); a Confidential-VM-only image
        # needs sizes and keys this short recipe does not choose, so it keeps Standard.
        trusted_launch=generation2 and "trusted launch" in security,
        plan=plan if plan is not None else detail.plan,
    )


# ---- az CLI ---------------------------------------------------------------------------------


def az_vm_create(
    detail: ImageDetail,
    *,
    plan: PurchasePlan | None = None,
    name: str = "vm-from-image",
    resource_group: str = "rg-vm-from-image",
) -> str:
    """A shell snippet that creates a VM from the image (bash line continuations).

    A Marketplace image with a plan gets the terms accepted first (az vm create refuses
    otherwise); a Windows image's password is left to az's own prompt, never written down."""
    vm = recipe(detail, plan)
    lines: list[list[str]] = []
    if vm.plan is not None and vm.reference.kind is ReferenceKind.MARKETPLACE:
        lines.append(["az", "vm", "image", "terms", "accept", "--urn", vm.reference.value])
    args = [
        "az", "vm", "create",
        "--resource-group", resource_group,
        "--name", name,
        "--image", vm.reference.value,
        "--size", vm.size,
    ]  # fmt: skip
    if vm.location:
        args += ["--location", vm.location]
    if vm.specialized:
        args.append("--specialized")
    elif vm.linux:
        args += ["--admin-username", DEFAULT_ADMIN, "--generate-ssh-keys"]
    else:
        args += ["--admin-username", DEFAULT_ADMIN]
    if vm.trusted_launch:
        args += ["--security-type", "TrustedLaunch"]
    else:
        args += ["--security-type", "Standard"]
    if vm.plan is not None and vm.reference.kind is not ReferenceKind.MARKETPLACE:
        # A gallery image made from a plan image: az cannot look the plan up there.
        args += [
            "--plan-publisher", vm.plan.publisher,
            "--plan-product", vm.plan.product,
            "--plan-name", vm.plan.name,
        ]  # fmt: skip
    lines.append(args)
    return "\n".join(_shell_lines(line) for line in lines) + "\n"


def _shell_lines(args: list[str]) -> str:
    """One command, an option and its value per line, joined with bash continuations."""
    head: list[str] = []
    rest = list(args)
    while rest and not rest[0].startswith("--"):
        head.append(rest.pop(0))
    groups = [" ".join(shlex.quote(a) for a in head)]
    while rest:
        option = rest.pop(0)
        value = rest.pop(0) if rest and not rest[0].startswith("--") else None
        groups.append(shlex.quote(option) + ("" if value is None else " " + shlex.quote(value)))
    return " \\\n  ".join(groups)


# ---- Bicep ----------------------------------------------------------------------------------


def _bicep_string(value: str) -> str:
    """A Bicep single-quoted string literal ('' and \\ escaped, ${ kept literal)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("${", "\\${")
    return f"'{escaped}'"


def _image_reference_bicep(reference: ImageReference) -> list[str]:
    if reference.kind is ReferenceKind.MARKETPLACE:
        publisher, offer, sku, version = reference.urn_parts
        return [
            f"publisher: {_bicep_string(publisher)}",
            f"offer: {_bicep_string(offer)}",
            f"sku: {_bicep_string(sku)}",
            f"version: {_bicep_string(version)}",
        ]
    key = {
        ReferenceKind.RESOURCE_ID: "id",
        ReferenceKind.COMMUNITY: "communityGalleryImageId",
        ReferenceKind.SHARED: "sharedGalleryImageId",
    }[reference.kind]
    return [f"{key}: {_bicep_string(reference.value)}"]


def bicep_vm(detail: ImageDetail, *, plan: PurchasePlan | None = None) -> str:
    """A deployable Bicep file: a virtual network, a NIC and a VM made from the image.

    Secrets are parameters marked @secure(), never values in the file."""
    vm = recipe(detail, plan)
    out: list[str] = [
        f"// A VM from {detail.title}, written by Azure Image Studio.",
        "// Deploy: az deployment group create -g <group> --template-file <this file>",
        "",
        "@description('Name of the virtual machine.')",
        "param vmName string = 'vm-from-image'",
        "",
        "@description('Region of the VM; the image must be available there.')",
        f"param location string = {_bicep_string(vm.location or 'westeurope')}",
        "",
        "@description('VM size; it must support the image\\'s architecture and generation.')",
        f"param vmSize string = {_bicep_string(vm.size)}",
        "",
    ]
    if not vm.specialized:
        out += [
            "@description('Name of the administrator account.')",
            f"param adminUsername string = {_bicep_string(DEFAULT_ADMIN)}",
            "",
        ]
        if vm.linux:
            out += [
                "@description('The administrator\\'s SSH public key (ssh-ed25519 ...).')",
                "@secure()",
                "param adminPublicKey string",
                "",
            ]
        else:
            out += [
                "@description('The administrator\\'s password (12 to 123 characters, 3 of: "
                "lower, upper, digit, symbol).')",
                "@secure()",
                "param adminPassword string",
                "",
            ]
    out += [
        f"resource vnet 'Microsoft.Network/virtualNetworks@{NETWORK_API}' = {{",
        "  name: '${vmName}-vnet'",
        "  location: location",
        "  properties: {",
        "    addressSpace: {",
        "      addressPrefixes: [",
        "        '10.0.0.0/16'",
        "      ]",
        "    }",
        "    subnets: [",
        "      {",
        "        name: 'default'",
        "        properties: {",
        "          addressPrefix: '10.0.0.0/24'",
        "        }",
        "      }",
        "    ]",
        "  }",
        "}",
        "",
        f"resource nic 'Microsoft.Network/networkInterfaces@{NETWORK_API}' = {{",
        "  name: '${vmName}-nic'",
        "  location: location",
        "  properties: {",
        "    ipConfigurations: [",
        "      {",
        "        name: 'ipconfig1'",
        "        properties: {",
        "          privateIPAllocationMethod: 'Dynamic'",
        "          subnet: {",
        "            id: vnet.properties.subnets[0].id",
        "          }",
        "        }",
        "      }",
        "    ]",
        "  }",
        "}",
        "",
        f"resource vm 'Microsoft.Compute/virtualMachines@{COMPUTE_API}' = {{",
        "  name: vmName",
        "  location: location",
    ]
    if vm.plan is not None:
        out += [
            "  plan: {",
            f"    publisher: {_bicep_string(vm.plan.publisher)}",
            f"    product: {_bicep_string(vm.plan.product)}",
            f"    name: {_bicep_string(vm.plan.name)}",
            "  }",
        ]
    out += [
        "  properties: {",
        "    hardwareProfile: {",
        "      vmSize: vmSize",
        "    }",
        "    storageProfile: {",
        "      imageReference: {",
        *(f"        {line}" for line in _image_reference_bicep(vm.reference)),
        "      }",
        "      osDisk: {",
        "        createOption: 'FromImage'",
        "        managedDisk: {",
        "          storageAccountType: 'Premium_LRS'",
        "        }",
        "      }",
        "    }",
    ]
    if not vm.specialized:
        out += ["    osProfile: {", "      computerName: take(vmName, 15)",
                "      adminUsername: adminUsername"]  # fmt: skip
        if vm.linux:
            out += [
                "      linuxConfiguration: {",
                "        disablePasswordAuthentication: true",
                "        ssh: {",
                "          publicKeys: [",
                "            {",
                "              path: '/home/${adminUsername}/.ssh/authorized_keys'",
                "              keyData: adminPublicKey",
                "            }",
                "          ]",
                "        }",
                "      }",
            ]
        else:
            out += ["      adminPassword: adminPassword"]
        out += ["    }"]
    out += [
        "    networkProfile: {",
        "      networkInterfaces: [",
        "        {",
        "          id: nic.id",
        "        }",
        "      ]",
        "    }",
    ]
    if vm.trusted_launch:
        out += [
            "    securityProfile: {",
            "      securityType: 'TrustedLaunch'",
            "      uefiSettings: {",
            "        secureBootEnabled: true",
            "        vTpmEnabled: true",
            "      }",
            "    }",
        ]
    out += [
        "    diagnosticsProfile: {",
        "      bootDiagnostics: {",
        "        enabled: true",
        "      }",
        "    }",
        "  }",
        "}",
        "",
        "output vmId string = vm.id",
        "",
    ]
    return "\n".join(out)


# ---- the portal -----------------------------------------------------------------------------


MARKETPLACE_WEB = "https://azuremarketplace.microsoft.com/marketplace/apps"


def portal_url(detail: ImageDetail, cloud: Cloud, tenant_id: str | None = None) -> str | None:
    """The image's page for people, or None where there is none to show.

    Resources with an ARM ID (managed images, own gallery versions, VMs) open their resource
    blade in the cloud's portal, in the signed-in tenant when known (#@tenant), so a user in
    several directories lands in the right one. A Marketplace image opens its offer's page in
    Azure Marketplace (global Azure only: the sovereign clouds' marketplaces have no public
    pages). Community and shared gallery versions have no page of their own."""
    source = detail.ref.source
    if source is SourceKind.MARKETPLACE:
        if cloud.name != "AzureCloud" or len(detail.ref.parts) < 2:
            return None
        publisher, offer = detail.ref.parts[0], detail.ref.parts[1]
        return f"{MARKETPLACE_WEB}/{quote(f'{publisher}.{offer}'.lower(), safe='.-_')}"
    if not cloud.portal or source not in (SourceKind.MANAGED, SourceKind.GALLERY, SourceKind.VMS):
        return None
    resource_id = detail.resource_id
    if not resource_id.lower().startswith("/subscriptions/"):
        return None
    tenant = f"@{tenant_id}/" if tenant_id else ""
    return (
        f"{cloud.portal.rstrip('/')}/#{tenant}resource{quote(resource_id, safe='/-_.()')}/overview"
    )

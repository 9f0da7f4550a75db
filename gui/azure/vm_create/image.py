"""What a VM made from an image needs, read from the image's detail."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gui.azure.catalog.nodes import ImageDetail, PurchasePlan
from gui.azure.handoff import ImageReference, ReferenceKind, image_reference


class SecurityType(StrEnum):
    STANDARD = "Standard"
    TRUSTED_LAUNCH = "TrustedLaunch"
    CONFIDENTIAL = "ConfidentialVM"


def image_plan(detail: ImageDetail) -> PurchasePlan | None:
    """The image's purchase plan (a Marketplace image's, or a definition's made from one)."""
    return detail.plan


@dataclass(frozen=True)
class ImageNeeds:
    """The image as a VM sees it: how to name it, and what the VM's size and profile must be."""

    reference: ImageReference
    title: str
    location: str
    linux: bool
    specialized: bool
    generation: str  # "V1" | "V2"
    architecture: str  # "x64" | "Arm64"
    security_types: tuple[SecurityType, ...]  # what the image allows, the default first
    plan: PurchasePlan | None

    @property
    def is_marketplace(self) -> bool:
        return self.reference.kind is ReferenceKind.MARKETPLACE

    def image_reference_body(self) -> dict[str, str]:
        """storageProfile.imageReference for this image."""
        ref = self.reference
        if ref.kind is ReferenceKind.MARKETPLACE:
            publisher, offer, sku, version = ref.urn_parts
            return {"publisher": publisher, "offer": offer, "sku": sku, "version": version}
        key = {
            ReferenceKind.RESOURCE_ID: "id",
            ReferenceKind.COMMUNITY: "communityGalleryImageId",
            ReferenceKind.SHARED: "sharedGalleryImageId",
        }[ref.kind]
        return {key: ref.value}


# The detail shows the SecurityType feature in the portal's words (gui/azure/catalog/service.py);
# both spellings lead to what a VM from the image may use, the recommended one first.
_ALLOWED: dict[str, tuple[SecurityType, ...]] = {
    "trustedlaunch": (SecurityType.TRUSTED_LAUNCH,),
    "confidentialvm": (SecurityType.CONFIDENTIAL,),
    "confidentialvmsupported": (SecurityType.STANDARD, SecurityType.CONFIDENTIAL),
    "standardorconfidentialvm": (SecurityType.STANDARD, SecurityType.CONFIDENTIAL),
    "trustedlaunchandconfidentialvmsupported": (
        SecurityType.TRUSTED_LAUNCH, SecurityType.STANDARD, SecurityType.CONFIDENTIAL),
    "standard,trustedlaunchorconfidentialvm": (
        SecurityType.TRUSTED_LAUNCH, SecurityType.STANDARD, SecurityType.CONFIDENTIAL),
}  # fmt: skip


def security_types(generation: str, security: str) -> tuple[SecurityType, ...]:
    """What the image's SecurityType feature allows, the recommended one first."""
    if "v2" not in generation.casefold():
        return (SecurityType.STANDARD,)
    key = str(security).casefold().replace(" ", "")
    # Gen2 images without the feature (and "TrustedLaunchSupported") boot in Trusted launch,
    # which Azure recommends (and makes its default).
    return _ALLOWED.get(key, (SecurityType.TRUSTED_LAUNCH, SecurityType.STANDARD))


def image_needs(detail: ImageDetail) -> ImageNeeds:
    """Raises gui.azure.handoff.HandoffError for a node that is not an image (version)."""
    generation = "V2" if "v2" in detail.hyper_v_generation.casefold() else "V1"
    return ImageNeeds(
        reference=image_reference(detail),
        title=detail.title,
        location=detail.location,
        linux=detail.os_type.casefold() == "linux",
        specialized=str(detail.os_state).casefold() == "specialized",
        generation=generation,
        architecture="Arm64" if detail.architecture.casefold() == "arm64" else "x64",
        security_types=security_types(generation, str(detail.security_type)),
        plan=image_plan(detail),
    )

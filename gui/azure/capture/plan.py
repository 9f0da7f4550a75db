"""A capture plan (what the user chose) and its validation (what Azure would refuse, and why).

Validation is a pure function of the plan and of facts read from Azure beforehand (the existing
definition, versions, images and galleries), so the wizard can show every reason on the page
and the executor can check again, with fresh facts, before it changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

from gui.azure import naming
from gui.azure.capture.vms import VmDisk, VmInfo
from gui.azure.image_builder import DefinitionSpec
from gui.i18n import QT_TR_NOOP, Text, message

WINDOWS_SYSPREP = r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown"
WINDOWS_SYSPREP_VM = WINDOWS_SYSPREP + " /mode:vm"
LINUX_DEPROVISION = "sudo waagent -deprovision+user"
MAX_REPLICAS = 100

# Security types of a gallery image definition that accept a VM of each security type.
_DEFINITION_ACCEPTS: dict[str, frozenset[str]] = {
    "Standard": frozenset({"Standard", "TrustedLaunchSupported", "ConfidentialVmSupported",
                          "TrustedLaunchAndConfidentialVmSupported"}),
    "TrustedLaunch": frozenset({"TrustedLaunch", "TrustedLaunchSupported",
                               "TrustedLaunchAndConfidentialVmSupported"}),
    "ConfidentialVM": frozenset({"ConfidentialVM", "ConfidentialVmSupported",
                                "TrustedLaunchAndConfidentialVmSupported"}),
}  # fmt: skip


class Generalization(StrEnum):
    RUN_COMMAND = "run-command"  # we run sysprep / waagent through Run Command and wait
    CONFIRMED = "confirmed"  # the user generalized the guest already
    SPECIALIZED = "specialized"  # capture as is (gallery only)


class TargetKind(StrEnum):
    MANAGED_IMAGE = "managed-image"
    GALLERY_VERSION = "gallery-version"


@dataclass(frozen=True)
class RegionReplicas:
    region: str  # short name, e.g. westeurope
    replicas: int = 1


# An image definition as validation needs it (existing, or the one the plan creates): the same
# facts the upload wizard checks a disk against.
DefinitionInfo = DefinitionSpec


@dataclass(frozen=True)
class GalleryInfo:
    resource_group: str
    name: str
    location: str


@dataclass(frozen=True, kw_only=True)
class Preparation:
    """The prepare page's part of a plan: how the VM is made ready, which disks are backed up."""

    generalization: Generalization
    snapshot_disk_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CaptureTarget:
    """The target page's part of a plan: where the image goes and what happens to the VM."""

    target: TargetKind
    resource_group: str  # where the image, or the gallery, lives
    image_name: str = ""
    gallery_name: str = ""
    create_gallery: bool = False
    definition_name: str = ""
    create_definition: bool = False
    publisher: str = ""
    offer: str = ""
    sku: str = ""
    version: str = ""
    regions: tuple[RegionReplicas, ...] = ()
    exclude_from_latest: bool = False
    end_of_life: date | None = None
    delete_vm_after: bool = False


def _fields_of(part: Preparation | CaptureTarget) -> dict[str, Any]:
    # Not dataclasses.asdict: that would turn the nested RegionReplicas into dicts.
    return {f.name: getattr(part, f.name) for f in fields(part)}


@dataclass(frozen=True, kw_only=True)
class CapturePlan(Preparation, CaptureTarget):
    """The whole capture: the VM and every page's part."""

    vm: VmInfo
    snapshot_suffix: str = "precapture"

    @classmethod
    def compose(
        cls,
        vm: VmInfo,
        preparation: Preparation,
        target: CaptureTarget,
        snapshot_suffix: str = "precapture",
    ) -> CapturePlan:
        return cls(
            vm=vm,
            snapshot_suffix=snapshot_suffix,
            **_fields_of(preparation),
            **_fields_of(target),
        )

    @property
    def os_state(self) -> str:
        return "Specialized" if self.generalization is Generalization.SPECIALIZED else "Generalized"

    @property
    def target_regions(self) -> tuple[RegionReplicas, ...]:
        """The chosen regions with the source region always first."""
        source = self.vm.location.lower()
        chosen = [r for r in self.regions if r.region.lower() != source]
        own = next((r for r in self.regions if r.region.lower() == source), None)
        return (own or RegionReplicas(source, 1), *chosen)

    @property
    def snapshot_disks(self) -> tuple[VmDisk, ...]:
        wanted = {disk_id.lower() for disk_id in self.snapshot_disk_ids}
        return tuple(disk for disk in self.vm.disks if disk.id.lower() in wanted)

    def snapshot_name(self, disk: VmDisk) -> str:
        role = "os" if disk.lun is None else f"lun{disk.lun}"
        base = f"{self.vm.name}-{role}-{self.snapshot_suffix}"
        return base[:80].rstrip(".-")

    @property
    def new_definition(self) -> DefinitionInfo:
        """The definition the plan creates: described by the VM, so it always matches it."""
        return DefinitionInfo(
            name=self.definition_name,
            os_type=self.vm.os_type,
            os_state=self.os_state,
            hyper_v_generation=self.vm.hyper_v_generation,
            security_type=self.vm.security_type,
            architecture=self.vm.architecture,
            publisher=self.publisher,
            offer=self.offer,
            sku=self.sku,
            plan=self.vm.plan,
        )

    @property
    def runs_generalization(self) -> bool:
        return self.generalization is Generalization.RUN_COMMAND and not self.vm.generalized

    @property
    def marks_generalized(self) -> bool:
        return self.generalization is not Generalization.SPECIALIZED and not self.vm.generalized


@dataclass(frozen=True)
class TargetFacts:
    """What exists in Azure that the plan depends on; read just before validating."""

    resource_groups: frozenset[str] = frozenset()  # lower-cased names
    image_names: frozenset[str] = frozenset()  # lower-cased, in the plan's resource group
    galleries: tuple[GalleryInfo, ...] = ()
    definitions: tuple[DefinitionInfo, ...] = ()  # of the chosen gallery
    versions: frozenset[str] = frozenset()  # of the chosen definition
    snapshot_names: frozenset[str] = frozenset()  # lower-cased, in the VM's resource group

    def gallery(self, resource_group: str, name: str) -> GalleryInfo | None:
        return next(
            (
                g
                for g in self.galleries
                if g.name.lower() == name.lower()
                and g.resource_group.lower() == resource_group.lower()
            ),
            None,
        )

    def definition(self, name: str) -> DefinitionInfo | None:
        return next((d for d in self.definitions if d.name.lower() == name.lower()), None)


class Field(StrEnum):
    """Where on the target page a problem belongs."""

    VM = "vm"
    PREPARE = "prepare"
    TARGET = "target"
    RESOURCE_GROUP = "resource-group"
    IMAGE_NAME = "image-name"
    GALLERY = "gallery"
    DEFINITION = "definition"
    IDENTIFIER = "identifier"
    VERSION = "version"
    REGIONS = "regions"
    END_OF_LIFE = "end-of-life"


@dataclass(frozen=True)
class Problem:
    field: Field
    message: str  # what Azure would refuse and why, and what to do


@dataclass(frozen=True)
class Validation:
    problems: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def for_field(self, which: Field) -> list[str]:
        return [p.message for p in self.problems if p.field is which]


def check_source(vm: VmInfo, generalization: Generalization) -> list[Problem]:
    """What the VM and the way it is prepared allow, whatever the target."""
    out: list[Problem] = []
    if vm.generalized and generalization is Generalization.SPECIALIZED:
        out.append(
            Problem(
                Field.PREPARE,
                Text(message(
                    QT_TR_NOOP("VM {vm} is already marked generalized in Azure, so it cannot be "
                               "captured as specialized. Choose 'I generalized it myself'."),
                    vm=vm.name)),
            )
        )
    if vm.generalized:
        return out
    if generalization is Generalization.RUN_COMMAND and vm.power_state != "running":
        out.append(
            Problem(
                Field.PREPARE,
                Text(message(
                    QT_TR_NOOP("Run Command needs a running VM, and {vm} is {state} (Azure: 'The "
                               "operation requires the VM to be running (or set to run).'). "
                               "Start the VM, or generalize it yourself and choose 'I "
                               "generalized it myself'."),
                    vm=vm.name, state=vm.power_phrase)),
            )
        )
    if generalization is Generalization.CONFIRMED and vm.is_running:
        out.append(
            Problem(
                Field.PREPARE,
                Text(message(
                    QT_TR_NOOP("VM {vm} is running. A generalized guest shuts itself down "
                               "(sysprep /shutdown) or must be shut down after waagent; Azure "
                               "refuses to mark a running VM generalized ('Operation "
                               "'generalize' is not allowed since the VM is running'). "
                               "Generalize and shut it down first, or let this wizard run the "
                               "generalization through Run Command."),
                    vm=vm.name)),
            )
        )
    return out


def _check_managed_image(plan: CapturePlan, facts: TargetFacts) -> list[Problem]:
    vm = plan.vm
    out: list[Problem] = []
    if vm.security_type in ("TrustedLaunch", "ConfidentialVM"):
        out.append(
            Problem(
                Field.TARGET,
                Text(message(
                    QT_TR_NOOP("Managed images do not support the security type {security_type} "
                               "of {vm}; Azure refuses to capture it. Capture it into a gallery "
                               "image version instead."),
                    security_type=vm.security_type, vm=vm.name)),
            )
        )
    if plan.generalization is Generalization.SPECIALIZED:
        out.append(
            Problem(
                Field.TARGET,
                Text(QT_TR_NOOP("A managed image can only be made from a generalized VM. "
                               "Generalize the VM, or capture it as specialized into a gallery "
                               "image version.")),
            )
        )
    if vm.architecture != "x64":
        out.append(
            Problem(
                Field.TARGET,
                Text(message(
                    QT_TR_NOOP("Managed images support x64 only, and {vm} is {architecture}. "
                               "Capture it into a gallery image version (with an Arm64 "
                               "definition) instead."),
                    vm=vm.name, architecture=vm.architecture)),
            )
        )
    if error := naming.image_name(plan.image_name):
        out.append(Problem(Field.IMAGE_NAME, Text(error)))
    elif plan.image_name.lower() in facts.image_names:
        out.append(
            Problem(
                Field.IMAGE_NAME,
                Text(message(
                    QT_TR_NOOP("An image named {name} already exists in resource group "
                               "{resource_group}. Choose another name."),
                    name=plan.image_name, resource_group=plan.resource_group)),
            )
        )
    return out


def _definition_mismatches(plan: CapturePlan, definition: DefinitionInfo) -> list[str]:
    vm = plan.vm
    out: list[str] = []
    pairs = (
        (Text(QT_TR_NOOP("OS type")), vm.os_type, definition.os_type),
        (Text(QT_TR_NOOP("OS state")), plan.os_state, definition.os_state),
        (Text(QT_TR_NOOP("Hyper-V generation")), vm.hyper_v_generation,
         definition.hyper_v_generation),
        (Text(QT_TR_NOOP("architecture")), vm.architecture, definition.architecture or "x64"),
    )
    for what, source, wanted in pairs:
        if source.lower() != wanted.lower():
            out.append(
                Text(message(
                    QT_TR_NOOP("The definition {definition} has {what} '{wanted}' but the "
                               "capture is '{source}' (Azure: 'different {azure_what} than the "
                               "parent gallery image')."),
                    definition=definition.name, what=what, wanted=wanted, source=source,
                    azure_what=str(what)))  # Azure's own words stay English
            )
    if vm.plan is not None and definition.plan != vm.plan:
        out.append(
            Text(message(
                QT_TR_NOOP("The VM was made from the Marketplace plan {plan}, which the "
                           "definition {definition} does not carry: Azure would refuse every VM "
                           "made from the new version. Create a new definition (it carries the "
                           "plan) or choose one made from this plan."),
                definition=definition.name,
                plan=f"{vm.plan.publisher}/{vm.plan.product}/{vm.plan.name}"))
        )
    accepted = _DEFINITION_ACCEPTS.get(vm.security_type, frozenset({vm.security_type}))
    if (definition.security_type or "Standard") not in accepted:
        out.append(
            Text(message(
                QT_TR_NOOP("The definition {definition} has security type '{security_type}', "
                           "which does not accept a VM of security type '{vm_security_type}'."),
                definition=definition.name, security_type=definition.security_type or 'Standard',
                vm_security_type=vm.security_type))
        )
    return out


def _check_gallery(plan: CapturePlan, facts: TargetFacts) -> list[Problem]:
    vm = plan.vm
    out: list[Problem] = []
    if error := naming.gallery_name(plan.gallery_name):
        out.append(Problem(Field.GALLERY, Text(error)))
    else:
        existing = facts.gallery(plan.resource_group, plan.gallery_name)
        if plan.create_gallery:
            if any(g.name.lower() == plan.gallery_name.lower() for g in facts.galleries):
                out.append(
                    Problem(
                        Field.GALLERY,
                        Text(message(
                            QT_TR_NOOP("A gallery named {gallery} already exists in this "
                                       "subscription. Pick it, or choose another name."),
                            gallery=plan.gallery_name)),
                    )
                )
        elif existing is None:
            out.append(
                Problem(
                    Field.GALLERY,
                    Text(message(
                        QT_TR_NOOP("There is no gallery {gallery} in resource group "
                                   "{resource_group}. Pick an existing gallery or create a new "
                                   "one."),
                        gallery=plan.gallery_name, resource_group=plan.resource_group)),
                )
            )
        elif existing.location.lower() != vm.location.lower():
            out.append(
                Problem(
                    Field.GALLERY,
                    Text(message(
                        QT_TR_NOOP("Gallery {gallery} is in {gallery_location}, the VM in "
                                   "{vm_location}. Azure creates an image version from a VM only "
                                   "in the VM's region; pick or create a gallery there "
                                   "(replicate to other regions below)."),
                        gallery=existing.name, gallery_location=existing.location,
                        vm_location=vm.location)),
                )
            )
    if error := naming.definition_name(plan.definition_name):
        out.append(Problem(Field.DEFINITION, Text(error)))
    elif plan.create_definition:
        if facts.definition(plan.definition_name) is not None:
            out.append(
                Problem(
                    Field.DEFINITION,
                    Text(message(
                        QT_TR_NOOP("The gallery already has a definition named {definition}. "
                                   "Pick it, or choose another name."),
                        definition=plan.definition_name)),
                )
            )
        for enter, value in (
            (Text(QT_TR_NOOP("Enter the definition's publisher.")), plan.publisher),
            (Text(QT_TR_NOOP("Enter the definition's offer.")), plan.offer),
            (Text(QT_TR_NOOP("Enter the definition's SKU.")), plan.sku),
        ):
            if not value.strip():
                out.append(Problem(Field.IDENTIFIER, enter))
        identifier = (plan.publisher.lower(), plan.offer.lower(), plan.sku.lower())
        for other in facts.definitions:
            if (other.publisher.lower(), other.offer.lower(), other.sku.lower()) == identifier:
                out.append(
                    Problem(
                        Field.IDENTIFIER,
                        Text(message(
                            QT_TR_NOOP("Definition {definition} already uses publisher/offer/SKU "
                                       "{publisher}/{offer}/{sku}; each definition of a gallery "
                                       "needs its own."),
                            definition=other.name, publisher=plan.publisher, offer=plan.offer,
                            sku=plan.sku)),
                    )
                )
    else:
        definition = facts.definition(plan.definition_name)
        if definition is None:
            if not plan.create_gallery:
                out.append(
                    Problem(
                        Field.DEFINITION,
                        Text(message(
                            QT_TR_NOOP("Gallery {gallery} has no definition {definition}. Pick "
                                       "an existing definition or create a new one."),
                            gallery=plan.gallery_name, definition=plan.definition_name)),
                    )
                )
        else:
            out += [
                Problem(Field.DEFINITION, text) for text in _definition_mismatches(plan, definition)
            ]
    if error := naming.version_name(plan.version):
        out.append(Problem(Field.VERSION, Text(error)))
    elif plan.version in facts.versions:
        higher = naming.next_version(list(facts.versions))
        out.append(
            Problem(
                Field.VERSION,
                Text(message(
                    QT_TR_NOOP("Version {version} already exists in {definition}. Versions "
                               "cannot be overwritten; use a higher one, e.g. {higher}."),
                    version=plan.version, definition=plan.definition_name, higher=higher)),
            )
        )
    seen: set[str] = set()
    for entry in plan.target_regions:
        key = entry.region.lower()
        if not key:
            out.append(Problem(Field.REGIONS, Text(QT_TR_NOOP("A target region has no name."))))
        elif key in seen:
            out.append(Problem(Field.REGIONS, Text(message(
                QT_TR_NOOP("Region {region} is listed twice."),
                region=entry.region))))
        seen.add(key)
        if not 1 <= entry.replicas <= MAX_REPLICAS:
            out.append(
                Problem(
                    Field.REGIONS,
                    Text(message(
                        QT_TR_NOOP("The replica count of {region} must be between 1 and {most}."),
                        region=entry.region, most=MAX_REPLICAS)),
                )
            )
    if plan.end_of_life is not None and plan.end_of_life <= date.today():
        out.append(
            Problem(
                Field.END_OF_LIFE,
                Text(QT_TR_NOOP("The end-of-life date must be in the future (or leave it empty).")),
            )
        )
    return out


def validate(plan: CapturePlan, facts: TargetFacts) -> Validation:
    """Every reason Azure would refuse this capture, before anything is changed."""
    problems = check_source(plan.vm, plan.generalization)
    if error := naming.resource_group_name(plan.resource_group):
        problems.append(Problem(Field.RESOURCE_GROUP, Text(error)))
    elif facts.resource_groups and plan.resource_group.lower() not in facts.resource_groups:
        problems.append(
            Problem(
                Field.RESOURCE_GROUP,
                Text(message(
                    QT_TR_NOOP("Resource group {resource_group} does not exist in this "
                               "subscription."),
                    resource_group=plan.resource_group)),
            )
        )
    if plan.target is TargetKind.MANAGED_IMAGE:
        problems += _check_managed_image(plan, facts)
    else:
        problems += _check_gallery(plan, facts)
    for disk in plan.snapshot_disks:
        name = plan.snapshot_name(disk)
        if name.lower() in facts.snapshot_names:
            problems.append(
                Problem(
                    Field.PREPARE,
                    Text(message(
                        QT_TR_NOOP("A snapshot named {name} already exists in {resource_group}."),
                        name=name, resource_group=plan.vm.resource_group)),
                )
            )
    return Validation(tuple(problems))

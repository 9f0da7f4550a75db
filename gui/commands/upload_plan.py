"""``upload --disk`` and ``upload --to URL --image/--gallery-version``: the wizard's plan, from
the command line.

The options become the same ``UploadPlan`` the upload wizard makes (``gui.azure.upload.job``):
a managed disk per disk of the file (an OVA's data disks each at the LUN its descriptor gives,
named NAME-osdisk and NAME-datadisk-LUN as the wizard names them), or one page blob by its SAS
URL; then a managed image (``--image``) or a Compute Gallery image version (``--gallery-version
GALLERY/DEF/VERSION``, replicated to ``--regions``). ``UploadJob`` runs it, so the disks, the
grant and revoke, the resume and the image steps are the wizard's own. (A page blob without an
image takes the engine alone, in upload.py, as it did before.)

Everything that can be checked before a byte moves is: Azure's naming rules
(``gui.azure.naming``), the disk SKU, the region and replica syntax, the guest's OS type and
generation (read from the disk, or given), and, once signed in, the gallery's definition
against the disk and whether the version exists. Each refusal is a ``UsageError`` (exit 2)
with one line that says what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gui.azure import naming
from gui.azure.upload import DISK_SKUS
from gui.commands.options import UsageError

if TYPE_CHECKING:
    from gui.azure.account.session import AzureSession
    from gui.azure.image_builder import DiskFacts
    from gui.azure.steps import StepEvent
    from gui.azure.upload.job import JobResult, UploadJob, UploadPlan
    from gui.diskimage import DiskImage
    from gui.transfer import ProgressCallback

OS_TYPES = ("Linux", "Windows")
GENERATIONS = ("V1", "V2")
OS_STATES = ("Generalized", "Specialized")
ARCHITECTURES = ("x64", "Arm64")
MAX_REPLICAS = 100  # Azure's limit of replicas per target region

_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_REGION = re.compile(r"^[a-z][a-z0-9]{2,39}$")
_REGIONS_EXAMPLE = "e.g. --regions westeurope=2,northeurope=1"


def add_managed_options(parser: argparse.ArgumentParser) -> None:
    disk = parser.add_argument_group(
        "managed-disk target (instead of a page blob; as the upload wizard's direct upload)")
    disk.add_argument("--disk", metavar="NAME",
                      help="managed disk to create and upload into (an OVA's disks become "
                           "NAME-osdisk and NAME-datadisk-LUN)")
    disk.add_argument("--resource-group", metavar="RG",
                      help="resource group of the disk and of the image or gallery")
    disk.add_argument("--location", metavar="REGION", help="region short name, e.g. westeurope")
    disk.add_argument("--sku", metavar="SKU",
                      help=f"disk SKU: {', '.join(DISK_SKUS)} (default {DISK_SKUS[0]})")
    disk.add_argument("--subscription", metavar="ID",
                      help="subscription id (default with --sandbox: the sandbox's production "
                           "subscription)")
    guest = parser.add_argument_group(
        "the guest on the disk (read from the disk when it tells; give them when it does not)")
    guest.add_argument("--os-type", metavar="TYPE", help="Linux or Windows")
    guest.add_argument("--hyper-v-generation", metavar="GEN", help="V1 or V2")
    guest.add_argument("--os-state", metavar="STATE", default="Generalized",
                       help="Generalized (default) or Specialized")
    guest.add_argument("--architecture", metavar="ARCH", help="x64 or Arm64")
    image = parser.add_argument_group("then make an image of it (one of)")
    image.add_argument("--image", metavar="NAME", help="a managed image in --resource-group")
    image.add_argument("--gallery-version", metavar="GALLERY/DEF/VERSION",
                       help="a Compute Gallery image version in --resource-group; the gallery "
                            "and the definition are created when missing")
    image.add_argument("--regions", metavar="R=N,...",
                       help="the version's target regions and replica counts, "
                            "e.g. westeurope=2,northeurope=1 (the disk's region is always one; "
                            "a region without =N gets 1)")
    image.add_argument("--publisher", metavar="NAME", default="azure-image-studio",
                       help="publisher of a new image definition (default azure-image-studio)")


@dataclass(frozen=True)
class GalleryTarget:
    gallery: str
    definition: str
    version: str


@dataclass(frozen=True)
class PlanRequest:
    """What the target and image options asked for, checked (no Azure call yet)."""

    subscription: str
    resource_group: str
    disk: str | None  # the managed disk's name; None for a page blob
    location: str
    sku: str
    image: str | None = None
    gallery: GalleryTarget | None = None
    regions: tuple[tuple[str, int], ...] = ()
    publisher: str = ""
    blob_url: str | None = field(default=None, repr=False)  # a SAS URL: a secret

    @property
    def follow_up(self) -> bool:
        return self.image is not None or self.gallery is not None


def wants_plan(args: argparse.Namespace) -> bool:
    """Whether the options ask for the wizard's job (a managed disk, or an image after the
    upload) rather than the engine alone (a page blob)."""
    return any(getattr(args, name) is not None for name in (
        "disk", "resource_group", "location", "sku", "subscription", "image", "gallery_version",
        "regions"))


def parse_gallery_version(text: str) -> GalleryTarget:
    parts = text.split("/")
    if len(parts) != 3 or not all(parts):
        raise UsageError(
            f"--gallery-version {text!r}: write GALLERY/DEFINITION/VERSION, "
            "e.g. --gallery-version my_gallery/ubuntu-24.04/1.0.0")
    gallery, definition, version = parts
    for problem in (naming.gallery_name(gallery), naming.definition_name(definition),
                    naming.version_name(version)):
        if problem:
            raise UsageError(f"--gallery-version {text!r}: {problem}")
    return GalleryTarget(gallery, definition, version)


def parse_regions(text: str) -> tuple[tuple[str, int], ...]:
    """``westeurope=2,northeurope=1`` as (region, replicas) pairs; a bare region gets 1."""
    pairs: list[tuple[str, int]] = []
    for item in text.split(","):
        region, sep, count = item.strip().partition("=")
        region = region.strip().lower()
        if not _REGION.match(region) or (sep and not count.strip().isdigit()):
            raise UsageError(
                f"--regions {text!r}: write REGION=REPLICAS pairs separated by commas, "
                f"{_REGIONS_EXAMPLE}")
        replicas = int(count) if sep else 1
        if not 1 <= replicas <= MAX_REPLICAS:
            raise UsageError(
                f"--regions {text!r}: {region} asks for {replicas} replicas; give 1 to "
                f"{MAX_REPLICAS}")
        if any(known == region for known, _ in pairs):
            raise UsageError(f"--regions {text!r}: {region} is named twice; name it once")
        pairs.append((region, replicas))
    return tuple(pairs)


def _choice(option: str, value: str | None, choices: tuple[str, ...]) -> str | None:
    """``value`` spelled as Azure spells it (any case accepted), else a usage error."""
    if value is None:
        return None
    for choice in choices:
        if choice.casefold() == value.casefold():
            return choice
    raise UsageError(f"{option} {value!r}: use one of {', '.join(choices)}")


def plan_request(
    args: argparse.Namespace, subscription: str | None, blob_url: str | None = None
) -> PlanRequest:
    """The options checked against Azure's rules; ``subscription`` is the one given or the
    sandbox's. ``blob_url`` (a SAS URL) is the page blob an image is made from instead of a
    managed disk (the wizard's "page blob, then an image")."""
    follow_up = args.image is not None or args.gallery_version is not None
    if args.disk is None and blob_url is None:
        given = "--image" if args.image else "--gallery-version" if args.gallery_version else None
        raise UsageError(
            f"{given} needs a target: add --disk NAME (a managed disk), or --to URL (a page "
            "blob's SAS URL)" if given else
            "name the managed disk with --disk NAME (with --resource-group RG and --location "
            "REGION)")
    if args.disk is not None and (
            args.to is not None or args.to_env or args.connection_string or args.account_url):
        raise UsageError("give either a managed disk (--disk) or a page blob (--to, "
                         "--connection-string, --account-url), not both")
    if args.disk is not None and args.overwrite:
        raise UsageError("--overwrite belongs to a page blob: a managed disk is never replaced; "
                         "delete it first or choose another --disk name")
    where = f"--disk {args.disk}" if args.disk is not None else "an image from a page blob"
    if not args.resource_group or not args.location:
        raise UsageError(f"{where}: give --resource-group RG and --location REGION too")
    for problem in (naming.disk_name(args.disk) if args.disk is not None else None,
                    naming.resource_group_name(args.resource_group)):
        if problem:
            raise UsageError(str(problem))
    location = args.location.lower().replace(" ", "")
    if not _REGION.match(location):
        raise UsageError(f"--location {args.location!r} is not a region name; use the short "
                         "name, e.g. westeurope (az account list-locations -o table)")
    if blob_url is not None and args.sku is not None:
        raise UsageError("--sku belongs to --disk (a page blob has its storage account's)")
    sku = _choice("--sku", args.sku, DISK_SKUS) or DISK_SKUS[0]
    if not subscription:
        raise UsageError("give --subscription ID (where the disk or image is made), or "
                         "--sandbox to try it offline")
    if not _GUID.match(subscription):
        raise UsageError(f"--subscription {subscription!r} is not a subscription id (a GUID)")
    if args.image and args.gallery_version:
        raise UsageError("give either --image or --gallery-version, not both")
    if args.regions is not None and not args.gallery_version:
        raise UsageError("--regions belongs to --gallery-version (a managed image has one "
                         "region: --location)")
    if args.image:
        problem = naming.image_name(args.image)
        if problem:
            raise UsageError(f"--image {args.image!r}: {problem}")
    gallery = parse_gallery_version(args.gallery_version) if args.gallery_version else None
    regions = parse_regions(args.regions) if args.regions is not None else ()
    assert follow_up or args.disk is not None
    return PlanRequest(
        subscription=subscription, resource_group=args.resource_group, disk=args.disk,
        location=location, sku=sku, image=args.image, gallery=gallery, regions=regions,
        publisher=args.publisher, blob_url=blob_url)


def disk_facts(args: argparse.Namespace, image: DiskImage, needed: bool) -> DiskFacts | None:
    """The guest's facts: as given, else as the disk tells them. None when the disk tells no
    OS type and none is needed (a disk without an image: uploaded as a data disk)."""
    from gui.azure.image_builder import DiskFacts
    from gui.diskimage.guest import Confidence, read_guest_facts

    os_type = _choice("--os-type", args.os_type, OS_TYPES)
    generation = _choice("--hyper-v-generation", args.hyper_v_generation, GENERATIONS)
    architecture = _choice("--architecture", args.architecture, ARCHITECTURES)
    os_state = _choice("--os-state", args.os_state, OS_STATES) or "Generalized"
    if os_type is None or generation is None or architecture is None:
        guest = read_guest_facts(image)
        if os_type is None and guest.os_type.confidence is not Confidence.UNKNOWN:
            os_type = _choice("--os-type", guest.os_type.value.value, OS_TYPES)
        if generation is None and guest.generation.confidence is not Confidence.UNKNOWN:
            # A disk that boots both ways is uploaded as Gen2, as the wizard proposes.
            generation = {"V1": "V1"}.get(guest.generation.value.value, "V2")
        if architecture is None and guest.architecture.confidence is not Confidence.UNKNOWN:
            read = guest.architecture.value.value
            if read not in ARCHITECTURES:
                raise UsageError(f"{image.path.name} boots a {read} system and Azure runs "
                                 "x64 and Arm64 VMs only; give --architecture if that is wrong")
            architecture = read
    if os_type is None:
        if not needed:
            return None
        raise UsageError(f"{image.path.name} does not tell its OS type: give --os-type Linux or "
                         "--os-type Windows")
    if generation is None:
        raise UsageError(f"{image.path.name} does not tell its Hyper-V generation: give "
                         "--hyper-v-generation V1 (BIOS) or V2 (UEFI)")
    return DiskFacts(os_type=os_type, os_state=os_state, hyper_v_generation=generation,
                     architecture=architecture or "x64")


def build_plan(
    request: PlanRequest, path: Path, image: DiskImage, facts: DiskFacts | None
) -> UploadPlan:
    """The wizard's plan for the file: its disks (an OVA's data disks at their LUNs), each to
    a managed disk, without the image step yet (``with_follow_up`` adds it)."""
    from gui.azure.image_builder import DiskFacts as Facts
    from gui.azure.upload.job import (
        BlobTargetPlan,
        DataDiskPlan,
        ManagedDiskTargetPlan,
        UploadPlan,
    )
    from gui.azure.upload.managed_disk import ManagedDiskSpec

    entries = list(image.appliance_disks[1:])
    if request.blob_url is not None:
        if entries:
            raise UsageError(
                f"{path.name} holds {len(entries) + 1} disks and a page blob takes one: upload "
                "them to managed disks with --disk NAME")
        return UploadPlan(
            source_path=str(path.resolve()),
            facts=facts or Facts(os_type="", os_state="", hyper_v_generation=""),
            target=BlobTargetPlan.from_url(request.blob_url, request.subscription),
            disk_index=image.disk_index)
    assert request.disk is not None
    luns: list[int] = []
    for entry in entries:  # the descriptor's LUN, else the next free one (as the wizard does)
        lun = entry.lun if entry.lun is not None and entry.lun not in luns else None
        luns.append(lun if lun is not None else next(n for n in range(64) if n not in luns))
    names = ([request.disk] if not entries else
             [f"{request.disk}-osdisk", *(f"{request.disk}-datadisk-{lun}" for lun in luns)])
    for name in names:
        problem = naming.disk_name(name)
        if problem:
            raise UsageError(f"--disk {request.disk!r}: the disk {name}: {problem}")

    def target(name: str, os_disk: bool) -> ManagedDiskTargetPlan:
        return ManagedDiskTargetPlan(request.subscription, ManagedDiskSpec(
            resource_group=request.resource_group, name=name, location=request.location,
            sku=request.sku,
            # Only the OS disk carries the OS type and generation (a data disk has none).
            os_type=facts.os_type if facts and os_disk else None,
            hyper_v_generation=facts.hyper_v_generation if facts and os_disk else None))

    return UploadPlan(
        source_path=str(path.resolve()),
        # Without an image the facts are not used (a disk without an OS type is a data disk).
        facts=facts or Facts(os_type="", os_state="", hyper_v_generation=""),
        target=target(names[0], True),
        disk_index=image.disk_index,
        data_disks=tuple(
            DataDiskPlan(str(path.resolve()), lun, target(name, False), entry.index)
            for entry, lun, name in zip(entries, luns, names[1:], strict=True)),
    )


async def with_follow_up(
    session: AzureSession, plan: UploadPlan, request: PlanRequest, facts: DiskFacts
) -> None:
    """The plan's image step, from what Azure has now: a managed image checked against the
    disk, or a gallery version whose gallery and definition are made only when missing, an
    existing definition checked against the disk, and a version that must be new. Reads only;
    a refusal is a ``UsageError`` before anything is created."""
    from gui.azure.image_builder import (
        DefinitionSpec,
        GalleryVersionSpec,
        ManagedImageSpec,
    )
    from gui.azure.upload.follow_up import FollowUpNames, new_definition

    if request.image is not None:
        spec = ManagedImageSpec(request.resource_group, request.image, request.location)
        problems = spec.problems(facts)
        if problems:
            raise UsageError(f"--image {request.image}: {problems[0]}")
        plan.follow_up = spec
        return
    gallery = request.gallery
    assert gallery is not None
    names = FollowUpNames(session, plan)
    gallery_exists = await names.gallery_exists(request.resource_group, gallery.gallery)
    definition = (
        await names.definition(request.resource_group, gallery.gallery, gallery.definition)
        if gallery_exists else None)
    versions = (
        await names.versions(request.resource_group, gallery.gallery, gallery.definition)
        if definition is not None else [])
    version = GalleryVersionSpec(
        resource_group=request.resource_group,
        gallery=gallery.gallery,
        create_gallery=not gallery_exists,
        definition=definition or new_definition(
            gallery.definition, facts,
            DefinitionSpec(gallery.definition, facts.os_type, facts.os_state,
                           facts.hyper_v_generation, publisher=request.publisher)),
        create_definition=definition is None,
        version=gallery.version,
        location=request.location,
        target_regions=request.regions,
        existing_versions=tuple(versions),
    )
    problems = version.problems(facts)
    if problems:
        raise UsageError(f"--gallery-version {gallery.gallery}/{gallery.definition}/"
                         f"{gallery.version}: {problems[0]}")
    plan.follow_up = version


@contextlib.contextmanager
def _suspend_on_sigint(job: UploadJob) -> Iterator[list[bool]]:
    """Ctrl+C stops the job so that the same command resumes it (the write SAS stays in the
    keyring where there is one), rather than cancelling it, which would seal the disk."""
    stopped: list[bool] = []
    loop = asyncio.get_running_loop()

    def stop() -> None:
        stopped.append(True)
        job.suspend()
        # A second Ctrl+C is asyncio's own again (it cancels the command).
        loop.remove_signal_handler(signal.SIGINT)

    try:
        loop.add_signal_handler(signal.SIGINT, stop)
    except (NotImplementedError, RuntimeError, ValueError):
        # Windows has no loop signal handlers: Ctrl+C cancels the command there (KeyboardInterrupt).
        yield stopped
        return
    try:
        yield stopped
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def run_plan(
    session: AzureSession,
    plan: UploadPlan,
    options: Any,
    *,
    on_progress: ProgressCallback | None,
    on_step: Callable[[StepEvent], None],
) -> JobResult:
    """Runs the plan through the wizard's job; raises what the job raises. Ctrl+C suspends it:
    the job then ends with an ``UploadCancelledError`` (exit 130)."""
    from gui.azure.upload.job import UploadJob, open_sources
    from gui.azure.upload.managed_disk import SasVault

    sources = await asyncio.to_thread(open_sources, plan)
    try:
        job = UploadJob(session, plan, sources, on_progress=on_progress, options=options,
                        vault=SasVault())
        with _suspend_on_sigint(job):
            async for event in job.run():
                on_step(event)
        assert job.result is not None
        return job.result
    finally:
        for source in sources:
            await asyncio.to_thread(source.close)


def step_json(event: StepEvent) -> dict[str, Any]:
    """A step as ``--json`` shows it (the result's ``steps``, ``--progress json``'s lines)."""
    from gui.transfer.redact import redact

    seconds = event.seconds
    return {"key": event.key, "title": str(event.title), "state": event.state.value,
            "seconds": None if seconds is None else round(seconds, 3),
            "message": redact(" ".join(str(event.message).split()))}


def result_json(plan: UploadPlan, result: JobResult) -> dict[str, Any]:
    """The command's result: every disk's id, the image's id, the OS disk's transfer."""
    from gui.azure.image_builder import GalleryVersionSpec, ManagedImageSpec

    follow = plan.follow_up
    group = f"/subscriptions/{plan.target_subscription}/resourceGroups/"
    image: dict[str, Any] | None = None
    if isinstance(follow, ManagedImageSpec):
        image = {"kind": "managed-image",
                 "id": f"{group}{follow.resource_group}/providers/Microsoft.Compute/images/"
                       f"{follow.name}"}
    elif isinstance(follow, GalleryVersionSpec):
        image = {
            "kind": "gallery-version",
            "id": f"{group}{follow.resource_group}/providers/Microsoft.Compute/galleries/"
                  f"{follow.gallery}/images/{follow.definition.name}/versions/{follow.version}",
            "regions": [{"name": region, "replicas": replicas}
                        for region, replicas in follow.regions()],
        }
    from gui.azure.upload.job import ManagedDiskTargetPlan

    os_disk = plan.target
    managed = isinstance(os_disk, ManagedDiskTargetPlan)
    return {
        "file": plan.source_path,
        "kind": "managed-disk" if managed else "page-blob",
        "disk_id": result.disk_id,
        "data_disk_ids": list(result.data_disk_ids),
        "blob_url": None if isinstance(os_disk, ManagedDiskTargetPlan) else os_disk.blob_url,
        "os_type": (os_disk.spec.os_type if isinstance(os_disk, ManagedDiskTargetPlan)
                    else plan.facts.os_type),
        "image": image,
        "upload": asdict(result.upload) if result.upload is not None else None,
    }

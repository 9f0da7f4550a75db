"""Turning an uploaded disk into an image: a managed image, or a Compute Gallery image version.

Each step yields its events (running, done with its duration, failed with Azure's message;
the one step model of ``gui.azure.steps``), so a progress view can show them live. Bodies are
sent as REST JSON, which the SDK accepts as it is. Validation (names, the definition matching
the disk) runs before anything is created.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import models
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure import naming
from gui.azure.catalog.nodes import NodeRef, PurchasePlan, SourceKind
from gui.azure.errors import AzureServiceError, NotFoundError, translate
from gui.azure.steps import StepEvent, StepSpec, StepState, run_step, started
from gui.i18n import QT_TR_NOOP, Message, Text


@dataclass(frozen=True)
class DiskSource:
    """Where the uploaded data is: a managed disk (direct upload) or a page blob."""

    managed_disk_id: str | None = None
    blob_uri: str | None = None
    storage_account_id: str | None = None

    def os_disk_json(self) -> dict[str, Any]:
        """The source of a managed image's disk (OS or data disk: ImageDisk in the spec)."""
        if self.managed_disk_id:
            return {"managedDisk": {"id": self.managed_disk_id}}
        return {"blobUri": self.blob_uri}

    def gallery_source_json(self) -> dict[str, Any]:
        """The source of a gallery disk image (GalleryImageVersion_Create_WithVHD.json): a
        managed disk by id, or a VHD by uri together with its storage account, which Azure
        needs and checks against the uri."""
        if self.managed_disk_id:
            return {"source": {"id": self.managed_disk_id}}
        if not self.storage_account_id:
            raise VhdAccountUnknownError(Message(
                QT_TR_NOOP("Azure needs the storage account of {uri} to make a gallery image "
                           "version from it, and the upload did not name one."),
                {"uri": self.blob_uri},
            ))
        return {"source": {"uri": self.blob_uri, "storageAccountId": self.storage_account_id}}


@dataclass(frozen=True)
class DataDiskSource:
    """A data disk of the image: where its data is and the LUN a VM made from it sees it at."""

    lun: int
    source: DiskSource


def _checked_luns(data_disks: Sequence[DataDiskSource]) -> list[DataDiskSource]:
    """The data disks in LUN order; Azure refuses a LUN outside 0-63 or used twice, so they are
    refused here, before anything is created."""
    luns = [disk.lun for disk in data_disks]
    bad = sorted({lun for lun in luns if not 0 <= lun <= 63 or luns.count(lun) > 1})
    if bad:
        raise InvalidLunError(
            f"Each data disk needs its own LUN from 0 to 63; LUN {bad[0]} is not usable here."
        )
    return sorted(data_disks, key=lambda disk: disk.lun)


class InvalidLunError(AzureServiceError):
    title = "Data disk LUNs"
    advice = "Give each data disk its own LUN from 0 to 63 and start the upload again."


class VhdAccountUnknownError(AzureServiceError):
    title = Text(QT_TR_NOOP("Storage account of the VHD unknown"))
    advice = Text(QT_TR_NOOP(
        "Pick the storage account from the subscription on the upload's target page (instead "
        "of pasting a SAS URL), or make a managed image from the blob."
    ))


@dataclass(frozen=True)
class DiskFacts:
    """What the user said of the disk: the image must agree with it."""

    os_type: str  # "Windows" | "Linux"
    os_state: str  # "Generalized" | "Specialized"
    hyper_v_generation: str  # "V1" | "V2"
    architecture: str = "x64"
    security_type: str = "Standard"  # "Standard" | "TrustedLaunch" | "TrustedLaunchSupported"


@dataclass(frozen=True)
class ManagedImageSpec:
    resource_group: str
    name: str
    location: str
    storage_type: str = "Standard_LRS"

    def problems(self, facts: DiskFacts) -> list[str]:
        found: list[str] = [
            Text(message)
            for message in (
                naming.resource_group_name(self.resource_group),
                naming.image_name(self.name),
            )
            if message
        ]
        if facts.os_state != "Generalized":
            found.append(
                "A managed image needs a generalized disk. Choose a gallery image version to "
                "keep a specialized disk, or generalize the machine and upload again."
            )
        if facts.security_type.startswith("TrustedLaunch") and facts.security_type != (
            "TrustedLaunchSupported"
        ):
            found.append(
                "Managed images do not support Trusted launch. Use a gallery image version."
            )
        if facts.architecture.casefold() == "arm64":
            found.append("Managed images do not support Arm64 disks. Use a gallery image version.")
        return found


@dataclass(frozen=True)
class DefinitionSpec:
    name: str
    os_type: str
    os_state: str
    hyper_v_generation: str
    security_type: str = "Standard"
    architecture: str = "x64"
    publisher: str = ""
    offer: str = ""
    sku: str = ""
    # A definition of images made from a Marketplace plan image carries the plan: Azure then
    # puts it on every VM made from the definition's versions (and refuses VMs without it).
    plan: PurchasePlan | None = None


def definition_from_json(raw: Mapping[str, Any]) -> DefinitionSpec:
    """A definition as Azure describes it (the REST shape of gallery_images.get/list)."""
    props = raw.get("properties") or {}
    identifier = props.get("identifier") or {}
    security = next(
        (
            str(f.get("value"))
            for f in props.get("features") or []
            if str(f.get("name", "")).casefold() == "securitytype"
        ),
        "Standard",
    )
    plan = props.get("purchasePlan") or {}
    return DefinitionSpec(
        name=str(raw.get("name") or ""),
        os_type=str(props.get("osType") or ""),
        os_state=str(props.get("osState") or ""),
        hyper_v_generation=str(props.get("hyperVGeneration") or "V1"),
        security_type=security,
        architecture=str(props.get("architecture") or "x64"),
        publisher=str(identifier.get("publisher") or ""),
        offer=str(identifier.get("offer") or ""),
        sku=str(identifier.get("sku") or ""),
        plan=PurchasePlan(str(plan["publisher"]), str(plan["product"]), str(plan["name"]))
        if plan.get("publisher") and plan.get("product") and plan.get("name")
        else None,
    )


def definition_body(
    definition: DefinitionSpec, location: str, description: str | None = None
) -> dict[str, Any]:
    """The request body that creates ``definition`` (uploads and captures make them alike)."""
    properties: dict[str, Any] = {
        "osType": definition.os_type,
        "osState": definition.os_state,
        "hyperVGeneration": definition.hyper_v_generation,
        "architecture": definition.architecture,
        "identifier": {
            "publisher": definition.publisher or "contoso",
            "offer": definition.offer or definition.name,
            "sku": definition.sku or definition.name,
        },
    }
    if definition.security_type != "Standard":
        properties["features"] = [{"name": "SecurityType", "value": definition.security_type}]
    if definition.plan is not None:
        properties["purchasePlan"] = {
            "publisher": definition.plan.publisher,
            "product": definition.plan.product,
            "name": definition.plan.name,
        }
    if description:
        properties["description"] = description
    return {"location": location, "properties": properties}


@dataclass(frozen=True)
class GalleryVersionSpec:
    resource_group: str
    gallery: str
    create_gallery: bool
    definition: DefinitionSpec
    create_definition: bool
    version: str
    location: str
    target_regions: tuple[tuple[str, int], ...] = ()
    storage_type: str = "Standard_LRS"
    exclude_from_latest: bool = False
    end_of_life: date | None = None
    existing_versions: tuple[str, ...] = field(default=())

    def regions(self) -> list[tuple[str, int]]:
        """Target regions with the source region always included (first)."""
        regions = dict(self.target_regions)
        replicas = regions.pop(self.location, 1)
        return [(self.location, replicas), *regions.items()]

    def problems(self, facts: DiskFacts) -> list[str]:
        definition = self.definition
        found: list[str] = [
            Text(message)
            for message in (
                naming.resource_group_name(self.resource_group),
                naming.gallery_name(self.gallery),
                naming.definition_name(definition.name),
                naming.version_name(self.version),
            )
            if message
        ]
        if self.version in self.existing_versions:
            found.append(Text(Message(
                QT_TR_NOOP("Version {version} of {definition} exists already. Pick a new "
                           "number, e.g. {next}."),
                {"version": self.version, "definition": definition.name,
                 "next": naming.next_version(list(self.existing_versions))},
            )))
        mismatches = [
            (Message(QT_TR_NOOP("OS type")), definition.os_type, facts.os_type),
            (Message(QT_TR_NOOP("OS state")), definition.os_state, facts.os_state),
            (Message(QT_TR_NOOP("Hyper-V generation")), definition.hyper_v_generation,
             facts.hyper_v_generation),
            (Message(QT_TR_NOOP("architecture")), definition.architecture, facts.architecture),
        ]
        for label, wanted, actual in mismatches:
            if wanted.casefold() != actual.casefold():
                found.append(Text(Message(
                    QT_TR_NOOP("The definition {definition} is for {label} {wanted}, but the disk "
                               "is {actual}. Pick or create a definition that matches the disk."),
                    {"definition": definition.name, "label": label, "wanted": wanted,
                     "actual": actual},
                )))
        if definition.security_type == "TrustedLaunch" and definition.hyper_v_generation != "V2":
            found.append(Text(QT_TR_NOOP("Trusted launch needs a Gen2 (V2) definition.")))
        for region, replicas in self.target_regions:
            if not 1 <= replicas <= 100:
                found.append(Text(Message(
                    QT_TR_NOOP("Replica count for {region} must be 1–100, not {replicas}."),
                    {"region": region, "replicas": replicas},
                )))
        if self.end_of_life is not None and self.end_of_life <= date.today():
            found.append(Text(QT_TR_NOOP("The end-of-life date must lie in the future.")))
        return found


class ImageBuilder:
    """Creates the image the user asked for from an uploaded disk, step by step.

    ``create_managed_image`` and ``create_gallery_version`` yield the steps' events; the new
    image's reference is in ``result`` once the generator has ended."""

    def __init__(self, compute: ComputeManagementClient) -> None:
        self.compute = compute
        self.result: NodeRef | None = None

    @staticmethod
    def _step(
        key: str, title: str, create: Callable[[], Awaitable[Any]]
    ) -> AsyncIterator[StepEvent]:
        async def action(_progress: Callable[[str], None]) -> str:
            await create()
            return ""

        return run_step(StepSpec(key, title), action)

    async def create_managed_image(
        self,
        source: DiskSource,
        facts: DiskFacts,
        spec: ManagedImageSpec,
        data_disks: Sequence[DataDiskSource] = (),
    ) -> AsyncIterator[StepEvent]:
        # ImageDataDisk (Images_CreateOrUpdate): the LUN and the same source fields as the OS
        # disk; data disks are not cached by default, as Azure's own images have them.
        data_json = [
            {
                "lun": disk.lun,
                "caching": "None",
                "storageAccountType": spec.storage_type,
                **disk.source.os_disk_json(),
            }
            for disk in _checked_luns(data_disks)
        ]
        body: dict[str, Any] = {
            "location": spec.location,
            "properties": {
                "hyperVGeneration": facts.hyper_v_generation,
                "storageProfile": {
                    "osDisk": {
                        "osType": facts.os_type,
                        "osState": facts.os_state,
                        "caching": "ReadWrite",
                        "storageAccountType": spec.storage_type,
                        **source.os_disk_json(),
                    },
                    "dataDisks": data_json,
                },
            },
        }

        async def create() -> Any:
            poller = await self.compute.images.begin_create_or_update(
                spec.resource_group, spec.name, models.Image(body)
            )
            return await poller.result()

        title = Text(Message(QT_TR_NOOP("Create managed image {image_name}"),
                             {"image_name": spec.name}))
        async for event in self._step("image", title, create):
            yield event
        self.result = NodeRef(SourceKind.MANAGED, (spec.resource_group, spec.name))

    async def create_gallery_version(
        self,
        source: DiskSource,
        spec: GalleryVersionSpec,
        data_disks: Sequence[DataDiskSource] = (),
    ) -> AsyncIterator[StepEvent]:
        compute, group = self.compute, spec.resource_group
        definition = spec.definition
        # Before anything is created: a blob source needs its storage account, every data disk
        # its own LUN (GalleryDataDiskImage: lun, hostCaching, source as for the OS disk).
        os_source = source.gallery_source_json()
        data_images = [
            {"lun": disk.lun, "hostCaching": "None", **disk.source.gallery_source_json()}
            for disk in _checked_luns(data_disks)
        ]
        if spec.create_gallery:

            async def gallery() -> Any:
                poller = await compute.galleries.begin_create_or_update(
                    group,
                    spec.gallery,
                    models.Gallery({"location": spec.location, "properties": {}}),
                )
                return await poller.result()

            title = Text(Message(QT_TR_NOOP("Create gallery {gallery_name}"),
                                 {"gallery_name": spec.gallery}))
            async for event in self._step("gallery", title, gallery):
                yield event
        if spec.create_definition:

            async def create_definition() -> Any:
                body = definition_body(definition, spec.location)
                poller = await compute.gallery_images.begin_create_or_update(
                    group, spec.gallery, definition.name, models.GalleryImage(body)
                )
                return await poller.result()

            async for event in self._step(
                "definition",
                Text(Message(QT_TR_NOOP("Create image definition {definition_name}"),
                             {"definition_name": definition.name})),
                create_definition,
            ):
                yield event
        publishing: dict[str, Any] = {
            "targetRegions": [
                {
                    "name": region,
                    "regionalReplicaCount": replicas,
                    "storageAccountType": spec.storage_type,
                    "excludeFromLatest": spec.exclude_from_latest,
                }
                for region, replicas in spec.regions()
            ],
            "excludeFromLatest": spec.exclude_from_latest,
            "storageAccountType": spec.storage_type,
        }
        if spec.end_of_life is not None:
            publishing["endOfLifeDate"] = f"{spec.end_of_life.isoformat()}T00:00:00Z"
        version_body: dict[str, Any] = {
            "location": spec.location,
            "properties": {
                "publishingProfile": publishing,
                "storageProfile": {
                    "osDiskImage": {"hostCaching": "ReadWrite", **os_source},
                    "dataDiskImages": data_images,
                },
            },
        }

        async def create_version() -> Any:
            poller = await compute.gallery_image_versions.begin_create_or_update(
                group,
                spec.gallery,
                definition.name,
                spec.version,
                models.GalleryImageVersion(version_body),
            )
            return await poller.result()

        async for event in self._step(
            "version",
            Text(Message(QT_TR_NOOP("Create version {version} of {definition}"),
                         {"version": spec.version, "definition": definition.name})),
            create_version,
        ):
            yield event
        async for event in self._replication(spec):
            yield event
        self.result = NodeRef(
            SourceKind.GALLERY, (group, spec.gallery, definition.name, spec.version)
        )

    async def _replication(
        self, spec: GalleryVersionSpec, poll_seconds: float = 1.0
    ) -> AsyncIterator[StepEvent]:
        """One step per target region, done when Azure reports it replicated."""
        events = {
            region.casefold(): started(StepSpec(
                f"replicate:{region}",
                Text(Message(QT_TR_NOOP("Replicate to {region}"), {"region": region}))))
            for region, _ in spec.regions()
        }
        for event in events.values():
            yield event
        while any(event.state is StepState.RUNNING for event in events.values()):
            try:
                version = await self.compute.gallery_image_versions.get(
                    spec.resource_group,
                    spec.gallery,
                    spec.definition.name,
                    spec.version,
                    expand="ReplicationStatus",
                )
            except Exception as exc:
                raise translate(exc) from exc
            status = (version.get("properties") or {}).get("replicationStatus") or {}
            summaries = status.get("summary") or []
            if not summaries:  # nothing reported: the create finished, so count it replicated
                summaries = [
                    {"region": region, "state": "Completed"} for region, _ in spec.regions()
                ]
            for summary in summaries:
                region_key = str(summary.get("region", "")).casefold().replace(" ", "")
                found = events.get(region_key)
                if found is None or found.state is not StepState.RUNNING:
                    continue
                state = str(summary.get("state", ""))
                progress = summary.get("progress")
                if state == "Completed":
                    event = found.ended_as(StepState.DONE)
                elif state == "Failed":
                    details = str(summary.get("details") or "") or Text(
                        QT_TR_NOOP("Replication failed."))
                    event = found.ended_as(StepState.FAILED, details)
                else:
                    event = found.running(f"{progress}%" if progress is not None else state)
                events[region_key] = event
                yield event
            failed = [event for event in events.values() if event.state is StepState.FAILED]
            if failed:
                raise AzureServiceError(
                    Message(QT_TR_NOOP("{step} failed: {reason}"),
                            {"step": failed[0].title, "reason": failed[0].message}),
                    code="ReplicationFailed",
                )
            if any(event.state is StepState.RUNNING for event in events.values()):
                await asyncio.sleep(poll_seconds)


async def existing_versions(
    compute: ComputeManagementClient, group: str, gallery: str, definition: str
) -> list[str]:
    try:
        return [
            item.name
            async for item in compute.gallery_image_versions.list_by_gallery_image(
                group, gallery, definition
            )
            if item.name
        ]
    except ResourceNotFoundError:
        return []
    except Exception as exc:
        raise translate(exc) from exc


async def definition_facts(
    compute: ComputeManagementClient, group: str, gallery: str, definition: str
) -> DefinitionSpec:
    try:
        item = await compute.gallery_images.get(group, gallery, definition)
    except ResourceNotFoundError as exc:
        raise NotFoundError(Message(
            QT_TR_NOOP("Image definition {definition} was not found in {gallery}."),
            {"definition": definition, "gallery": gallery})) from exc
    except Exception as exc:
        raise translate(exc) from exc
    return definition_from_json({"name": definition, **item.as_dict()})

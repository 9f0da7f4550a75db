"""Editing a gallery image version: end of life, exclude from latest, target regions with their
replica counts and storage account types, the replication status per region, Retry of a failed
region, and Azure's safeguard for dropping a region.

``read_version`` reads the publishing profile, the safety profile and (``$expand=
ReplicationStatus``) each region's state, progress and details. ``check_change`` answers what
Azure would refuse before anything is sent. ``VersionUpdate`` runs a change as steps of the one
step model (``gui.azure.steps``): an update is ``GalleryImageVersions_Update`` (PATCH), whose body
carries the version's storage profile unchanged (``GalleryImageVersionProperties`` requires it,
as Microsoft's ``GalleryImageVersion_Update.json`` example sends it).

The safeguard (GalleryRP 2026-03-03, ``GalleryArtifactSafetyProfileBase``):
``safetyProfile.allowDeletionOfReplicatedLocations`` "Indicates whether or not removing this
Gallery Image Version from replicated regions is allowed"; it is false unless set. So a region
leaves the target regions only once that flag is true. Setting it is a choice of its own: its
own step, before the update, and only when the administrator asked for it, never because a
region was dropped.

Storage account type per region: "This property is not updatable" (``TargetRegion``): it is
chosen when a region is added and stays. Standard_ZRS keeps copies in the region's availability
zones, so it is offered only where the region has zones (``regions_with_zones``).

Retry: Azure replicates again what an update names and has not completed; sending the same target
regions again (an update that changes nothing else) makes it retry a failed region, and leaves
the completed ones as they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Any

from gui.azure.arm import enum_text
from gui.azure.errors import AzureServiceError, translated
from gui.azure.steps import Progress, StepEvent, StepSpec, pump, run_step
from gui.i18n import QT_TR_NOOP, Text, message

# Azure's bounds for regionalReplicaCount (the spec gives none; Azure refuses outside 1..100,
# and the wizards' region table offers the same).
MIN_REPLICAS = 1
MAX_REPLICAS = 100

STORAGE_TYPES = ("Standard_LRS", "Standard_ZRS", "Premium_LRS")
ZONE_REDUNDANT = "Standard_ZRS"

# States of RegionalReplicationStatus (ReplicationState in GalleryRP).
REPLICATING = "Replicating"
COMPLETED = "Completed"
FAILED = "Failed"


def region_key(name: str) -> str:
    """A region's short name from either form Azure answers ("West Europe" or westeurope)."""
    return name.replace(" ", "").casefold()


@dataclass(frozen=True)
class VersionRef:
    resource_group: str
    gallery: str
    definition: str
    version: str

    @property
    def path(self) -> str:
        return f"{self.gallery}/{self.definition}/{self.version}"

    @property
    def args(self) -> tuple[str, str, str, str]:
        return (self.resource_group, self.gallery, self.definition, self.version)


@dataclass(frozen=True)
class TargetRegion:
    name: str  # as Azure answers it (display name) or as chosen (short name)
    replicas: int = 1
    storage: str = "Standard_LRS"

    @property
    def key(self) -> str:
        return region_key(self.name)


@dataclass(frozen=True)
class RegionStatus:
    region: str
    state: str  # Replicating, Completed, Failed, Unknown
    progress: int | None = None
    details: str = ""

    @property
    def key(self) -> str:
        return region_key(self.region)


@dataclass(frozen=True)
class VersionProfile:
    """What the editor shows of a version, as Azure answered it."""

    ref: VersionRef
    location: str
    end_of_life: datetime | None
    exclude_from_latest: bool
    regions: tuple[TargetRegion, ...]
    allow_region_deletion: bool
    status: tuple[RegionStatus, ...] = ()
    aggregated: str = ""
    provisioning: str = ""
    storage_profile: dict[str, Any] = field(default_factory=dict, compare=False)

    def status_of(self, region: str) -> RegionStatus | None:
        key = region_key(region)
        return next((s for s in self.status if s.key == key), None)

    @property
    def source_region(self) -> str:
        return region_key(self.location)

    @property
    def failed_regions(self) -> list[str]:
        return [s.region for s in self.status if s.state == FAILED]

    @property
    def replicating(self) -> bool:
        return any(s.state == REPLICATING for s in self.status) or self.provisioning in (
            "Creating",
            "Updating",
        )


@dataclass(frozen=True)
class VersionChange:
    """What the administrator wants the version to be."""

    end_of_life: datetime | None
    exclude_from_latest: bool
    regions: tuple[TargetRegion, ...]
    allow_region_deletion: bool = False  # set the safeguard flag (only when asked for)

    @staticmethod
    def of(profile: VersionProfile) -> VersionChange:
        return VersionChange(
            profile.end_of_life,
            profile.exclude_from_latest,
            profile.regions,
            profile.allow_region_deletion,
        )


def end_of_life_at(day: date) -> datetime:
    """An end-of-life date as Azure keeps it: the start of that day, UTC."""
    return datetime.combine(day, time(0, 0), UTC)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _as_dict(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, dict):
        return dict(model)
    as_dict = getattr(model, "as_dict", None)
    if callable(as_dict):
        # The REST names (camelCase), as the wire carries them: this goes back in a body.
        try:
            return dict(as_dict(keep_readonly=False))
        except TypeError:
            return dict(as_dict())
    return dict(model)


def profile_of(ref: VersionRef, version: Any) -> VersionProfile:
    """The editor's view of a GalleryImageVersion (the SDK model)."""
    props = version.properties
    publishing = props.publishing_profile
    safety = props.safety_profile
    regions = tuple(
        TargetRegion(
            str(region.name),
            int(region.regional_replica_count or publishing.replica_count or 1),
            enum_text(region.storage_account_type)
            or enum_text(publishing.storage_account_type)
            or "Standard_LRS",
        )
        for region in publishing.target_regions or ()
    )
    replication = props.replication_status
    status = tuple(
        RegionStatus(
            str(item.region),
            enum_text(item.state) or "Unknown",
            item.progress,
            str(item.details or ""),
        )
        for item in (replication.summary if replication is not None else None) or ()
    )
    return VersionProfile(
        ref=ref,
        location=str(version.location),
        end_of_life=_aware(publishing.end_of_life_date),
        exclude_from_latest=bool(publishing.exclude_from_latest),
        regions=regions,
        allow_region_deletion=bool(
            safety is not None and safety.allow_deletion_of_replicated_locations
        ),
        status=status,
        aggregated=enum_text(replication.aggregated_state) if replication is not None else "",
        provisioning=enum_text(props.provisioning_state),
        storage_profile=_as_dict(props.storage_profile),
    )


async def read_version(compute: Any, ref: VersionRef) -> VersionProfile:
    """The version's profiles and its replication status per region, read now."""
    with translated():
        version = await compute.gallery_image_versions.get(*ref.args, expand="ReplicationStatus")
    return profile_of(ref, version)


async def regions_with_zones(subscriptions: Any, subscription_id: str) -> frozenset[str] | None:
    """The regions with availability zones (``availabilityZoneMappings`` of list-locations);
    None when no region reports any (a cloud or endpoint that does not say), so nothing is
    refused here that Azure might take."""
    with translated():
        zonal = {
            region_key(str(item.name))
            async for item in subscriptions.subscriptions.list_locations(subscription_id)
            if item.name and getattr(item, "availability_zone_mappings", None)
        }
    return frozenset(zonal) or None


# --- checks before sending ---------------------------------------------------------------


def dropped_regions(profile: VersionProfile, change: VersionChange) -> list[str]:
    """The regions the version is in that ``change`` no longer names."""
    kept = {region.key for region in change.regions}
    return [region.name for region in profile.regions if region.key not in kept]


def added_regions(profile: VersionProfile, change: VersionChange) -> list[str]:
    have = {region.key for region in profile.regions}
    return [region.name for region in change.regions if region.key not in have]


def _problem(template: str, /, **args: object) -> Text:
    return Text(message(template, **args))


def check_change(
    profile: VersionProfile, change: VersionChange, zonal: Collection[str] | None = None
) -> list[Text]:
    """What Azure would refuse in ``change``, each with what to do; empty when it may be sent.
    ``zonal``: the regions with availability zones (None: unknown, not checked)."""
    problems: list[Text] = []
    seen: set[str] = set()
    before = {region.key: region for region in profile.regions}
    for region in change.regions:
        if not region.name.strip():
            problems.append(_problem(QT_TR_NOOP("Choose a region for every row.")))
            continue
        if region.key in seen:
            problems.append(
                _problem(
                    QT_TR_NOOP("{region} is listed twice: keep one row per region."),
                    region=region.name,
                )
            )
        seen.add(region.key)
        if not MIN_REPLICAS <= region.replicas <= MAX_REPLICAS:
            problems.append(
                _problem(
                    QT_TR_NOOP(
                        "{region}: {count} replicas is outside what Azure allows. Choose "
                        "{low} to {high} replicas."
                    ),
                    region=region.name,
                    count=region.replicas,
                    low=MIN_REPLICAS,
                    high=MAX_REPLICAS,
                )
            )
        if region.storage not in STORAGE_TYPES:
            problems.append(
                _problem(
                    QT_TR_NOOP("{region}: {storage} is not a storage account type Azure offers "
                               "for image versions. Choose Standard_LRS, Standard_ZRS or "
                               "Premium_LRS."),
                    region=region.name,
                    storage=region.storage,
                )
            )
        old = before.get(region.key)
        if old is not None and old.storage != region.storage:
            problems.append(
                _problem(
                    QT_TR_NOOP(
                        "{region}: the storage account type ({old}) cannot be changed once a "
                        "region holds the version. To use {new} there, drop the region and add "
                        "it again."
                    ),
                    region=region.name,
                    old=old.storage,
                    new=region.storage,
                )
            )
        elif (
            old is None
            and region.storage == ZONE_REDUNDANT
            and zonal is not None
            and region.key not in zonal
        ):
            problems.append(
                _problem(
                    QT_TR_NOOP(
                        "{region} has no availability zones, so zone-redundant storage "
                        "(Standard_ZRS) is not offered there. Choose Standard_LRS or "
                        "Premium_LRS."
                    ),
                    region=region.name,
                )
            )
    if profile.source_region not in seen:
        problems.append(
            _problem(
                QT_TR_NOOP(
                    "{region} is where the version was made: Azure keeps it among the target "
                    "regions. Add it back."
                ),
                region=profile.location,
            )
        )
    dropped = dropped_regions(profile, change)
    if dropped and not (profile.allow_region_deletion or change.allow_region_deletion):
        problems.append(
            _problem(
                QT_TR_NOOP(
                    "Azure keeps this version in {regions} unless its safeguard allows "
                    "removing replicated regions (allowDeletionOfReplicatedLocations). Allow it "
                    "first, or keep the region."
                ),
                regions=", ".join(dropped),
            )
        )
    if change.end_of_life is None and profile.end_of_life is not None:
        problems.append(
            _problem(
                QT_TR_NOOP(
                    "Azure keeps an end-of-life date once it is set (a date sent empty counts "
                    "as not sent): choose a later date instead of none."
                )
            )
        )
    if change.end_of_life is not None and change.end_of_life != profile.end_of_life and (
        change.end_of_life <= datetime.now(UTC)
    ):
        problems.append(
            _problem(
                QT_TR_NOOP(
                    "The end-of-life date must be in the future (or none): VMs would be "
                    "warned about a date that has passed."
                )
            )
        )
    return problems


# --- the request bodies --------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _regions_body(regions: Iterable[TargetRegion]) -> list[dict[str, Any]]:
    return [
        {
            "name": region.name,
            "regionalReplicaCount": region.replicas,
            "storageAccountType": region.storage,
        }
        for region in regions
    ]


def update_body(profile: VersionProfile, change: VersionChange) -> dict[str, Any]:
    """The PATCH body of ``change``: the publishing profile's flags and regions, and the storage
    profile as it is (required by the spec; Azure refuses a different source)."""
    publishing: dict[str, Any] = {
        "targetRegions": _regions_body(change.regions),
        "excludeFromLatest": change.exclude_from_latest,
    }
    if change.end_of_life is not None and change.end_of_life != profile.end_of_life:
        publishing["endOfLifeDate"] = _iso(change.end_of_life)
    return {
        "properties": {
            "publishingProfile": publishing,
            "storageProfile": _storage_for_body(profile.storage_profile),
        }
    }


def safeguard_body(profile: VersionProfile, allow: bool) -> dict[str, Any]:
    return {
        "properties": {
            "safetyProfile": {"allowDeletionOfReplicatedLocations": allow},
            "storageProfile": _storage_for_body(profile.storage_profile),
        }
    }


def _storage_for_body(storage: dict[str, Any]) -> dict[str, Any]:
    """The storage profile as a request carries it: the source only (sizes are Azure's)."""
    body: dict[str, Any] = {}
    source = storage.get("source")
    if source:
        body["source"] = source
    os_disk = storage.get("osDiskImage") or {}
    if os_disk.get("source"):
        body["osDiskImage"] = {"source": os_disk["source"]}
    return body


# --- running --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpdatePlan:
    profile: VersionProfile
    change: VersionChange
    set_safeguard: bool

    @property
    def steps(self) -> tuple[StepSpec, ...]:
        path = self.profile.ref.path
        steps = []
        if self.set_safeguard:
            steps.append(
                StepSpec(
                    f"safeguard:{path}",
                    Text(
                        message(
                            QT_TR_NOOP("Allow removing {path} from replicated regions"),
                            path=path,
                        )
                    ),
                    change=Text(
                        message(
                            QT_TR_NOOP(
                                "Sets safetyProfile.allowDeletionOfReplicatedLocations of "
                                "{path} to true."
                            ),
                            path=path,
                        )
                    ),
                )
            )
        steps.append(
            StepSpec(
                f"update:{path}",
                Text(message(QT_TR_NOOP("Update image version {path}"), path=path)),
                change=Text(
                    message(
                        QT_TR_NOOP(
                            "Changes the end of life, exclude-from-latest and target regions of "
                            "{path}; Azure replicates to new and changed regions."
                        ),
                        path=path,
                    )
                ),
                advice=Text(
                    QT_TR_NOOP(
                        "Read Azure's message. A region that failed to replicate shows Failed "
                        "in the status: Retry it there; anything else, correct and apply again."
                    )
                ),
            )
        )
        return tuple(steps)


def plan_update(
    profile: VersionProfile, change: VersionChange, zonal: Collection[str] | None = None
) -> UpdatePlan:
    """The steps of ``change``, or :class:`ChangeRefused` with every problem found."""
    problems = check_change(profile, change, zonal)
    if problems:
        raise ChangeRefused(problems)
    set_safeguard = change.allow_region_deletion and not profile.allow_region_deletion
    return UpdatePlan(profile, change, set_safeguard)


class ChangeRefused(AzureServiceError):
    """The change would be refused by Azure: nothing was sent. ``problems`` says each thing to
    fix (the message is the first of them)."""

    title = Text(QT_TR_NOOP("Not sent: Azure would refuse this change"))
    advice = Text(QT_TR_NOOP("Correct what is named and apply again."))

    def __init__(self, problems: list[Text]) -> None:
        self.problems = problems
        super().__init__(problems[0] if problems else Text(self.title))


@dataclass
class VersionUpdate:
    """Runs a plan once: ``events()`` yields its steps' events; ``updated`` says whether Azure
    took the update (its replication may still run: read the status)."""

    compute: Any
    plan: UpdatePlan
    updated: bool = False

    async def events(self) -> AsyncIterator[StepEvent]:
        async for event in pump(self._work):
            yield event

    async def _work(self, emit: Callable[[StepEvent], None]) -> None:
        plan = self.plan
        steps = plan.steps
        if plan.set_safeguard:
            async for event in run_step(steps[0], self._safeguard):
                emit(event)
        async for event in run_step(steps[-1], self._update):
            emit(event)
        self.updated = True

    async def _safeguard(self, progress: Progress) -> str:
        progress(Text(QT_TR_NOOP("Azure is changing the safeguard…")))
        await _patch(self.compute, self.plan.profile.ref, safeguard_body(self.plan.profile, True))
        return Text(QT_TR_NOOP("Removing replicated regions is now allowed for this version."))

    async def _update(self, progress: Progress) -> str:
        progress(Text(QT_TR_NOOP("Azure is updating the version and replicating it…")))
        await _patch(self.compute, self.plan.profile.ref, update_body(self.plan.profile,
                                                                        self.plan.change))
        return Text(QT_TR_NOOP("The version is updated and replicated."))


async def _patch(compute: Any, ref: VersionRef, body: dict[str, Any]) -> Any:
    with translated():
        # A plain JSON body, sent as it is: the storage profile as Azure answered it.
        poller = await compute.gallery_image_versions.begin_update(*ref.args, body)
        return await poller.result()


async def retry_region(compute: Any, profile: VersionProfile, region: str) -> None:
    """Retry the replication of a failed ``region``: the same target regions are sent again
    (an update that changes nothing else), and Azure replicates what has not completed.
    Returns once Azure has started it; the status tells how it goes. A failure of the retried
    replication is not raised here: the region's status shows it (Failed, with details)."""
    if profile.status_of(region) is None:
        return
    change = replace(VersionChange.of(profile), allow_region_deletion=False)
    body = update_body(profile, change)
    with translated():
        poller = await compute.gallery_image_versions.begin_update(*profile.ref.args, body)
    # The replication runs behind the operation: its end is read from the status, so the
    # operation is left to Azure (a failed region fails it, which the status already says).
    del poller

"""One upload as the wizard plans it: the data to a managed disk or a page blob, then the image.

A VM image can hold several disks: the OS disk and data disks, each at its LUN. Each disk has
its own source (a file, or one disk of an OVA) and its own target (a managed disk or page blob),
and they upload at the same time, every engine paying into the one bandwidth budget of
``UploadOptions.bandwidth``; the image is made from all of them at the end.

The plan is plain data, saved (without secrets) beside the engine's journals so an upload that
did not finish can be offered for resume at the next start. ``UploadJob.run`` does the whole
flow on the caller's loop; the data itself moves on the upload engines' own threads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import tempfile
import threading
import uuid
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import NodeRef
from gui.azure.errors import AzureServiceError, redact, translate
from gui.azure.image_builder import (
    DataDiskSource,
    DefinitionSpec,
    DiskFacts,
    DiskSource,
    GalleryVersionSpec,
    ImageBuilder,
    ManagedImageSpec,
    VhdAccountUnknownError,
    existing_versions,
)
from gui.azure.steps import StepEvent, StepSpec, StepState, pump, started
from gui.azure.upload.managed_disk import (
    DiskUploadStep,
    ManagedDiskSpec,
    ManagedDiskUpload,
    SasVault,
)
from gui.i18n import QT_TR_NOOP, Message, Text, message, plural, tr
from gui.transfer import (
    ProgressCallback,
    ProgressSnapshot,
    SasUrlTarget,
    Upload,
    UploadCancelledError,
    UploadError,
    UploadOptions,
    UploadResult,
    UploadSource,
    UploadState,
)

log = logging.getLogger(__name__)

# 2: a plan names its disks (data disks with their source, OVA disk index, LUN and target);
# version-1 files (one disk) load as plans without data disks.
# 3: a plan records where its disks' data is once every disk is uploaded ("placed"), so a
# failed image step is retried from there without sending the data again.
# 4: each disk is placed as soon as its own data is uploaded (a plan may hold some disks'
# placements), so a retry after one disk failed sends only the disks not yet in Azure. Files of
# version 3 and before load as they are: their placements are all or none.
PLAN_VERSION = 4
MAX_LUN = 63  # Azure's LUNs for data disks: 0-63
PLAN_TAG = "upload-plan"  # on disks we create: whose unfinished upload a disk belongs to


@dataclass(frozen=True)
class ManagedDiskTargetPlan:
    subscription_id: str
    spec: ManagedDiskSpec

    @property
    def label(self) -> str:
        return Text(Message(QT_TR_NOOP("Managed disk {name} ({resource_group}, {location})"),
                            {"name": self.spec.name, "resource_group": self.spec.resource_group,
                             "location": self.spec.location}))


@dataclass(frozen=True)
class BlobTargetPlan:
    """A page blob by SAS URL. The SAS is a secret: it lives in memory only, never in the plan
    file, so a resumed blob upload asks for it again."""

    blob_url: str  # without the query
    sas_query: str = field(default="", repr=False)
    subscription_id: str = ""  # where a managed image or gallery version from it is made
    storage_account_id: str = ""  # when picked from the subscription: a new SAS can be made

    @property
    def label(self) -> str:
        return Text(Message(QT_TR_NOOP("Page blob {url}"), {"url": self.blob_url}))

    @property
    def sas_url(self) -> str:
        return f"{self.blob_url}?{self.sas_query}" if self.sas_query else self.blob_url

    @classmethod
    def from_url(
        cls, url: str, subscription_id: str = "", *, storage_account_id: str = ""
    ) -> BlobTargetPlan:
        base, _, query = url.strip().partition("?")
        return cls(base, query, subscription_id, storage_account_id)


FollowUp = ManagedImageSpec | GalleryVersionSpec | None
TargetPlan = ManagedDiskTargetPlan | BlobTargetPlan


@dataclass(frozen=True)
class PlacedDisk:
    """A disk of the plan whose data is in Azure (all of it, verified): the OS disk (``lun``
    None) or a data disk, and the managed disk or page blob an image is made from."""

    lun: int | None
    source: DiskSource

    @property
    def order(self) -> tuple[bool, int]:
        """The plan's disk order: the OS disk first, then the data disks by LUN."""
        return (self.lun is not None, self.lun or 0)

    def to_json(self) -> dict[str, Any]:
        return {"lun": self.lun, **asdict(self.source)}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PlacedDisk:
        lun = raw.get("lun")
        return cls(
            None if lun is None else int(lun),
            DiskSource(
                managed_disk_id=raw.get("managed_disk_id") or None,
                blob_uri=raw.get("blob_uri") or None,
                storage_account_id=raw.get("storage_account_id") or None,
            ),
        )


@dataclass(frozen=True)
class DataDiskPlan:
    """A data disk of the image: its source (a file, or the disk at ``disk_index`` of an OVA),
    the LUN a VM made from the image sees it at, and its own managed disk or page blob."""

    source_path: str
    lun: int
    target: TargetPlan
    disk_index: int = 0


@dataclass(frozen=True)
class PlannedDisk:
    """One disk of a plan as the job runs it: the OS disk (``lun`` None) or a data disk."""

    source_path: str
    disk_index: int
    lun: int | None
    target: TargetPlan

    @property
    def suffix(self) -> str:
        """What tells this disk's steps from the others' (their keys are "kind:argument")."""
        return "" if self.lun is None else f":lun{self.lun}"

    @property
    def label(self) -> str:
        return Text(QT_TR_NOOP("the OS disk")) if self.lun is None else Text(
            Message(QT_TR_NOOP("the data disk at LUN {lun}"), {"lun": self.lun}))

    @property
    def name(self) -> str:
        """The managed disk's or page blob's name."""
        if isinstance(self.target, ManagedDiskTargetPlan):
            return self.target.spec.name
        return self.target.blob_url.rsplit("/", 1)[-1]


def _target_json(target: TargetPlan) -> dict[str, Any]:
    if isinstance(target, ManagedDiskTargetPlan):
        return {
            "kind": "managed-disk",
            "subscription_id": target.subscription_id,
            "spec": asdict(target.spec),
        }
    return {
        "kind": "page-blob",
        "blob_url": target.blob_url,
        "subscription_id": target.subscription_id,
        "storage_account_id": target.storage_account_id,
    }


def _target_from_json(raw: dict[str, Any]) -> TargetPlan:
    if raw["kind"] == "managed-disk":
        return ManagedDiskTargetPlan(raw["subscription_id"], ManagedDiskSpec(**dict(raw["spec"])))
    return BlobTargetPlan(
        raw["blob_url"],
        subscription_id=raw.get("subscription_id", ""),
        storage_account_id=raw.get("storage_account_id", ""),
    )


class JobStatus(StrEnum):
    """The one status of an upload job: in its plan file, in the runner and in the views. (The
    engine's ``UploadState`` is the byte transfer's state, one part of a job.)"""

    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "suspended"  # stopped by a quit: resumes where it stopped

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @property
    def resumable(self) -> bool:
        return self in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.INTERRUPTED)

    @property
    def active(self) -> bool:
        return self in (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.PAUSED)

    @classmethod
    def load(cls, text: str) -> JobStatus:
        """A status from a plan file, including those written before the one enum: "pending"
        was a plan not yet started; anything unknown was not finished (so it can be resumed)."""
        try:
            return cls(text)
        except ValueError:
            return JobStatus.QUEUED if text == "pending" else JobStatus.FAILED


@dataclass
class UploadPlan:
    """The OS disk (``source_path``, ``disk_index``, ``target``), the data disks, and the image
    made of them."""

    source_path: str
    facts: DiskFacts
    target: TargetPlan
    follow_up: FollowUp = None
    md5: bool = True
    plan_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    status: JobStatus = JobStatus.QUEUED
    last_error: str = ""
    disk_index: int = 0  # which disk of an OVA is the OS disk (0 for any other file)
    data_disks: tuple[DataDiskPlan, ...] = ()
    # Where each disk's data is, recorded as soon as that disk is uploaded (OS disk first, then
    # by LUN): a retry sends only the disks not placed, and once all are, only the image step
    # is left, which a retry runs alone (no byte is sent again).
    placed: tuple[PlacedDisk, ...] = ()

    @property
    def title(self) -> str:
        return Path(self.source_path).name

    @property
    def target_subscription(self) -> str:
        """Where the image is made: the OS disk's subscription."""
        return self.target.subscription_id

    @property
    def data_in_place(self) -> bool:
        """Every disk's data is in Azure: only the image step (if any) is left to run."""
        wanted = [disk.lun for disk in self.disks()]
        return bool(self.placed) and [disk.lun for disk in self.placed] == wanted

    def placement(self, lun: int | None) -> PlacedDisk | None:
        """Where the disk at ``lun`` (None: the OS disk) is in Azure, if it was uploaded."""
        return next((disk for disk in self.placed if disk.lun == lun), None)

    def place(self, disk: PlacedDisk) -> None:
        """Record a disk as uploaded (replacing an earlier placement of its LUN)."""
        kept = [other for other in self.placed if other.lun != disk.lun]
        self.placed = tuple(sorted([*kept, disk], key=lambda placed: placed.order))

    def unplace(self, lun: int | None) -> None:
        """The disk at ``lun`` is no longer in Azure (deleted): it is uploaded again."""
        self.placed = tuple(disk for disk in self.placed if disk.lun != lun)

    def disks(self) -> list[PlannedDisk]:
        """Every disk of the plan: the OS disk first, then the data disks in LUN order."""
        return [
            PlannedDisk(self.source_path, self.disk_index, None, self.target),
            *(
                PlannedDisk(disk.source_path, disk.disk_index, disk.lun, disk.target)
                for disk in sorted(self.data_disks, key=lambda disk: disk.lun)
            ),
        ]

    def set_target(self, disk: PlannedDisk, target: TargetPlan) -> None:
        """Replace one disk's target (a storage account found for a pasted SAS URL)."""
        if disk.lun is None:
            self.target = target
            return
        self.data_disks = tuple(
            dataclasses.replace(data, target=target) if data.lun == disk.lun else data
            for data in self.data_disks
        )

    def to_json(self) -> dict[str, Any]:
        target = _target_json(self.target)
        follow: dict[str, Any] | None = None
        if isinstance(self.follow_up, ManagedImageSpec):
            follow = {"kind": "managed-image", **asdict(self.follow_up)}
        elif isinstance(self.follow_up, GalleryVersionSpec):
            data = asdict(self.follow_up)
            data["end_of_life"] = (
                self.follow_up.end_of_life.isoformat() if self.follow_up.end_of_life else None
            )
            follow = {"kind": "gallery-version", **data}
        return {
            "version": PLAN_VERSION,
            "plan_id": self.plan_id,
            "created": self.created,
            "source_path": self.source_path,
            "facts": asdict(self.facts),
            "target": target,
            "disk_index": self.disk_index,
            "data_disks": [
                {
                    "source_path": disk.source_path,
                    "disk_index": disk.disk_index,
                    "lun": disk.lun,
                    "target": _target_json(disk.target),
                }
                for disk in self.data_disks
            ],
            "follow_up": follow,
            "placed": [disk.to_json() for disk in self.placed],
            "md5": self.md5,
            "status": self.status.value,
            "last_error": redact(self.last_error),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadPlan:
        """A saved plan; a version-1 file (written before plans had data disks) is the plan of
        its one disk."""
        target = _target_from_json(data["target"])
        data_disks = tuple(
            DataDiskPlan(
                source_path=str(raw["source_path"]),
                lun=int(raw["lun"]),
                target=_target_from_json(raw["target"]),
                disk_index=int(raw.get("disk_index", 0)),
            )
            for raw in data.get("data_disks") or ()
        )
        follow_up: FollowUp = None
        raw_follow = data.get("follow_up")
        if raw_follow and raw_follow.get("kind") == "managed-image":
            fields = {k: v for k, v in raw_follow.items() if k != "kind"}
            follow_up = ManagedImageSpec(**fields)
        elif raw_follow and raw_follow.get("kind") == "gallery-version":
            fields = {k: v for k, v in raw_follow.items() if k != "kind"}
            fields["definition"] = DefinitionSpec(**fields["definition"])
            fields["target_regions"] = tuple(tuple(pair) for pair in fields["target_regions"])
            fields["existing_versions"] = tuple(fields.get("existing_versions", ()))
            eol = fields.get("end_of_life")
            fields["end_of_life"] = date.fromisoformat(eol) if eol else None
            follow_up = GalleryVersionSpec(**fields)
        return cls(
            source_path=data["source_path"],
            facts=DiskFacts(**data["facts"]),
            target=target,
            follow_up=follow_up,
            md5=bool(data.get("md5", True)),
            plan_id=data["plan_id"],
            created=data.get("created", ""),
            status=JobStatus.load(str(data.get("status", JobStatus.QUEUED.value))),
            last_error=data.get("last_error", ""),
            disk_index=int(data.get("disk_index", 0)),
            data_disks=data_disks,
            placed=_placements(data.get("placed") or (), data_disks),
        )


def _placements(raw: Any, data_disks: Sequence[DataDiskPlan]) -> tuple[PlacedDisk, ...]:
    """A plan file's placements in the plan's disk order, one per disk of the plan: one of a
    LUN the plan does not have (a file edited by hand) would end up in the image."""
    luns = {None, *(disk.lun for disk in data_disks)}
    placed: dict[int | None, PlacedDisk] = {}
    for entry in raw:
        disk = PlacedDisk.from_json(entry)
        if disk.lun in luns:
            placed[disk.lun] = disk
    return tuple(sorted(placed.values(), key=lambda disk: disk.order))


class PlanStore:
    """Upload plans on disk: one JSON file each, removed when the upload has completed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "plans"

    def save(self, plan: UploadPlan) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(plan.to_json(), stream, indent=1)
        os.replace(temp, self.directory / f"{plan.plan_id}.json")

    def remove(self, plan: UploadPlan) -> None:
        (self.directory / f"{plan.plan_id}.json").unlink(missing_ok=True)

    def unfinished(self) -> list[UploadPlan]:
        plans = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                plan = UploadPlan.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("Ignoring unreadable upload plan %s: %s", path.name, exc)
                continue
            if plan.status is not JobStatus.COMPLETED:
                plans.append(plan)
        return plans


@dataclass(frozen=True)
class JobResult:
    upload: UploadResult | None  # the OS disk's
    image: NodeRef | None
    disk_id: str | None  # the OS disk's managed disk
    data_disk_ids: tuple[str, ...] = ()  # the data disks' managed disks, in LUN order


class VersionExistsError(AzureServiceError):
    title = Text(QT_TR_NOOP("Image version exists"))
    advice = Text(QT_TR_NOOP(
        "The uploaded disks are kept: retry with another version number (Retry with another "
        "name…); nothing is uploaded again."))


class PlanError(UploadError):
    """The plan cannot run as it is (a plan file edited by hand, or a step it needs missing);
    found before any byte moves."""


class DiskFailedError(UploadError):
    """One disk of an image of several disks failed; the others were stopped with it."""

    def __init__(self, disk: PlannedDisk, cause: BaseException) -> None:
        reason = cause.user_text() if isinstance(cause, AzureServiceError) else str(cause)
        super().__init__(Message(
            QT_TR_NOOP("The upload of {disk} ({name}, from {file}) failed, so the other disks "
                       "were stopped too: {reason}"),
            {"disk": disk.label, "name": disk.name, "file": Path(disk.source_path).name,
             # An upload error's own sentence is translated where it is shown (its str is it).
             "reason": cause if isinstance(cause, UploadError) else reason},
        ))
        self.disk = disk
        self.resumable = bool(getattr(cause, "resumable", False))


_DISK_STEPS = {
    DiskUploadStep.CREATING: StepSpec(
        "create-disk", Text(QT_TR_NOOP("Create the managed disk for upload"))),
    DiskUploadStep.GRANTING: StepSpec("grant", Text(QT_TR_NOOP("Grant write access (SAS)"))),
    DiskUploadStep.UPLOADING: StepSpec("upload", Text(QT_TR_NOOP("Upload the data"))),
    DiskUploadStep.REVOKING: StepSpec("revoke", Text(QT_TR_NOOP("Revoke access"))),
}
_UPLOAD_BLOB = StepSpec("upload", Text(QT_TR_NOOP("Upload the data")))
DATA_STEP = "upload"  # the one step that moves the bytes, of every disk of the job


def _disk_step(phase: DiskUploadStep, disk: PlannedDisk, several: bool) -> StepSpec:
    """A managed disk's phase as a step; with several disks, each disk's steps say its name."""
    base = _DISK_STEPS[phase]
    if not several:
        return base
    titles = {
        DiskUploadStep.CREATING: Message(
            QT_TR_NOOP("Create the managed disk {name} for upload"), {"name": disk.name}),
        DiskUploadStep.GRANTING: Message(
            QT_TR_NOOP("Grant write access to {name} (SAS)"), {"name": disk.name}),
        DiskUploadStep.REVOKING: Message(
            QT_TR_NOOP("Revoke access to {name}"), {"name": disk.name}),
    }
    return StepSpec(base.key + disk.suffix, Text(titles[phase]))


def _data_step(disks: Sequence[PlannedDisk]) -> StepSpec:
    if len(disks) == 1:
        return _UPLOAD_BLOB
    return StepSpec(DATA_STEP, Text(plural(
        tr("Upload the data of %n disks at the same time", "", len(disks)),
        "Upload the data of %n disks at the same time", len(disks))))


def data_steps(plan: UploadPlan) -> list[StepSpec]:
    """The steps that bring the plan's disks to Azure, in order, known before the job starts
    (the image's steps follow). One managed disk: create, grant, upload, revoke; a page blob:
    upload. Several disks: each managed disk's create and grant, the one data step of all
    disks (they upload at the same time), each managed disk's revoke."""
    disks = plan.disks()
    several = len(disks) > 1
    managed = [disk for disk in disks if isinstance(disk.target, ManagedDiskTargetPlan)]
    steps: list[StepSpec] = []
    for disk in managed:
        steps += [_disk_step(DiskUploadStep.CREATING, disk, several),
                  _disk_step(DiskUploadStep.GRANTING, disk, several)]
    steps.append(_data_step(disks))
    steps += [_disk_step(DiskUploadStep.REVOKING, disk, several) for disk in managed]
    return steps


def open_sources(plan: UploadPlan) -> list[Any]:
    """Every disk of the plan opened as the fixed VHD Azure takes, OS disk first (blocking:
    call it on a worker thread). What was opened is closed again if a later disk fails."""
    # Imported here: the format readers are only needed once an upload starts.
    from gui.diskimage import open_image

    opened: list[Any] = []
    try:
        for disk in plan.disks():
            opened.append(open_image(Path(disk.source_path), disk.disk_index))
    except BaseException:
        for image in opened:
            image.close()
        raise
    return opened


def combine_snapshots(parts: Sequence[tuple[ProgressSnapshot | None, int]]) -> ProgressSnapshot:
    """One snapshot of disks that upload at the same time: each part is a disk's latest snapshot
    (None before its engine reported) and its upload size. Bytes, rates and retries add up; the
    time left is what is left over the combined rate; the job is paused only when every disk
    still going is."""
    snapshots = [snapshot for snapshot, _size in parts if snapshot is not None]
    states = [snapshot.state if snapshot else UploadState.PENDING for snapshot, _ in parts]
    going = [state for state in states if not state.finished]
    if not going:
        state = next(
            (s for s in (UploadState.FAILED, UploadState.CANCELLED) if s in states),
            UploadState.COMPLETED,
        )
    elif UploadState.PAUSED in going and all(
        s in (UploadState.PAUSED, UploadState.PENDING) for s in going
    ):
        state = UploadState.PAUSED
    else:
        state = next(
            s for s in (UploadState.UPLOADING, UploadState.FINISHING, UploadState.PREPARING,
                        UploadState.PENDING) if s in going or s is UploadState.PENDING
        )
    total = sum(size for _snapshot, size in parts)
    sent = sum(s.bytes_sent for s in snapshots)
    skipped = sum(s.bytes_skipped for s in snapshots)
    present = sum(s.bytes_present for s in snapshots)
    rate = sum(s.rate for s in snapshots)
    left = max(0, total - sent - skipped - present)
    return ProgressSnapshot(
        state=state,
        total_bytes=total,
        bytes_sent=sent,
        bytes_skipped=skipped,
        bytes_present=present,
        send_rate=sum(s.send_rate for s in snapshots),
        rate=rate,
        eta_seconds=left / rate if rate > 0 and going else (0.0 if not going else None),
        elapsed_seconds=max((s.elapsed_seconds for s in snapshots), default=0.0),
        in_flight_limit=sum(s.in_flight_limit for s in snapshots),
        retries=sum(s.retries for s in snapshots),
        md5_bytes=sum(s.md5_bytes for s in snapshots),
        message=next((s.message for s in snapshots if s.message), ""),
        requests_in_flight=sum(s.requests_in_flight for s in snapshots),
    )


Emit = Callable[[StepEvent], None]
Engine = ManagedDiskUpload | Upload


class _Leg:
    """One disk of a running job: its source, its engine once made, and its latest progress."""

    def __init__(self, disk: PlannedDisk, source: UploadSource) -> None:
        self.disk = disk
        self.source = source
        self.snapshot: ProgressSnapshot | None = None
        self.disk_upload: ManagedDiskUpload | None = None
        self.blob_upload: Upload | None = None
        self.result: UploadResult | None = None
        self.disk_id: str | None = None
        self.image_source: DiskSource | None = None
        self.spec: ManagedDiskSpec | None = None  # as created: with this plan's tag
        # In Azure from an earlier run of the plan (checked still there): not sent again.
        self.placed: PlacedDisk | None = None

    @property
    def engines(self) -> list[Engine]:
        return [e for e in (self.disk_upload, self.blob_upload) if e is not None]


class _DataStep:
    """The one data step of every disk: running from the first disk's first byte until the
    last disk's data is uploaded and verified."""

    def __init__(self, spec: StepSpec, emit: Emit, count: int) -> None:
        self.spec = spec
        self.emit = emit
        self.count = count
        self.event: StepEvent | None = None
        self.finished: set[int] = set()

    def start(self) -> None:
        if self.event is None:
            self.event = started(self.spec)
            self.emit(self.event)

    def finish(self, leg: _Leg) -> None:
        self.finished.add(id(leg))
        event = self.event
        if len(self.finished) == self.count and event and event.state is StepState.RUNNING:
            self.event = event.ended_as(StepState.DONE)
            self.emit(self.event)


class UploadJob:
    """Runs a plan: ``run()`` yields its step events on the caller's loop (the data moves on the
    engines' threads); the outcome is in ``result`` once it has ended. Pause/resume/cancel from
    anywhere. ``sources`` are the plan's disks opened (``open_sources``), OS disk first; a plan
    of one disk may pass that disk alone."""

    def __init__(
        self,
        session: AzureSession,
        plan: UploadPlan,
        sources: UploadSource | Sequence[UploadSource],
        *,
        on_progress: ProgressCallback | None = None,
        options: UploadOptions | None = None,
        vault: SasVault | None = None,
        delete_partial_disk: bool = True,
        on_placed: Callable[[UploadPlan], None] | None = None,
    ) -> None:
        self.session = session
        self.delete_partial_disk = delete_partial_disk
        self.plan = plan
        # A plan whose data is in place (``plan.data_in_place``) runs its image step alone and
        # needs no source: the files may even be gone by then.
        self.sources: list[UploadSource] = (
            list(sources) if isinstance(sources, Sequence) else [sources]
        )
        # Called whenever the plan's placements change (a disk's data is in Azure, or a placed
        # disk was found gone): the caller saves the plan, so a failure or quit from there on
        # never sends a placed disk again; the last disk's call comes before the image step.
        self._on_placed = on_placed
        self._on_progress = on_progress
        # One options object for every disk: they share its bandwidth cap (one budget).
        self.options = options or UploadOptions(md5=plan.md5)
        self._legs: list[_Leg] = []
        self._progress_lock = threading.Lock()
        self.events: dict[str, StepEvent] = {}  # the latest event of each step
        self.result: JobResult | None = None
        self.vault = vault or SasVault()
        # A stop asked for before a disk's transfer exists is applied when it starts.
        self._stop: str | None = None  # "cancel" or "suspend"
        self._paused = False
        self._halted = False  # another disk failed: every disk stops

    @property
    def _disk_upload(self) -> ManagedDiskUpload | None:
        """The OS disk's managed-disk upload, once it exists."""
        return self._legs[0].disk_upload if self._legs else None

    # --- control ------------------------------------------------------------------------------

    def _engines(self) -> list[Engine]:
        return [engine for leg in self._legs for engine in leg.engines]

    def pause(self) -> None:
        self._paused = True
        for engine in self._engines():
            engine.pause()

    def resume(self) -> None:
        self._paused = False
        for engine in self._engines():
            engine.resume()

    def cancel(self) -> None:
        self._stop = "cancel"
        for engine in self._engines():
            engine.cancel()

    def suspend(self) -> None:
        """Stop so that the next start resumes where it stopped: a managed disk keeps its write
        access (SAS in the keyring); a page blob simply stops (its journal is saved)."""
        if self._stop != "cancel":
            self._stop = "suspend"
        for engine in self._engines():
            if isinstance(engine, ManagedDiskUpload):
                engine.suspend()
            else:
                engine.cancel()

    def _halt(self) -> None:
        """One disk failed: the others stop (as a cancel, which keeps what they sent)."""
        self._halted = True
        for engine in self._engines():
            engine.cancel()

    def _apply_to(self, engine: Engine) -> None:
        """What was asked of the job before this disk's engine existed."""
        if self._paused:
            engine.pause()
        if self._stop == "cancel" or self._halted:
            engine.cancel()
        elif self._stop == "suspend":
            if isinstance(engine, ManagedDiskUpload):
                engine.suspend()
            else:
                engine.cancel()

    # --- flow ---------------------------------------------------------------------------------

    async def run(self) -> AsyncGenerator[StepEvent, None]:
        """The job's step events as they happen. A failure ends the running steps as failed
        (their events come first), then raises; the engine's and Azure's errors pass as they
        are (with several disks, as a :class:`DiskFailedError` naming the disk)."""
        async for event in pump(self._work):
            self.events[event.key] = event
            yield event

    async def _work(self, emit: Emit) -> None:
        running: dict[str, StepEvent] = {}

        def track(event: StepEvent) -> None:
            if event.state is StepState.RUNNING:
                running[event.key] = event
            else:
                running.pop(event.key, None)
            emit(event)

        try:
            self.result = await self._run(track)
        except BaseException as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            for event in list(running.values()):
                track(event.ended_as(StepState.FAILED, message))
            raise

    def _disk_steps(self, emit: Emit, leg: _Leg, data: _DataStep) -> Callable[[DiskUploadStep],
                                                                                None]:
        """A managed-disk upload's phases as steps: a new phase ends the one before; the data
        phase is the job's one data step, shared by every disk."""
        current: list[StepEvent] = []
        several = len(self._legs) > 1

        def end_current() -> None:
            if current:
                emit(current.pop().ended_as(StepState.DONE))

        def on_phase(phase: DiskUploadStep) -> None:
            engine = leg.disk_upload.upload if leg.disk_upload is not None else None
            if (phase is DiskUploadStep.REVOKING and engine is not None
                    and engine.snapshot.state is UploadState.COMPLETED):
                # Access is revoked after the data is all there (and also after a failure,
                # which leaves the data step running, to end as failed).
                data.finish(leg)
            end_current()
            if phase is DiskUploadStep.UPLOADING:
                data.start()
            elif phase in _DISK_STEPS:
                current.append(started(_disk_step(phase, leg.disk, several)))
                emit(current[0])

        return on_phase

    def _leg_progress(self, leg: _Leg) -> ProgressCallback:
        """A disk's engine reports (on its own thread); the job reports all disks as one."""

        def on_progress(snapshot: ProgressSnapshot) -> None:
            if self._on_progress is None:
                return
            if len(self._legs) == 1:
                self._on_progress(snapshot)
                return
            # Under the lock, so combined snapshots leave in the order they were made.
            with self._progress_lock:
                leg.snapshot = snapshot
                self._on_progress(combine_snapshots(
                    [(other.snapshot, other.source.upload_size) for other in self._legs]))

        return on_progress

    async def _drop_sealed_partial_disk(
        self, compute: ComputeManagementClient, spec: ManagedDiskSpec, emit: Emit,
        suffix: str = "",
    ) -> None:
        """A stopped upload had its access revoked, and Azure seals a disk then (Unattached,
        no more writes). If that disk is this plan's own unfinished one, it is deleted so the
        upload can start over; any other disk of that name is left alone (the upload refuses)."""
        await self._drop_partial_disk(
            compute, spec, emit, Text(QT_TR_NOOP("sealed when the upload stopped")),
            ("Unattached",), done=Text(QT_TR_NOOP("the upload starts over")), suffix=suffix)

    async def _drop_partial_disk(
        self, compute: ComputeManagementClient, spec: ManagedDiskSpec, emit: Emit, why: str,
        states: tuple[str, ...], *, done: str = "", suffix: str = "",
    ) -> bool:
        """Delete this plan's own partial disk (its tag says so) when it is in one of
        ``states``; a disk of that name that this plan did not make is never touched."""
        try:
            disk = await compute.disks.get(spec.resource_group, spec.name)
        except ResourceNotFoundError:
            return False
        except Exception as exc:
            raise translate(exc) from exc
        state = str((disk.get("properties") or {}).get("diskState", ""))
        if state not in states or (disk.tags or {}).get(PLAN_TAG) != self.plan.plan_id:
            return False
        title = Text(Message(QT_TR_NOOP("Delete the partial disk {name} ({why})"),
                             {"name": spec.name, "why": why}))
        event = started(StepSpec("drop-partial" + suffix, title))
        emit(event)
        try:
            poller = await compute.disks.begin_delete(spec.resource_group, spec.name)
            await poller.result()
        except Exception as exc:
            raise translate(exc) from exc
        emit(event.ended_as(StepState.DONE, done))
        return True

    async def _check_plan(self) -> None:
        """Before any byte moves: what Azure would refuse only after the upload."""
        plan = self.plan
        disks = plan.disks()
        if plan.data_in_place:
            return  # checked when the data was uploaded; the image step checks its own
        if len(self.sources) != len(disks):
            raise PlanError(Message(
                QT_TR_NOOP("The upload has {disks} disks but {opened} were opened. Plan the "
                           "upload again."),
                {"disks": len(disks), "opened": len(self.sources)},
            ))
        luns = [disk.lun for disk in disks[1:]]
        for lun in luns:
            if lun is None or not 0 <= lun <= MAX_LUN or luns.count(lun) > 1:
                raise PlanError(Message(
                    QT_TR_NOOP("Each data disk needs its own LUN from 0 to {max_lun}, and LUN "
                               "{lun} is not usable here. Plan the upload again."),
                    {"max_lun": MAX_LUN, "lun": lun},
                ))
        follow = plan.follow_up
        if follow is None:
            return
        if isinstance(plan.target, BlobTargetPlan) and not plan.target.subscription_id:
            raise PlanError(Message(QT_TR_NOOP(
                "An image from a page blob is made in a subscription, and the upload names none. "
                "Plan the upload again from a signed-in window."
            )))
        if isinstance(follow, GalleryVersionSpec):
            # Azure makes a gallery version from a VHD only with its storage account's id; a
            # pasted SAS URL does not carry it: found by the blob endpoint, or refused now.
            for disk in disks:
                target = disk.target
                if isinstance(target, BlobTargetPlan) and not target.storage_account_id:
                    account_id = await self._storage_account_of(target)
                    plan.set_target(
                        disk, dataclasses.replace(target, storage_account_id=account_id))

    async def _storage_account_of(self, target: BlobTargetPlan) -> str:
        """The id of the subscription's storage account whose blob endpoint holds the blob."""
        # Imported here: only a pasted SAS URL with a gallery version needs storage accounts.
        from gui.azure.upload.storage import list_storage_accounts

        subscription = target.subscription_id or self.plan.target_subscription
        accounts = await list_storage_accounts(self.session, subscription)
        url = target.blob_url.casefold()
        for account in accounts:
            if url.startswith(account.blob_endpoint.rstrip("/").casefold() + "/"):
                return account.id
        raise VhdAccountUnknownError(message(
            QT_TR_NOOP("A gallery image version from the blob {blob_url} needs its storage "
                       "account, and no storage account of subscription {subscription} has that "
                       "blob endpoint. Nothing was uploaded."),
            blob_url=target.blob_url, subscription=subscription))

    async def _run(self, emit: Emit) -> JobResult:
        await self._check_plan()
        plan = self.plan
        if plan.data_in_place:
            return await self._follow_up_only(emit)
        disks = plan.disks()
        self._legs = [_Leg(disk, source) for disk, source in zip(disks, self.sources, strict=True)]
        for leg in self._legs:
            if isinstance(leg.disk.target, ManagedDiskTargetPlan):
                leg.spec = self._tagged(leg.disk.target)
        await self._skip_placed(emit)
        running = [leg for leg in self._legs if leg.placed is None]
        data = _DataStep(_data_step(disks), emit, len(running))
        tasks = [asyncio.ensure_future(self._run_leg(leg, data, emit)) for leg in running]
        await self._wait_for(running, tasks, emit)
        legs = self._legs  # each placed its disk (``plan.data_in_place`` holds now)
        image = await self._follow_up(emit)
        return JobResult(
            upload=legs[0].result,
            image=image,
            disk_id=legs[0].disk_id,
            data_disk_ids=tuple(leg.disk_id for leg in legs[1:] if leg.disk_id),
        )

    def _tagged(self, target: ManagedDiskTargetPlan) -> ManagedDiskSpec:
        """The disk as this plan creates it: tagged with the plan, so a retry knows its own."""
        return dataclasses.replace(
            target.spec,
            tags={
                **(target.spec.tags or {}),
                PLAN_TAG: self.plan.plan_id,
                "created-by": "azure-image-studio",
            },
        )

    def _saved(self) -> None:
        """The plan's placements changed: the caller saves the plan, so that a quit or a
        failure from here on never sends a placed disk's data again."""
        if self._on_placed is not None:
            self._on_placed(self.plan)

    def _place(self, leg: _Leg) -> None:
        """A disk's data is in Azure (uploaded, verified, access revoked): recorded at once,
        while the other disks may still be uploading."""
        assert leg.image_source is not None
        self.plan.place(PlacedDisk(leg.disk.lun, leg.image_source))
        self._saved()

    async def _skip_placed(self, emit: Emit) -> None:
        """The disks an earlier run of this plan uploaded are not sent again: each is looked at
        (one GET) to be still there as that run left it, and its steps are skipped, saying so.
        One deleted or changed meanwhile loses its placement and is uploaded again."""
        several = len(self._legs) > 1
        dropped = False
        for leg in self._legs:
            placed = self.plan.placement(leg.disk.lun)
            if placed is None:
                continue
            if not await self._still_placed(leg, placed):
                log.info("%s (%s) is no longer in Azure as uploaded: it is uploaded again",
                         leg.disk.label, leg.disk.name)
                self.plan.unplace(leg.disk.lun)
                dropped = True
                continue
            leg.placed = placed
            leg.image_source = placed.source
            leg.disk_id = placed.source.managed_disk_id
            size = leg.source.upload_size
            # Counted as there in the job's one progress, as a resumed engine counts its pages.
            leg.snapshot = ProgressSnapshot(
                state=UploadState.COMPLETED, total_bytes=size, bytes_sent=0, bytes_skipped=0,
                bytes_present=size, send_rate=0.0, rate=0.0, eta_seconds=0.0,
                elapsed_seconds=0.0, in_flight_limit=0, retries=0, md5_bytes=0)
            if isinstance(leg.disk.target, ManagedDiskTargetPlan):
                already = Text(message(
                    QT_TR_NOOP("The data of {name} is in Azure from an earlier run; nothing "
                               "is sent again."),
                    name=leg.disk.name))
                for phase in (DiskUploadStep.CREATING, DiskUploadStep.GRANTING,
                              DiskUploadStep.REVOKING):
                    emit(StepEvent(_disk_step(phase, leg.disk, several), StepState.SKIPPED,
                                   message=already))
        if dropped:
            self._saved()

    async def _still_placed(self, leg: _Leg, placed: PlacedDisk) -> bool:
        """The placed disk is still what the earlier run left: the same managed disk of this
        plan, sealed (Unattached) at the image's size, or a page blob of that size."""
        target = leg.disk.target
        size = leg.source.upload_size
        if isinstance(target, BlobTargetPlan):
            return await self._blob_still_placed(target, size)
        compute = self.session.compute(target.subscription_id)
        try:
            disk = await compute.disks.get(target.spec.resource_group, target.spec.name)
        except ResourceNotFoundError:
            return False
        except Exception as exc:
            raise translate(exc) from exc
        creation = disk.creation_data
        return (
            str(disk.id or "").casefold() == str(placed.source.managed_disk_id or "").casefold()
            and str(getattr(disk.disk_state, "value", disk.disk_state)) == "Unattached"
            and (disk.tags or {}).get(PLAN_TAG) == self.plan.plan_id
            and creation is not None and creation.upload_size_bytes == size
        )

    async def _blob_still_placed(self, target: BlobTargetPlan, size: int) -> bool:
        if not target.sas_query:
            # No credential to look with (a SAS lives in memory only): the image step says it
            # in Azure's words if the blob is gone.
            return True
        # Imported here: only a resumed upload to page blobs looks at a blob this way.
        from azure.core.exceptions import HttpResponseError
        from azure.storage.blob.aio import BlobClient

        from gui.azure.account.network import sdk_client_options

        client = BlobClient.from_blob_url(
            target.sas_url, **sdk_client_options(target.blob_url, "The blob endpoint"))
        async with client:
            try:
                props = await client.get_blob_properties()
            except ResourceNotFoundError:
                return False
            except HttpResponseError as exc:
                if exc.status_code == 403:
                    return True  # a pasted SAS that may write but not read: nothing to look at
                raise translate(exc) from exc
        blob_type = str(getattr(props.blob_type, "value", props.blob_type))
        return blob_type == "PageBlob" and props.size == size

    async def _follow_up_only(self, emit: Emit) -> JobResult:
        """The data is in Azure from an earlier run: its steps are skipped (saying so) and the
        image is made from the disks or blobs the plan recorded."""
        plan = self.plan
        already = Text(QT_TR_NOOP(
            "The data is in Azure from an earlier run; nothing is sent again."))
        for spec in data_steps(plan):
            emit(StepEvent(spec, StepState.SKIPPED, message=already))
        image = await self._follow_up(emit)
        os_disk = plan.placed[0].source
        return JobResult(
            upload=None,
            image=image,
            disk_id=os_disk.managed_disk_id,
            data_disk_ids=tuple(
                disk.source.managed_disk_id for disk in plan.placed[1:]
                if disk.source.managed_disk_id
            ),
        )

    async def _follow_up(self, emit: Emit) -> NodeRef | None:
        """The image or gallery version of the plan, from the disks it placed."""
        plan = self.plan
        follow_up = plan.follow_up
        if follow_up is None:
            return None
        compute = self.session.compute(plan.target_subscription)
        placed = list(plan.placed)
        if isinstance(follow_up, GalleryVersionSpec):
            placed = await self._with_storage_accounts(placed)
            await self._refuse_existing_version(compute, follow_up, emit)
        os_source = placed[0].source
        data_sources = [DataDiskSource(disk.lun, disk.source)
                        for disk in placed[1:] if disk.lun is not None]
        builder = ImageBuilder(compute)
        steps = (
            builder.create_managed_image(os_source, plan.facts, follow_up, data_sources)
            if isinstance(follow_up, ManagedImageSpec)
            else builder.create_gallery_version(os_source, follow_up, data_sources)
        )
        async for step in steps:
            emit(step)
        return builder.result

    async def _with_storage_accounts(self, placed: list[PlacedDisk]) -> list[PlacedDisk]:
        """A gallery version from a VHD needs its storage account (a retry may turn a managed
        image of a pasted SAS URL's blob into a gallery version): found by the blob endpoint."""
        found = []
        for disk in placed:
            source = disk.source
            if source.blob_uri and not source.storage_account_id:
                planned = next(d for d in self.plan.disks() if d.lun == disk.lun)
                target = planned.target
                assert isinstance(target, BlobTargetPlan)
                account_id = target.storage_account_id or await self._storage_account_of(target)
                source = dataclasses.replace(source, storage_account_id=account_id)
            found.append(PlacedDisk(disk.lun, source))
        self.plan.placed = tuple(found)
        return found

    async def _refuse_existing_version(
        self, compute: ComputeManagementClient, spec: GalleryVersionSpec, emit: Emit
    ) -> None:
        """A PUT of a version that exists is an update of that version in Azure (at best
        refused for its new source): an upload never touches a version it did not make."""
        definition = spec.definition.name
        versions = await existing_versions(compute, spec.resource_group, spec.gallery, definition)
        if spec.version not in versions:
            return
        title = Text(Message(QT_TR_NOOP("Create version {version} of {definition}"),
                             {"version": spec.version, "definition": definition}))
        error = VersionExistsError(Message(
            QT_TR_NOOP("Version {version} of {definition} exists already in the gallery "
                       "{gallery}."),
            {"version": spec.version, "definition": definition, "gallery": spec.gallery},
        ), code="VersionExists")
        event = started(StepSpec("version", title))
        emit(event)
        emit(event.ended_as(StepState.FAILED, error.message, error.advice))
        raise error

    async def _wait_for(
        self, legs: list[_Leg], tasks: list[asyncio.Task[None]], emit: Emit
    ) -> None:
        """Every disk's upload (``legs``: those not placed before) to its end; the first
        failure stops the others and is raised (naming its disk when there are several)."""
        if not tasks:
            return
        try:
            _done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            if pending:
                self._halt()
                await asyncio.wait(pending)
        except asyncio.CancelledError:
            self._halt()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        failures = [
            (leg, error)
            for leg, task in zip(legs, tasks, strict=True)
            if (error := task.exception()) is not None
        ]
        if not failures:
            return
        if self._stop == "cancel" and self.delete_partial_disk:
            # Cancelled after some disk's upload was done (in this run or an earlier one): the
            # job as a whole is cancelled, and a disk only this cancelled upload made would cost
            # money unused.
            for leg in self._legs:
                if leg.disk_id is not None:
                    await self._drop_cancelled(leg, emit)
        # The disk that failed first for a cause of its own, not one stopped because of it.
        causes = [f for f in failures if not isinstance(f[1], UploadCancelledError)]
        leg, error = (causes or failures)[0]
        if len(self._legs) == 1 or isinstance(error, UploadCancelledError):
            raise error
        raise DiskFailedError(leg.disk, error) from error

    async def _run_leg(self, leg: _Leg, data: _DataStep, emit: Emit) -> None:
        if isinstance(leg.disk.target, ManagedDiskTargetPlan):
            await self._managed_leg(leg, leg.disk.target, data, emit)
        else:
            await self._blob_leg(leg, leg.disk.target, data, emit)
        self._place(leg)

    async def _managed_leg(
        self, leg: _Leg, target: ManagedDiskTargetPlan, data: _DataStep, emit: Emit
    ) -> None:
        compute = self.session.compute(target.subscription_id)
        spec = leg.spec = self._tagged(target)
        await self._drop_sealed_partial_disk(compute, spec, emit, leg.disk.suffix)
        on_phase = self._disk_steps(emit, leg, data)
        upload = ManagedDiskUpload(
            compute,
            leg.source,
            spec,
            self.options,
            on_progress=self._leg_progress(leg),
            on_step=on_phase,
            vault=self.vault,
        )
        leg.disk_upload = upload
        self._apply_to(upload)
        try:
            result = await upload.run()
        except UploadCancelledError:
            if self._stop == "cancel" and self.delete_partial_disk:
                await self._drop_cancelled(leg, emit)
            raise
        on_phase(DiskUploadStep.DONE)
        leg.result, leg.disk_id = result.upload, result.disk_id
        leg.image_source = DiskSource(managed_disk_id=result.disk_id)

    async def _drop_cancelled(self, leg: _Leg, emit: Emit) -> None:
        """A cancelled upload's disk is deleted (Settings: delete a cancelled upload's partial
        disk), with its journal, so a new upload of that name starts clean."""
        target = leg.disk.target
        if leg.spec is None or not isinstance(target, ManagedDiskTargetPlan):
            return
        compute = self.session.compute(target.subscription_id)
        dropped = await self._drop_partial_disk(
            compute, leg.spec, emit, Text(QT_TR_NOOP("the upload was cancelled")),
            ("Unattached", "ReadyToUpload"), suffix=leg.disk.suffix)
        upload = leg.disk_upload.upload if leg.disk_upload is not None else None
        if dropped and upload is not None:
            upload.discard_journal()
        if dropped:
            leg.disk_id = None
            leg.image_source = None
            if self.plan.placement(leg.disk.lun) is not None:
                self.plan.unplace(leg.disk.lun)
                self._saved()

    async def _blob_leg(
        self, leg: _Leg, target: BlobTargetPlan, data: _DataStep, emit: Emit
    ) -> None:
        data.start()
        upload = Upload(
            leg.source, SasUrlTarget(target.sas_url), self.options, self._leg_progress(leg)
        )
        leg.blob_upload = upload
        self._apply_to(upload)
        upload.start()
        try:
            await asyncio.to_thread(upload.wait)
        except asyncio.CancelledError:
            upload.cancel()
            raise
        leg.result = upload.result()
        data.finish(leg)
        leg.image_source = DiskSource(
            blob_uri=target.blob_url,
            storage_account_id=target.storage_account_id or None,
        )

"""One upload as the wizard plans it: the data to a managed disk or a page blob, then the image.

The plan is plain data, saved (without secrets) beside the engine's journals so an upload that
did not finish can be offered for resume at the next start. ``UploadJob.run`` does the whole
flow on the caller's loop; the data itself moves on the upload engine's own thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import tempfile
import uuid
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import NodeRef
from gui.azure.errors import redact, translate
from gui.azure.image_builder import (
    DefinitionSpec,
    DiskFacts,
    DiskSource,
    GalleryVersionSpec,
    ImageBuilder,
    ManagedImageSpec,
)
from gui.azure.steps import StepEvent, StepSpec, StepState, pump, started
from gui.azure.upload.managed_disk import (
    DiskUploadStep,
    ManagedDiskSpec,
    ManagedDiskUpload,
    SasVault,
)
from gui.diskimage.text import Text
from gui.i18n import QT_TR_NOOP, Message
from gui.transfer import (
    ProgressCallback,
    SasUrlTarget,
    Upload,
    UploadCancelledError,
    UploadOptions,
    UploadResult,
)

log = logging.getLogger(__name__)

PLAN_VERSION = 1
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
    source_path: str
    facts: DiskFacts
    target: ManagedDiskTargetPlan | BlobTargetPlan
    follow_up: FollowUp = None
    md5: bool = True
    plan_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    status: JobStatus = JobStatus.QUEUED
    last_error: str = ""

    @property
    def title(self) -> str:
        return Path(self.source_path).name

    def to_json(self) -> dict[str, Any]:
        target: dict[str, Any]
        if isinstance(self.target, ManagedDiskTargetPlan):
            target = {
                "kind": "managed-disk",
                "subscription_id": self.target.subscription_id,
                "spec": asdict(self.target.spec),
            }
        else:
            target = {
                "kind": "page-blob",
                "blob_url": self.target.blob_url,
                "subscription_id": self.target.subscription_id,
                "storage_account_id": self.target.storage_account_id,
            }
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
            "follow_up": follow,
            "md5": self.md5,
            "status": self.status.value,
            "last_error": redact(self.last_error),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UploadPlan:
        raw_target = data["target"]
        target: ManagedDiskTargetPlan | BlobTargetPlan
        if raw_target["kind"] == "managed-disk":
            spec = dict(raw_target["spec"])
            target = ManagedDiskTargetPlan(raw_target["subscription_id"], ManagedDiskSpec(**spec))
        else:
            target = BlobTargetPlan(
                raw_target["blob_url"],
                subscription_id=raw_target.get("subscription_id", ""),
                storage_account_id=raw_target.get("storage_account_id", ""),
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
        )


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
    upload: UploadResult | None
    image: NodeRef | None
    disk_id: str | None


_DISK_STEPS = {
    DiskUploadStep.CREATING: StepSpec(
        "create-disk", Text(QT_TR_NOOP("Create the managed disk for upload"))),
    DiskUploadStep.GRANTING: StepSpec("grant", Text(QT_TR_NOOP("Grant write access (SAS)"))),
    DiskUploadStep.UPLOADING: StepSpec("upload", Text(QT_TR_NOOP("Upload the data"))),
    DiskUploadStep.REVOKING: StepSpec("revoke", Text(QT_TR_NOOP("Revoke access"))),
}
_UPLOAD_BLOB = StepSpec("upload", Text(QT_TR_NOOP("Upload the data")))

Emit = Callable[[StepEvent], None]


class UploadJob:
    """Runs a plan: ``run()`` yields its step events on the caller's loop (the data moves on the
    engine's thread); the outcome is in ``result`` once it has ended. Pause/resume/cancel from
    anywhere."""

    def __init__(
        self,
        session: AzureSession,
        plan: UploadPlan,
        source: Any,
        *,
        on_progress: ProgressCallback | None = None,
        options: UploadOptions | None = None,
        vault: SasVault | None = None,
        delete_partial_disk: bool = True,
    ) -> None:
        self.session = session
        self.delete_partial_disk = delete_partial_disk
        self.plan = plan
        self.source = source
        self._on_progress = on_progress
        self.options = options or UploadOptions(md5=plan.md5)
        self._disk_upload: ManagedDiskUpload | None = None
        self._blob_upload: Upload | None = None
        self.events: dict[str, StepEvent] = {}  # the latest event of each step
        self.result: JobResult | None = None
        self.vault = vault or SasVault()
        # A stop asked for before the data transfer exists is applied when it starts.
        self._stop: str | None = None  # "cancel" or "suspend"

    # --- control ------------------------------------------------------------------------------

    def pause(self) -> None:
        for upload in (self._disk_upload, self._blob_upload):
            if upload is not None:
                upload.pause()

    def resume(self) -> None:
        for upload in (self._disk_upload, self._blob_upload):
            if upload is not None:
                upload.resume()

    def cancel(self) -> None:
        self._stop = "cancel"
        for upload in (self._disk_upload, self._blob_upload):
            if upload is not None:
                upload.cancel()

    def suspend(self) -> None:
        """Stop so that the next start resumes where it stopped: a managed disk keeps its write
        access (SAS in the keyring); a page blob simply stops (its journal is saved)."""
        if self._stop != "cancel":
            self._stop = "suspend"
        if self._disk_upload is not None:
            self._disk_upload.suspend()
        if self._blob_upload is not None:
            self._blob_upload.cancel()

    def _apply_stop(self) -> None:
        if self._stop == "cancel":
            self.cancel()
        elif self._stop == "suspend":
            self.suspend()

    # --- flow ---------------------------------------------------------------------------------

    async def run(self) -> AsyncGenerator[StepEvent, None]:
        """The job's step events as they happen. A failure ends the running steps as failed
        (their events come first), then raises; the engine's and Azure's errors pass as they
        are."""
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

    def _disk_steps(self, emit: Emit) -> Callable[[DiskUploadStep], None]:
        """The managed-disk upload's phases as steps: a new phase ends the one before."""
        current: list[StepEvent] = []

        def on_phase(phase: DiskUploadStep) -> None:
            if current:
                emit(current.pop().ended_as(StepState.DONE))
            if phase in _DISK_STEPS:
                current.append(started(_DISK_STEPS[phase]))
                emit(current[0])

        return on_phase

    async def _drop_sealed_partial_disk(
        self, compute: ComputeManagementClient, spec: ManagedDiskSpec, emit: Emit
    ) -> None:
        """A stopped upload had its access revoked, and Azure seals a disk then (Unattached,
        no more writes). If that disk is this plan's own unfinished one, it is deleted so the
        upload can start over; any other disk of that name is left alone (the upload refuses)."""
        await self._drop_partial_disk(
            compute, spec, emit, Message(QT_TR_NOOP("sealed when the upload stopped")),
            ("Unattached",), done=Text(QT_TR_NOOP("the upload starts over")))

    async def _drop_partial_disk(
        self, compute: ComputeManagementClient, spec: ManagedDiskSpec, emit: Emit,
        why: Message, states: tuple[str, ...], *, done: str = "",
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
        event = started(StepSpec("drop-partial", title))
        emit(event)
        try:
            poller = await compute.disks.begin_delete(spec.resource_group, spec.name)
            await poller.result()
        except Exception as exc:
            raise translate(exc) from exc
        emit(event.ended_as(StepState.DONE, done))
        return True

    async def _run(self, emit: Emit) -> JobResult:
        plan = self.plan
        upload_result: UploadResult | None
        disk_id: str | None = None
        compute: ComputeManagementClient | None
        if isinstance(plan.target, ManagedDiskTargetPlan):
            compute = self.session.compute(plan.target.subscription_id)
            spec = dataclasses.replace(
                plan.target.spec,
                tags={
                    **(plan.target.spec.tags or {}),
                    PLAN_TAG: plan.plan_id,
                    "created-by": "azure-image-studio",
                },
            )
            await self._drop_sealed_partial_disk(compute, spec, emit)
            on_phase = self._disk_steps(emit)
            self._disk_upload = ManagedDiskUpload(
                compute,
                self.source,
                spec,
                self.options,
                on_progress=self._on_progress,
                on_step=on_phase,
                vault=self.vault,
            )
            self._apply_stop()
            try:
                result = await self._disk_upload.run()
            except UploadCancelledError:
                if self._stop == "cancel" and self.delete_partial_disk:
                    dropped = await self._drop_partial_disk(
                        compute, spec, emit, Message(QT_TR_NOOP("the upload was cancelled")),
                        ("Unattached", "ReadyToUpload"))
                    upload = self._disk_upload.upload
                    if dropped and upload is not None:
                        upload.discard_journal()
                raise
            on_phase(DiskUploadStep.DONE)
            upload_result, disk_id = result.upload, result.disk_id
            source = DiskSource(managed_disk_id=result.disk_id)
        else:
            sub = plan.target.subscription_id
            compute = self.session.compute(sub) if sub else None
            event = started(_UPLOAD_BLOB)
            emit(event)
            self._blob_upload = Upload(
                self.source, SasUrlTarget(plan.target.sas_url), self.options, self._on_progress
            )
            self._apply_stop()
            self._blob_upload.start()
            await asyncio.to_thread(self._blob_upload.wait)
            upload_result = self._blob_upload.result()
            emit(event.ended_as(StepState.DONE))
            source = DiskSource(
                blob_uri=plan.target.blob_url,
                storage_account_id=plan.target.storage_account_id or None,
            )
        image: NodeRef | None = None
        follow_up = plan.follow_up
        if follow_up is not None:
            if compute is None:
                raise ValueError("Images from a page blob need a subscription (not planned).")
            builder = ImageBuilder(compute)
            steps = (
                builder.create_managed_image(source, plan.facts, follow_up)
                if isinstance(follow_up, ManagedImageSpec)
                else builder.create_gallery_version(source, follow_up)
            )
            async for step in steps:
                emit(step)
            image = builder.result
        return JobResult(upload=upload_result, image=image, disk_id=disk_id)

"""Running upload jobs, with or without a window: one ``JobRun`` per upload, an ``UploadRunner``
for all of them (submit, resume of plans an earlier run left unfinished, stop all on quit).

The GUI's transfers model is a thin adapter over this (one queued signal per snapshot or step
event); the headless command runs a plan through it the same way. Everything here runs on the
caller's asyncio loop; only the engine's progress snapshots come from its own thread, and they
are handed to the loop before anything reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from gui.azure.errors import AzureServiceError
from gui.azure.image_builder import GalleryVersionSpec, ManagedImageSpec
from gui.azure.jobs import Direction
from gui.azure.steps import StepEvent, StepSpec, StepState
from gui.azure.upload.job import (
    BlobTargetPlan,
    FollowUp,
    JobResult,
    JobStatus,
    PlanError,
    PlannedDisk,
    PlanStore,
    UploadJob,
    UploadPlan,
    data_steps,
    open_sources,
)
from gui.azure.upload.managed_disk import ManagedDiskTarget, SasVault
from gui.i18n import QT_TR_NOOP, Message, Text, message
from gui.transfer import ProgressSnapshot, UploadCancelledError, UploadError, UploadState
from gui.transfer.bandwidth import BandwidthCap
from gui.transfer.engine import DEFAULT_CONCURRENCY, UploadOptions
from gui.transfer.journal import UnfinishedUpload, list_unfinished
from gui.transfer.targets import canonical_blob_url

log = logging.getLogger(__name__)

SUSPENDED_TEXT = QT_TR_NOOP("Paused when the app closed; it resumes where it stopped.")
CLOSED_TEXT = QT_TR_NOOP("Stopped when the window closed. Resume it any time.")
LEFT_UNFINISHED_TEXT = QT_TR_NOOP("The app closed before the upload finished.")

DATA_STEP = "upload"  # the step that moves the bytes (a disk's and a blob's alike)
# What each step weighs in the job's one progress figure. The data transfer takes most of the
# time of any real upload; an image or version create and each region's replication take
# minutes in Azure, the disk and access steps seconds. Relative, not measured: they only keep
# the bar from reaching its end while work is left (a replication of 1 TiB would be unknowable
# ahead anyway).
DATA_WEIGHT = 20.0
_STEP_WEIGHTS = {"image": 3.0, "version": 3.0, "replicate": 3.0}
# The data step is done only once the footer is written and the upload verified: until its
# step ends, the bytes alone count for this much of it.
_DATA_BEFORE_VERIFIED = 0.98


def step_weight(key: str) -> float:
    if key == DATA_STEP:
        return DATA_WEIGHT
    return _STEP_WEIGHTS.get(key.partition(":")[0], 1.0)


def planned_steps(plan: UploadPlan) -> list[StepSpec]:
    """Every step the job will run, in order, as known before it starts (so views list them all
    as waiting). The keys are the job's own (``UploadJob``, ``ImageBuilder``); a step the job
    adds only when needed (deleting a sealed partial disk) is not planned."""
    steps: list[StepSpec] = data_steps(plan)  # every disk's (the job's own keys and titles)
    follow = plan.follow_up
    if isinstance(follow, ManagedImageSpec):
        # The same templates as the image builder's own titles (one catalogue entry each).
        steps.append(StepSpec("image", Text(message(
            QT_TR_NOOP("Create managed image {image_name}"), image_name=follow.name))))
    elif isinstance(follow, GalleryVersionSpec):
        definition = follow.definition.name
        if follow.create_gallery:
            steps.append(StepSpec("gallery", Text(message(
                QT_TR_NOOP("Create gallery {gallery_name}"), gallery_name=follow.gallery))))
        if follow.create_definition:
            steps.append(StepSpec("definition", Text(message(
                QT_TR_NOOP("Create image definition {definition_name}"),
                definition_name=definition))))
        steps.append(StepSpec("version", Text(message(
            QT_TR_NOOP("Create version {version} of {definition}"), version=follow.version,
            definition=definition))))
        steps += [
            StepSpec(f"replicate:{region}", Text(message(
                QT_TR_NOOP("Replicate to {region}"), region=region)))
            for region, _ in follow.regions()
        ]
    return steps


def _journal_of(plan: UploadPlan, unfinished: list[UnfinishedUpload]) -> UnfinishedUpload | None:
    """The engine's journal of this plan's data transfer (same source file, same target)."""
    source = str(Path(plan.source_path).resolve())
    target = plan.target
    for entry in unfinished:
        if entry.source.path != source:
            continue
        if isinstance(target, BlobTargetPlan):
            if entry.target.get("blob_url") == canonical_blob_url(target.blob_url):
                return entry
        elif entry.target.get("kind") == ManagedDiskTarget.kind:
            spec = target.spec
            disk = f"/resourceGroups/{spec.resource_group}/providers/Microsoft.Compute/disks/"
            if entry.target.get("identity", "").casefold().endswith(
                f"{disk}{spec.name}".casefold()
            ):
                return entry
    return None


@dataclass
class TransferPreferences:
    """What the user set for every upload; one object shared by all runs, so a change in the
    settings reaches the uploads already running (the bandwidth budget is one for all)."""

    concurrency: int = DEFAULT_CONCURRENCY
    bandwidth: BandwidthCap = field(default_factory=lambda: BandwidthCap(None))
    # A cancelled upload's managed disk holds only part of the image and costs money: deleted
    # unless the user asked to keep it (to look at it, say).
    delete_partial_disk: bool = True

    def options(self, plan: UploadPlan) -> UploadOptions:
        return UploadOptions(md5=plan.md5, concurrency=max(1, self.concurrency),
                             bandwidth=self.bandwidth)


class JobRun:
    """One upload: its plan, its one status, the latest progress snapshot and step events.

    Listeners are called on the loop: ``on_change`` after any change, ``on_finished`` once the
    job has ended (whatever the outcome). A ``gui.azure.jobs.TransferRun``."""

    direction = Direction.UPLOAD

    def __init__(
        self,
        plan: UploadPlan,
        store: PlanStore,
        vault: SasVault | None = None,
        *,
        on_snapshot: Callable[[ProgressSnapshot], None] | None = None,
    ) -> None:
        self.plan = plan
        self.store = store
        self.vault = vault
        self.status = JobStatus.QUEUED
        self.snapshot: ProgressSnapshot | None = None
        self.steps: dict[str, StepEvent] = {}
        self.steps_version = 0  # bumped when a step changes, so views redraw steps only then
        self.error = ""
        # Share of the data an earlier run sent, from its journal (until this run reports).
        self.journal_fraction = 0.0
        self.result: JobResult | None = None
        self.job: UploadJob | None = None
        self.task: asyncio.Task[None] | None = None
        self.change_listeners: list[Callable[[JobRun], None]] = []
        self.finish_listeners: list[Callable[[JobRun], None]] = []
        # From the engine's thread. Default: hop to the loop; a Qt adapter passes a queued
        # signal instead, which also ends on the loop's (GUI) thread.
        self.on_snapshot = on_snapshot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: str | None = None  # "cancel" or "suspend", asked for before the job exists
        # The runner's, once it adds this run; a run made alone gets the defaults.
        self.preferences = TransferPreferences()

    @property
    def title(self) -> str:
        return self.plan.title

    @property
    def target_label(self) -> str:
        return self.plan.target.label

    @property
    def local_path(self) -> str:
        return self.plan.source_path

    @property
    def created(self) -> str:
        return self.plan.created

    def notify(self) -> None:
        """Tells the listeners that something changed."""
        for listener in list(self.change_listeners):
            listener(self)

    # --- what the job reports -----------------------------------------------------------------

    def _progress(self, snapshot: ProgressSnapshot) -> None:
        """Called on the engine's thread."""
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot)
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(self.apply_snapshot, snapshot)

    def apply_snapshot(self, snapshot: ProgressSnapshot) -> None:
        """On the loop: the engine's state becomes the job's (paused or running again)."""
        self.snapshot = snapshot
        if snapshot.state is UploadState.PAUSED:
            self.status = JobStatus.PAUSED
        elif self.status is JobStatus.PAUSED and snapshot.state is UploadState.UPLOADING:
            self.status = JobStatus.RUNNING
        self.notify()

    def _step(self, event: StepEvent) -> None:
        self.steps[event.key] = event
        self.steps_version += 1
        self.notify()

    # --- control ------------------------------------------------------------------------------

    def start(self, session: Any) -> None:
        """Opens the disk image and runs the plan on the running loop."""
        if self.task is not None and not self.task.done():
            return
        self._loop = asyncio.get_event_loop()
        self.status = JobStatus.RUNNING
        self.error = ""
        self._stop = None
        self.steps = {}
        self.steps_version += 1
        self.notify()
        self.task = self._loop.create_task(self._run(session))

    async def _run(self, session: Any) -> None:
        # Imported here: opening disk images pulls in the format readers, which only a
        # started upload needs (start-up time of the window).
        from gui.diskimage import DiskImageError

        plan = self.plan
        plan.status, plan.last_error = JobStatus.RUNNING, ""
        self.store.save(plan)
        images: list[Any] = []
        try:
            if not plan.data_in_place:  # else only the image step is left: no file is read
                images = await asyncio.to_thread(open_sources, plan)  # every disk of the plan
        except DiskImageError as exc:
            self._finish(JobStatus.FAILED, str(exc))
            return
        try:
            self.job = UploadJob(
                session, plan, images, on_progress=self._progress, vault=self.vault,
                options=self.preferences.options(plan),
                delete_partial_disk=self.preferences.delete_partial_disk,
                on_placed=self._placed)
            if self._stop == "cancel":
                self.job.cancel()
            elif self._stop == "suspend":
                self.job.suspend()
            async for event in self.job.run():
                self._step(event)
            self.result = self.job.result
        except UploadCancelledError as exc:
            if self._stop == "suspend":
                # "Pause and quit": the journal (and for a managed disk the SAS in the
                # keyring) let the next start resume it.
                self._finish(JobStatus.INTERRUPTED, SUSPENDED_TEXT)
            else:
                self._finish(JobStatus.CANCELLED, str(exc))
        except asyncio.CancelledError:
            self._finish(JobStatus.CANCELLED, CLOSED_TEXT)
            raise
        except (UploadError, AzureServiceError) as exc:
            text = exc.user_text() if isinstance(exc, AzureServiceError) else str(exc)
            self._finish(JobStatus.FAILED, text)
        except Exception as exc:  # unexpected: show it, keep the plan for a retry
            log.exception("Upload %s failed", plan.title)
            self._finish(JobStatus.FAILED, Text(message(QT_TR_NOOP("Unexpected error: {reason}"),
                                                        reason=exc)))
        else:
            self._finish(JobStatus.COMPLETED, "")
        finally:
            for image in images:
                await asyncio.to_thread(image.close)

    def _placed(self, plan: UploadPlan) -> None:
        """A disk's placement changed (uploaded, or found gone): the plan says so on disk at
        once, so a failure or a quit never sends a placed disk again."""
        with contextlib.suppress(OSError):
            self.store.save(plan)

    def _finish(self, status: JobStatus, message: str) -> None:
        # A job stopped from outside (the window closed) yields no more events: its running
        # steps end here.
        for event in list(self.steps.values()):
            if event.state is StepState.RUNNING and status is not JobStatus.COMPLETED:
                self.steps[event.key] = event.ended_as(StepState.FAILED, message)
                self.steps_version += 1
        self.status = status
        self.error = message
        self.plan.status = status
        self.plan.last_error = message
        if status is JobStatus.COMPLETED:
            self.store.remove(self.plan)
        else:
            with contextlib.suppress(OSError):
                self.store.save(self.plan)
        self.notify()
        for listener in list(self.finish_listeners):
            listener(self)

    def pause(self) -> None:
        if self.job is not None and self.status is JobStatus.RUNNING:
            self.job.pause()

    def resume(self) -> None:
        if self.job is not None and self.status is JobStatus.PAUSED:
            self.job.resume()

    def cancel(self) -> None:
        if not self.status.active:
            return
        self._stop = "cancel"
        if self.job is not None:
            self.job.cancel()

    def suspend(self) -> None:
        """Stop for a resume at the next start (quitting): a managed disk keeps its write access
        when the keyring can hold its SAS, and is revoked otherwise."""
        if not self.status.active:
            return
        if self._stop != "cancel":
            self._stop = "suspend"
        if self.job is not None:
            self.job.suspend()

    @property
    def follow_up_failed(self) -> bool:
        """The data is in Azure and the image step failed (a taken name, a definition that does
        not match, a quota): it can be retried alone, with another name or version."""
        plan = self.plan
        return (
            self.status is JobStatus.FAILED
            and plan.follow_up is not None
            and plan.data_in_place
        )

    def retry_follow_up(self, follow_up: FollowUp, session: Any) -> None:
        """Runs the image step again alone, as ``follow_up`` says (another image name, version
        number or definition), from the disks already uploaded: no data is sent again. The plan
        file is updated first, so a restart offers the same. Refused (``PlanError``, nothing
        changed) unless the image step failed, or when Azure's naming rules or the disk's facts
        refuse ``follow_up``."""
        if follow_up is None or not self.follow_up_failed:
            raise PlanError(Message(QT_TR_NOOP(
                "Only an upload whose data is in Azure and whose image step failed can retry "
                "that step alone.")))
        problems = follow_up.problems(self.plan.facts)
        if problems:
            raise PlanError(problems[0])  # a Text: translated where it is shown
        self.plan.follow_up = follow_up
        self.store.save(self.plan)
        self.start(session)

    async def wait(self) -> None:
        """Until the job has ended (at once when it is not running)."""
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self.task)

    # --- what views show ----------------------------------------------------------------------

    @property
    def planned_steps(self) -> list[StepSpec]:
        return planned_steps(self.plan)

    @property
    def data_fraction(self) -> float:
        """Share of the image's stream dealt with: sent, skipped (zeros) or already there."""
        if self.snapshot is not None:
            return self.snapshot.fraction
        return self.journal_fraction

    @property
    def fraction(self) -> float:
        """The whole job: the data transfer and every other step, each by its weight. Only a
        completed job reaches 1."""
        if self.status is JobStatus.COMPLETED:
            return 1.0
        keys = [step.key for step in self.planned_steps]
        keys += [key for key in self.steps if key not in keys]
        data = self.data_fraction
        data_started = data > 0 or DATA_STEP in self.steps
        total = done = 0.0
        before_data = True
        for key in keys:
            weight = step_weight(key)
            total += weight
            event = self.steps.get(key)
            if key == DATA_STEP:
                before_data = False
                if event is not None and event.state in (StepState.DONE, StepState.SKIPPED):
                    done += weight
                else:
                    done += weight * min(data, _DATA_BEFORE_VERIFIED)
            elif event is not None and event.state in (StepState.DONE, StepState.SKIPPED):
                done += weight
            elif event is None and before_data and data_started:
                # A resumed run after a restart has no events of the steps an earlier run
                # finished, but data was sent, so they were done.
                done += weight
        return min(done / total, 0.999) if total else 0.0

    @property
    def needs_sas(self) -> bool:
        """A blob upload resumed at a new start: the SAS was not saved and must be pasted."""
        target = self.plan.target
        return (
            isinstance(target, BlobTargetPlan)
            and not target.sas_query
            and not target.storage_account_id  # those get a new SAS from the account
            and not self.plan.data_in_place  # only the image step is left: no blob write
        )

    def state_text(self) -> str:
        if self.status is JobStatus.RUNNING:
            running = [s for s in self.steps.values() if s.state is StepState.RUNNING]
            if running:
                return running[-1].title
        if self.status.resumable and self.error:
            return f"{self.status.label}: {self.error.splitlines()[0]}"
        return self.status.label


R = TypeVar("R", bound=JobRun)


class UploadRunner(Generic[R]):
    """Every upload of this process, and the plans left unfinished by earlier ones.

    ``make_run`` makes a plan's run: ``JobRun`` headless; a view passes its own subclass (the
    Qt adapter's runs carry signals)."""

    def __init__(
        self,
        store: PlanStore,
        vault: SasVault,
        make_run: Callable[[UploadPlan, PlanStore, SasVault], R],
    ) -> None:
        self.store = store
        self.vault = vault
        self.session: Any = None
        self.runs: list[R] = []
        self._make_run = make_run
        self.added: list[Callable[[R], None]] = []
        self.removed: list[Callable[[R], None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self.preferences = TransferPreferences()

    def _add(self, plan: UploadPlan) -> R:
        return self._adopt(self._make_run(plan, self.store, self.vault))

    def _adopt(self, run: R) -> R:
        run.preferences = self.preferences
        self.runs.append(run)
        for listener in list(self.added):
            listener(run)
        return run

    def submit(self, plan: UploadPlan) -> R:
        run = self._add(plan)
        run.start(self.session)
        return run

    def load_unfinished(self) -> list[R]:
        """Uploads that an earlier run left unfinished, ready to resume."""
        known = {run.plan.plan_id for run in self.runs}
        found = []
        plans = [plan for plan in self.store.unfinished() if plan.plan_id not in known]
        # The engine keeps its journals beside the plans (``PlanStore`` adds "plans").
        journals = list_unfinished(self.store.directory.parent) if plans else []
        for plan in plans:
            run = self._make_run(plan, self.store, self.vault)
            # Before any view sees the run: its buttons follow its status. A failed image
            # step stays failed (its retry with another name is offered); anything else was
            # interrupted.
            failed = plan.status is JobStatus.FAILED and plan.data_in_place
            run.status = JobStatus.FAILED if failed else JobStatus.INTERRUPTED
            run.error = plan.last_error or LEFT_UNFINISHED_TEXT
            journal = _journal_of(plan, journals)
            if journal is not None:
                run.journal_fraction = journal.fraction
            self._adopt(run)
            found.append(run)
        return found

    def resume(self, run: R, sas_url: str | None = None) -> None:
        target = run.plan.target
        if sas_url and isinstance(target, BlobTargetPlan):
            run.plan.target = BlobTargetPlan.from_url(
                sas_url, target.subscription_id, storage_account_id=target.storage_account_id
            )
        # Every blob target without its SAS (never saved), the data disks' too: each storage
        # account signs a new one, or a data disk of a restarted job could not be sent.
        unsigned = [
            disk for disk in run.plan.disks()
            if isinstance(disk.target, BlobTargetPlan)
            and not disk.target.sas_query
            and disk.target.storage_account_id
        ]
        if unsigned:
            task = asyncio.get_event_loop().create_task(self._resume_with_new_sas(run, unsigned))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        run.start(self.session)

    async def _resume_with_new_sas(self, run: JobRun, disks: list[PlannedDisk]) -> None:
        """The SAS were not saved: each disk's storage account signs a new one."""
        from gui.azure.upload.storage import renew_blob_sas

        for disk in disks:
            target = disk.target
            assert isinstance(target, BlobTargetPlan)
            try:
                url = await renew_blob_sas(
                    self.session, target.subscription_id, target.storage_account_id,
                    target.blob_url
                )
            except AzureServiceError as exc:
                run.error = Text(message(
                    QT_TR_NOOP("Could not get a new SAS from the storage account: {reason}"),
                    reason=exc.user_text()))
                run.notify()
                return
            run.plan.set_target(disk, BlobTargetPlan.from_url(
                url, target.subscription_id, storage_account_id=target.storage_account_id
            ))
        run.start(self.session)

    def retry_follow_up(self, run: R, follow_up: FollowUp) -> None:
        """``JobRun.retry_follow_up`` with this runner's session."""
        run.retry_follow_up(follow_up, self.session)

    def discard(self, run: R) -> None:
        if run.status.active or run not in self.runs:
            return
        self.store.remove(run.plan)
        self.runs.remove(run)
        for listener in list(self.removed):
            listener(run)

    def cancel_all(self) -> None:
        for run in self._running():
            run.cancel()

    def _running(self) -> list[R]:
        # Not ``active``: a subclass may count more there (the window's downloads too).
        return [run for run in self.runs if run.status.active]

    @property
    def active(self) -> list[R]:
        return [run for run in self.runs if run.status.active]

    async def stop_all(self, timeout: float = 20.0, *, keep: bool = False) -> None:
        """Stops running uploads and waits (bounded) until each has saved its journal and
        revoked access (``keep=False``: cancel) or kept it for a resume at the next start
        (``keep=True``: pause and quit; a managed disk without a keyring is revoked all the
        same)."""
        tasks = []
        for run in self._running():
            if keep:
                run.suspend()
            else:
                run.cancel()
            if run.task is not None and not run.task.done():
                tasks.append(run.task)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

"""Running downloads, with or without a window: one ``DownloadRun`` per download, a
``DownloadRunner`` for all of them (submit, resume of downloads an earlier run left unfinished,
stop all on quit).

A run satisfies ``gui.azure.jobs.TransferRun``, so the Transfers panel shows it beside the
uploads; no Qt here. Listeners run on the loop; progress from the engine's thread hops there (or
goes to ``on_snapshot``, which a Qt adapter makes a queued signal).

What the user asked for (source, file, format) is kept as a small plan file beside the upload
plans, never with a secret; what was fetched is the engine's journal. After a restart the plan
is offered again and the same download resumes: read access (and a gallery version's temporary
disk) is made anew, and the engine fetches only the ranges its journal does not hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

from gui.azure.download.job import AzureDownload, AzureDownloadResult, DownloadStep
from gui.azure.download.source import DownloadSource, SourceKind, parse_source
from gui.azure.errors import AzureServiceError
from gui.azure.jobs import Direction
from gui.azure.steps import StepEvent, StepSpec, StepState, started
from gui.azure.upload.job import JobStatus
from gui.azure.upload.runner import TransferPreferences
from gui.i18n import QT_TR_NOOP, Message, Text, message
from gui.transfer.download import DownloadCancelledError, DownloadOptions, SasUrlSource
from gui.transfer.download_journal import DownloadJournal, journal_key
from gui.transfer.errors import UploadError
from gui.transfer.progress import ProgressSnapshot, UploadState
from gui.transfer.redact import strip_query

log = logging.getLogger(__name__)

STOPPED_TEXT = QT_TR_NOOP("The download was stopped.")
DOWNLOAD_SUSPENDED_TEXT = QT_TR_NOOP(
    "Stopped when the app closed; it resumes where it stopped.")
DOWNLOAD_LEFT_UNFINISHED_TEXT = QT_TR_NOOP("The app closed before the download finished.")

# What each step weighs in the job's one figure: the bytes take most of the time; a grant, a
# revoke, a temporary disk's create and delete take seconds (relative, as for uploads).
DATA_WEIGHT = 20.0
_DATA_BEFORE_DONE = 0.98  # the MD5 check and the file's last writes come after the bytes


def _key(step: DownloadStep) -> str:
    return step.name.lower()


DATA_STEP = _key(DownloadStep.DOWNLOADING)
_CLEAN_UP = {_key(DownloadStep.REVOKING), _key(DownloadStep.DELETING_DISK)}


def planned_steps(source: DownloadSource) -> list[StepSpec]:
    """Every step the job runs for ``source``, in order (so views list them all as waiting)."""
    if source.kind is SourceKind.SAS_URL:
        order = [DownloadStep.DOWNLOADING]
    elif source.kind is SourceKind.GALLERY_VERSION:
        order = [DownloadStep.CREATING_DISK, DownloadStep.GRANTING, DownloadStep.DOWNLOADING,
                 DownloadStep.REVOKING, DownloadStep.DELETING_DISK]
    else:
        order = [DownloadStep.GRANTING, DownloadStep.DOWNLOADING, DownloadStep.REVOKING]
    return [StepSpec(_key(step), step.value) for step in order]


def source_label(source: DownloadSource) -> str:
    """The source in one line, for the Transfers panel's Target column (never with a SAS)."""
    if source.kind is SourceKind.SAS_URL:
        # The upload's template: one catalogue entry.
        return Text(Message(QT_TR_NOOP("Page blob {url}"), {"url": source.display}))
    if source.kind is SourceKind.SNAPSHOT:
        return Text(message(QT_TR_NOOP("Snapshot {name} ({resource_group})"),
                            name=source.name, resource_group=source.resource_group))
    if source.kind is SourceKind.GALLERY_VERSION:
        if source.lun is None:
            return Text(message(
                QT_TR_NOOP("Image version {version} of {definition} ({gallery}), OS disk"),
                version=source.name, definition=source.image, gallery=source.gallery))
        return Text(message(
            QT_TR_NOOP("Image version {version} of {definition} ({gallery}), data disk LUN "
                       "{lun}"),
            version=source.name, definition=source.image, gallery=source.gallery,
            lun=source.lun))
    return Text(message(QT_TR_NOOP("Managed disk {name} ({resource_group})"),
                        name=source.name, resource_group=source.resource_group))


def engine_key(source: DownloadSource) -> str:
    """The key the download job gives the engine's journal for ``source`` (``AzureDownload``:
    the resource ID of a disk or snapshot, a version with its LUN, a blob by its URL)."""
    if source.kind is SourceKind.SAS_URL:
        return SasUrlSource(source.display).key
    if source.kind is SourceKind.GALLERY_VERSION:
        return source.display
    return source.resource_id


@dataclass
class DownloadPlan:
    """What the user asked for, on disk while the download is unfinished. The source is a
    resource ID or a blob URL without its query: a SAS is never written."""

    source: str
    path: str
    format: str
    lun: int | None = None
    overwrite: bool = False  # the user chose to replace an existing file
    status: JobStatus = JobStatus.QUEUED
    last_error: str = ""
    data_fraction: float = 0.0  # as the last run reported it
    plan_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @classmethod
    def of(cls, source: DownloadSource, path: Path, fmt: str, *,
           overwrite: bool = False) -> DownloadPlan:
        text = strip_query(source.text) if source.kind is SourceKind.SAS_URL else source.text
        return cls(text, str(path), fmt, source.lun, overwrite)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source, "path": self.path, "format": self.format, "lun": self.lun,
            "overwrite": self.overwrite, "status": self.status.value,
            "last_error": self.last_error, "data_fraction": self.data_fraction,
            "plan_id": self.plan_id, "created": self.created,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DownloadPlan:
        lun = data.get("lun")
        return cls(
            source=str(data["source"]), path=str(data["path"]), format=str(data["format"]),
            lun=None if lun is None else int(lun), overwrite=bool(data.get("overwrite")),
            status=JobStatus.load(str(data.get("status", ""))),
            last_error=str(data.get("last_error", "")),
            data_fraction=float(data.get("data_fraction", 0.0)),
            plan_id=str(data["plan_id"]), created=str(data.get("created", "")),
        )


class DownloadPlanStore:
    """Download plans on disk: one JSON file each, removed when the download has completed;
    beside the upload plans (their store reads only its own folder)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "download-plans"
        self.journal_dir = directory / "downloads"  # the engine's (its default place)

    def save(self, plan: DownloadPlan) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(plan.to_json(), stream, indent=1)
        os.replace(temp, self.directory / f"{plan.plan_id}.json")

    def remove(self, plan: DownloadPlan) -> None:
        (self.directory / f"{plan.plan_id}.json").unlink(missing_ok=True)

    def unfinished(self) -> list[DownloadPlan]:
        plans = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                plan = DownloadPlan.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("Ignoring unreadable download plan %s: %s", path.name, exc)
                continue
            if plan.status is not JobStatus.COMPLETED:
                plans.append(plan)
        return plans

    def journal_of(self, source: DownloadSource, plan: DownloadPlan) -> DownloadJournal | None:
        """The engine's journal of this plan's download, if it kept one."""
        name = journal_key(engine_key(source), Path(plan.path), plan.format)
        try:
            return DownloadJournal.load(self.journal_dir / f"{name}.json")
        except UploadError as exc:  # unreadable: the download starts over when resumed
            log.warning("%s", exc)
            return None


class DownloadRun:
    """One download from Azure to a local file; a ``gui.azure.jobs.TransferRun``."""

    direction = Direction.DOWNLOAD
    follow_up_failed = False  # a download has no step that is retried alone

    def __init__(
        self,
        source: DownloadSource,
        path: Path,
        fmt: str,
        options: DownloadOptions | None = None,
        *,
        on_snapshot: Callable[[ProgressSnapshot], None] | None = None,
        plan: DownloadPlan | None = None,
        store: DownloadPlanStore | None = None,
    ) -> None:
        """``store`` keeps the plan on disk while the download is unfinished (a runner's runs
        do, so the next start offers them); without it the run leaves no plan behind."""
        self.source = source
        self.path = path
        self.format = fmt
        self.options = options or DownloadOptions()
        self.plan = plan or DownloadPlan.of(source, path, fmt, overwrite=self.options.overwrite)
        self.store = store
        self.status = JobStatus.QUEUED
        self.snapshot: ProgressSnapshot | None = None
        self.steps: dict[str, StepEvent] = {}
        self.steps_version = 0
        self.error = ""
        self.journal_fraction = 0.0  # what an earlier run fetched (until this one reports)
        self.result: AzureDownloadResult | None = None
        self.job: AzureDownload | None = None
        self.task: asyncio.Task[None] | None = None
        self.change_listeners: list[Callable[[DownloadRun], None]] = []
        self.finish_listeners: list[Callable[[DownloadRun], None]] = []
        self.on_snapshot = on_snapshot
        self.preferences: TransferPreferences | None = None  # a runner's: shared bandwidth
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: str | None = None  # "cancel" or "suspend"
        self._done = asyncio.Event()

    # --- what views show ---------------------------------------------------------------------

    @property
    def title(self) -> str:
        return self.path.name

    @property
    def local_path(self) -> str:
        return str(self.path)

    @property
    def target_label(self) -> str:
        return source_label(self.source)

    @property
    def created(self) -> str:
        return self.plan.created

    @property
    def needs_sas(self) -> bool:
        """A blob's download offered at a new start: its SAS was not saved."""
        return self.source.kind is SourceKind.SAS_URL and "?" not in self.source.text

    @property
    def planned_steps(self) -> list[StepSpec]:
        return planned_steps(self.source)

    @property
    def data_fraction(self) -> float:
        if self.snapshot is not None:
            return self.snapshot.fraction
        return self.journal_fraction

    @property
    def fraction(self) -> float:
        """The whole job, every step by its weight (the data step most); 1 only once done."""
        if self.status is JobStatus.COMPLETED:
            return 1.0
        total = done = 0.0
        data = self.data_fraction
        for spec in self.planned_steps:
            weight = DATA_WEIGHT if spec.key == DATA_STEP else 1.0
            total += weight
            event = self.steps.get(spec.key)
            finished = event is not None and event.state in (StepState.DONE, StepState.SKIPPED)
            if finished:
                done += weight
            elif spec.key == DATA_STEP:
                done += weight * min(data, _DATA_BEFORE_DONE)
        return min(done / total, 0.999) if total else 0.0

    def notify(self) -> None:
        for listener in list(self.change_listeners):
            listener(self)

    # --- what the job reports ----------------------------------------------------------------

    def _progress(self, snapshot: ProgressSnapshot) -> None:
        """On the engine's thread."""
        if self.on_snapshot is not None:
            self.on_snapshot(snapshot)
        elif self._loop is not None:
            self._loop.call_soon_threadsafe(self.apply_snapshot, snapshot)

    def apply_snapshot(self, snapshot: ProgressSnapshot) -> None:
        """On the loop: the engine's pause becomes the job's."""
        self.snapshot = snapshot
        if not self.status.active:
            pass  # a late snapshot (queued) must not bring an ended run back to life
        elif snapshot.state is UploadState.PAUSED:
            self.status = JobStatus.PAUSED
        elif self.status is JobStatus.PAUSED and snapshot.state is UploadState.UPLOADING:
            self.status = JobStatus.RUNNING
        self.notify()

    def _step(self, step: DownloadStep) -> None:
        # The job says only which step starts. A clean-up step (revoke, delete the temporary
        # disk) also runs after a cancel or a failure: the step it follows is done only if the
        # bytes all arrived.
        ended, text = StepState.DONE, ""
        if step in (DownloadStep.REVOKING, DownloadStep.DELETING_DISK):
            engine = self.job.engine if self.job is not None else None
            state = engine.snapshot.state if engine is not None else None
            if state is not UploadState.COMPLETED:
                ended = StepState.FAILED
                text = engine.snapshot.message if engine is not None else ""
        for key, event in list(self.steps.items()):
            if event.state is StepState.RUNNING:
                if key in _CLEAN_UP:  # a revoke that returned did its work
                    self.steps[key] = event.ended_as(StepState.DONE)
                else:
                    self.steps[key] = event.ended_as(ended, text)
        if step is not DownloadStep.DONE:
            event = started(StepSpec(key=_key(step), title=step.value))
            self.steps[event.key] = event
        self.steps_version += 1
        self.notify()

    # --- control -----------------------------------------------------------------------------

    def start(self, session: Any) -> None:
        """Runs the download on the running loop; ``session`` gives the compute clients."""
        if self.task is not None and not self.task.done():
            return
        self._loop = asyncio.get_event_loop()
        self._done = asyncio.Event()
        self.status = JobStatus.RUNNING
        self.error = ""
        self._stop = None
        self.steps = {}
        self.steps_version += 1
        options = self.options
        if self.preferences is not None:
            # The settings' concurrency and the one bandwidth budget uploads share.
            options = replace(options, concurrency=max(1, self.preferences.concurrency),
                              bandwidth=self.preferences.bandwidth)
        compute = session.compute if session is not None else None
        self.job = AzureDownload(compute, self.source, self.path, self.format, options,
                                 on_progress=self._progress, on_step=self._step)
        self._save(JobStatus.RUNNING, "")
        self.notify()
        self.task = self._loop.create_task(self._run(self.job))

    async def _run(self, job: AzureDownload) -> None:
        try:
            self.result = await job.run()
        except DownloadCancelledError as exc:
            if self._stop == "suspend":
                self._finish(JobStatus.INTERRUPTED, DOWNLOAD_SUSPENDED_TEXT)
            else:
                self._finish(JobStatus.CANCELLED, str(exc))
        except asyncio.CancelledError:
            self._finish(JobStatus.CANCELLED, Text(STOPPED_TEXT))
            raise
        except AzureServiceError as exc:
            self._finish(JobStatus.FAILED, exc.user_text())
        except UploadError as exc:
            self._finish(JobStatus.FAILED, str(exc))
        except Exception as exc:  # unexpected: show it rather than lose it
            log.exception("download of %s failed", self.source.display)
            self._finish(JobStatus.FAILED, Text(message(
                QT_TR_NOOP("Unexpected error: {reason}"), reason=exc)))
        else:
            self._finish(JobStatus.COMPLETED, "")

    def _save(self, status: JobStatus, error: str) -> None:
        plan = self.plan
        plan.status, plan.last_error = status, error
        plan.data_fraction = self.data_fraction
        if self.store is None:
            return
        if status is JobStatus.COMPLETED:
            self.store.remove(plan)
            return
        try:
            self.store.save(plan)
        except OSError as exc:  # the download itself goes on; only its offer after a restart
            log.warning("Cannot save the download plan %s: %s", plan.plan_id, exc)

    def _finish(self, status: JobStatus, text: str) -> None:
        for key, event in list(self.steps.items()):
            if event.state is StepState.RUNNING:
                ended = StepState.DONE if status is JobStatus.COMPLETED else StepState.FAILED
                self.steps[key] = event.ended_as(ended, text)
        self.steps_version += 1
        self.status = status
        self.error = text
        self._save(status, text)
        self._done.set()
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
        """Stops the download and revokes its read access; the journal keeps what was fetched,
        so starting it again resumes."""
        if not self.status.active:
            return
        self._stop = "cancel"
        if self.job is not None:
            self.job.cancel()

    def suspend(self) -> None:
        """Stop for a resume at the next start (quitting). A download needs nothing kept in
        Azure for that: its read access is revoked as on cancel and granted anew."""
        if not self.status.active:
            return
        if self._stop != "cancel":
            self._stop = "suspend"
        if self.job is not None:
            self.job.cancel()

    async def wait(self) -> None:
        """Until the job has ended (at once when it never started)."""
        if self.task is None:
            return
        await self._done.wait()


D = TypeVar("D", bound=DownloadRun)

# Makes a run: (source, plan, options, store); a view passes its own subclass.
MakeRun = Callable[[DownloadSource, DownloadPlan, DownloadOptions, DownloadPlanStore], D]


class DownloadRunner(Generic[D]):
    """Every download of this process, and the plans left unfinished by earlier ones."""

    def __init__(self, store: DownloadPlanStore, make_run: MakeRun[D],
                 preferences: TransferPreferences | None = None) -> None:
        self.store = store
        self.session: Any = None
        self.runs: list[D] = []
        self.preferences = preferences or TransferPreferences()
        self._make_run = make_run
        self.added: list[Callable[[D], None]] = []
        self.removed: list[Callable[[D], None]] = []

    def _options(self, plan: DownloadPlan) -> DownloadOptions:
        return DownloadOptions(overwrite=plan.overwrite, journal_dir=self.store.journal_dir)

    def _adopt(self, run: D) -> D:
        run.preferences = self.preferences
        self.runs.append(run)
        for listener in list(self.added):
            listener(run)
        return run

    def submit(self, source: DownloadSource, path: Path, fmt: str, *,
               overwrite: bool = False) -> D:
        """Starts downloading ``source`` to ``path`` as ``fmt`` with this runner's session."""
        plan = DownloadPlan.of(source, path, fmt, overwrite=overwrite)
        run = self._adopt(self._make_run(source, plan, self._options(plan), self.store))
        run.start(self.session)
        return run

    def run_of(self, run: object) -> D | None:
        """``run`` as one of this runner's, or None (found by identity, not by type)."""
        return next((mine for mine in self.runs if mine is run), None)

    def load_unfinished(self) -> list[D]:
        """Downloads an earlier run left unfinished, ready to resume (their plans on disk)."""
        known = {run.plan.plan_id for run in self.runs}
        found = []
        for plan in self.store.unfinished():
            if plan.plan_id in known:
                continue
            try:
                source = parse_source(plan.source, plan.lun)
            except AzureServiceError as exc:  # a plan file edited by hand
                log.warning("Ignoring the download plan %s: %s", plan.plan_id, exc)
                continue
            run = self._make_run(source, plan, self._options(plan), self.store)
            run.status = JobStatus.INTERRUPTED
            run.error = plan.last_error or Text(DOWNLOAD_LEFT_UNFINISHED_TEXT)
            journal = self.store.journal_of(source, plan)
            fetched = journal.fetched.total / journal.version.size if journal else 0.0
            run.journal_fraction = max(plan.data_fraction, min(fetched, 1.0))
            self._adopt(run)
            found.append(run)
        return found

    def resume(self, run: D, sas_url: str | None = None) -> None:
        """Starts ``run`` again; it fetches only what its journal does not hold. A blob's
        download needs its SAS URL again after a restart (``sas_url``)."""
        if sas_url:
            run.source = parse_source(sas_url)
        run.start(self.session)

    def discard(self, run: D) -> None:
        """Forgets an ended download: its plan and the engine's journal (a new start of it
        downloads everything again); the partial file stays where it is."""
        if run.status.active or run not in self.runs:
            return
        self.store.remove(run.plan)
        journal = self.store.journal_of(run.source, run.plan)
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.delete()
        self.runs.remove(run)
        for listener in list(self.removed):
            listener(run)

    @property
    def active(self) -> list[D]:
        return [run for run in self.runs if run.status.active]

    def cancel_all(self) -> None:
        for run in self.active:
            run.cancel()

    async def stop_all(self, timeout: float = 20.0, *, keep: bool = False) -> None:
        """Stops running downloads and waits (bounded) until each has revoked its access and
        saved its journal; ``keep`` marks them for a resume at the next start."""
        tasks = []
        for run in self.active:
            if keep:
                run.suspend()
            else:
                run.cancel()
            if run.task is not None and not run.task.done():
                tasks.append(run.task)
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)

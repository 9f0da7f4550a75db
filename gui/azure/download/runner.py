"""A download as a job a view can follow: one status, the latest progress, the steps, the error.

Shaped like the upload runner's ``JobRun`` (``status``, ``snapshot``, ``steps`` with
``steps_version``, ``error``, ``title``, ``target_label``, ``fraction``, ``change_listeners`` /
``finish_listeners``, ``start(session)``, ``pause``/``resume``/``cancel``, ``wait``), so the
Transfers panel's thin model can show a download beside the uploads; no Qt here. Listeners run on
the loop; progress from the engine's thread hops there (or goes to ``on_snapshot``, which a Qt
adapter makes a queued signal).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gui.azure.download.job import AzureDownload, AzureDownloadResult, DownloadStep
from gui.azure.download.source import DownloadSource
from gui.azure.errors import AzureServiceError
from gui.azure.steps import StepEvent, StepSpec, StepState, started
from gui.azure.upload.job import JobStatus
from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.download import DownloadCancelledError, DownloadOptions
from gui.transfer.errors import UploadError
from gui.transfer.progress import ProgressSnapshot, UploadState

log = logging.getLogger(__name__)


class DownloadRun:
    """One download from Azure to a local file."""

    def __init__(
        self,
        source: DownloadSource,
        path: Path,
        fmt: str,
        options: DownloadOptions | None = None,
        *,
        on_snapshot: Callable[[ProgressSnapshot], None] | None = None,
    ) -> None:
        self.source = source
        self.path = path
        self.format = fmt
        self.options = options or DownloadOptions()
        self.status = JobStatus.QUEUED
        self.snapshot: ProgressSnapshot | None = None
        self.steps: dict[str, StepEvent] = {}
        self.steps_version = 0
        self.error = ""
        self.result: AzureDownloadResult | None = None
        self.job: AzureDownload | None = None
        self.task: asyncio.Task[None] | None = None
        self.change_listeners: list[Callable[[DownloadRun], None]] = []
        self.finish_listeners: list[Callable[[DownloadRun], None]] = []
        self.on_snapshot = on_snapshot
        self._loop: asyncio.AbstractEventLoop | None = None
        self._done = asyncio.Event()

    @property
    def title(self) -> str:
        return Text(message(QT_TR_NOOP("Download of {source}"), source=self.source.name
                            or self.source.display))

    @property
    def target_label(self) -> str:
        return str(self.path)

    @property
    def fraction(self) -> float:
        if self.status is JobStatus.COMPLETED:
            return 1.0
        return self.snapshot.fraction if self.snapshot is not None else 0.0

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
        if snapshot.state is UploadState.PAUSED:
            self.status = JobStatus.PAUSED
        elif self.status is JobStatus.PAUSED and snapshot.state is UploadState.UPLOADING:
            self.status = JobStatus.RUNNING
        self.notify()

    def _step(self, step: DownloadStep) -> None:
        for key, event in list(self.steps.items()):
            if event.state is StepState.RUNNING:
                self.steps[key] = event.ended_as(StepState.DONE)
        if step is not DownloadStep.DONE:
            event = started(StepSpec(key=step.name.lower(), title=step.value))
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
        self.steps = {}
        self.steps_version += 1
        compute = session.compute if session is not None else None
        self.job = AzureDownload(compute, self.source, self.path, self.format, self.options,
                                 on_progress=self._progress, on_step=self._step)
        self.notify()
        self.task = self._loop.create_task(self._run(self.job))

    async def _run(self, job: AzureDownload) -> None:
        try:
            self.result = await job.run()
        except DownloadCancelledError as exc:
            self._finish(JobStatus.CANCELLED, str(exc))
        except asyncio.CancelledError:
            self._finish(JobStatus.CANCELLED, Text(QT_TR_NOOP("The download was stopped.")))
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

    def _finish(self, status: JobStatus, text: str) -> None:
        for key, event in list(self.steps.items()):
            if event.state is StepState.RUNNING:
                ended = StepState.DONE if status is JobStatus.COMPLETED else StepState.FAILED
                self.steps[key] = event.ended_as(ended, text)
        self.steps_version += 1
        self.status = status
        self.error = text
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
        if self.job is not None:
            self.job.cancel()

    async def wait(self) -> None:
        await self._done.wait()

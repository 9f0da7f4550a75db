"""What a view needs of any transfer job, upload or download: one small protocol.

The Transfers panel shows every run that satisfies :class:`TransferRun` in the same columns
with the same buttons, so it takes a new kind of job without growing a branch per kind. Both
runners satisfy it without Qt (``gui.azure.upload.runner.JobRun``,
``gui.azure.download.runner.DownloadRun``); the Qt adapters only add signals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, Protocol

from gui.azure.steps import StepEvent
from gui.azure.upload.job import JobStatus
from gui.transfer.progress import ProgressSnapshot

__all__ = ["Direction", "JobStatus", "TransferRun"]


class Direction(StrEnum):
    """Which way the bytes go: up to Azure or down to this computer."""

    UPLOAD = "upload"
    DOWNLOAD = "download"


class TransferRun(Protocol):
    """One transfer job as the views see it. Listeners are called on the loop (the window's),
    never on the engine's thread."""

    @property
    def direction(self) -> Direction: ...

    @property
    def title(self) -> str:
        """The local file's name (a ``gui.i18n.Text`` when it is a sentence)."""
        ...

    @property
    def local_path(self) -> str:
        """The local file in full."""
        ...

    @property
    def target_label(self) -> str:
        """The Azure side in one line, a ``gui.i18n.Text`` (translated where it is shown):
        the disk, snapshot, image version or page blob, never with a SAS."""
        ...

    @property
    def created(self) -> str:
        """When the job was made, ISO 8601; "" when not known."""
        ...

    @property
    def status(self) -> JobStatus: ...

    @property
    def snapshot(self) -> ProgressSnapshot | None: ...

    @property
    def steps(self) -> Mapping[str, StepEvent]: ...

    @property
    def error(self) -> str: ...

    @property
    def fraction(self) -> float:
        """The whole job, every step by its weight; 1 only when completed."""
        ...

    @property
    def data_fraction(self) -> float:
        """The data transfer alone (bytes moved, empty blocks and what an earlier run did)."""
        ...

    @property
    def needs_sas(self) -> bool:
        """Resuming needs a SAS URL pasted again (SAS tokens are never stored)."""
        ...

    @property
    def follow_up_failed(self) -> bool:
        """The data is in place and only a step after it failed (retried alone)."""
        ...

    @property
    def change_listeners(self) -> list[Callable[[Any], None]]: ...

    @property
    def finish_listeners(self) -> list[Callable[[Any], None]]: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def cancel(self) -> None: ...

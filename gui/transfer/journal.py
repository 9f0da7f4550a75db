"""The resume journal: what an unfinished upload had sent, kept in the app's data directory.

One JSON file per target (named by the target's secret-free key), rewritten atomically at most
about once a second while the upload runs and at every stop. It records the source's identity,
the windows finished (by index) and the byte ranges written, so a restart skips finished windows
without reading them, after checking against the blob's page ranges that they really are there.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gui.transfer.errors import JournalError
from gui.transfer.ranges import RangeSet
from gui.transfer.source import SourceIdentity

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1
SAVE_INTERVAL = 1.0


def default_journal_dir() -> Path:
    from gui.paths import journal_dir

    return journal_dir()


@dataclass(frozen=True)
class UnfinishedUpload:
    """An upload that stopped before completing, as offered for resume at the next start."""

    journal_path: Path
    key: str
    target: dict[str, str]  # kind, blob_url, ... (no secrets: the SAS must be supplied again)
    source: SourceIdentity
    window_size: int
    bytes_done_estimate: int  # stream bytes of the finished windows
    state: str  # "running" (the process died), "paused", "cancelled" or "failed"
    last_error: str
    updated: datetime

    @property
    def fraction(self) -> float:
        total = self.source.upload_size
        return min(1.0, self.bytes_done_estimate / total) if total else 0.0

    def discard(self) -> None:
        self.journal_path.unlink(missing_ok=True)


class Journal:
    def __init__(
        self,
        path: Path,
        key: str,
        target: dict[str, str],
        identity: SourceIdentity,
        window_size: int,
    ) -> None:
        self.path = path
        self.key = key
        self.target = target
        self.identity = identity
        self.window_size = window_size
        self.done_windows = RangeSet()  # window indices
        self.written = RangeSet()  # stream bytes known to be on the blob
        self.state = "running"
        self.last_error = ""
        self._last_save = 0.0
        self._dirty = False

    @staticmethod
    def path_for(directory: Path, key: str) -> Path:
        return directory / f"{key}.json"

    @classmethod
    def load(cls, path: Path) -> Journal | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            # Unreadable (a power cut mid-write): start without it. What is on the blob is
            # still found through its metadata and page ranges, so nothing is lost or mixed.
            log.warning("ignoring the unreadable resume journal %s", path)
            return None
        except OSError as exc:
            raise JournalError(
                f"The resume journal {path} cannot be read ({exc.strerror}); check the "
                "permissions of the data directory."
            ) from exc
        try:
            if int(data["version"]) != JOURNAL_VERSION:
                return None
            journal = cls(
                path,
                str(data["key"]),
                {str(k): str(v) for k, v in data["target"].items()},
                SourceIdentity.from_json(data["source"]),
                int(data["window_size"]),
            )
            journal.done_windows = RangeSet.from_json(data["done_windows"])
            journal.written = RangeSet.from_json(data["written"])
            journal.state = str(data.get("state", "running"))
            journal.last_error = str(data.get("last_error", ""))
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring the damaged resume journal %s", path)
            return None
        return journal

    def mark_window(self, index: int, written: list[tuple[int, int]]) -> None:
        self.done_windows.add(index, index + 1)
        for start, end in written:
            self.written.add(start, end)
        self._dirty = True

    def mark_written(self, start: int, end: int) -> None:
        self.written.add(start, end)
        self._dirty = True

    def window_done(self, index: int) -> bool:
        return self.done_windows.covers(index, index + 1)

    def bytes_done_estimate(self) -> int:
        return min(self.done_windows.total * self.window_size, self.identity.upload_size)

    def maybe_save(self) -> None:
        if self._dirty and time.monotonic() - self._last_save >= SAVE_INTERVAL:
            self.save()

    def save(self) -> None:
        data: dict[str, Any] = {
            "version": JOURNAL_VERSION,
            "key": self.key,
            "target": self.target,
            "source": self.identity.to_json(),
            "window_size": self.window_size,
            "done_windows": self.done_windows.to_json(),
            "written": self.written.to_json(),
            "state": self.state,
            "last_error": self.last_error,
            "updated": datetime.now(UTC).isoformat(),
        }
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # No fsync: it runs on the upload's loop and can stall it for long on a busy disk.
            # The rename is atomic against a crash of the process; after a power cut an older
            # or unreadable journal only means more re-reading (page ranges keep it correct).
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump(data, f, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError as exc:
            raise JournalError(
                f"Cannot write the resume journal {self.path} ({exc.strerror}); free some disk "
                "space or fix the permissions of the data directory."
            ) from exc
        self._last_save = time.monotonic()
        self._dirty = False

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


def list_unfinished(directory: Path | None = None) -> list[UnfinishedUpload]:
    """Every unfinished upload with a journal, newest first; damaged journals are skipped."""
    directory = directory or default_journal_dir()
    found: list[UnfinishedUpload] = []
    for path in directory.glob("*.json"):
        try:
            journal = Journal.load(path)
            updated = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        except (JournalError, OSError):
            continue
        if journal is None:
            continue
        found.append(
            UnfinishedUpload(
                journal_path=path,
                key=journal.key,
                target=journal.target,
                source=journal.identity,
                window_size=journal.window_size,
                bytes_done_estimate=journal.bytes_done_estimate(),
                state=journal.state,
                last_error=journal.last_error,
                updated=updated,
            )
        )
    found.sort(key=lambda u: u.updated, reverse=True)
    return found

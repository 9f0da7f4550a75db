"""The resume journal of a download: which byte ranges of the source are already in the file.

One JSON file per (source, output file, format), in a ``downloads`` folder beside the upload
journals (the upload's ``list_unfinished`` reads only the folder's own files, so it never sees
these). It holds no secret: the source is named by its secret-free key and described by the
blob's size and ETag, so a source that changed since (another ETag) starts the download over
instead of mixing two versions of the disk in one file.

A range is recorded only once the output writer took it (``write`` returned), so after a crash
the file holds at least what the journal says; the journal is rewritten atomically at most about
once a second and at every stop.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gui.i18n import QT_TR_NOOP, message
from gui.transfer.errors import JournalError
from gui.transfer.journal import write_json_atomically
from gui.transfer.progress import UploadState
from gui.transfer.ranges import RangeSet

log = logging.getLogger(__name__)

DOWNLOAD_JOURNAL_VERSION = 1
SAVE_INTERVAL = 1.0


def default_download_journal_dir() -> Path:
    from gui.paths import journal_dir

    return journal_dir() / "downloads"


def journal_key(source_key: str, output: Path, fmt: str) -> str:
    """Secret-free name of the journal of downloading ``source_key`` to ``output`` as ``fmt``."""
    text = f"download\n{source_key}\n{output.resolve()}\n{fmt}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SourceVersion:
    """What must be unchanged for a download to resume: the blob's size and ETag."""

    size: int
    etag: str

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "etag": self.etag}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceVersion:
        return cls(int(data["size"]), str(data["etag"]))


@dataclass
class DownloadJournal:
    path: Path
    source: dict[str, str]  # kind, display (never a SAS)
    output: str
    fmt: str
    version: SourceVersion
    fetched: RangeSet = field(default_factory=RangeSet)
    # The output's identity (disk id, VHD time) so a resume plans the same file layout.
    layout: dict[str, str] = field(default_factory=dict)
    state: UploadState = UploadState.UPLOADING
    last_error: str = ""
    _last_save: float = 0.0
    _dirty: bool = False

    @classmethod
    def load(cls, path: Path) -> DownloadJournal | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            # Unreadable (a power cut mid-write): the download starts over, nothing is mixed.
            log.warning("ignoring the unreadable download journal %s", path)
            return None
        except OSError as exc:
            raise JournalError(
                message(
                    QT_TR_NOOP("The download journal {path} cannot be read ({reason}); check the "
                               "permissions of the data directory."),
                    path=path, reason=exc.strerror)
            ) from exc
        try:
            if int(data["version"]) != DOWNLOAD_JOURNAL_VERSION:
                return None
            return cls(
                path=path,
                source={str(k): str(v) for k, v in data["source"].items()},
                output=str(data["output"]),
                fmt=str(data["format"]),
                version=SourceVersion.from_json(data["source_version"]),
                fetched=RangeSet.from_json(data["fetched"]),
                layout={str(k): str(v) for k, v in data.get("layout", {}).items()},
                state=UploadState(str(data.get("state", "uploading"))),
                last_error=str(data.get("last_error", "")),
            )
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring the damaged download journal %s", path)
            return None

    def mark_fetched(self, start: int, end: int) -> None:
        self.fetched.add(start, end)
        self._dirty = True

    def maybe_save(self) -> None:
        if self._dirty and time.monotonic() - self._last_save >= SAVE_INTERVAL:
            self.save()

    def save(self) -> None:
        data: dict[str, Any] = {
            "version": DOWNLOAD_JOURNAL_VERSION,
            "source": self.source,
            "output": self.output,
            "format": self.fmt,
            "source_version": self.version.to_json(),
            "fetched": self.fetched.to_json(),
            "layout": self.layout,
            "state": self.state.value,
            "last_error": self.last_error,
            "updated": datetime.now(UTC).isoformat(),
        }
        try:
            write_json_atomically(self.path, data)
        except OSError as exc:
            raise JournalError(
                message(
                    QT_TR_NOOP("Cannot write the download journal {path} ({reason}); free some "
                               "disk space or fix the permissions of the data directory."),
                    path=self.path, reason=exc.strerror)
            ) from exc
        self._last_save = time.monotonic()
        self._dirty = False

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)

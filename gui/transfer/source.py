"""The part of a disk image the engine needs, and how a source is recognised again on resume.

The engine depends on this protocol, not on ``gui.diskimage.DiskImage`` itself, so any object that
can describe and read a fixed-layout stream can be uploaded.
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.errors import InvalidSourceError, SourceChangedError

SECTOR = 512


class SourceRange(Protocol):
    @property
    def offset(self) -> int: ...

    @property
    def length(self) -> int: ...


class UploadSource(Protocol):
    """A disk image seen as the fixed-layout stream ``[0, upload_size)`` Azure stores."""

    @property
    def path(self) -> Path: ...

    @property
    def source_files(self) -> tuple[Path, ...]:
        """Every file the stream is read from: the image, then a differencing disk's parents."""
        ...

    @property
    def upload_size(self) -> int: ...

    @property
    def footer(self) -> bytes: ...

    @property
    def disk_id(self) -> uuid.UUID: ...

    def data_ranges(self) -> Sequence[SourceRange]: ...

    def readinto(self, offset: int, buf: bytearray | memoryview) -> int: ...


# The content fingerprint: SAMPLES blocks of SAMPLE_SIZE bytes spread evenly over the data
# (2 MiB read, a few milliseconds), hashed with the upload size. It catches a file replaced by
# another of the same size and time (cp -p, an archive, a restore) before anything is sent.
# It cannot catch a small edit between samples; what decides a resume is the digest of every
# run already sent, re-checked as the run is read again (see the journal).
SAMPLES = 32
SAMPLE_SIZE = 64 * 1024


def content_fingerprint(source: UploadSource) -> str:
    """A hex digest of sampled blocks of the stream (see SAMPLES); reads the source."""
    ranges = sorted(
        ((r.offset, r.offset + r.length) for r in source.data_ranges() if r.length > 0),
        key=lambda r: r[0],
    )
    data_end = source.upload_size - SECTOR
    ranges = [(s, min(e, data_end)) for s, e in ranges if s < data_end]
    total = sum(e - s for s, e in ranges)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{source.upload_size}:{total}".encode())
    if total:
        # The k-th sample starts at the k/(SAMPLES-1) point of the data, the last one ends at
        # its end: the same positions for the same data ranges, whatever the machine.
        wanted = [min(total - 1, total * k // (SAMPLES - 1)) for k in range(SAMPLES)]
        buf = bytearray(SAMPLE_SIZE)
        index, before = 0, 0
        for position in wanted:
            while position >= before + ranges[index][1] - ranges[index][0]:
                before += ranges[index][1] - ranges[index][0]
                index += 1
            start, end = ranges[index]
            offset = min(start + position - before, max(start, end - SAMPLE_SIZE))
            length = min(SAMPLE_SIZE, end - offset)
            view = memoryview(buf)[:length]
            try:
                got = source.readinto(offset, view)
            except OSError as exc:
                raise InvalidSourceError(
                    message(
                        QT_TR_NOOP("Cannot read {path} at offset {offset}: {reason}."),
                        path=source.path, offset=offset, reason=exc.strerror)
                ) from exc
            digest.update(f"{offset}:{got}:".encode())
            digest.update(view[:got])
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceFile:
    """One file feeding the stream, as it was: a change of any of them changes the blob."""

    path: str
    size: int
    mtime_ns: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceFile:
        return cls(str(data["path"]), int(data["size"]), int(data["mtime_ns"]))


@dataclass(frozen=True)
class SourceIdentity:
    """What makes a source the same as when an upload started: every file it reads (a
    differencing disk's parents too) by path, size and time, plus a content fingerprint."""

    files: tuple[SourceFile, ...]  # the image first, then its parents in chain order
    disk_id: str
    upload_size: int
    fingerprint: str

    @property
    def path(self) -> str:
        return self.files[0].path

    @property
    def size(self) -> int:
        return self.files[0].size

    @property
    def mtime_ns(self) -> int:
        return self.files[0].mtime_ns

    @classmethod
    def of(cls, source: UploadSource) -> SourceIdentity:
        """Stats every source file and reads the fingerprint's samples (blocking: call it
        off any event loop that must stay responsive)."""
        files: list[SourceFile] = []
        for each in source.source_files:
            path = Path(each).resolve()
            try:
                st = os.stat(path)
            except OSError as exc:
                raise InvalidSourceError(message(
                    QT_TR_NOOP("Cannot read {path}: {reason}."),
                    path=path, reason=exc.strerror)) from exc
            files.append(SourceFile(str(path), st.st_size, st.st_mtime_ns))
        if not files:
            raise InvalidSourceError(message(
                QT_TR_NOOP("{path} names no file to read."),
                path=source.path))
        return cls(
            tuple(files), str(source.disk_id), source.upload_size, content_fingerprint(source)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "files": [f.to_json() for f in self.files],
            "disk_id": self.disk_id,
            "upload_size": self.upload_size,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceIdentity:
        files = tuple(SourceFile.from_json(f) for f in data["files"])
        if not files:
            raise ValueError("no source files")
        return cls(
            files=files,
            disk_id=str(data["disk_id"]),
            upload_size=int(data["upload_size"]),
            fingerprint=str(data["fingerprint"]),
        )

    def _parents_digest(self) -> str:
        """The parents in one short value: blob metadata is limited to 8 KiB in all."""
        text = "\n".join(f"{f.path}\0{f.size}\0{f.mtime_ns}" for f in self.files[1:])
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest() if text else "none"

    def to_metadata(self) -> dict[str, str]:
        """Blob metadata (ASCII header values; the path is base64url so any file name fits)."""
        encoded_path = base64.urlsafe_b64encode(self.path.encode()).decode().rstrip("=")
        return {
            "aissourcepath": encoded_path,
            "aissourcesize": str(self.size),
            "aissourcemtimens": str(self.mtime_ns),
            "aisparents": self._parents_digest(),
            "aisfingerprint": self.fingerprint,
            "aisdiskid": self.disk_id,
            "aisuploadsize": str(self.upload_size),
        }

    @staticmethod
    def made_by_us(metadata: dict[str, str]) -> bool:
        """True when the blob carries an identity written by this engine (any version)."""
        return "aissourcepath" in {k.lower() for k in metadata}

    def require_same_as_metadata(self, metadata: dict[str, str]) -> None:
        """Refuse to resume into a blob started from another source (or another version)."""
        stored = {k.lower(): v for k, v in metadata.items()}
        mine = self.to_metadata()
        differs = [key for key, value in mine.items() if stored.get(key) != value]
        if not differs:
            return
        raw_path = stored.get("aissourcepath", "")
        try:
            path = base64.urlsafe_b64decode(raw_path + "=" * (-len(raw_path) % 4)).decode()
        except ValueError:
            path = "?"
        reasons = {
            "aissourcepath": Text(message(
                QT_TR_NOOP("it was started from {other}, not {path}"),
                other=path, path=self.path)),
            "aissourcesize": Text(message(
                QT_TR_NOOP("{path} changed size ({then} bytes then, {now} now)"),
                path=self.path, then=stored.get('aissourcesize'), now=self.size)),
            "aissourcemtimens": Text(message(
                QT_TR_NOOP("{path} was modified after the upload started"),
                path=self.path)),
            "aisparents": Text(message(
                QT_TR_NOOP("a parent disk of {path} changed (or the chain differs)"),
                path=self.path)),
            "aisfingerprint": Text(message(
                QT_TR_NOOP("the content of {path} differs (same size and time)"),
                path=self.path)),
            "aisdiskid": Text(message(
                QT_TR_NOOP("the disk id of {path} changed"),
                path=self.path)),
            "aisuploadsize": Text(QT_TR_NOOP("the image's upload size differs")),
        }
        if "aisfingerprint" not in stored:
            what = Text(QT_TR_NOOP("it was written by an older version of Azure Image Studio"))
        else:
            what = reasons[differs[0]]
        raise _changed(Text(QT_TR_NOOP("the blob's metadata")), what)

    def require_same(self, other: SourceIdentity, where: str) -> None:
        """Refuse to mix two sources into one blob; say what differs and what to do."""
        if self == other:
            return
        if self.path != other.path:
            what = Text(message(
                QT_TR_NOOP("it was started from {other}, not {path}"),
                other=other.path, path=self.path))
        elif len(self.files) != len(other.files) or any(
            a.path != b.path for a, b in zip(self.files, other.files, strict=True)
        ):
            what = Text(message(
                QT_TR_NOOP("the chain of parent disks of {path} is not the one it was"),
                path=self.path))
        elif self.disk_id != other.disk_id:
            what = Text(message(
                QT_TR_NOOP("the disk id of {path} changed ({then} then, {now} now)"),
                path=self.path, then=other.disk_id, now=self.disk_id))
        elif self.upload_size != other.upload_size:
            what = Text(QT_TR_NOOP("the image's upload size differs"))
        else:
            changed = next(
                (
                    (a, b)
                    for a, b in zip(self.files, other.files, strict=True)
                    if (a.size, a.mtime_ns) != (b.size, b.mtime_ns)
                ),
                None,
            )
            if changed is None:
                what = Text(message(
                    QT_TR_NOOP("the content of {path} differs (same size and time)"),
                    path=self.path))
            elif changed[0].size != changed[1].size:
                what = (
                    Text(message(
                        QT_TR_NOOP("{path} changed size ({then} bytes then, {now} now)"),
                        path=changed[0].path, then=changed[1].size, now=changed[0].size))
                )
            else:
                what = Text(message(
                    QT_TR_NOOP("{path} was modified after the upload started"),
                    path=changed[0].path))
        raise _changed(where, what)


def _changed(where: str, what: str) -> SourceChangedError:
    return SourceChangedError(
        message(
            QT_TR_NOOP("The unfinished upload ({where}) belongs to another source: {what}. "
                       "Mixing them would corrupt the disk, so nothing was sent. Upload to a new "
                       "name, or start over (overwrite / discard the unfinished upload)."),
            where=where, what=what)
    )


def check_source(source: UploadSource) -> None:
    size = source.upload_size
    if size <= SECTOR or size % SECTOR:
        raise InvalidSourceError(
            message(
                QT_TR_NOOP("The upload size {size} is not a multiple of 512 bytes; open the file "
                           "through the disk-image engine, which rounds it to a size Azure "
                           "accepts."),
                size=size)
        )
    if len(source.footer) != SECTOR:
        raise InvalidSourceError(Text(QT_TR_NOOP(
                "The image's footer is not 512 bytes; the file is not a VHD.")))

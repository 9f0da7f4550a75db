"""The part of a disk image the engine needs, and how a source is recognised again on resume.

The engine depends on this protocol, not on ``gui.vhd.DiskImage`` itself, so any object that can
describe and read a fixed-layout stream can be uploaded.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

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
    def upload_size(self) -> int: ...

    @property
    def footer(self) -> bytes: ...

    @property
    def disk_id(self) -> uuid.UUID: ...

    def data_ranges(self) -> Sequence[SourceRange]: ...

    def readinto(self, offset: int, buf: bytearray | memoryview) -> int: ...


@dataclass(frozen=True)
class SourceIdentity:
    """What makes a source the same file it was when an upload started."""

    path: str
    size: int
    mtime_ns: int
    disk_id: str
    upload_size: int

    @classmethod
    def of(cls, source: UploadSource) -> SourceIdentity:
        path = Path(source.path).resolve()
        try:
            st = os.stat(path)
        except OSError as exc:
            raise InvalidSourceError(f"Cannot read {path}: {exc.strerror}.") from exc
        return cls(str(path), st.st_size, st.st_mtime_ns, str(source.disk_id), source.upload_size)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceIdentity:
        return cls(
            path=str(data["path"]),
            size=int(data["size"]),
            mtime_ns=int(data["mtime_ns"]),
            disk_id=str(data["disk_id"]),
            upload_size=int(data["upload_size"]),
        )

    def to_metadata(self) -> dict[str, str]:
        """Blob metadata (ASCII header values; the path is base64url so any file name fits)."""
        encoded_path = base64.urlsafe_b64encode(self.path.encode()).decode().rstrip("=")
        return {
            "aissourcepath": encoded_path,
            "aissourcesize": str(self.size),
            "aissourcemtimens": str(self.mtime_ns),
            "aisdiskid": self.disk_id,
            "aisuploadsize": str(self.upload_size),
        }

    @classmethod
    def from_metadata(cls, metadata: dict[str, str]) -> SourceIdentity | None:
        """The identity stored on a blob, or None when the blob was not made by this engine."""
        meta = {k.lower(): v for k, v in metadata.items()}
        try:
            raw_path = meta["aissourcepath"]
            path = base64.urlsafe_b64decode(raw_path + "=" * (-len(raw_path) % 4)).decode()
            return cls(
                path=path,
                size=int(meta["aissourcesize"]),
                mtime_ns=int(meta["aissourcemtimens"]),
                disk_id=meta["aisdiskid"],
                upload_size=int(meta["aisuploadsize"]),
            )
        except (KeyError, ValueError):
            return None

    def require_same(self, other: SourceIdentity, where: str) -> None:
        """Refuse to mix two sources into one blob; say what differs and what to do."""
        if self == other:
            return
        if self.path != other.path:
            what = f"it was started from {other.path}, not {self.path}"
        elif self.size != other.size:
            what = f"{self.path} changed size ({other.size} bytes then, {self.size} now)"
        elif self.mtime_ns != other.mtime_ns:
            what = f"{self.path} was modified after the upload started"
        elif self.disk_id != other.disk_id:
            what = f"the disk id of {self.path} changed ({other.disk_id} then, {self.disk_id} now)"
        else:
            what = "the image's upload size differs"
        raise SourceChangedError(
            f"The unfinished upload ({where}) belongs to another source: {what}. Mixing them would "
            "corrupt the disk, so nothing was sent. Upload to a new name, or start over "
            "(overwrite / discard the unfinished upload)."
        )


def check_source(source: UploadSource) -> None:
    size = source.upload_size
    if size <= SECTOR or size % SECTOR:
        raise InvalidSourceError(
            f"The upload size {size} is not a multiple of 512 bytes; open the file through the "
            "disk-image engine, which rounds it to a size Azure accepts."
        )
    if len(source.footer) != SECTOR:
        raise InvalidSourceError("The image's footer is not 512 bytes; the file is not a VHD.")

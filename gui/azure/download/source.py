"""What a download reads from: a page blob's SAS URL, or the resource ID of a managed disk, a
snapshot or a gallery image version (its OS disk, or a data disk by LUN).

Read from the text alone, before anything is sent; resource IDs through the one parser
(``azure.mgmt.core.tools.parse_resource_id``, as gui/azure/arm.py), so ARM's any-case segments
are understood. A SAS URL is a secret: it is kept only in memory, and every description of the
source (``display``) is the URL without its query.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from azure.mgmt.core.tools import parse_resource_id

from gui.azure.errors import InvalidRequestError
from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.redact import redact, strip_query


class SourceKind(enum.Enum):
    SAS_URL = "sas-url"
    DISK = "disk"
    SNAPSHOT = "snapshot"
    GALLERY_VERSION = "gallery-version"


class InvalidDownloadSourceError(InvalidRequestError):
    """The text names nothing a download can read."""

    title = Text(QT_TR_NOOP("Not a download source"))
    advice = Text(QT_TR_NOOP(
        "Give a page blob's SAS URL, or the resource ID of a managed disk, a snapshot or a "
        "gallery image version (/subscriptions/…/providers/Microsoft.Compute/…)."))


@dataclass(frozen=True)
class DownloadSource:
    kind: SourceKind
    # The SAS URL (a secret: never logged, never shown) or the resource ID.
    text: str = field(repr=False)
    lun: int | None = None  # a gallery image version's data disk; None: its OS disk
    subscription: str = ""
    resource_group: str = ""
    name: str = ""  # the disk's, snapshot's or version's name
    gallery: str = ""
    image: str = ""

    @property
    def display(self) -> str:
        """The source without any secret, for messages, logs and journals."""
        if self.kind is SourceKind.SAS_URL:
            return strip_query(self.text)
        if self.lun is not None:
            return f"{self.text} (LUN {self.lun})"
        return self.text

    @property
    def resource_id(self) -> str:
        return "" if self.kind is SourceKind.SAS_URL else self.text


def parse_source(text: str, lun: int | None = None) -> DownloadSource:
    """The source ``text`` names; raises :class:`InvalidDownloadSourceError` with what to do."""
    text = text.strip()
    lower = text.lower()
    if lower.startswith(("https://", "http://")):
        if lun is not None:
            raise InvalidDownloadSourceError(
                Text(QT_TR_NOOP("A LUN picks a data disk of a gallery image version; a SAS URL "
                                "names one blob already. Leave the LUN out.")))
        return DownloadSource(SourceKind.SAS_URL, text)
    if not lower.startswith("/subscriptions/"):
        raise InvalidDownloadSourceError(
            message(QT_TR_NOOP("{source} is neither a SAS URL nor a resource ID."),
                    source=redact(text)))
    parts = parse_resource_id(text)
    namespace = str(parts.get("namespace") or "").lower()
    kind = str(parts.get("type") or "").lower()
    subscription = str(parts.get("subscription") or "")
    group = str(parts.get("resource_group") or "")
    if namespace == "microsoft.compute" and kind in ("disks", "snapshots") and not parts.get(
        "children"
    ):
        if lun is not None:
            raise InvalidDownloadSourceError(
                Text(QT_TR_NOOP("A LUN picks a data disk of a gallery image version; a disk or "
                                "snapshot is one disk already. Leave the LUN out.")))
        return DownloadSource(
            SourceKind.DISK if kind == "disks" else SourceKind.SNAPSHOT,
            text,
            subscription=subscription,
            resource_group=group,
            name=str(parts["name"]),
        )
    if (
        namespace == "microsoft.compute"
        and kind == "galleries"
        and str(parts.get("child_type_1") or "").lower() == "images"
        and str(parts.get("child_type_2") or "").lower() == "versions"
        and parts.get("last_child_num") == 2
    ):
        if lun is not None and lun < 0:
            raise InvalidDownloadSourceError(
                message(QT_TR_NOOP("LUN {lun} is not a LUN: give 0 or more."), lun=lun))
        return DownloadSource(
            SourceKind.GALLERY_VERSION,
            text,
            lun=lun,
            name=str(parts["child_name_2"]),
            gallery=str(parts["name"]),
            image=str(parts["child_name_1"]),
            subscription=subscription,
            resource_group=group,
        )
    raise InvalidDownloadSourceError(
        message(
            QT_TR_NOOP("{source} is not a managed disk, a snapshot or a gallery image version: "
                       "only those (and page blobs, by SAS URL) can be downloaded."),
            source=text)
    )

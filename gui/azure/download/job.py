"""One download from Azure: grant read access, transfer, revoke; for a gallery image version,
first a temporary managed disk made from it, deleted at the end.

Read access (beginGetAccess access=Read) is revoked (endGetAccess) in every outcome: completed,
failed, cancelled, and a caller's task cancelled mid-way (the revocation is shielded). A disk
left in ActiveSAS cannot be attached, resized or deleted, so no outcome may leave one. The
temporary disk of a gallery image version is deleted the same way, after its access is revoked
(Azure refuses to delete a disk in ActiveSAS).

ARM calls run on the caller's loop (the window's or ``asyncio.run``), through the one
SDK-error wrapper (``gui.azure.errors.translated``); the bytes go through
:class:`gui.transfer.download.Download` on its own thread, keyed in its journal by the
resource, so the same download started again resumes (a gallery version's data cannot change,
so its resume does not depend on the temporary disk's blob).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gui.azure.download.source import DownloadSource, SourceKind, parse_source
from gui.azure.errors import AzureServiceError, InvalidRequestError, NotFoundError, translated
from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.download import (
    Download,
    DownloadCancelledError,
    DownloadOptions,
    DownloadResult,
    ProgressCallback,
    SasUrlSource,
    read_denied,
)
from gui.transfer.errors import UploadError
from gui.transfer.targets import RenewableSasTarget

if TYPE_CHECKING:
    from azure.mgmt.compute.aio import ComputeManagementClient

log = logging.getLogger(__name__)

# A read grant covers the download at a pessimistic 4 MB/s plus an hour, within 5 days (the
# longest Azure grants): revoking at the end, always, ends it early.
MIN_GRANT_SECONDS = 4 * 3600
MAX_GRANT_SECONDS = 5 * 24 * 3600
PESSIMISTIC_RATE = 4_000_000
# Sizes are unknown before the grant: 1 TiB (the usual OS-disk ceiling) decides the duration.
ASSUMED_SIZE = 1 << 40


def grant_seconds(size: int = ASSUMED_SIZE) -> int:
    return int(min(MAX_GRANT_SECONDS, max(MIN_GRANT_SECONDS, size / PESSIMISTIC_RATE + 3600)))


class DownloadStep(enum.Enum):
    CREATING_DISK = Text(QT_TR_NOOP("Creating a temporary disk from the image version"))
    GRANTING = Text(QT_TR_NOOP("Granting read access"))
    DOWNLOADING = Text(QT_TR_NOOP("Downloading"))
    REVOKING = Text(QT_TR_NOOP("Revoking read access"))
    DELETING_DISK = Text(QT_TR_NOOP("Deleting the temporary disk"))
    DONE = Text(QT_TR_NOOP("Done"))


StepCallback = Callable[[DownloadStep], None]


class NoSuchDataDiskError(InvalidRequestError):
    """The gallery image version has no data disk at the LUN asked for."""

    title = Text(QT_TR_NOOP("No such data disk"))
    advice = Text(QT_TR_NOOP(
        "Leave the LUN out for the OS disk, or give one of the version's data-disk LUNs."))


class ReadGrantSource(RenewableSasTarget):
    """A disk's or snapshot's read SAS as the source of a download (not renewable: Azure grants
    read access once, for its duration)."""

    kind = "managed-disk-read"

    def denied(self, status: int, code: str, expiry: datetime | None) -> UploadError:
        return read_denied(self, status, code, expiry)


@dataclass(frozen=True)
class AzureDownloadResult:
    source: str  # the resource ID (with its LUN) or the blob URL, without any SAS
    transfer: DownloadResult
    temporary_disk: str | None  # the ID of the disk a gallery version was read through (gone)


class AzureDownload:
    """One download; ``await run()`` on the caller's loop, control from any thread."""

    def __init__(
        self,
        compute: Callable[[str], ComputeManagementClient] | None,
        source: DownloadSource | str,
        path: Path | str,
        fmt: str = "vhd",
        options: DownloadOptions | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        on_step: StepCallback | None = None,
        temporary_resource_group: str | None = None,
    ) -> None:
        """``compute(subscription_id)`` gives the compute client (``AzureSession.compute``);
        None is enough for a SAS URL. The temporary disk of a gallery version goes into the
        version's resource group unless ``temporary_resource_group`` names another."""
        self.source = parse_source(source) if isinstance(source, str) else source
        self.path = Path(path)
        self.format = fmt
        self.options = options or DownloadOptions()
        self._compute = compute
        self._on_progress = on_progress
        self._on_step = on_step
        self._temporary_group = temporary_resource_group
        self._cancelled = False
        self._paused = False
        self.engine: Download | None = None
        self.step: DownloadStep | None = None
        self.access_granted = False  # read access was granted and not yet revoked
        self.temporary_disk_id: str | None = None  # while the temporary disk exists

    # -- control, from any thread ------------------------------------------------------------

    def pause(self) -> None:
        self._paused = True
        if self.engine is not None:
            self.engine.pause()

    def resume(self) -> None:
        self._paused = False
        if self.engine is not None:
            self.engine.resume()

    def cancel(self) -> None:
        self._cancelled = True
        if self.engine is not None:
            self.engine.cancel()

    # -- the flow ----------------------------------------------------------------------------

    async def run(self) -> AzureDownloadResult:
        source = self.source
        if source.kind is SourceKind.SAS_URL:
            transfer = await self._transfer(SasUrlSource(source.text), None, None)
            self._set_step(DownloadStep.DONE)
            return AzureDownloadResult(source.display, transfer, None)
        if self._compute is None:
            raise InvalidRequestError(
                Text(QT_TR_NOOP("Downloading a resource needs a signed-in session.")))
        compute = self._compute(source.subscription)
        if source.kind is SourceKind.GALLERY_VERSION:
            return await self._from_gallery_version(compute)
        snapshot = source.kind is SourceKind.SNAPSHOT
        label = (
            message(QT_TR_NOOP("managed disk {name}"), name=source.name)
            if not snapshot
            else message(QT_TR_NOOP("snapshot {name}"), name=source.name)
        )
        transfer = await self._granted(compute, snapshot, source.resource_group, source.name,
                                       Text(label), key=source.resource_id, version=None)
        self._set_step(DownloadStep.DONE)
        return AzureDownloadResult(source.display, transfer, None)

    async def _from_gallery_version(self, compute: ComputeManagementClient) -> AzureDownloadResult:
        from azure.mgmt.compute.models import (
            CreationData,
            Disk,
            DiskProperties,
            DiskSku,
            ImageDiskReference,
        )

        source = self.source
        with translated():
            version = await compute.gallery_image_versions.get(
                source.resource_group, source.gallery, source.image, source.name
            )
        data_luns = [
            d.lun for d in (version.storage_profile.data_disk_images or [])
        ] if version.storage_profile is not None else []
        if source.lun is not None and source.lun not in data_luns:
            raise NoSuchDataDiskError(
                message(
                    QT_TR_NOOP("The image version {version} has no data disk at LUN {lun} (its "
                               "data disks: {luns})."),
                    version=source.name, lun=source.lun,
                    luns=", ".join(str(n) for n in sorted(data_luns)) or "-")
            )
        self._check_cancelled()
        group = self._temporary_group or source.resource_group
        # Disk names allow letters, digits, '_', '-' and '.': a version's name fits as it is.
        name = f"ais-download-{source.image[:30]}-{source.name}-{uuid.uuid4().hex[:8]}"
        disk = Disk(
            location=str(version.location),
            sku=DiskSku(name="Standard_LRS"),
            tags={"created-by": "azure-image-studio", "purpose": "download"},
            properties=DiskProperties(
                creation_data=CreationData(
                    create_option="FromImage",
                    gallery_image_reference=ImageDiskReference(id=str(version.id),
                                                               lun=source.lun),
                ),
            ),
        )
        self._set_step(DownloadStep.CREATING_DISK)
        published = getattr(version.publishing_profile, "published_date", None)
        identity = f"{version.id}|{source.lun}|{published}"
        try:
            with translated():
                poller = await compute.disks.begin_create_or_update(group, name, disk)
                created = await asyncio.shield(poller.result())
            self.temporary_disk_id = str(created.id)
            self._check_cancelled()
            label = Text(message(
                QT_TR_NOOP("image version {version} (through the temporary disk {disk})"),
                version=source.name, disk=name))
            transfer = await self._granted(
                compute, False, group, name, label, key=source.display, version=identity
            )
        finally:
            if self.temporary_disk_id is not None or await self._disk_exists(compute, group, name):
                self._set_step(DownloadStep.DELETING_DISK)
                await self._delete_disk(compute, group, name)
        self._set_step(DownloadStep.DONE)
        disk_id = str(created.id)
        return AzureDownloadResult(source.display, transfer, disk_id)

    async def _granted(
        self,
        compute: ComputeManagementClient,
        snapshot: bool,
        group: str,
        name: str,
        label: str,
        *,
        key: str,
        version: str | None,
    ) -> DownloadResult:
        """Grant read access, download, and revoke in every outcome."""
        self._check_cancelled()
        self._set_step(DownloadStep.GRANTING)
        from azure.mgmt.compute.models import GrantAccessData

        data = GrantAccessData(access="Read", duration_in_seconds=grant_seconds())
        try:
            with translated():
                if snapshot:
                    poller = await compute.snapshots.begin_grant_access(group, name, data)
                else:
                    poller = await compute.disks.begin_grant_access(group, name, data)
                self.access_granted = True  # from here on, Azure may have granted it
                access: Any = await asyncio.shield(poller.result())
            sas = getattr(access, "access_sas", None)
            if not sas:
                raise AzureServiceError(
                    message(QT_TR_NOOP("Azure granted read access to {source} but returned no "
                                       "SAS URL."), source=label))
            target = ReadGrantSource(str(sas), None, kind=ReadGrantSource.kind, identity=key,
                                     display_name=label)
            return await self._transfer(target, key, version)
        finally:
            if self.access_granted:
                self._set_step(DownloadStep.REVOKING)
                await self._revoke(compute, snapshot, group, name, label)

    async def _transfer(
        self, target: Any, key: str | None, version: str | None
    ) -> DownloadResult:
        self._check_cancelled()
        self._set_step(DownloadStep.DOWNLOADING)
        engine = Download(target, self.path, self.format, self.options, self._on_progress,
                          source_key=key, source_version=version)
        self.engine = engine
        if self._paused:
            engine.pause()
        if self._cancelled:
            engine.cancel()
        engine.start()
        waiter = asyncio.ensure_future(asyncio.to_thread(engine.wait))
        try:
            await asyncio.shield(waiter)
        except asyncio.CancelledError:
            engine.cancel()  # the caller gave up: stop the engine, then let the revoke run
            await waiter
            raise
        return engine.result()

    async def _revoke(
        self, compute: ComputeManagementClient, snapshot: bool, group: str, name: str, label: str
    ) -> None:
        """endGetAccess, shielded so a cancelled caller still revokes; a failure is an error
        with what to do, since the disk stays unusable until it is revoked."""

        async def revoke() -> None:
            with translated():
                if snapshot:
                    poller = await compute.snapshots.begin_revoke_access(group, name)
                else:
                    poller = await compute.disks.begin_revoke_access(group, name)
                await poller.result()

        try:
            await asyncio.shield(revoke())
        except AzureServiceError as exc:
            raise AzureServiceError(
                message(
                    QT_TR_NOOP("Revoking the read access to {source} failed ({message}). Revoke "
                               "it yourself (az disk revoke-access, or az snapshot "
                               "revoke-access) before using it."),
                    source=label, message=exc.message)
            ) from exc
        self.access_granted = False

    async def _disk_exists(self, compute: ComputeManagementClient, group: str, name: str) -> bool:
        """Whether the temporary disk exists (its creation may have been cut off mid-way)."""
        try:
            with translated():
                await compute.disks.get(group, name)
        except NotFoundError:
            return False
        except AzureServiceError:
            return True  # unknown: try to delete it, which says what went wrong
        return True

    async def _delete_disk(self, compute: ComputeManagementClient, group: str, name: str) -> None:
        async def delete() -> None:
            with translated():
                poller = await compute.disks.begin_delete(group, name)
                await poller.result()

        try:
            await asyncio.shield(delete())
        except AzureServiceError as exc:
            raise AzureServiceError(
                message(
                    QT_TR_NOOP("The temporary disk {name} in {group} could not be deleted "
                               "({message}). Delete it yourself (az disk delete) to stop paying "
                               "for it."),
                    name=name, group=group, message=exc.message)
            ) from exc
        self.temporary_disk_id = None

    def _check_cancelled(self) -> None:
        if self._cancelled:
            raise DownloadCancelledError(
                message(
                    QT_TR_NOOP("The download of {source} was cancelled. Start it again to "
                               "continue."),
                    source=self.source.display)
            )

    def _set_step(self, step: DownloadStep) -> None:
        self.step = step
        if self._on_step is not None:
            try:
                self._on_step(step)
            except Exception:  # a broken view must not break the download
                log.exception("step callback failed")

"""A managed disk by direct upload: create it for upload, grant write access, upload, revoke.

The disk is created with create option ``Upload`` and exactly the image's upload size (the fixed
VHD with its footer). Write access is granted for a SAS that the upload engine uses like any page
blob; the SAS is granted again when it is about to expire, so a long upload never dies of it.
Access is revoked in every outcome (completed, failed, cancelled), so no disk is left stuck in
ActiveUpload by us. A disk that is still waiting for upload (ReadyToUpload, ActiveUpload) with
the right size is taken up again, which together with the engine's journal resumes an upload.

Azure grants write access only to a disk in ReadyToUpload (the sandbox does the same), and a
revoked disk is sealed (Unattached, no more writes). So an upload that stops without revoking
(the app was killed, or the user chose "pause and quit") can only be resumed with the SAS it was
granted: that SAS is kept in the OS keyring (:class:`SasVault`), never in a file, until access is
revoked. Where no keyring exists, such an upload is revoked and started over instead.

ARM calls run on the caller's asyncio loop (the GUI's qasync loop or ``asyncio.run``); the data
goes through :class:`gui.transfer.Upload` on the engine's own thread. ARM failures surface as the
``gui.azure.errors`` types (``translate``), transfer failures as ``gui.transfer`` UploadErrors.
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from gui.azure.errors import AzureServiceError, translate
from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer import (
    ProgressCallback,
    RenewableSasTarget,
    TargetSizeMismatchError,
    Upload,
    UploadCancelledError,
    UploadError,
    UploadOptions,
    UploadResult,
    UploadSource,
)

if TYPE_CHECKING:
    from azure.mgmt.compute.aio import ComputeManagementClient
    from azure.mgmt.compute.models import Disk

log = logging.getLogger(__name__)

UPLOAD_STATES = ("ReadyToUpload", "ActiveUpload")
# Write access is granted once: Azure grants it only to a disk in ReadyToUpload, so a disk SAS
# cannot be renewed mid-upload the way a storage-account SAS can. The grant therefore covers the
# upload at a pessimistic 1 MB/s with a day to spare, within Azure's 60-day limit; revoking at
# the end (always) ends it early. Renewal is still attempted before expiry and kept if granted.
MIN_SAS_DURATION = timedelta(hours=24)
MAX_SAS_DURATION = timedelta(days=60)
PESSIMISTIC_RATE = 1_000_000  # bytes per second


def sas_duration_for(upload_size: int) -> timedelta:
    needed = timedelta(seconds=upload_size / PESSIMISTIC_RATE) + MIN_SAS_DURATION
    return min(MAX_SAS_DURATION, needed)


class DiskUploadStep(enum.Enum):
    CREATING = "Creating the disk for upload"
    GRANTING = "Granting write access"
    UPLOADING = "Uploading"
    REVOKING = "Revoking access"
    DONE = "Done"


class DiskUploadError(UploadError):
    """Base of the disk-specific causes (the disk cannot take this upload)."""


class DiskExistsError(DiskUploadError):
    """A disk of that name exists and is not waiting for an upload."""


class DiskStuckError(DiskUploadError):
    """An interrupted upload left the disk in ActiveUpload without a SAS we could use."""


class UploadSuspendedError(UploadCancelledError):
    """The upload stopped without revoking access ("pause and quit"): the disk waits in
    ActiveUpload and its SAS in the keyring, so the next start resumes where it stopped."""


KEYRING_SERVICE = "azure-image-studio/disk-upload-sas"
# Secure stores (Secret Service, Windows Credential Manager, macOS Keychain) rank at 1 or more;
# keyrings.alt's file backends rank below and would put the SAS in a file: they are used only
# when chosen explicitly (PYTHON_KEYRING_BACKEND), as the tests do with a file in a temp dir.
MIN_KEYRING_PRIORITY = 1.0


class SasVault:
    """Write SAS of unfinished disk uploads in the OS keyring, one entry per disk resource ID.

    Every call may block (a keyring can ask to be unlocked): call them off the GUI thread.
    Failures never stop an upload; they only mean it cannot be resumed without a new grant.
    """

    def __init__(self, backend: Any = None) -> None:
        self._backend = backend

    @classmethod
    def nowhere(cls) -> SasVault:
        """A vault that keeps nothing (keyring's "fail" backend): an upload that never resumes,
        such as a smoke run, leaves its write SAS nowhere, not even in the keyring."""
        from keyring.backends.fail import Keyring

        return cls(Keyring())  # type: ignore[no-untyped-call]  # keyring leaves it untyped

    def _keyring(self) -> Any:
        backend = self._backend
        explicit = backend is not None or bool(os.environ.get("PYTHON_KEYRING_BACKEND"))
        if backend is None:
            import keyring
            from keyring.backends.chainer import ChainerBackend

            backend = keyring.get_keyring()
            if isinstance(backend, ChainerBackend) and not explicit:
                # A chain writes to its first member, which may be a file backend: take the
                # best secure member instead, if there is one.
                chained = sorted(backend.backends, key=lambda b: -getattr(b, "priority", 0))
                backend = chained[0] if chained else None
        priority = getattr(backend, "priority", 0)
        # keyring's "fail" backend (no keyring at all) ranks 0, even when chosen.
        if priority <= 0 or (not explicit and priority < MIN_KEYRING_PRIORITY):
            return None
        return backend

    @property
    def available(self) -> bool:
        try:
            return self._keyring() is not None
        except Exception:  # a broken keyring installation is no keyring
            return False

    def describe(self) -> str:
        backend = self._keyring()
        return getattr(backend, "name", type(backend).__name__) if backend else "none"

    @staticmethod
    def _key(disk_id: str) -> str:
        return disk_id.casefold()

    def store(self, disk_id: str, sas: str, expires_at: datetime) -> bool:
        backend = self._keyring()
        if backend is None:
            return False
        value = json.dumps({"sas": sas, "expires": expires_at.isoformat()})
        try:
            backend.set_password(KEYRING_SERVICE, self._key(disk_id), value)
        except Exception as exc:  # locked, refused, no D-Bus: say why, never the secret
            log.warning("The keyring refused to keep the upload SAS: %s", type(exc).__name__)
            return False
        return True

    def load(self, disk_id: str) -> tuple[str, datetime] | None:
        """The SAS kept for this disk while it is still valid for at least a minute."""
        backend = self._keyring()
        if backend is None:
            return None
        try:
            value = backend.get_password(KEYRING_SERVICE, self._key(disk_id))
        except Exception as exc:
            log.warning("The keyring could not be read: %s", type(exc).__name__)
            return None
        if not value:
            return None
        try:
            data = json.loads(value)
            sas, expires = str(data["sas"]), datetime.fromisoformat(data["expires"])
        except (ValueError, KeyError, TypeError):
            self.forget(disk_id)
            return None
        if expires - datetime.now(UTC) < timedelta(minutes=1):
            self.forget(disk_id)
            return None
        return sas, expires

    def forget(self, disk_id: str) -> None:
        backend = self._keyring()
        if backend is None:
            return
        try:
            backend.delete_password(KEYRING_SERVICE, self._key(disk_id))
        except Exception:  # nothing kept (PasswordDeleteError) or no keyring: nothing to do
            return


@dataclass(frozen=True)
class ManagedDiskSpec:
    resource_group: str
    name: str
    location: str
    sku: str = "Standard_LRS"
    os_type: str | None = None  # "Windows" or "Linux" for an OS disk
    hyper_v_generation: str | None = None  # "V1" or "V2"
    tags: dict[str, str] | None = None


@dataclass(frozen=True)
class DiskUploadResult:
    disk_id: str
    disk_name: str
    disk_state: str  # "Unattached" after a completed upload
    upload: UploadResult


class ManagedDiskTarget(RenewableSasTarget):
    """The disk's upload SAS as a page-blob target: the blob exists, pages are all it takes."""

    kind = "managed-disk"
    creates_blob = False
    supports_properties = False


StepCallback = Callable[[DiskUploadStep], None]


class ManagedDiskUpload:
    """One direct upload; ``await run()`` on the caller's loop, control from any thread."""

    def __init__(
        self,
        compute: ComputeManagementClient,
        source: UploadSource,
        spec: ManagedDiskSpec,
        options: UploadOptions | None = None,
        *,
        on_progress: ProgressCallback | None = None,
        on_step: StepCallback | None = None,
        sas_duration: timedelta | None = None,
        vault: SasVault | None = None,
    ) -> None:
        self.compute = compute
        self.source = source
        self.spec = spec
        self.options = options or UploadOptions()
        self._on_progress = on_progress
        self._on_step = on_step
        self._sas_duration = sas_duration or sas_duration_for(source.upload_size)
        self._cancelled = False
        self._paused = False
        self._suspended = False
        self.vault = vault or SasVault()
        self.sas_kept = False  # the SAS is in the keyring: the upload can stop without revoking
        self.resumed_from_keyring = False
        self.upload: Upload | None = None  # the engine, once the data transfer has started
        self.step: DiskUploadStep | None = None

    # -- control, from any thread ------------------------------------------------------------

    def pause(self) -> None:
        self._paused = True
        if self.upload is not None:
            self.upload.pause()

    def resume(self) -> None:
        self._paused = False
        if self.upload is not None:
            self.upload.resume()

    def cancel(self) -> None:
        self._cancelled = True
        if self.upload is not None:
            self.upload.cancel()

    def suspend(self) -> None:
        """Stop without revoking access when the SAS is kept in the keyring (so the next start
        resumes); without a keyring this is :meth:`cancel`, since a disk left in ActiveUpload
        without its SAS could not be written again."""
        self._suspended = True
        self.cancel()

    # -- the flow ----------------------------------------------------------------------------

    async def run(self) -> DiskUploadResult:
        spec = self.spec
        disk = await self._ensure_disk()
        self._check_cancelled()
        disk_id = str(disk.id)
        kept = None
        if _text(disk.disk_state) == "ActiveUpload":
            # Stopped earlier without revoking: only the SAS granted then can write to it.
            kept = await asyncio.to_thread(self.vault.load, disk_id)
        if kept is not None:
            sas, expires_at = kept
            self.sas_kept = self.resumed_from_keyring = True
        else:
            sas, expires_at = await self._grant_or_unstick(disk)
        loop = asyncio.get_running_loop()

        def renew() -> Awaitable[str]:
            # Called on the engine's loop; the ARM client lives on this one.
            return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._grant(), loop))

        target = ManagedDiskTarget(
            sas,
            renew,
            kind=ManagedDiskTarget.kind,
            identity=disk_id,
            display_name=Text(message(QT_TR_NOOP("managed disk {name}"), name=spec.name)),
            expires_at=expires_at,
        )
        outcome: UploadResult | None = None
        try:
            self._check_cancelled()
            self._set_step(DiskUploadStep.UPLOADING)
            self.upload = Upload(self.source, target, self.options, self._on_progress)
            if self._paused:
                self.upload.pause()
            if self._cancelled:
                self.upload.cancel()
            self.upload.start()
            waiter = asyncio.ensure_future(asyncio.to_thread(self.upload.wait))
            try:
                await asyncio.shield(waiter)
            except asyncio.CancelledError:
                self.upload.cancel()
                await waiter
                raise
            outcome = self.upload.result()
        except UploadCancelledError as exc:
            if self._suspended and self.sas_kept:
                # Left in ActiveUpload on purpose: the journal and the keyring resume it.
                raise UploadSuspendedError(
                    message(
                        QT_TR_NOOP("The upload to managed disk {name} is paused; it resumes "
                                   "where it stopped at the next start (its write access is kept "
                                   "in the keyring)."),
                        name=spec.name)
                ) from exc
            raise
        finally:
            if not (self._suspended and self.sas_kept and outcome is None):
                self._set_step(DiskUploadStep.REVOKING)
                await self._revoke(after_success=outcome is not None)
                await asyncio.to_thread(self.vault.forget, disk_id)
        final = await self._get_disk()
        self._set_step(DiskUploadStep.DONE)
        assert final is not None
        return DiskUploadResult(
            disk_id=str(final.id),
            disk_name=spec.name,
            disk_state=_text(final.disk_state),
            upload=outcome,
        )

    async def _grant_or_unstick(self, disk: Disk) -> tuple[str, datetime]:
        """A new grant, kept in the keyring; a disk left open without a usable SAS is revoked
        (so it is not stuck in ActiveUpload) and refused with the reason."""
        spec = self.spec
        self._set_step(DiskUploadStep.GRANTING)
        granted_at = datetime.now(UTC)
        try:
            sas = await self._grant()
        except AzureServiceError as exc:
            if _text(disk.disk_state) != "ActiveUpload":
                raise
            # Left open by an upload that died before revoking, and its SAS is not in the
            # keyring: Azure grants write access only once. Revoke, so it is not left stuck.
            self._set_step(DiskUploadStep.REVOKING)
            await self._revoke(after_success=False)
            where = (
                Text(QT_TR_NOOP("its write access was not in the keyring"))
                if self.vault.available
                else Text(QT_TR_NOOP("this system has no keyring to keep its write access in"))
            )
            raise DiskStuckError(
                message(
                    QT_TR_NOOP("The disk {name} was still open for an upload that was "
                               "interrupted, and {where} ({message}). Access is now revoked so "
                               "the disk is not stuck in ActiveUpload; delete it and upload "
                               "again, or choose another name."),
                    name=spec.name, where=where, message=exc.message)
            ) from exc
        expires_at = granted_at + self._sas_duration
        self.sas_kept = await asyncio.to_thread(self.vault.store, str(disk.id), sas, expires_at)
        return sas, expires_at

    def _check_cancelled(self) -> None:
        if self._cancelled:
            raise UploadCancelledError(
                message(
                    QT_TR_NOOP("The upload to managed disk {name} was cancelled before data was "
                               "sent. Start it again to continue."),
                    name=self.spec.name)
            )

    def _set_step(self, step: DiskUploadStep) -> None:
        self.step = step
        if self._on_step is not None:
            try:
                self._on_step(step)
            except Exception:  # a broken view must not break the upload
                log.exception("step callback failed")

    async def _get_disk(self) -> Disk | None:
        try:
            return await self.compute.disks.get(self.spec.resource_group, self.spec.name)
        except ResourceNotFoundError:
            return None
        except HttpResponseError as exc:
            raise translate(exc) from exc

    async def _ensure_disk(self) -> Disk:
        """Create the disk for upload, or take up one that still waits for this upload."""
        from azure.mgmt.compute.models import CreationData, Disk, DiskProperties, DiskSku

        spec, size = self.spec, self.source.upload_size
        existing = await self._get_disk()
        if existing is not None:
            state = _text(existing.disk_state)
            if state not in UPLOAD_STATES:
                raise DiskExistsError(
                    message(
                        QT_TR_NOOP("A disk named {name} already exists in {resource_group} "
                                   "({state}): choose another name, or delete that disk first."),
                        name=spec.name, resource_group=spec.resource_group, state=state)
                )
            declared = existing.creation_data.upload_size_bytes if existing.creation_data else None
            if declared != size:
                raise TargetSizeMismatchError(
                    message(
                        QT_TR_NOOP("The disk {name} waits for an upload of {declared} bytes, but "
                                   "this image needs {size}: delete the disk or choose another "
                                   "name."),
                        name=spec.name, declared=declared, size=size)
                )
            return existing
        self._set_step(DiskUploadStep.CREATING)
        disk = Disk(
            location=spec.location,
            sku=DiskSku(name=spec.sku),
            tags=spec.tags,
            properties=DiskProperties(
                os_type=spec.os_type,
                hyper_v_generation=spec.hyper_v_generation,
                creation_data=CreationData(create_option="Upload", upload_size_bytes=size),
            ),
        )
        try:
            poller = await self.compute.disks.begin_create_or_update(
                spec.resource_group, spec.name, disk
            )
            created: Disk = await poller.result()
        except HttpResponseError as exc:
            raise translate(exc) from exc
        return created

    async def _grant(self) -> str:
        from azure.mgmt.compute.models import GrantAccessData

        data = GrantAccessData(
            access="Write", duration_in_seconds=int(self._sas_duration.total_seconds())
        )
        try:
            poller = await self.compute.disks.begin_grant_access(
                self.spec.resource_group, self.spec.name, data
            )
            access: Any = await poller.result()
        except HttpResponseError as exc:
            raise translate(exc) from exc
        sas = getattr(access, "access_sas", None)
        if not sas:
            raise AzureServiceError(
                message(
                    QT_TR_NOOP("Azure granted access to disk {name} but returned no SAS URL."),
                    name=self.spec.name)
            )
        return str(sas)

    async def _revoke(self, *, after_success: bool) -> None:
        """Revoke in every outcome; shielded so a cancelled caller still revokes."""

        async def revoke() -> None:
            poller = await self.compute.disks.begin_revoke_access(
                self.spec.resource_group, self.spec.name
            )
            await poller.result()

        try:
            await asyncio.shield(revoke())
        except HttpResponseError as exc:
            error = translate(exc)
            if after_success:
                raise AzureServiceError(
                    message(
                        QT_TR_NOOP("The data of disk {name} is uploaded, but revoking write "
                                   "access failed ({message}). Revoke it (az disk revoke-access) "
                                   "before using the disk."),
                        name=self.spec.name, message=error.message)
                ) from exc
            log.warning("revoking access to %s failed: %s", self.spec.name, error.message)


def _text(value: object) -> str:
    """An SDK enum (or plain string) as the text Azure sends."""
    return str(getattr(value, "value", value))

"""A snapshot, or a managed image, into another region.

What Azure supports (the DiskRP spec's ``CopyStart``: "a deep copy process, where the resource
creation is considered complete only after all data has been copied from the source"): an
incremental snapshot copied into an incremental snapshot, in any region. The copy runs in the
background after the PUT returns; the new snapshot's ``completionPercent`` says how far it is,
and it cannot be used before it reaches 100.

* A snapshot: it must be incremental (CopyStart's rule); a full snapshot is refused before any
  change, with what to do.
* A managed image has no snapshot of its own to copy. For each of its disks: an incremental
  snapshot of the managed disk it was made from (in the source region), copied with CopyStart;
  a disk given as an incremental snapshot is copied as it is. Then a managed image in the
  target region is made from the copies, and the intermediate snapshots are deleted (the image
  keeps its own copy of the data). An image made from a VHD blob, from a full snapshot or from a
  disk that no longer exists cannot be copied this way: the check says so and names the way
  that works (copy the blob, or make the image anew in the target region).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from gui.azure.account.session import AzureSession
from gui.azure.arm import enum_text, name_of, resource_group_of, subscription_of
from gui.azure.copy.job import RESTART, CopyFailedError, CopyJob, CopyRefusedError, finished
from gui.azure.errors import translated
from gui.azure.steps import Progress, StepAction, StepSpec
from gui.i18n import QT_TR_NOOP, Message, Text

_SNAPSHOTS = "/providers/Microsoft.Compute/snapshots/"
_IMAGES = "/providers/Microsoft.Compute/images/"


def _key(region: str) -> str:
    return region.lower().replace(" ", "")


def source_kind(resource_id: str) -> str:
    """'snapshot' or 'image' for a resource ID this copy takes ('' for any other)."""
    lowered = resource_id.lower()
    if _SNAPSHOTS.lower() in lowered:
        return "snapshot"
    if _IMAGES.lower() in lowered:
        return "image"
    return ""


@dataclass(frozen=True)
class RegionCopyPlan:
    source_id: str  # a snapshot or a managed image
    region: str  # the target region's short name (westeurope)
    resource_group: str = ""  # the target's group; the source's when empty
    name: str = ""  # the new snapshot or image; "<source>-<region>" when empty

    @property
    def target_group(self) -> str:
        return self.resource_group or resource_group_of(self.source_id)

    @property
    def target_name(self) -> str:
        return self.name or f"{name_of(self.source_id)}-{_key(self.region)}"[:80]


@dataclass
class _Disk:
    """One disk of the copy: its role ("os", "lun0"), where its data comes from, and the
    snapshots made for it."""

    role: str
    disk_id: str = ""  # a managed disk to snapshot first
    snapshot_id: str = ""  # an incremental snapshot to copy (given, or made from the disk)
    copy_id: str = ""  # the CopyStart snapshot in the target region
    made: list[str] = field(default_factory=list)  # intermediate snapshots to delete
    lun: int | None = None
    caching: str = ""


class RegionCopy(CopyJob):
    """Copies ``plan.source_id`` (a snapshot or managed image in ``subscription_id``) into
    ``plan.region``."""

    def __init__(
        self,
        session: AzureSession,
        plan: RegionCopyPlan,
        *,
        poll_seconds: float | None = None,
    ) -> None:
        super().__init__(
            poll_seconds if poll_seconds is not None else (0.2 if session.is_sandbox else 15.0)
        )
        self.session = session
        self.plan = plan
        self.subscription_id = subscription_of(plan.source_id)
        self.kind = source_kind(plan.source_id)
        self._disks: list[_Disk] = []
        self._image: Any = None
        self.steps = [
            StepSpec(
                "check",
                Text(Message(QT_TR_NOOP("Check {source} and the target in {region}"),
                             {"source": name_of(plan.source_id), "region": plan.region})),
            )
        ]

    @property
    def _compute(self) -> Any:
        return self.session.compute(self.subscription_id)

    def made(self) -> str:
        kind = "snapshots" if self.kind == "snapshot" else "images"
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.plan.target_group}"
            f"/providers/Microsoft.Compute/{kind}/{self.plan.target_name}"
        )

    def action(self, step: StepSpec) -> StepAction:
        kind, _, role = step.key.partition(":")
        if kind == "check":
            return self._check
        disk = next((d for d in self._disks if d.role == role), None)
        if kind == "snapshot" and disk is not None:
            return lambda progress: self._snapshot(disk)
        if kind == "copy" and disk is not None:
            return lambda progress: self._copy(disk, progress)
        if kind == "create-image":
            return lambda progress: self._create_image()
        return lambda progress: self._cleanup()

    # --- check ------------------------------------------------------------------------

    async def _check(self, progress: Progress) -> str:
        plan = self.plan
        if self.kind not in ("snapshot", "image"):
            raise CopyRefusedError(Text(Message(
                QT_TR_NOOP("{source} is neither a snapshot nor a managed image."),
                {"source": plan.source_id})))
        group, name = resource_group_of(plan.source_id), name_of(plan.source_id)
        with translated():
            if self.kind == "snapshot":
                source = await self._compute.snapshots.get(group, name)
            else:
                source = await self._compute.images.get(group, name)
            await self.session.resources(self.subscription_id).resource_groups.get(
                plan.target_group
            )
        if _key(str(source.location or "")) == _key(plan.region):
            raise CopyRefusedError(Text(Message(
                QT_TR_NOOP("{source} is already in {region}. Choose another region."),
                {"source": name, "region": plan.region})))
        await self._target_free()
        if self.kind == "snapshot":
            self._check_snapshot(source)
        else:
            self._image = source
            await self._check_image(source)
        for disk in self._disks:
            if disk.disk_id:
                self.steps.append(StepSpec(
                    f"snapshot:{disk.role}",
                    Text(Message(QT_TR_NOOP("Incremental snapshot of the {role} disk"),
                                 {"role": disk.role})),
                    Text(Message(QT_TR_NOOP("Create incremental snapshot {snapshot} of {disk} "
                                            "(deleted at the end)"),
                                 {"snapshot": self._temp_name(disk, "src"),
                                  "disk": name_of(disk.disk_id)})),
                    RESTART,
                ))
            self.steps.append(StepSpec(
                f"copy:{disk.role}",
                Text(Message(QT_TR_NOOP("Copy the {role} disk to {region}"),
                             {"role": disk.role, "region": plan.region})),
                Text(Message(QT_TR_NOOP("Create snapshot {snapshot} in {region} with CopyStart "
                                        "(Azure copies the data)"),
                             {"snapshot": self._copy_name(disk), "region": plan.region})),
                Text(QT_TR_NOOP("Delete the incomplete copy in the target region, then start "
                                "the copy again.")),
            ))
        if self.kind == "image":
            self.steps.append(StepSpec(
                "create-image",
                Text(Message(QT_TR_NOOP("Create managed image {name} in {region}"),
                             {"name": plan.target_name, "region": plan.region})),
                Text(Message(QT_TR_NOOP("Create managed image {name} in {resource_group} "
                                        "({region}) from the copied snapshots"),
                             {"name": plan.target_name, "resource_group": plan.target_group,
                              "region": plan.region})),
                Text(QT_TR_NOOP("The copied snapshots are kept; make the image from them "
                                "yourself, or delete them and start again.")),
            ))
            self.steps.append(StepSpec(
                "cleanup",
                Text(QT_TR_NOOP("Delete the intermediate snapshots")),
                Text(QT_TR_NOOP("Delete the snapshots made for the copy (the image keeps its "
                                "own copy of the data)")),
                Text(QT_TR_NOOP("The image is ready. Delete the snapshots named in the "
                                "message yourself.")),
            ))
        return Text(Message(QT_TR_NOOP("{source} can be copied to {region}."),
                            {"source": name, "region": plan.region}))

    async def _target_free(self) -> None:
        plan = self.plan
        get = self._compute.snapshots.get if self.kind == "snapshot" else self._compute.images.get
        with translated():
            try:
                await get(plan.target_group, plan.target_name)
            except ResourceNotFoundError:
                return
        raise CopyRefusedError(Text(Message(
            QT_TR_NOOP("{name} already exists in resource group {resource_group}. Choose "
                       "another name."),
            {"name": plan.target_name, "resource_group": plan.target_group})))

    def _check_snapshot(self, snapshot: Any) -> None:
        if not snapshot.incremental:
            raise CopyRefusedError(Text(Message(
                QT_TR_NOOP("{name} is a full snapshot; Azure copies only incremental snapshots "
                           "to another region (CopyStart). Make an incremental snapshot of its "
                           "disk and copy that one."),
                {"name": snapshot.name})))
        percent = snapshot.completion_percent
        if percent is not None and percent < 100:
            raise CopyRefusedError(Text(Message(
                QT_TR_NOOP("{name} is itself still being copied ({percent} %). Wait until it "
                           "is complete."),
                {"name": snapshot.name, "percent": percent})))
        self._disks = [_Disk(role="os", snapshot_id=str(snapshot.id))]

    async def _check_image(self, image: Any) -> None:
        profile = image.storage_profile
        entries: list[tuple[str, Any, int | None]] = [("os", profile.os_disk, None)]
        entries += [(f"lun{d.lun}", d, d.lun) for d in profile.data_disks or []]
        for role, entry, lun in entries:
            disk = _Disk(role=role, lun=lun, caching=enum_text(entry.caching))
            managed = entry.managed_disk.id if entry.managed_disk else None
            snapshot = entry.snapshot.id if entry.snapshot else None
            if managed:
                with translated():
                    try:
                        await self._compute.disks.get(
                            resource_group_of(managed), name_of(managed)
                        )
                    except ResourceNotFoundError as exc:
                        raise CopyRefusedError(Text(Message(
                            QT_TR_NOOP("The {role} disk of {image} was made from the managed "
                                       "disk {disk}, which no longer exists; Azure cannot copy "
                                       "an image's own data to another region. Create the "
                                       "image anew in the target region, or make a gallery "
                                       "image version from it and replicate that."),
                            {"role": role, "image": image.name, "disk": managed}))) from exc
                disk.disk_id = str(managed)
            elif snapshot:
                with translated():
                    found = await self._compute.snapshots.get(
                        resource_group_of(snapshot), name_of(snapshot)
                    )
                if not found.incremental:
                    raise CopyRefusedError(Text(Message(
                        QT_TR_NOOP("The {role} disk of {image} is the full snapshot {snapshot}; "
                                   "Azure copies only incremental snapshots to another region. "
                                   "Make a disk from it and an incremental snapshot of that "
                                   "disk, then an image from that."),
                        {"role": role, "image": image.name, "snapshot": found.name})))
                disk.snapshot_id = str(found.id)
            else:
                raise CopyRefusedError(Text(Message(
                    QT_TR_NOOP("The {role} disk of {image} is a VHD blob; Azure's snapshot copy "
                               "takes managed snapshots only. Copy the blob to a storage "
                               "account in the target region (copy BLOB_URL --to "
                               "CONTAINER_URL) and make the image there from the copy."),
                    {"role": role, "image": image.name})))
            self._disks.append(disk)

    # --- snapshots and copies --------------------------------------------------------------

    def _temp_name(self, disk: _Disk, suffix: str) -> str:
        return f"{self.plan.target_name}-{disk.role}-{suffix}"[:80]

    def _copy_name(self, disk: _Disk) -> str:
        if self.kind == "snapshot":
            return self.plan.target_name
        return self._temp_name(disk, "copy")

    async def _snapshot(self, disk: _Disk) -> str:
        source_group = resource_group_of(self.plan.source_id)
        name = self._temp_name(disk, "src")
        body = {
            "location": self._image.location,
            "sku": {"name": "Standard_LRS"},
            "tags": {"copiedFor": self.plan.target_name},
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": disk.disk_id},
                "incremental": True,
            },
        }
        with translated():
            made = await finished(
                self._compute.snapshots.begin_create_or_update, source_group, name, body
            )
        disk.snapshot_id = str(made.id)
        disk.made.append(disk.snapshot_id)
        return Text(Message(QT_TR_NOOP("Snapshot {name} made."), {"name": name}))

    async def _copy(self, disk: _Disk, progress: Progress) -> str:
        plan = self.plan
        name = self._copy_name(disk)
        body = {
            "location": plan.region,
            "sku": {"name": "Standard_LRS"},
            "tags": {"copiedFrom": disk.snapshot_id},
            "properties": {
                "creationData": {"createOption": "CopyStart", "sourceResourceId": disk.snapshot_id},
                "incremental": True,
            },
        }
        with translated():
            made = await finished(
                self._compute.snapshots.begin_create_or_update, plan.target_group, name, body
            )
        disk.copy_id = str(made.id)
        if self.kind == "image":
            disk.made.append(disk.copy_id)
        while True:
            with translated():
                snapshot = await self._compute.snapshots.get(plan.target_group, name)
            error = snapshot.copy_completion_error
            if error is not None:
                raise CopyFailedError(Text(Message(
                    QT_TR_NOOP("Azure stopped copying {name}: {code}: {reason}"),
                    {"name": name, "code": enum_text(error.error_code),
                     "reason": error.error_message or ""})))
            percent = snapshot.completion_percent
            if percent is None or percent >= 100:
                break
            progress(Text(Message(QT_TR_NOOP("{percent} % copied"), {"percent": percent})))
            await self.sleep()
        return Text(Message(QT_TR_NOOP("{name} copied to {region}."),
                            {"name": name, "region": plan.region}))

    # --- the image --------------------------------------------------------------------------

    async def _create_image(self) -> str:
        plan = self.plan
        image = self._image
        os_entry = image.storage_profile.os_disk
        os_disk = self._disks[0]
        body = {
            "location": plan.region,
            "tags": dict(image.tags or {}),
            "properties": {
                "hyperVGeneration": enum_text(image.hyper_v_generation) or "V1",
                "storageProfile": {
                    "osDisk": {
                        "osType": enum_text(os_entry.os_type),
                        "osState": enum_text(os_entry.os_state),
                        "snapshot": {"id": os_disk.copy_id},
                        "caching": os_disk.caching or "ReadWrite",
                    },
                    "dataDisks": [
                        {"lun": d.lun, "snapshot": {"id": d.copy_id},
                         "caching": d.caching or "None"}
                        for d in self._disks[1:]
                    ],
                },
            },
        }
        with translated():
            await finished(
                self._compute.images.begin_create_or_update,
                plan.target_group, plan.target_name, body,
            )
        return Text(Message(QT_TR_NOOP("Managed image {name} created in {region}."),
                            {"name": plan.target_name, "region": plan.region}))

    async def _cleanup(self) -> str:
        names: list[str] = []
        for disk in self._disks:
            for snapshot_id in disk.made:
                with translated():
                    await finished(
                        self._compute.snapshots.begin_delete,
                        resource_group_of(snapshot_id), name_of(snapshot_id),
                    )
                names.append(name_of(snapshot_id))
        return Text(Message(QT_TR_NOOP("Deleted: {names}."), {"names": ", ".join(names)}))

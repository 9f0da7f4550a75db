"""Deleting what the tree shows: managed images, gallery image versions, image definitions,
galleries, managed disks and snapshots, several at once.

``plan_deletion`` reads what Azure would refuse before anything is deleted and answers what goes,
in which order, and what stays and why: a disk attached to a VM (named), a definition that
still has versions, a gallery that still holds definitions, a disk or snapshot whose data is
being read or uploaded. Versions go before their definition and definitions before their
gallery, so selecting a gallery with everything in it deletes it all; a container is never
emptied implicitly (Azure refuses to delete a non-empty one, and so does the plan).

``DeleteRun`` runs a plan as steps of the one step model (``gui.azure.steps``): each deletion is
a long-running operation; those of one level run side by side, the next level only when all of
them succeeded (a definition whose version failed to go would only fail again).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gui.azure.arm import enum_text, name_of
from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef, SourceKind
from gui.azure.errors import AzureServiceError, NotFoundError, translated
from gui.azure.steps import Progress, StepEvent, StepSpec, pump, run_step
from gui.i18n import QT_TR_NOOP, Text, message

# Deletions of one level running at once: enough for a handful of versions, and well below
# ARM's write throttling (1,200 writes an hour per subscription and principal).
CONCURRENCY = 4

# A disk or snapshot in these states has a live SAS (an upload or a read): Azure refuses the
# delete until access is revoked (OperationNotAllowed).
_BUSY_STATES = ("ActiveUpload", "ActiveSAS", "ActiveSASFrozen")


class DeleteKind(StrEnum):
    IMAGE = "image"
    VERSION = "version"
    DEFINITION = "definition"
    GALLERY = "gallery"
    DISK = "disk"
    SNAPSHOT = "snapshot"


# Which level a kind is deleted at: what is inside a container goes before the container.
_LEVEL = {
    DeleteKind.IMAGE: 0,
    DeleteKind.VERSION: 0,
    DeleteKind.DISK: 0,
    DeleteKind.SNAPSHOT: 0,
    DeleteKind.DEFINITION: 1,
    DeleteKind.GALLERY: 2,
}

_KIND_LABELS = {
    DeleteKind.IMAGE: QT_TR_NOOP("Managed image"),
    DeleteKind.VERSION: QT_TR_NOOP("Gallery image version"),
    DeleteKind.DEFINITION: QT_TR_NOOP("Image definition"),
    DeleteKind.GALLERY: QT_TR_NOOP("Gallery"),
    DeleteKind.DISK: QT_TR_NOOP("Managed disk"),
    DeleteKind.SNAPSHOT: QT_TR_NOOP("Snapshot"),
}

_STEP_TITLES = {
    DeleteKind.IMAGE: QT_TR_NOOP("Delete managed image {path}"),
    DeleteKind.VERSION: QT_TR_NOOP("Delete gallery image version {path}"),
    DeleteKind.DEFINITION: QT_TR_NOOP("Delete image definition {path}"),
    DeleteKind.GALLERY: QT_TR_NOOP("Delete gallery {path}"),
    DeleteKind.DISK: QT_TR_NOOP("Delete disk {path}"),
    DeleteKind.SNAPSHOT: QT_TR_NOOP("Delete snapshot {path}"),
}

_DONE = {
    DeleteKind.IMAGE: QT_TR_NOOP("Managed image {path} deleted."),
    DeleteKind.VERSION: QT_TR_NOOP("Gallery image version {path} deleted."),
    DeleteKind.DEFINITION: QT_TR_NOOP("Image definition {path} deleted."),
    DeleteKind.GALLERY: QT_TR_NOOP("Gallery {path} deleted."),
    DeleteKind.DISK: QT_TR_NOOP("Disk {path} deleted."),
    DeleteKind.SNAPSHOT: QT_TR_NOOP("Snapshot {path} deleted."),
}


@dataclass(frozen=True)
class Target:
    """One thing to delete: its kind, where the tree shows it, and Azure's names for it."""

    kind: DeleteKind
    ref: NodeRef
    resource_group: str
    names: tuple[str, ...]  # (name,); a gallery's (gallery, definition, version) down to it

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def path(self) -> str:
        """The name people know it by: gallery/definition/version inside a gallery."""
        return "/".join(self.names)

    @property
    def kind_label(self) -> Text:
        return Text(_KIND_LABELS[self.kind])

    @property
    def level(self) -> int:
        return _LEVEL[self.kind]

    @property
    def parent(self) -> NodeRef:
        """The node that lists it (refreshed once it is gone)."""
        if self.ref.source is SourceKind.MANAGED:
            return NodeRef(SourceKind.MANAGED, (self.resource_group,))
        if self.kind is DeleteKind.GALLERY:
            return NodeRef(self.ref.source)  # the source lists galleries of every group
        return NodeRef(self.ref.source, self.ref.parts[:-1])

    @property
    def step(self) -> StepSpec:
        return StepSpec(
            f"delete:{self.ref.key}",
            Text(message(_STEP_TITLES[self.kind], path=self.path)),
            change=Text(
                message(
                    QT_TR_NOOP("Deletes {what} {path} in resource group {group}."),
                    what=self.kind_label,
                    path=self.path,
                    group=self.resource_group,
                )
            ),
        )


def target_of(node: CatalogNode) -> Target | None:
    """What deleting ``node`` would delete; None for what cannot be deleted from here (the
    Marketplace, community and shared galleries belong to others; a VM is not an image)."""
    ref, parts = node.ref, node.ref.parts
    if ref.source is SourceKind.MANAGED:
        if ref.disk_kind is NodeKind.DISK:
            return Target(DeleteKind.DISK, ref, parts[0], (parts[2],))
        if ref.disk_kind is NodeKind.SNAPSHOT:
            return Target(DeleteKind.SNAPSHOT, ref, parts[0], (parts[2],))
        if len(parts) == 2 and node.kind is NodeKind.IMAGE:
            return Target(DeleteKind.IMAGE, ref, parts[0], (parts[1],))
        return None
    if ref.source is SourceKind.GALLERY:
        kind = {2: DeleteKind.GALLERY, 3: DeleteKind.DEFINITION, 4: DeleteKind.VERSION}.get(
            len(parts)
        )
        return Target(kind, ref, parts[0], parts[1:]) if kind is not None else None
    return None


@dataclass(frozen=True)
class Blocked:
    """Something selected that will not be deleted, and why (what to do first)."""

    target: Target
    reason: Text


@dataclass(frozen=True)
class DeletePlan:
    deletions: tuple[Target, ...]  # in the order they are deleted
    blocked: tuple[Blocked, ...] = ()

    @property
    def levels(self) -> list[list[Target]]:
        """The deletions by level: each level only after the one before it."""
        found: dict[int, list[Target]] = {}
        for target in self.deletions:
            found.setdefault(target.level, []).append(target)
        return [found[level] for level in sorted(found)]

    @property
    def steps(self) -> tuple[StepSpec, ...]:
        return tuple(target.step for target in self.deletions)

    def affected_parents(self, deleted: Iterable[Target]) -> list[NodeRef]:
        """The nodes to list again after ``deleted`` went (not those deleted themselves), the
        shallowest first; the managed source too, whose groups count their disks and images."""
        gone = {target.ref for target in deleted}
        parents: dict[NodeRef, None] = {}
        for target in self.deletions:
            if target.ref not in gone:
                continue
            if target.ref.source is SourceKind.MANAGED:
                parents[NodeRef(SourceKind.MANAGED)] = None
            parents[target.parent] = None
        return sorted((ref for ref in parents if ref not in gone), key=lambda ref: len(ref.parts))


def _reason(template: str, /, **args: object) -> Text:
    return Text(message(template, **args))


def _names(items: Iterable[str]) -> str:
    # Azure's names, as a list (not a sentence: the names stay as Azure wrote them).
    return ", ".join(sorted(items))


async def plan_deletion(compute: Any, targets: Iterable[Target]) -> DeletePlan:
    """Reads from Azure what would refuse each deletion and orders the rest.

    ``compute`` is the subscription's ComputeManagementClient (aio). Raises only
    :mod:`gui.azure.errors` types (a read that failed for a reason of its own)."""
    unique = list({target.ref: target for target in targets}.values())
    blocked: dict[NodeRef, Text] = {}
    with translated():
        for target in unique:
            if target.kind is DeleteKind.DISK:
                reason = await _disk_refusal(compute, target)
                if reason is not None:
                    blocked[target.ref] = reason
        await _snapshot_refusals(compute, unique, blocked)
        chosen = {target.ref for target in unique}
        for target in unique:
            if target.kind is DeleteKind.DEFINITION:
                group, (gallery, definition) = target.resource_group, target.names
                pager = compute.gallery_image_versions.list_by_gallery_image(
                    group, gallery, definition
                )
                staying = [
                    str(item.name)
                    async for item in pager
                    if target.ref.child(str(item.name)) not in chosen
                ]
                if staying:
                    blocked[target.ref] = _reason(
                        QT_TR_NOOP(
                            "Image definition {path} still has versions that are not selected: "
                            "{names}. Azure deletes only an empty definition: select those "
                            "versions too, or delete them first."
                        ),
                        path=target.path,
                        names=_names(staying),
                    )
        for target in unique:
            if target.kind is DeleteKind.GALLERY:
                (gallery,) = target.names
                pager = compute.gallery_images.list_by_gallery(target.resource_group, gallery)
                staying = []
                async for item in pager:
                    child = target.ref.child(str(item.name))
                    if child not in chosen or child in blocked:
                        staying.append(str(item.name))
                if staying:
                    blocked[target.ref] = _reason(
                        QT_TR_NOOP(
                            "Gallery {path} still holds image definitions that stay: {names}. "
                            "Azure deletes only an empty gallery: select those definitions "
                            "with all their versions too, or delete them first."
                        ),
                        path=target.path,
                        names=_names(staying),
                    )
    going = [target for target in unique if target.ref not in blocked]
    going.sort(key=lambda target: target.level)  # stable: the selection's order within a level
    return DeletePlan(
        tuple(going),
        tuple(Blocked(target, blocked[target.ref]) for target in unique if target.ref in blocked),
    )


async def _disk_refusal(compute: Any, target: Target) -> Text | None:
    try:
        with translated():
            disk = await compute.disks.get(target.resource_group, target.name)
    except NotFoundError:
        return _reason(
            QT_TR_NOOP("Disk {path} no longer exists. Refresh the tree (F5)."), path=target.path
        )
    if disk.managed_by:
        return _reason(
            QT_TR_NOOP(
                "Disk {path} is attached to VM {vm}. Detach it from the VM (or delete the VM) "
                "first."
            ),
            path=target.path,
            vm=name_of(str(disk.managed_by)),
        )
    state = enum_text(disk.disk_state)
    if state in _BUSY_STATES:
        return _reason(
            QT_TR_NOOP(
                "Disk {path} is in use: {state} (an upload or a download has access to it). "
                "Finish or cancel that first."
            ),
            path=target.path,
            state=state,
        )
    return None


async def _snapshot_refusals(
    compute: Any, targets: list[Target], blocked: dict[NodeRef, Text]
) -> None:
    """Snapshots being read, or gone, read once per resource group."""
    by_group: dict[str, list[Target]] = {}
    for target in targets:
        if target.kind is DeleteKind.SNAPSHOT:
            by_group.setdefault(target.resource_group, []).append(target)
    for group, wanted in by_group.items():
        states = {
            str(item.name).casefold(): enum_text(item.disk_state)
            async for item in compute.snapshots.list_by_resource_group(group)
        }
        for target in wanted:
            state = states.get(target.name.casefold())
            if state is None:
                blocked[target.ref] = _reason(
                    QT_TR_NOOP("Snapshot {path} no longer exists. Refresh the tree (F5)."),
                    path=target.path,
                )
            elif state in _BUSY_STATES:
                blocked[target.ref] = _reason(
                    QT_TR_NOOP(
                        "Snapshot {path} is being read: {state} (a download has access to "
                        "it). Finish or cancel that first."
                    ),
                    path=target.path,
                    state=state,
                )


@dataclass
class DeleteRun:
    """Runs a plan once: ``events()`` yields the steps' events; afterwards ``deleted`` and
    ``failed`` say what happened (a failed step's event carries Azure's message and advice)."""

    compute: Any
    plan: DeletePlan
    deleted: list[Target] = field(default_factory=list)
    failed: list[tuple[Target, AzureServiceError]] = field(default_factory=list)

    async def events(self) -> AsyncIterator[StepEvent]:
        async for event in pump(self._work):
            yield event

    async def _work(self, emit: Callable[[StepEvent], None]) -> None:
        slots = asyncio.Semaphore(CONCURRENCY)

        async def one(target: Target) -> None:
            async with slots:
                try:
                    async for event in run_step(
                        target.step, lambda progress: self._delete(target, progress)
                    ):
                        emit(event)
                except AzureServiceError as error:
                    self.failed.append((target, error))
                    return
            self.deleted.append(target)

        for level in self.plan.levels:
            if self.failed:
                return  # what is above a failed deletion would be refused: not run
            await asyncio.gather(*(one(target) for target in level))

    async def _delete(self, target: Target, progress: Progress) -> str:
        progress(Text(QT_TR_NOOP("Azure is deleting it…")))
        poller = await self._begin(target)
        await poller.result()
        return Text(message(_DONE[target.kind], path=target.path))

    async def _begin(self, target: Target) -> Any:
        compute, group, names = self.compute, target.resource_group, target.names
        if target.kind is DeleteKind.IMAGE:
            return await compute.images.begin_delete(group, *names)
        if target.kind is DeleteKind.VERSION:
            return await compute.gallery_image_versions.begin_delete(group, *names)
        if target.kind is DeleteKind.DEFINITION:
            return await compute.gallery_images.begin_delete(group, *names)
        if target.kind is DeleteKind.GALLERY:
            return await compute.galleries.begin_delete(group, *names)
        if target.kind is DeleteKind.DISK:
            return await compute.disks.begin_delete(group, *names)
        return await compute.snapshots.begin_delete(group, *names)

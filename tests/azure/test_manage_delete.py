"""Deleting from the tree (issue 12) against the sandbox over HTTP: every kind of deletion, the
refusals the plan reads before anything goes (an attached disk naming its VM, a definition with
versions, a gallery with definitions), the order (versions, then definitions, then galleries),
and Azure's own refusal explained when a plan is run anyway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from azure.core.exceptions import ResourceNotFoundError

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef, SourceKind, disk_ref
from gui.azure.errors import ConflictError, InvalidRequestError
from gui.azure.manage.delete import (
    DeleteKind,
    DeletePlan,
    DeleteRun,
    Target,
    plan_deletion,
    target_of,
)
from gui.azure.steps import StepEvent, StepState
from gui.i18n import english
from gui.sandbox.seed import DEVTEST_SUBSCRIPTION_ID, PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import (
    CAPTURE_BACKUP_SNAPSHOT,
    KEPT_UPLOAD_DISK,
    RG_LEFT_BEHIND,
    RG_VMS,
    UNATTACHED_DISK,
    VM_WINDOWS,
)
from gui.sandbox.seed.world import (
    GALLERY_DEVTEST,
    GALLERY_IMAGE_SECURE,
    GALLERY_PROD,
    IMAGE_FROM_BLOB,
    RG_DEVTEST,
    RG_GALLERY,
    RG_IMAGES,
)

pytestmark = pytest.mark.asyncio

PROD, DEV = PRODUCTION_SUBSCRIPTION_ID, DEVTEST_SUBSCRIPTION_ID


@pytest_asyncio.fixture
async def session(fresh_sandbox: Any) -> AsyncIterator[AzureSession]:
    fresh_sandbox.lro_seconds = 0.05
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        yield session
    finally:
        await session.close()


def _node(ref: NodeRef, kind: NodeKind) -> CatalogNode:
    return CatalogNode(ref, kind, ref.parts[-1], is_image=kind not in _CONTAINERS)


_CONTAINERS = (NodeKind.GALLERY, NodeKind.DEFINITION)


def _target(ref: NodeRef, kind: NodeKind) -> Target:
    target = target_of(_node(ref, kind))
    assert target is not None
    return target


def _gallery(group: str, *names: str) -> NodeRef:
    return NodeRef(SourceKind.GALLERY, (group, *names))


async def _run(run: DeleteRun) -> list[StepEvent]:
    return [event async for event in run.events()]


def _ended(events: list[StepEvent]) -> dict[str, StepEvent]:
    return {event.key: event for event in events if event.state.ended}


async def test_images_disks_and_snapshots_go_and_an_attached_disk_names_its_vm(
    session: AzureSession,
) -> None:
    compute = session.compute(PROD)
    attached = disk_ref(RG_VMS, f"{VM_WINDOWS}-data-1")
    targets = [
        _target(NodeRef(SourceKind.MANAGED, (RG_IMAGES, IMAGE_FROM_BLOB)), NodeKind.IMAGE),
        _target(disk_ref(RG_LEFT_BEHIND, UNATTACHED_DISK), NodeKind.DISK),
        _target(attached, NodeKind.DISK),
        _target(disk_ref(RG_LEFT_BEHIND, KEPT_UPLOAD_DISK), NodeKind.DISK),
        _target(
            disk_ref(RG_LEFT_BEHIND, CAPTURE_BACKUP_SNAPSHOT, NodeKind.SNAPSHOT),
            NodeKind.SNAPSHOT,
        ),
    ]
    plan = await plan_deletion(compute, targets)
    assert [t.kind for t in plan.deletions] == [
        DeleteKind.IMAGE,
        DeleteKind.DISK,
        DeleteKind.DISK,
        DeleteKind.SNAPSHOT,
    ]
    (blocked,) = plan.blocked
    assert blocked.target.ref == attached
    assert english(blocked.reason) == (
        f"Disk {VM_WINDOWS}-data-1 is attached to VM {VM_WINDOWS}. Detach it from the VM (or "
        "delete the VM) first."
    )

    run = DeleteRun(compute, plan)
    events = await _run(run)
    assert [e.state for e in _ended(events).values()] == [StepState.DONE] * 4
    assert not run.failed and len(run.deleted) == 4
    # gone from Azure's listings; the attached disk is still there
    disks = {str(d.name) async for d in compute.disks.list()}
    assert UNATTACHED_DISK not in disks and KEPT_UPLOAD_DISK not in disks
    assert f"{VM_WINDOWS}-data-1" in disks
    snapshots = {str(s.name) async for s in compute.snapshots.list()}
    assert CAPTURE_BACKUP_SNAPSHOT not in snapshots
    with pytest.raises(ResourceNotFoundError):
        await compute.images.get(RG_IMAGES, IMAGE_FROM_BLOB)
    # what the tree lists again: the group, and the source whose groups count them
    assert plan.affected_parents(run.deleted) == [
        NodeRef(SourceKind.MANAGED),
        NodeRef(SourceKind.MANAGED, (RG_IMAGES,)),
    ]


async def test_an_attached_disk_deleted_anyway_fails_with_azures_reason(
    session: AzureSession,
) -> None:
    compute = session.compute(PROD)
    target = _target(disk_ref(RG_VMS, f"{VM_WINDOWS}-data-0"), NodeKind.DISK)
    run = DeleteRun(compute, DeletePlan((target,)))  # past the plan's own check
    events = await _run(run)
    failed = _ended(events)[target.step.key]
    assert failed.state is StepState.FAILED
    assert "OperationNotAllowed" in failed.message and VM_WINDOWS in failed.message
    assert failed.advice  # what to do, from the one error model
    ((_, error),) = run.failed
    assert isinstance(error, ConflictError | InvalidRequestError)
    assert not run.deleted


async def test_a_definition_with_versions_left_and_its_gallery_are_refused(
    session: AzureSession,
) -> None:
    compute = session.compute(PROD)
    definition = _gallery(RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SECURE)
    versions = [
        str(v.name)
        async for v in compute.gallery_image_versions.list_by_gallery_image(
            RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SECURE
        )
    ]
    assert len(versions) >= 2
    chosen, staying = versions[:1], sorted(versions[1:])
    targets = [
        _target(_gallery(RG_GALLERY, GALLERY_PROD), NodeKind.GALLERY),
        _target(definition, NodeKind.DEFINITION),
        *(_target(definition.child(v), NodeKind.VERSION) for v in chosen),
    ]
    plan = await plan_deletion(compute, targets)
    assert [t.path for t in plan.deletions] == [
        f"{GALLERY_PROD}/{GALLERY_IMAGE_SECURE}/{chosen[0]}"
    ]
    reasons = {b.target.kind: english(b.reason) for b in plan.blocked}
    assert reasons[DeleteKind.DEFINITION].startswith(
        f"Image definition {GALLERY_PROD}/{GALLERY_IMAGE_SECURE} still has versions that are not "
        f"selected: {', '.join(staying)}."
    )
    gallery_reason = reasons[DeleteKind.GALLERY]
    assert gallery_reason.startswith(f"Gallery {GALLERY_PROD} still holds image definitions")
    assert GALLERY_IMAGE_SECURE in gallery_reason  # blocked itself, so it stays

    # run anyway, Azure refuses the definition with its versions in it: explained
    forced = DeleteRun(compute, DeletePlan((_target(definition, NodeKind.DEFINITION),)))
    events = await _run(forced)
    failed = next(iter(_ended(events).values()))
    assert failed.state is StepState.FAILED
    assert "nested resources" in failed.message
    assert isinstance(forced.failed[0][1], ConflictError)


async def test_a_whole_gallery_goes_versions_first_then_definitions_then_the_gallery(
    session: AzureSession,
) -> None:
    compute = session.compute(DEV)
    gallery = _gallery(RG_DEVTEST, GALLERY_DEVTEST)
    targets = [_target(gallery, NodeKind.GALLERY)]  # selected first, deleted last
    async for definition in compute.gallery_images.list_by_gallery(RG_DEVTEST, GALLERY_DEVTEST):
        ref = gallery.child(str(definition.name))
        targets.append(_target(ref, NodeKind.DEFINITION))
        async for version in compute.gallery_image_versions.list_by_gallery_image(
            RG_DEVTEST, GALLERY_DEVTEST, str(definition.name)
        ):
            targets.append(_target(ref.child(str(version.name)), NodeKind.VERSION))
    plan = await plan_deletion(compute, targets)
    assert not plan.blocked
    kinds = [t.kind for t in plan.deletions]
    assert kinds == sorted(
        kinds, key=[DeleteKind.VERSION, DeleteKind.DEFINITION, DeleteKind.GALLERY].index
    )
    assert kinds[-1] is DeleteKind.GALLERY and DeleteKind.VERSION in kinds
    run = DeleteRun(compute, plan)
    events = await _run(run)
    order = [e.key for e in events if e.state is StepState.DONE]
    assert order.index(plan.deletions[-1].step.key) == len(order) - 1
    assert not run.failed
    assert [g.name async for g in compute.galleries.list()] == []
    # the gallery went with everything in it: only the source lists it again
    assert plan.affected_parents(run.deleted) == [NodeRef(SourceKind.GALLERY)]


async def test_what_cannot_be_deleted_here_is_not_offered() -> None:
    marketplace = CatalogNode(
        NodeRef(SourceKind.MARKETPLACE, ("a", "b", "c", "1")), NodeKind.VERSION, "1", is_image=True
    )
    vm = CatalogNode(
        NodeRef(SourceKind.VMS, (RG_VMS, VM_WINDOWS)), NodeKind.VM, VM_WINDOWS, is_image=True
    )
    group = CatalogNode(
        NodeRef(SourceKind.MANAGED, (RG_IMAGES,)), NodeKind.RESOURCE_GROUP, RG_IMAGES
    )
    shared = CatalogNode(
        NodeRef(SourceKind.SHARED, ("g", "d", "1")), NodeKind.VERSION, "1", is_image=True
    )
    assert [target_of(n) for n in (marketplace, vm, group, shared)] == [None] * 4


async def test_a_deleted_vms_left_disks_can_be_deleted(session: AzureSession) -> None:
    # A VM deleted with its disks detached (deleteOption Detach, as the seed's) leaves them
    # unattached: then they go like any other disk.
    compute = session.compute(PROD)
    vm = await compute.virtual_machines.get(RG_VMS, VM_WINDOWS)
    os_disk = str(vm.storage_profile.os_disk.name)
    await (await compute.virtual_machines.begin_delete(RG_VMS, VM_WINDOWS)).result()
    targets = [
        _target(disk_ref(RG_VMS, name), NodeKind.DISK)
        for name in (os_disk, f"{VM_WINDOWS}-data-0", f"{VM_WINDOWS}-data-1")
    ]
    plan = await plan_deletion(compute, targets)
    assert not plan.blocked and len(plan.deletions) == 3
    run = DeleteRun(compute, plan)
    events = await _run(run)
    assert [e.state for e in _ended(events).values()] == [StepState.DONE] * 3, [
        e.message for e in events
    ]
    left = {str(d.name) async for d in compute.disks.list_by_resource_group(RG_VMS)}
    assert not left & {t.name for t in targets}

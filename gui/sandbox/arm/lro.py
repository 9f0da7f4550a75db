"""Long-running operations as ARM runs them: ``Azure-AsyncOperation`` and ``Location`` headers
with absolute URLs back to the sandbox, an operation status document, and a final result.

An operation finishes after its duration; its completion (the change it makes to the world)
runs once, on the server loop, either from a timer or from the first poll that sees it due.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError
from gui.sandbox.world import public

if TYPE_CHECKING:
    from gui.sandbox.world import World

Json = dict[str, Any]
router = Router()

_OPERATION = "/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/operations/{op}"


@dataclass
class Operation:
    id: str
    subscription_id: str
    location: str
    started: float
    done_at: float
    on_done: Callable[[], Json | None] | None = None
    status: str = "InProgress"
    result: Json | None = None
    error: ArmError | None = None
    has_result: bool = False
    ended: float | None = None

    def finish_if_due(self, now: float | None = None) -> None:
        if self.status != "InProgress":
            return
        if (now if now is not None else time.time()) < self.done_at:
            return
        try:
            self.result = self.on_done() if self.on_done else None
            self.status = "Succeeded"
        except ArmError as err:
            self.error = err
            self.status = "Failed"
        self.ended = time.time()


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def start_operation(
    ctx: Ctx,
    subscription_id: str,
    location: str,
    *,
    duration: float,
    on_done: Callable[[], Json | None] | None = None,
    has_result: bool = False,
) -> tuple[Operation, dict[str, str]]:
    """Register an operation; returns it and the headers to answer the request with."""
    world = ctx.world
    now = time.time()
    op = Operation(
        id=str(uuid.uuid4()),
        subscription_id=subscription_id,
        location=location.lower().replace(" ", ""),
        started=now,
        done_at=now + max(0.0, duration),
        on_done=on_done,
        has_result=has_result,
    )
    _forget_old_operations(world, now)
    world.operations[op.id] = op
    loop = asyncio.get_running_loop()
    loop.call_later(max(0.0, duration), op.finish_if_due, op.done_at)
    return op, operation_headers(ctx, op)


def mark_provisioned(world: World, resource_id: str) -> Json | None:
    """An operation's end for a resource being created: Succeeded (and no longer replicating);
    the resource as ARM shows it, or None if it was deleted meanwhile."""
    stored = world.store.get(resource_id)
    if stored is None:
        return None
    stored["properties"]["provisioningState"] = "Succeeded"
    stored.pop("_replication", None)
    world.store.put(stored)
    return public(stored)


def accepted(
    ctx: Ctx,
    subscription_id: str,
    location: str,
    *,
    duration: float | None = None,
    on_done: Callable[[], Json | None] | None = None,
    has_result: bool = False,
) -> web.Response:
    """202 Accepted for an operation that takes ``duration`` (the world's LRO time unless given),
    with the headers to poll it."""
    seconds = ctx.world.lro_seconds if duration is None else duration
    _, headers = start_operation(
        ctx, subscription_id, location, duration=seconds, on_done=on_done, has_result=has_result
    )
    return web.Response(status=202, headers=headers)


def delete_accepted(ctx: Ctx, subscription_id: str, resource: Json | None) -> web.Response:
    """Delete ``resource`` (and what is below it) as ARM does: 202, then an operation to poll;
    a resource that is already gone (None) is 204, because ARM's DELETE is idempotent."""
    if resource is None:
        return web.Response(status=204)
    ctx.world.store.delete(resource["id"])
    return accepted(ctx, subscription_id, resource["location"])


_KEEP_FINISHED_S = 3600.0


def _forget_old_operations(world: World, now: float) -> None:
    """Drop operations finished long ago, so a long session does not accumulate them."""
    stale = [
        key
        for key, op in world.operations.items()
        if op.ended is not None and now - op.ended > _KEEP_FINISHED_S
    ]
    for key in stale:
        del world.operations[key]


def operation_headers(ctx: Ctx, op: Operation) -> dict[str, str]:
    path = (
        f"/subscriptions/{op.subscription_id}/providers/Microsoft.Compute/locations/"
        f"{op.location}/operations/{op.id}"
    )
    api = ctx.api_version or "2024-07-01"
    return {
        "Azure-AsyncOperation": ctx.url(path, **{"api-version": api}),
        "Location": ctx.url(path, **{"api-version": api, "monitor": "true"}),
        "retry-after-ms": str(int(ctx.world.lro_poll_seconds * 1000)),
    }


def status_document(op: Operation) -> Json:
    doc: Json = {"startTime": _iso(op.started), "status": op.status, "name": op.id}
    if op.ended is not None:
        doc["endTime"] = _iso(op.ended)
    if op.status == "Succeeded" and op.result is not None:
        doc["properties"] = {"output": op.result}
    if op.error is not None:
        doc["error"] = op.error.body()["error"]
    return doc


def find_operation(world: World, op_id: str) -> Operation:
    op = world.operations.get(op_id)
    if op is None:
        raise ArmError(
            404, "NotFound", f"The operation '{op_id}' was not found. It may have expired."
        )
    return op


@router.get(_OPERATION)
async def get_operation(ctx: Ctx, p: dict[str, str]) -> web.Response:
    op = find_operation(ctx.world, p["op"])
    op.finish_if_due()
    if (ctx.query("monitor") or "").lower() == "true":
        if op.status == "InProgress":
            return web.Response(status=202, headers=operation_headers(ctx, op))
        if op.status == "Failed" and op.error is not None:
            raise op.error
        if op.has_result and op.result is not None:
            return reply(op.result)
        # An operation without a result ends 200 with no body (the examples' "200": {} of
        # VirtualMachine_Deallocate, Disk_EndGetAccess, Disk_Delete, Gallery_Delete).
        return web.Response(status=200)
    headers = {"retry-after-ms": str(int(ctx.world.lro_poll_seconds * 1000))}
    return reply(status_document(op), headers=headers if op.status == "InProgress" else None)

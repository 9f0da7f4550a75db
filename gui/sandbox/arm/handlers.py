"""All ARM routes of the sandbox, assembled."""

from __future__ import annotations

from gui.sandbox.arm import (
    community,
    disks,
    galleries,
    graph,
    images,
    lro,
    marketplace,
    resources,
    shared,
    snapshots,
    storage,
    vms,
)
from gui.sandbox.arm.routing import Router


def build_router() -> Router:
    router = Router()
    modules = (resources, marketplace, community, shared, images, galleries, graph, disks, lro)
    for module in (*modules, vms, snapshots, storage):
        router.include(module.router)
    return router

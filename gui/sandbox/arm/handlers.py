"""All ARM routes of the sandbox, assembled."""

from __future__ import annotations

from gui.sandbox.arm import (
    disks,
    galleries,
    graph,
    images,
    lro,
    marketplace,
    network,
    public_galleries,
    resources,
    skus,
    snapshots,
    storage,
    terms,
    vm_boot,
    vm_create,
    vms,
)
from gui.sandbox.arm.routing import Router


def build_router() -> Router:
    router = Router()
    modules = (resources, marketplace, public_galleries, images, galleries, graph, disks, lro)
    for module in (*modules, vms, snapshots, storage, terms, skus, network, vm_create, vm_boot):
        router.include(module.router)
    return router

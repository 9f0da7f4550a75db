"""All ARM routes of the sandbox, assembled."""

from __future__ import annotations

from gui.sandbox.arm import community, galleries, graph, images, marketplace, resources, shared
from gui.sandbox.arm.routing import Router


def build_router() -> Router:
    router = Router()
    for module in (resources, marketplace, community, shared, images, galleries, graph):
        router.include(module.router)
    return router

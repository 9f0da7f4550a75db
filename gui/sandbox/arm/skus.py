"""Resource SKUs: GET /subscriptions/{sub}/providers/Microsoft.Compute/skus.

Azure answers every SKU of every region in one list (tens of thousands); a ``$filter=location eq
'<region>'`` narrows it to one region, which is how the app asks. The sandbox lists only VM sizes
(gui/sandbox/seed/skus.py), with the capabilities that decide which images they run.
"""

from __future__ import annotations

import re

from aiohttp import web

from gui.sandbox.arm.common import region_name
from gui.sandbox.arm.context import Ctx
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError
from gui.sandbox.seed.skus import skus_in

router = Router()

_LOCATION_FILTER = re.compile(r"^\s*location\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)


@router.get("/subscriptions/{sub}/providers/Microsoft.Compute/skus")
async def list_skus(ctx: Ctx, p: dict[str, str]) -> web.Response:
    ctx.world.require_subscription(p["sub"])
    wanted = ctx.query("$filter")
    location: str | None = None
    if wanted:
        match = _LOCATION_FILTER.match(wanted)
        if match is None:
            # Azure's answer to any other filter: only location (and zone details) is supported.
            raise ArmError(
                400,
                "InvalidFilterInQueryString",
                f"The filter '{wanted}' is invalid. Only 'location eq <location>' is supported.",
            )
        location = region_name(match.group(1))
    return ctx.page(skus_in(location))

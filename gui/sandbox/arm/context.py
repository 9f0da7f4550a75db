"""Per-request helpers shared by the ARM handlers: query access, JSON replies, paging."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web

from gui.sandbox.arm import body
from gui.sandbox.errors import ArmError

if TYPE_CHECKING:
    from gui.sandbox.world import World

Json = dict[str, Any]


@dataclass
class Ctx:
    request: web.Request
    world: World
    body_bytes: bytes
    _doc: Json | None = field(default=None, init=False, repr=False)

    @property
    def base_url(self) -> str:
        return self.world.arm_url

    @property
    def path(self) -> str:
        return self.request.path

    def query(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self.request.query.items():
            if key.lower() == wanted:
                return value
        return default

    @property
    def api_version(self) -> str:
        return self.query("api-version") or ""

    def json(self) -> Json:
        """The request body, parsed and type-checked as ARM does (see ``gui.sandbox.arm.body``).

        Every handler reads its body through here, so no malformed body reaches handler logic.
        """
        if self._doc is None:
            self._doc = body.parse(self.body_bytes)
        return self._doc

    def url(self, path: str, **params: str) -> str:
        """An absolute URL back to this server."""
        query = urlencode(params, quote_via=quote, safe="$") if params else ""
        return self.base_url + quote(path, safe="/$-_.~:@!'()*,;=") + ("?" + query if query else "")

    def page(self, items: list[Json]) -> web.Response:
        """One page of a paged ARM list, with an absolute ``nextLink`` when more remain."""
        size = max(1, self.world.page_size)
        token = self.query("$skiptoken")
        try:
            start = int(token) if token else 0
        except ValueError as exc:
            raise ArmError(400, "InvalidSkipToken", "The skip token is invalid.") from exc
        top = self.query("$top")
        if top is not None and top.isdigit():
            items = items[: int(top)]
        chunk = items[start : start + size]
        doc: Json = {"value": chunk}
        if start + size < len(items):
            params = {k: v for k, v in self.request.query.items() if k.lower() != "$skiptoken"}
            params["$skiptoken"] = str(start + size)
            doc["nextLink"] = self.url(self.path, **params)
        return reply(doc)


def reply(doc: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(doc).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )

"""A tiny case-insensitive router: ARM treats paths case-insensitively, aiohttp does not."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gui.sandbox.arm.context import Ctx

Handler = Callable[["Ctx", dict[str, str]], Awaitable[web.StreamResponse]]

_PARAM = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


def compile_template(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    pos = 0
    for m in _PARAM.finditer(template):
        parts.append(re.escape(template[pos : m.start()]))
        parts.append(f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    parts.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(parts) + "/?$", re.IGNORECASE)


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        self._routes.append(Route(method.upper(), template, compile_template(template), handler))

    def get(self, template: str) -> Callable[[Handler], Handler]:
        return self._decorator("GET", template)

    def put(self, template: str) -> Callable[[Handler], Handler]:
        return self._decorator("PUT", template)

    def post(self, template: str) -> Callable[[Handler], Handler]:
        return self._decorator("POST", template)

    def delete(self, template: str) -> Callable[[Handler], Handler]:
        return self._decorator("DELETE", template)

    def patch(self, template: str) -> Callable[[Handler], Handler]:
        return self._decorator("PATCH", template)

    def _decorator(self, method: str, template: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(method, template, handler)
            return handler

        return register

    def include(self, other: Router) -> None:
        self._routes.extend(other._routes)

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, params, path_known): path_known tells 405 from 404 when no method matches."""
        path_known = False
        for route in self._routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            path_known = True
            if route.method == method.upper():
                return route, m.groupdict(), True
        return None, {}, path_known

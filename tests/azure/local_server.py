"""A small real HTTP(S) server on loopback for the SDK-side tests.

It answers with canned JSON per path and records what each request carried (method, path,
headers), so a test can check what an SDK client or credential really sent over the wire.
HTTPS uses a throw-away CA made by ``trustme``; the test decides whether the client trusts it.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme
from aiohttp import web

BODY = web.RequestKey("body", str)  # the request body, for responders that read a form
Responder = Callable[[web.Request, str], tuple[int, Any]]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: str
    peer: str  # the client's address and port: one per connection


@dataclass
class LocalServer:
    url: str
    requests: list[Recorded] = field(default_factory=list)


@dataclass
class Certificates:
    ca_pem: Path
    server_context: ssl.SSLContext


def make_certificates(directory: Path) -> Certificates:
    """A CA (its PEM written to ``directory``) and a server certificate for 127.0.0.1/localhost."""
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = directory / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(context)
    return Certificates(ca_pem, context)


@asynccontextmanager
async def local_server(
    respond: Responder, *, tls: ssl.SSLContext | None = None, keep_alive: bool = False
) -> AsyncIterator[LocalServer]:
    """Serves ``respond(request, base_url) -> (status, json_body)`` on 127.0.0.1 until exit."""
    server = LocalServer(url="")

    async def handle(request: web.Request) -> web.Response:
        body = await request.text()
        request[BODY] = body
        peer = request.transport.get_extra_info("peername") if request.transport else None
        server.requests.append(
            Recorded(request.method, request.path_qs, dict(request.headers), body, str(peer))
        )
        status, payload = respond(request, server.url)
        response = web.json_response(payload, status=status, dumps=json.dumps)
        if not keep_alive:
            # one request per connection: nothing is left open (or half shut down) at cleanup
            response.force_close()
        return response

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    site = web.SockSite(runner, listener, ssl_context=tls)
    await site.start()
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()

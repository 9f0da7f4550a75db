"""A loopback HTTP proxy between the engine and a storage endpoint that misbehaves on purpose.

It forwards every request to the upstream and, chosen at random with a fixed seed, resets the
connection (before or after forwarding: the client cannot know whether the write happened) or
answers 503 ServerBusy instead. ``latency`` slows every request down so a test can stop an
upload half-way. Runs its own asyncio loop in a daemon thread, like the engine.
"""

from __future__ import annotations

import asyncio
import io
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

from aiohttp import ClientSession, ClientTimeout, web

_HOP_HEADERS = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class ProxyStats:
    requests: int = 0
    resets: int = 0
    errors: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    put_page_bytes: int = 0  # bytes of Put Page bodies forwarded to the upstream
    methods: dict[str, int] = field(default_factory=dict)
    signatures: set[str] = field(default_factory=set)  # distinct SAS signatures seen
    user_agents: set[str] = field(default_factory=set)
    client_request_ids: list[str] = field(default_factory=list)  # x-ms-client-request-id, in order


class FaultyProxy:
    def __init__(
        self,
        upstream: str,
        *,
        reset_rate: float = 0.0,
        error_rate: float = 0.0,
        error_status: int = 503,
        error_code: str = "ServerBusy",
        retry_after: str | None = None,
        latency: float = 0.0,
        seed: int = 0,
        error_times: int | None = None,
        error_body: bytes = b"",
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.reset_rate = reset_rate
        self.error_rate = error_rate
        self.error_status = error_status
        self.error_code = error_code
        self.retry_after = retry_after
        self.latency = latency
        self.error_times = error_times  # errors stop after this many (None: no limit)
        self.error_body = error_body  # sent with injected errors (e.g. a huge non-XML page)
        self.stats = ProxyStats()
        self._random = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rewrite(self, url: str) -> str:
        """``url`` pointed at the proxy instead of the upstream."""
        assert url.startswith(self.upstream), url
        return self.url + url[len(self.upstream.split("/", 3)[2]) + len("http://") :]

    def start(self) -> FaultyProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=120), auto_decompress=False)
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # A handler still running at stop() (sleeping its latency for a client that has gone)
        # is cancelled after 2 s rather than the default 60, which stop() would not wait for.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        self.port = server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def _stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            if self._session is not None:
                await self._session.close()
            # An upstream that answered before taking a whole body (Azurite refusing an expired
            # SAS) leaves aiohttp's writer stuck on a connection nobody reads: it is in no pool
            # and the session's close never reaches it. Closing this loop under it would leave
            # the GC to find it later, raising ResourceWarning in whatever test runs then. The
            # selector loop's own table of its transports is the one complete list of them.
            transports: dict[int, asyncio.Transport] = getattr(self._loop, "_transports", {})
            for transport in list(transports.values()):
                sock = transport.get_extra_info("socket")
                if sock is not None and sock.fileno() != -1:  # not closed yet
                    transport.abort()
            await asyncio.sleep(0)  # the aborts complete on the next turn of the loop

        asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> FaultyProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every client has gone and every request it sent is handled: call it once the
        client is done (an upload returned, a process was killed), before counting what reached
        the upstream. ``stats.in_flight`` alone is not enough: a request the client wrote just
        before closing is handled only after the proxy has read it, and aiohttp lists a
        connection until its requests are all handled, even after the client closed it."""
        deadline = time.monotonic() + timeout
        while not asyncio.run_coroutine_threadsafe(self._idle(), self._loop).result(timeout):
            assert time.monotonic() < deadline, f"the proxy is still busy: {self.stats}"
            time.sleep(0.01)

    async def _idle(self) -> bool:  # on the proxy's loop: no handler changes it meanwhile
        assert self._runner is not None and self._runner.server is not None
        return not self.stats.in_flight and not self._runner.server.connections

    @staticmethod
    def _reset(request: web.Request) -> web.Response:
        transport = request.transport
        assert transport is not None
        sock = transport.get_extra_info("socket")
        if sock is not None:  # linger 0: the client sees a real RST, not a clean close
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        return web.Response(status=500)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        stats = self.stats
        stats.requests += 1
        stats.methods[request.method] = stats.methods.get(request.method, 0) + 1
        if "sig" in request.query:
            stats.signatures.add(request.query["sig"])
        stats.user_agents.add(request.headers.get("User-Agent", ""))
        stats.client_request_ids.append(request.headers.get("x-ms-client-request-id", ""))
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            body = await request.read()
            if self.latency:
                await asyncio.sleep(self.latency)
            roll = self._random.random()
            errors_allowed = self.error_times is None or stats.errors < self.error_times
            error_rate = self.error_rate if errors_allowed else 0.0
            if roll < error_rate:
                stats.errors += 1
                headers = {"x-ms-error-code": self.error_code}
                if self.retry_after is not None:
                    headers["Retry-After"] = self.retry_after
                return web.Response(
                    status=self.error_status, headers=headers, body=self.error_body or None
                )
            reset = roll < error_rate + self.reset_rate
            if reset and self._random.random() < 0.5:
                stats.resets += 1
                return self._reset(request)
            assert self._session is not None
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
            async with self._session.request(
                request.method,
                self.upstream.split("/", 3)[0]
                + "//"
                + self.upstream.split("/", 3)[2]
                + request.raw_path,
                headers=headers,
                data=io.BytesIO(body) if body else None,
                skip_auto_headers=("Content-Type",),
            ) as upstream:
                data = await upstream.read()
                put_page = request.method == "PUT" and "comp=page" in request.query_string
                if put_page and upstream.status == 201:
                    stats.put_page_bytes += len(body)
                out_headers = {
                    k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS
                }
                status = upstream.status
                length = upstream.headers.get("Content-Length")
            if reset:  # the write happened upstream, but the client never hears of it
                stats.resets += 1
                return self._reset(request)
            if request.method == "HEAD":  # a HEAD answer's Content-Length is the blob's size
                if length is not None:
                    out_headers["Content-Length"] = length
                return web.Response(status=status, headers=out_headers)
            return web.Response(status=status, headers=out_headers, body=data)
        finally:
            stats.in_flight -= 1

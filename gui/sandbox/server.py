"""The sandbox server: an aiohttp app on 127.0.0.1 in its own asyncio loop and daemon thread."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Generic, TypedDict, TypeVar, Unpack, overload
from urllib.parse import quote

from aiohttp import web
from aiohttp.typedefs import Middleware

from gui.sandbox import contract
from gui.sandbox.arm import body as arm_body
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.handlers import build_router
from gui.sandbox.blob.errors import BlobError, new_request_id
from gui.sandbox.blob.handlers import BlobService
from gui.sandbox.blob.sas import make_sas
from gui.sandbox.catalog.service import CatalogError, CatalogService
from gui.sandbox.errors import ArmError, authorization_failed
from gui.sandbox.faults import FaultRule, Faults
from gui.sandbox.seed import SANDBOX_PRINCIPAL_ID
from gui.sandbox.seed.regions import REGIONS
from gui.sandbox.store import write_json_atomic
from gui.sandbox.throttling import ReadAllowance, is_read
from gui.sandbox.world import World

log = logging.getLogger(__name__)

_HOST = "127.0.0.1"
T = TypeVar("T")
_START_TIMEOUT_S = 30.0


class SandboxError(Exception):
    """The sandbox could not start or stop."""


class SasOptions(TypedDict, total=False):
    permissions: str  # SAS letters, e.g. "rw"
    expires_in: timedelta  # from now; two hours unless given


class _FromWorld(Generic[T]):
    """A ``SandboxServer`` attribute that is its running world's: read-only, or set through
    ``settable``, which also cleans the value (no negative delays, no empty pages)."""

    def __init__(self, settable: Callable[[T], T] | None = None) -> None:
        self._settable = settable
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, server: None, owner: type) -> _FromWorld[T]: ...
    @overload
    def __get__(self, server: SandboxServer, owner: type) -> T: ...
    def __get__(self, server: SandboxServer | None, owner: type) -> T | _FromWorld[T]:
        if server is None:
            return self
        value: T = getattr(server.world, self._name)
        return value

    def __set__(self, server: SandboxServer, value: T) -> None:
        if self._settable is None:
            raise AttributeError(f"The sandbox's {self._name} is read-only.")
        setattr(server.world, self._name, self._settable(value))


class SandboxServer:
    """A local Azure: ARM (Microsoft.Compute & co.) on ``arm_url``, page blobs on ``blob_url``,
    the Marketplace Catalog data plane on ``catalog_url``.

    ``start()`` returns once both endpoints listen; state lives in ``state_dir`` and survives a
    restart unless ``reset=True``.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        reset: bool = False,
        port: int = 0,
        blob_port: int = 0,
        catalog_port: int = 0,
    ) -> None:
        self.state_dir = Path(state_dir)
        self._reset = reset
        self._port = port
        self._blob_port = blob_port
        self._catalog_port = catalog_port
        self._world: World | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runners: list[web.AppRunner] = []
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._router = build_router()

    # ---- public API --------------------------------------------------------------------

    @property
    def world(self) -> World:
        if self._world is None:
            raise SandboxError("The sandbox is not started; call start() first.")
        return self._world

    # What the running world holds, read (and for the tunables, set) through the server.
    arm_url = _FromWorld[str]()
    blob_url = _FromWorld[str]()
    catalog_url = _FromWorld[str]()
    faults = _FromWorld[Faults]()
    request_count = _FromWorld[int]()
    page_size = _FromWorld[int](settable=lambda value: max(1, value))
    # How long simulated long-running operations take.
    lro_seconds = _FromWorld[float](settable=lambda value: max(0.0, value))
    replication_seconds_per_region = _FromWorld[float](settable=lambda value: max(0.0, value))

    def account_key(self, account: str) -> str:
        """The (base64) key of a storage account on the blob endpoint, e.g. for SDK-made SAS."""
        found = self.world.blobs.account(account)
        if found is None:
            raise SandboxError(f"The sandbox has no storage account '{account}'.")
        return found.key

    def create_container(self, account: str, container: str) -> None:
        self.world.blobs.create_container(account, container)

    def blob_sas_url(
        self, account: str, container: str, blob: str, **sas: Unpack[SasOptions]
    ) -> str:
        """A URL with a SAS for one blob on the blob endpoint (the blob need not exist yet);
        ``permissions`` default to read, add, create, write, delete."""
        return self._sas_url(account, container, blob, sas.get("permissions", "racwd"), sas)

    def container_sas_url(self, account: str, container: str, **sas: Unpack[SasOptions]) -> str:
        """A URL with a SAS for a container; ``permissions`` default to those of a blob and list."""
        return self._sas_url(account, container, None, sas.get("permissions", "racwdl"), sas)

    def _sas_url(
        self, account: str, container: str, blob: str | None, permissions: str, sas: SasOptions
    ) -> str:
        query = make_sas(
            account=account,
            key=self.account_key(account),
            container=container,
            blob=blob,
            permissions=permissions,
            expiry=datetime.now(UTC) + sas.get("expires_in", timedelta(hours=2)),
        )
        path = f"{account}/{container}" + ("" if blob is None else f"/{quote(blob)}")
        return f"{self.blob_url}/{path}?{query}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._world = World.open(self.state_dir, reset=self._reset)
        self._reset = False  # a restart of the same object keeps its state
        self._ready.clear()
        self._start_error = None
        self._thread = threading.Thread(target=self._run, name="azure-sandbox", daemon=True)
        self._thread.start()
        if not self._ready.wait(_START_TIMEOUT_S):
            raise SandboxError("The sandbox server did not start within 30 s.")
        error = self._reported_start_error()
        if error is not None:
            self._thread.join(5)
            self._thread = None
            raise SandboxError(f"The sandbox server could not start: {error}") from error

    def _reported_start_error(self) -> BaseException | None:
        # Set by the server thread; read here after _ready fired.
        return self._start_error

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(10)
            except Exception:  # the loop is going away regardless; log and go on
                log.exception("sandbox shutdown failed")
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ---- the server thread -------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._listen())
        except BaseException as exc:  # reported to start() in the caller's thread
            self._start_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _listen(self) -> None:
        world = self.world
        world.loop = asyncio.get_running_loop()
        # ARM's own 4 MB limit; aiohttp stops reading a longer body there (see _read_arm_body).
        arm = web.Application(
            client_max_size=arm_body.MAX_BODY_BYTES, middlewares=[_loopback_host(_arm_misdirected)]
        )
        arm.router.add_route("*", "/{tail:.*}", self._handle_arm)
        saved = _saved_ports(self.state_dir)
        arm_port = await self._serve(arm, self._port, saved.get("arm", 0))
        world.arm_url = f"http://{_HOST}:{arm_port}"
        blob = web.Application(
            client_max_size=8 * 1024 * 1024, middlewares=[_loopback_host(_blob_misdirected)]
        )
        blob.router.add_route("*", "/{tail:.*}", BlobService(world, world.blobs).handle)
        blob_port = await self._serve(blob, self._blob_port, saved.get("blob", 0))
        world.blob_url = f"http://{_HOST}:{blob_port}"
        # The catalogue on a port of its own, so its paths are the real host's (/search,
        # /product/{id}) and nothing of ARM's (auth, api-versions, throttling) applies to it.
        catalog = web.Application(middlewares=[_loopback_host(_catalog_misdirected)])
        catalog.router.add_route("*", "/{tail:.*}", CatalogService(world).handle)
        catalog_port = await self._serve(catalog, self._catalog_port, saved.get("catalog", 0))
        world.catalog_url = f"http://{_HOST}:{catalog_port}"
        write_json_atomic(
            self.state_dir / PORTS_FILE,
            {"arm": arm_port, "blob": blob_port, "catalog": catalog_port},
        )

    async def _serve(self, app: web.Application, port: int, previous: int = 0) -> int:
        """Listens on ``port``; when that is 0 (any), on the port of the previous start if it is
        still free. A paused disk upload keeps a write SAS that names the blob endpoint's port,
        so a restarted sandbox must answer there for the upload to resume."""
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        # reuse_address left to asyncio: SO_REUSEADDR on POSIX (a restart may rebind a port in
        # TIME_WAIT), never on Windows, where it would let another process take over the port.
        site: web.TCPSite | None = None
        if port == 0 and previous:
            try:
                site = web.TCPSite(runner, _HOST, previous)
                await site.start()
            except OSError:  # taken by someone else meanwhile: any free port will do
                site = None
        if site is None:
            site = web.TCPSite(runner, _HOST, port)
            await site.start()
        self._runners.append(runner)
        return _bound_port(site)

    async def _shutdown(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        self.world.blobs.flush()

    async def _handle_arm(self, request: web.Request) -> web.StreamResponse:
        response = await self._arm_response(request)
        allowance = request.get(_READ_ALLOWANCE)
        if allowance is not None:
            # ARM stamps every read it admits (and refuses) with what the bucket has left.
            response.headers[allowance.header] = str(allowance.remaining)
        # ARM stamps every answer with ids that support and logs refer to.
        response.headers["x-ms-request-id"] = str(uuid.uuid4())
        response.headers["x-ms-correlation-request-id"] = request.headers.get(
            "x-ms-correlation-request-id", str(uuid.uuid4())
        )
        return response

    async def _arm_response(self, request: web.Request) -> web.StreamResponse:
        world = self.world
        world.request_count += 1
        if world.faults.latency > 0:
            await asyncio.sleep(world.faults.latency)
        try:
            body = await _read_arm_body(request)
            rule = world.faults.take(request.method, request.path)
            if rule is not None:
                raise _fault_error(rule, request)
            _check_authorization(request)
            _take_read_token(request, world)
            route, params, path_known = self._router.match(request.method, request.path)
            if route is None:
                raise _no_route(request, path_known)
            if not _query(request, "api-version"):
                raise ArmError(
                    400,
                    "MissingApiVersionParameter",
                    "The api-version query parameter (?api-version=) is required for all requests.",
                )
            api_version = _query(request, "api-version") or ""
            contract.check_api_version(
                request.path, api_version, _request_location(request, world), _REGION_NAMES
            )
            ctx = Ctx(request, world, body)
            schema = contract.schema_for(request.method, request.path)
            if schema is not None and body.strip():
                # Azure reads the body into the operation's model before its provider's logic
                # runs; a missing body is left to the handler, which answers as before.
                schema.check(ctx.json())
            return await route.handler(ctx, params)
        except ArmError as err:
            return reply(err.body(), err.status, err.headers)
        except Exception:
            log.exception("sandbox handler failed for %s %s", request.method, request.path)
            internal = ArmError(
                500, "InternalServerError", "The server encountered an internal error."
            )
            return reply(internal.body(), 500)


_READ_ALLOWANCE = web.RequestKey("read_allowance", ReadAllowance)


def _take_read_token(request: web.Request, world: World) -> None:
    """ARM's read throttling, when switched on (``Faults.throttle_reads``): a read takes a token
    from its subscription's bucket, or is refused with 429 and Retry-After."""
    throttle = world.faults.read_throttle
    if throttle is None or not is_read(request.method):
        return
    allowance = throttle.take(request.path)
    request[_READ_ALLOWANCE] = allowance
    if allowance.allowed:
        return
    scope = f"subscription '{allowance.scope}'" if allowance.scope else "tenant"
    code = "SubscriptionRequestsThrottled" if allowance.scope else "TenantRequestsThrottled"
    raise ArmError(
        429,
        code,
        f"Number of 'read' requests for {scope} actor '{SANDBOX_PRINCIPAL_ID}' exceeded. Please "
        f"try again after '{allowance.retry_after_s}' seconds after additional tokens are "
        "available. Refer to https://aka.ms/arm-throttling",
        headers={"Retry-After": str(allowance.retry_after_s)},
    )


async def _read_arm_body(request: web.Request) -> bytes:
    # Refuse by the announced length first, so a huge body is not even read.
    if (request.content_length or 0) > arm_body.MAX_BODY_BYTES:
        raise arm_body.too_large()
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge as exc:  # a chunked body that grew past the limit
        raise arm_body.too_large() from exc


_REGION_NAMES = tuple(region.name for region in REGIONS)
_LOCATION_SEGMENT = re.compile(r"/locations/([^/]+)", re.IGNORECASE)
_GROUP_PATH = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)", re.IGNORECASE)


def _request_location(request: web.Request, world: World) -> str:
    """The region ARM names in NoRegisteredProviderFound: the path's location, else the resource
    group's (a resource's requests go to its provider's endpoint in that region)."""
    m = _LOCATION_SEGMENT.search(request.path)
    if m:
        return m.group(1)
    m = _GROUP_PATH.match(request.path)
    if m:
        try:
            return str(world.require_resource_group(m.group(1), m.group(2))["location"])
        except ArmError:
            pass
    return "global"


PORTS_FILE = "ports.json"


def _saved_ports(state_dir: Path) -> dict[str, int]:
    try:
        data = json.loads((state_dir / PORTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, int) and 0 < v < 65536
    }


# ---- Host header check (DNS rebinding) ----------------------------------------------------
#
# The sandbox listens on 127.0.0.1 only, but a web page can still reach it: a name the attacker
# controls first resolves to the attacker's server, then to 127.0.0.1, and the browser sends the
# page's requests - with ``Host: evil.example`` - to the sandbox. Checking Host against the
# loopback names is the standard defence. The answer is 400, as HTTP.sys (in front of Azure's own
# endpoints) answers "Bad Request - Invalid Hostname" and Django answers a host outside
# ALLOWED_HOSTS; 421 Misdirected Request is meant for a connection reused across origins (HTTP/2),
# which is not what happens here. The body keeps each endpoint's error shape, so clients show it.

_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})


def host_is_loopback(host: str | None, port: int) -> bool:
    """Whether a Host header names this server by a loopback name (and its port, if any)."""
    if not host:
        return False
    name, sep, given_port = host.lower().rpartition(":")
    if not sep or name.endswith(":"):  # no port; or a bare IPv6 literal split inside itself
        name, given_port = host.lower(), ""
    if name.endswith("."):
        name = name[:-1]  # "localhost." is the same name, fully qualified
    if name not in _LOOPBACK_NAMES:
        return False
    return given_port == "" or given_port == str(port)


def _loopback_host(misdirected: Callable[[str], web.StreamResponse]) -> Middleware:
    @web.middleware
    async def check_host(
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        # The raw header, not request.host: aiohttp falls back to the machine's name without one.
        host = request.headers.get("Host")
        if not host_is_loopback(host, _local_port(request)):
            log.warning("sandbox refused a request for host %r (not a loopback name)", host)
            return misdirected(host or "")
        return await handler(request)

    return check_host


def _local_port(request: web.Request) -> int:
    # The port this connection came in on: the one a legitimate Host header names.
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    return int(sockname[1]) if sockname else -1


def _invalid_host_message(host: str) -> str:
    shown = host[:100] if host.isprintable() else repr(host[:100])
    return (
        f"The host name '{shown}' is not served here. The sandbox answers only requests for "
        "127.0.0.1, localhost or [::1]."
    )


def _arm_misdirected(host: str) -> web.StreamResponse:
    error = ArmError(400, "InvalidHostName", _invalid_host_message(host))
    return reply(error.body(), error.status)


def _blob_misdirected(host: str) -> web.StreamResponse:
    error = BlobError(400, "InvalidHostName", _invalid_host_message(host))
    request_id = new_request_id()
    return web.Response(
        status=error.status,
        body=error.xml(request_id),
        content_type="application/xml",
        headers={"x-ms-error-code": error.code, "x-ms-request-id": request_id},
    )


def _catalog_misdirected(host: str) -> web.StreamResponse:
    return CatalogError(400, "InvalidHostName", _invalid_host_message(host)).response()


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # aiohttp exposes the bound sockets only here
    assert server is not None
    sockets = getattr(server, "sockets", None) or []
    return int(sockets[0].getsockname()[1])


def _query(request: web.Request, name: str) -> str | None:
    return next((v for k, v in request.query.items() if k.lower() == name), None)


def _check_authorization(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    if not header:
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ArmError(
            401,
            "InvalidAuthenticationToken",
            "The access token is invalid. The 'Authorization' header must be 'Bearer <token>'.",
        )


def _no_route(request: web.Request, path_known: bool) -> ArmError:
    if path_known:
        return ArmError(
            405,
            "MethodNotAllowed",
            f"The requested resource does not support http method '{request.method}'.",
        )
    m = re.search(r"/providers/([^/]+)/([^/?]+)", request.path, re.IGNORECASE)
    if m:
        return ArmError(
            404,
            "InvalidResourceType",
            f"The resource type '{m.group(2)}' could not be found in the namespace "
            f"'{m.group(1)}' for api version '{_query(request, 'api-version') or ''}'.",
        )
    return ArmError(404, "NotFound", f"The requested path '{request.path}' was not found.")


_ACTION_RE = re.compile(r"/providers/([^/]+)/(.+)$", re.IGNORECASE)


def _fault_error(rule: FaultRule, request: web.Request) -> ArmError:
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = f"{rule.retry_after:g}"
    message = rule.message
    if message is None and rule.code == "AuthorizationFailed":
        err = authorization_failed(_action(request), _scope(request.path), SANDBOX_PRINCIPAL_ID)
        message = err.message
    if message is None:
        message = _DEFAULT_MESSAGES.get(rule.status, "The request failed.")
    return ArmError(rule.status, rule.code, message, headers=headers)


_DEFAULT_MESSAGES = {
    429: "The request is being throttled. Please retry after the time in the Retry-After header.",
    500: "The server encountered an internal error. Please retry the request.",
    503: "The service is unavailable. Please retry the request.",
}


def _action(request: web.Request) -> str:
    m = _ACTION_RE.search(request.path)
    if not m:
        return "Microsoft.Resources/subscriptions/resourceGroups/read"
    segments = m.group(2).strip("/").split("/")
    types = segments[0::2]
    verb = {"GET": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}.get(
        request.method, "action"
    )
    return f"{m.group(1)}/{'/'.join(types)}/{verb}"


def _scope(path: str) -> str:
    return path.rstrip("/")

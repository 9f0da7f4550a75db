"""How the engine reaches the storage service on a corporate network, and how it tags requests.

- The proxy comes from ``HTTPS_PROXY``/``HTTP_PROXY`` (and ``NO_PROXY``), as curl, the Azure
  CLI and the SDK read them; credentials in the proxy URL (``http://user:pass@proxy:3128``)
  become ``Proxy-Authorization``. It is resolved once per upload, not through aiohttp's
  ``trust_env``, because ``trust_env`` also sends ``~/.netrc`` credentials for the storage host
  itself, which would add an ``Authorization`` header next to the SAS.
- A CA bundle named by ``REQUESTS_CA_BUNDLE`` or ``SSL_CERT_FILE`` (a TLS-inspecting proxy's
  root) is trusted in addition to the system's roots: such bundles often hold the corporate
  root alone, and hosts in ``NO_PROXY`` still present public certificates.
- Every request carries ``User-Agent: azure-image-studio/<version>`` and an
  ``x-ms-client-request-id``, which Azure support can trace; failures log both ids.
"""

from __future__ import annotations

import functools
import os
import ssl
import urllib.request
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import aiohttp

from gui.i18n import QT_TR_NOOP, message
from gui.transfer.errors import ProxyConfigError
from gui.transfer.redact import redact

PRODUCT = "azure-image-studio"
# The one list of variables that name a custom CA bundle, for the engine and the SDK clients,
# checked in this order: requests' own variable first (what a corporate set-up usually exports),
# then OpenSSL's, then curl's.
CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


@functools.cache
def user_agent() -> str:
    """``azure-image-studio/<version>``: the installed distribution's, else the package's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version(PRODUCT)
    except PackageNotFoundError:  # run from a source tree that was never installed
        from gui import __version__ as number
    return f"{PRODUCT}/{number}"


def new_client_request_id() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Proxy:
    url: str  # without credentials
    # Proxy-Authorization when the proxy URL has credentials (a secret: never logged).
    headers: dict[str, str] = field(default_factory=dict, repr=False)


def proxy_for(target_url: str) -> Proxy | None:
    """The proxy the environment asks for when reaching ``target_url``, or None (direct).

    Reads the variables at each call (one per upload), so a changed environment is honoured by
    the next upload. ``NO_PROXY`` is applied with the standard library's rules.
    """
    parts = urlsplit(target_url)
    host = parts.hostname or ""
    proxies = urllib.request.getproxies()
    raw = proxies.get(parts.scheme.lower()) or proxies.get("all")
    if not raw or (host and urllib.request.proxy_bypass(host)):
        return None
    if "://" not in raw:  # "proxy:3128" is commonly written without a scheme
        raw = f"http://{raw}"
    try:
        proxy = urlsplit(raw)
        port = proxy.port
    except ValueError as exc:
        raise ProxyConfigError(
            message(
                QT_TR_NOOP("The proxy setting {proxy} is malformed ({reason}): fix HTTPS_PROXY / "
                           "HTTP_PROXY."),
                proxy=redact(_hide_password(raw)), reason=exc)
        ) from None
    if proxy.scheme.lower() != "http" or not proxy.hostname:
        raise ProxyConfigError(
            message(
                QT_TR_NOOP("The proxy {proxy} is not an http:// proxy URL: the upload engine "
                           "talks to its proxy in plain HTTP (the connection to Azure inside "
                           "stays TLS). Set HTTPS_PROXY=http://host:port."),
                proxy=_hide_password(raw))
        )
    headers = {}
    if proxy.username is not None:
        credentials = aiohttp.encode_basic_auth(
            unquote(proxy.username), unquote(proxy.password or "")
        )
        headers["Proxy-Authorization"] = credentials
    host_part = f"[{proxy.hostname}]" if ":" in proxy.hostname else proxy.hostname
    return Proxy(f"http://{host_part}{f':{port}' if port else ''}", headers)


def _hide_password(url: str) -> str:
    head, sep, tail = url.rpartition("@")
    if not sep:
        return url
    scheme, _, userinfo = head.rpartition("://")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{tail}" if scheme else f"{user}:***@{tail}"


def connector_tls(url: str, context: ssl.SSLContext | None = None) -> ssl.SSLContext | bool:
    """What aiohttp's connector takes for requests to ``url``: False for plain http (the sandbox's
    and Azurite's loopback endpoints, where building a context would only cost the quarter of a
    second that loading a CA bundle takes), else ``context``, the environment's bundle, or True
    (aiohttp's default, the system's trust). Loads files: call it off the GUI's loop."""
    if not url.lower().startswith("https://"):
        return False
    if context is None:
        context = ssl_context_from_env()
    return context if context is not None else True


def ssl_context_from_env() -> ssl.SSLContext | None:
    """The system's trust plus the CA bundle the environment names, or None when none is named
    (then aiohttp's default, the system's trust, applies)."""
    for name in CA_BUNDLE_VARIABLES:
        bundle = os.environ.get(name, "").strip()
        if not bundle:
            continue
        context = ssl.create_default_context()
        if os.environ.get("SSL_CERT_FILE", "").strip() == bundle and os.path.isfile(bundle):
            # OpenSSL's default verify paths have just read SSL_CERT_FILE: loading it again
            # would only double the cost (many images point all these variables at one file).
            # A missing file is left to the load below, which names it.
            return context
        try:
            if os.path.isdir(bundle):
                context.load_verify_locations(capath=bundle)
            else:
                context.load_verify_locations(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ProxyConfigError(
                message(
                    QT_TR_NOOP("{name}={bundle} cannot be used as a CA bundle ({reason}): point "
                               "it at a PEM file of certificates, or unset it."),
                    name=name, bundle=bundle, reason=reason)
            ) from None
        return context
    return None

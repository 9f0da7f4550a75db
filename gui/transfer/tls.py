"""The one TLS rule: secrets travel only over HTTPS, except to this machine.

Everything that sends a secret (a SAS, an account key, a bearer token) to a URL asks this
module first: the upload and download engine and its targets (SAS URL, connection string,
``--account-url``) as well as every Azure SDK client the app builds (compute, resource,
subscription, storage management, blob). Plain ``http://`` is allowed only to a loopback host
(the embedded sandbox and Azurite), because nothing on the network can read that traffic.

The check is pure: it parses the URL and looks at the literal host name, so it runs before any DNS
lookup or connection. A name that merely resolves to 127.0.0.1 does not count as loopback, since
resolving it would already be a lookup (and DNS can lie).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from gui.i18n import QT_TR_NOOP, message
from gui.transfer.errors import InvalidTargetError
from gui.transfer.redact import redact

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class InsecureTransportError(InvalidTargetError):
    """A secret would be sent over plain HTTP to a host that is not this machine."""


class MalformedUrlError(InvalidTargetError):
    """A URL cannot be parsed (bad brackets, port out of range, no host)."""


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1, ::ffff:127.x)."""
    if not host:
        return False
    name = host.strip("[]").rstrip(".").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def parse_url(url: str, what: str) -> SplitResult:
    """``url`` split into its parts; ``MalformedUrlError`` (one line, redacted) when it is not one.

    ``what`` names the URL for the message, e.g. "The SAS URL" or "The Azure Resource Manager
    endpoint".
    """
    try:
        parts = urlsplit(url.strip())
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise MalformedUrlError(
            message(
                QT_TR_NOOP("{what} is not a valid URL ({reason}): {url}. Check it and try again."),
                what=what, reason=exc, url=redact(url))
        ) from None
    if not parts.scheme or not parts.hostname:
        raise MalformedUrlError(
            message(
                QT_TR_NOOP("{what} is not a full URL (it needs https:// and a host name): {url}."),
                what=what, url=redact(url))
        )
    return parts


def require_tls(url: str, what: str) -> SplitResult:
    """Raise unless ``url`` is ``https://`` or plain ``http://`` to a loopback host.

    Returns the parsed URL. Raises ``InsecureTransportError`` for plain HTTP elsewhere (and for any
    other scheme), ``MalformedUrlError`` when ``url`` cannot be parsed. Neither does any lookup.
    """
    parts = parse_url(url, what)
    scheme = parts.scheme.lower()
    if scheme == "https":
        return parts
    if scheme == "http":
        if is_loopback_host(parts.hostname):
            return parts
        raise InsecureTransportError(
            message(
                QT_TR_NOOP("{what} uses plain http:// to '{hostname}'. Credentials (SAS, keys, "
                           "tokens) would travel unencrypted, so it was refused before "
                           "connecting. Use the https:// address instead (plain http:// is "
                           "allowed only to this machine: localhost, 127.0.0.1, ::1)."),
                what=what, hostname=parts.hostname)
        )
    raise InsecureTransportError(
        message(
            QT_TR_NOOP("{what} uses the scheme '{scheme}://'; only https:// is supported "
                       "(http:// only to this machine). Use the https:// address."),
            what=what, scheme=scheme)
    )

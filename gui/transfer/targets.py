"""Where a page blob lives and how requests to it are authorised.

Every target hands out an :class:`Authorization` per request and may renew it: a SAS generated
from an account key or granted for a managed disk is renewed before it expires, a bearer token is
refreshed; a SAS pasted by the user cannot be renewed, so its expiry becomes a clear error.
Targets describe themselves without secrets, for the journal and for messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.errors import AccessDeniedError, InvalidTargetError, SasExpiredError, UploadError
from gui.transfer.redact import redact, strip_query
from gui.transfer.tls import InsecureTransportError, require_tls

log = logging.getLogger(__name__)

RENEW_MARGIN = timedelta(minutes=10)
STORAGE_SCOPE = "https://storage.azure.com/.default"


@dataclass(frozen=True)
class Authorization:
    query: str = ""  # appended to every request URL (a SAS)
    headers: Mapping[str, str] = field(default_factory=dict)
    expires_at: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def sas_expiry(query: str) -> datetime | None:
    values = parse_qs(query).get("se")
    if not values:
        return None
    try:
        expiry = datetime.fromisoformat(values[0])
    except ValueError:
        return None
    return expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC)


class BlobTarget(ABC):
    """A page blob the engine writes to."""

    kind: str = "blob"
    #: Credentials are renewed when they have less than this left.
    renew_margin: timedelta = RENEW_MARGIN
    #: False for a managed disk: its blob exists already with the right size.
    creates_blob: bool = True
    #: False for a managed disk: its SAS allows pages only, no metadata or properties.
    supports_properties: bool = True

    def __init__(self, blob_url: str) -> None:
        # Before anything else, and from the text alone: no lookup, no connection (endpoint.py).
        parts = require_tls(blob_url, Text(QT_TR_NOOP("The blob URL")))
        if parts.path.strip("/").count("/") < 1:
            raise InvalidTargetError(
                message(
                    QT_TR_NOOP("{url} names no blob: the URL needs /<container>/<blob> in its "
                               "path."),
                    url=redact(blob_url))
            )
        self.blob_url = canonical_blob_url(blob_url)

    @property
    def key(self) -> str:
        """Stable, secret-free identity of the target: names its resume journal.

        The blob's URL alone, so an upload started with one kind of credential (a pasted SAS)
        resumes with another (a connection string) from the same journal.
        """
        return hashlib.sha256(f"blob\n{self.blob_url}".encode()).hexdigest()[:32]

    def describe(self) -> dict[str, str]:
        """Secret-free description kept in the journal (enough to offer a resume)."""
        return {"kind": self.kind, "blob_url": self.blob_url}

    @property
    def display_name(self) -> str:
        return self.blob_url

    @abstractmethod
    async def authorize(self, *, renew: bool = False) -> Authorization:
        """Credentials for the next request; ``renew`` forces new ones after a refusal."""

    @property
    def can_renew(self) -> bool:
        return True

    def denied(self, status: int, code: str, expiry: datetime | None) -> UploadError:
        """The error for a refused request (401/403), after renewal was tried where possible."""
        if expiry is not None and expiry <= _now() + timedelta(seconds=30):
            return SasExpiredError(
                message(
                    QT_TR_NOOP("The SAS for {target} expired at {expiry:%Y-%m-%d %H:%M} UTC. "
                               "Create a new SAS (read, create and write permissions) and run "
                               "the same upload again: it resumes where it stopped."),
                    target=self.display_name, expiry=expiry)
            )
        return AccessDeniedError(
            message(
                QT_TR_NOOP("{target} refused the request ({status} {code}). Check that the "
                           "credentials allow read, create and write on the blob (SAS "
                           "permissions racw, or the role Storage Blob Data Contributor), then "
                           "run the upload again to resume."),
                target=self.display_name, status=status, code=code or 'denied')
        )


class SasUrlTarget(BlobTarget):
    """A blob URL with a SAS pasted by the user: used as is, cannot be renewed."""

    kind = "sas-url"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._query = urlsplit(url).query
        if "sig=" not in self._query:
            raise InvalidTargetError(
                message(
                    QT_TR_NOOP("{url} carries no SAS (no sig= in the query). Paste the full blob "
                               "SAS URL, or use a connection string or a signed-in account "
                               "instead."),
                    url=redact(url))
            )
        self._expiry = sas_expiry(self._query)
        if self._expiry is not None and self._expiry <= _now():
            raise SasExpiredError(
                message(
                    QT_TR_NOOP("The SAS in the URL expired at {expiry:%Y-%m-%d %H:%M} UTC: "
                               "create a new one (read, create and write permissions) and try "
                               "again."),
                    expiry=self._expiry)
            )

    @property
    def can_renew(self) -> bool:
        return False

    async def authorize(self, *, renew: bool = False) -> Authorization:
        return Authorization(query=self._query, expires_at=self._expiry)


class RenewableSasTarget(BlobTarget):
    """A SAS obtained from a callback (a managed disk's grant), renewed before it expires."""

    kind = "sas-provider"

    def __init__(
        self,
        sas_url: str,
        renew: Callable[[], Awaitable[str]] | None,
        *,
        kind: str | None = None,
        identity: str | None = None,
        display_name: str | None = None,
        expires_at: datetime | None = None,
    ) -> None:
        super().__init__(sas_url)
        if kind:
            self.kind = kind
        self._identity = identity or self.blob_url
        self._display = display_name or self.blob_url
        self._query = urlsplit(sas_url).query
        # A SAS bound to a stored access policy carries no se=: the grantor knows the expiry.
        self._expiry = sas_expiry(self._query) or expires_at
        self._renew = renew
        self._lock = asyncio.Lock()

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}\n{self._identity}".encode()).hexdigest()[:32]

    def describe(self) -> dict[str, str]:
        return {"kind": self.kind, "blob_url": self.blob_url, "identity": self._identity}

    @property
    def display_name(self) -> str:
        return self._display

    @property
    def can_renew(self) -> bool:
        return self._renew is not None

    async def authorize(self, *, renew: bool = False) -> Authorization:
        due = self._expiry is not None and self._expiry - _now() < self.renew_margin
        if self._renew is not None and (renew or (due and not self._renew_failed)):
            old_query = self._query
            async with self._lock:
                if self._query == old_query:  # another request may have renewed meanwhile
                    try:
                        url = await self._renew()
                    except Exception as exc:
                        if renew:  # the SAS was refused already: nothing left to try
                            raise self.denied(403, "renewal failed", self._expiry) from exc
                        # Early renewal refused: keep the SAS while it lasts.
                        log.warning("renewing the SAS of %s failed: %s", self._display, exc)
                        self._renew_failed = True
                    else:
                        self.blob_url_changed(url)
        return Authorization(query=self._query, expires_at=self._expiry)

    _renew_failed = False

    def blob_url_changed(self, sas_url: str) -> None:
        require_tls(sas_url, Text(QT_TR_NOOP("The renewed SAS URL")))
        expiry = self._expiry
        self._query = urlsplit(sas_url).query
        self._expiry = sas_expiry(self._query) or expiry
        self.blob_url = canonical_blob_url(sas_url)
        self._renew_failed = False


def canonical_blob_url(url: str) -> str:
    """The URL without its query, its path percent-encoded one way (``a b`` and ``a%20b`` are
    the same blob), so journals and comparisons recognise a blob however it was written."""
    parts = urlsplit(strip_query(url))
    path = quote(unquote(parts.path), safe="/~")
    return f"{parts.scheme}://{parts.netloc}{path}"


def parse_connection_string(connection_string: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for item in connection_string.strip().strip(";").split(";"):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidTargetError(
                Text(QT_TR_NOOP("The connection string is malformed: expected Name=Value pairs "
                               "separated by ';' (copy it from the storage account's Access keys "
                               "page)."))
            )
        parts[name.strip().lower()] = value.strip()
    return parts


def _require_tls_connection_string(parts: dict[str, str]) -> None:
    """Refuse a connection string that would send its requests over plain http (except to an
    emulator on loopback, like Azurite's development string), before any use of it."""
    endpoint = parts.get("blobendpoint")
    if endpoint:
        require_tls(endpoint, Text(QT_TR_NOOP("The connection string's BlobEndpoint")))
        return
    protocol = parts.get("defaultendpointsprotocol", "https").lower()
    if protocol != "https":
        raise InsecureTransportError(
            message(
                QT_TR_NOOP("The connection string says DefaultEndpointsProtocol={protocol}: the "
                           "account's requests would travel unencrypted, so it was refused "
                           "before connecting. Use DefaultEndpointsProtocol=https (as on the "
                           "storage account's Access keys page)."),
                protocol=protocol)
        )


class ConnectionStringTarget(BlobTarget):
    """Container + blob name in the account of a connection string.

    With an account key the engine signs short-lived blob SAS tokens itself and renews them;
    with a SharedAccessSignature entry that SAS is used as given.
    """

    kind = "connection-string"
    SAS_LIFETIME = timedelta(hours=1)

    def __init__(self, connection_string: str, container: str, name: str) -> None:
        parts = parse_connection_string(connection_string)
        _require_tls_connection_string(parts)
        self._account = parts.get("accountname", "")
        self._key = parts.get("accountkey")
        self._fixed_sas = parts.get("sharedaccesssignature")
        endpoint = parts.get("blobendpoint")
        if not endpoint:
            if not self._account:
                raise InvalidTargetError(
                    Text(QT_TR_NOOP("The connection string names no account (AccountName) and no "
                                   "BlobEndpoint."))
                )
            protocol = parts.get("defaultendpointsprotocol", "https")
            suffix = parts.get("endpointsuffix", "core.windows.net")
            endpoint = f"{protocol}://{self._account}.blob.{suffix}"
        if not self._key and not self._fixed_sas:
            raise InvalidTargetError(
                Text(QT_TR_NOOP("The connection string holds neither an AccountKey nor a "
                               "SharedAccessSignature, so it cannot authorise an upload."))
            )
        if not container or not name:
            raise InvalidTargetError(Text(QT_TR_NOOP(
                "Name the container and the blob to upload to.")))
        if self._key and not self._account:
            self._account = (
                urlsplit(endpoint).path.strip("/") or urlsplit(endpoint).netloc.split(".")[0]
            )
        self._container = container
        self._name = name
        super().__init__(f"{endpoint.rstrip('/')}/{quote(container)}/{quote(name)}")
        self._auth: Authorization | None = None

    def describe(self) -> dict[str, str]:
        return {**super().describe(), "container": self._container, "name": self._name}

    async def authorize(self, *, renew: bool = False) -> Authorization:
        if self._fixed_sas is not None:
            sas = self._fixed_sas.lstrip("?")
            return Authorization(query=sas, expires_at=sas_expiry(sas))
        auth = self._auth
        if renew or auth is None or (auth.expires_at or _now()) - _now() < self.renew_margin:
            from azure.storage.blob import BlobSasPermissions, generate_blob_sas

            expiry = _now() + self.SAS_LIFETIME
            sas = generate_blob_sas(
                account_name=self._account,
                container_name=self._container,
                blob_name=self._name,
                account_key=self._key,
                permission=BlobSasPermissions(read=True, add=True, create=True, write=True),
                start=_now() - timedelta(minutes=5),  # tolerate a client clock ahead
                expiry=expiry,
            )
            auth = self._auth = Authorization(query=sas, expires_at=expiry)
        return auth

    @property
    def can_renew(self) -> bool:
        return self._fixed_sas is None


class TokenCredentialTarget(BlobTarget):
    """An account URL + container + blob, authorised by an Entra ID token credential.

    ``credential`` is any azure-identity credential, sync or async; tokens are refreshed before
    they expire. The signed-in identity needs Storage Blob Data Contributor on the container.
    """

    kind = "entra-id"

    def __init__(self, account_url: str, container: str, name: str, credential: Any) -> None:
        if not container or not name:
            raise InvalidTargetError(Text(QT_TR_NOOP(
                "Name the container and the blob to upload to.")))
        require_tls(account_url, Text(QT_TR_NOOP("The account URL")))
        super().__init__(f"{account_url.rstrip('/')}/{quote(container)}/{quote(name)}")
        self._account_url, self._container, self._name = account_url, container, name
        self._credential = credential
        self._auth: Authorization | None = None
        self._lock = asyncio.Lock()

    def describe(self) -> dict[str, str]:
        return {
            **super().describe(),
            "account_url": self._account_url,
            "container": self._container,
            "name": self._name,
        }

    async def authorize(self, *, renew: bool = False) -> Authorization:
        auth = self._auth
        if renew or auth is None or (auth.expires_at or _now()) - _now() < self.renew_margin:
            async with self._lock:
                if auth is self._auth:
                    get_token = self._credential.get_token
                    if inspect.iscoroutinefunction(get_token):
                        token = await get_token(STORAGE_SCOPE)
                    else:  # a sync credential may block on the network: keep it off the loop
                        token = await asyncio.to_thread(get_token, STORAGE_SCOPE)
                    expires = datetime.fromtimestamp(int(token.expires_on), UTC)
                    self._auth = Authorization(
                        headers={"Authorization": f"Bearer {token.token}"}, expires_at=expires
                    )
            auth = self._auth
        assert auth is not None
        return auth

    def denied(self, status: int, code: str, expiry: datetime | None) -> UploadError:
        return AccessDeniedError(
            message(
                QT_TR_NOOP("{target} refused the signed-in identity ({status} {code}). Assign it "
                           "the role Storage Blob Data Contributor on the container (role "
                           "changes take a few minutes), then run the upload again to resume."),
                target=self.display_name, status=status, code=code or 'denied')
        )


def target_from_url(url: str) -> BlobTarget:
    """The target for a ``--to`` URL: a page-blob URL with a SAS."""
    return SasUrlTarget(url)


__all__ = [
    "Authorization",
    "BlobTarget",
    "ConnectionStringTarget",
    "RenewableSasTarget",
    "SasUrlTarget",
    "TokenCredentialTarget",
    "parse_connection_string",
    "sas_expiry",
    "target_from_url",
]

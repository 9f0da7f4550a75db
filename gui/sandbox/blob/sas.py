"""Shared access signatures as Azure Storage computes them (service SAS, HMAC-SHA256).

The string-to-sign matches azure-storage-blob's ``generate_blob_sas``/``generate_container_sas``,
so SAS made by the SDK with a sandbox account key are accepted too. A SAS may name a stored
access policy (``si``), as managed-disk SAS do; removing the policy revokes every SAS naming it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

from gui.sandbox.blob.errors import BlobError, authentication_failed

SAS_VERSION = "2024-08-04"

_SIGNED_FIELDS_BEFORE_RESOURCE = ("sp", "st", "se")
_SIGNED_FIELDS_AFTER_RESOURCE = (
    "si",
    "sip",
    "spr",
    "sv",
    "sr",
    "snapshot",
    "ses",
    "rscc",
    "rscd",
    "rsce",
    "rscl",
    "rsct",
)


@dataclass(frozen=True)
class StoredPolicy:
    permissions: str
    expiry: datetime
    start: datetime | None = None


@dataclass(frozen=True)
class SasGrant:
    permissions: str
    resource: str  # "b" (one blob) or "c" (a container)


def canonical_resource(account: str, container: str, blob: str | None) -> str:
    path = f"/blob/{account}/{container}"
    return path + (f"/{blob}" if blob else "")


def string_to_sign(params: Mapping[str, str], resource: str) -> str:
    values = [params.get(k, "") for k in _SIGNED_FIELDS_BEFORE_RESOURCE]
    values.append(resource)
    values += [params.get(k, "") for k in _SIGNED_FIELDS_AFTER_RESOURCE]
    return "\n".join(values)


def sign(key_b64: str, text: str) -> str:
    digest = hmac.new(base64.b64decode(key_b64), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_sas(
    *,
    account: str,
    key: str,
    container: str,
    blob: str | None,
    permissions: str | None,
    expiry: datetime | None,
    identifier: str | None = None,
    start: datetime | None = None,
) -> str:
    """A SAS query string (without '?') for a blob (``blob`` given) or a container."""
    params: dict[str, str] = {"sv": SAS_VERSION, "sr": "b" if blob else "c", "spr": "https,http"}
    if permissions:
        params["sp"] = permissions
    if expiry is not None:
        params["se"] = iso(expiry)
    if start is not None:
        params["st"] = iso(start)
    if identifier:
        params["si"] = identifier
    params["sig"] = sign(key, string_to_sign(params, canonical_resource(account, container, blob)))
    return urlencode(params, safe=":,")


def _parse_time(value: str) -> datetime:
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise authentication_failed(f"The signed time '{value}' is not in a valid format.") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def verify(
    params: Mapping[str, str],
    *,
    account: str,
    key: str,
    container: str,
    blob: str | None,
    policies: Mapping[str, StoredPolicy],
    now: datetime | None = None,
    other_keys: Sequence[str] = (),
) -> SasGrant:
    """Check a request's SAS; returns what it grants or raises a 403 ``BlobError``.

    A SAS may be signed with any of the account's keys (``key`` or one of ``other_keys``).
    """
    now = now or datetime.now(UTC)
    resource_kind = params.get("sr", "")
    if resource_kind not in ("b", "c"):
        raise authentication_failed("The signed resource 'sr' must be 'b' or 'c'.")
    signed_blob = blob if resource_kind == "b" else None
    if resource_kind == "b" and not blob:
        raise authentication_failed("A blob SAS cannot authorize a container operation.")
    text = string_to_sign(params, canonical_resource(account, container, signed_blob))
    given = params.get("sig", "")
    if not any(hmac.compare_digest(sign(k, text), given) for k in (key, *other_keys)):
        raise authentication_failed(
            "Signature did not match. String to sign used was " + text.replace("\n", "\\n")
        )
    permissions = params.get("sp", "")
    expiry = _parse_time(params["se"]) if params.get("se") else None
    start = _parse_time(params["st"]) if params.get("st") else None
    identifier = params.get("si")
    if identifier:
        policy = policies.get(identifier)
        if policy is None:
            raise authentication_failed(
                f"The signed identifier '{identifier}' does not exist or access was revoked."
            )
        permissions = permissions or policy.permissions
        expiry = expiry or policy.expiry
        start = start or policy.start
    if expiry is None:
        raise authentication_failed("Signed expiry time is missing.")
    if expiry <= now:
        raise authentication_failed(
            f"Signed expiry time [{_http_date(expiry)}] has to be after current time "
            f"[{_http_date(now)}]"
        )
    if start is not None and start > now:
        raise authentication_failed(
            f"Signed start time [{_http_date(start)}] has to be before current time "
            f"[{_http_date(now)}]"
        )
    return SasGrant(permissions=permissions, resource=resource_kind)


def require_permission(grant: SasGrant, needed: str) -> None:
    """``needed`` lists acceptable letters (any one suffices), e.g. "cw" for Put Blob."""
    if not any(letter in grant.permissions for letter in needed):
        raise BlobError(
            403,
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
        )

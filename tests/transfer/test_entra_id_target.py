"""The Entra ID target: bearer tokens from a credential, refreshed before they expire.

Azurite over HTTPS with ``--oauth basic`` checks a token's claims (issuer, audience, lifetime) but
cannot check Entra ID's signature, so the credential here issues unsigned tokens with real claims;
everything from the credential on (token use, refresh, TLS, the upload) is the production path.
"""

from __future__ import annotations

import base64
import gc
import json
import sys
import time
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

from gui.transfer import AccessDeniedError, TokenCredentialTarget, UploadOptions
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory
from tests.transfer.helpers import expected_blob, md5_b64, upload

TENANT = "3b9c6e1a-5d24-4f8b-a7c0-9e1d2f4b6a83"


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class ClaimsOnlyCredential:
    """A sync TokenCredential issuing storage tokens that live ``lifetime`` seconds."""

    def __init__(self, lifetime: int, audience: str = "https://storage.azure.com") -> None:
        self.lifetime = lifetime
        self.audience = audience
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        now = int(time.time())
        claims = {
            "aud": self.audience,
            "iss": f"https://sts.windows.net/{TENANT}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + self.lifetime,
            "oid": "5f0e2c7b-91d4-4a3e-8c6f-2b7d9e1a4c05",
            "tid": TENANT,
        }
        token = f"{_b64({'alg': 'RS256', 'typ': 'JWT'})}.{_b64(claims)}.c2lnbmF0dXJl"
        return AccessToken(token, now + self.lifetime)


def test_upload_with_an_entra_id_credential_over_https(
    azurite_oauth: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vhdx", 24 * MIB, "scattered", subformat="dynamic")
    container = azurite_oauth.create_container()
    credential = ClaimsOnlyCredential(lifetime=3600)
    target = TokenCredentialTarget(azurite_oauth.blob_endpoint, container, "entra.vhd", credential)
    options = UploadOptions(journal_dir=tmp_path, ssl_context=azurite_oauth.ssl_context())
    result = upload(made.path, target, options)
    expected = expected_blob(disk_images, made)
    assert credential.scopes == [("https://storage.azure.com/.default",)]
    assert result.content_md5 == md5_b64(expected)
    assert azurite_oauth.download(container, "entra.vhd") == expected


def test_tokens_are_reused_while_valid_and_refreshed_before_they_expire(
    azurite_oauth: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 24 * MIB, "start", subformat="fixed")
    container = azurite_oauth.create_container()
    options = UploadOptions(journal_dir=tmp_path, ssl_context=azurite_oauth.ssl_context())
    # 20 minutes left is beyond the 10-minute renewal margin: one token serves the upload.
    lasting = ClaimsOnlyCredential(lifetime=20 * 60)
    target = TokenCredentialTarget(azurite_oauth.blob_endpoint, container, "a.vhd", lasting)
    upload(made.path, target, options)
    assert len(lasting.scopes) == 1
    # 5 minutes left is inside the margin: each request finds its token about to expire.
    short = ClaimsOnlyCredential(lifetime=5 * 60)
    target = TokenCredentialTarget(azurite_oauth.blob_endpoint, container, "b.vhd", short)
    result = upload(made.path, target, options)
    assert len(short.scopes) >= result.requests // 2


def test_a_token_for_another_audience_is_refused_with_advice(
    azurite_oauth: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 24 * MIB, "start", subformat="fixed")
    container = azurite_oauth.create_container()
    credential = ClaimsOnlyCredential(lifetime=3600, audience="https://management.azure.com")
    target = TokenCredentialTarget(azurite_oauth.blob_endpoint, container, "no.vhd", credential)
    options = UploadOptions(journal_dir=tmp_path, ssl_context=azurite_oauth.ssl_context())
    with pytest.raises(AccessDeniedError) as caught:
        upload(made.path, target, options)
    message = str(caught.value)
    assert "Storage Blob Data Contributor" in message
    assert "eyJ" not in message  # no token in the message


def test_a_refused_upload_over_tls_leaves_no_connection_open(
    azurite_oauth: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    """aiohttp drops a refused request's TLS connection on its own, out of its pool: the engine
    must still close it before its loop goes, or the GC finds the socket later (a
    ResourceWarning in whatever runs then)."""
    made = disk_images.make("vpc", 8 * MIB, "start", subformat="fixed")
    container = azurite_oauth.create_container()
    credential = ClaimsOnlyCredential(lifetime=3600, audience="https://management.azure.com")
    options = UploadOptions(journal_dir=tmp_path, ssl_context=azurite_oauth.ssl_context())
    leaked: list[str] = []
    for attempt in range(8):  # the close races the loop's end: not lost every time
        target = TokenCredentialTarget(
            azurite_oauth.blob_endpoint, container, f"refused-{attempt}.vhd", credential
        )
        with pytest.raises(AccessDeniedError):
            upload(made.path, target, options)
    hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: leaked.append(repr(unraisable.exc_value))
    try:
        gc.collect()
    finally:
        sys.unraisablehook = hook
    assert leaked == []

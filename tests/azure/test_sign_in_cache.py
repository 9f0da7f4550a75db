"""Browser / device-code sign-in on a desktop without libsecret, the saved sign-in reused silently
at the next start, and the ``AZURE_*`` environment for headless commands.

Real azure-identity credentials (with the cache options the app chooses) talk to a token
endpoint served by the test over real TLS on loopback; the test's CA is trusted through
REQUESTS_CA_BUNDLE, as a corporate CA bundle would be.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from aiohttp import web

from gui.azure.account.clouds import Cloud
from gui.azure.account.signin import (
    SignInMethod,
    TokenCacheMode,
    cache_encryption_available,
    headless_credential,
    interactive_session,
    restore_saved_sign_in,
    saved_sign_in,
    token_cache_plan,
)
from gui.azure.errors import NotSignedInError
from tests.azure.local_server import BODY, LocalServer, local_server, make_certificates

TENANT = "3b9c6e1a-5d24-4f8b-a7c0-9e1d2f4b6a83"
OBJECT_ID = "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
USER = "admin@contoso.example"
ARM_TOKEN = "arm-access-token-for-test"
# azure-identity's client id for interactive sign-in when none is given
DEVELOPER_CLIENT_ID = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _id_token(issuer: str, audience: str) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": OBJECT_ID,
        "tid": TENANT,
        "sub": OBJECT_ID,
        "preferred_username": USER,
        "name": "Contoso Admin",
    }
    header = {"alg": "none", "typ": "JWT"}
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}."


class TokenAuthority:
    """Just enough of Entra ID's v2 endpoints: discovery, device code and token."""

    def __init__(self) -> None:
        self.device_codes = 0
        self.tokens: list[dict[str, list[str]]] = []

    def respond(self, request: web.Request, base: str) -> tuple[int, Any]:
        path = request.path
        issuer = f"{base}/{TENANT}/v2.0"
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            tenant_base = f"{base}/{TENANT}"
            return 200, {
                "issuer": issuer,
                "authorization_endpoint": f"{tenant_base}/oauth2/v2.0/authorize",
                "token_endpoint": f"{tenant_base}/oauth2/v2.0/token",
                "device_authorization_endpoint": f"{tenant_base}/oauth2/v2.0/devicecode",
            }
        if path.endswith("/oauth2/v2.0/devicecode"):
            self.device_codes += 1
            return 200, {
                "device_code": "device-code-123",
                "user_code": "CONTOSO1",
                "verification_uri": f"{base}/devicelogin",
                "expires_in": 900,
                "interval": 1,
                "message": "Open the page and enter the code.",
            }
        if path.endswith("/oauth2/v2.0/token"):
            return 404, {"error": "unexpected", "error_description": "token without a body"}
        return 404, {"error": "not_found", "error_description": path}

    def token(self, form: dict[str, list[str]], base: str) -> dict[str, Any]:
        self.tokens.append(form)
        client_id = form.get("client_id", [DEVELOPER_CLIENT_ID])[0]
        return {
            "token_type": "Bearer",
            "scope": form.get("scope", [""])[0],
            "expires_in": 3600,
            "ext_expires_in": 3600,
            "access_token": ARM_TOKEN,
            "refresh_token": "refresh-token-for-test",
            "id_token": _id_token(f"{base}/{TENANT}/v2.0", client_id),
            "client_info": _b64(json.dumps({"uid": OBJECT_ID, "utid": TENANT}).encode()),
        }


@pytest.fixture
def no_libsecret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A desktop without libsecret: PyGObject cannot be imported. HOME is the test's own."""
    monkeypatch.setitem(sys.modules, "gi", None)  # `import gi` raises ImportError
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AZURE_IMAGE_STUDIO_HOME", str(tmp_path / "data"))
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET", "AZURE_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def certificates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    made = make_certificates(tmp_path / "ca")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(made.ca_pem))
    return made


def _cloud(server: LocalServer) -> Cloud:
    host = server.url.removeprefix("https://")
    return Cloud("TestCloud", "Test cloud", "https://management.test.example", host)


class _TokenRoute:
    """Adds the POST token route (it needs the form body) in front of the JSON responder."""

    def __init__(self, authority: TokenAuthority) -> None:
        self.authority = authority

    def __call__(self, request: web.Request, base: str) -> tuple[int, Any]:
        if request.path.endswith("/oauth2/v2.0/token"):
            form = parse_qs(request[BODY])
            return 200, self.authority.token(form, base)
        return self.authority.respond(request, base)


@pytest.mark.asyncio
async def test_device_code_sign_in_without_libsecret_uses_the_noted_file_cache_and_is_reused(
    no_libsecret: Path, certificates: Any
) -> None:
    assert not cache_encryption_available()
    plan = token_cache_plan(TokenCacheMode.PERSISTENT)
    assert plan.location == no_libsecret / ".IdentityService" / "azure-image-studio.nocae"
    assert str(plan.location) in plan.note and "UNENCRYPTED" in plan.note
    authority = TokenAuthority()
    shown: list[tuple[str, str]] = []

    def prompt(uri: str, code: str, expires: datetime) -> None:
        shown.append((uri, code))

    async with local_server(_TokenRoute(authority), tls=certificates.server_context) as server:
        cloud = _cloud(server)
        session = await interactive_session(
            cloud, SignInMethod.DEVICE_CODE, tenant_id=TENANT, device_code_prompt=prompt
        )
        try:
            token = await session.credential.get_token(cloud.arm_scope)
        finally:
            await session.close()
        assert token.token == ARM_TOKEN
        assert shown == [(f"{server.url}/devicelogin", "CONTOSO1")]
        assert authority.device_codes == 1 and USER in session.account
        # the token cache is the file the note names, owner-only, and holds the token
        assert plan.location.is_file()
        assert plan.location.stat().st_mode & 0o077 == 0
        assert ARM_TOKEN in plan.location.read_text()
        saved = saved_sign_in()
        assert saved is not None and saved.record.username == USER
        assert saved.record.tenant_id == TENANT and saved.cloud == "TestCloud"
        assert "refresh-token" not in (no_libsecret.parent / "data" / "sign-in.json").read_text()

        # next start: the saved sign-in is reused silently (no device code, no prompt)
        restored = await restore_saved_sign_in(cloud)
        assert restored is not None
        try:
            again = await restored.credential.get_token(cloud.arm_scope)
        finally:
            await restored.close()
        assert again.token == ARM_TOKEN and authority.device_codes == 1 and len(shown) == 1


@pytest.mark.asyncio
async def test_memory_only_sign_in_writes_no_cache_and_forgets_the_saved_one(
    no_libsecret: Path, certificates: Any
) -> None:
    plan = token_cache_plan(TokenCacheMode.MEMORY)
    assert plan.options is None and "memory only" in plan.note
    authority = TokenAuthority()
    async with local_server(_TokenRoute(authority), tls=certificates.server_context) as server:
        cloud = _cloud(server)
        session = await interactive_session(
            cloud,
            SignInMethod.DEVICE_CODE,
            tenant_id=TENANT,
            device_code_prompt=lambda uri, code, expires: None,
            cache_mode=TokenCacheMode.MEMORY,
        )
        await session.close()
        assert not (no_libsecret / ".IdentityService").exists()
        assert saved_sign_in() is None
        assert await restore_saved_sign_in(cloud) is None


@pytest.mark.asyncio
async def test_a_refused_sign_in_is_a_not_signed_in_error(
    no_libsecret: Path, certificates: Any
) -> None:
    def refuse(request: web.Request, base: str) -> tuple[int, Any]:
        if request.path.endswith("/oauth2/v2.0/token"):
            return 400, {"error": "access_denied", "error_description": "AADSTS70000: denied"}
        return TokenAuthority().respond(request, base)

    async with local_server(refuse, tls=certificates.server_context) as server:
        with pytest.raises(NotSignedInError, match="Sign-in did not complete"):
            await interactive_session(
                _cloud(server),
                SignInMethod.DEVICE_CODE,
                tenant_id=TENANT,
                device_code_prompt=lambda uri, code, expires: None,
            )
    assert saved_sign_in() is None


@pytest.mark.asyncio
async def test_headless_commands_honour_the_azure_environment(
    no_libsecret: Path, certificates: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    authority = TokenAuthority()
    secret = f"sp-secret-{uuid.uuid4()}"
    async with local_server(_TokenRoute(authority), tls=certificates.server_context) as server:
        monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
        monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
        monkeypatch.setenv("AZURE_CLIENT_SECRET", secret)
        credential = headless_credential(_cloud(server))
        try:
            token = await asyncio.to_thread(
                credential.get_token, "https://storage.azure.com/.default"
            )
        finally:
            credential.close()  # type: ignore[attr-defined]
    assert token.token == ARM_TOKEN
    assert authority.tokens[-1]["grant_type"] == ["client_credentials"]
    assert authority.tokens[-1]["client_secret"] == [secret]

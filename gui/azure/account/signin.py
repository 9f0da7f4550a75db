"""Finding credentials: the Azure CLI sign-in, a saved browser or device-code sign-in, then an
interactive browser or device code; for headless commands the ``AZURE_*`` environment too.

The interactive credentials of azure-identity are synchronous and block while the user signs in;
``ThreadedCredential`` runs them in a worker thread so the GUI loop never waits on them. Token
caching is azure-identity's own, never ours: encrypted by the OS (libsecret, Keychain, DPAPI)
where it can be, else, on a Linux desktop without libsecret, azure-identity's unencrypted file
cache, which the sign-in dialog names (``token_cache_plan``), or memory only if the user prefers.
After a sign-in its AuthenticationRecord (account and tenant ids, no secret) is saved in the data
directory so the next start signs in silently from that cache (``restore_saved_sign_in``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    AuthenticationRecord,
    ChainedTokenCredential,
    DeviceCodeCredential,
    EnvironmentCredential,
    InteractiveBrowserCredential,
    ManagedIdentityCredential,
    TokenCachePersistenceOptions,
    WorkloadIdentityCredential,
)
from azure.identity import (
    AzureCliCredential as SyncAzureCliCredential,
)
from azure.identity.aio import AzureCliCredential

from gui.azure.account.clouds import CLOUDS, Cloud
from gui.azure.account.network import network_options
from gui.azure.account.session import AzureSession
from gui.azure.errors import NotSignedInError
from gui.paths import data_dir

log = logging.getLogger(__name__)

CLI_TIMEOUT_SECONDS = 20.0
RESTORE_TIMEOUT_SECONDS = 30.0
CACHE_NAME = "azure-image-studio"
RECORD_FILE = "sign-in.json"
# azure-identity's suffix for a cache without continuous access evaluation (what ARM asks for)
_CACHE_SUFFIX = ".nocae"


class SignInMethod(StrEnum):
    AZURE_CLI = "Azure CLI"
    BROWSER = "Browser"
    DEVICE_CODE = "Device code"


DeviceCodePrompt = Callable[[str, str, datetime], None]


class ThreadedCredential(AsyncTokenCredential):
    """An async face for a synchronous credential: each token request runs in a worker thread."""

    def __init__(self, credential: TokenCredential) -> None:
        self._credential = credential

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return await asyncio.to_thread(
            self._credential.get_token,
            *scopes,
            claims=claims,
            tenant_id=tenant_id,
            enable_cae=enable_cae,
            **kwargs,
        )

    async def close(self) -> None:
        close = getattr(self._credential, "close", None)
        if close is not None:
            await asyncio.to_thread(close)

    async def __aexit__(self, *args: object) -> None:
        await self.close()


def azure_cli_installed() -> bool:
    return shutil.which("az") is not None


async def try_azure_cli(cloud: Cloud) -> AzureSession | None:
    """A session on the Azure CLI's sign-in, or None when there is none (no prompt is shown)."""
    if not azure_cli_installed():
        return None
    credential = AzureCliCredential(process_timeout=int(CLI_TIMEOUT_SECONDS))
    try:
        await asyncio.wait_for(credential.get_token(cloud.arm_scope), CLI_TIMEOUT_SECONDS)
    except (ClientAuthenticationError, TimeoutError, OSError) as exc:
        log.info("No usable Azure CLI sign-in: %s", str(exc).splitlines()[0] if str(exc) else exc)
        await credential.close()
        return None
    return AzureSession(credential=credential, account="Azure CLI sign-in", cloud=cloud)


# ---- where tokens are kept ---------------------------------------------------------------------


class TokenCacheMode(StrEnum):
    PERSISTENT = "persistent"  # kept for the next start: encrypted, or a file when it cannot be
    MEMORY = "memory"  # forgotten when the app quits


@dataclass(frozen=True)
class TokenCachePlan:
    """How a sign-in's tokens are kept, and the note the sign-in dialog shows about it."""

    mode: TokenCacheMode
    options: TokenCachePersistenceOptions | None
    encrypted: bool
    location: Path | None  # the unencrypted cache file, when there is one
    note: str


def unencrypted_cache_path(name: str = CACHE_NAME) -> Path:
    """Where azure-identity keeps an unencrypted cache (its own fixed place on Linux and macOS)."""
    return Path(os.path.expanduser(os.path.join("~", ".IdentityService", name + _CACHE_SUFFIX)))


def cache_encryption_available() -> bool:
    """True where azure-identity can encrypt its token cache.

    Windows (DPAPI) and macOS (Keychain) always can. Linux needs libsecret through PyGObject
    and a running Secret Service; azure-identity tries the same trial run and, failing it, would
    refuse with "Cache encryption is impossible…" unless unencrypted storage is allowed.
    """
    if not sys.platform.startswith("linux"):
        return True
    try:
        # imported here: it is the trial itself (it fails without PyGObject, as the check should)
        from msal_extensions.libsecret import trial_run  # type: ignore[import-untyped]

        trial_run()
    except Exception as exc:  # ImportError (no gi), GLib errors (no D-Bus, locked keyring)
        log.info("No encrypted token cache here (libsecret unusable): %s", exc)
        return False
    return True


def token_cache_plan(mode: TokenCacheMode = TokenCacheMode.PERSISTENT) -> TokenCachePlan:
    """The cache options for ``mode`` on this desktop, with a note that says where tokens live."""
    if mode is TokenCacheMode.MEMORY:
        return TokenCachePlan(
            mode,
            None,
            encrypted=False,
            location=None,
            note="The sign-in is kept in memory only: you sign in again at the next start.",
        )
    if cache_encryption_available():
        return TokenCachePlan(
            mode,
            TokenCachePersistenceOptions(name=CACHE_NAME),
            encrypted=True,
            location=None,
            note="The sign-in is kept encrypted in the system keyring for the next start.",
        )
    location = unencrypted_cache_path()
    return TokenCachePlan(
        mode,
        TokenCachePersistenceOptions(name=CACHE_NAME, allow_unencrypted_storage=True),
        encrypted=False,
        location=location,
        note=(
            "No system keyring (libsecret) on this desktop: the sign-in is kept UNENCRYPTED in "
            f'{location}, readable only by your user account. Choose "memory only" to keep '
            "nothing on disk."
        ),
    )


def _protect(plan: TokenCachePlan) -> None:
    """An unencrypted cache file is made readable by its owner only."""
    if plan.location is not None:
        for path in (plan.location, plan.location.with_suffix(".cae")):
            with contextlib.suppress(OSError):
                path.chmod(0o600)


# ---- the saved sign-in (AuthenticationRecord: account and tenant ids, no secret) ----------------


@dataclass(frozen=True)
class SavedSignIn:
    cloud: str
    method: SignInMethod
    record: AuthenticationRecord


def record_path() -> Path:
    return data_dir() / RECORD_FILE


def save_sign_in(cloud: Cloud, method: SignInMethod, record: AuthenticationRecord) -> None:
    path = record_path()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(
        json.dumps({"cloud": cloud.name, "method": method.value, "record": record.serialize()}),
        encoding="utf-8",
    )
    os.replace(temporary, path)


def forget_sign_in() -> None:
    with contextlib.suppress(FileNotFoundError):
        record_path().unlink()


def saved_sign_in() -> SavedSignIn | None:
    try:
        data = json.loads(record_path().read_text(encoding="utf-8"))
        return SavedSignIn(
            str(data["cloud"]),
            SignInMethod(data["method"]),
            AuthenticationRecord.deserialize(data["record"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("Ignoring an unreadable saved sign-in (%s): sign in again.", exc)
        return None


def _account(record: AuthenticationRecord, method: SignInMethod) -> str:
    return f"{record.username} ({method.value.lower()} sign-in)"


def _authority(cloud: Cloud) -> dict[str, Any]:
    """The authority options for ``cloud``'s sign-in endpoint.

    A custom cloud (Azure Stack Hub, a private authority named by `az cloud show`) is not known
    to Microsoft's instance discovery, which would otherwise ask login.microsoftonline.com
    about it: its own endpoint is trusted as it is.
    """
    options: dict[str, Any] = {"authority": cloud.authority_host}
    if cloud.name not in CLOUDS:
        options["disable_instance_discovery"] = True
    return options


def _interactive_credential(
    cloud: Cloud,
    method: SignInMethod,
    plan: TokenCachePlan,
    *,
    tenant_id: str | None = None,
    record: AuthenticationRecord | None = None,
    device_code_prompt: DeviceCodePrompt | None = None,
) -> InteractiveBrowserCredential | DeviceCodeCredential:
    options: dict[str, Any] = {**_authority(cloud), **network_options()}
    if plan.options is not None:
        options["cache_persistence_options"] = plan.options
    if record is not None:
        # reuse the saved account silently; never open a browser or show a code by surprise
        options.pop("authority")  # the record names its own authority
        options["authentication_record"] = record
        options["disable_automatic_authentication"] = True
        tenant_id = tenant_id or record.tenant_id
    if tenant_id:
        options["tenant_id"] = tenant_id
    if method is SignInMethod.DEVICE_CODE:
        if device_code_prompt is None:
            if record is None:
                raise NotSignedInError("Device-code sign-in needs a place to show the code.")
            return DeviceCodeCredential(**options)

        def prompt(uri: str, code: str, expires: datetime) -> None:
            device_code_prompt(uri, code, expires)

        return DeviceCodeCredential(prompt_callback=prompt, **options)
    return InteractiveBrowserCredential(**options)


async def interactive_session(
    cloud: Cloud,
    method: SignInMethod,
    *,
    tenant_id: str | None = None,
    device_code_prompt: DeviceCodePrompt | None = None,
    cache_mode: TokenCacheMode = TokenCacheMode.PERSISTENT,
) -> AzureSession:
    """Signs in with a browser window or a device code; raises NotSignedInError on failure.

    With a persistent cache the AuthenticationRecord is saved, so the next start signs in
    silently (``restore_saved_sign_in``); with memory only, a saved one is forgotten.
    """
    plan = await asyncio.to_thread(token_cache_plan, cache_mode)
    sync_credential = _interactive_credential(
        cloud, method, plan, tenant_id=tenant_id, device_code_prompt=device_code_prompt
    )
    credential = ThreadedCredential(sync_credential)
    try:
        record = await asyncio.to_thread(sync_credential.authenticate, scopes=[cloud.arm_scope])
    except (ClientAuthenticationError, ValueError) as exc:
        await credential.close()
        reason = exc.message if isinstance(exc, ClientAuthenticationError) else str(exc)
        raise NotSignedInError(f"Sign-in did not complete: {reason}") from exc
    if plan.mode is TokenCacheMode.PERSISTENT:
        _protect(plan)
        save_sign_in(cloud, method, record)
    else:
        forget_sign_in()
    log.info("Signed in as %s; %s", record.username, plan.note)
    return AzureSession(credential=credential, account=_account(record, method), cloud=cloud)


async def restore_saved_sign_in(cloud: Cloud) -> AzureSession | None:
    """A session on the sign-in saved last time, without any prompt; None when it cannot be
    reused (none saved, another cloud, expired or no cached token)."""
    saved = await asyncio.to_thread(saved_sign_in)
    if saved is None or saved.cloud != cloud.name:
        return None
    plan = await asyncio.to_thread(token_cache_plan, TokenCacheMode.PERSISTENT)
    sync_credential = _interactive_credential(cloud, saved.method, plan, record=saved.record)
    credential = ThreadedCredential(sync_credential)
    try:
        await asyncio.wait_for(credential.get_token(cloud.arm_scope), RESTORE_TIMEOUT_SECONDS)
    except (ClientAuthenticationError, ValueError, TimeoutError, OSError) as exc:
        log.info("The saved sign-in of %s needs a new sign-in: %s", saved.record.username, exc)
        await credential.close()
        return None
    return AzureSession(
        credential=credential, account=_account(saved.record, saved.method), cloud=cloud
    )


# ---- headless commands ---------------------------------------------------------------------------


def headless_credential(cloud: Cloud | None = None) -> TokenCredential:
    """The credential for headless commands, tried in this order (as DefaultAzureCredential):

    1. the ``AZURE_*`` environment (EnvironmentCredential: a service principal's secret or
       certificate), and workload identity when ``AZURE_FEDERATED_TOKEN_FILE`` is set;
    2. managed identity (an Azure VM, App Service, Arc; a one-second probe elsewhere);
    3. the app's saved browser or device-code sign-in, silently;
    4. the Azure CLI's sign-in.

    It never prompts. A synchronous credential: callers on an event loop run ``get_token`` in a
    thread (gui.transfer does). Proxy and CA bundle come from the environment, as for the app.
    """
    network = network_options()
    authority = _authority(cloud) if cloud is not None else {}
    chain: list[TokenCredential] = [EnvironmentCredential(**authority, **network)]
    if os.environ.get("AZURE_FEDERATED_TOKEN_FILE"):
        chain.append(WorkloadIdentityCredential(**authority, **network))
    chain.append(ManagedIdentityCredential(**network))
    saved = saved_sign_in()
    if saved is not None and (cloud is None or saved.cloud == cloud.name):
        saved_cloud = CLOUDS.get(saved.cloud)
        if saved_cloud is not None:
            plan = token_cache_plan(TokenCacheMode.PERSISTENT)
            chain.append(
                _interactive_credential(saved_cloud, saved.method, plan, record=saved.record)
            )
    chain.append(SyncAzureCliCredential(process_timeout=int(CLI_TIMEOUT_SECONDS)))
    return ChainedTokenCredential(*chain)

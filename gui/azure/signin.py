"""Finding credentials: the Azure CLI sign-in first, then an interactive browser or device code.

The interactive credentials of azure-identity are synchronous and block while the user signs in;
``ThreadedCredential`` runs them in a worker thread so the GUI loop never waits on them. Token
caching is azure-identity's own (persisted in the OS keyring where available), never ours.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import (
    DeviceCodeCredential,
    InteractiveBrowserCredential,
    TokenCachePersistenceOptions,
)
from azure.identity.aio import AzureCliCredential

from gui.azure.clouds import Cloud
from gui.azure.errors import NotSignedInError
from gui.azure.session import AzureSession

log = logging.getLogger(__name__)

CLI_TIMEOUT_SECONDS = 20.0
CACHE_NAME = "azure-image-studio"


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


def _cache_options() -> TokenCachePersistenceOptions:
    return TokenCachePersistenceOptions(name=CACHE_NAME)


async def interactive_session(
    cloud: Cloud,
    method: SignInMethod,
    *,
    tenant_id: str | None = None,
    device_code_prompt: DeviceCodePrompt | None = None,
) -> AzureSession:
    """Signs in with a browser window or a device code; raises NotSignedInError on failure."""
    options: dict[str, Any] = {
        "authority": cloud.authority_host,
        "cache_persistence_options": _cache_options(),
    }
    if tenant_id:
        options["tenant_id"] = tenant_id
    sync_credential: TokenCredential
    if method is SignInMethod.DEVICE_CODE:
        if device_code_prompt is None:
            raise NotSignedInError("Device-code sign-in needs a place to show the code.")

        def prompt(uri: str, code: str, expires: datetime) -> None:
            device_code_prompt(uri, code, expires)

        sync_credential = DeviceCodeCredential(prompt_callback=prompt, **options)
    else:
        sync_credential = InteractiveBrowserCredential(**options)
    credential = ThreadedCredential(sync_credential)
    try:
        await credential.get_token(cloud.arm_scope)
    except ClientAuthenticationError as exc:
        await credential.close()
        raise NotSignedInError(f"Sign-in did not complete: {exc.message}") from exc
    return AzureSession(credential=credential, account=f"{method.value} sign-in", cloud=cloud)

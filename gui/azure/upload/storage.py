"""Storage accounts as page-blob targets and sources: list accounts and containers, make a SAS.

A SAS is made from the account key (listKeys) for one blob (an upload's write and create, a
download's read only) or one container (list and read, to list its blobs), and lives in
memory: it is never saved, and a resumed upload asks the account for a new one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from azure.storage.blob import (
    BlobSasPermissions,
    ContainerSasPermissions,
    generate_blob_sas,
    generate_container_sas,
)

from gui.azure.account.session import AzureSession
from gui.azure.arm import name_of, resource_group_of
from gui.azure.errors import AzureServiceError, NotFoundError, translated
from gui.i18n import QT_TR_NOOP, message

SAS_LIFETIME = timedelta(days=7)


@dataclass(frozen=True)
class StorageAccount:
    id: str
    name: str
    resource_group: str
    location: str
    blob_endpoint: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.resource_group}, {self.location})"


async def list_storage_accounts(
    session: AzureSession, subscription_id: str
) -> list[StorageAccount]:
    client = session.storage(subscription_id)
    with translated():
        items = [item async for item in client.storage_accounts.list()]
    accounts = []
    for item in items:
        endpoints = item.primary_endpoints
        blob = getattr(endpoints, "blob", None) if endpoints is not None else None
        if not item.name or not blob:
            continue
        accounts.append(
            StorageAccount(
                id=str(item.id or ""),
                name=item.name,
                resource_group=resource_group_of(str(item.id or "")),
                location=str(item.location or ""),
                blob_endpoint=str(blob),
            )
        )
    return sorted(accounts, key=lambda account: account.name)


async def list_containers(
    session: AzureSession, subscription_id: str, account: StorageAccount
) -> list[str]:
    client = session.storage(subscription_id)
    with translated():
        items = [
            item async for item in client.blob_containers.list(account.resource_group, account.name)
        ]
    return sorted(str(item.name) for item in items if item.name)


async def account_key(session: AzureSession, subscription_id: str, account: StorageAccount) -> str:
    """The account's first key (listKeys): kept in memory by the caller, never saved or shown."""
    client = session.storage(subscription_id)
    with translated():
        result = await client.storage_accounts.list_keys(account.resource_group, account.name)
    # the models are mappings: ``result.keys`` is Mapping.keys, so read the field itself
    keys = [str(key["value"]) for key in (result.get("keys") or []) if key.get("value")]
    if not keys:
        raise NotFoundError(
            message(
                QT_TR_NOOP("Storage account {name} gave no key. Key access may be disabled on "
                           "it: paste a SAS URL instead, or allow shared key access."),
                name=account.name)
        )
    return keys[0]


# What an upload's SAS may do: read back, create the blob, write its pages.
WRITE = BlobSasPermissions(read=True, add=True, create=True, write=True)
READ = BlobSasPermissions(read=True)


async def blob_sas_url(
    session: AzureSession,
    subscription_id: str,
    account: StorageAccount,
    container: str,
    blob: str,
    *,
    lifetime: timedelta = SAS_LIFETIME,
    permission: BlobSasPermissions = WRITE,
) -> str:
    """A URL with a SAS for one blob, signed with the account's key: by default the upload's
    write SAS; ``permission=READ`` gives a read-only one (a download, a copy's source)."""
    key = await account_key(session, subscription_id, account)
    token = _signed(account, lambda: generate_blob_sas(
        account_name=account.name,
        container_name=container,
        blob_name=blob,
        account_key=key,
        permission=permission,
        expiry=datetime.now(UTC) + lifetime,
    ))
    return f"{blob_url(account, container, blob)}?{token}"


def _container_url(account: StorageAccount, container: str) -> str:
    return f"{account.blob_endpoint.rstrip('/')}/{container}"


def blob_url(account: StorageAccount, container: str, blob: str) -> str:
    """The blob's URL without a SAS (what may be shown)."""
    return f"{_container_url(account, container)}/{quote(blob)}"


def _signed(account: StorageAccount, sign: Callable[[], str]) -> str:
    """A SAS token from ``sign``; the SDK's ValueError (a bad key) as our error."""
    try:
        return sign()
    except ValueError as exc:
        raise AzureServiceError(message(
            QT_TR_NOOP("Could not sign a SAS for {name}: {reason}"),
            name=account.name, reason=exc)) from exc


async def container_sas_url(
    session: AzureSession,
    subscription_id: str,
    account: StorageAccount,
    container: str,
    *,
    lifetime: timedelta,
) -> str:
    """A URL with a list-and-read SAS for one container (listing its blobs and their
    properties), signed with the account's key; kept in memory by the caller only."""
    key = await account_key(session, subscription_id, account)
    token = _signed(account, lambda: generate_container_sas(
        account_name=account.name,
        container_name=container,
        account_key=key,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(UTC) + lifetime,
    ))
    return f"{_container_url(account, container)}?{token}"


async def renew_blob_sas(
    session: AzureSession, subscription_id: str, storage_account_id: str, blob_url: str
) -> str:
    """A new SAS URL for a blob of a known account (a resumed upload: SAS are never saved)."""
    from urllib.parse import unquote, urlsplit

    name = name_of(storage_account_id)
    split = urlsplit(blob_url)
    segments = [unquote(part) for part in split.path.strip("/").split("/")]
    endpoint = f"{split.scheme}://{split.netloc}/"
    if segments and segments[0] == name and not split.netloc.startswith(f"{name}."):
        segments = segments[1:]  # an emulator-style URL names the account in its path
        endpoint += f"{name}/"
    if len(segments) < 2:
        raise NotFoundError(message(
            QT_TR_NOOP("{blob_url} does not name a container and a blob."),
            blob_url=blob_url))
    container, blob = segments[0], "/".join(segments[1:])
    account = StorageAccount(
        id=storage_account_id,
        name=name,
        resource_group=resource_group_of(storage_account_id),
        location="",
        blob_endpoint=endpoint,
    )
    return await blob_sas_url(session, subscription_id, account, container, blob)

"""The image source "VHDs in storage accounts": storage account → container → page blob.

ARM lists the accounts and containers; the blobs come from the account's blob endpoint, read
with a container SAS (list and read, a few minutes long) signed with the account key from
listKeys. That SAS, the key and a blob's read SAS (``blob_read_sas_url``: what Download… hands
the download) live in memory only: never saved, logged or shown. Only page blobs are listed:
a VHD is a page blob (an unmanaged VM's disk, an upload); block blobs are not disks.

Each function raises :mod:`gui.azure.errors` types only, through ``translated()``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gui.azure.account.network import sdk_client_options
from gui.azure.account.session import AzureSession
from gui.azure.arm import resource_group_of
from gui.azure.catalog.nodes import (
    ByteSize,
    CatalogNode,
    DiskRole,
    DiskSpec,
    ImageDetail,
    NodeKind,
    NodeRef,
    SourceKind,
    blob_name,
    blob_part,
)
from gui.azure.errors import NotFoundError, PermissionDeniedError, translated
from gui.azure.upload.storage import (
    READ,
    StorageAccount,
    blob_sas_url,
    blob_url,
    container_sas_url,
)
from gui.i18n import QT_TR_NOOP, Message, Text, message

# Long enough to list a container or start a download (which asks again on resume), short
# enough that a SAS copied out of memory is soon worth nothing.
LISTING_SAS_LIFETIME = timedelta(minutes=15)
READ_SAS_LIFETIME = timedelta(hours=8)
PAGE_BLOB = "PageBlob"


class SharedKeyAccessDisabledError(PermissionDeniedError):
    """The account refuses requests signed with its key (allowSharedKeyAccess is false)."""

    title = Text(QT_TR_NOOP("Shared key access is disabled"))
    advice = Text(QT_TR_NOOP(
        "Use the blob's URL with a SAS instead (the download and copy commands take one), or "
        "allow shared key access on the storage account."))


# --- the tree -----------------------------------------------------------------------------


async def storage_children(
    session: AzureSession, subscription_id: str, ref: NodeRef
) -> list[CatalogNode]:
    """What sits below ``ref``: the accounts (the source), an account's containers, a
    container's page blobs; nothing below a blob."""
    depth = len(ref.parts)
    if depth == 0:
        return await _account_nodes(session, subscription_id, ref)
    if depth == 2:
        return await _container_nodes(session, subscription_id, ref)
    if depth == 3:
        return await _blob_nodes(session, subscription_id, ref)
    return []


async def _account_nodes(
    session: AzureSession, subscription_id: str, ref: NodeRef
) -> list[CatalogNode]:
    client = session.storage(subscription_id)
    with translated():
        items = [item async for item in client.storage_accounts.list()]
    nodes = []
    for item in items:
        if not item.name:
            continue
        group = resource_group_of(str(item.id or ""))
        nodes.append(CatalogNode(
            ref.child(group, item.name), NodeKind.STORAGE_ACCOUNT, item.name,
            summary=f"{group} · {item.location or ''}"))
    return sorted(nodes, key=lambda node: node.label.casefold())


async def _container_nodes(
    session: AzureSession, subscription_id: str, ref: NodeRef
) -> list[CatalogNode]:
    group, account = ref.parts
    client = session.storage(subscription_id)
    with translated():
        items = [item async for item in client.blob_containers.list(group, account)]
    names = sorted((str(item.name) for item in items if item.name), key=str.casefold)
    return [CatalogNode(ref.child(name), NodeKind.CONTAINER, name) for name in names]


async def _blob_nodes(
    session: AzureSession, subscription_id: str, ref: NodeRef
) -> list[CatalogNode]:
    group, account_name, container = ref.parts
    return blob_nodes(ref, await _page_blobs(session, subscription_id, group, account_name,
                                             container))


def blob_nodes(ref: NodeRef, blobs: list[Any]) -> list[CatalogNode]:
    """The nodes of a container (``ref``) for its listed page blobs (the SDK's BlobProperties)."""
    return [
        CatalogNode(
            ref.child(blob_part(str(blob.name))), NodeKind.BLOB, str(blob.name), is_image=True,
            summary=_blob_summary(blob))
        for blob in blobs
    ]


def _blob_summary(blob: Any) -> Text:
    modified = blob.last_modified
    template = QT_TR_NOOP("{size} · modified {modified}")
    if _leased(blob):
        template = QT_TR_NOOP("{size} · modified {modified} · in use")
    return Text(Message(template, {"size": ByteSize(int(blob.size or 0)),
                                   "modified": modified if modified else ""}))


# --- the detail ---------------------------------------------------------------------------


async def blob_detail(session: AzureSession, subscription_id: str, ref: NodeRef) -> ImageDetail:
    """A page blob's facts: type, size, Content-MD5 (when set), lease (in use by a VM or a
    disk, or free), its URL without any SAS; the blob itself as the one disk of the table."""
    group, account_name, container, part = ref.parts
    name = blob_name(part)
    account = await storage_account(session, subscription_id, group, account_name)
    found = [
        blob for blob in await _page_blobs(session, subscription_id, group, account_name,
                                           container, account=account, prefix=name)
        if blob.name == name
    ]
    if not found:
        raise NotFoundError(message(
            QT_TR_NOOP("Page blob {blob} is no longer in container {container} of {account}."),
            blob=name, container=container, account=account_name))
    return detail_of(ref, account, container, found[0])


def detail_of(ref: NodeRef, account: StorageAccount, container: str, blob: Any) -> ImageDetail:
    """A listed page blob's (the SDK's BlobProperties) detail, in ``account``'s ``container``."""
    group, name = account.resource_group, str(blob.name)
    size = int(blob.size or 0)
    settings = blob.content_settings
    md5 = bytes(settings.content_md5 or b"") if settings is not None else b""
    lease = blob.lease
    in_use = _leased(blob)
    properties: list[tuple[str, str | datetime]] = [
        (QT_TR_NOOP("Blob type"), Text(QT_TR_NOOP("Page blob"))),
        (QT_TR_NOOP("Size"), Text(message(QT_TR_NOOP("{size} ({count} bytes)"),
                                          size=ByteSize(size), count=size))),
        (QT_TR_NOOP("Storage account"), account.name),
        (QT_TR_NOOP("Resource group"), group),
        (QT_TR_NOOP("Container"), container),
        (QT_TR_NOOP("Lease"), Text(
            QT_TR_NOOP("Leased: in use by a VM or a disk") if in_use
            else QT_TR_NOOP("Available: not in use"))),
        (QT_TR_NOOP("Blob URL"), blob_url(account, container, name)),
    ]
    if blob.last_modified:
        properties.append((QT_TR_NOOP("Last modified"), blob.last_modified))
    if md5:
        properties.append((QT_TR_NOOP("Content-MD5"), _base64(md5)))
    if lease is not None and getattr(lease, "duration", None) and in_use:
        properties.append((QT_TR_NOOP("Lease duration"), str(lease.duration)))
    return ImageDetail(
        ref=ref,
        title=name,
        resource_id=account.id,
        os_type="",
        os_state="",
        hyper_v_generation="",
        architecture="",
        security_type="",
        location=account.location,
        disks=(DiskSpec(DiskRole.OS, size_bytes=size, storage_type=Text(QT_TR_NOOP("Page blob")),
                        source=blob_url(account, container, name)),),
        properties=tuple(properties),
    )


def _base64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode("ascii")


def _leased(blob: Any) -> bool:
    lease = getattr(blob, "lease", None)
    return str(getattr(lease, "state", "") or "").lower() == "leased" if lease else False


# --- what Download… and Copy to… need -----------------------------------------------------


def blob_location(ref: NodeRef) -> tuple[str, str, str, str]:
    """(resource group, account, container, blob name) of a blob node's ``ref``."""
    if ref.source is not SourceKind.STORAGE or len(ref.parts) != 4:
        raise NotFoundError(f"{ref.key} is not a blob.")
    group, account, container, part = ref.parts
    return group, account, container, blob_name(part)


async def blob_read_sas_url(session: AzureSession, subscription_id: str, ref: NodeRef) -> str:
    """The blob's URL with a short-lived read-only SAS signed with the account key, for a
    download: in memory only (the download keeps it in memory and asks again on resume)."""
    group, account_name, container, name = blob_location(ref)
    account = await storage_account(session, subscription_id, group, account_name)
    return await blob_sas_url(session, subscription_id, account, container, name,
                              lifetime=READ_SAS_LIFETIME, permission=READ)


async def storage_account(
    session: AzureSession, subscription_id: str, group: str, name: str
) -> StorageAccount:
    """The account as ARM has it now (its blob endpoint); NotFoundError when it is gone,
    SharedKeyAccessDisabledError when it takes no key-signed requests."""
    client = session.storage(subscription_id)
    # The subscription's list (the call the upload's account picker makes) has the same
    # properties as a GET of one account.
    with translated():
        items = [item async for item in client.storage_accounts.list()]
    found = [item for item in items
             if str(item.name or "").lower() == name.lower()
             and resource_group_of(str(item.id or "")).lower() == group.lower()]
    if not found:
        raise NotFoundError(message(
            QT_TR_NOOP("Storage account {name} is no longer in resource group {group}."),
            name=name, group=group))
    item = found[0]
    endpoints = item.primary_endpoints
    endpoint = getattr(endpoints, "blob", None) if endpoints is not None else None
    if not endpoint:
        raise NotFoundError(message(
            QT_TR_NOOP("Storage account {name} has no blob service."), name=name))
    if item.allow_shared_key_access is False:
        raise _key_access_disabled(name)
    return StorageAccount(id=str(item.id or ""), name=name, resource_group=group,
                          location=str(item.location or ""), blob_endpoint=str(endpoint))


def _key_access_disabled(name: str, request_id: str | None = None) -> SharedKeyAccessDisabledError:
    return SharedKeyAccessDisabledError(
        message(QT_TR_NOOP("Storage account {name} does not accept requests signed with its "
                           "key."), name=name),
        code="KeyBasedAuthenticationNotPermitted", status=403, request_id=request_id)


async def _page_blobs(
    session: AzureSession,
    subscription_id: str,
    group: str,
    account_name: str,
    container: str,
    *,
    account: StorageAccount | None = None,
    prefix: str | None = None,
) -> list[Any]:
    """The container's page blobs (the SDK's BlobProperties), by name."""
    if account is None:
        account = await storage_account(session, subscription_id, group, account_name)
    url = await container_sas_url(session, subscription_id, account, container,
                                  lifetime=LISTING_SAS_LIFETIME)
    try:
        return await list_page_blobs(url, prefix=prefix)
    except PermissionDeniedError as error:
        # the blob service's code is on the SDK's exception, not in an ARM error body
        code = error.code or getattr(error.__cause__, "error_code", None)
        if str(code) == "KeyBasedAuthenticationNotPermitted":
            raise _key_access_disabled(account_name, error.request_id) from error
        raise


async def list_page_blobs(container_url: str, *, prefix: str | None = None) -> list[Any]:
    """The page blobs (the SDK's BlobProperties, by name) of the container at
    ``container_url``, which carries a SAS with list permission (never logged: the SDK's log
    redacts it, errors are ours)."""
    # Imported here: only this source (and the copies) talk to the blob service this way.
    from azure.storage.blob.aio import ContainerClient

    client = ContainerClient.from_container_url(
        container_url, **sdk_client_options(container_url, "The blob endpoint"))
    async with client:
        with translated():
            blobs = [blob async for blob in client.list_blobs(name_starts_with=prefix)]
    pages = [blob for blob in blobs
             if str(getattr(blob.blob_type, "value", blob.blob_type)) == PAGE_BLOB]
    return sorted(pages, key=lambda blob: str(blob.name).casefold())

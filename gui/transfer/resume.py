"""Rebuilding the target of an unfinished upload, for "resume" at the next start.

Journals keep no secrets, so resuming needs the credential again: a fresh SAS URL for the same
blob, the connection string, or the Entra ID credential. Managed disks resume through
``gui.azure.upload.managed_disk.ManagedDiskUpload`` (it grants a new SAS), keyed by the disk's
id kept
in ``UnfinishedUpload.target["identity"]``.
"""

from __future__ import annotations

from typing import Any

from gui.i18n import QT_TR_NOOP, Text, message
from gui.transfer.errors import InvalidTargetError
from gui.transfer.journal import UnfinishedUpload
from gui.transfer.targets import (
    BlobTarget,
    ConnectionStringTarget,
    SasUrlTarget,
    TokenCredentialTarget,
    canonical_blob_url,
)


def target_for(
    unfinished: UnfinishedUpload,
    *,
    sas_url: str | None = None,
    connection_string: str | None = None,
    credential: Any = None,
) -> BlobTarget:
    """The target to pass to a new ``Upload`` with the same source, which then resumes.

    Any of the three credentials works for any blob upload (the journal is keyed by the blob's
    URL alone); the one given must reach the same blob.
    """
    info = unfinished.target
    blob_url = info.get("blob_url", "")
    if info.get("kind") == "managed-disk":
        raise InvalidTargetError(
            Text(QT_TR_NOOP("A managed-disk upload resumes through the disk upload (it grants a "
                           "new SAS), not through a blob target."))
        )
    target: BlobTarget
    if sas_url is not None:
        target = SasUrlTarget(sas_url)
    elif connection_string is not None:
        container, name = info.get("container"), info.get("name")
        if not container or not name:
            raise InvalidTargetError(
                message(
                    QT_TR_NOOP("This upload was started with a SAS URL: resume it with a new SAS "
                               "URL for {blob_url}."),
                    blob_url=blob_url)
            )
        target = ConnectionStringTarget(connection_string, container, name)
    elif credential is not None:
        account_url, container, name = (
            info.get("account_url"),
            info.get("container"),
            info.get("name"),
        )
        if not account_url or not container or not name:
            raise InvalidTargetError(
                message(
                    QT_TR_NOOP("Resume this upload with a SAS URL or the connection string for "
                               "{blob_url}."),
                    blob_url=blob_url)
            )
        target = TokenCredentialTarget(account_url, container, name, credential)
    else:
        raise InvalidTargetError(
            message(
                QT_TR_NOOP("Give a SAS URL, a connection string or a sign-in for {blob_url}."),
                blob_url=blob_url)
        )
    if target.blob_url != canonical_blob_url(blob_url):
        raise InvalidTargetError(
            message(
                QT_TR_NOOP("That credential points at {blob_url}, but the unfinished upload goes "
                           "to {journal_url}."),
                blob_url=target.blob_url, journal_url=blob_url)
        )
    return target

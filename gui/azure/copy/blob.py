"""A page blob into another storage account (another subscription or region too), server-side.

Azure's ways to copy a blob without reading it here: Copy Blob From URL is synchronous but takes
only block blobs up to 256 MiB (the REST reference: "any committed block blob"), so a page blob
(a VHD) goes with the asynchronous Copy Blob: the target account reads the source through a
read-only SAS, and the target blob's ``x-ms-copy-status``/``x-ms-copy-progress`` say how far it
is. A block blob up to 256 MiB takes Copy Blob From URL.

Steps: grant (a read SAS for the source and a write SAS for the target, signed with the
accounts' keys, unless the URLs carry a SAS already; kept in memory, never logged), check (the
source is a page blob, the target container exists, the target name is free), copy (start,
then Azure's progress), verify (the target's size, page list and Content-MD5 equal the
source's: metadata reads, no data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobSasPermissions, generate_blob_sas

from gui.azure.account.network import sdk_client_options
from gui.azure.account.session import AzureSession
from gui.azure.copy.job import CopyFailedError, CopyJob, CopyRefusedError
from gui.azure.errors import NotFoundError, translated
from gui.azure.steps import Progress, StepAction, StepSpec
from gui.azure.upload.storage import (
    SAS_LIFETIME,
    StorageAccount,
    blob_sas_url,
    list_storage_accounts,
)
from gui.i18n import QT_TR_NOOP, Message, Text
from gui.transfer.tls import is_loopback_host
from gui.units import human_bytes

SYNC_COPY_LIMIT = 256 * 1024 * 1024  # Copy Blob From URL's largest source


@dataclass(frozen=True)
class BlobLocation:
    """Where a blob (or a container, ``blob`` empty) is: its service endpoint, account,
    container and name; ``sas`` is the URL's query when it carries a SAS."""

    endpoint: str  # https://account.blob.core.windows.net/ or http://127.0.0.1:port/account/
    account: str
    container: str
    blob: str = ""
    sas: str = ""

    @classmethod
    def parse(cls, url: str) -> BlobLocation:
        """A blob or container URL, in Azure's form (the account in the host name) or an
        emulator's (the account as the first path segment, on a loopback or IP host)."""
        split = urlsplit(url)
        host = split.hostname or ""
        shown = f"{split.scheme}://{split.netloc}{split.path}"  # never the SAS
        segments = [unquote(part) for part in split.path.strip("/").split("/") if part]
        if not split.scheme or not host:
            raise ValueError(f"{shown} is not a URL")
        if is_loopback_host(host) or host.replace(".", "").isdigit():
            if not segments:
                raise ValueError(f"{shown} names no storage account")
            account, segments = segments[0], segments[1:]
            endpoint = f"{split.scheme}://{split.netloc}/{account}/"
        else:
            account = host.split(".", 1)[0]
            endpoint = f"{split.scheme}://{split.netloc}/"
        if not segments:
            raise ValueError(f"{shown} names no container")
        sas = split.query if "sig=" in split.query else ""
        return cls(endpoint, account, segments[0], "/".join(segments[1:]), sas)

    def named(self, blob: str) -> BlobLocation:
        return BlobLocation(self.endpoint, self.account, self.container, blob, self.sas)

    @property
    def url(self) -> str:
        """The blob's URL without a SAS (what messages and results show)."""
        return f"{self.endpoint}{self.container}/{quote(self.blob)}"

    def with_sas(self, sas: str) -> str:
        return f"{self.url}?{sas}"


@dataclass(frozen=True)
class BlobCopyPlan:
    source: BlobLocation  # a blob
    target: BlobLocation  # a container, or a blob (its name) in one
    subscription_id: str | None = None  # where the accounts are, when the URLs carry no SAS

    @property
    def target_blob(self) -> BlobLocation:
        return self.target if self.target.blob else self.target.named(self.source.blob)


class BlobCopy(CopyJob):
    def __init__(
        self, session: AzureSession, plan: BlobCopyPlan, *, poll_seconds: float | None = None
    ) -> None:
        super().__init__(
            poll_seconds if poll_seconds is not None else (0.2 if session.is_sandbox else 5.0)
        )
        self.session = session
        self.plan = plan
        self._source_url = ""  # with its SAS: never shown
        self._target_url = ""
        self._source_props: Any = None
        target = plan.target_blob
        self.steps = [
            StepSpec(
                "grant",
                Text(QT_TR_NOOP("Grant read access to the source and write access to the "
                                "target")),
                Text(Message(QT_TR_NOOP("Sign a read-only SAS for {source} and a write SAS for "
                                        "{target} with the accounts' keys (kept in memory)"),
                             {"source": plan.source.url, "target": target.url})),
                Text(QT_TR_NOOP("Nothing was changed. Give URLs with a SAS, or allow shared key "
                                "access on the storage accounts, and start again.")),
            ),
            StepSpec(
                "check",
                Text(Message(QT_TR_NOOP("Check {source} and the target container"),
                             {"source": plan.source.blob})),
            ),
            StepSpec(
                "copy",
                Text(Message(QT_TR_NOOP("Copy {blob} to {account}"),
                             {"blob": plan.source.blob, "account": target.account})),
                Text(Message(QT_TR_NOOP("Create blob {target} as a server-side copy of "
                                        "{source}"),
                             {"target": target.url, "source": plan.source.url})),
                Text(QT_TR_NOOP("Delete the incomplete target blob and start the copy again.")),
            ),
            StepSpec(
                "verify",
                Text(QT_TR_NOOP("Verify the copy")),
                "",
                Text(QT_TR_NOOP("The target differs from the source: delete it and start the "
                                "copy again.")),
            ),
        ]

    def made(self) -> str:
        return self.plan.target_blob.url

    def action(self, step: StepSpec) -> StepAction:
        actions: dict[str, StepAction] = {
            "grant": lambda progress: self._grant(),
            "check": lambda progress: self._check(),
            "copy": self._copy,
            "verify": lambda progress: self._verify(),
        }
        return actions[step.key]

    def _client(self, url: str) -> Any:
        # Imported here: only blob copies need the blob SDK's aio client.
        from azure.storage.blob.aio import BlobClient

        return BlobClient.from_blob_url(url, **sdk_client_options(url, "The blob endpoint"))

    # --- grant ------------------------------------------------------------------------

    async def _grant(self) -> str:
        plan = self.plan
        source, target = plan.source, plan.target_blob
        if source.sas and target.sas:
            self._source_url, self._target_url = source.with_sas(source.sas), target.with_sas(
                target.sas
            )
            return Text(QT_TR_NOOP("Both URLs carry a SAS; nothing to grant."))
        accounts = await self._accounts()
        if source.sas:
            self._source_url = source.with_sas(source.sas)
        else:
            self._source_url = await self._read_sas(*_account(accounts, source), source)
        if target.sas:
            self._target_url = target.with_sas(target.sas)
        else:
            account, subscription = _account(accounts, target)
            self._target_url = await blob_sas_url(
                self.session, subscription, account, target.container, target.blob
            )
        return Text(QT_TR_NOOP("Read access to the source and write access to the target "
                               "granted."))

    async def _accounts(self) -> list[tuple[StorageAccount, str]]:
        """The storage accounts the session can see, each with its subscription."""
        subscriptions: list[str]
        if self.plan.subscription_id:
            subscriptions = [self.plan.subscription_id]
        else:
            with translated():
                subscriptions = [
                    str(s.subscription_id)
                    async for s in self.session.subscriptions().subscriptions.list()
                ]
        return [
            (account, subscription)
            for subscription in subscriptions
            for account in await list_storage_accounts(self.session, subscription)
        ]

    async def _read_sas(
        self, account: StorageAccount, subscription: str, where: BlobLocation
    ) -> str:
        """A read-only SAS for one blob, signed with the account's key (Copy Blob reads the
        source with it; nothing more is granted)."""
        client = self.session.storage(subscription)
        with translated():
            result = await client.storage_accounts.list_keys(account.resource_group, account.name)
        # the models are mappings: ``result.keys`` is Mapping.keys, so read the field itself
        keys = [str(key["value"]) for key in (result.get("keys") or []) if key.get("value")]
        if not keys:
            raise NotFoundError(Text(Message(
                QT_TR_NOOP("Storage account {name} gave no key. Key access may be disabled on "
                           "it: give the source URL with a read SAS instead."),
                {"name": account.name})))
        token = generate_blob_sas(
            account_name=account.name,
            container_name=where.container,
            blob_name=where.blob,
            account_key=keys[0],
            permission=BlobSasPermissions(read=True),
            expiry=datetime.now(UTC) + SAS_LIFETIME,
        )
        return where.with_sas(token)

    # --- check, copy, verify -------------------------------------------------------------

    async def _check(self) -> str:
        plan = self.plan
        async with self._client(self._source_url) as source:
            with translated():
                try:
                    props = await source.get_blob_properties()
                except ResourceNotFoundError as exc:
                    raise CopyRefusedError(Text(Message(
                        QT_TR_NOOP("The source blob {url} does not exist."),
                        {"url": plan.source.url}))) from exc
        self._source_props = props
        kind = str(props.blob_type or "")
        if "page" not in kind.lower() and props.size > SYNC_COPY_LIMIT:
            raise CopyRefusedError(Text(Message(
                QT_TR_NOOP("{url} is a {kind} larger than 256 MiB; this copy takes page blobs "
                           "(VHDs) and block blobs up to 256 MiB."),
                {"url": plan.source.url, "kind": kind})))
        async with self._client(self._target_url) as target:
            with translated():
                try:
                    await target.get_blob_properties()
                except ResourceNotFoundError:
                    pass  # free: the copy creates it
                else:
                    raise CopyRefusedError(Text(Message(
                        QT_TR_NOOP("{url} already exists. Choose another name or delete it."),
                        {"url": plan.target_blob.url})))
        return Text(Message(QT_TR_NOOP("{url}: {kind}, {size}."),
                            {"url": plan.source.url, "kind": kind,
                             "size": human_bytes(props.size)}))

    async def _copy(self, progress: Progress) -> str:
        page = "page" in str(self._source_props.blob_type or "").lower()
        async with self._client(self._target_url) as target:
            with translated():
                await target.start_copy_from_url(self._source_url, requires_sync=not page)
            while True:
                with translated():
                    props = await target.get_blob_properties()
                copy = props.copy
                status = str(copy.status or "")
                if status == "success":
                    break
                if status in ("failed", "aborted"):
                    raise CopyFailedError(Text(Message(
                        QT_TR_NOOP("Azure's copy ended {status}: {reason}"),
                        {"status": status, "reason": copy.status_description or ""})))
                done, _, total = str(copy.progress or "0/0").partition("/")
                if total.isdigit() and done.isdigit():
                    progress(Text(Message(QT_TR_NOOP("{done} of {total} copied"),
                                          {"done": human_bytes(int(done)),
                                           "total": human_bytes(int(total))})))
                await self.sleep()
        return Text(Message(QT_TR_NOOP("{size} copied by Azure."),
                            {"size": human_bytes(self._source_props.size)}))

    async def _verify(self) -> str:
        source_props = self._source_props
        async with self._client(self._target_url) as target:
            with translated():
                props = await target.get_blob_properties()
            problems: list[str] = []
            if props.size != source_props.size:
                problems.append(f"size {props.size} != {source_props.size}")
            source_md5 = source_props.content_settings.content_md5
            if source_md5 and props.content_settings.content_md5 != source_md5:
                problems.append("Content-MD5 differs")
            if "page" in str(source_props.blob_type or "").lower():
                async with self._client(self._source_url) as source:
                    with translated():
                        wanted = await _page_list(source)
                        got = await _page_list(target)
                if wanted != got:
                    problems.append(f"page list: {len(got)} ranges, the source has {len(wanted)}")
        if problems:
            raise CopyFailedError(Text(Message(
                QT_TR_NOOP("The copy differs from the source: {problems}"),
                {"problems": "; ".join(problems)})))
        return Text(Message(QT_TR_NOOP("Size, page list and Content-MD5 match the source "
                                       "({size})."), {"size": human_bytes(props.size)}))


def _account(
    accounts: list[tuple[StorageAccount, str]], where: BlobLocation
) -> tuple[StorageAccount, str]:
    for account, subscription in accounts:
        if account.name.lower() == where.account.lower():
            return account, subscription
    raise NotFoundError(Text(Message(
        QT_TR_NOOP("No storage account named {account} in the subscriptions you can see. Give "
                   "the blob URL with a SAS, or the subscription of its account."),
        {"account": where.account})))


async def _page_list(client: Any) -> list[tuple[int, int]]:
    """Every written range of a page blob (all pages of Get Page Ranges: metadata, no data)."""
    ranges: list[tuple[int, int]] = []
    async for page in client.list_page_ranges():
        ranges.append((int(page.start), int(page.end)))
    return ranges


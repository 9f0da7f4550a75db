"""Page 2 of the upload wizard: a new managed disk, or a page blob by SAS URL.

An image with data disks gets one managed disk or page blob per disk: the name typed here then
starts each disk's name (NAME-osdisk, NAME-datadisk-0, ...), and the page lists them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure import naming
from gui.azure.errors import AzureServiceError
from gui.azure.upload import DISK_SKUS
from gui.azure.upload.job import BlobTargetPlan, ManagedDiskTargetPlan, TargetPlan
from gui.azure.upload.managed_disk import ManagedDiskSpec
from gui.azure.upload.storage import (
    StorageAccount,
    blob_sas_url,
    list_containers,
    list_storage_accounts,
)
from gui.qt.i18n import render_text
from gui.qt.upload.common import (
    PlanPage,
    UploadContext,
    default_name,
    form,
    note,
)
from gui.qt.upload.file_page import DataDisk, FilePage

log = logging.getLogger(__name__)


class TargetPage(PlanPage):
    def __init__(self, context: UploadContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setTitle(self.tr("Where the disk goes"))
        self.setSubTitle(self.tr(
            "A managed disk by direct upload is recommended: no storage account to manage, and "
            "the disk can become an image right away."
        ))
        self.managed_radio = QRadioButton(
            self.tr("New managed disk by direct upload (recommended)"))
        self.account_radio = QRadioButton(
            self.tr("Page blob in one of the subscription's storage accounts"))
        self.blob_radio = QRadioButton(self.tr("Page blob anywhere, by a pasted SAS URL"))
        self.managed_radio.setChecked(True)
        group = QButtonGroup(self)
        for radio in (self.managed_radio, self.account_radio, self.blob_radio):
            group.addButton(radio)

        self.subscription_box = QComboBox()
        for sub_id, name in context.subscriptions or [
            (context.subscription_id, context.subscription_id)
        ]:
            self.subscription_box.addItem(name, sub_id)
        self.subscription_box.setCurrentIndex(
            max(0, self.subscription_box.findData(context.subscription_id))
        )
        self.group_box = QComboBox()
        self.group_box.setEditable(True)
        self.group_box.setObjectName("resourceGroup")
        if context.resource_group:
            self.group_box.setCurrentText(context.resource_group)
        self.region_box = QComboBox()
        for name, display in context.locations or [(context.location, context.location)]:
            self.region_box.addItem(display, name)
        self.region_box.setCurrentIndex(max(0, self.region_box.findData(context.location)))
        self.disk_name = QLineEdit()
        self.disk_name.setObjectName("diskName")
        self.sku_box = QComboBox()
        self.sku_box.addItems(DISK_SKUS)
        if context.disk_sku in DISK_SKUS:
            self.sku_box.setCurrentText(context.disk_sku)
        self.managed_form = form(
            (self.tr("Subscription:"), self.subscription_box),
            (self.tr("Resource group:"), self.group_box),
            (self.tr("Region:"), self.region_box),
            (self.tr("Disk name:"), self.disk_name),
            (self.tr("Disk type (SKU):"), self.sku_box),
        )

        self.account_box = QComboBox()
        self.account_box.setObjectName("storageAccount")
        self.container_box = QComboBox()
        self.container_box.setObjectName("container")
        self.blob_name = QLineEdit()
        self.blob_name.setObjectName("blobName")
        self.account_form = form(
            (self.tr("Storage account:"), self.account_box),
            (self.tr("Container:"), self.container_box),
            (self.tr("Blob name:"), self.blob_name),
            (
                "",
                note(self.tr(
                    "A SAS for this one blob is made from the account key and kept in memory only."
                )),
            ),
        )
        self._accounts: list[StorageAccount] = []
        self._accounts_loaded_for = ""
        # (account, container, every disk's blob) and their SAS URLs, in the same order
        self._sas: tuple[tuple[str, str, tuple[str, ...]], list[str]] | None = None
        self._sas_error = ""

        self.sas_edit = QLineEdit()
        self.sas_edit.setObjectName("sasUrl")
        self.sas_edit.setPlaceholderText(
            "https://account.blob.core.windows.net/vhds/disk.vhd?sv=…&sig=…"
        )
        self.blob_form = form(
            (self.tr("Blob SAS URL:"), self.sas_edit),
            ("", note(self.tr(
                "The SAS needs write (and create) permission. It is kept in memory only."))),
        )

        layout = QVBoxLayout(self)
        layout.addWidget(self.managed_radio)
        layout.addWidget(self.managed_form)
        layout.addWidget(self.account_radio)
        layout.addWidget(self.account_form)
        layout.addWidget(self.blob_radio)
        layout.addWidget(self.blob_form)
        self.names_note = QLabel()
        self.names_note.setObjectName("diskNames")
        self.names_note.setWordWrap(True)
        self.names_note.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.names_note)
        layout.addStretch(1)
        layout.addWidget(self.problems)
        for signal in (
            self.managed_radio.toggled,
            self.blob_radio.toggled,
            self.group_box.currentTextChanged,
            self.disk_name.textChanged,
            self.sas_edit.textChanged,
        ):
            signal.connect(self._changed)
        self.account_radio.toggled.connect(self._account_mode_changed)
        self.account_box.currentIndexChanged.connect(self._account_changed)
        for signal in (self.container_box.currentTextChanged, self.blob_name.textChanged):
            signal.connect(self._blob_changed)
        self.subscription_box.currentIndexChanged.connect(self._load_groups)
        self._groups_loaded_for = ""

    def initializePage(self) -> None:
        wizard = self.wizard()
        path = getattr(wizard, "source_path", None)
        if not self.disk_name.text() and isinstance(path, Path):
            self.disk_name.setText(default_name(path))
        if not self.blob_name.text() and isinstance(path, Path):
            self.blob_name.setText(f"{default_name(path)}.vhd")
        self._load_groups()
        if self.account_radio.isChecked():
            self._blob_changed()  # page 1's disks may have changed: one blob (and SAS) each
        self._changed()

    def _load_groups(self) -> None:
        subscription = str(self.subscription_box.currentData())
        if subscription != self._groups_loaded_for and self.context.session is not None:
            self._groups_loaded_for = subscription
            self.spawn(self._fetch_groups(subscription))

    async def _fetch_groups(self, subscription: str) -> None:
        try:
            client = self.context.session.resources(subscription)
            names = sorted(
                [group.name async for group in client.resource_groups.list() if group.name],
                key=str.casefold,
            )
        except Exception as exc:
            log.warning("Could not list resource groups: %s", exc)
            names = []
        current = self.group_box.currentText()
        self.group_box.clear()
        self.group_box.addItems(names)
        if current:
            self.group_box.setCurrentText(current)
        self._changed()

    # --- storage accounts -----------------------------------------------------------------------

    def _account_mode_changed(self, on: bool) -> None:
        subscription = self.context.subscription_id
        if on and self._accounts_loaded_for != subscription and self.context.session is not None:
            self._accounts_loaded_for = subscription
            self.spawn(self._load_accounts(subscription))
        self._changed()

    async def _load_accounts(self, subscription: str) -> None:
        try:
            self._accounts = await list_storage_accounts(self.context.session, subscription)
        except AzureServiceError as exc:
            self._sas_error = self.tr("Could not list storage accounts: {error}").format(
                error=render_text(exc))
            self._changed()
            return
        self.account_box.clear()
        for account in self._accounts:
            self.account_box.addItem(account.label, account.name)
        if not self._accounts:
            self._sas_error = self.tr(
                "The subscription has no storage account: paste a SAS URL instead.")
        self._changed()

    def _account(self) -> StorageAccount | None:
        name = self.account_box.currentData()
        return next((a for a in self._accounts if a.name == name), None)

    def _account_changed(self) -> None:
        account = self._account()
        self.container_box.clear()
        if account is not None:
            self.spawn(self._load_containers(account))
        self._blob_changed()

    async def _load_containers(self, account: StorageAccount) -> None:
        try:
            names = await list_containers(
                self.context.session, self.context.subscription_id, account
            )
        except AzureServiceError as exc:
            self._sas_error = self.tr("Could not list containers: {error}").format(
                error=render_text(exc))
            self._changed()
            return
        if self._account() is account:
            self.container_box.addItems(names)
            self._blob_changed()

    # --- one target per disk ---------------------------------------------------------------

    def _data_disks(self) -> list[DataDisk]:
        page = self.wizard().page(0) if self.wizard() is not None else None
        return list(page.data_disks) if isinstance(page, FilePage) else []

    def disk_names(self) -> list[str]:
        """Each disk's managed disk, OS disk first: the name as typed for one disk; with data
        disks, the name starts each (NAME-osdisk, NAME-datadisk-LUN)."""
        base = self.disk_name.text().strip()
        data = self._data_disks()
        if not data:
            return [base]
        return [f"{base}-osdisk", *(f"{base}-datadisk-{disk.lun}" for disk in data)]

    def blob_names(self) -> list[str]:
        """Each disk's page blob, OS disk first, named as ``disk_names`` are."""
        name = self.blob_name.text().strip()
        data = self._data_disks()
        if not data:
            return [name]
        stem = name[:-4] if name.casefold().endswith(".vhd") else name
        return [f"{stem}-osdisk.vhd", *(f"{stem}-datadisk-{disk.lun}.vhd" for disk in data)]

    def _show_names(self) -> None:
        data = self._data_disks()
        if not data or self.blob_radio.isChecked():
            self.names_note.clear()
            return
        names = self.disk_names() if self.managed else self.blob_names()
        lines = [self.tr("{name} (OS disk)").format(name=names[0])]
        lines += [
            self.tr("{name} (data disk, LUN {lun})").format(name=name, lun=disk.lun)
            for name, disk in zip(names[1:], data, strict=True)
        ]
        heading = (
            self.tr("One managed disk per disk of the image, named from the disk name:")
            if self.managed
            else self.tr("One page blob per disk of the image, named from the blob name:")
        )
        self.names_note.setText("\n".join([heading, *lines]))

    def _blob_key(self) -> tuple[str, str, tuple[str, ...]] | None:
        account = self._account()
        container, blobs = self.container_box.currentText(), tuple(self.blob_names())
        if account is None or not container or any(naming.blob_name(b) for b in blobs):
            return None
        return (account.name, container, blobs)

    def _blob_changed(self, *_args: Any) -> None:
        key = self._blob_key()
        self._sas_error = ""
        if key is not None and (self._sas is None or self._sas[0] != key):
            self._sas = None
            self.spawn(self._make_sas(key))
        self._changed()

    async def _make_sas(self, key: tuple[str, str, tuple[str, ...]]) -> None:
        account = self._account()
        if account is None:
            return
        try:
            urls = [
                await blob_sas_url(
                    self.context.session, self.context.subscription_id, account, key[1], blob
                )
                for blob in key[2]
            ]
        except AzureServiceError as exc:
            self._sas_error = render_text(exc)
        else:
            if self._blob_key() == key:
                self._sas = (key, urls)
        self._changed()

    # --- state ----------------------------------------------------------------------------------

    @property
    def managed(self) -> bool:
        return self.managed_radio.isChecked()

    def default_group(self) -> str:
        """Where images made from the upload go unless the user says otherwise."""
        if self.managed:
            return self.group_box.currentText().strip()
        account = self._account() if self.account_radio.isChecked() else None
        return account.resource_group if account is not None else ""

    def _changed(self, *_args: Any) -> None:
        self.managed_form.setEnabled(self.managed)
        self.account_form.setEnabled(self.account_radio.isChecked())
        self.blob_form.setEnabled(self.blob_radio.isChecked())
        self._show_names()
        self.show_problems()

    def problem_list(self) -> list[str]:
        if self.account_radio.isChecked():
            if self._sas_error:
                return [self._sas_error]
            if self._account() is None:
                return [self.tr("Loading the subscription's storage accounts…")]
            if not self.container_box.currentText():
                return [self.tr("Pick a container (loading them…).")]
            for blob in self.blob_names():
                if message := naming.blob_name(blob):
                    return [render_text(message)]
            if self._sas is None or self._sas[0] != self._blob_key():
                return [self.tr("Getting a SAS for the blob from the storage account…")]
            return []
        if self.managed:
            return [
                render_text(message)
                for message in (
                    naming.resource_group_name(self.group_box.currentText()),
                    *(naming.disk_name(name) for name in self.disk_names()),
                )
                if message
            ]
        if self._data_disks():
            return [
                self.tr(
                    "A pasted SAS URL names one page blob, and this image has several disks: "
                    "pick a storage account of the subscription, or upload to managed disks."
                )
            ]
        url = self.sas_edit.text().strip()
        if not url:
            return [self.tr("Paste the SAS URL of the page blob to write.")]
        base, _, query = url.partition("?")
        if not base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return [self.tr(
                "The SAS URL must start with https:// (a storage account's blob endpoint).")]
        if "sig=" not in query:
            return [self.tr(
                "The URL has no SAS signature (sig=…): create a SAS with write permission.")]
        blob = base.rsplit("/", 1)[-1]
        return [render_text(message) for message in (naming.blob_name(blob),) if message]

    def target(self) -> TargetPlan:
        """The OS disk's target."""
        return self.targets()[0]

    def targets(self) -> list[TargetPlan]:
        """Every disk's target: the OS disk's first, then each data disk's in page 1's order."""
        facts_page = self.wizard().page(0)
        assert isinstance(facts_page, FilePage)
        facts = facts_page.facts()
        if self.managed:
            subscription = str(self.subscription_box.currentData())
            specs = [
                ManagedDiskSpec(
                    resource_group=self.group_box.currentText().strip(),
                    name=name,
                    location=str(self.region_box.currentData()),
                    sku=self.sku_box.currentText(),
                    # Only the OS disk carries the OS type and generation (a data disk has none).
                    os_type=facts.os_type if index == 0 else None,
                    hyper_v_generation=facts.hyper_v_generation if index == 0 else None,
                )
                for index, name in enumerate(self.disk_names())
            ]
            return [ManagedDiskTargetPlan(subscription, spec) for spec in specs]
        if self.account_radio.isChecked():
            account = self._account()
            assert account is not None and self._sas is not None
            return [
                BlobTargetPlan.from_url(
                    url, self.context.subscription_id, storage_account_id=account.id
                )
                for url in self._sas[1]
            ]
        return [BlobTargetPlan.from_url(self.sas_edit.text(), self.context.subscription_id)]

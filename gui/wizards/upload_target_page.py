"""Page 2 of the upload wizard: a new managed disk, or a page blob by SAS URL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure import naming
from gui.azure.disk_upload import ManagedDiskSpec
from gui.azure.upload_job import BlobTargetPlan, ManagedDiskTargetPlan
from gui.wizards.upload_common import (
    DISK_SKUS,
    AsyncPage,
    UploadContext,
    default_name,
    problem_label,
)
from gui.wizards.upload_file_page import FilePage

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

# --- page 2: the target -------------------------------------------------------------------------


class TargetPage(AsyncPage):
    def __init__(self, context: UploadContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setTitle("Where the disk goes")
        self.setSubTitle(
            "A managed disk by direct upload is recommended: no storage account to manage, "
            "and the disk can become an image right away."
        )
        self.managed_radio = QRadioButton("New managed disk by direct upload (recommended)")
        self.blob_radio = QRadioButton("Page blob in a storage account (paste a SAS URL)")
        self.managed_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.managed_radio)
        group.addButton(self.blob_radio)

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
        self.region_box = QComboBox()
        for name, display in context.locations or [(context.location, context.location)]:
            self.region_box.addItem(display, name)
        self.region_box.setCurrentIndex(max(0, self.region_box.findData(context.location)))
        self.disk_name = QLineEdit()
        self.disk_name.setObjectName("diskName")
        self.sku_box = QComboBox()
        self.sku_box.addItems(DISK_SKUS)
        self.managed_form = QWidget()
        form = QFormLayout(self.managed_form)
        form.addRow("Subscription:", self.subscription_box)
        form.addRow("Resource group:", self.group_box)
        form.addRow("Region:", self.region_box)
        form.addRow("Disk name:", self.disk_name)
        form.addRow("Disk type (SKU):", self.sku_box)

        self.sas_edit = QLineEdit()
        self.sas_edit.setObjectName("sasUrl")
        self.sas_edit.setPlaceholderText(
            "https://account.blob.core.windows.net/vhds/disk.vhd?sv=…&sig=…"
        )
        self.blob_form = QWidget()
        blob_layout = QFormLayout(self.blob_form)
        blob_layout.addRow("Blob SAS URL:", self.sas_edit)
        note = QLabel("The SAS needs write (and create) permission. It is kept in memory only.")
        note.setWordWrap(True)
        blob_layout.addRow("", note)

        self.problems = problem_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.managed_radio)
        layout.addWidget(self.managed_form)
        layout.addWidget(self.blob_radio)
        layout.addWidget(self.blob_form)
        layout.addStretch(1)
        layout.addWidget(self.problems)
        for signal in (
            self.managed_radio.toggled,
            self.group_box.currentTextChanged,
            self.disk_name.textChanged,
            self.sas_edit.textChanged,
        ):
            signal.connect(self._changed)
        self.subscription_box.currentIndexChanged.connect(self._load_groups)
        self._groups_loaded_for = ""

    def initializePage(self) -> None:
        wizard = self.wizard()
        path = getattr(wizard, "source_path", None)
        if not self.disk_name.text() and isinstance(path, Path):
            self.disk_name.setText(default_name(path))
        self._load_groups()
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

    @property
    def managed(self) -> bool:
        return self.managed_radio.isChecked()

    def _changed(self, *_args: Any) -> None:
        self.managed_form.setEnabled(self.managed)
        self.blob_form.setEnabled(not self.managed)
        self.problems.setText("\n".join(self.problem_list()))
        self.completeChanged.emit()

    def problem_list(self) -> list[str]:
        if self.managed:
            return [
                message
                for message in (
                    naming.resource_group_name(self.group_box.currentText()),
                    naming.disk_name(self.disk_name.text()),
                )
                if message
            ]
        url = self.sas_edit.text().strip()
        if not url:
            return ["Paste the SAS URL of the page blob to write."]
        base, _, query = url.partition("?")
        if not base.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return ["The SAS URL must start with https:// (a storage account's blob endpoint)."]
        if "sig=" not in query:
            return ["The URL has no SAS signature (sig=…): create a SAS with write permission."]
        blob = base.rsplit("/", 1)[-1]
        return [message for message in (naming.blob_name(blob),) if message]

    def isComplete(self) -> bool:
        return not self.problem_list()

    def target(self) -> ManagedDiskTargetPlan | BlobTargetPlan:
        facts_page = self.wizard().page(0)
        assert isinstance(facts_page, FilePage)
        facts = facts_page.facts()
        if self.managed:
            spec = ManagedDiskSpec(
                resource_group=self.group_box.currentText().strip(),
                name=self.disk_name.text().strip(),
                location=str(self.region_box.currentData()),
                sku=self.sku_box.currentText(),
                os_type=facts.os_type,
                hyper_v_generation=facts.hyper_v_generation,
            )
            return ManagedDiskTargetPlan(str(self.subscription_box.currentData()), spec)
        return BlobTargetPlan.from_url(self.sas_edit.text(), self.context.subscription_id)

    def cleanupPage(self) -> None:
        pass

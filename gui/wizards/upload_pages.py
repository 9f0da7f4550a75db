"""The upload wizard's input pages: the file, the target, and what to make of the disk."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from gui.azure import naming
from gui.azure.disk_upload import ManagedDiskSpec
from gui.azure.errors import AzureServiceError
from gui.azure.image_builder import (
    DefinitionSpec,
    DiskFacts,
    GalleryVersionSpec,
    ManagedImageSpec,
    definition_facts,
    existing_versions,
)
from gui.azure.upload_job import BlobTargetPlan, FollowUp, ManagedDiskTargetPlan
from gui.models.tasks import TaskSet
from gui.units import human_bytes
from gui.views import icons
from gui.views.region_table import RegionReplicaTable

if TYPE_CHECKING:
    from gui.vhd import DiskImage

log = logging.getLogger(__name__)

DISK_IMAGE_SUFFIXES = (".vhd", ".vhdx", ".img", ".raw")
DISK_SKUS = ("Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "StandardSSD_ZRS", "Premium_ZRS")

WINDOWS_REMINDER = (
    "<b>Windows:</b> back the machine up first, then generalize it inside the VM with<br>"
    "<code>C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown</code><br>"
    "and upload its disk after it has shut down. A generalized Windows cannot be started in its "
    "old identity again."
)
LINUX_REMINDER = (
    "<b>Linux:</b> back the machine up first, then run<br>"
    "<code>sudo waagent -deprovision+user</code> and shut it down before you copy the disk. "
    "This deletes the last provisioned user account, SSH host keys and the host name."
)
SPECIALIZED_NOTE = (
    "<b>Specialized:</b> the disk keeps its identity (users, host name, machine SID). It can "
    "become a specialized gallery image version, not a managed image."
)


@dataclass
class UploadContext:
    """What the wizard needs from the window: the session and the scope it shows."""

    session: Any
    subscription_id: str
    location: str
    subscriptions: list[tuple[str, str]] = field(default_factory=list)
    locations: list[tuple[str, str]] = field(default_factory=list)


def default_name(path: Path, prefix: str = "") -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem).strip("-_.") or "disk"
    return f"{prefix}{stem}"[:80].rstrip("-.")


class AsyncPage(QWizardPage):
    """A page that starts coroutines on the GUI loop and cancels them when the wizard goes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = TaskSet(type(self).__name__)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro)

    def cancel_tasks(self) -> None:
        self._tasks.cancel_all()


def _problem_label() -> QLabel:
    label = QLabel()
    label.setObjectName("problems")
    label.setWordWrap(True)
    label.setStyleSheet("QLabel#problems { color: #b3261e; }")
    return label


# --- page 1: the file ---------------------------------------------------------------------------


class FilePage(AsyncPage):
    def __init__(self, path: Path | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("The disk image")
        self.setSubTitle(
            "What the file is, what Azure will say about it, and what will be sent. Nothing is "
            "uploaded before the last page."
        )
        self.path: Path | None = None
        self.image: DiskImage | None = None
        self.error = ""
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("Choose or drop a .vhd, .vhdx, .img or .raw file")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)

        self.facts_grid = QGridLayout()
        self.fact_labels: dict[str, QLabel] = {}
        for line, key in enumerate(
            ("Format", "Virtual size", "Size in Azure", "Upload size", "Data held", "Conversion")
        ):
            caption = QLabel(f"{key}:")
            caption.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            value = QLabel("—")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.facts_grid.addWidget(caption, line, 0)
            self.facts_grid.addWidget(value, line, 1)
            self.fact_labels[key] = value
        self.facts_grid.setColumnStretch(1, 1)
        self.findings = QListWidget()
        self.findings.setObjectName("findings")
        self.findings.setWordWrap(True)
        self.findings.setMaximumHeight(130)

        self.os_box = QComboBox()
        self.os_box.addItems(["Windows", "Linux"])
        self.state_box = QComboBox()
        self.state_box.addItem("Generalized (sysprep / waagent was run)", "Generalized")
        self.state_box.addItem("Specialized (keeps its identity)", "Specialized")
        self.generation_box = QComboBox()
        self.generation_box.addItem("Gen2 (UEFI)", "V2")
        self.generation_box.addItem("Gen1 (BIOS)", "V1")
        self.architecture_box = QComboBox()
        self.architecture_box.addItems(["x64", "Arm64"])
        machine = QFormLayout()
        machine.addRow("Operating system:", self.os_box)
        machine.addRow("OS state:", self.state_box)
        machine.addRow("Hyper-V generation:", self.generation_box)
        machine.addRow("Architecture:", self.architecture_box)
        self.reminder = QLabel()
        self.reminder.setWordWrap(True)
        self.reminder.setTextFormat(Qt.TextFormat.RichText)
        self.reminder.setObjectName("reminder")
        self.reminder.setStyleSheet(
            "QLabel#reminder { background: #f3f6fb; border: 1px solid #c7d4e8;"
            " border-radius: 4px; padding: 6px; }"
        )
        for box in (self.os_box, self.state_box):
            box.currentIndexChanged.connect(self._update_reminder)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addLayout(self.facts_grid)
        layout.addWidget(self.findings)
        machine_box = QGroupBox("The machine on this disk")
        machine_layout = QHBoxLayout(machine_box)
        machine_layout.addLayout(machine)
        machine_layout.addWidget(self.reminder, 1)
        layout.addWidget(machine_box)
        self.registerField("os_type", self.os_box, "currentText")
        self._update_reminder()
        if path is not None:
            self.load(path)

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Choose a disk image")
        dialog.setNameFilter("Disk images (*.vhd *.vhdx *.img *.raw);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.load(Path(name)))
        dialog.open()

    def _update_reminder(self) -> None:
        if self.state_box.currentData() == "Specialized":
            self.reminder.setText(SPECIALIZED_NOTE)
        else:
            self.reminder.setText(
                WINDOWS_REMINDER if self.os_box.currentText() == "Windows" else LINUX_REMINDER
            )

    def load(self, path: Path) -> None:
        self.path = path
        self.path_edit.setText(str(path))
        self._close_image()
        self.error = ""
        for label in self.fact_labels.values():
            label.setText("…")
        self.findings.clear()
        self.findings.addItem("Reading the file…")
        self.completeChanged.emit()
        self.spawn(self._inspect(path))

    async def _inspect(self, path: Path) -> None:
        from gui.vhd import VhdError, open_image

        try:
            image = await asyncio.to_thread(open_image, path)
        except VhdError as exc:
            self.error = str(exc)
            self._show_error(self.error)
            return
        except OSError as exc:
            self.error = f"The file cannot be read: {exc.strerror or exc}. Check the path."
            self._show_error(self.error)
            return
        if self.path != path:
            image.close()
            return
        self.image = image
        self._show_image(image)

    def _show_error(self, message: str) -> None:
        for label in self.fact_labels.values():
            label.setText("—")
        self.findings.clear()
        item = QListWidgetItem(icons.icon("error"), message)
        self.findings.addItem(item)
        self.completeChanged.emit()

    def _show_image(self, image: DiskImage) -> None:
        labels = self.fact_labels
        labels["Format"].setText(
            image.format.value if hasattr(image.format, "value") else str(image.format)
        )
        labels["Virtual size"].setText(
            f"{human_bytes(image.virtual_size)} ({image.virtual_size:,} bytes)"
        )
        labels["Size in Azure"].setText(
            f"{human_bytes(image.fixed_size)} ({image.fixed_size:,} bytes)"
        )
        labels["Upload size"].setText(f"{image.upload_size:,} bytes (with the 512-byte footer)")
        share = image.allocated_bytes / image.fixed_size if image.fixed_size else 0
        labels["Data held"].setText(
            f"at most {human_bytes(image.allocated_bytes)} ({share:.0%}); empty ranges and "
            "zero blocks are not sent"
        )
        conversions = []
        if "FIXED" not in image.format.name or "VHDX" in image.format.name:
            conversions.append("read as a fixed VHD on the fly (no temporary copy)")
        if image.fixed_size != image.virtual_size:
            conversions.append(
                f"size rounded up to a whole MiB ({image.virtual_size:,} → {image.fixed_size:,})"
            )
        conversions.append("Azure-ready footer written last")
        labels["Conversion"].setText("; ".join(conversions))
        self.findings.clear()
        level_icons = {"ERROR": "error", "WARNING": "warning", "INFO": "info"}
        for finding in image.findings:
            name = finding.level.name
            self.findings.addItem(
                QListWidgetItem(icons.icon(level_icons.get(name, "info")), finding.message)
            )
        if not image.findings:
            self.findings.addItem(
                QListWidgetItem(icons.icon("info"), "Azure will accept this disk as it is.")
            )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.image is not None and self.image.acceptable and not self.error

    def facts(self) -> DiskFacts:
        return DiskFacts(
            os_type=self.os_box.currentText(),
            os_state=str(self.state_box.currentData()),
            hyper_v_generation=str(self.generation_box.currentData()),
            architecture=self.architecture_box.currentText(),
        )

    def _close_image(self) -> None:
        if self.image is not None:
            self.image.close()
            self.image = None

    def cleanupPage(self) -> None:
        pass  # keep the inspection when the user goes back to this page

    def close_image(self) -> None:
        self._close_image()


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

        self.problems = _problem_label()
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


# --- page 3: then what ----------------------------------------------------------------------------


NEW_MARK = " (new)"


class FollowUpPage(AsyncPage):
    def __init__(self, context: UploadContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setTitle("Then what")
        self.setSubTitle("Keep the disk as it is, or make an image from it right after the upload.")
        self.nothing_radio = QRadioButton("Nothing more: keep the disk")
        self.image_radio = QRadioButton("A managed image")
        self.gallery_radio = QRadioButton(
            "A Compute Gallery image version (recommended for sharing and replication)"
        )
        self.nothing_radio.setChecked(True)
        group = QButtonGroup(self)
        for radio in (self.nothing_radio, self.image_radio, self.gallery_radio):
            group.addButton(radio)

        self.image_name = QLineEdit()
        self.image_name.setObjectName("imageName")
        self.image_group = QLineEdit()
        self.image_form = QWidget()
        image_layout = QFormLayout(self.image_form)
        image_layout.addRow("Image name:", self.image_name)
        image_layout.addRow("Resource group:", self.image_group)

        self.gallery_box = QComboBox()
        self.gallery_box.setEditable(True)
        self.gallery_box.setObjectName("gallery")
        self.definition_box = QComboBox()
        self.definition_box.setEditable(True)
        self.definition_box.setObjectName("definition")
        self.security_box = QComboBox()
        self.security_box.addItem("Standard", "Standard")
        self.security_box.addItem("Trusted launch", "TrustedLaunch")
        self.security_box.addItem("Trusted launch supported", "TrustedLaunchSupported")
        self.publisher_edit = QLineEdit("contoso")
        self.version_edit = QLineEdit("1.0.0")
        self.version_edit.setObjectName("version")
        self.region_table = RegionReplicaTable(
            "The disk's region: the version is always stored there."
        )
        self._regions_source = ""
        self.exclude_latest = QCheckBox("Exclude from latest")
        self.eol_check = QCheckBox("End of life:")
        self.eol_date = QDateEdit(QDate.currentDate().addYears(1))
        self.eol_date.setCalendarPopup(True)
        self.eol_date.setEnabled(False)
        self.eol_check.toggled.connect(self.eol_date.setEnabled)
        self.definition_info = QLabel()
        self.definition_info.setWordWrap(True)
        self.gallery_form = QWidget()
        gallery_layout = QFormLayout(self.gallery_form)
        gallery_layout.addRow("Gallery:", self.gallery_box)
        gallery_layout.addRow("Image definition:", self.definition_box)
        gallery_layout.addRow("", self.definition_info)
        gallery_layout.addRow("Security type (new definition):", self.security_box)
        gallery_layout.addRow("Publisher (new definition):", self.publisher_edit)
        gallery_layout.addRow("Version:", self.version_edit)
        gallery_layout.addRow("Target regions:", self.region_table)
        eol_row = QHBoxLayout()
        eol_row.addWidget(self.eol_check)
        eol_row.addWidget(self.eol_date)
        eol_row.addStretch(1)
        gallery_layout.addRow("", self.exclude_latest)
        gallery_layout.addRow("", eol_row)

        self.problems = _problem_label()
        layout = QVBoxLayout(self)
        layout.addWidget(self.nothing_radio)
        layout.addWidget(self.image_radio)
        layout.addWidget(self.image_form)
        layout.addWidget(self.gallery_radio)
        layout.addWidget(self.gallery_form, 1)
        layout.addWidget(self.problems)

        self._galleries: dict[str, str] = {}  # gallery -> resource group
        self._definitions: dict[str, DefinitionSpec] = {}
        self._versions: list[str] = []
        self._checking = False
        self._suggested_version = "1.0.0"
        for signal in (
            self.nothing_radio.toggled,
            self.image_radio.toggled,
            self.gallery_radio.toggled,
            self.image_name.textChanged,
            self.image_group.textChanged,
            self.version_edit.textChanged,
            self.security_box.currentIndexChanged,
            self.eol_check.toggled,
            self.eol_date.dateChanged,
            self.region_table.changed,
        ):
            signal.connect(self._changed)
        self.gallery_box.currentTextChanged.connect(self._gallery_changed)
        self.definition_box.currentTextChanged.connect(self._definition_changed)
        self._initialized = False

    # --- set-up -------------------------------------------------------------------------------

    def _target(self) -> Any:
        page = self.wizard().page(1)
        assert isinstance(page, TargetPage)
        return page

    def _facts(self) -> DiskFacts:
        page = self.wizard().page(0)
        assert isinstance(page, FilePage)
        return page.facts()

    def initializePage(self) -> None:
        target = self._target()
        path = getattr(self.wizard(), "source_path", None)
        if isinstance(path, Path) and not self.image_name.text():
            self.image_name.setText(default_name(path, "img-"))
        if target.managed and not self.image_group.text():
            self.image_group.setText(target.group_box.currentText())
        self.image_radio.setEnabled(True)
        self._fill_regions()
        if not self._initialized:
            self._initialized = True
            self.spawn(self._load_galleries())
        self._changed()

    @property
    def _subscription(self) -> str:
        target = self._target()
        if target.managed:
            return str(target.subscription_box.currentData())
        return self.context.subscription_id

    @property
    def _location(self) -> str:
        target = self._target()
        return str(target.region_box.currentData()) if target.managed else self.context.location

    def _fill_regions(self) -> None:
        source = self._location
        self.region_table.set_locations(self.context.locations or [(source, source)])
        if source != self._regions_source:  # a new source region: start the list over
            self._regions_source = source
            self.region_table.reset(source)

    async def _load_galleries(self) -> None:
        compute = self.context.session.compute(self._subscription)
        try:
            galleries = [item async for item in compute.galleries.list()]
        except Exception as exc:
            log.warning("Could not list galleries: %s", exc)
            galleries = []
        self._galleries = {
            str(item.name): str(item.id or "").split("/resourceGroups/")[-1].split("/")[0]
            for item in galleries
            if item.name
        }
        current = self.gallery_box.currentText()
        self.gallery_box.blockSignals(True)
        self.gallery_box.clear()
        self.gallery_box.addItems(sorted(self._galleries, key=str.casefold))
        self.gallery_box.blockSignals(False)
        if current:
            self.gallery_box.setCurrentText(current)
        self._gallery_changed(self.gallery_box.currentText())

    def _gallery_changed(self, name: str) -> None:
        self._definitions = {}
        self.definition_box.blockSignals(True)
        self.definition_box.clear()
        self.definition_box.blockSignals(False)
        if name in self._galleries:
            self.spawn(self._load_definitions(name))
        self._definition_changed(self.definition_box.currentText())

    async def _load_definitions(self, gallery: str) -> None:
        compute = self.context.session.compute(self._subscription)
        group = self._galleries[gallery]
        try:
            names = [
                str(item.name)
                async for item in compute.gallery_images.list_by_gallery(group, gallery)
                if item.name
            ]
        except Exception as exc:
            log.warning("Could not list image definitions: %s", exc)
            names = []
        if self.gallery_box.currentText() != gallery:
            return
        current = self.definition_box.currentText()
        self.definition_box.blockSignals(True)
        self.definition_box.addItems(sorted(names, key=str.casefold))
        if current:
            self.definition_box.setCurrentText(current)
        self.definition_box.blockSignals(False)
        self._definition_changed(self.definition_box.currentText())

    def _definition_changed(self, name: str) -> None:
        gallery = self.gallery_box.currentText()
        self._versions = []
        if gallery in self._galleries and name and self.definition_box.findText(name) >= 0:
            self._checking = True
            self.definition_info.setText("Reading the definition…")
            self.spawn(self._load_definition(gallery, name))
        else:
            self.definition_info.setText(
                "A new definition is created with the disk's OS type, state, generation and "
                "architecture."
                if name
                else ""
            )
        self._changed()

    async def _load_definition(self, gallery: str, name: str) -> None:
        compute = self.context.session.compute(self._subscription)
        group = self._galleries[gallery]
        try:
            spec = await definition_facts(compute, group, gallery, name)
            versions = await existing_versions(compute, group, gallery, name)
        except AzureServiceError as exc:
            self.definition_info.setText(f"Could not read the definition: {exc.message}")
            self._checking = False
            self._changed()
            return
        if (self.gallery_box.currentText(), self.definition_box.currentText()) != (gallery, name):
            return
        self._definitions[name] = spec
        self._versions = versions
        self._checking = False
        security = {"TrustedLaunch": "Trusted launch", "Standard": "Standard"}.get(
            spec.security_type, spec.security_type
        )
        self.definition_info.setText(
            f"Existing definition: {spec.os_type}, {spec.os_state}, "
            f"{'Gen2' if spec.hyper_v_generation == 'V2' else 'Gen1'}, {spec.architecture}, "
            f"{security}; versions: {', '.join(versions) or 'none yet'}"
        )
        self._suggest_version(naming.next_version(versions))
        self._changed()

    def _suggest_version(self, version: str) -> None:
        """Follows the definition with a suggestion until the user types a version of theirs."""
        if self.version_edit.text() in ("", self._suggested_version):
            self.version_edit.setText(version)
        self._suggested_version = version

    # --- state --------------------------------------------------------------------------------

    def _changed(self, *_args: Any) -> None:
        self.image_form.setEnabled(self.image_radio.isChecked())
        self.gallery_form.setEnabled(self.gallery_radio.isChecked())
        is_new = self.definition_box.currentText().strip() not in self._definitions
        self.security_box.setEnabled(is_new)
        self.publisher_edit.setEnabled(is_new)
        self.problems.setText("\n".join(self.problem_list()))
        self.completeChanged.emit()

    def _regions(self) -> tuple[tuple[str, int], ...]:
        return tuple(self.region_table.rows())

    def follow_up(self) -> FollowUp:
        if self.image_radio.isChecked():
            return ManagedImageSpec(
                resource_group=self.image_group.text().strip(),
                name=self.image_name.text().strip(),
                location=self._location,
            )
        if not self.gallery_radio.isChecked():
            return None
        facts = self._facts()
        gallery = self.gallery_box.currentText().strip()
        definition_name = self.definition_box.currentText().strip()
        existing = self._definitions.get(definition_name)
        create_definition = existing is None
        definition = existing or DefinitionSpec(
            name=definition_name,
            os_type=facts.os_type,
            os_state=facts.os_state,
            hyper_v_generation=facts.hyper_v_generation,
            security_type=str(self.security_box.currentData()),
            architecture=facts.architecture,
            publisher=self.publisher_edit.text().strip() or "contoso",
        )
        target = self._target()
        group = self._galleries.get(gallery) or (
            target.group_box.currentText().strip() if target.managed else ""
        )
        return GalleryVersionSpec(
            resource_group=group,
            gallery=gallery,
            create_gallery=gallery not in self._galleries,
            definition=definition,
            create_definition=create_definition,
            version=self.version_edit.text().strip(),
            location=self._location,
            target_regions=self._regions(),
            exclude_from_latest=self.exclude_latest.isChecked(),
            end_of_life=date.fromisoformat(self.eol_date.date().toString("yyyy-MM-dd"))
            if self.eol_check.isChecked()
            else None,
            existing_versions=tuple(self._versions),
        )

    def problem_list(self) -> list[str]:
        if self.nothing_radio.isChecked():
            return []
        if self._checking and self.gallery_radio.isChecked():
            return ["Checking the image definition…"]
        spec = self.follow_up()
        assert spec is not None
        return spec.problems(self._facts())

    def isComplete(self) -> bool:
        return not self.problem_list()

    def cleanupPage(self) -> None:
        pass

"""Page 1 of the upload wizard: the disk image, what Azure will say, how to prepare it."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
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
    QVBoxLayout,
    QWidget,
)

from gui.azure.image_builder import (
    DiskFacts,
)
from gui.units import human_bytes
from gui.views import icons
from gui.wizards.upload_common import (
    AsyncPage,
)

if TYPE_CHECKING:
    from gui.vhd import DiskImage

log = logging.getLogger(__name__)


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

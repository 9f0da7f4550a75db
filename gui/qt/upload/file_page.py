"""Page 1 of the upload wizard: the disk image, what Azure will say, how to prepare it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
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
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure.image_builder import (
    DiskFacts,
)
from gui.diskimage import DISK_IMAGE_SUFFIXES
from gui.qt import icons
from gui.qt.style import panel_style
from gui.qt.upload.common import (
    AsyncPage,
)
from gui.qt.upload.guest_choice import GuestChoice
from gui.units import human_bytes

if TYPE_CHECKING:
    from gui.diskimage import DiskImage
    from gui.diskimage.guest import GuestFacts

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


# --- reading the file, off the GUI thread -------------------------------------------------------


@dataclass(frozen=True)
class Inspection:
    """What page 1 shows about a file, all of it worked out on a worker thread: opening reads
    headers and checks the block table, and the data ranges walk every table entry (16 MiB of
    them for a 2 TiB VHDX with 1 MiB blocks), far too long for the GUI thread."""

    image: DiskImage | None
    allocated_bytes: int = 0
    error: str = ""
    # For a file recognised as another format: what it is, and the command that converts it
    # (shown in the facts, where the administrator can select and copy it).
    detected_format: str = ""
    command: str = ""
    # What the guest on the disk needs (OS type, generation, architecture); None when the
    # disk's structures could not be read, which leaves the choices to the administrator.
    guest: GuestFacts | None = None


def inspect_file(path: Path) -> Inspection:
    """Runs on a worker thread; a file that cannot be used comes back as its message."""
    with _handover.reading():
        return _inspect_file(path)


def _inspect_file(path: Path) -> Inspection:
    from gui.diskimage import DiskImageError, UnsupportedFormatError, open_image
    from gui.diskimage.guest import read_guest_facts

    try:
        image = open_image(path)
    except UnsupportedFormatError as exc:
        return Inspection(None, error=str(exc), detected_format=exc.format_label,
                          command=exc.command or "")
    except DiskImageError as exc:
        return Inspection(None, error=str(exc))
    except OSError as exc:
        return Inspection(None, error=_unreadable(exc))
    try:
        # data_ranges() is kept by the image, so the upload that follows does not walk again.
        allocated = sum(r.length for r in image.data_ranges())
    except DiskImageError as exc:
        image.close()
        return Inspection(None, error=str(exc))
    except OSError as exc:
        image.close()
        return Inspection(None, error=_unreadable(exc))
    try:
        guest = read_guest_facts(image)
    except (DiskImageError, OSError) as exc:
        log.warning("Could not read the guest on %s: %s", path, exc)
        guest = None
    return Inspection(image, allocated, guest=guest)


# While a file is read, the reader thread holds the GIL for CPython's whole switch interval
# (5 ms) each time the GUI thread asks for it, and Qt's event loop asks many times per turn
# (every Python slot, timer and qasync callback): a 0.2 s reading of a 2 TiB VHDX stalled the
# window for 60-140 ms even on a worker thread. Handing the GIL over every 0.1 ms while a
# reading runs brings the stalls down to those of opening a tiny file (bench_open_stall.py);
# the old interval comes back when the last reading ends. It costs the reader a few percent.
READING_SWITCH_INTERVAL = 0.0001


class _GilHandover:
    """Counts the readings running; the first lowers the switch interval, the last restores it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._saved = sys.getswitchinterval()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        with self._lock:
            if self._count == 0:
                self._saved = sys.getswitchinterval()
                sys.setswitchinterval(min(self._saved, READING_SWITCH_INTERVAL))
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1
                if self._count == 0:
                    sys.setswitchinterval(self._saved)


_handover = _GilHandover()


def _unreadable(exc: OSError) -> str:
    return f"The file cannot be read: {exc.strerror or exc}. Check the path."


def _close_late(future: asyncio.Future[Inspection]) -> None:
    """A reading whose wizard went away meanwhile: close what it opened."""
    if future.cancelled() or future.exception() is not None:
        return
    image = future.result().image
    if image is not None:
        image.close()


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
        self.allocated_bytes = 0
        self.error = ""
        self.reading = False  # a worker thread is reading the file: the page cannot advance
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText("Choose or drop a .vhd, .vhdx, .img or .raw file")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.busy = QProgressBar()
        self.busy.setObjectName("reading")
        self.busy.setRange(0, 0)  # no end known: a moving bar says the file is being read
        self.busy.setFormat("")
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy_label = QLabel("Reading the file…")
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy_label)
        busy_row.addWidget(self.busy, 1)
        self.busy_row = QWidget()
        self.busy_row.setLayout(busy_row)
        self.busy_row.setVisible(False)

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
        self.guest = GuestChoice(self.os_box, self.generation_box, self.architecture_box, self)
        machine = QFormLayout()
        machine.addRow("Operating system:", self.guest.row(self.os_box))
        machine.addRow("OS state:", self.state_box)
        machine.addRow("Hyper-V generation:", self.guest.row(self.generation_box))
        machine.addRow("Architecture:", self.guest.row(self.architecture_box))
        machine.addRow(self.guest.warning)
        self.reminder = QLabel()
        self.reminder.setWordWrap(True)
        self.reminder.setTextFormat(Qt.TextFormat.RichText)
        self.reminder.setObjectName("reminder")
        self.reminder.setStyleSheet(panel_style("QLabel#reminder"))
        for box in (self.os_box, self.state_box):
            box.currentIndexChanged.connect(self._update_reminder)

        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.busy_row)
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
        patterns = " ".join(f"*{suffix}" for suffix in DISK_IMAGE_SUFFIXES)
        dialog.setNameFilter(f"Disk images ({patterns});;All files (*)")
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
        self.cancel_tasks()  # a file chosen while another is read: that reading is dropped
        self.path = path
        self.path_edit.setText(str(path))
        self._close_image()
        self.error = ""
        self._set_reading(True)
        for label in self.fact_labels.values():
            label.setText("…")
        self.findings.clear()
        self.findings.addItem("Reading the file…")
        self.guest.show_facts(None)
        self.completeChanged.emit()
        self.spawn(self._inspect(path))

    def _set_reading(self, reading: bool) -> None:
        self.reading = reading
        self.busy_row.setVisible(reading)

    async def _inspect(self, path: Path) -> None:
        # Everything that touches the file runs on a worker thread (the loop's executor); the
        # GUI thread only shows the answer. Shielded, so that cancelling this task (the wizard
        # closed, another file chosen) does not lose an image the thread opens meanwhile.
        future = asyncio.get_running_loop().run_in_executor(None, inspect_file, path)
        try:
            inspection = await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_close_late)
            if self.path == path:
                self._set_reading(False)
            raise
        if self.path != path:
            if inspection.image is not None:
                inspection.image.close()
            return
        self._set_reading(False)
        if inspection.image is None:
            self.error = inspection.error
            self._show_error(self.error)
            if inspection.detected_format:
                self.fact_labels["Format"].setText(
                    f"{inspection.detected_format} (recognised by its content; not uploadable "
                    "as it is)")
            if inspection.command:
                self.fact_labels["Conversion"].setText(inspection.command)
            return
        self.image = inspection.image
        self.allocated_bytes = inspection.allocated_bytes
        self._show_image(inspection.image)
        self.guest.show_facts(inspection.guest)

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
        share = self.allocated_bytes / image.fixed_size if image.fixed_size else 0
        labels["Data held"].setText(
            f"at most {human_bytes(self.allocated_bytes)} ({share:.0%}); empty ranges and "
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
        return (
            not self.reading and self.image is not None and self.image.acceptable and not self.error
        )

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

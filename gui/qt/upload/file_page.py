"""Page 1 of the upload wizard: the disk image, what Azure will say, how to prepare it.

A VM image can hold data disks beside its OS disk: an OVA brings them (its first disk is the OS
disk, the others data disks in LUN order), and more files can be added or dropped here, each at a
LUN of its own. Every disk is read and checked as the OS disk is; a row of the disk table shows
that disk's facts and findings below it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLocale, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
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
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.azure.image_builder import (
    DiskFacts,
)
from gui.diskimage import DISK_IMAGE_SUFFIXES
from gui.i18n import QT_TR_NOOP, Text, message
from gui.qt import icons
from gui.qt.i18n import format_number, format_size, render_text
from gui.qt.style import panel_style
from gui.qt.upload.common import (
    AsyncPage,
    problem_label,
)
from gui.qt.upload.guest_choice import GuestChoice
from gui.units import human_bytes

if TYPE_CHECKING:
    from gui.diskimage import DiskImage
    from gui.diskimage.guest import GuestFacts

log = logging.getLogger(__name__)


# Shown through QCoreApplication.translate("FilePage", …) where the reminder is set.
WINDOWS_REMINDER = QT_TRANSLATE_NOOP(
    "FilePage",
    "<b>Windows:</b> back the machine up first, then generalize it inside the VM with<br>"
    "<code>C:\\Windows\\System32\\Sysprep\\sysprep.exe /generalize /oobe /shutdown</code><br>"
    "and upload its disk after it has shut down. A generalized Windows cannot be started in its "
    "old identity again.",
)
LINUX_REMINDER = QT_TRANSLATE_NOOP(
    "FilePage",
    "<b>Linux:</b> back the machine up first, then run<br>"
    "<code>sudo waagent -deprovision+user</code> and shut it down before you copy the disk. "
    "This deletes the last provisioned user account, SSH host keys and the host name.",
)
SPECIALIZED_NOTE = QT_TRANSLATE_NOOP(
    "FilePage",
    "<b>Specialized:</b> the disk keeps its identity (users, host name, machine SID). It can "
    "become a specialized gallery image version, not a managed image.",
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


def inspect_file(path: Path, disk_index: int = 0, *, guest: bool = True) -> Inspection:
    """Runs on a worker thread; a file that cannot be used comes back as its message.
    ``disk_index`` picks a disk of an OVA; ``guest`` False skips the guest (a data disk)."""
    with _handover.reading():
        return _inspect_file(path, disk_index, guest)


def _inspect_file(path: Path, disk_index: int = 0, read_guest: bool = True) -> Inspection:
    from gui.diskimage import DiskImageError, UnsupportedFormatError, open_image
    from gui.diskimage.guest import read_guest_facts

    try:
        image = open_image(path, disk_index)
    except UnsupportedFormatError as exc:
        return Inspection(None, error=exc.message, detected_format=exc.format_label,
                          command=exc.command or "")
    except DiskImageError as exc:
        return Inspection(None, error=exc.message)
    except OSError as exc:
        return Inspection(None, error=_unreadable(exc))
    try:
        # data_ranges() is kept by the image, so the upload that follows does not walk again.
        allocated = sum(r.length for r in image.data_ranges())
    except DiskImageError as exc:
        image.close()
        return Inspection(None, error=exc.message)
    except OSError as exc:
        image.close()
        return Inspection(None, error=_unreadable(exc))
    if not read_guest:
        return Inspection(image, allocated)
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


def _grouped(count: int) -> str:
    """A byte count with the locale's digit grouping ("1,048,576" / "1.048.576")."""
    return QLocale().toString(count)


def _unreadable(exc: OSError) -> str:
    # Made on the worker thread: the English text with its Message, translated where shown.
    return Text(message(QT_TR_NOOP("The file cannot be read: {reason}. Check the path."),
                        reason=exc.strerror or str(exc)))


MAX_LUN = 63  # Azure's data disk LUNs: 0-63


@dataclass(eq=False)
class DataDisk:
    """A data disk on page 1: a file (or one disk of an OVA) at a LUN, read like the OS disk."""

    path: Path
    disk_index: int
    lun: int
    from_appliance: bool = False  # brought by the OS disk's OVA (replaced when it changes)
    member: str = ""  # the disk's file inside the OVA
    inspection: Inspection | None = field(default=None)  # None while it is read

    @property
    def image(self) -> DiskImage | None:
        return self.inspection.image if self.inspection else None

    @property
    def ready(self) -> bool:
        image = self.image
        return image is not None and image.acceptable

    def close(self) -> None:
        if self.image is not None:
            self.image.close()


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
        self.setTitle(self.tr("The disk image"))
        self.setSubTitle(self.tr(
            "What the file is, what Azure will say about it, and what will be sent. Nothing is "
            "uploaded before the last page."
        ))
        self.path: Path | None = None
        self.image: DiskImage | None = None
        self.allocated_bytes = 0
        self.error = ""
        self.reading = False  # a worker thread is reading the file: the page cannot advance
        self.inspection: Inspection | None = None  # the OS disk's, once read
        self.data_disks: list[DataDisk] = []
        self.path_edit = QLineEdit()
        self.path_edit.setReadOnly(True)
        self.path_edit.setPlaceholderText(
            self.tr("Choose or drop a disk image: VHD, VHDX, qcow2, VMDK, VDI, OVA or raw")
        )
        self.path_edit.setAccessibleName(self.tr("OS disk image file"))
        path_label = QLabel(self.tr("&OS disk:"))
        path_label.setBuddy(self.path_edit)
        browse = QPushButton(self.tr("C&hoose…"))
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(path_label)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.disk_table = self._make_disk_table()
        self.add_button = QPushButton(self.tr("&Add data disk…"))
        self.add_button.setObjectName("addDataDisk")
        self.add_button.clicked.connect(self._browse_data_disks)
        self.remove_button = QPushButton(self.tr("Re&move data disk"))
        self.remove_button.setObjectName("removeDataDisk")
        self.remove_button.clicked.connect(self._remove_current)
        self.remove_button.setEnabled(False)
        self.disk_problems = problem_label()
        self.disk_problems.setObjectName("diskProblems")
        disk_buttons = QHBoxLayout()
        disk_buttons.addWidget(self.add_button)
        disk_buttons.addWidget(self.remove_button)
        disk_buttons.addWidget(self.disk_problems, 1)
        self.busy = QProgressBar()
        self.busy.setObjectName("reading")
        self.busy.setRange(0, 0)  # no end known: a moving bar says the file is being read
        self.busy.setFormat("")
        self.busy.setTextVisible(False)
        self.busy.setMaximumHeight(8)
        self.busy_label = QLabel(self.tr("Reading the file…"))
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy_label)
        busy_row.addWidget(self.busy, 1)
        self.busy_row = QWidget()
        self.busy_row.setLayout(busy_row)
        self.busy_row.setVisible(False)

        self.facts_grid = QGridLayout()
        self.fact_labels: dict[str, QLabel] = {}
        captions = {
            "Format": self.tr("Format:"), "Virtual size": self.tr("Virtual size:"),
            "Size in Azure": self.tr("Size in Azure:"), "Upload size": self.tr("Upload size:"),
            "Data held": self.tr("Data held:"), "Conversion": self.tr("Conversion:"),
        }
        for line, (key, text) in enumerate(captions.items()):
            caption = QLabel(text)
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
        self.state_box.addItem(self.tr("Generalized (sysprep / waagent was run)"), "Generalized")
        self.state_box.addItem(self.tr("Specialized (keeps its identity)"), "Specialized")
        self.generation_box = QComboBox()
        self.generation_box.addItem(self.tr("Gen2 (UEFI)"), "V2")
        self.generation_box.addItem(self.tr("Gen1 (BIOS)"), "V1")
        self.architecture_box = QComboBox()
        self.architecture_box.addItems(["x64", "Arm64"])
        self.guest = GuestChoice(self.os_box, self.generation_box, self.architecture_box, self)
        machine = QFormLayout()
        machine.addRow(self.tr("Operating system:"), self.guest.row(self.os_box))
        machine.addRow(self.tr("OS state:"), self.state_box)
        machine.addRow(self.tr("Hyper-V generation:"), self.guest.row(self.generation_box))
        machine.addRow(self.tr("Architecture:"), self.guest.row(self.architecture_box))
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
        layout.addWidget(self.disk_table)
        layout.addLayout(disk_buttons)
        layout.addWidget(self.busy_row)
        layout.addLayout(self.facts_grid)
        layout.addWidget(self.findings)
        machine_box = QGroupBox(self.tr("The machine on this disk"))
        machine_layout = QHBoxLayout(machine_box)
        machine_layout.addLayout(machine)
        machine_layout.addWidget(self.reminder, 1)
        layout.addWidget(machine_box)
        self.registerField("os_type", self.os_box, "currentText")
        self._os_task: asyncio.Task[None] | None = None
        self._update_reminder()
        if path is not None:
            self.load(path)

    def _browse(self) -> None:
        dialog = QFileDialog(self, self.tr("Choose a disk image"))
        patterns = " ".join(f"*{suffix}" for suffix in DISK_IMAGE_SUFFIXES)
        dialog.setNameFilter(self.tr("Disk images ({patterns});;All files (*)").format(
            patterns=patterns))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda name: self.load(Path(name)))
        dialog.open()

    def _update_reminder(self) -> None:
        if self.state_box.currentData() == "Specialized":
            text = SPECIALIZED_NOTE
        else:
            text = WINDOWS_REMINDER if self.os_box.currentText() == "Windows" else LINUX_REMINDER
        self.reminder.setText(QCoreApplication.translate("FilePage", str(text)))

    # --- the disk table ---------------------------------------------------------------------

    def _make_disk_table(self) -> QTableWidget:
        table = QTableWidget(0, 5)
        table.setObjectName("disks")
        table.setHorizontalHeaderLabels([
            self.tr("Disk"), self.tr("LUN"), self.tr("File"), self.tr("Size in Azure"),
            self.tr("Check"),
        ])
        table.setAccessibleName(self.tr("Disks of the image"))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setTabKeyNavigation(False)
        table.verticalHeader().setVisible(False)
        table.horizontalHeader().setStretchLastSection(True)
        table.setMaximumHeight(140)
        table.currentCellChanged.connect(self._row_changed)
        return table

    def _browse_data_disks(self) -> None:
        dialog = QFileDialog(self, self.tr("Choose data disk images"))
        patterns = " ".join(f"*{suffix}" for suffix in DISK_IMAGE_SUFFIXES)
        dialog.setNameFilter(self.tr("Disk images ({patterns});;All files (*)").format(
            patterns=patterns))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.filesSelected.connect(lambda names: self.add_files([Path(n) for n in names]))
        dialog.open()

    def add_files(self, paths: list[Path]) -> None:
        """Files dropped or chosen: the first becomes the OS disk while there is none, the
        others data disks at the next free LUNs."""
        for path in paths:
            if self.path is None:
                self.load(path)
            else:
                self.add_data_disk(path)

    def free_lun(self) -> int | None:
        used = {disk.lun for disk in self.data_disks}
        return next((lun for lun in range(MAX_LUN + 1) if lun not in used), None)

    def add_data_disk(self, path: Path, disk_index: int = 0, lun: int | None = None, *,
                      from_appliance: bool = False, member: str = "") -> DataDisk | None:
        """A data disk at ``lun`` (the lowest free one when None), read on a worker thread."""
        if lun is None:
            lun = self.free_lun()
        if lun is None:
            self.disk_problems.setText(
                self.tr("An image holds at most 64 data disks (LUN 0 to 63)."))
            return None
        disk = DataDisk(path, disk_index, lun, from_appliance, member)
        self.data_disks.append(disk)
        self._fill_table(select=disk)
        self.spawn(self._inspect_data(disk))
        return disk

    def remove_data_disk(self, disk: DataDisk) -> None:
        if disk in self.data_disks:
            self.data_disks.remove(disk)
            disk.close()
            self._fill_table()

    def _remove_current(self) -> None:
        disk = self._disk_at(self.disk_table.currentRow())
        if disk is not None:
            self.remove_data_disk(disk)

    def _disk_at(self, row: int) -> DataDisk | None:
        return self.data_disks[row - 1] if 1 <= row <= len(self.data_disks) else None

    async def _inspect_data(self, disk: DataDisk) -> None:
        future = asyncio.get_running_loop().run_in_executor(
            None, lambda: inspect_file(disk.path, disk.disk_index, guest=False))
        try:
            inspection = await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_close_late)
            raise
        if disk not in self.data_disks:  # removed while it was read
            if inspection.image is not None:
                inspection.image.close()
            return
        disk.inspection = inspection
        self._fill_table(select=None)

    def _role_text(self, row: int) -> str:
        return self.tr("OS disk") if row == 0 else self.tr("Data disk")

    def _check_text(self, inspection: Inspection | None, reading: bool) -> str:
        if reading or inspection is None:
            return self.tr("Reading…")
        if inspection.image is None:
            return self.tr("Refused: {reason}").format(
                reason=render_text(inspection.error).splitlines()[0])
        findings = inspection.image.findings
        if not inspection.image.acceptable:
            return self.tr("Azure would refuse it (see its findings)")
        if findings:
            return self.tr("%n finding(s)", "", len(findings))
        return self.tr("Ready")

    def _fill_table(self, select: DataDisk | None = None) -> None:
        """The table anew (a disk added, removed or read); the LUNs edit in place."""
        table = self.disk_table
        current = select if select is not None else self._disk_at(table.currentRow())
        table.blockSignals(True)
        table.setRowCount(0)
        if self.path is not None:
            os_file = self.path.name
            appliance = self.image.appliance_disks if self.image is not None else []
            if appliance:
                os_file = f"{self.path.name}: {appliance[0].name}"
            self._add_row(self._role_text(0), None, os_file, self.image,
                          self._check_text(self.inspection, self.reading))
        for disk in self.data_disks:
            name = f"{disk.path.name}: {disk.member}" if disk.member else disk.path.name
            self._add_row(self._role_text(1), disk, name, disk.image,
                          self._check_text(disk.inspection, disk.inspection is None))
        table.resizeColumnsToContents()
        table.blockSignals(False)
        row = self.data_disks.index(current) + 1 if current in self.data_disks else 0
        if table.rowCount():
            table.setCurrentCell(row, 0)
            self._row_changed(row)
        self.show_disk_problems()

    def _add_row(self, role: str, disk: DataDisk | None, file_name: str,
                 image: DiskImage | None, check: str) -> None:
        table = self.disk_table
        row = table.rowCount()
        table.insertRow(row)
        size = format_size(image.fixed_size) if image is not None else "—"
        for column, text in ((0, role), (2, file_name), (3, size), (4, check)):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(row, column, item)
        if disk is None:
            table.setItem(row, 1, QTableWidgetItem("—"))
            return
        spin = QSpinBox()
        spin.setRange(0, MAX_LUN)
        spin.setValue(disk.lun)
        spin.setAccessibleName(self.tr("LUN of the data disk {name}").format(name=file_name))
        spin.valueChanged.connect(lambda value, d=disk: self._lun_changed(d, value))
        table.setCellWidget(row, 1, spin)

    def _lun_changed(self, disk: DataDisk, lun: int) -> None:
        disk.lun = lun
        self.show_disk_problems()

    def _row_changed(self, row: int, *_args: int) -> None:
        disk = self._disk_at(row)
        self.remove_button.setEnabled(disk is not None)
        if disk is None:
            self._show_inspection(self.inspection, self.reading)
        else:
            self._show_inspection(disk.inspection, disk.inspection is None)

    def lun_problems(self) -> list[str]:
        luns = [disk.lun for disk in self.data_disks]
        twice = sorted({lun for lun in luns if luns.count(lun) > 1})
        return [
            self.tr("LUN {lun} is given to more than one data disk: give each its own.").format(
                lun=lun)
            for lun in twice
        ]

    def show_disk_problems(self) -> None:
        self.disk_problems.setText("\n".join(self.lun_problems()))
        self.completeChanged.emit()

    # --- the OS disk ------------------------------------------------------------------------

    def load(self, path: Path) -> None:
        """``path`` becomes the OS disk; data disks its OVA brought before go with it."""
        if self._os_task is not None:
            self._os_task.cancel()  # a file chosen while another is read: that reading is dropped
        self.path = path
        self.path_edit.setText(str(path))
        self._close_image()
        self.inspection = None
        for disk in [d for d in self.data_disks if d.from_appliance]:
            self.data_disks.remove(disk)
            disk.close()
        self.error = ""
        self._set_reading(True)
        self.guest.show_facts(None)
        self._fill_table()
        self.completeChanged.emit()
        self._os_task = self.spawn(self._inspect(path))

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
        self.inspection = inspection
        if inspection.image is None:
            self.error = inspection.error
            self._fill_table()
            return
        self.image = inspection.image
        self.allocated_bytes = inspection.allocated_bytes
        self.guest.show_facts(inspection.guest)
        # An OVA brings its data disks, each at the LUN its descriptor gives.
        for entry in inspection.image.appliance_disks[1:]:
            lun = entry.lun if entry.lun is not None and entry.lun not in {
                d.lun for d in self.data_disks} else None
            self.add_data_disk(path, entry.index, lun, from_appliance=True, member=entry.name)
        self._fill_table(select=None)

    def _show_inspection(self, inspection: Inspection | None, reading: bool) -> None:
        """One disk's facts and findings in the grid and list below the table."""
        if reading or inspection is None:
            for label in self.fact_labels.values():
                label.setText("…")
            self.findings.clear()
            self.findings.addItem(self.tr("Reading the file…"))
            return
        if inspection.image is None:
            self._show_error(inspection.error)
            if inspection.detected_format:
                self.fact_labels["Format"].setText(self.tr(
                    "{format} (recognised by its content; not uploadable as it is)").format(
                    format=render_text(inspection.detected_format)))
            if inspection.command:
                self.fact_labels["Conversion"].setText(inspection.command)
            return
        self._show_image(inspection.image, inspection.allocated_bytes)

    def _show_error(self, message: str) -> None:
        for label in self.fact_labels.values():
            label.setText("—")
        self.findings.clear()
        item = QListWidgetItem(icons.icon("error"), render_text(message))
        self.findings.addItem(item)
        self.completeChanged.emit()

    def _show_image(self, image: DiskImage, allocated_bytes: int) -> None:
        labels = self.fact_labels
        labels["Format"].setText(render_text(image.format.label))
        labels["Virtual size"].setText(self.tr("{size} ({count} bytes)").format(
            size=format_size(image.virtual_size), count=_grouped(image.virtual_size)))
        labels["Size in Azure"].setText(self.tr("{size} ({count} bytes)").format(
            size=format_size(image.fixed_size), count=_grouped(image.fixed_size)))
        labels["Upload size"].setText(self.tr("{count} bytes (with the 512-byte footer)").format(
            count=_grouped(image.upload_size)))
        share = allocated_bytes / image.fixed_size if image.fixed_size else 0
        labels["Data held"].setText(self.tr(
            "at most {size} ({share}%); empty ranges and zero blocks are not sent").format(
            # Nothing held reads "0 B" as it always did (QLocale writes "0 bytes").
            size=format_size(allocated_bytes) if allocated_bytes else human_bytes(0),
            share=format_number(share * 100)))
        conversions = []
        if "FIXED" not in image.format.name or "VHDX" in image.format.name:
            conversions.append(self.tr("read as a fixed VHD on the fly (no temporary copy)"))
        if image.fixed_size != image.virtual_size:
            conversions.append(
                self.tr("size rounded up to a whole MiB ({before} → {after})").format(
                    before=_grouped(image.virtual_size), after=_grouped(image.fixed_size)))
        conversions.append(self.tr("Azure-ready footer written last"))
        labels["Conversion"].setText("; ".join(conversions))
        self.findings.clear()
        level_icons = {"ERROR": "error", "WARNING": "warning", "INFO": "info"}
        for finding in image.findings:
            name = finding.level.name
            self.findings.addItem(
                QListWidgetItem(icons.icon(level_icons.get(name, "info")), render_text(finding))
            )
        if not image.findings:
            self.findings.addItem(
                QListWidgetItem(icons.icon("info"),
                                self.tr("Azure will accept this disk as it is."))
            )
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        os_ready = (
            not self.reading and self.image is not None and self.image.acceptable and not self.error
        )
        return os_ready and all(d.ready for d in self.data_disks) and not self.lun_problems()

    def facts(self) -> DiskFacts:
        return DiskFacts(
            os_type=self.os_box.currentText(),
            os_state=str(self.state_box.currentData()),
            hyper_v_generation=str(self.generation_box.currentData()),
            architecture=self.architecture_box.currentText(),
        )

    @property
    def disk_index(self) -> int:
        """Which disk of the OS disk's file is the OS disk (an OVA's first)."""
        return self.image.disk_index if self.image is not None else 0

    def data_disk_sizes(self) -> list[int]:
        """Each data disk's size in Azure, in the order of ``data_disks``."""
        return [disk.image.fixed_size if disk.image else 0 for disk in self.data_disks]

    def _close_image(self) -> None:
        if self.image is not None:
            self.image.close()
            self.image = None

    def cleanupPage(self) -> None:
        pass  # keep the inspection when the user goes back to this page

    def close_image(self) -> None:
        """Let go of every disk read here (the upload opens its own)."""
        self._close_image()
        for disk in self.data_disks:
            disk.close()

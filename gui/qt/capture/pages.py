"""The first pages of the capture wizard: the VM, and how to prepare it."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from gui.azure.arm import name_of
from gui.azure.capture.plan import (
    LINUX_DEPROVISION,
    WINDOWS_SYSPREP,
    WINDOWS_SYSPREP_VM,
    Generalization,
    Preparation,
    check_source,
)
from gui.azure.capture.vms import VmInfo
from gui.qt.capture.common import (
    CaptureHost,
    named,
    problem_label,
    show_problems,
)
from gui.qt.style import Tone, text_style

VM_COLUMNS = (
    "Name",
    "Resource group",
    "Power state",
    "OS",
    "OS state",
    "Size",
    "Security",
    "Gen / arch",
    "Disks",
)


class VmPage(QWizardPage):
    """Page 1: the VMs of the subscription, one to capture. Its part of the plan: the VM."""

    refresh_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Choose the VM to capture")
        self.setSubTitle(
            "The virtual machines of this subscription. Capturing makes an image from the VM's "
            "OS disk and data disks."
        )
        self.table = named(QTableWidget(0, len(VM_COLUMNS)), "vmTable")
        self.table.setHorizontalHeaderLabels(list(VM_COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemDoubleClicked.connect(lambda _item: self.wizard().next())
        self.status = named(QLabel("Loading virtual machines…"), "vmStatus")
        self.status.setWordWrap(True)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.refresh_requested)
        label = QLabel("&Virtual machines:")
        label.setBuddy(self.table)
        row = QHBoxLayout()
        row.addWidget(self.status, 1)
        row.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._vms: list[VmInfo] = []

    def show_loading(self) -> None:
        self.status.setText("Loading virtual machines…")
        self.status.setStyleSheet("")
        self.refresh_button.setEnabled(False)

    def show_error(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(text_style(Tone.ERROR))
        self.refresh_button.setEnabled(True)

    def show_vms(self, vms: list[VmInfo], preselect: str | None) -> None:
        self._vms = vms
        self.refresh_button.setEnabled(True)
        self.table.setRowCount(len(vms))
        for row, vm in enumerate(vms):
            cells = (
                vm.name,
                vm.resource_group,
                vm.power_label,
                vm.os_type,
                vm.os_state,
                vm.size,
                vm.security_type,
                f"{vm.generation_label} · {vm.architecture}",
                vm.disks_label,
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(vm.id if column == 0 else vm.os_name if column == 3 else text)
                self.table.setItem(row, column, item)
        count = len(vms)
        self.status.setText(
            f"{count} virtual machine{'s' if count != 1 else ''}."
            if vms
            else "This subscription has no virtual machines."
        )
        self.status.setStyleSheet("")
        wanted = (preselect or "").lower()
        found = next((row for row, vm in enumerate(vms) if vm.id.lower() == wanted), None)
        if found is not None:
            self.table.selectRow(found)
        elif wanted:
            self.status.setText(
                f"VM {name_of(wanted)} was not found in this subscription (deleted or "
                "moved?). Pick another one."
            )
            self.status.setStyleSheet(text_style(Tone.ERROR))
        self.completeChanged.emit()

    def selected_vm(self) -> VmInfo | None:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()}
        if len(rows) != 1:
            return None
        return self._vms[rows.pop()]

    def _on_selection(self) -> None:
        self.completeChanged.emit()

    def initializePage(self) -> None:
        self.table.setFocus()

    def isComplete(self) -> bool:
        return self.selected_vm() is not None

    def validatePage(self) -> bool:
        # QWizard.next() asks only this, not isComplete()
        return self.isComplete()


class PreparePage(QWizardPage):
    """Page 2: back up first, then generalize (or capture as specialized). Its part of the
    plan: a ``Preparation``."""

    def __init__(self, host: CaptureHost) -> None:
        super().__init__()
        self._host = host
        self.setTitle("Prepare the VM")
        self.backup_box = QGroupBox("1. Back up first")
        self.backup_text = QLabel(
            "Generalizing cannot be undone. Snapshots keep a copy of each disk as it is now, "
            "so you can build a new VM from them if anything goes wrong."
        )
        self.backup_text.setWordWrap(True)
        self.backup_layout = QVBoxLayout(self.backup_box)
        self.backup_layout.addWidget(self.backup_text)
        self.snapshot_boxes: list[tuple[QCheckBox, str]] = []

        self.generalize_box = QGroupBox("2. Generalize")
        self.how = named(QLabel(), "generalizeHow")
        self.how.setWordWrap(True)
        self.command = named(QLineEdit(), "generalizeCommand")
        self.command.setReadOnly(True)
        self.command.setAccessibleName("Generalization command")
        copy = QPushButton("Cop&y")
        copy.setToolTip("Copy the command to the clipboard")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.text()))
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(copy)
        self.caveats = named(QLabel(), "caveats")
        self.caveats.setWordWrap(True)
        self.run_now = named(QRadioButton(), "runCommand")
        self.did_it = named(QRadioButton("&I generalized it myself and shut it down"), "confirmed")
        self.specialized = QRadioButton(
            "Capture as &specialized (gallery only): keep the machine as it is, with its "
            "accounts and computer name"
        )
        self.specialized.setObjectName("specialized")
        self.choice = QButtonGroup(self)
        for index, button in enumerate((self.run_now, self.did_it, self.specialized)):
            self.choice.addButton(button, index)
            button.toggled.connect(self._on_choice)
        g = QVBoxLayout(self.generalize_box)
        g.addWidget(self.how)
        g.addLayout(command_row)
        g.addWidget(self.caveats)
        g.addWidget(self.run_now)
        g.addWidget(self.did_it)
        g.addWidget(self.specialized)
        self.problems = problem_label("prepareProblems")
        layout = QVBoxLayout(self)
        layout.addWidget(self.backup_box)
        layout.addWidget(self.generalize_box)
        layout.addWidget(self.problems)
        layout.addStretch(1)

    def initializePage(self) -> None:
        vm = self._host.chosen_vm()
        assert vm is not None
        self.setSubTitle(
            f"{vm.name}: {vm.os_type} ({vm.os_name}), {vm.power_label.lower()}, "
            f"{vm.os_state.lower()}, {vm.security_type}, {vm.generation_label} · "
            f"{vm.architecture}."
        )
        for box, _ in self.snapshot_boxes:
            self.backup_layout.removeWidget(box)
            box.deleteLater()
        self.snapshot_boxes = []
        for disk in vm.disks:
            box = QCheckBox(f"Take a snapshot of the {disk.label}")
            box.setChecked(True)
            box.setObjectName(f"snapshot-{disk.lun if disk.lun is not None else 'os'}")
            self.backup_layout.addWidget(box)
            self.snapshot_boxes.append((box, disk.id))
        windows = vm.os_type == "Windows"
        if vm.generalized:
            self.how.setText(
                f"Azure already marks {vm.name} generalized: it can be captured as it is."
            )
        elif windows:
            self.how.setText(
                "Inside the VM, as an administrator, run sysprep. It removes the computer's "
                "identity (SID, computer name, logs), then shuts Windows down. The switch "
                "'/mode:vm' (Windows Server 2012 and later, images for VMs only) skips the "
                "hardware re-detection on first start:"
            )
        else:
            self.how.setText(
                "Inside the VM, run the Azure Linux agent's deprovisioning. It removes SSH host "
                "keys, DHCP leases, cloud-init state and the admin user, then shut the VM down "
                "(sudo shutdown -h now):"
            )
        self.command.setText(WINDOWS_SYSPREP_VM if windows else LINUX_DEPROVISION)
        self.command.setToolTip(
            f"Without /mode:vm: {WINDOWS_SYSPREP}" if windows else LINUX_DEPROVISION
        )
        user = vm.admin_username or "the admin user"
        self.caveats.setText(
            "<b>Caveats:</b> a generalized VM can never be started again: capture it, then "
            "delete it or keep it only as the image's source. "
            + (
                f"The user account <b>{user}</b> and its home directory are removed."
                if not windows
                else "The machine's identity is reset and the built-in Administrator is "
                f"disabled; a new VM gets its admin account from its own settings. Local "
                f"accounts such as <b>{user}</b> stay in the image: remove the ones you do not "
                "want in it first."
            )
        )
        self.run_now.setText(
            "&Run the generalization now through Run Command and wait until the VM has stopped"
            + ("" if vm.power_state == "running" else " (needs a running VM)")
        )
        for widget in (self.command, self.caveats, self.run_now):
            widget.setVisible(not vm.generalized)
        self.run_now.setEnabled(not vm.generalized)
        if vm.generalized:
            self.did_it.setText("The VM is &generalized: capture it as it is")
            self.did_it.setChecked(True)
        else:
            self.did_it.setText("&I generalized it myself and shut it down")
            (self.run_now if vm.power_state == "running" else self.did_it).setChecked(True)
        self.specialized.setEnabled(not vm.generalized)
        self._on_choice()

    def generalization(self) -> Generalization:
        if self.specialized.isChecked():
            return Generalization.SPECIALIZED
        if self.did_it.isChecked():
            return Generalization.CONFIRMED
        return Generalization.RUN_COMMAND

    def snapshot_disk_ids(self) -> tuple[str, ...]:
        return tuple(disk_id for box, disk_id in self.snapshot_boxes if box.isChecked())

    def preparation(self) -> Preparation:
        return Preparation(
            generalization=self.generalization(), snapshot_disk_ids=self.snapshot_disk_ids()
        )

    def _problems(self) -> list[str]:
        vm = self._host.chosen_vm()
        if vm is None:
            return []
        return [p.message for p in check_source(vm, self.generalization())]

    def _on_choice(self) -> None:
        show_problems(self.problems, self._problems())
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._host.chosen_vm() is not None and not self._problems()

    def validatePage(self) -> bool:
        return self.isComplete()

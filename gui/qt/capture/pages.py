"""The first pages of the capture wizard: the VM, and how to prepare it."""

from __future__ import annotations

import html

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Signal
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
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style

# QT_TRANSLATE_NOOP is typed to return object: the texts are str at run time.
VM_COLUMNS = (
    QT_TRANSLATE_NOOP("VmPage", "Name"),
    QT_TRANSLATE_NOOP("VmPage", "Resource group"),
    QT_TRANSLATE_NOOP("VmPage", "Power state"),
    QT_TRANSLATE_NOOP("VmPage", "OS"),
    QT_TRANSLATE_NOOP("VmPage", "OS state"),
    QT_TRANSLATE_NOOP("VmPage", "Size"),
    QT_TRANSLATE_NOOP("VmPage", "Security"),
    QT_TRANSLATE_NOOP("VmPage", "Gen / arch"),
    QT_TRANSLATE_NOOP("VmPage", "Disks"),
)


class VmPage(QWizardPage):
    """Page 1: the VMs of the subscription, one to capture. Its part of the plan: the VM."""

    refresh_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Choose the VM to capture"))
        self.setSubTitle(
            self.tr(
                "The virtual machines of this subscription. Capturing makes an image from the "
                "VM's OS disk and data disks."
            )
        )
        self.table = named(QTableWidget(0, len(VM_COLUMNS)), "vmTable")
        self.table.setHorizontalHeaderLabels(
            [QCoreApplication.translate("VmPage", str(column)) for column in VM_COLUMNS]
        )
        self.table.setAccessibleName(self.tr("Virtual machines"))
        # Tab leaves the table (arrow keys move within it), so keyboard users are never stuck
        self.table.setTabKeyNavigation(False)
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
        self.status = named(QLabel(self.tr("Loading virtual machines…")), "vmStatus")
        self.status.setWordWrap(True)
        self.refresh_button = QPushButton(self.tr("&Refresh"))
        self.refresh_button.setToolTip(self.tr("List the virtual machines again"))
        self.refresh_button.clicked.connect(self.refresh_requested)
        label = QLabel(self.tr("&Virtual machines:"))
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
        self.status.setText(self.tr("Loading virtual machines…"))
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
                render_text(vm.power_label),
                vm.os_type,
                vm.os_state,
                vm.size,
                vm.security_type,
                f"{vm.generation_label} · {vm.architecture}",
                render_text(vm.disks_label),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(vm.id if column == 0 else vm.os_name if column == 3 else text)
                self.table.setItem(row, column, item)
        self.status.setText(
            self.tr("%n virtual machine(s).", "", len(vms))
            if vms
            else self.tr("This subscription has no virtual machines.")
        )
        self.status.setStyleSheet("")
        wanted = (preselect or "").lower()
        found = next((row for row, vm in enumerate(vms) if vm.id.lower() == wanted), None)
        if found is not None:
            self.table.selectRow(found)
        elif wanted:
            self.status.setText(
                self.tr(
                    "VM {name} was not found in this subscription (deleted or moved?). Pick "
                    "another one."
                ).format(name=name_of(wanted))
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
        self.setTitle(self.tr("Prepare the VM"))
        self.backup_box = QGroupBox(self.tr("1. Back up first"))
        self.backup_text = QLabel(
            self.tr(
                "Generalizing cannot be undone. Snapshots keep a copy of each disk as it is "
                "now, so you can build a new VM from them if anything goes wrong."
            )
        )
        self.backup_text.setWordWrap(True)
        self.backup_layout = QVBoxLayout(self.backup_box)
        self.backup_layout.addWidget(self.backup_text)
        self.snapshot_boxes: list[tuple[QCheckBox, str]] = []

        self.generalize_box = QGroupBox(self.tr("2. Generalize"))
        self.how = named(QLabel(), "generalizeHow")
        self.how.setWordWrap(True)
        self.command = named(QLineEdit(), "generalizeCommand")
        self.command.setReadOnly(True)
        self.command.setAccessibleName(self.tr("Generalization command"))
        self.how.setBuddy(self.command)  # the text above the command says what it does
        copy = QPushButton(self.tr("Cop&y"))
        copy.setToolTip(self.tr("Copy the command to the clipboard"))
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.command.text()))
        command_row = QHBoxLayout()
        command_row.addWidget(self.command, 1)
        command_row.addWidget(copy)
        self.caveats = named(QLabel(), "caveats")
        self.caveats.setWordWrap(True)
        self.run_now = named(QRadioButton(), "runCommand")
        self.did_it = named(
            QRadioButton(self.tr("&I generalized it myself and shut it down")), "confirmed"
        )
        self.specialized = QRadioButton(
            self.tr(
                "Capture as &specialized (gallery only): keep the machine as it is, with its "
                "accounts and computer name"
            )
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
        # facts in a row, not a sentence: each reads the same in any language
        self.setSubTitle(
            " · ".join(
                (
                    vm.name,
                    f"{vm.os_type} ({vm.os_name})",
                    render_text(vm.power_label),
                    vm.os_state,
                    vm.security_type,
                    vm.generation_label,
                    vm.architecture,
                )
            )
        )
        for box, _ in self.snapshot_boxes:
            self.backup_layout.removeWidget(box)
            box.deleteLater()
        self.snapshot_boxes = []
        for disk in vm.disks:
            box = QCheckBox(
                self.tr("Take a snapshot of the {disk}").format(disk=render_text(disk.label))
            )
            box.setChecked(True)
            box.setObjectName(f"snapshot-{disk.lun if disk.lun is not None else 'os'}")
            self.backup_layout.addWidget(box)
            self.snapshot_boxes.append((box, disk.id))
        windows = vm.os_type == "Windows"
        if vm.generalized:
            self.how.setText(
                self.tr(
                    "Azure already marks {name} generalized: it can be captured as it is."
                ).format(name=vm.name)
            )
        elif windows:
            self.how.setText(
                self.tr(
                    "Inside the VM, as an administrator, run sysprep. It removes the computer's "
                    "identity (SID, computer name, logs), then shuts Windows down. The switch "
                    "'/mode:vm' (Windows Server 2012 and later, images for VMs only) skips the "
                    "hardware re-detection on first start:"
                )
            )
        else:
            self.how.setText(
                self.tr(
                    "Inside the VM, run the Azure Linux agent's deprovisioning. It removes SSH "
                    "host keys, DHCP leases, cloud-init state and the admin user, then shut the "
                    "VM down (sudo shutdown -h now):"
                )
            )
        self.command.setText(WINDOWS_SYSPREP_VM if windows else LINUX_DEPROVISION)
        self.command.setToolTip(
            self.tr("Without /mode:vm: {command}").format(command=WINDOWS_SYSPREP)
            if windows
            else LINUX_DEPROVISION
        )
        user = html.escape(vm.admin_username, quote=False)
        if not windows:
            accounts = (
                self.tr("The user account <b>{user}</b> and its home directory are removed.")
                if user
                else self.tr("The admin user account and its home directory are removed.")
            )
        elif user:
            accounts = self.tr(
                "The machine's identity is reset and the built-in Administrator is disabled; a "
                "new VM gets its admin account from its own settings. Local accounts such as "
                "<b>{user}</b> stay in the image: remove the ones you do not want in it first."
            )
        else:
            accounts = self.tr(
                "The machine's identity is reset and the built-in Administrator is disabled; a "
                "new VM gets its admin account from its own settings. Local accounts stay in "
                "the image: remove the ones you do not want in it first."
            )
        self.caveats.setText(
            self.tr(
                "<b>Caveats:</b> a generalized VM can never be started again: capture it, then "
                "delete it or keep it only as the image's source. {accounts}"
            ).format(accounts=accounts.format(user=user))
        )
        self.run_now.setText(
            self.tr(
                "&Run the generalization now through Run Command and wait until the VM has stopped"
            )
            if vm.power_state == "running"
            else self.tr(
                "&Run the generalization now through Run Command and wait until the VM has "
                "stopped (needs a running VM)"
            )
        )
        for widget in (self.command, self.caveats, self.run_now):
            widget.setVisible(not vm.generalized)
        self.run_now.setEnabled(not vm.generalized)
        if vm.generalized:
            self.did_it.setText(self.tr("The VM is &generalized: capture it as it is"))
            self.did_it.setChecked(True)
        else:
            self.did_it.setText(self.tr("&I generalized it myself and shut it down"))
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
        return [render_text(p.message) for p in check_source(vm, self.generalization())]

    def _on_choice(self) -> None:
        show_problems(self.problems, self._problems())
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._host.chosen_vm() is not None and not self._problems()

    def validatePage(self) -> bool:
        return self.isComplete()

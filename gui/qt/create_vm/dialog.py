"""Create a VM from an image, or test-boot the image: one short dialog, two modes.

The fields are what the image allows: sizes of the region that run it (generation, architecture,
security type, from the Resource SKUs API), the security types it supports, an OS profile only for
a generalized image, the plan's terms where it has a plan (accepted right here). The run shows
its steps in the one step list; a test boot also streams the serial console log into a read-only
view (only the new text is appended, on the GUI loop between polls), gives a verdict with the
likely cause and deletes its throw-away resource group in every outcome.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFontDatabase, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import ImageDetail
from gui.azure.errors import AzureServiceError
from gui.azure.steps import StepEvent, StepState
from gui.azure.terms import MarketplaceTerms, TermsState
from gui.azure.vm_create.executor import VmCreateExecutor, plan_steps
from gui.azure.vm_create.image import ImageNeeds, SecurityType, image_needs
from gui.azure.vm_create.request import (
    TEST_BOOT_VM,
    Mode,
    Secret,
    VmRequest,
    throwaway_group,
    validate,
)
from gui.azure.vm_create.sizes import VmSize, region_sizes, sizes_for
from gui.azure.vm_create.verdict import Verdict
from gui.qt.browser.terms_box import TermsBox
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet
from gui.qt.widgets.step_list import StepList

# The serial view keeps this many lines; a guest that writes more scrolls its first ones out.
SERIAL_LINES = 5000


class CreateVmDialog(QDialog):
    """``finished_run`` carries the executor once a run has ended (its verdict, for a test
    boot)."""

    finished_run = Signal(object)

    def __init__(
        self,
        session: Any,
        subscription_id: str,
        detail: ImageDetail,
        mode: Mode,
        *,
        locations: list[tuple[str, str]] | None = None,
        default_location: str = "",
        default_resource_group: str = "",
        subscription_name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("createVmDialog")
        self.session = session
        self.subscription_id = subscription_id
        self.detail = detail
        self.needs: ImageNeeds = image_needs(detail)
        self.mode = mode
        self.executor: VmCreateExecutor | None = None
        self.verdict: Verdict | None = None
        self.running = False
        self._tasks = TaskSet("CreateVmDialog")
        self._run_task: asyncio.Task[Any] | None = None
        self._all_sizes: list[VmSize] = []
        self._terms: TermsState | None = None
        test = mode is Mode.TEST_BOOT
        self.setWindowTitle(self.tr("Test boot") if test else self.tr("Create VM"))
        self.setMinimumWidth(760)

        self.heading = QLabel(
            (self.tr("Test boot {image}") if test else self.tr("Create a VM from {image}"))
            .format(image=self.needs.title)
        )
        self.heading.setObjectName("createVmHeading")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.heading.setFont(font)
        self.explanation = QLabel(
            self.tr("Creates a VM in a throw-away resource group with boot diagnostics, shows "
                    "its serial log while it boots, says whether the image boots and why not, "
                    "then deletes everything it made.")
            if test else
            self.tr("A new virtual network and network interface are created with the VM; "
                    "without a public IP address, reach it through a bastion or a peered "
                    "network.")
        )
        self.explanation.setObjectName("createVmExplanation")
        self.explanation.setWordWrap(True)
        facts = self.tr("{os} · {state} · {generation} · {architecture}").format(
            os=self.tr("Linux") if self.needs.linux else self.tr("Windows"),
            state=self.tr("specialized") if self.needs.specialized else self.tr("generalized"),
            generation=self._generation_label(),
            architecture=self.needs.architecture,
        )
        self.facts = QLabel(facts)
        self.facts.setObjectName("createVmFacts")

        # --- the form ---------------------------------------------------------------------
        self.form = QWidget()
        self.form.setObjectName("createVmForm")
        form = QFormLayout(self.form)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.name_edit = QLineEdit(TEST_BOOT_VM if test else "")
        self.name_edit.setObjectName("vmName")
        self.name_edit.setAccessibleName(self.tr("VM name"))
        self.name_edit.setPlaceholderText(self.tr("e.g. vm-web-01"))
        self.name_edit.setReadOnly(test)
        self.name_label = QLabel(self.tr("&Name:"))
        self.name_label.setBuddy(self.name_edit)
        form.addRow(self.name_label, self.name_edit)

        self.group_box = QComboBox()
        self.group_box.setObjectName("vmResourceGroup")
        self.group_box.setAccessibleName(self.tr("Resource group"))
        self.group_box.setEditable(not test)
        self.group_box.setToolTip(
            self.tr("A throw-away group, tagged as a test boot and deleted at the end")
            if test else
            self.tr("Choose an existing resource group or type the name of a new one")
        )
        self.group_label = QLabel(self.tr("&Resource group:"))
        self.group_label.setBuddy(self.group_box)
        form.addRow(self.group_label, self.group_box)

        self.location_box = QComboBox()
        self.location_box.setObjectName("vmLocation")
        self.location_box.setAccessibleName(self.tr("Region"))
        self.location_label = QLabel(self.tr("Re&gion:"))
        self.location_label.setBuddy(self.location_box)
        form.addRow(self.location_label, self.location_box)

        self.security_box = QComboBox()
        self.security_box.setObjectName("vmSecurityType")
        self.security_box.setAccessibleName(self.tr("Security type"))
        for security in self.needs.security_types:
            self.security_box.addItem(self._security_label(security), security.value)
        self.security_label = QLabel(self.tr("Sec&urity type:"))
        self.security_label.setBuddy(self.security_box)
        form.addRow(self.security_label, self.security_box)

        self.size_box = QComboBox()
        self.size_box.setObjectName("vmSize")
        self.size_box.setAccessibleName(self.tr("VM size"))
        self.size_label = QLabel(self.tr("Si&ze:"))
        self.size_label.setBuddy(self.size_box)
        form.addRow(self.size_label, self.size_box)
        self.sizes_note = QLabel()
        self.sizes_note.setObjectName("vmSizesNote")
        self.sizes_note.setWordWrap(True)
        form.addRow("", self.sizes_note)

        self.user_edit = QLineEdit("azureuser")
        self.user_edit.setObjectName("vmAdminUser")
        self.user_edit.setAccessibleName(self.tr("Administrator user name"))
        self.user_label = QLabel(self.tr("&Administrator:"))
        self.user_label.setBuddy(self.user_edit)
        form.addRow(self.user_label, self.user_edit)

        self.auth_box = QComboBox()
        self.auth_box.setObjectName("vmAuthentication")
        self.auth_box.setAccessibleName(self.tr("Authentication"))
        if self.needs.linux:
            self.auth_box.addItem(self.tr("SSH public key"), "ssh")
        self.auth_box.addItem(self.tr("Password"), "password")
        self.auth_label = QLabel(self.tr("Au&thentication:"))
        self.auth_label.setBuddy(self.auth_box)
        form.addRow(self.auth_label, self.auth_box)

        self.key_edit = QLineEdit()
        self.key_edit.setObjectName("vmSshKey")
        self.key_edit.setAccessibleName(self.tr("SSH public key"))
        self.key_edit.setPlaceholderText(self.tr("ssh-ed25519 AAAA… (the contents of a .pub file)"))
        self.key_label = QLabel(self.tr("SSH public &key:"))
        self.key_label.setBuddy(self.key_edit)
        form.addRow(self.key_label, self.key_edit)

        self.password_edit = QLineEdit()
        self.password_edit.setObjectName("vmPassword")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setAccessibleName(self.tr("Password"))
        self.password_label = QLabel(self.tr("&Password:"))
        self.password_label.setBuddy(self.password_edit)
        form.addRow(self.password_label, self.password_edit)
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setObjectName("vmPasswordConfirm")
        self.confirm_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.confirm_edit.setAccessibleName(self.tr("Confirm password"))
        self.confirm_label = QLabel(self.tr("&Confirm password:"))
        self.confirm_label.setBuddy(self.confirm_edit)
        form.addRow(self.confirm_label, self.confirm_edit)
        self.specialized_note = QLabel(
            self.tr("A specialized image keeps its own accounts: no administrator is set.")
        )
        self.specialized_note.setObjectName("vmSpecializedNote")
        self.specialized_note.setWordWrap(True)
        form.addRow("", self.specialized_note)

        self.public_ip_check = QCheckBox(self.tr("Give the VM a public &IP address"))
        self.public_ip_check.setObjectName("vmPublicIp")
        self.public_ip_check.setAccessibleName(self.tr("Public IP address"))
        self.public_ip_check.setToolTip(self.tr(
            "A static Standard public IP address on the VM's network interface; without it the "
            "VM is reachable only from its network"))
        self.public_ip_check.setVisible(not test)
        form.addRow("", self.public_ip_check)

        self.terms_box = TermsBox()
        self.terms_box.terms_changed.connect(self._terms_changed)

        self.problems = QLabel()
        self.problems.setObjectName("vmProblems")
        self.problems.setWordWrap(True)
        self.problems.setAccessibleName(self.tr("What to correct"))
        self.problems.setStyleSheet(text_style(Tone.ERROR, self.palette()))

        # --- the run ------------------------------------------------------------------------
        self.steps = StepList()
        self.steps.setObjectName("vmSteps")
        self.steps.setAccessibleName(self.tr("Steps"))
        self.serial_label = QLabel(self.tr("Serial &log (boot diagnostics):"))
        self.serial = QPlainTextEdit()
        self.serial.setObjectName("vmSerialLog")
        self.serial.setReadOnly(True)
        self.serial.setAccessibleName(self.tr("Serial console log"))
        self.serial.setMaximumBlockCount(SERIAL_LINES)
        self.serial.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.serial.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.serial.setPlaceholderText(self.tr("The guest's serial output appears here while it "
                                               "boots."))
        self.serial_label.setBuddy(self.serial)
        self.verdict_label = QLabel()
        self.verdict_label.setObjectName("vmVerdict")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.verdict_label.setAccessibleName(self.tr("Verdict"))
        self.advice_label = QLabel()
        self.advice_label.setObjectName("vmAdvice")
        self.advice_label.setWordWrap(True)
        self.advice_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.advice_label.setTextFormat(Qt.TextFormat.PlainText)
        self.cleanup_label = QLabel()
        self.cleanup_label.setObjectName("vmCleanup")
        self.cleanup_label.setWordWrap(True)

        self.buttons = QDialogButtonBox()
        self.start_button = QPushButton(self.tr("&Start test boot") if test else
                                        self.tr("Create &VM"))
        self.start_button.setObjectName("vmStart")
        self.start_button.setDefault(True)
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.stop_button = QPushButton(self.tr("&Delete now") if test else self.tr("St&op"))
        self.stop_button.setObjectName("vmStop")
        self.stop_button.setToolTip(
            self.tr("Stop the test boot and delete its resource group now") if test else
            self.tr("Stop following the VM's creation (Azure may go on creating it)")
        )
        self.buttons.addButton(self.stop_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.hide()
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.start_button.clicked.connect(self._start)
        self.stop_button.clicked.connect(self.stop)
        self.buttons.rejected.connect(self.reject)

        # While it runs, one line says what was asked; the form makes room for steps and log.
        self.summary = QLabel()
        self.summary.setObjectName("createVmSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        for box in (self.group_box, self.location_box, self.security_box, self.size_box,
                    self.auth_box):  # fmt: skip
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.setMinimumContentsLength(24)
        self.group_box.setMinimumContentsLength(40)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.facts)
        layout.addWidget(self.explanation)
        layout.addWidget(self.form)
        layout.addWidget(self.summary)
        layout.addWidget(self.terms_box)
        layout.addWidget(self.problems)
        layout.addWidget(self.steps, 2)
        layout.addWidget(self.serial_label)
        layout.addWidget(self.serial, 3)
        layout.addWidget(self.verdict_label)
        layout.addWidget(self.advice_label)
        layout.addWidget(self.cleanup_label)
        # room the parts do not need goes below them, not between them
        self._stretch_index = layout.count()
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._layout = layout
        for widget in (self.steps, self.serial_label, self.serial, self.verdict_label,
                       self.advice_label, self.cleanup_label, self.problems,
                       self.summary):  # fmt: skip
            widget.hide()

        self._fill_locations(locations or [], default_location or self.needs.location)
        if test:
            self.group_box.addItem(throwaway_group(self.needs))
        elif default_resource_group:
            self.group_box.setEditText(default_resource_group)
        self._subscription_name = subscription_name
        self.location_box.currentIndexChanged.connect(self._location_changed)
        self.security_box.currentIndexChanged.connect(self._show_sizes)
        self.auth_box.currentIndexChanged.connect(self._show_auth)
        self._show_auth()
        self.start_button.setEnabled(False)

    # --- filling in ---------------------------------------------------------------------------

    def _generation_label(self) -> str:
        return self.tr("Gen2") if self.needs.generation == "V2" else self.tr("Gen1")

    def _security_label(self, security: SecurityType) -> str:
        return {
            SecurityType.STANDARD: self.tr("Standard"),
            SecurityType.TRUSTED_LAUNCH: self.tr("Trusted launch"),
            SecurityType.CONFIDENTIAL: self.tr("Confidential VM"),
        }[security]

    def _fill_locations(self, locations: list[tuple[str, str]], wanted: str) -> None:
        names = [name for name, _ in locations]
        if self.needs.location and self.needs.location not in names:
            locations = [(self.needs.location, self.needs.location), *locations]
        if wanted and wanted not in [name for name, _ in locations]:
            locations = [(wanted, wanted), *locations]
        for name, display in locations:
            self.location_box.addItem(display or name, name)
        index = self.location_box.findData(wanted or self.needs.location)
        self.location_box.setCurrentIndex(max(index, 0))
        self.location_box.setEnabled(self._region_free())

    def _region_free(self) -> bool:
        """A Marketplace image is in every Marketplace region; a managed image or a gallery
        version only in its own (or its replicas'), which the detail names: the VM goes there."""
        return self.needs.is_marketplace or not self.needs.location

    def open(self) -> None:
        super().open()
        self._tasks.spawn(self.load())

    async def load(self) -> None:
        """Reads what the form offers from Azure: the region's sizes, the resource groups and
        the plan's terms."""
        if self.needs.plan is not None:
            self.terms_box.show_plan(
                self.needs.plan,
                MarketplaceTerms(self.session, self.subscription_id),
                self._subscription_name or self.subscription_id,
            )
        if self.mode is Mode.CREATE:
            self._tasks.spawn(self._load_groups())
        await self._load_sizes()

    async def _load_groups(self) -> None:
        try:
            client = self.session.resources(self.subscription_id)
            groups = sorted(
                [g.name async for g in client.resource_groups.list()], key=str.casefold
            )
        except Exception as error:  # the form still works with a typed name
            self._show_problems([render_text(error)] if isinstance(error, AzureServiceError)
                                else [])  # fmt: skip
            return
        typed = self.group_box.currentText()  # what the user typed meanwhile stays
        self.group_box.addItems(groups)
        self.group_box.setEditText(typed)

    async def _load_sizes(self) -> None:
        location = str(self.location_box.currentData() or "")
        self.size_box.clear()
        self.sizes_note.setText(self.tr("Reading the VM sizes of {location}…")
                                .format(location=location))
        self.start_button.setEnabled(False)
        try:
            self._all_sizes = await region_sizes(
                self.session.compute(self.subscription_id), self.subscription_id, location
            )
        except AzureServiceError as error:
            self.sizes_note.setText(self.tr("The sizes could not be read: {error}")
                                    .format(error=render_text(error)))
            self.sizes_note.setStyleSheet(text_style(Tone.ERROR, self.palette()))
            return
        self._show_sizes()

    def _location_changed(self) -> None:
        self._tasks.spawn(self._load_sizes())

    def security(self) -> SecurityType:
        return SecurityType(str(self.security_box.currentData() or SecurityType.STANDARD.value))

    def _show_sizes(self) -> None:
        fitting = sizes_for(self._all_sizes, self.needs, self.security())
        current = self.size_box.currentData()
        self.size_box.clear()
        for size in fitting:
            self.size_box.addItem(
                self.tr("{name} ({vcpus} vCPUs, {memory} GiB)").format(
                    name=size.name, vcpus=size.vcpus, memory=f"{size.memory_gb:g}"),
                size.name,
            )
        preferred = [current, "Standard_D2s_v5", "Standard_D2ps_v5", "Standard_B2s"]
        for name in preferred:
            index = self.size_box.findData(name)
            if index >= 0:
                self.size_box.setCurrentIndex(index)
                break
        self.sizes_note.setStyleSheet("")
        self.sizes_note.setText(
            self.tr("%n size(s) of this region run the image ({generation}, {architecture}, "
                    "{security}).", "", len(fitting)).format(
                generation=self._generation_label(), architecture=self.needs.architecture,
                security=self._security_label(self.security()))
            if fitting else
            self.tr("No size of this region runs the image with this security type; choose "
                    "another security type or region.")
        )
        self.start_button.setEnabled(bool(fitting) and not self.running)

    def _show_auth(self) -> None:
        specialized = self.needs.specialized
        ssh = self.auth_box.currentData() == "ssh"
        for widget in (self.user_label, self.user_edit, self.auth_label, self.auth_box):
            widget.setVisible(not specialized)
        for widget in (self.key_label, self.key_edit):
            widget.setVisible(not specialized and ssh)
        for widget in (self.password_label, self.password_edit, self.confirm_label,
                       self.confirm_edit):  # fmt: skip
            widget.setVisible(not specialized and not ssh)
        self.specialized_note.setVisible(specialized)

    def _terms_changed(self, state: TermsState) -> None:
        self._terms = state

    # --- the request --------------------------------------------------------------------------

    def request(self) -> VmRequest:
        typed = self.group_box.currentText().strip()
        existing = [self.group_box.itemText(i) for i in range(self.group_box.count())]
        ssh = self.auth_box.currentData() == "ssh"
        password = self.password_edit.text()
        return VmRequest(
            needs=self.needs,
            mode=self.mode,
            name=self.name_edit.text().strip(),
            resource_group=typed,
            new_resource_group=self.mode is Mode.TEST_BOOT or typed not in existing,
            location=str(self.location_box.currentData() or ""),
            size=str(self.size_box.currentData() or ""),
            admin_user=self.user_edit.text().strip(),
            ssh_public_key=self.key_edit.text().strip() if ssh else "",
            password=Secret(password) if password and not ssh else None,
            security_type=self.security(),
            public_ip=self.mode is Mode.CREATE and self.public_ip_check.isChecked(),
        )

    def problems_now(self) -> list[str]:
        request = self.request()
        found = [render_text(p) for p in validate(
            request, sizes_for(self._all_sizes, self.needs, request.security_type))]
        if request.password is not None and self.password_edit.text() != self.confirm_edit.text():
            found.append(self.tr("The two passwords differ: type the same password twice."))
        return found

    def _show_problems(self, problems: list[str]) -> None:
        self.problems.setText("\n".join(problems))
        self.problems.setVisible(bool(problems))

    # --- running ------------------------------------------------------------------------------

    def _start(self) -> None:
        if self.running:
            return
        problems = self.problems_now()
        self._show_problems(problems)
        if problems:
            return
        self._run_task = self._tasks.spawn(self.run(self.request()))

    async def run(self, request: VmRequest) -> VmCreateExecutor:
        """Runs the request; the step list, the serial log and the verdict follow it."""
        self.running = True
        test = self.mode is Mode.TEST_BOOT
        for widget in (self.start_button, self.name_edit, self.group_box, self.location_box,
                       self.security_box, self.size_box, self.user_edit, self.auth_box,
                       self.key_edit, self.password_edit, self.confirm_edit):  # fmt: skip
            widget.setEnabled(False)
        self.stop_button.show()
        self.close_button.setEnabled(False)
        self.form.hide()
        self.problems.hide()
        self.summary.setText(self.tr("{name} · {size} · {security} · {group} · {location}").format(
            name=request.name, size=request.size,
            security=self._security_label(request.security_type),
            group=request.resource_group, location=self.location_box.currentText()))
        self.summary.show()
        self._layout.setStretch(self._stretch_index, 0)
        self.steps.show()
        steps = plan_steps(request)
        self.steps.set_steps(steps)
        self._fit_steps(len(steps))
        self.serial_label.setVisible(test)
        self.serial.setVisible(test)
        self.serial.clear()
        self.verdict_label.hide()
        self.advice_label.hide()
        self.cleanup_label.hide()
        executor = self.executor = VmCreateExecutor(
            self.session,
            self.subscription_id,
            request,
            on_serial=self._append_serial,
            on_cleanup=self._cleanup_event,
            sizes=self._all_sizes,
        )
        self.password_edit.clear()  # the request holds it now; the form need not
        self.confirm_edit.clear()
        try:
            async for event in executor.run():
                self.steps.show_event(event)
                if event.key == "cleanup":
                    self._cleanup_event(event)
        except asyncio.CancelledError:
            if not executor.cleaned:
                self.cleanup_label.setText(self.tr("Stopped."))
                self.cleanup_label.show()
            raise
        finally:
            self.running = False
            self.steps.stop()
            self.stop_button.hide()
            self.close_button.setEnabled(True)
            self.buttons.removeButton(self.close_button)
            self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
            self.close_button.setDefault(True)
            self.start_button.hide()
            self._finished(executor)
        return executor

    def _append_serial(self, text: str) -> None:
        """Appends only the new text, where the reader left the view scrolled: at the end, the
        view follows the log; scrolled up, it stays put."""
        bar = self.serial.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 2
        cursor = QTextCursor(self.serial.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text.replace("\r\n", "\n"))
        if at_end:
            bar.setValue(bar.maximum())

    def _cleanup_event(self, event: StepEvent) -> None:
        self.steps.show_event(event)
        tone = {StepState.DONE: Tone.OK, StepState.FAILED: Tone.ERROR}.get(event.state)
        text = render_text(event.message) or render_text(event.title)
        if event.state is StepState.FAILED and event.advice:
            text = f"{text}\n{render_text(event.advice)}"
        self.cleanup_label.setText(text)
        self.cleanup_label.setStyleSheet(text_style(tone, self.palette()) if tone else "")
        self.cleanup_label.show()

    def _finished(self, executor: VmCreateExecutor) -> None:
        failed = executor.failed
        if self.mode is Mode.TEST_BOOT and executor.verdict is not None:
            verdict = self.verdict = executor.verdict
            title = self.tr("The image boots.") if verdict.passed else self.tr(
                "The image did not boot.")
            self.verdict_label.setText(
                f"<b>{_escape(title)}</b><br>{_escape(render_text(verdict.cause))}")
            self.verdict_label.setStyleSheet(
                text_style(Tone.OK if verdict.passed else Tone.ERROR, self.palette()))
            self.verdict_label.show()
            if not verdict.passed:
                # What to do, and Azure's own words, in the normal colour: read, not alarming.
                advice = [self.tr("What to do: {advice}").format(
                    advice=render_text(verdict.advice))]
                if verdict.detail:
                    detail = " ".join(verdict.detail.split())  # Azure's \r\n and bullets
                    advice.append(self.tr("Azure said: {message}").format(message=detail))
                self.advice_label.setText("\n".join(advice))
                self.advice_label.show()
        elif failed is not None:
            text = render_text(failed.message)
            if failed.advice:
                text = f"{text}\n{render_text(failed.advice)}"
            self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)
            self.verdict_label.setText(text)
            self.verdict_label.setStyleSheet(text_style(Tone.ERROR, self.palette()))
            self.verdict_label.show()
            if executor.terms_refused is not None:
                self.terms_box.show()  # accept here, then run again
                self._offer_again()
        else:
            self.verdict_label.setTextFormat(Qt.TextFormat.PlainText)
            self.verdict_label.setText(self.tr("VM {name} was created in {group}.").format(
                name=executor.request.name, group=executor.request.resource_group))
            self.verdict_label.setStyleSheet(text_style(Tone.OK, self.palette()))
            self.verdict_label.show()
        self.finished_run.emit(executor)

    def _fit_steps(self, count: int) -> None:
        """The step list as tall as its rows: every step visible without scrolling."""
        rows = max(count, 1)
        header = self.steps.header().sizeHint().height()
        row = self.steps.sizeHintForRow(0) if self.steps.topLevelItemCount() else (
            self.steps.fontMetrics().height() + 6)
        self.steps.setMinimumHeight(header + rows * row + 2 * self.steps.frameWidth() + 4)

    def _offer_again(self) -> None:
        """After a refusal the form can be changed (terms accepted) and the run started again."""
        self.form.show()
        self.summary.hide()
        self.start_button.show()
        self.start_button.setEnabled(True)
        for widget in (self.name_edit, self.group_box, self.security_box, self.size_box,
                       self.user_edit, self.auth_box, self.key_edit, self.password_edit,
                       self.confirm_edit):  # fmt: skip
            widget.setEnabled(True)
        self.location_box.setEnabled(self._region_free())

    def stop(self) -> None:
        """Stops the run; a test boot then deletes its resource group (shown as it goes)."""
        if self._run_task is not None and not self._run_task.done():
            self.stop_button.setEnabled(False)
            self.cleanup_label.setText(self.tr("Stopping; deleting what the test boot made…")
                                       if self.mode is Mode.TEST_BOOT else self.tr("Stopping…"))
            self.cleanup_label.show()
            self._run_task.cancel()

    def reject(self) -> None:
        if self.running:
            # Closing while a test boot runs would leave its group behind: stop and clean up
            # first; the dialog closes when that has ended.
            self.stop()
            return
        self._tasks.cancel_all()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.running:
            self.stop()
            event.ignore()
            return
        self._tasks.cancel_all()
        super().closeEvent(event)


def _escape(text: str) -> str:
    return html.escape(text)

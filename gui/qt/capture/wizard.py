"""The capture wizard: a VM → prepared (backed up, generalized) → a managed image or a gallery
image version, every check made before any change, every step shown as it happens.

Pages: the VM, prepare, the target, review, progress. Each page answers for its part of the
plan; the wizard composes the plan from them (``plan()``) and runs it. Async work runs as tasks
on the running (qasync) loop; the wizard cancels them when it closes.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from gui.azure.account.session import AzureSession
from gui.azure.capture.executor import CaptureExecutor, generalization_script, plan_steps
from gui.azure.capture.plan import CapturePlan, CaptureTarget, Generalization, Preparation
from gui.azure.capture.vms import VmInfo, list_vms
from gui.azure.catalog.nodes import NodeRef
from gui.azure.errors import AzureServiceError, translate
from gui.azure.steps import StepEvent, StepSpec
from gui.qt.capture.common import error_text, named
from gui.qt.capture.pages import PreparePage, VmPage
from gui.qt.capture.target_page import TargetPage
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet
from gui.qt.widgets.step_list import StepList

log = logging.getLogger(__name__)

VM_PAGE, PREPARE_PAGE, TARGET_PAGE, REVIEW_PAGE, PROGRESS_PAGE = range(5)
# The progress page's buttons: Cancel while the capture runs, Close once it has ended. QWizard
# shows Finish (our Close) and Cancel together on a last page; hiding one by hand does not last
# (QWizard shows its buttons again when it updates them), a button layout does.
RUNNING_BUTTONS = [QWizard.WizardButton.Stretch, QWizard.WizardButton.CancelButton]
ENDED_BUTTONS = [QWizard.WizardButton.Stretch, QWizard.WizardButton.FinishButton]


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


class ReviewPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Review"))
        self.setSubTitle(self.tr("Every change that will be made, in order."))
        self.text = named(QTextBrowser(), "review")
        self.text.setAccessibleName(self.tr("Changes the capture makes"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.setCommitPage(True)
        self.setButtonText(QWizard.WizardButton.CommitButton, self.tr("&Capture"))

    def show_plan(self, plan: CapturePlan) -> None:
        self.text.setHtml(self.review_html(plan))

    def review_html(self, plan: CapturePlan) -> str:
        vm = plan.vm
        name = _esc(vm.name)
        steps = [step for step in plan_steps(plan) if step.change]
        items = "".join(f"<li>{_esc(render_text(step.change))}</li>" for step in steps)
        warnings: list[str] = []
        if plan.marks_generalized:
            warnings.append(
                self.tr("{name} will be marked generalized: it can never be started again.").format(
                    name=name
                )
            )
        if vm.os_type == "Windows" and plan.generalization is not Generalization.SPECIALIZED:
            warnings.append(self._windows_accounts(vm))
        if plan.runs_generalization:
            command, script = generalization_script(vm.os_type)
            warnings.append(
                self.tr("Run Command ({command}) runs: {script}").format(
                    command=_esc(command), script=f"<code>{_esc(' ; '.join(script))}</code>"
                )
            )
        if plan.delete_vm_after:
            warnings.append(
                self.tr("{name} will be deleted once the image exists.").format(name=name)
            )
        warn = "".join(f"<p>⚠ {text}</p>" for text in warnings)
        source = self.tr("Source: {name} ({os}, {power}, {location}, {disks}).").format(
            name=f"<b>{name}</b>",
            os=_esc(vm.os_type),
            power=_esc(render_text(vm.power_label)),
            location=_esc(vm.location),
            disks=_esc(render_text(vm.disks_label)),
        )
        order = self.tr("These changes are made, in this order:")
        unchanged = self.tr(
            "Nothing has been changed yet. Each step is checked again just before it runs."
        )
        return f"<p>{source}</p><p>{order}</p><ol>{items}</ol>{warn}<p>{unchanged}</p>"

    def _windows_accounts(self, vm: VmInfo) -> str:
        """What generalizing Windows does to the guest: sysprep /generalize keeps local
        accounts (only Linux's waagent -deprovision+user deletes the admin user)."""
        if vm.admin_username:
            return self.tr(
                "sysprep removes machine-specific data (SID, computer name, drivers). Local "
                "accounts such as {user} stay in the image; Azure resets the administrator "
                "credentials when a VM is created from it (from that VM's own settings)."
            ).format(user=f"<b>{_esc(vm.admin_username)}</b>")
        return self.tr(
            "sysprep removes machine-specific data (SID, computer name, drivers). Local "
            "accounts stay in the image; Azure resets the administrator credentials when a VM "
            "is created from it (from that VM's own settings)."
        )


class ProgressPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle(self.tr("Capturing"))
        self.setSubTitle(self.tr("Each step as it happens. A failed step stops the capture."))
        self.steps = StepList()
        self.steps.setAccessibleName(self.tr("Capture steps"))
        self.outcome = named(QLabel(), "outcome")
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.bar = named(QProgressBar(), "overall")
        self.bar.setFormat(self.tr("%v of %m steps"))
        self.bar.setAccessibleName(self.tr("Capture progress"))
        # "Then test-boot it": a throw-away VM from the new image says whether it boots.
        self.test_boot_button = named(QPushButton(self.tr("&Test-boot the new image…")),
                                      "testBoot")
        self.test_boot_button.setToolTip(
            self.tr("Create a throw-away VM from the new image, show its serial log while it "
                    "boots, say whether it booted and why not, then delete the VM")
        )
        self.test_boot_button.hide()
        self.result: NodeRef | None = None
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.outcome)
        row = QHBoxLayout()
        row.addWidget(self.test_boot_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.finished_ok = False
        self.finished = False

    def start(self, steps: list[StepSpec]) -> None:
        self.steps.set_steps(steps)
        self.finished = self.finished_ok = False
        self.bar.setRange(0, len(steps))
        self.bar.setValue(0)
        self.outcome.setText("")

    def show_event(self, event: StepEvent) -> None:
        self.steps.show_event(event)
        self.bar.setValue(self.steps.finished_count())

    def show_failure(self, event: StepEvent) -> None:
        self._finish(ok=False)
        self.outcome.setStyleSheet(text_style(Tone.ERROR))
        self.outcome.setText(
            self.tr(
                "<b>{step} failed.</b> Azure said: {message}<br><b>What to do:</b> {advice}"
                "<br>No later step was run."
            ).format(
                step=_esc(render_text(event.step.title)),
                message=_esc(render_text(event.message)),
                advice=_esc(render_text(event.advice)),
            )
        )

    def show_error(self, text: str) -> None:
        self._finish(ok=False)
        self.outcome.setStyleSheet(text_style(Tone.ERROR))
        self.outcome.setText(_esc(text).replace("\n", "<br>"))

    def show_success(self, ref: NodeRef) -> None:
        self._finish(ok=True)
        self.result = ref
        self.test_boot_button.show()
        self.outcome.setStyleSheet("")
        self.outcome.setText(
            self.tr(
                "<b>Captured.</b> The new image {image} is selected in the browser, with its disks."
            ).format(image=_esc("/".join(ref.parts)))
        )

    def _finish(self, ok: bool) -> None:
        self.steps.stop()
        self.finished, self.finished_ok = True, ok
        wizard = self.wizard()
        if wizard is not None:
            # the job has ended: nothing is left to cancel, Close says it all
            wizard.setButtonLayout(ENDED_BUTTONS)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self.finished

    def step_states(self) -> list[str]:
        return self.steps.states()


class CaptureWizard(QWizard):
    """Captures a VM into a managed image or a gallery image version."""

    image_created = Signal(object)  # NodeRef of the new image
    test_boot_requested = Signal(object)  # NodeRef of the new image, to test-boot

    def __init__(
        self,
        session: AzureSession,
        subscription_id: str,
        location: str,
        parent: QWidget | None = None,
        vm_id: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.subscription_id = subscription_id
        self.location = location
        self.vm_id = vm_id
        self.snapshot_suffix = "precapture-" + datetime.now(UTC).strftime("%Y%m%d-%H%M")
        self.executor: CaptureExecutor | None = None
        self._reviewed: CapturePlan | None = None
        self._capture_task: asyncio.Task[Any] | None = None
        self._tasks = TaskSet("capture wizard")
        self.setWindowTitle(self.tr("Capture a VM into an image"))
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, self.tr("&Close"))
        self.vm_page = VmPage()
        self.vm_page.refresh_requested.connect(self.load_vms)
        self.prepare_page = PreparePage(self)
        self.target_page = TargetPage(self)
        self.review_page = ReviewPage()
        self.progress_page = ProgressPage()
        self.progress_page.test_boot_button.clicked.connect(self._test_boot)
        for page_id, page in enumerate(
            (self.vm_page, self.prepare_page, self.target_page, self.review_page,
             self.progress_page)
        ):  # fmt: skip
            self.setPage(page_id, page)
        self.resize(980, 700)
        self.finished.connect(lambda _result: self.cancel_tasks())
        self.load_vms()

    def _test_boot(self) -> None:
        ref = self.progress_page.result
        if ref is not None:
            self.test_boot_requested.emit(ref)

    @property
    def compute(self) -> Any:
        return self.session.compute(self.subscription_id)

    # --- the plan, composed from the pages' parts ------------------------------------------

    def chosen_vm(self) -> VmInfo | None:
        return self.vm_page.selected_vm()

    def preparation(self) -> Preparation:
        return self.prepare_page.preparation()

    def plan_with(self, target: CaptureTarget) -> CapturePlan:
        vm = self.chosen_vm()
        assert vm is not None
        return CapturePlan.compose(vm, self.preparation(), target, self.snapshot_suffix)

    def plan(self) -> CapturePlan:
        return self.plan_with(self.target_page.target())

    def initializePage(self, page_id: int) -> None:
        """Hands the review and progress pages the plan (they have no part of their own)."""
        super().initializePage(page_id)
        if page_id == REVIEW_PAGE:
            # what the review shows is what runs, whatever a late suggestion on the target
            # page might still change
            self._reviewed = self.plan()
            self.review_page.show_plan(self._reviewed)
        elif page_id == PROGRESS_PAGE:
            self.setButtonLayout(RUNNING_BUTTONS)
            self.start_capture(self._reviewed or self.plan())

    # --- tasks --------------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro)

    def cancel_tasks(self) -> None:
        self._tasks.cancel_all()

    @property
    def busy(self) -> bool:
        return self._tasks.busy

    # --- page 1 -------------------------------------------------------------------------------

    def load_vms(self) -> None:
        self.vm_page.show_loading()
        self.spawn(self._load_vms())

    async def _load_vms(self) -> None:
        try:
            vms = await list_vms(self.compute)
        except AzureServiceError as error:
            self.vm_page.show_error(error_text(error))
            return
        selected = self.vm_page.selected_vm()
        self.vm_page.show_vms(vms, selected.id if selected is not None else self.vm_id)

    # --- page 5 -------------------------------------------------------------------------------

    def start_capture(self, plan: CapturePlan) -> None:
        self.executor = CaptureExecutor(self.session, self.subscription_id, plan)
        self.progress_page.start(self.executor.steps)
        self._capture_task = self.spawn(self._run_capture(self.executor))

    async def _run_capture(self, executor: CaptureExecutor) -> None:
        page = self.progress_page
        running: StepEvent | None = None
        try:
            async for event in executor.run():
                running = event
                page.show_event(event)
        except asyncio.CancelledError:
            if running is not None:
                text = self.tr(
                    "Cancelled during '{step}'. No later step was started. A request Azure had "
                    "already accepted may still finish: check the VM and the target in the "
                    "portal or the browser before you start again."
                ).format(step=render_text(running.step.title))
            else:
                text = self.tr("Cancelled before the first step. Nothing was changed.")
            page.show_error(text)
            raise
        except Exception as exc:  # an error outside any step (should not happen): say so
            page.show_error(error_text(translate(exc)))
            return
        if executor.failed is not None:
            page.show_failure(executor.failed)
        elif executor.result is not None:
            page.show_success(executor.result)
            self.image_created.emit(executor.result)

    def reject(self) -> None:
        """Cancel during a capture stops it (the wizard stays open to show where); else close."""
        task = self._capture_task
        if task is not None and not task.done():
            task.cancel()
            return
        self.cancel_tasks()
        super().reject()

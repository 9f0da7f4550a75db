"""The upload wizard: a disk image file → a managed disk or page blob → (optionally) an image.

Pages: the file, the target, then what, review, progress. The upload itself belongs to the
TransferManager: closing the wizard leaves it running in the Transfers panel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from gui.azure.arm import generation_short
from gui.azure.image_builder import GalleryVersionSpec, ManagedImageSpec
from gui.azure.upload.job import BlobTargetPlan, ManagedDiskTargetPlan, UploadPlan
from gui.qt.i18n import format_size
from gui.qt.style import Tone, color
from gui.qt.transfers.model import (
    Status,
    Transfer,
    TransferManager,
    error_text,
    state_text,
    status_tone,
)
from gui.qt.upload.common import UploadContext
from gui.qt.upload.file_page import FilePage
from gui.qt.upload.follow_up_page import FollowUpPage
from gui.qt.upload.target_page import TargetPage
from gui.qt.widgets.measures import UNKNOWN, format_duration, format_percent, format_rate
from gui.qt.widgets.step_list import StepList

FILE_PAGE, TARGET_PAGE, FOLLOW_UP_PAGE, REVIEW_PAGE, PROGRESS_PAGE = range(5)


class ReviewPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Review")
        self.setSubTitle("Everything that will happen, in order. Nothing has been changed yet.")
        self.text = QTextBrowser()
        self.text.setObjectName("review")
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.setButtonText(QWizard.WizardButton.NextButton, "&Upload")

    def initializePage(self) -> None:
        wizard = self.wizard()
        assert isinstance(wizard, UploadWizard)
        self.text.setHtml(review_html(wizard.plan()))


def review_html(plan: UploadPlan) -> str:
    facts = plan.facts
    steps: list[str] = []
    target = plan.target
    if isinstance(target, ManagedDiskTargetPlan):
        spec = target.spec
        steps += [
            f"Create the managed disk <b>{spec.name}</b> ({spec.sku}) for upload in "
            f"<b>{spec.resource_group}</b>, {spec.location} — {facts.os_type}, "
            f"{generation_short(facts.hyper_v_generation)}",
            "Grant write access to the disk (a SAS, renewed if the upload runs long)",
            "Upload the data: only ranges that hold data, then the footer; Content-MD5 checked",
            "Revoke the write access (also if the upload fails or is cancelled)",
        ]
    else:
        steps.append(
            f"Upload the data to the page blob <b>{target.blob_url}</b>: only ranges that hold "
            "data, then the footer; Content-MD5 checked"
        )
    follow = plan.follow_up
    if isinstance(follow, ManagedImageSpec):
        steps.append(
            f"Create the managed image <b>{follow.name}</b> in <b>{follow.resource_group}</b> "
            f"({facts.os_type}, {facts.os_state})"
        )
    elif isinstance(follow, GalleryVersionSpec):
        if follow.create_gallery:
            steps.append(
                f"Create the gallery <b>{follow.gallery}</b> in <b>{follow.resource_group}</b>"
            )
        definition = follow.definition
        if follow.create_definition:
            steps.append(
                f"Create the image definition <b>{definition.name}</b> ({definition.os_type}, "
                f"{definition.os_state}, {definition.hyper_v_generation}, "
                f"{definition.security_type})"
            )
        regions = ", ".join(f"{name} ×{count}" for name, count in follow.regions())
        extras = []
        if follow.exclude_from_latest:
            extras.append("excluded from latest")
        if follow.end_of_life:
            extras.append(f"end of life {follow.end_of_life.isoformat()}")
        steps.append(
            f"Create version <b>{follow.version}</b> of <b>{definition.name}</b> in "
            f"<b>{follow.gallery}</b>" + (f" ({', '.join(extras)})" if extras else "")
        )
        steps.append(f"Replicate to {regions}")
    items = "".join(f"<li>{step}</li>" for step in steps)
    return (
        f"<p>Source: <b>{Path(plan.source_path).name}</b> — {plan.source_path}</p>"
        f"<ol>{items}</ol>"
        "<p>You can close this wizard during the upload: it goes on in the Transfers panel, "
        "and an unfinished upload is offered for resume at the next start.</p>"
    )


class ProgressPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Uploading"))
        self.setSubTitle(
            self.tr("You can close this window: the upload goes on in the Transfers panel.")
        )
        self.transfer: Transfer | None = None
        self._steps_shown = -1
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setObjectName("uploadProgress")
        self.bar.setAccessibleName(self.tr("Progress of the whole upload job"))
        self._bar_palette = QPalette(self.bar.palette())
        self.rate_label = QLabel(UNKNOWN)
        self.rate_label.setObjectName("rate")
        self.rate_label.setToolTip(
            self.tr(
                "Network: bytes actually sent per second. Effective: how fast the image is "
                "covered, empty blocks (never sent) included; the time left follows it."
            )
        )
        self.bytes_label = QLabel(UNKNOWN)
        self.bytes_label.setObjectName("bytes")
        self.state_label = QLabel(self.tr("Starting…"))
        self.state_label.setWordWrap(True)
        self.state_label.setObjectName("state")
        self.state_label.setTextFormat(Qt.TextFormat.PlainText)
        self.state_label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.state_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        # A long failure (Azure's message and its advice) scrolls instead of being cut off.
        self.state_scroll = QScrollArea()
        self.state_scroll.setObjectName("stateScroll")
        self.state_scroll.setWidgetResizable(True)
        self.state_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.state_scroll.setWidget(self.state_label)
        lines = self.state_label.fontMetrics().lineSpacing()
        self.state_scroll.setMinimumHeight(2 * lines + 8)
        self.state_scroll.setMaximumHeight(7 * lines + 8)
        self.pause_button = QPushButton(self.tr("&Pause"))
        self.resume_button = QPushButton(self.tr("&Resume"))
        self.cancel_button = QPushButton(self.tr("&Cancel upload"))
        self.pause_button.clicked.connect(self._pause)
        self.resume_button.clicked.connect(self._resume)
        self.cancel_button.clicked.connect(self._cancel)
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.cancel_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.steps = StepList()
        self.steps.setAccessibleName(self.tr("Steps of the upload"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.rate_label)
        layout.addWidget(self.bytes_label)
        layout.addLayout(buttons)
        layout.addWidget(self.steps, 1)
        layout.addWidget(self.state_scroll)

    def attach(self, transfer: Transfer) -> None:
        self.transfer = transfer
        # Every step the job will run, waiting, before the first one starts.
        self.steps.set_steps(transfer.planned_steps)
        transfer.changed.connect(self.refresh)
        transfer.finished.connect(self.completeChanged)
        self.refresh()

    def _pause(self) -> None:
        if self.transfer is not None:
            self.transfer.pause()

    def _cancel(self) -> None:
        if self.transfer is not None:
            self.transfer.cancel()

    def _resume(self) -> None:
        wizard = self.wizard()
        if self.transfer is None or not isinstance(wizard, UploadWizard):
            return
        if self.transfer.status is Status.PAUSED:
            self.transfer.resume()
        elif self.transfer.status.resumable:
            wizard.manager.resume(self.transfer)

    def refresh(self) -> None:
        transfer = self.transfer
        if transfer is None:
            return
        status = transfer.status
        snapshot = transfer.snapshot
        self.bar.setValue(int(transfer.fraction * 1000))
        self.bar.setFormat(format_percent(transfer.fraction, 1))
        self._tone_bar(status_tone(status))
        if snapshot is not None:
            active = status.active
            self.rate_label.setText(
                self.tr(
                    "Network {network} · effective {effective} · time left {eta} · "
                    "elapsed {elapsed}"
                ).format(
                    network=format_rate(snapshot.send_rate) if active else UNKNOWN,
                    effective=format_rate(snapshot.rate) if active else UNKNOWN,
                    eta=format_duration(snapshot.eta_seconds) if active else UNKNOWN,
                    elapsed=format_duration(snapshot.elapsed_seconds),
                )
            )
            self.bytes_label.setText(
                self.tr(
                    "Sent {sent} · skipped {skipped} (empty) · already there {present} · "
                    "of {total}"
                ).format(
                    sent=format_size(snapshot.bytes_sent),
                    skipped=format_size(snapshot.bytes_skipped),
                    present=format_size(snapshot.bytes_present),
                    total=format_size(snapshot.total_bytes),
                )
            )
        self.pause_button.setEnabled(status is Status.RUNNING)
        self.resume_button.setEnabled(status is Status.PAUSED or status.resumable)
        self.cancel_button.setEnabled(status.active)
        self._show_steps(transfer)
        self._show_outcome(transfer)

    def _tone_bar(self, tone: Tone | None) -> None:
        """A bar that did not end well must not look like success (the theme's highlight)."""
        palette = QPalette(self._bar_palette)
        if tone is not None:
            palette.setColor(QPalette.ColorRole.Highlight, color(tone, palette))
        self.bar.setPalette(palette)

    def _show_outcome(self, transfer: Transfer) -> None:
        """Title, subtitle and the state text say what happened once the job has ended (the
        "you can close this window" of a running job no longer holds then)."""
        status = transfer.status
        error = error_text(transfer)
        reason = error.splitlines()[0] if error else ""
        if status is Status.COMPLETED:
            image = transfer.result.image if transfer.result else None
            title = self.tr("Upload finished")
            subtitle = (
                self.tr("The upload finished and the image was created.")
                if image
                else self.tr("The upload finished: the disk is ready.")
            )
            text = self.tr("Done. You can close this window.")
        elif status is Status.FAILED:
            title = self.tr("Upload failed")
            subtitle = self.tr("The upload failed: {reason}").format(reason=reason)
            text = self.tr(
                "{error}\n\nNothing after the failed step was run. Resume picks up where it "
                "stopped."
            ).format(error=error)
        elif status is Status.CANCELLED:
            title = self.tr("Upload cancelled")
            subtitle = self.tr("The upload was cancelled. Resume picks up where it stopped.")
            text = error or subtitle
        elif status is Status.INTERRUPTED:
            title = self.tr("Upload interrupted")
            subtitle = self.tr("The upload stopped: {reason}").format(reason=reason)
            text = error or subtitle
        else:
            title = (
                self.tr("Upload paused") if status is Status.PAUSED else self.tr("Uploading")
            )
            subtitle = self.tr(
                "You can close this window: the upload goes on in the Transfers panel."
            )
            total = self.steps.topLevelItemCount()
            text = (
                self.tr("{current} · {done} of %n step(s) done", "", total).format(
                    current=state_text(transfer), done=self.steps.finished_count()
                )
                if total
                else state_text(transfer)
            )
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.state_label.setText(text)
        self.state_label.setToolTip(text)

    def _show_steps(self, transfer: Transfer) -> None:
        """Only steps that changed since the last look are drawn again (the step list keeps
        running steps' clocks moving itself)."""
        if transfer.steps_version == self._steps_shown:
            return
        self._steps_shown = transfer.steps_version
        if not transfer.steps and transfer.status.active:
            self.steps.set_steps(transfer.planned_steps)  # a resume starts the list over
        self.steps.show_events(
            event for event in transfer.steps.values() if self.steps.events.get(event.key) != event
        )
        if not transfer.status.active:
            self.steps.stop()

    def isComplete(self) -> bool:
        return self.transfer is not None and not self.transfer.status.active


class UploadWizard(QWizard):
    transfer_started = Signal(object)
    image_ready = Signal(object)

    def __init__(
        self,
        context: UploadContext,
        manager: TransferManager,
        path: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("uploadWizard")
        self.setWindowTitle("Upload a disk image")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.setMinimumSize(820, 640)
        self.context = context
        self.manager = manager
        self.source_path = path
        self.file_page = FilePage(path)
        self.target_page = TargetPage(context)
        self.follow_up_page = FollowUpPage(context)
        self.review_page = ReviewPage()
        self.progress_page = ProgressPage()
        for page_id, page in enumerate(
            (
                self.file_page,
                self.target_page,
                self.follow_up_page,
                self.review_page,
                self.progress_page,
            )
        ):
            self.setPage(page_id, page)
        self.file_page.completeChanged.connect(self._path_changed)
        self.currentIdChanged.connect(self._page_changed)
        self.transfer: Transfer | None = None
        self.finished.connect(self._cleanup)

    def _path_changed(self) -> None:
        self.source_path = self.file_page.path

    def plan(self) -> UploadPlan:
        assert self.file_page.path is not None
        return UploadPlan(
            source_path=str(self.file_page.path),
            facts=self.file_page.facts(),
            target=self.target_page.target(),
            follow_up=self.follow_up_page.follow_up(),
        )

    def _page_changed(self, page_id: int) -> None:
        if page_id == PROGRESS_PAGE and self.transfer is None:
            self.file_page.close_image()  # the transfer opens its own
            self.transfer = self.manager.submit(self.plan())
            self.progress_page.attach(self.transfer)
            self.transfer.finished.connect(self._transfer_finished)
            self.transfer_started.emit(self.transfer)

    def _transfer_finished(self) -> None:
        transfer = self.transfer
        result = transfer.result if transfer is not None else None
        completed = transfer is not None and transfer.status is Status.COMPLETED
        if completed and result is not None and result.image is not None:
            self.image_ready.emit(result.image)

    def _cleanup(self, _result: Any = None) -> None:
        for page in (self.file_page, self.target_page, self.follow_up_page):
            page.cancel_tasks()
        self.file_page.close_image()


__all__ = ["BlobTargetPlan", "UploadContext", "UploadWizard"]

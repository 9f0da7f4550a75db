"""The upload wizard: a disk image file → a managed disk or page blob → (optionally) an image.

Pages: the file, the target, then what, review, progress. The upload itself belongs to the
TransferManager: closing the wizard leaves it running in the Transfers panel.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, QLocale, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QPalette
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
from gui.azure.upload.job import BlobTargetPlan, DataDiskPlan, ManagedDiskTargetPlan, UploadPlan
from gui.diskimage import has_disk_image_suffix
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
        self.setTitle(self.tr("Review"))
        self.setSubTitle(
            self.tr("Everything that will happen, in order. Nothing has been changed yet.")
        )
        self.text = QTextBrowser()
        self.text.setObjectName("review")
        self.text.setAccessibleName(self.tr("What the upload will do"))
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        self.setButtonText(QWizard.WizardButton.NextButton, self.tr("&Upload"))

    def initializePage(self) -> None:
        wizard = self.wizard()
        assert isinstance(wizard, UploadWizard)
        self.text.setHtml(self.review_html(wizard.plan(), wizard.disk_sizes()))

    def review_html(self, plan: UploadPlan, sizes: list[int]) -> str:
        """Every disk with its LUN, size and what is made of it, then each step in order.
        ``sizes`` are the disks' sizes in Azure, in ``plan.disks()`` order."""
        facts = plan.facts
        disks = plan.disks()
        rows = []
        for disk, size in zip(disks, sizes, strict=True):
            role = self.tr("OS disk") if disk.lun is None else self.tr("Data disk")
            lun = "—" if disk.lun is None else str(disk.lun)
            target = disk.target
            made = (
                self.tr("managed disk {name}").format(name=escape(target.spec.name))
                if isinstance(target, ManagedDiskTargetPlan)
                else self.tr("page blob {url}").format(url=escape(target.blob_url))
            )
            source = escape(Path(disk.source_path).name)
            if disk.disk_index:
                source = self.tr("{file}, its disk {number}").format(
                    file=source, number=disk.disk_index + 1)
            rows.append(
                f"<tr><td>{role}</td><td>{lun}</td><td>{source}</td>"
                f"<td>{format_size(size)}</td><td>{made}</td></tr>"
            )
        headers = (self.tr("Disk"), self.tr("LUN"), self.tr("File"), self.tr("Size in Azure"),
                   self.tr("Becomes"))
        table = (
            "<table border='1' cellspacing='0' cellpadding='3'><tr>"
            + "".join(f"<th>{header}</th>" for header in headers)
            + "</tr>" + "".join(rows) + "</table>"
        )
        steps: list[str] = []
        data_count = len(disks) - 1
        for disk in disks:
            target = disk.target
            if not isinstance(target, ManagedDiskTargetPlan):
                continue
            spec = target.spec
            if disk.lun is None:
                steps.append(self.tr(
                    "Create the managed disk <b>{name}</b> ({sku}) for upload in <b>{group}</b>, "
                    "{location} — {os_type}, {generation}"
                ).format(name=escape(spec.name), sku=spec.sku, group=escape(spec.resource_group),
                         location=spec.location, os_type=facts.os_type,
                         generation=generation_short(facts.hyper_v_generation)))
            else:
                steps.append(self.tr(
                    "Create the managed disk <b>{name}</b> ({sku}) for upload in <b>{group}</b>, "
                    "{location} — data disk at LUN {lun}"
                ).format(name=escape(spec.name), sku=spec.sku, group=escape(spec.resource_group),
                         location=spec.location, lun=disk.lun))
        managed = [d for d in disks if isinstance(d.target, ManagedDiskTargetPlan)]
        if len(managed) == 1:
            steps.append(self.tr(
                "Grant write access to the disk (a SAS, renewed if the upload runs long)"))
        elif managed:
            steps.append(self.tr(
                "Grant write access to each disk (a SAS each, renewed if the upload runs long)"))
        if data_count:
            steps.append(self.tr(
                "Upload the data of all %n disks at the same time, within the one bandwidth "
                "limit: only ranges that hold data, then the footer; Content-MD5 checked",
                "", len(disks)))
        elif managed:
            steps.append(self.tr(
                "Upload the data: only ranges that hold data, then the footer; Content-MD5 "
                "checked"))
        else:
            target = plan.target
            assert isinstance(target, BlobTargetPlan)
            steps.append(self.tr(
                "Upload the data to the page blob <b>{url}</b>: only ranges that hold data, "
                "then the footer; Content-MD5 checked").format(url=escape(target.blob_url)))
        if len(managed) == 1:
            steps.append(self.tr(
                "Revoke the write access (also if the upload fails or is cancelled)"))
        elif managed:
            steps.append(self.tr(
                "Revoke the write access to each disk (also if the upload fails or is "
                "cancelled)"))
        steps += self._image_steps(plan, data_count)
        items = "".join(f"<li>{step}</li>" for step in steps)
        source = self.tr("Source: <b>{name}</b> — {path}").format(
            name=escape(Path(plan.source_path).name), path=escape(plan.source_path))
        after = self.tr(
            "You can close this wizard during the upload: it goes on in the Transfers panel, "
            "and an unfinished upload is offered for resume at the next start.")
        return f"<p>{source}</p>{table}<ol>{items}</ol><p>{after}</p>"

    def _image_steps(self, plan: UploadPlan, data_count: int) -> list[str]:
        facts = plan.facts
        follow = plan.follow_up
        steps: list[str] = []
        if isinstance(follow, ManagedImageSpec):
            image = (
                self.tr(
                    "Create the managed image <b>{name}</b> in <b>{group}</b> ({os_type}, "
                    "{os_state}), holding the OS disk and %n data disk(s)", "", data_count)
                if data_count
                else self.tr(
                    "Create the managed image <b>{name}</b> in <b>{group}</b> ({os_type}, "
                    "{os_state})")
            )
            steps.append(image.format(
                name=escape(follow.name), group=escape(follow.resource_group),
                os_type=facts.os_type, os_state=facts.os_state))
        elif isinstance(follow, GalleryVersionSpec):
            if follow.create_gallery:
                steps.append(
                    self.tr("Create the gallery <b>{gallery}</b> in <b>{group}</b>").format(
                        gallery=escape(follow.gallery), group=escape(follow.resource_group)))
            definition = follow.definition
            if follow.create_definition:
                steps.append(self.tr(
                    "Create the image definition <b>{name}</b> ({os_type}, {os_state}, "
                    "{generation}, {security})"
                ).format(name=escape(definition.name), os_type=definition.os_type,
                         os_state=definition.os_state,
                         generation=definition.hyper_v_generation,
                         security=definition.security_type))
            extras = []
            if follow.exclude_from_latest:
                extras.append(self.tr("excluded from latest"))
            if follow.end_of_life:
                extras.append(self.tr("end of life {date}").format(
                    date=QLocale().toString(
                        QDate(follow.end_of_life.year, follow.end_of_life.month,
                              follow.end_of_life.day),
                        QLocale.FormatType.ShortFormat)))
            version = (
                self.tr(
                    "Create version <b>{version}</b> of <b>{definition}</b> in <b>{gallery}</b>, "
                    "holding the OS disk and %n data disk(s)", "", data_count)
                if data_count
                else self.tr(
                    "Create version <b>{version}</b> of <b>{definition}</b> in <b>{gallery}</b>")
            ).format(version=escape(follow.version), definition=escape(definition.name),
                     gallery=escape(follow.gallery))
            if extras:
                version += f" ({', '.join(extras)})"
            steps.append(version)
            regions = ", ".join(f"{name} ×{count}" for name, count in follow.regions())
            steps.append(self.tr("Replicate to {regions}").format(regions=regions))
        return steps


class ProgressPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("Uploading"))
        self.setSubTitle(
            self.tr("You can close this window: the upload goes on in the Transfers panel.")
        )
        self.transfer: Transfer | None = None
        self.retry_dialog: QWidget | None = None  # the open "Retry with another name…"
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
        # Only for a failed image step (its data is in Azure): that step alone, renamed.
        self.retry_button = QPushButton(self.tr("Retry with &another name…"))
        self.retry_button.setObjectName("retryFollowUp")
        self.retry_button.setToolTip(self.tr(
            "Make the image again from the uploaded disks under another name (a gallery "
            "version: another version number or definition); no data is uploaded again"))
        self.retry_button.setVisible(False)
        self.pause_button.clicked.connect(self._pause)
        self.resume_button.clicked.connect(self._resume)
        self.cancel_button.clicked.connect(self._cancel)
        self.retry_button.clicked.connect(self._retry_follow_up)
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.cancel_button,
                       self.retry_button):
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

    def _retry_follow_up(self) -> None:
        """Asks for another name (checked before anything is sent), then runs the image step
        alone; the wizard's image_ready follows the retried job's end as it did the first."""
        wizard = self.wizard()
        transfer = self.transfer
        if transfer is None or not transfer.follow_up_failed or not isinstance(
                wizard, UploadWizard):
            return
        # Imported here: the dialog is only needed once an image step has failed.
        from gui.azure.upload.follow_up import FollowUpNames
        from gui.qt.upload.rename_dialog import RetryFollowUpDialog

        manager = wizard.manager
        dialog = RetryFollowUpDialog(
            transfer.plan, FollowUpNames(manager.session, transfer.plan),
            lambda spec: manager.retry_follow_up(transfer, spec), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # The retry runs: the wizard cannot be finished until it has ended again.
        dialog.accepted.connect(self.completeChanged)
        self.retry_dialog = dialog
        dialog.open()

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
        self.retry_button.setVisible(transfer.follow_up_failed)
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
        elif status is Status.FAILED and transfer.follow_up_failed:
            title = self.tr("Image not made")
            subtitle = self.tr("The upload failed: {reason}").format(reason=reason)
            text = self.tr(
                "{error}\n\nThe data is in Azure; only the image step failed. Retry with "
                "another name… makes the image from the uploaded disks without sending the "
                "data again."
            ).format(error=error)
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
        self.setWindowTitle(self.tr("Upload a disk image"))
        # Files dropped here are added to page 1: the OS disk while there is none, else data
        # disks (the placeholder there says "Choose or drop").
        self.setAcceptDrops(True)
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
        page = self.file_page
        assert page.path is not None
        targets = self.target_page.targets()
        return UploadPlan(
            source_path=str(page.path),
            facts=page.facts(),
            target=targets[0],
            follow_up=self.follow_up_page.follow_up(),
            disk_index=page.disk_index,
            data_disks=tuple(
                DataDiskPlan(str(disk.path), disk.lun, target, disk.disk_index)
                for disk, target in zip(page.data_disks, targets[1:], strict=True)
            ),
        )

    def disk_sizes(self) -> list[int]:
        """Each disk's size in Azure, in the plan's order (OS disk, then data disks by LUN)."""
        page = self.file_page
        os_size = page.image.fixed_size if page.image is not None else 0
        data = sorted(zip(page.data_disks, page.data_disk_sizes(), strict=True),
                      key=lambda pair: pair[0].lun)
        return [os_size, *(size for _disk, size in data)]

    # --- drops ----------------------------------------------------------------------------------

    def _dropped_files(self, event: QDragEnterEvent | QDropEvent) -> list[Path]:
        """Local disk images of a drag, while page 1 is shown (later pages have planned)."""
        if self.currentId() != FILE_PAGE or not event.mimeData().hasUrls():
            return []
        paths = [Path(url.toLocalFile()) for url in event.mimeData().urls() if url.isLocalFile()]
        return [path for path in paths if path.is_file() and has_disk_image_suffix(path)]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = self._dropped_files(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.file_page.add_files(paths)

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

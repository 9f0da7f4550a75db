"""Upload and capture as the main window offers them: dropped files, the wizards, the transfers
and the notifications when an upload ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from azure.mgmt.core.tools import resource_id
from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from gui.azure.catalog.nodes import CatalogNode
from gui.diskimage import DISK_IMAGE_SUFFIXES, has_disk_image_suffix
from gui.qt.main_window import MainWindow
from gui.qt.transfers.model import Status, Transfer, TransferManager


def _local_files(event: QDragEnterEvent | QDropEvent) -> list[Path]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class Workflows(QObject):
    """Uploads and captures as the window offers them. The AppController makes it with the
    app's TransferManager and hands it the session (``connected``)."""

    def __init__(self, window: MainWindow, transfers: TransferManager) -> None:
        super().__init__(window)
        self.window = window
        self.transfers = transfers
        self.session: Any = None  # handed in by connected()
        self.transfers.transfer_finished.connect(self._transfer_finished)
        self.wizards: list[Any] = []
        self._pending_files: list[Path] = []
        self._tray: QSystemTrayIcon | None = None
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def connected(self, session: Any) -> None:
        """The window has a session: offer unfinished uploads, open files that waited for it."""
        self.session = session
        self._offer_unfinished_uploads()
        pending, self._pending_files = self._pending_files, []
        for path in pending:
            self.open_upload_wizard(path)

    # --- drops ----------------------------------------------------------------------------------

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window:
            if isinstance(event, QDragEnterEvent):
                self._drag_entered(event)
                return True
            if isinstance(event, QDropEvent) and event.type() == QEvent.Type.Drop:
                self._dropped(event)
                return True
        return super().eventFilter(watched, event)

    def _drag_entered(self, event: QDragEnterEvent) -> None:
        files = _local_files(event)
        if files and any(has_disk_image_suffix(path) for path in files):
            event.acceptProposedAction()
            self.window.statusBar().showMessage(
                "Drop to upload: a wizard opens for each disk image."
            )
        else:
            event.ignore()

    def _dropped(self, event: QDropEvent) -> None:
        files = _local_files(event)
        images = [path for path in files if has_disk_image_suffix(path)]
        others = [path.name for path in files if not has_disk_image_suffix(path)]
        event.acceptProposedAction()
        for path in images:
            self.open_upload_wizard(path)
        if others:
            box = QMessageBox(
                QMessageBox.Icon.Information,
                "Not a disk image",
                "These files were not opened: " + ", ".join(others),
                parent=self.window,
            )
            box.setInformativeText(
                f"Drop disk images ({', '.join(DISK_IMAGE_SUFFIXES)}) to upload them."
            )
            box.open()

    # --- wizards --------------------------------------------------------------------------------

    def open_upload_wizard(self, path: Path | None = None) -> None:
        """One wizard per file; before the connection is up, files wait for it."""
        window = self.window
        if self.session is None:
            if path is not None:
                self._pending_files.append(path)
                window.statusBar().showMessage(
                    f"{path.name} opens for upload as soon as the connection is up."
                )
            return
        from gui.qt.upload.wizard import UploadContext, UploadWizard

        context = UploadContext(
            session=self.session,
            subscription_id=window.subscription_id,
            location=window.location,
            subscriptions=window.known_subscriptions,
            locations=window.known_locations,
            resource_group=window.settings.default_resource_group,
            disk_sku=window.settings.default_disk_sku,
        )
        wizard = UploadWizard(context, self.transfers, path, window)
        wizard.image_ready.connect(window.image_ready)
        wizard.transfer_started.connect(lambda _t: window.transfers_dock.show())
        self._keep(wizard)

    def open_capture_wizard(self, vm: CatalogNode | None = None) -> None:
        """The capture wizard, for the given VM (or a VM picked on its first page)."""
        window = self.window
        if self.session is None:
            return
        from gui.qt.capture.wizard import CaptureWizard

        vm_id = None
        if vm is not None:
            group, name = vm.ref.parts
            vm_id = resource_id(
                subscription=window.subscription_id,
                resource_group=group,
                namespace="Microsoft.Compute",
                type="virtualMachines",
                name=name,
            )
        wizard = CaptureWizard(
            self.session, window.subscription_id, window.location, parent=window, vm_id=vm_id
        )
        wizard.image_created.connect(window.image_ready)
        self._keep(wizard)

    def _keep(self, wizard: Any) -> None:
        wizard.finished.connect(lambda _result, w=wizard: self._forget(w))
        self.wizards.append(wizard)
        wizard.open()

    def _forget(self, wizard: Any) -> None:
        if wizard in self.wizards:
            self.wizards.remove(wizard)
        wizard.deleteLater()

    # --- transfers and notifications ------------------------------------------------------------

    def _offer_unfinished_uploads(self) -> None:
        found = self.transfers.load_unfinished()
        if found:
            self.window.transfers_dock.show()
            self.window.transfers_dock.raise_()
            plural = "s" if len(found) != 1 else ""
            self.window.statusBar().showMessage(
                f"{len(found)} unfinished upload{plural} from last time: select it in the "
                "Transfers panel and press Resume.",
                15000,
            )

    def _transfer_finished(self, transfer: Transfer) -> None:
        if transfer.status is Status.COMPLETED:
            title = "Upload finished"
            text = f"{transfer.title} is in Azure: {transfer.target_label}"
            icon = QSystemTrayIcon.MessageIcon.Information
        elif transfer.status is Status.CANCELLED:
            title, text = "Upload cancelled", f"{transfer.title} can be resumed later."
            icon = QSystemTrayIcon.MessageIcon.Warning
        else:
            title = "Upload failed"
            text = f"{transfer.title}: {transfer.error.splitlines()[0] if transfer.error else ''}"
            icon = QSystemTrayIcon.MessageIcon.Critical
        self.window.statusBar().showMessage(f"{title}: {text}", 15000)
        self.notify(title, text, icon)

    def notify(self, title: str, text: str, icon: QSystemTrayIcon.MessageIcon) -> None:
        """A system notification where the desktop has one; the taskbar flashes in any case."""
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(self.window.windowIcon(), self)
                self._tray.show()
            self._tray.showMessage(title, text, icon, 10000)
        QApplication.alert(self.window)

"""Upload, capture and delete as the main window offers them: dropped files, the wizards, the
transfers, the notifications when an upload ends, and Delete… for the selected nodes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.mgmt.core.tools import resource_id
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QSystemTrayIcon

from gui.azure.catalog.nodes import CatalogNode, NodeRef
from gui.azure.manage.delete import Target, target_of
from gui.diskimage import DISK_IMAGE_SUFFIXES, has_disk_image_suffix
from gui.qt import icons
from gui.qt.i18n import render_text
from gui.qt.main_window import MainWindow
from gui.qt.manage.delete_dialog import DeleteDialog
from gui.qt.tasks import TaskSet
from gui.qt.transfers.model import Status, Transfer, TransferManager, TransferRun


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
        self.transfers.download_finished.connect(self._download_finished)
        self.wizards: list[Any] = []
        self._pending_files: list[Path] = []
        self._tray: QSystemTrayIcon | None = None
        self._tasks = TaskSet("Workflows")
        self.delete_dialogs: list[Any] = []
        # "Then test-boot it": opens the test boot for an image a wizard made (the app
        # controller hands in the VM room's opener); the uploads whose image is to be
        # test-booted once they end (kept here: the wizard may be closed by then).
        self.test_boot: Callable[[NodeRef], object] | None = None
        self._test_boot_after: set[Any] = set()
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        # Delete… in the tree's context menu, and the Delete key while the tree has the focus.
        self.delete_action = QAction(icons.icon("error"), self.tr("Delete…"), window.tree)
        self.delete_action.setObjectName("deleteSelected")
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.delete_action.setStatusTip(
            self.tr(
                "Delete the selected images, versions, definitions, galleries, disks or "
                "snapshots from Azure, after a confirmation that lists them"
            )
        )
        self.delete_action.triggered.connect(self.delete_selected)
        window.tree.addAction(self.delete_action)
        window.add_node_actions(self._node_actions)

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
                self.tr("Drop to upload: a wizard opens for each disk image.")
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
                self.tr("Not a disk image"),
                self.tr("These files were not opened: {names}").format(names=", ".join(others)),
                parent=self.window,
            )
            box.setInformativeText(
                self.tr("Drop disk images ({suffixes}) to upload them.").format(
                    suffixes=", ".join(DISK_IMAGE_SUFFIXES)
                )
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
                    self.tr("{name} opens for upload as soon as the connection is up.").format(
                        name=path.name
                    )
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
        wizard.transfer_started.connect(lambda _t: self.show_transfers())
        wizard.transfer_started.connect(lambda t, w=wizard: self._remember_test_boot(w, t))
        self._keep(wizard)

    def _remember_test_boot(self, wizard: Any, transfer: Transfer) -> None:
        if wizard.follow_up_page.test_boot_after:
            self._test_boot_after.add(transfer)

    def _start_test_boot(self, ref: NodeRef) -> None:
        if self.test_boot is not None:
            self.test_boot(ref)

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
        wizard.test_boot_requested.connect(self._start_test_boot)
        wizard.image_created.connect(lambda _ref, w=wizard: self._vm_captured(w))
        self._keep(wizard)

    def _vm_captured(self, wizard: Any) -> None:
        """The capture generalized (or stopped) its VM: the browser shows it as it is now."""
        vm = wizard.chosen_vm()
        if vm is not None:
            self.window.vm_changed(vm.id)

    def _keep(self, wizard: Any) -> None:
        wizard.finished.connect(lambda _result, w=wizard: self._forget(w))
        self.wizards.append(wizard)
        wizard.open()

    def _forget(self, wizard: Any) -> None:
        if wizard in self.wizards:
            self.wizards.remove(wizard)
        wizard.deleteLater()

    # --- delete ---------------------------------------------------------------------------------

    def _node_actions(self, menu: QMenu, nodes: list[CatalogNode]) -> None:
        """Delete… when something selected can be deleted from here."""
        if any(target_of(node) is not None for node in nodes):
            menu.addSeparator()
            menu.addAction(self.delete_action)

    def delete_selected(self) -> DeleteDialog | None:
        """The delete confirmation for the selected nodes that can be deleted (the dialog)."""
        window = self.window
        targets: list[Target] = [
            target for node in window.selected_nodes() if (target := target_of(node)) is not None
        ]
        if not targets:
            window.statusBar().showMessage(
                self.tr(
                    "Nothing selected can be deleted here: select managed images, gallery "
                    "versions, definitions, galleries, disks or snapshots of this subscription."
                ),
                8000,
            )
            return None
        catalog = window.catalog
        if catalog is None:
            window.statusBar().showMessage(
                self.tr("Not connected yet: nothing can be deleted."), 5000
            )
            return None
        compute = catalog.session.compute(catalog.scope.subscription_id)
        dialog = DeleteDialog(compute, targets, window)
        dialog.deleted.connect(lambda parents: self._tasks.spawn(self.refresh_after(parents)))
        dialog.finished.connect(lambda _result, d=dialog: self._forget_dialog(d))
        self.delete_dialogs.append(dialog)
        dialog.open()
        return dialog

    def _forget_dialog(self, dialog: Any) -> None:
        if dialog in self.delete_dialogs:
            self.delete_dialogs.remove(dialog)
        dialog.deleteLater()

    async def refresh_after(self, parents: list[NodeRef]) -> None:
        """The nodes that listed what was deleted, listed again from Azure."""
        window = self.window
        if window.catalog is None:
            return
        window.catalog.forget_cached_listings()
        for ref in parents:
            await window.list_afresh(ref.key)

    # --- transfers and notifications ------------------------------------------------------------

    def show_transfers(self) -> None:
        """Shows the Transfers panel in front: it shares its place with the Log tab, and a
        panel only shown would open behind it."""
        dock = self.window.transfers_dock
        dock.show()
        dock.raise_()

    def _offer_unfinished_uploads(self) -> None:
        found = self.transfers.load_unfinished()
        if found:
            self.show_transfers()
            self.window.statusBar().showMessage(
                self.tr(
                    "%n unfinished upload(s) or download(s) from last time: select one in the "
                    "Transfers panel and press Resume.",
                    "",
                    len(found),
                ),
                15000,
            )

    def _transfer_finished(self, transfer: Transfer) -> None:
        if transfer in self._test_boot_after:
            self._test_boot_after.discard(transfer)
            result = transfer.result
            if transfer.status is Status.COMPLETED and result is not None and result.image:
                self._start_test_boot(result.image)
        if transfer.status is Status.COMPLETED:
            title = self.tr("Upload finished")
            text = self.tr("{file} is in Azure: {target}").format(
                file=transfer.title, target=transfer.target_label
            )
            icon = QSystemTrayIcon.MessageIcon.Information
        elif transfer.status is Status.CANCELLED:
            title = self.tr("Upload cancelled")
            text = self.tr("{file} can be resumed later.").format(file=transfer.title)
            icon = QSystemTrayIcon.MessageIcon.Warning
        else:
            title = self.tr("Upload failed")
            reason = transfer.error.splitlines()[0] if transfer.error else ""
            text = self.tr("{file}: {reason}").format(file=transfer.title, reason=reason)
            icon = QSystemTrayIcon.MessageIcon.Critical
        self.window.statusBar().showMessage(
            self.tr("{title}: {text}").format(title=title, text=text), 15000
        )
        self.notify(title, text, icon)

    def _download_finished(self, run: TransferRun) -> None:
        """As for an upload: the status bar and a notification, since the dialog may be gone."""
        if run.status is Status.COMPLETED:
            title = self.tr("Download finished")
            text = self.tr("{file} is on this computer: {path}").format(
                file=run.title, path=run.local_path
            )
            icon = QSystemTrayIcon.MessageIcon.Information
        elif run.status in (Status.CANCELLED, Status.INTERRUPTED):
            title = self.tr("Download stopped")
            text = self.tr("{file} can be resumed later.").format(file=run.title)
            icon = QSystemTrayIcon.MessageIcon.Warning
        else:
            title = self.tr("Download failed")
            reason = render_text(run.error).splitlines()[0] if run.error else ""
            text = self.tr("{file}: {reason}").format(file=run.title, reason=reason)
            icon = QSystemTrayIcon.MessageIcon.Critical
        self.window.statusBar().showMessage(
            self.tr("{title}: {text}").format(title=title, text=text), 15000
        )
        self.notify(title, text, icon)

    def notify(self, title: str, text: str, icon: QSystemTrayIcon.MessageIcon) -> None:
        """A system notification where the desktop has one; the taskbar flashes in any case."""
        if QSystemTrayIcon.isSystemTrayAvailable():
            if self._tray is None:
                self._tray = QSystemTrayIcon(self.window.windowIcon(), self)
                self._tray.show()
            self._tray.showMessage(title, text, icon, 10000)
        QApplication.alert(self.window)

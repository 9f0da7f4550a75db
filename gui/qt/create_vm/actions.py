""""Create VM…" and "Test boot…" in the tree's context menu, for one selected image (version).

The app controller registers them once: ``install_vm_actions(window)``. They read the session
and scope from the window's catalog when chosen, so a switched account or subscription is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, NodeRef, SourceKind
from gui.azure.errors import AzureServiceError
from gui.azure.handoff import HandoffError, image_reference
from gui.azure.vm_create.request import Mode
from gui.qt.i18n import render_text
from gui.qt.tasks import TaskSet

if TYPE_CHECKING:
    from gui.qt.create_vm.dialog import CreateVmDialog


def is_image_node(node: CatalogNode) -> bool:
    """An image or image version a VM can be made from (not a VM, a disk, a snapshot or a
    VHD blob)."""
    if not node.is_image or node.ref.source is SourceKind.VMS:
        return False
    if node.kind in (NodeKind.DISK, NodeKind.SNAPSHOT, NodeKind.BLOB):
        return False
    return not (node.ref.source is SourceKind.MARKETPLACE and len(node.ref.parts) != 4)


class VmActions(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dialogs: list[CreateVmDialog] = []
        self._tasks = TaskSet("VmActions")
        self.create_action = QAction(QCoreApplication.translate("VmActions", "Create VM…"), window)
        self.create_action.setObjectName("createVm")
        self.create_action.setStatusTip(QCoreApplication.translate(
            "VmActions",
            "Create a VM from the selected image: size, network and account in one short dialog"))
        self.test_action = QAction(QCoreApplication.translate("VmActions", "Test boot…"), window)
        self.test_action.setObjectName("testBoot")
        self.test_action.setStatusTip(QCoreApplication.translate(
            "VmActions",
            "Boot the selected image in a throw-away VM, watch its serial log, get a verdict; "
            "everything is deleted after"))
        self.create_action.triggered.connect(lambda: self.open_selected(Mode.CREATE))
        self.test_action.triggered.connect(lambda: self.open_selected(Mode.TEST_BOOT))

    def node_actions(self, menu: QMenu, nodes: list[CatalogNode]) -> None:
        if len(nodes) == 1 and is_image_node(nodes[0]):
            menu.addSeparator()
            menu.addAction(self.create_action)
            menu.addAction(self.test_action)

    def open_selected(self, mode: Mode) -> None:
        nodes = self.window.selected_nodes()
        if len(nodes) != 1 or not is_image_node(nodes[0]):
            return
        self._tasks.spawn(self.open_for(nodes[0], mode))

    async def open_for(self, node: CatalogNode, mode: Mode) -> CreateVmDialog | None:
        """Reads the node's detail (the detail pane's when it shows this node) and opens the
        dialog for it."""
        window = self.window
        catalog = window.catalog
        if catalog is None:
            window.statusBar().showMessage(
                QCoreApplication.translate("VmActions", "Not connected yet: sign in first."), 5000)
            return None
        shown = getattr(getattr(window, "detail_pane", None), "detail", None)
        detail: ImageDetail
        if isinstance(shown, ImageDetail) and shown.ref == node.ref:
            detail = shown
        else:
            try:
                detail = await catalog.detail(node)
            except AzureServiceError as error:
                window.statusBar().showMessage(render_text(error), 8000)
                return None
        try:
            image_reference(detail)
        except HandoffError:
            window.statusBar().showMessage(QCoreApplication.translate(
                "VmActions", "Choose an image version: a VM is made from one version."), 8000)
            return None
        # Imported when first used: the dialog brings the serial log's HTTP client (aiohttp),
        # which the window must not load before its first paint.
        from gui.qt.create_vm.dialog import CreateVmDialog

        settings = getattr(window, "settings", None)
        subscription = catalog.scope.subscription_id
        dialog = CreateVmDialog(
            catalog.session,
            subscription,
            detail,
            mode,
            locations=[(str(n), str(d)) for n, d in getattr(settings, "known_locations", [])],
            default_location=catalog.scope.location,
            default_resource_group=str(getattr(settings, "default_resource_group", "") or ""),
            subscription_name=subscription,
            parent=window,
        )
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _result, d=dialog: self._forget(d))
        dialog.open()
        return dialog

    def open_ref(self, ref: NodeRef, mode: Mode = Mode.TEST_BOOT) -> None:
        """Opens the dialog for the image at ``ref``: what a wizard calls at its end ("then
        test-boot it") with the image it made (its result's NodeRef)."""
        kind = NodeKind.VERSION if ref.source is not SourceKind.MANAGED else NodeKind.IMAGE
        node = CatalogNode(ref, kind, ref.parts[-1] if ref.parts else "", is_image=True)
        if is_image_node(node):
            self._tasks.spawn(self.open_for(node, mode))

    def _forget(self, dialog: CreateVmDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()


def install_vm_actions(window: Any) -> VmActions:
    """Adds Create VM… and Test boot… to the window's tree context menu (the one line the app
    controller calls)."""
    actions = VmActions(window)
    window.add_node_actions(actions.node_actions)
    return actions

"""The tree's hand-offs for one selected image: Copy as az CLI, Copy as Bicep, Open in the portal.

The text is made from the image's detail (gui/azure/handoff.py), the one the detail pane shows
for the selected node; a node whose detail is not read yet is read first (the tree makes a
right-clicked row current, so its detail is usually there already).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QMenu

from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, SourceKind
from gui.azure.errors import AzureServiceError
from gui.azure.handoff import HandoffError, az_vm_create, bicep_vm, image_reference, portal_url
from gui.qt.i18n import render_text
from gui.qt.tasks import TaskSet

STATUS_MS = 5000


def _hands_off(node: CatalogNode) -> bool:
    """Images and image versions (a VM is not an image; its hand-off is Capture; a VHD blob
    makes no VM before it is an image or a disk)."""
    return node.is_image and node.kind not in (NodeKind.VM, NodeKind.BLOB)


class HandoffActions(QObject):
    """A node-actions provider (``window.add_node_actions(actions.node_actions)``)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._tasks = TaskSet("hand-offs")
        self.last_url: str | None = None  # the address last opened (for the tests)

    def node_actions(self, menu: QMenu, nodes: list[CatalogNode]) -> None:
        if len(nodes) != 1 or not _hands_off(nodes[0]):
            return
        node = nodes[0]
        menu.addSeparator()
        az = menu.addAction(self.tr("Copy as &az CLI"))
        az.setObjectName("copyAsAzCli")
        az.setStatusTip(self.tr("Copy an az vm create command that makes a VM from this image"))
        az.triggered.connect(lambda: self._with_detail(node, self._copy_az))
        bicep = menu.addAction(self.tr("Copy as &Bicep"))
        bicep.setObjectName("copyAsBicep")
        bicep.setStatusTip(
            self.tr("Copy a Bicep file that deploys a VM (and its network) from this image")
        )
        bicep.triggered.connect(lambda: self._with_detail(node, self._copy_bicep))
        if node.ref.source is SourceKind.MARKETPLACE:
            text = self.tr("Open in Azure &Marketplace")
        elif node.ref.source in (SourceKind.MANAGED, SourceKind.GALLERY):
            text = self.tr("Open in the Azure &portal")
        else:
            return  # community and shared versions have no page of their own
        portal = menu.addAction(text)
        portal.setObjectName("openInPortal")
        portal.triggered.connect(lambda: self._with_detail(node, self._open_portal))

    # ---- the detail, then the hand-off ------------------------------------------------------

    def _with_detail(self, node: CatalogNode, then: Callable[[ImageDetail], None]) -> None:
        shown = self._window.detail_pane.detail
        if isinstance(shown, ImageDetail) and shown.ref == node.ref:
            self._hand_off(shown, then)
            return
        catalog = self._window.catalog
        if catalog is None:
            self._status(self.tr("Not connected yet: nothing to hand off."))
            return
        self._tasks.spawn(self._read_then(catalog, node, then))

    async def _read_then(
        self, catalog: Any, node: CatalogNode, then: Callable[[ImageDetail], None]
    ) -> None:
        try:
            detail = await catalog.detail(node)
        except AzureServiceError as error:
            self._status(render_text(error))
            return
        self._hand_off(detail, then)

    def _hand_off(self, detail: ImageDetail, then: Callable[[ImageDetail], None]) -> None:
        try:
            image_reference(detail)
        except HandoffError as error:
            self._status(render_text(error))
            return
        then(detail)

    def _status(self, text: str) -> None:
        self._window.statusBar().showMessage(text, STATUS_MS)

    def _copy_az(self, detail: ImageDetail) -> None:
        QGuiApplication.clipboard().setText(az_vm_create(detail))
        self._status(self.tr("An az vm create command for {image} is on the clipboard.").format(
            image=detail.title
        ))

    def _copy_bicep(self, detail: ImageDetail) -> None:
        QGuiApplication.clipboard().setText(bicep_vm(detail))
        self._status(
            self.tr("A Bicep file for a VM from {image} is on the clipboard.").format(
                image=detail.title
            )
        )

    def _open_portal(self, detail: ImageDetail) -> None:
        session = self._window.session
        cloud = getattr(session, "cloud", None)
        if cloud is None or getattr(session, "is_sandbox", False):
            # The sandbox's resources exist on this machine only: no portal page shows them.
            self._status(self.tr("The offline sandbox's images have no page in the portal."))
            return
        url = portal_url(detail, cloud, getattr(session, "tenant_id", None))
        if url is None:
            self._status(self.tr("This image has no page to open in its cloud."))
            return
        self.last_url = url
        QDesktopServices.openUrl(QUrl(url))

""""Edit…" in the tree's context menu for one gallery image version or definition of the
subscription's own galleries: the version editor or the definition editor.

The app controller registers it once: ``install_edit_actions(window)``. The session and scope
are read from the window's catalog when chosen, so a switched account or subscription is used.
After a change the tree lists the definition (or gallery) again and shows the edited node's
detail afresh, as after a deletion.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog, QMenu

from gui.azure.catalog.nodes import CatalogNode, NodeRef, SourceKind
from gui.azure.errors import AzureServiceError
from gui.azure.manage.definitions import DefinitionRef
from gui.azure.manage.versions import VersionRef, regions_with_zones
from gui.qt.tasks import TaskSet


def edit_target(node: CatalogNode) -> VersionRef | DefinitionRef | None:
    """What "Edit…" edits for ``node``: a version or definition of the own galleries (not a
    community or shared gallery's, which belong to others)."""
    ref = node.ref
    if ref.source is not SourceKind.GALLERY:
        return None
    if len(ref.parts) == 4:
        return VersionRef(*ref.parts)
    if len(ref.parts) == 3:
        return DefinitionRef(*ref.parts)
    return None


class EditActions(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.dialogs: list[QDialog] = []
        self._tasks = TaskSet("EditActions")
        # Literal contexts: lupdate reads these calls as written.
        self.edit_action = QAction(QCoreApplication.translate("EditActions", "&Edit…"), window)
        self.edit_action.setObjectName("editGalleryItem")
        self.edit_action.setStatusTip(QCoreApplication.translate(
            "EditActions",
            "Edit the selected image version (end of life, regions, replication) or definition "
            "(description, end of life, recommended sizes)"))
        self.edit_action.triggered.connect(self.edit_selected)

    def node_actions(self, menu: QMenu, nodes: list[CatalogNode]) -> None:
        if len(nodes) == 1 and edit_target(nodes[0]) is not None:
            menu.addSeparator()
            menu.addAction(self.edit_action)

    def edit_selected(self) -> None:
        nodes = self.window.selected_nodes()
        if len(nodes) == 1 and (target := edit_target(nodes[0])) is not None:
            self._tasks.spawn(self.open_for(target))

    async def open_for(self, target: VersionRef | DefinitionRef) -> QDialog | None:
        window = self.window
        catalog = window.catalog
        if catalog is None:
            window.statusBar().showMessage(
                QCoreApplication.translate("EditActions", "Not connected yet: sign in first."),
                5000,
            )
            return None
        # Imported when first used: registering the action costs the window's start nothing.
        from gui.qt.manage.definition_editor import DefinitionEditor
        from gui.qt.manage.version_editor import VersionEditor

        subscription = catalog.scope.subscription_id
        compute = catalog.session.compute(subscription)
        dialog: VersionEditor | DefinitionEditor
        if isinstance(target, VersionRef):
            try:
                zonal = await regions_with_zones(catalog.session.subscriptions(), subscription)
            except AzureServiceError:
                zonal = None  # unknown: Azure decides about zone-redundant storage
            settings = getattr(window, "settings", None)
            locations = [(str(n), str(d)) for n, d in getattr(settings, "known_locations", [])]
            dialog = VersionEditor(compute, target, locations, zonal=zonal, parent=window)
        else:
            dialog = DefinitionEditor(compute, target, parent=window)
        dialog.changed.connect(lambda refs: self._tasks.spawn(self.refresh_after(refs)))
        dialog.finished.connect(lambda _result, d=dialog: self._forget(d))
        self.dialogs.append(dialog)
        dialog.open()
        return dialog

    async def refresh_after(self, refs: list[NodeRef]) -> None:
        """The parent lists its children again from Azure; the edited node, when it is the one
        shown, shows its detail afresh."""
        window = self.window
        if window.catalog is None or not refs:
            return
        window.catalog.forget_cached_listings()
        parent, edited = refs[0], refs[-1]
        await window.list_afresh(parent.key)
        current = window.current_node()
        if current is not None and current.ref == edited:
            window.refresh()

    def _forget(self, dialog: QDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()


def install_edit_actions(window: Any) -> EditActions:
    """Adds Edit… to the window's tree context menu (the one line the app controller calls)."""
    actions = EditActions(window)
    window.add_node_actions(actions.node_actions)
    return actions

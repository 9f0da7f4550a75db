"""Copy to…: a gallery image version into another gallery (subscription or tenant), a managed
image or snapshot into another region, as steps with Azure's progress, in one dialog.

The copy runs in Azure (gui/azure/copy); the dialog asks where to, starts it and shows its
steps in the one step widget. A copy into another tenant signs in to that tenant first (a
browser window; in sandbox mode the sandbox's own token for it).
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure import naming
from gui.azure.catalog.nodes import CatalogNode
from gui.azure.copy.nodes import CopyKind, CopySource, copy_source_of
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet
from gui.qt.widgets.step_list import StepList

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_REGION = re.compile(r"^[a-z][a-z0-9]{2,40}$")


class CopyDialog(QDialog):
    """Asks where ``source`` goes, then runs the copy with ``session``. ``copied`` carries the
    new resource's ID when every step is done."""

    copied = Signal(str)

    def __init__(
        self,
        source: CopySource,
        session: Any,
        locations: list[tuple[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("copyDialog")
        self.source = source
        self.session = session
        self.job: Any = None
        self._tasks = TaskSet("CopyDialog")
        self.setWindowTitle(self.tr("Copy {name}").format(name=source.name))
        layout = QVBoxLayout(self)
        self.heading = QLabel()
        self.heading.setWordWrap(True)
        layout.addWidget(self.heading)
        form = QFormLayout()
        layout.addLayout(form)
        # Every field exists (plan() and start() read them alike); only the kind's are shown.
        self.definition = QLineEdit(self)
        self.version = QLineEdit(self)
        self.tenant = QLineEdit(self)
        self.region = QComboBox(self)
        self.group = QLineEdit(self)
        self.name = QLineEdit(self)
        self.target = QLineEdit(self)
        self.target.setObjectName("copyTarget")
        for field in (self.definition, self.version, self.tenant, self.region, self.group,
                      self.name, self.target):
            field.hide()
        if source.kind is CopyKind.GALLERY:
            self.heading.setText(self.tr(
                "Azure copies the image version into the gallery you name; the data does not "
                "pass through this computer. The target image definition must exist and match "
                "the source's OS type, state, generation and architecture."))
            version = source.resource_id.rsplit("/", 1)[-1]
            self.version.setText(version)
            self.definition.setPlaceholderText(
                "/subscriptions/…/resourceGroups/…/providers/Microsoft.Compute/galleries/…/"
                "images/…")
            self.tenant.setPlaceholderText(self.tr("only for another tenant: its ID"))
            self._row(form, self.tr("Target image &definition (resource ID):"), self.definition,
                      self.tr("Target image definition"))
            self._row(form, self.tr("&Version:"), self.version, self.tr("Version"))
            self._row(form, self.tr("&Tenant:"), self.tenant, self.tr("Tenant"))
        elif source.kind is CopyKind.BLOB:
            self.heading.setText(self.tr(
                "Azure copies the page blob into the container you name, in any storage account "
                "you can see (another subscription or region too); the data does not pass "
                "through this computer. Without a SAS in the URL, access is signed with the "
                "accounts' keys."))
            self.target.setPlaceholderText("https://account.blob.core.windows.net/container")
            self._row(form, self.tr("Target &container URL:"), self.target,
                      self.tr("Target container URL"))
        else:
            self.heading.setText(self.tr(
                "Azure copies it into the region you pick, through incremental snapshots "
                "(CopyStart); the data does not pass through this computer."))
            self.region.setEditable(True)
            for name, display in locations:
                if name != source.location:
                    self.region.addItem(f"{display} ({name})", name)
            self.region.setCurrentIndex(-1)
            group = source.resource_id.split("/")[4]
            self.group.setText(group)
            self._row(form, self.tr("Target re&gion:"), self.region, self.tr("Target region"))
            self._row(form, self.tr("&Resource group:"), self.group, self.tr("Resource group"))
            self._row(form, self.tr("&Name:"), self.name, self.tr("Name"))
            self.name.setPlaceholderText(self.tr("{name}-REGION").format(name=source.name))
        self.problem = QLabel()
        self.problem.setObjectName("copyProblem")
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(text_style(Tone.ERROR))
        self.problem.hide()
        layout.addWidget(self.problem)
        self.steps = StepList()
        self.steps.setAccessibleName(self.tr("Copy steps"))
        layout.addWidget(self.steps)
        self.status = QLabel()
        self.status.setObjectName("copyStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.start_button = QPushButton(self.tr("&Copy"))
        self.start_button.setObjectName("startCopy")
        self.start_button.setDefault(True)
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.clicked.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.resize(640, 480)

    @staticmethod
    def _row(form: QFormLayout, text: str, field: QWidget, accessible: str) -> None:
        label = QLabel(text)
        label.setBuddy(field)
        field.setAccessibleName(accessible)
        form.addRow(label, field)
        field.show()

    # --- what was asked ------------------------------------------------------------------

    def _region_text(self) -> str:
        data = self.region.currentData()
        if data and self.region.currentText() == self.region.itemText(self.region.currentIndex()):
            return str(data)
        return self.region.currentText().strip().lower().replace(" ", "")

    def plan(self) -> Any:
        """The copy's plan from the fields; ValueError with what to correct (translated)."""
        source = self.source
        if source.kind is CopyKind.BLOB:
            from gui.azure.copy.blob import BlobLocation

            container_url = self.target.text().strip()
            try:
                BlobLocation.parse(container_url)
            except ValueError:
                raise ValueError(self.tr(
                    "Give the target container's URL: https://account.blob.core.windows.net/"
                    "container")) from None
            return container_url  # the plan needs the source account's endpoint: made in _run
        if source.kind is CopyKind.GALLERY:
            from gui.azure.copy.gallery import GalleryCopyPlan, GalleryVersionRef

            try:
                target = GalleryVersionRef.parse(self.definition.text())
                origin = GalleryVersionRef.parse(source.resource_id)
            except ValueError:
                raise ValueError(self.tr(
                    "Give the target image definition's resource ID: /subscriptions/…/"
                    "resourceGroups/…/providers/Microsoft.Compute/galleries/…/images/…"
                )) from None
            version = self.version.text().strip()
            if (problem := naming.version_name(version)) is not None:
                raise ValueError(render_text(problem))
            tenant = self.tenant.text().strip() or None
            if tenant is not None and not _GUID.match(tenant):
                raise ValueError(self.tr("The tenant is an ID (a GUID), or empty for yours."))
            return GalleryCopyPlan(origin, target.with_version(version), tenant_id=tenant)
        from gui.azure.copy.region import RegionCopyPlan

        region = self._region_text()
        if not _REGION.match(region):
            raise ValueError(self.tr("Pick the target region."))
        group, name = self.group.text().strip(), self.name.text().strip()
        # Empty fields take the source's resource group and name; a given one must be a name
        # Azure accepts, said here rather than by Azure after the copy has been asked for.
        snapshot = "/snapshots/" in source.resource_id.casefold()
        name_rule = naming.snapshot_name if snapshot else naming.image_name
        problem = (naming.resource_group_name(group) if group else None) or (
            name_rule(name) if name else None)
        if problem is not None:
            raise ValueError(render_text(problem))
        return RegionCopyPlan(source.resource_id, region, group, name)

    # --- running -----------------------------------------------------------------------------

    def start(self) -> None:
        try:
            plan = self.plan()
        except ValueError as exc:
            self.problem.setText(str(exc))
            self.problem.show()
            return
        self.problem.hide()
        self.start_button.setEnabled(False)
        for field in (self.definition, self.version, self.tenant, self.region, self.group,
                      self.name, self.target):
            field.setEnabled(False)
        self._tasks.spawn(self._run(plan))

    async def _target_session(self, tenant: str) -> Any:
        """The session for the other tenant: a second sign-in (the sandbox's token offline)."""
        from gui.azure.copy.tenants import linked_session

        if self.session.is_sandbox:
            return linked_session(self.session, tenant)
        # Imported here: only a copy into another tenant signs in a second time.
        from gui.azure.account.signin import SignInMethod, interactive_session

        second = await interactive_session(
            self.session.cloud, SignInMethod.BROWSER, tenant_id=tenant
        )
        return linked_session(self.session, tenant, second.credential, account=second.account)

    async def _run(self, plan: Any) -> None:
        target_session = None
        try:
            if self.source.kind is CopyKind.GALLERY:
                from gui.azure.copy.gallery import GalleryVersionCopy

                if plan.tenant_id:
                    self.status.setText(self.tr("Signing in to tenant {tenant}…").format(
                        tenant=plan.tenant_id))
                    target_session = await self._target_session(plan.tenant_id)
                self.job = GalleryVersionCopy(
                    self.session, target_session or self.session, plan
                )
            elif self.source.kind is CopyKind.BLOB:
                from gui.azure.copy.blob import BlobCopy
                from gui.azure.copy.nodes import blob_copy_plan

                self.job = BlobCopy(
                    self.session, await blob_copy_plan(self.session, self.source, plan)
                )
            else:
                from gui.azure.copy.region import RegionCopy

                self.job = RegionCopy(self.session, plan)
            self.steps.set_steps(self.job.steps)
            self.status.setText(self.tr("Copying…"))
            async for event in self.job.run():
                self.steps.show_event(event)
        except Exception as exc:  # a failure outside the steps: the second sign-in, no network
            from gui.azure.errors import translate

            self.status.setText(render_text(translate(exc)))
            self.status.setStyleSheet(text_style(Tone.ERROR))
            return
        finally:
            self.steps.stop()
            if target_session is not None:
                await target_session.close()
        if self.job.result:
            self.status.setText(self.tr("Copied: {target}").format(target=self.job.result))
            self.copied.emit(self.job.result)
        else:
            self.status.setText(self.tr("The copy stopped; the failed step says why."))
            self.status.setStyleSheet(text_style(Tone.ERROR))

    def done(self, result: int) -> None:
        # Closing the dialog stops following the copy; Azure goes on with one it started.
        self._tasks.cancel_all()
        super().done(result)


class CopyActions(QObject):
    """"Copy to…" in the tree's context menu for a gallery version, managed image, snapshot or
    page blob.

    The app controller registers it: ``window.add_node_actions(copy_actions.node_actions)``,
    and hands it the session when one is connected (``connected``)."""

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.session: Any = None
        self.dialogs: list[CopyDialog] = []
        self.action = QAction(self.tr("Copy to…"), window)
        self.action.setObjectName("copySelected")
        self.action.setStatusTip(self.tr(
            "Copy the selected image version into another gallery, or the image or snapshot "
            "into another region; Azure copies the data"))
        self.action.triggered.connect(self.copy_selected)

    def connected(self, session: Any) -> None:
        self.session = session

    def _source(self, nodes: list[CatalogNode]) -> CopySource | None:
        if len(nodes) != 1 or self.session is None:
            return None
        return copy_source_of(nodes[0], self.window.subscription_id)

    def node_actions(self, menu: QMenu, nodes: list[CatalogNode]) -> None:
        if self._source(nodes) is not None:
            menu.addAction(self.action)

    def copy_selected(self) -> CopyDialog | None:
        source = self._source(self.window.selected_nodes())
        if source is None:
            return None
        dialog = CopyDialog(source, self.session, self.window.known_locations, self.window)
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _result: self.dialogs.remove(dialog))
        dialog.open()
        return dialog

"""The delete confirmation: what goes (in the order it goes), what stays and why, then the
deletions as steps with their progress, in one dialog.

The plan is read from Azure when the dialog opens (``gui.azure.manage.delete``), so what it
lists is what Azure would do now: an attached disk, a definition with versions left or a gallery
with definitions left is listed under "Not deleted" with the reason and what to do first, and
nothing is deleted before the administrator presses Delete.
"""

from __future__ import annotations

from html import escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.azure.errors import AzureServiceError
from gui.azure.manage.delete import (
    Blocked,
    DeleteKind,
    DeletePlan,
    DeleteRun,
    Target,
    plan_deletion,
)
from gui.qt import icons
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet
from gui.qt.widgets.step_list import StepList


def _tree(name: str, accessible: str, headers: list[str]) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setObjectName(name)
    tree.setAccessibleName(accessible)
    tree.setColumnCount(len(headers))
    tree.setHeaderLabels(headers)
    tree.setRootIsDecorated(False)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    tree.setWordWrap(True)
    tree.header().setStretchLastSection(True)
    tree.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    tree.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return tree


def _fit_rows(tree: QTreeWidget, count: int) -> None:
    """A list as tall as its rows (up to a dozen, then it scrolls): the dialog no taller than
    what it lists."""
    rows = min(max(count, 1), 12)
    header = tree.header().sizeHint().height()
    row = tree.sizeHintForRow(0) if tree.topLevelItemCount() else tree.fontMetrics().height() + 4
    scroll = tree.horizontalScrollBar().sizeHint().height()
    tree.setMaximumHeight(header + rows * row + 2 * tree.frameWidth() + scroll + 4)


def _blocked_line(blocked: Blocked) -> str:
    """One thing that stays, as a list item: the reason names it, says why and what to do."""
    return f"<li>{escape(render_text(blocked.reason))}</li>"


class DeleteDialog(QDialog):
    """Confirms and runs the deletion of ``targets`` with the subscription's ``compute`` client.

    ``deleted`` carries the tree nodes to list again (``NodeRef``s) once deleting has ended,
    whatever part of it succeeded."""

    deleted = Signal(list)

    def __init__(self, compute: Any, targets: list[Target], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deleteDialog")
        self.compute = compute
        self.targets = targets
        self.plan: DeletePlan | None = None
        self.run: DeleteRun | None = None
        self.running = False
        self._tasks = TaskSet("DeleteDialog")
        self.setWindowTitle(self.tr("Delete from Azure"))
        self.setMinimumWidth(860)

        self.heading = QLabel(self.tr("Delete %n selected item(s)?", "", len(targets)))
        self.heading.setObjectName("deleteHeading")
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        self.status = QLabel(self.tr("Asking Azure what can be deleted…"))
        self.status.setObjectName("deleteStatus")
        self.status.setWordWrap(True)

        self.goes_label = QLabel(self.tr("Deleted, in this &order:"))
        self.goes = _tree(
            "deleteGoes",
            self.tr("What is deleted"),
            [self.tr("#"), self.tr("Kind"), self.tr("Name"), self.tr("Resource group")],
        )
        self.goes_label.setBuddy(self.goes)
        self.stays_label = QLabel(self.tr("Not deleted:"))
        self.stays_label.setStyleSheet(text_style(Tone.WARNING, self.palette()))
        # What stays, with the whole reason and what to do first: wrapped text, never a cell
        # that cuts the reason off.
        self.stays = QLabel()
        self.stays.setObjectName("deleteStays")
        self.stays.setAccessibleName(self.tr("What is not deleted, and why"))
        self.stays.setWordWrap(True)
        self.stays.setTextFormat(Qt.TextFormat.RichText)
        self.stays.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stays_label.setBuddy(self.stays)
        self.warning = QLabel()
        self.warning.setObjectName("deleteWarning")
        self.warning.setWordWrap(True)

        # A failed deletion's whole reason and what to do (the step's row has room for a line).
        self.failures = QLabel()
        self.failures.setObjectName("deleteFailures")
        self.failures.setAccessibleName(self.tr("Why deleting failed"))
        self.failures.setWordWrap(True)
        self.failures.setTextFormat(Qt.TextFormat.RichText)
        self.failures.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.steps = StepList()
        self.steps.setObjectName("deleteSteps")
        self.progress = QProgressBar()
        self.progress.setObjectName("deleteProgress")
        self.progress.setAccessibleName(self.tr("Deletion progress"))
        self.progress.setFormat(self.tr("%v of %m deleted"))

        self.buttons = QDialogButtonBox()
        self.delete_button = QPushButton(icons.icon("error"), self.tr("&Delete"))
        self.delete_button.setObjectName("deleteButton")
        self.delete_button.setEnabled(False)
        # Enter must not delete: the safe answer is the default one.
        self.delete_button.setAutoDefault(False)
        self.buttons.addButton(self.delete_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button.setDefault(True)
        self.delete_button.clicked.connect(self._start)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.status)
        layout.addWidget(self.goes_label)
        layout.addWidget(self.goes, 2)
        layout.addWidget(self.stays_label)
        layout.addWidget(self.stays)
        layout.addWidget(self.warning)
        layout.addWidget(self.steps, 2)
        layout.addWidget(self.failures)
        layout.addWidget(self.progress)
        layout.addStretch(1)  # room the parts do not need goes below them, not between them
        layout.addWidget(self.buttons)
        for widget in (
            self.goes_label,
            self.goes,
            self.stays_label,
            self.stays,
            self.steps,
            self.progress,
            self.warning,
            self.failures,
        ):
            widget.hide()

    # --- planning ---------------------------------------------------------------------------

    def open(self) -> None:
        super().open()
        self._tasks.spawn(self.make_plan())

    async def make_plan(self) -> DeletePlan | None:
        try:
            plan = await plan_deletion(self.compute, self.targets)
        except AzureServiceError as error:
            self.status.setText(
                self.tr("Could not read what can be deleted: {error}").format(
                    error=render_text(error)
                )
            )
            self.status.setStyleSheet(text_style(Tone.ERROR, self.palette()))
            return None
        self.show_plan(plan)
        return plan

    def show_plan(self, plan: DeletePlan) -> None:
        self.plan = plan
        count = len(plan.deletions)
        self.heading.setText(self.tr("Delete %n item(s)?", "", count))
        if count and plan.blocked:
            text = self.tr(
                "%n of the selected items cannot be deleted now: they stay, and the others go.",
                "",
                len(plan.blocked),
            )
        elif count:
            text = self.tr("Nothing stands in the way. Check the list before you delete.")
        else:
            text = self.tr("Nothing selected can be deleted now: see why below.")
        self.status.setText(text)
        self.goes.clear()
        for number, target in enumerate(plan.deletions, 1):
            item = QTreeWidgetItem(
                [str(number), render_text(target.kind_label), target.path, target.resource_group]
            )
            item.setToolTip(2, render_text(target.step.change))
            self.goes.addTopLevelItem(item)
        _fit_rows(self.goes, count)
        self.stays.setText(
            "<ul style='margin-left:-20px'>"
            + "".join(_blocked_line(blocked) for blocked in plan.blocked)
            + "</ul>"
        )
        kinds = {target.kind for target in plan.deletions}
        warning = [self.tr("Deleting cannot be undone: Azure keeps no copy.")]
        if kinds & {DeleteKind.IMAGE, DeleteKind.VERSION, DeleteKind.DEFINITION}:
            warning.append(
                self.tr(
                    "VMs already made from these images keep running, but no new VM can be "
                    "made from them."
                )
            )
        if kinds & {DeleteKind.DISK, DeleteKind.SNAPSHOT}:
            warning.append(self.tr("The data on these disks and snapshots is gone with them."))
        self.warning.setText(" ".join(warning))
        self.goes_label.setVisible(bool(count))
        self.goes.setVisible(bool(count))
        self.stays_label.setVisible(bool(plan.blocked))
        self.stays.setVisible(bool(plan.blocked))
        self.warning.setVisible(bool(count))
        self.delete_button.setEnabled(bool(count))
        self.delete_button.setText(self.tr("&Delete %n item(s)", "", count))
        self._fit()

    def _fit(self) -> None:
        """As tall as what it shows (no gaps between the parts), as wide as it is."""
        layout = self.layout()
        if layout is None:
            return
        layout.activate()
        height = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else -1
        self.resize(self.width(), height if height > 0 else self.sizeHint().height())

    # --- running ----------------------------------------------------------------------------

    def _start(self) -> None:
        if self.plan is None or not self.plan.deletions or self.running:
            return
        self._tasks.spawn(self.delete())

    async def delete(self) -> DeleteRun | None:
        """Runs the plan shown; the step list and the progress bar follow it."""
        plan = self.plan
        if plan is None or self.running:
            return None
        self.running = True
        self.delete_button.setEnabled(False)
        self.close_button.setEnabled(False)  # Azure would go on deleting: stay and watch
        self.goes_label.hide()
        self.goes.hide()
        self.warning.hide()
        self.heading.setText(self.tr("Deleting %n item(s)", "", len(plan.deletions)))
        self.steps.show()
        self.steps.set_steps(plan.steps)
        _fit_rows(self.steps, len(plan.deletions))
        self.progress.setRange(0, len(plan.deletions))
        self.progress.setValue(0)
        self.progress.show()
        self.status.setText(self.tr("Deleting…"))
        self._fit()
        run = self.run = DeleteRun(self.compute, plan)
        try:
            async for event in run.events():
                self.steps.show_event(event)
                self.progress.setValue(len(run.deleted))
        finally:
            self.running = False
            self.steps.stop()
            self.progress.setValue(len(run.deleted))
            self.close_button.setEnabled(True)
            self.buttons.removeButton(self.close_button)
            self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
            self.close_button.setDefault(True)
            self.delete_button.hide()
            self._finished(run)
            self.deleted.emit(plan.affected_parents(run.deleted))
        return run

    def _finished(self, run: DeleteRun) -> None:
        self.heading.setText(self.tr("Deleting has ended"))
        if run.failed:
            self.status.setText(
                self.tr(
                    "%n deletion(s) failed: why, and what to do, is below. What was deleted is "
                    "gone; the rest is as it was.",
                    "",
                    len(run.failed),
                )
            )
            self.status.setStyleSheet(text_style(Tone.ERROR, self.palette()))
            self.failures.setText(
                "".join(
                    "<p><b>{title}</b><br>{why}</p>".format(
                        title=escape(render_text(target.step.title)),
                        why=escape(render_text(error)).replace("\n", "<br>"),
                    )
                    for target, error in run.failed
                )
            )
            self.failures.show()
            self._fit()
        else:
            self.status.setText(self.tr("%n item(s) deleted.", "", len(run.deleted)))
            self.status.setStyleSheet(text_style(Tone.OK, self.palette()))

    def reject(self) -> None:
        if self.running:
            return  # Escape while Azure deletes: the dialog stays until the steps have ended
        self._tasks.cancel_all()
        super().reject()

    def state(self) -> dict[str, Any]:
        """What the dialog shows, for tests and accessibility checks."""

        def rows(tree: QTreeWidget) -> list[list[str]]:
            return [
                [item.text(c) for c in range(tree.columnCount())]
                for i in range(tree.topLevelItemCount())
                if (item := tree.topLevelItem(i)) is not None
            ]

        stays = (
            []
            if self.plan is None
            else [
                [render_text(b.target.kind_label), b.target.path, render_text(b.reason)]
                for b in self.plan.blocked
            ]
        )
        return {
            "heading": self.heading.text(),
            "status": self.status.text(),
            "goes": rows(self.goes),
            "stays": stays if self.stays.isVisible() else [],
            "steps": self.steps.states(),
            "progress": (self.progress.value(), self.progress.maximum()),
        }

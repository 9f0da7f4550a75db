"""The version editor: end of life, exclude from latest, target regions with replica counts and
storage types, the live replication status per region with Retry on a failed one, and Azure's
safeguard explained before a region is dropped.

The version is read when the dialog opens and its status is read again every few seconds while
the dialog is open (a task on the event loop, one read at a time: the window never waits for
it). Changes are checked before anything is sent (``gui.azure.manage.versions.check_change``) and
run as steps in the dialog's step list; the tree lists the definition again afterwards.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from html import escape
from typing import Any

from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QDate,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import NodeRef, SourceKind
from gui.azure.errors import AzureServiceError
from gui.azure.manage.versions import (
    FAILED,
    MAX_REPLICAS,
    STORAGE_TYPES,
    ChangeRefused,
    RegionStatus,
    TargetRegion,
    VersionChange,
    VersionProfile,
    VersionRef,
    VersionUpdate,
    dropped_regions,
    end_of_life_at,
    plan_update,
    read_version,
    retry_region,
)
from gui.qt.i18n import format_datetime, format_number, render_text
from gui.qt.style import Tone, brush, text_style
from gui.qt.tasks import TaskSet
from gui.qt.widgets.region_table import MAX_REPLICAS as TABLE_MAX_REPLICAS
from gui.qt.widgets.region_table import RegionReplicaTable
from gui.qt.widgets.step_list import StepList

# How often the status is read while the dialog is open: replication takes minutes per region,
# and each read counts against ARM's read limit (12,000 an hour per subscription).
POLL_MS = 3000

# The first date of the picker means "no end-of-life date" (shown as the special text).
_NO_DATE = QDate(2000, 1, 1)

_STATES = {
    "Replicating": QT_TRANSLATE_NOOP("ReplicationModel", "Replicating"),
    "Completed": QT_TRANSLATE_NOOP("ReplicationModel", "Completed"),
    "Failed": QT_TRANSLATE_NOOP("ReplicationModel", "Failed"),
    "Unknown": QT_TRANSLATE_NOOP("ReplicationModel", "Unknown"),
}

assert TABLE_MAX_REPLICAS == MAX_REPLICAS  # one bound in the table and the check


class ReplicationModel(QAbstractTableModel):
    """The replication status per region: region, state, progress, details."""

    STATE_ROLE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: list[RegionStatus] = []

    def set_status(self, status: tuple[RegionStatus, ...]) -> None:
        if len(status) == len(self._rows) and [s.key for s in status] == [
            s.key for s in self._rows
        ]:
            self._rows = list(status)
            if status:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(status) - 1, self.columnCount() - 1)
                )
            return
        self.beginResetModel()
        self._rows = list(status)
        self.endResetModel()

    def status_at(self, row: int) -> RegionStatus | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else 4

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        titles = (self.tr("Region"), self.tr("State"), self.tr("Progress"), self.tr("Details"))
        return titles[section] if 0 <= section < len(titles) else None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        status = self._rows[index.row()]
        column = index.column()
        if role == self.STATE_ROLE:
            return status.state
        if role == Qt.ItemDataRole.ToolTipRole and status.details:
            return status.details
        if role == Qt.ItemDataRole.ForegroundRole and column == 1 and status.state == FAILED:
            return brush(Tone.ERROR)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if column == 0:
            return status.region
        if column == 1:
            state = _STATES.get(status.state)
            # The context is written out: lupdate records the constants under it.
            return (
                QCoreApplication.translate("ReplicationModel", str(state))
                if state
                else status.state
            )
        if column == 2:
            if status.progress is None:
                return ""
            return self.tr("{percent} %").format(percent=format_number(status.progress))
        if column == 3:
            return status.details
        return None


def _qdate(value: datetime | None) -> QDate:
    if value is None:
        return _NO_DATE
    day = value.astimezone(UTC).date()
    return QDate(day.year, day.month, day.day)


class VersionEditor(QDialog):
    """Edits the version at ``ref`` with the subscription's ``compute`` client. ``locations``:
    (name, display name) of the regions to offer; ``zonal``: the regions with availability zones
    (None when unknown). ``changed`` carries the tree nodes to list again after a change."""

    changed = Signal(list)

    def __init__(
        self,
        compute: Any,
        ref: VersionRef,
        locations: list[tuple[str, str]],
        *,
        zonal: frozenset[str] | None = None,
        poll_ms: int = POLL_MS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("versionEditor")
        self.compute = compute
        self.ref = ref
        self.locations = locations
        self.zonal = zonal
        self.profile: VersionProfile | None = None
        self.running = False
        self._polling = False
        self._tasks = TaskSet("VersionEditor")
        self.setWindowTitle(self.tr("Edit image version"))
        self.setMinimumWidth(820)

        self.heading = QLabel(self.tr("Image version {path}").format(path=ref.path))
        self.heading.setObjectName("versionHeading")
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        self.status_line = QLabel(self.tr("Reading the version from Azure…"))
        self.status_line.setObjectName("versionStatusLine")
        self.status_line.setWordWrap(True)

        self.end_of_life = QDateEdit()
        self.end_of_life.setObjectName("endOfLife")
        self.end_of_life.setCalendarPopup(True)
        self.end_of_life.setMinimumDate(_NO_DATE)
        self.end_of_life.setSpecialValueText(self.tr("None"))
        self.end_of_life.setDate(_NO_DATE)
        self.end_of_life.setAccessibleName(self.tr("End-of-life date"))
        self.end_of_life.setMinimumWidth(160)
        self.end_of_life.setToolTip(self.tr(
            "After this date Azure warns whoever makes a VM from the version; VMs keep running."))
        self.no_date_button = QPushButton(self.tr("&No date"))
        self.no_date_button.setObjectName("noEndOfLife")
        self.no_date_button.clicked.connect(lambda: self.end_of_life.setDate(_NO_DATE))
        end_row = QHBoxLayout()
        end_row.addWidget(self.end_of_life)
        end_row.addWidget(self.no_date_button)
        end_row.addStretch(1)
        end_label = QLabel(self.tr("End of &life:"))
        end_label.setBuddy(self.end_of_life)

        self.exclude = QCheckBox(self.tr("E&xclude from latest"))
        self.exclude.setObjectName("excludeFromLatest")
        self.exclude.setAccessibleName(self.tr("Exclude from latest"))
        self.exclude.setToolTip(self.tr(
            "VMs made from the definition's latest version will not use this version."))

        self.regions = RegionReplicaTable(
            self.tr("The version was made here: Azure keeps it in this region."),
            storage_types=STORAGE_TYPES,
        )
        self.regions.setObjectName("versionRegions")
        self.regions.table.setMaximumHeight(200)
        regions_label = QLabel(self.tr("&Target regions:"))
        regions_label.setBuddy(self.regions.table)
        self.zones_note = QLabel(self.tr(
            "Standard_ZRS keeps copies in the region's availability zones, so it is offered "
            "only where the region has zones. A region's storage type is chosen when it is "
            "added; Azure does not change it afterwards."))
        self.zones_note.setObjectName("zonesNote")
        self.zones_note.setWordWrap(True)

        # The safeguard: explained as soon as a region the version is in is removed.
        self.safeguard_text = QLabel()
        self.safeguard_text.setObjectName("safeguardText")
        self.safeguard_text.setWordWrap(True)
        self.safeguard_text.setTextFormat(Qt.TextFormat.RichText)
        self.allow_deletion = QCheckBox(self.tr(
            "Allo&w removing this version from replicated regions "
            "(allowDeletionOfReplicatedLocations)"))
        self.allow_deletion.setObjectName("allowDeletion")
        self.allow_deletion.setAccessibleName(self.tr(
            "Allow removing this version from replicated regions"))
        self.allow_deletion.toggled.connect(self._explain)

        status_label = QLabel(self.tr("Replication &status:"))
        self.replication = ReplicationModel(self)
        self.status_view = QTableView()
        self.status_view.setObjectName("replicationStatus")
        self.status_view.setModel(self.replication)
        self.status_view.setAccessibleName(self.tr("Replication status per region"))
        self.status_view.setTabKeyNavigation(False)
        self.status_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.status_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.status_view.verticalHeader().hide()
        header = self.status_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.status_view.setWordWrap(True)
        self.status_view.setMinimumHeight(120)
        self.status_view.setMaximumHeight(220)
        status_label.setBuddy(self.status_view)
        self.retry_button = QPushButton(self.tr("&Retry region"))
        self.retry_button.setObjectName("retryRegion")
        self.retry_button.setToolTip(self.tr(
            "Sends the target regions to Azure again: it replicates the failed region again "
            "and leaves the completed ones as they are."))
        self.retry_button.setEnabled(False)
        self.retry_button.clicked.connect(self._retry_selected)
        self.status_view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.aggregated = QLabel()
        self.aggregated.setObjectName("aggregatedState")
        status_row = QHBoxLayout()
        status_row.addWidget(self.aggregated, 1)
        status_row.addWidget(self.retry_button)

        self.problems = QLabel()
        self.problems.setObjectName("versionProblems")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.problems.setStyleSheet(text_style(Tone.ERROR, self.palette()))
        self.steps = StepList()
        self.steps.setObjectName("versionSteps")
        self.steps.setMaximumHeight(110)  # two steps at most: no empty space below them

        self.buttons = QDialogButtonBox()
        self.apply_button = QPushButton(self.tr("A&pply"))
        self.apply_button.setObjectName("applyVersion")
        self.apply_button.setEnabled(False)
        self.apply_button.setAutoDefault(False)
        self.buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.ApplyRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.apply_button.clicked.connect(self._start_apply)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(end_label, end_row)
        form.addRow("", self.exclude)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.status_line)
        layout.addLayout(form)
        layout.addWidget(regions_label)
        layout.addWidget(self.regions)
        layout.addWidget(self.zones_note)
        layout.addWidget(self.safeguard_text)
        layout.addWidget(self.allow_deletion)
        layout.addWidget(status_label)
        layout.addWidget(self.status_view)
        layout.addLayout(status_row)
        layout.addWidget(self.problems)
        layout.addWidget(self.steps)
        layout.addWidget(self.buttons)
        for widget in (self.safeguard_text, self.allow_deletion, self.problems, self.steps):
            widget.hide()
        self.regions.changed.connect(self._explain)

        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self._poll_soon)

    # --- reading ----------------------------------------------------------------------------

    def open(self) -> None:
        super().open()
        self._tasks.spawn(self.load())

    async def load(self) -> VersionProfile | None:
        try:
            profile = await read_version(self.compute, self.ref)
        except AzureServiceError as error:
            self.status_line.setText(
                self.tr("Could not read the version: {error}").format(error=render_text(error))
            )
            self.status_line.setStyleSheet(text_style(Tone.ERROR, self.palette()))
            return None
        self.show_profile(profile)
        self.timer.start()
        return profile

    def show_profile(self, profile: VersionProfile) -> None:
        """Fills the editor with ``profile`` (what Azure holds now)."""
        self.profile = profile
        self.end_of_life.setDate(_qdate(profile.end_of_life))
        self.exclude.setChecked(profile.exclude_from_latest)
        self.regions.set_locations(self.locations)
        self.regions.table.setRowCount(0)
        source = profile.source_region
        ordered = sorted(profile.regions, key=lambda r: r.key != source)
        for region in ordered:
            self.regions.add_row(
                self._short(region.name),
                region.replicas,
                fixed=region.key == source,
                storage=region.storage,
                storage_fixed=True,
            )
        self.allow_deletion.setChecked(False)
        self.show_status(profile)
        self.apply_button.setEnabled(not self.running)
        self._explain()

    def show_status(self, profile: VersionProfile) -> None:
        self.replication.set_status(profile.status)
        # A failed region's details wrap: its row as tall as they are, none cut off.
        self.status_view.resizeRowsToContents()
        failed = profile.failed_regions
        if failed:
            text = self.tr("Replication failed in {regions}: select the region and Retry.").format(
                regions=", ".join(failed)
            )
            self.aggregated.setStyleSheet(text_style(Tone.ERROR, self.palette()))
        elif profile.replicating:
            text = self.tr("Azure is replicating the version…")
            self.aggregated.setStyleSheet("")
        else:
            text = self.tr("Replicated to every target region.")
            self.aggregated.setStyleSheet(text_style(Tone.OK, self.palette()))
        self.aggregated.setText(text)
        eol = (
            format_datetime(profile.end_of_life) if profile.end_of_life else self.tr("none")
        )
        self.status_line.setText(
            self.tr("Made in {location}; end of life: {eol}; provisioning: {state}.").format(
                location=self._display(profile.location),
                eol=eol,
                state=profile.provisioning or "?",
            )
        )
        self._selection_changed()

    def _short(self, region: str) -> str:
        """The offered region's name for Azure's display name (the combo lists short names)."""
        key = region.replace(" ", "").casefold()
        return next(
            (n for n, d in self.locations if key in (n.casefold(), d.replace(" ", "").casefold())),
            region,
        )

    def _display(self, region: str) -> str:
        key = region.replace(" ", "").casefold()
        return next((d for n, d in self.locations if n.casefold() == key), region)

    def _poll_soon(self) -> None:
        if not self._polling:
            self._tasks.spawn(self.poll())

    async def poll(self) -> VersionProfile | None:
        """Reads the status again (one read at a time); the fields being edited stay as
        they are."""
        if self._polling:
            return None
        self._polling = True
        try:
            profile = await read_version(self.compute, self.ref)
        except AzureServiceError as error:
            self.aggregated.setText(
                self.tr("Could not read the status: {error}").format(error=render_text(error))
            )
            return None
        finally:
            self._polling = False
        if self.profile is not None:
            # What is being edited is kept; what Azure holds is the profile's.
            self.profile = profile
        self.show_status(profile)
        return profile

    # --- editing ----------------------------------------------------------------------------

    def change(self) -> VersionChange:
        """What the editor asks for now."""
        chosen = self.end_of_life.date()
        end = (
            None
            if chosen == _NO_DATE
            else end_of_life_at(date(chosen.year(), chosen.month(), chosen.day()))
        )
        regions = tuple(
            TargetRegion(name, replicas, self.regions.storage_of(row))
            for row, (name, replicas) in enumerate(self.regions.rows())
        )
        return VersionChange(
            end, self.exclude.isChecked(), regions, self.allow_deletion.isChecked()
        )

    def _explain(self) -> None:
        """The safeguard explained whenever a region the version is in is no longer listed."""
        profile = self.profile
        if profile is None:
            return
        dropped = dropped_regions(profile, self.change())
        if not dropped:
            self.safeguard_text.hide()
            self.allow_deletion.hide()
            self.allow_deletion.setChecked(False)
            return
        names = escape(", ".join(dropped))
        if profile.allow_region_deletion:
            text = self.tr(
                "Removing <b>{regions}</b>: this version's safeguard allows removing it from "
                "regions it is replicated to. Azure deletes its replicas there when you apply; "
                "VMs in that region can no longer be made from it."
            ).format(regions=names)
            self.allow_deletion.hide()
        else:
            text = self.tr(
                "Removing <b>{regions}</b>: Azure protects a version from being removed from "
                "regions it is replicated to. It refuses unless the version's safeguard, "
                "<i>allowDeletionOfReplicatedLocations</i>, is on. Turning it on is a change of "
                "its own, made first when you apply: from then on, anyone who can update this "
                "version can remove it from its regions. Removing a region deletes the replicas "
                "there; VMs in that region can no longer be made from it."
            ).format(regions=names)
            self.allow_deletion.show()
        self.safeguard_text.setText(text)
        self.safeguard_text.setStyleSheet(text_style(Tone.WARNING, self.palette()))
        self.safeguard_text.show()

    def _start_apply(self) -> None:
        if self.profile is not None and not self.running:
            self._tasks.spawn(self.apply())

    async def apply(self) -> VersionUpdate | None:
        """Checks and sends the change; the step list follows it; the version is read again."""
        profile = self.profile
        if profile is None or self.running:
            return None
        try:
            plan = plan_update(profile, self.change(), self.zonal)
        except ChangeRefused as refused:
            self.problems.setText(
                "<ul style='margin-left:-20px'>"
                + "".join(f"<li>{escape(render_text(p))}</li>" for p in refused.problems)
                + "</ul>"
            )
            self.problems.show()
            return None
        self.problems.hide()
        self.running = True
        self.apply_button.setEnabled(False)
        self.steps.show()
        self.steps.set_steps(plan.steps)
        run = VersionUpdate(self.compute, plan)
        # The timer reads the status along the way: the new regions are seen replicating.
        self.timer.start()
        try:
            async for event in run.events():
                self.steps.show_event(event)
        except AzureServiceError as error:
            self.problems.setText(escape(render_text(error)).replace("\n", "<br>"))
            self.problems.show()
        finally:
            self.running = False
            self.steps.stop()
            fresh = await self.load()
            self.apply_button.setEnabled(fresh is not None)
            self.changed.emit(self.affected())
        return run

    def affected(self) -> list[NodeRef]:
        """The nodes to list again: the definition (its versions' rows) and the version."""
        ref = self.ref
        definition = NodeRef(SourceKind.GALLERY, (ref.resource_group, ref.gallery, ref.definition))
        return [definition, definition.child(ref.version)]

    # --- retry ------------------------------------------------------------------------------

    def selected_status(self) -> RegionStatus | None:
        rows = self.status_view.selectionModel().selectedRows()
        return self.replication.status_at(rows[0].row()) if rows else None

    def _selection_changed(self, *_: object) -> None:
        status = self.selected_status()
        failed = status is not None and status.state == FAILED
        self.retry_button.setEnabled(failed and not self.running)

    def _retry_selected(self) -> None:
        status = self.selected_status()
        if status is not None and status.state == FAILED:
            self._tasks.spawn(self.retry(status.region))

    async def retry(self, region: str) -> bool:
        """Asks Azure to replicate ``region`` again; the status shows how it goes."""
        profile = self.profile
        if profile is None:
            return False
        self.retry_button.setEnabled(False)
        try:
            await retry_region(self.compute, profile, region)
        except AzureServiceError as error:
            self.aggregated.setText(
                self.tr("Retry failed: {error}").format(error=render_text(error))
            )
            self.aggregated.setStyleSheet(text_style(Tone.ERROR, self.palette()))
            return False
        self.aggregated.setText(
            self.tr("Azure is replicating {region} again…").format(region=region)
        )
        self.aggregated.setStyleSheet("")
        self.timer.start()
        return True

    # --- closing ----------------------------------------------------------------------------

    def reject(self) -> None:
        if self.running:
            return  # Azure goes on updating: stay and watch the steps end
        self.timer.stop()
        self._tasks.cancel_all()
        super().reject()

    def state(self) -> dict[str, Any]:
        """What the editor shows, for tests and accessibility checks."""
        return {
            "regions": [
                (name, replicas, self.regions.storage_of(row))
                for row, (name, replicas) in enumerate(self.regions.rows())
            ],
            "status": [
                (s.region, s.state, s.progress)
                for row in range(self.replication.rowCount())
                if (s := self.replication.status_at(row)) is not None
            ],
            "safeguard": self.safeguard_text.text() if self.safeguard_text.isVisible() else "",
            "problems": self.problems.text() if self.problems.isVisible() else "",
            "steps": self.steps.states(),
            "aggregated": self.aggregated.text(),
        }

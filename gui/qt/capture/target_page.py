"""Page 3 of the capture wizard: where the image goes, with every check shown on the page."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QDate, QLocale, QTimer
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from gui.azure import naming
from gui.azure.account.scope import Location, list_locations
from gui.azure.arm import generation_short
from gui.azure.capture.plan import (
    CapturePlan,
    CaptureTarget,
    DefinitionInfo,
    Field,
    GalleryInfo,
    Generalization,
    RegionReplicas,
    TargetFacts,
    TargetKind,
    validate,
)
from gui.azure.capture.targets import (
    list_definitions,
    list_galleries,
    list_resource_groups,
    list_versions,
    load_facts,
)
from gui.azure.errors import AzureServiceError
from gui.qt.capture.common import (
    CaptureHost,
    error_text,
    named,
    problem_label,
    show_problems,
)
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.widgets.region_table import RegionReplicaTable

# QT_TRANSLATE_NOOP is typed to return object: the texts are str at run time.
NEW_GALLERY = str(QT_TRANSLATE_NOOP("TargetPage", "+ New gallery…"))
NEW_DEFINITION = str(QT_TRANSLATE_NOOP("TargetPage", "+ New image definition…"))
_FIELD_LABELS = {
    Field.VM: QT_TRANSLATE_NOOP("TargetPage", "VM"),
    Field.PREPARE: QT_TRANSLATE_NOOP("TargetPage", "Preparation"),
    Field.TARGET: QT_TRANSLATE_NOOP("TargetPage", "Target"),
    Field.RESOURCE_GROUP: QT_TRANSLATE_NOOP("TargetPage", "Resource group"),
    Field.IMAGE_NAME: QT_TRANSLATE_NOOP("TargetPage", "Image name"),
    Field.GALLERY: QT_TRANSLATE_NOOP("TargetPage", "Gallery"),
    Field.DEFINITION: QT_TRANSLATE_NOOP("TargetPage", "Definition"),
    Field.IDENTIFIER: QT_TRANSLATE_NOOP("TargetPage", "Publisher/offer/SKU"),
    Field.VERSION: QT_TRANSLATE_NOOP("TargetPage", "Version"),
    Field.REGIONS: QT_TRANSLATE_NOOP("TargetPage", "Regions"),
    Field.END_OF_LIFE: QT_TRANSLATE_NOOP("TargetPage", "End of life"),
}


def _tr(text: object) -> str:
    """A text marked with QT_TRANSLATE_NOOP("TargetPage", …), in the window's language."""
    return QCoreApplication.translate("TargetPage", str(text))


def definition_summary(d: DefinitionInfo) -> str:
    gen = generation_short(d.hyper_v_generation)
    return f"{d.name} — {d.os_type} · {d.os_state} · {gen} · {d.architecture} · {d.security_type}"


class TargetPage(QWizardPage):
    """Page 3: where the image goes. Its part of the plan: a ``CaptureTarget``; it validates the
    whole plan (as the wizard composes it) against what exists in Azure."""

    def __init__(self, host: CaptureHost) -> None:
        super().__init__()
        self._host = host
        self.setTitle(self.tr("Choose the target"))
        self._facts: TargetFacts | None = None
        self._facts_key: tuple[Any, ...] | None = None
        self._loading_key: tuple[Any, ...] | None = None
        self._load_error = ""
        self._locations: list[Location] = []
        self._galleries: list[GalleryInfo] = []
        self._definitions: dict[tuple[str, str], list[DefinitionInfo]] = {}
        self._filling = False
        self._valid = False
        self._labels: dict[QWidget, QLabel] = {}
        self._suggested = ""
        self._prepared_for = ""
        self._lists_loading = False
        self._refetch = QTimer(self)
        self._refetch.setSingleShot(True)
        self._refetch.setInterval(250)
        self._refetch.timeout.connect(self._fetch_facts)

        self.managed = named(QRadioButton(self.tr("&Managed image")), "targetManaged")
        self.gallery_target = named(
            QRadioButton(self.tr("&Gallery image version (Azure Compute Gallery)")),
            "targetGallery",
        )
        self.kind = QButtonGroup(self)
        self.kind.addButton(self.managed, 0)
        self.kind.addButton(self.gallery_target, 1)
        self.gallery_target.setChecked(True)
        kind_row = QHBoxLayout()
        kind_row.addWidget(self.managed)
        kind_row.addWidget(self.gallery_target)
        kind_row.addStretch(1)

        # managed image
        self.image_group = named(QComboBox(), "imageResourceGroup")
        self.image_name = named(QLineEdit(), "imageName")
        managed_form = QFormLayout()
        self._form_row(managed_form, self.tr("&Resource group:"), self.image_group)
        self._form_row(managed_form, self.tr("&Image name:"), self.image_name)
        self.managed_note = QLabel(
            self.tr(
                "A managed image lives in one region (the VM's) and holds the OS disk and every "
                "data disk. It does not support TrustedLaunch, specialized or Arm64 sources."
            )
        )
        self.managed_note.setWordWrap(True)
        self.managed_note.setStyleSheet(text_style(Tone.MUTED))
        managed_box = QWidget()
        managed_layout = QVBoxLayout(managed_box)
        managed_layout.setContentsMargins(0, 0, 0, 0)
        managed_layout.addLayout(managed_form)
        managed_layout.addWidget(self.managed_note)
        managed_layout.addStretch(1)

        # gallery version
        self.gallery = named(QComboBox(), "gallery")
        self.new_gallery_name = named(QLineEdit(), "newGalleryName")
        self.new_gallery_name.setPlaceholderText(self.tr("name of the new gallery"))
        self.gallery_group = named(QComboBox(), "galleryResourceGroup")
        self.definition = named(QComboBox(), "definition")
        self.new_definition_name = named(QLineEdit(), "newDefinitionName")
        self.new_definition_name.setPlaceholderText(self.tr("name of the new image definition"))
        self.publisher = named(QLineEdit(), "publisher")
        self.offer = named(QLineEdit(), "offer")
        self.sku = named(QLineEdit(), "sku")
        identifier = QHBoxLayout()
        for edit, hint, name in (
            (self.publisher, self.tr("publisher (your choice)"), self.tr("Definition publisher")),
            (self.offer, self.tr("offer (your choice)"), self.tr("Definition offer")),
            (self.sku, self.tr("SKU (your choice)"), self.tr("Definition SKU")),
        ):
            edit.setPlaceholderText(hint)
            edit.setAccessibleName(name)
            identifier.addWidget(edit)
        self.identifier_row = QWidget()
        self.identifier_row.setLayout(identifier)
        identifier.setContentsMargins(0, 0, 0, 0)
        self.definition_facts = named(QLabel(), "definitionFacts")
        self.definition_facts.setWordWrap(True)
        self.definition_facts.setStyleSheet(text_style(Tone.MUTED))
        self.version = named(QLineEdit(), "version")
        self.version.setPlaceholderText(self.tr("major.minor.patch, e.g. 1.0.0"))
        self.region_table = RegionReplicaTable(
            self.tr("The VM's region: the version is always stored there.")
        )
        self.regions = self.region_table.table
        self.regions.setAccessibleName(self.tr("Target regions and replica counts"))
        # Tab leaves the table (its region and replica boxes still take focus one by one)
        self.regions.setTabKeyNavigation(False)
        self.region_table.changed.connect(self._changed)
        self.exclude = named(
            QCheckBox(self.tr("E&xclude from latest (VMs asking for 'latest' keep the previous)")),
            "excludeFromLatest",
        )
        self.eol_enabled = named(QCheckBox(self.tr("&End of life:")), "endOfLifeEnabled")
        self.eol = named(QDateEdit(), "endOfLife")
        self.eol.setAccessibleName(self.tr("End-of-life date"))
        self.eol.setCalendarPopup(True)
        # the date part of the app's one date-time format (gui.qt.i18n.format_datetime)
        self.eol.setDisplayFormat(QLocale().dateFormat(QLocale.FormatType.ShortFormat))
        self.eol.setDate(QDate.currentDate().addYears(1))
        self.eol.setEnabled(False)
        self.eol_enabled.toggled.connect(self.eol.setEnabled)
        eol_row = QHBoxLayout()
        eol_row.addWidget(self.eol_enabled)
        eol_row.addWidget(self.eol)
        eol_row.addStretch(1)

        gallery_form = self.gallery_form = QFormLayout()
        self._form_row(gallery_form, self.tr("Ga&llery:"), self.gallery)
        self._form_row(gallery_form, self.tr("New galler&y name:"), self.new_gallery_name)
        self._form_row(gallery_form, self.tr("Its resource g&roup:"), self.gallery_group)
        self._form_row(gallery_form, self.tr("&Definition:"), self.definition)
        self._form_row(gallery_form, self.tr("Ne&w definition name:"), self.new_definition_name)
        self._form_row(gallery_form, self.tr("&Publisher/offer/SKU:"), self.identifier_row)
        self._labels[self.identifier_row].setBuddy(self.publisher)
        gallery_form.addRow("", self.definition_facts)
        self._form_row(gallery_form, self.tr("&Version:"), self.version)
        gallery_box = QWidget()
        gallery_layout = QVBoxLayout(gallery_box)
        gallery_layout.setContentsMargins(0, 0, 0, 0)
        gallery_layout.addLayout(gallery_form)
        regions_label = QLabel(
            self.tr("&Target regions and replica counts (the VM's region is always one):")
        )
        regions_label.setBuddy(self.regions)
        gallery_layout.addWidget(regions_label)
        gallery_layout.addWidget(self.region_table)
        gallery_layout.addWidget(self.exclude)
        gallery_layout.addLayout(eol_row)
        gallery_layout.addStretch(1)

        self.stack = QStackedWidget()
        self.stack.addWidget(managed_box)
        self.stack.addWidget(gallery_box)
        self.delete_vm = named(
            QCheckBox(self.tr("Delete the VM a&fter the capture (its disks are kept)")),
            "deleteVm",
        )
        self.status = named(QLabel(), "targetStatus")
        self.status.setStyleSheet(text_style(Tone.MUTED))
        self.problems = problem_label("targetProblems")

        layout = QVBoxLayout(self)
        layout.addLayout(kind_row)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.delete_vm)
        layout.addWidget(self.status)
        layout.addWidget(self.problems)

        self.stack.setCurrentIndex(1)  # the gallery is checked above
        for button in (self.managed, self.gallery_target):
            button.toggled.connect(self._on_kind)
        for combo in (self.image_group, self.gallery_group):
            combo.currentIndexChanged.connect(self._changed)
        self.gallery.currentIndexChanged.connect(self._on_gallery)
        self.definition.currentIndexChanged.connect(self._on_definition)
        for edit in (
            self.image_name,
            self.new_gallery_name,
            self.new_definition_name,
            self.publisher,
            self.offer,
            self.sku,
            self.version,
        ):
            edit.textChanged.connect(self._changed)
        self.exclude.toggled.connect(self._changed)
        self.eol_enabled.toggled.connect(self._changed)
        self.eol.dateChanged.connect(self._changed)
        self.delete_vm.toggled.connect(self._changed)

    def _form_row(self, form: QFormLayout, text: str, widget: QWidget) -> None:
        """A form row whose label is the field's buddy and, without & and colon, its
        accessible name."""
        label = QLabel(text)
        label.setBuddy(widget)
        if not widget.accessibleName():
            widget.setAccessibleName(text.replace("&", "").rstrip(": "))
        self._labels[widget] = label
        form.addRow(label, widget)

    # --- loading ------------------------------------------------------------------------------

    def initializePage(self) -> None:
        vm = self._host.chosen_vm()
        assert vm is not None
        self.setSubTitle(
            self.tr(
                "Capture {name} ({location}) into a managed image or a new version in a "
                "Compute Gallery. Every check Azure would make is done here, before any change."
            ).format(name=vm.name, location=vm.location)
        )
        if self._prepared_for != vm.id:
            # a first visit, or another VM picked on page 1: start from the VM's defaults
            self._prepared_for = vm.id
            stamp = date.today().strftime("%Y%m%d")
            self.image_name.setText(f"img-{vm.name}-{stamp}"[:80])
            base = vm.name.removeprefix("vm-") or vm.name
            self.new_definition_name.setText(base)
            self.offer.setText(base)
            self.sku.setText(f"{vm.os_type.lower()}-{vm.generation_label.lower()}")
            # the region the user browses is where they will likely use the image
            self.region_table.reset(vm.location, [self._host.location])
            self._facts = self._facts_key = None
            if self._galleries or self._locations:
                self._filling = True
                self.image_group.setCurrentText(vm.resource_group)
                self.gallery_group.setCurrentText(vm.resource_group)
                self._select_gallery_near(vm.location)
                self._filling = False
                self._on_gallery()
        if not self._galleries and not self._locations:
            if not self._lists_loading:
                self._lists_loading = True
                self._host.spawn(self._load_lists())
        else:
            self._changed()

    async def _load_lists(self) -> None:
        host = self._host
        vm = host.chosen_vm()
        assert vm is not None
        self.status.setText(self.tr("Loading resource groups, galleries and regions…"))
        try:
            groups = await list_resource_groups(host.session.resources(host.subscription_id))
            self._galleries = await list_galleries(host.compute)
            self._locations = await list_locations(host.session, host.subscription_id)
        except AzureServiceError as error:
            self._load_error = error_text(error)
            self.status.setText("")
            show_problems(self.problems, [self._load_error])
            return
        finally:
            self._lists_loading = False
        self._filling = True
        for combo in (self.image_group, self.gallery_group):
            combo.clear()
            combo.addItems(groups)
            combo.setCurrentText(vm.resource_group)
        self.gallery.clear()
        for g in self._galleries:
            self.gallery.addItem(f"{g.name}  ({g.resource_group}, {g.location})", g)
        self.gallery.addItem(_tr(NEW_GALLERY), None)
        self._select_gallery_near(vm.location)
        self.region_table.set_locations((loc.name, loc.display_name) for loc in self._locations)
        self._filling = False
        self._on_gallery()

    def _select_gallery_near(self, location: str) -> None:
        """Preselects a gallery in the VM's region (a version is made there), else "New…"."""
        same_region = next(
            (i for i, g in enumerate(self._galleries) if g.location.lower() == location.lower()),
            len(self._galleries),
        )
        self.gallery.setCurrentIndex(same_region)

    def _specialized(self) -> bool:
        return self._host.preparation().generalization is Generalization.SPECIALIZED

    # --- gallery and definition pickers ---------------------------------------------------------

    def selected_gallery(self) -> GalleryInfo | None:
        data = self.gallery.currentData()
        return data if isinstance(data, GalleryInfo) else None

    def selected_definition(self) -> DefinitionInfo | None:
        data = self.definition.currentData()
        return data if isinstance(data, DefinitionInfo) else None

    def _on_gallery(self) -> None:
        if self._filling:
            return
        gallery = self.selected_gallery()
        creating = gallery is None
        self.gallery_form.setRowVisible(self.new_gallery_name, creating)
        self.gallery_form.setRowVisible(self.gallery_group, creating)
        if creating and not self.new_gallery_name.text():
            vm = self._host.chosen_vm()
            assert vm is not None
            self.new_gallery_name.setText(f"gal_{vm.resource_group.replace('-', '_')}"[:80])
        if gallery is None:
            self._fill_definitions([])
        else:
            key = (gallery.resource_group.lower(), gallery.name.lower())
            if key in self._definitions:
                self._fill_definitions(self._definitions[key])
            else:
                self._fill_definitions([])
                self._host.spawn(self._load_definitions(gallery))
        self._changed()

    async def _load_definitions(self, gallery: GalleryInfo) -> None:
        try:
            found = await list_definitions(self._host.compute, gallery.resource_group, gallery.name)
        except AzureServiceError as error:
            show_problems(self.problems, [error_text(error)])
            return
        self._definitions[(gallery.resource_group.lower(), gallery.name.lower())] = found
        if self.selected_gallery() == gallery:
            self._fill_definitions(found)
            self._changed()

    def _fill_definitions(self, definitions: list[DefinitionInfo]) -> None:
        self._filling = True
        self.definition.clear()
        vm = self._host.chosen_vm()
        for d in definitions:
            self.definition.addItem(definition_summary(d), d)
        self.definition.addItem(_tr(NEW_DEFINITION), None)
        # prefer a definition that matches the VM, else offer to create one
        best = len(definitions)
        if vm is not None:
            for i, d in enumerate(definitions):
                if (d.os_type, d.hyper_v_generation, d.architecture, d.os_state) == (
                    vm.os_type,
                    vm.hyper_v_generation,
                    vm.architecture,
                    "Specialized" if self._specialized() else "Generalized",
                ):
                    best = i
                    break
        self.definition.setCurrentIndex(best)
        self._filling = False
        self._on_definition()

    def _on_definition(self) -> None:
        if self._filling:
            return
        definition = self.selected_definition()
        creating = definition is None
        for widget in (self.new_definition_name, self.identifier_row):
            self.gallery_form.setRowVisible(widget, creating)
        vm = self._host.chosen_vm()
        assert vm is not None
        # Azure's own values (os type, state, generation…), as the portal lists them
        facts = " · ".join(
            (
                vm.os_type,
                "Specialized" if self._specialized() else "Generalized",
                vm.generation_label,
                vm.architecture,
                vm.security_type,
            )
        )
        if definition is None:
            self.definition_facts.setText(
                self.tr("The new definition is described by the VM: {facts}.").format(facts=facts)
            )
            self._suggest("1.0.0")
        else:
            self.definition_facts.setText(
                self.tr("Definition: {definition}. The VM: {facts}.").format(
                    definition=definition_summary(definition), facts=facts
                )
            )
            gallery = self.selected_gallery()
            if gallery is not None:
                self._host.spawn(self._suggest_version(gallery, definition))
        self._changed()

    async def _suggest_version(self, gallery: GalleryInfo, definition: DefinitionInfo) -> None:
        try:
            versions = await list_versions(
                self._host.compute, gallery.resource_group, gallery.name, definition.name
            )
        except AzureServiceError:
            return  # validation reads the versions again and reports the error
        if self.selected_definition() == definition:
            self._suggest(naming.next_version(versions))

    def _suggest(self, version: str) -> None:
        """Offers a version number unless the user typed one of their own."""
        if self.version.text() in ("", self._suggested):
            self.version.setText(version)
        self._suggested = version

    # --- regions ----------------------------------------------------------------------------

    def region_choices(self) -> list[RegionReplicas]:
        return [RegionReplicas(region, count) for region, count in self.region_table.rows()]

    # --- the plan and its validation --------------------------------------------------------

    def target(self) -> CaptureTarget:
        """This page's part of the plan."""
        managed = self.managed.isChecked()
        gallery = self.selected_gallery()
        definition = self.selected_definition()
        if managed:
            group = self.image_group.currentText()
        elif gallery is not None:
            group = gallery.resource_group
        else:
            group = self.gallery_group.currentText()
        eol = self.eol.date().toPython() if self.eol_enabled.isChecked() else None
        return CaptureTarget(
            target=TargetKind.MANAGED_IMAGE if managed else TargetKind.GALLERY_VERSION,
            resource_group=group,
            image_name=self.image_name.text(),
            gallery_name=gallery.name if gallery is not None else self.new_gallery_name.text(),
            create_gallery=gallery is None,
            definition_name=(
                definition.name if definition is not None else self.new_definition_name.text()
            ),
            create_definition=definition is None,
            publisher=self.publisher.text(),
            offer=self.offer.text(),
            sku=self.sku.text(),
            version=self.version.text(),
            regions=tuple(self.region_choices()),
            exclude_from_latest=self.exclude.isChecked(),
            end_of_life=eol if isinstance(eol, date) else None,
            delete_vm_after=self.delete_vm.isChecked(),
        )

    def _plan(self) -> CapturePlan:
        """The whole plan with this page's current choices: what validation looks at."""
        return self._host.plan_with(self.target())

    @staticmethod
    def _facts_key_of(plan: CapturePlan) -> tuple[Any, ...]:
        return (
            plan.target,
            plan.resource_group.lower(),
            plan.gallery_name.lower() if not plan.create_gallery else "",
            plan.create_gallery,
            plan.definition_name.lower() if not plan.create_definition else "",
            plan.create_definition,
            plan.snapshot_disk_ids,
        )

    def _on_kind(self) -> None:
        self.stack.setCurrentIndex(0 if self.managed.isChecked() else 1)
        self._changed()

    def _changed(self, *_args: object) -> None:
        if self._filling or self._host.chosen_vm() is None:
            return
        key = self._facts_key_of(self._plan())
        if key != self._facts_key:
            self._valid = False
            self.status.setText(self.checking_text())
            self._refetch.start()
        self._revalidate()

    def checking_text(self) -> str:
        """What the status line says while Azure is asked about the current choices."""
        return self.tr("Checking with Azure…")

    def _fetch_facts(self) -> None:
        plan = self._plan()
        key = self._facts_key_of(plan)
        self._loading_key = key
        self._host.spawn(self._load_facts(plan, key))

    async def _load_facts(self, plan: CapturePlan, key: tuple[Any, ...]) -> None:
        host = self._host
        try:
            facts = await load_facts(
                host.compute, host.session.resources(host.subscription_id), plan
            )
        except AzureServiceError as error:
            if self._loading_key == key:
                self._load_error = error_text(error)
                self._revalidate()
            return
        if self._loading_key != key:
            return
        self._load_error = ""
        self._facts, self._facts_key = facts, key
        self._revalidate()

    def _revalidate(self) -> None:
        plan = self._plan()
        current = self._facts_key == self._facts_key_of(plan) and self._facts is not None
        problems: list[str] = []
        if self._load_error:
            problems.append(self._load_error)
        if current and self._facts is not None:
            validation = validate(plan, self._facts)
            problems += [
                self.tr("{field}: {problem}").format(
                    field=_tr(_FIELD_LABELS[p.field]), problem=render_text(p.message)
                )
                for p in validation.problems
            ]
            self.status.setText("" if validation.ok else self.tr("Fix these before you go on:"))
            self._valid = validation.ok and not self._load_error
        else:
            self._valid = False
        show_problems(self.problems, problems)
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return self._valid

    def validatePage(self) -> bool:
        # QWizard.next() asks only this, not isComplete()
        return self._valid

"""Page 3 of the upload wizard: keep the disk, or make a managed image or gallery version.

With data disks on page 1, the image or version holds all of them: the OS disk and each data
disk at its LUN.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure import naming
from gui.azure.arm import generation_short, resource_group_of
from gui.azure.errors import AzureServiceError
from gui.azure.image_builder import (
    DefinitionSpec,
    DiskFacts,
    GalleryVersionSpec,
    ManagedImageSpec,
    definition_facts,
    existing_versions,
)
from gui.azure.upload.job import FollowUp
from gui.qt.i18n import render_text
from gui.qt.upload.common import (
    PlanPage,
    UploadContext,
    default_name,
    form,
)
from gui.qt.upload.file_page import FilePage
from gui.qt.upload.target_page import TargetPage
from gui.qt.widgets.region_table import RegionReplicaTable

log = logging.getLogger(__name__)

NEW_MARK = " (new)"


class FollowUpPage(PlanPage):
    def __init__(self, context: UploadContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.context = context
        self.setTitle(self.tr("Then what"))
        self.setSubTitle(
            self.tr("Keep the disk as it is, or make an image from it right after the upload."))
        self.nothing_radio = QRadioButton(self.tr("Nothing more: keep the disk"))
        self.image_radio = QRadioButton(self.tr("A managed image"))
        self.gallery_radio = QRadioButton(
            self.tr("A Compute Gallery image version (recommended for sharing and replication)")
        )
        self.nothing_radio.setChecked(True)
        group = QButtonGroup(self)
        for radio in (self.nothing_radio, self.image_radio, self.gallery_radio):
            group.addButton(radio)

        self.image_name = QLineEdit()
        self.image_name.setObjectName("imageName")
        self.image_group = QLineEdit()
        self.image_form = form(
            (self.tr("Image name:"), self.image_name),
            (self.tr("Resource group:"), self.image_group),
        )

        self.gallery_box = QComboBox()
        self.gallery_box.setEditable(True)
        self.gallery_box.setObjectName("gallery")
        self.definition_box = QComboBox()
        self.definition_box.setEditable(True)
        self.definition_box.setObjectName("definition")
        self.security_box = QComboBox()
        self.security_box.addItem(self.tr("Standard"), "Standard")
        self.security_box.addItem(self.tr("Trusted launch"), "TrustedLaunch")
        self.security_box.addItem(self.tr("Trusted launch supported"), "TrustedLaunchSupported")
        self.publisher_edit = QLineEdit("contoso")
        self.version_edit = QLineEdit("1.0.0")
        self.version_edit.setObjectName("version")
        self.region_table = RegionReplicaTable(
            self.tr("The disk's region: the version is always stored there.")
        )
        self._regions_source = ""
        self.exclude_latest = QCheckBox(self.tr("Exclude from latest"))
        self.eol_check = QCheckBox(self.tr("End of life:"))
        self.eol_date = QDateEdit(QDate.currentDate().addYears(1))
        self.eol_date.setCalendarPopup(True)
        self.eol_date.setEnabled(False)
        self.eol_check.toggled.connect(self.eol_date.setEnabled)
        self.definition_info = QLabel()
        self.definition_info.setWordWrap(True)
        eol_row = QHBoxLayout()
        eol_row.addWidget(self.eol_check)
        eol_row.addWidget(self.eol_date)
        eol_row.addStretch(1)
        self.gallery_form = form(
            (self.tr("Gallery:"), self.gallery_box),
            (self.tr("Image definition:"), self.definition_box),
            ("", self.definition_info),
            (self.tr("Security type (new definition):"), self.security_box),
            (self.tr("Publisher (new definition):"), self.publisher_edit),
            (self.tr("Version:"), self.version_edit),
            (self.tr("Target regions:"), self.region_table),
            ("", self.exclude_latest),
            ("", eol_row),
        )

        # "Then test-boot it": once the image is made, a throw-away VM says whether it boots.
        self.test_boot_check = QCheckBox(
            self.tr("Then &test-boot the image (a throw-away VM, deleted afterwards)")
        )
        self.test_boot_check.setObjectName("testBootAfter")
        self.test_boot_check.setToolTip(
            self.tr("When the image is made, create a VM from it in a throw-away resource group, "
                    "show its serial log while it boots, say whether it booted and why not, "
                    "then delete everything it made")
        )
        self.disks_note = QLabel()
        self.disks_note.setObjectName("imageDisks")
        self.disks_note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.disks_note)
        layout.addWidget(self.nothing_radio)
        layout.addWidget(self.image_radio)
        layout.addWidget(self.image_form)
        layout.addWidget(self.gallery_radio)
        layout.addWidget(self.gallery_form, 1)
        layout.addWidget(self.test_boot_check)
        layout.addWidget(self.problems)

        self._galleries: dict[str, str] = {}  # gallery -> resource group
        self._definitions: dict[str, DefinitionSpec] = {}
        self._versions: list[str] = []
        self._checking = False
        self._suggested_version = "1.0.0"
        for signal in (
            self.nothing_radio.toggled,
            self.image_radio.toggled,
            self.gallery_radio.toggled,
            self.image_name.textChanged,
            self.image_group.textChanged,
            self.version_edit.textChanged,
            self.security_box.currentIndexChanged,
            self.eol_check.toggled,
            self.eol_date.dateChanged,
            self.region_table.changed,
        ):
            signal.connect(self._changed)
        self.gallery_box.currentTextChanged.connect(self._gallery_changed)
        self.definition_box.currentTextChanged.connect(self._definition_changed)
        self._initialized = False

    # --- set-up -------------------------------------------------------------------------------

    def _target(self) -> Any:
        page = self.wizard().page(1)
        assert isinstance(page, TargetPage)
        return page

    def _file_page(self) -> FilePage:
        page = self.wizard().page(0)
        assert isinstance(page, FilePage)
        return page

    def _facts(self) -> DiskFacts:
        return self._file_page().facts()

    def initializePage(self) -> None:
        target = self._target()
        path = getattr(self.wizard(), "source_path", None)
        if isinstance(path, Path) and not self.image_name.text():
            self.image_name.setText(default_name(path, "img-"))
        if not self.image_group.text():
            self.image_group.setText(target.default_group())
        self.image_radio.setEnabled(True)
        data = len(self._file_page().data_disks)
        self.disks_note.setText(
            self.tr(
                "The image or version holds every disk of page 1: the OS disk and %n data "
                "disk(s), each at its LUN.", "", data)
            if data
            else ""
        )
        self.disks_note.setVisible(bool(data))
        self._fill_regions()
        if not self._initialized:
            self._initialized = True
            self.spawn(self._load_galleries())
        self._changed()

    @property
    def _subscription(self) -> str:
        target = self._target()
        if target.managed:
            return str(target.subscription_box.currentData())
        return self.context.subscription_id

    @property
    def _location(self) -> str:
        target = self._target()
        return str(target.region_box.currentData()) if target.managed else self.context.location

    def _fill_regions(self) -> None:
        source = self._location
        self.region_table.set_locations(self.context.locations or [(source, source)])
        if source != self._regions_source:  # a new source region: start the list over
            self._regions_source = source
            self.region_table.reset(source)

    async def _load_galleries(self) -> None:
        compute = self.context.session.compute(self._subscription)
        try:
            galleries = [item async for item in compute.galleries.list()]
        except Exception as exc:
            log.warning("Could not list galleries: %s", exc)
            galleries = []
        self._galleries = {
            str(item.name): resource_group_of(str(item.id or "")) for item in galleries if item.name
        }
        current = self.gallery_box.currentText()
        self.gallery_box.blockSignals(True)
        self.gallery_box.clear()
        self.gallery_box.addItems(sorted(self._galleries, key=str.casefold))
        self.gallery_box.blockSignals(False)
        if current:
            self.gallery_box.setCurrentText(current)
        self._gallery_changed(self.gallery_box.currentText())

    def _gallery_changed(self, name: str) -> None:
        self._definitions = {}
        self.definition_box.blockSignals(True)
        self.definition_box.clear()
        self.definition_box.blockSignals(False)
        if name in self._galleries:
            self.spawn(self._load_definitions(name))
        self._definition_changed(self.definition_box.currentText())

    async def _load_definitions(self, gallery: str) -> None:
        compute = self.context.session.compute(self._subscription)
        group = self._galleries[gallery]
        try:
            names = [
                str(item.name)
                async for item in compute.gallery_images.list_by_gallery(group, gallery)
                if item.name
            ]
        except Exception as exc:
            log.warning("Could not list image definitions: %s", exc)
            names = []
        if self.gallery_box.currentText() != gallery:
            return
        current = self.definition_box.currentText()
        self.definition_box.blockSignals(True)
        self.definition_box.addItems(sorted(names, key=str.casefold))
        if current:
            self.definition_box.setCurrentText(current)
        self.definition_box.blockSignals(False)
        self._definition_changed(self.definition_box.currentText())

    def _definition_changed(self, name: str) -> None:
        gallery = self.gallery_box.currentText()
        self._versions = []
        if gallery in self._galleries and name and self.definition_box.findText(name) >= 0:
            self._checking = True
            self.definition_info.setText(self.tr("Reading the definition…"))
            self.spawn(self._load_definition(gallery, name))
        else:
            self.definition_info.setText(
                self.tr("A new definition is created with the disk's OS type, state, generation "
                        "and architecture.")
                if name
                else ""
            )
        self._changed()

    async def _load_definition(self, gallery: str, name: str) -> None:
        compute = self.context.session.compute(self._subscription)
        group = self._galleries[gallery]
        try:
            spec = await definition_facts(compute, group, gallery, name)
            versions = await existing_versions(compute, group, gallery, name)
        except AzureServiceError as exc:
            self.definition_info.setText(self.tr("Could not read the definition: {error}").format(
                error=render_text(exc.message)))
            self._checking = False
            self._changed()
            return
        if (self.gallery_box.currentText(), self.definition_box.currentText()) != (gallery, name):
            return
        self._definitions[name] = spec
        self._versions = versions
        self._checking = False
        security = {
            "TrustedLaunch": self.tr("Trusted launch"), "Standard": self.tr("Standard"),
        }.get(spec.security_type, spec.security_type)
        facts = (f"{spec.os_type}, {spec.os_state}, {generation_short(spec.hyper_v_generation)}, "
                 f"{spec.architecture}, {security}")
        self.definition_info.setText(
            self.tr("Existing definition: {facts}; versions: {versions}").format(
                facts=facts, versions=", ".join(versions))
            if versions else
            self.tr("Existing definition: {facts}; versions: none yet").format(facts=facts)
        )
        self._suggest_version(naming.next_version(versions))
        self._changed()

    def _suggest_version(self, version: str) -> None:
        """Follows the definition with a suggestion until the user types a version of theirs."""
        if self.version_edit.text() in ("", self._suggested_version):
            self.version_edit.setText(version)
        self._suggested_version = version

    # --- state --------------------------------------------------------------------------------

    def _changed(self, *_args: Any) -> None:
        self.image_form.setEnabled(self.image_radio.isChecked())
        self.gallery_form.setEnabled(self.gallery_radio.isChecked())
        self.test_boot_check.setEnabled(not self.nothing_radio.isChecked())
        is_new = self.definition_box.currentText().strip() not in self._definitions
        self.security_box.setEnabled(is_new)
        self.publisher_edit.setEnabled(is_new)
        self.show_problems()

    def _regions(self) -> tuple[tuple[str, int], ...]:
        return tuple(self.region_table.rows())

    @property
    def test_boot_after(self) -> bool:
        """The user asked for a test boot of the image the upload makes."""
        return self.test_boot_check.isChecked() and not self.nothing_radio.isChecked()

    def follow_up(self) -> FollowUp:
        if self.image_radio.isChecked():
            return ManagedImageSpec(
                resource_group=self.image_group.text().strip(),
                name=self.image_name.text().strip(),
                location=self._location,
            )
        if not self.gallery_radio.isChecked():
            return None
        facts = self._facts()
        gallery = self.gallery_box.currentText().strip()
        definition_name = self.definition_box.currentText().strip()
        existing = self._definitions.get(definition_name)
        create_definition = existing is None
        definition = existing or DefinitionSpec(
            name=definition_name,
            os_type=facts.os_type,
            os_state=facts.os_state,
            hyper_v_generation=facts.hyper_v_generation,
            security_type=str(self.security_box.currentData()),
            architecture=facts.architecture,
            publisher=self.publisher_edit.text().strip() or "contoso",
        )
        target = self._target()
        group = self._galleries.get(gallery) or target.default_group()
        return GalleryVersionSpec(
            resource_group=group,
            gallery=gallery,
            create_gallery=gallery not in self._galleries,
            definition=definition,
            create_definition=create_definition,
            version=self.version_edit.text().strip(),
            location=self._location,
            target_regions=self._regions(),
            exclude_from_latest=self.exclude_latest.isChecked(),
            end_of_life=date.fromisoformat(self.eol_date.date().toString("yyyy-MM-dd"))
            if self.eol_check.isChecked()
            else None,
            existing_versions=tuple(self._versions),
        )

    def problem_list(self) -> list[str]:
        if self.nothing_radio.isChecked():
            return []
        if self._checking and self.gallery_radio.isChecked():
            return [self.tr("Checking the image definition…")]
        spec = self.follow_up()
        assert spec is not None
        return spec.problems(self._facts())

"""Retry with another name…: the new name of a failed image step, checked before anything is sent.

An upload whose data is in Azure but whose image step failed (the name is taken, the definition
does not match the disk, a quota) runs that step again alone. This dialog asks under which name:
a managed image's name, or a gallery version's number and image definition. It reads what
exists (reads only), proposes a free name, and refuses an invalid or taken one in place, with
Azure's naming rules (``gui.azure.naming``) and the disk's facts, before the retry is started.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure import naming
from gui.azure.errors import AzureServiceError
from gui.azure.image_builder import DefinitionSpec, GalleryVersionSpec, ManagedImageSpec
from gui.azure.upload.follow_up import (
    FollowUpNames,
    free_image_name,
    new_definition,
    renamed_image,
    renamed_version,
)
from gui.azure.upload.job import FollowUp, PlanError, UploadPlan
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet

# What Azure has of one image definition: its facts (None: the gallery has none of that name)
# and its versions.
_Definition = tuple[DefinitionSpec | None, list[str]]
_LOOKUP_PAUSE_MS = 400  # a definition name is looked up once the typing pauses


class RetryFollowUpDialog(QDialog):
    """Asks for the name the failed image step runs again under; ``retry`` starts it (and may
    refuse it with a ``PlanError``, shown here) and the dialog closes once it has started."""

    def __init__(
        self,
        plan: UploadPlan,
        names: FollowUpNames,
        retry: Callable[[FollowUp], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("retryFollowUpDialog")
        self.plan = plan
        self.names = names
        self._retry = retry
        self._tasks = TaskSet("RetryFollowUpDialog")
        follow = plan.follow_up
        assert follow is not None, "only a plan with an image step is retried"
        self.original: ManagedImageSpec | GalleryVersionSpec = follow
        # What was read from Azure; None while it is read.
        self._taken_images: frozenset[str] | None = None
        self._gallery_exists: bool | None = None
        self._definitions: dict[str, _Definition] = {}
        self._read_error = ""

        self.problem_label = QLabel()
        self.problem_label.setObjectName("retryProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet(text_style(Tone.ERROR))
        self.name_edit: QLineEdit | None = None
        self.version_edit: QLineEdit | None = None
        self.definition_edit: QLineEdit | None = None
        form = QFormLayout()
        if isinstance(follow, ManagedImageSpec):
            self.setWindowTitle(self.tr("Retry with another image name"))
            intro = self.tr(
                "The image {name} could not be made in {group}. Its disks are in Azure: only "
                "the image is made again, under the name you give, and no data is uploaded "
                "again."
            ).format(name=follow.name, group=follow.resource_group)
            self.name_edit = self._field(
                form, self.tr("Image &name:"), self.tr("Image name"), "retryImageName")
        else:
            self.setWindowTitle(self.tr("Retry with another version"))
            intro = self.tr(
                "Version {version} of {definition} could not be made in the gallery {gallery}. "
                "Its disks are in Azure: only the version is made again, as you give it here, "
                "and no data is uploaded again."
            ).format(version=follow.version, definition=follow.definition.name,
                     gallery=follow.gallery)
            self.version_edit = self._field(
                form, self.tr("&Version:"), self.tr("Version number"), "retryVersion")
            self.definition_edit = self._field(
                form, self.tr("Image &definition:"), self.tr("Image definition"),
                "retryDefinition")
            self.definition_edit.setText(follow.definition.name)
            self.definition_edit.setToolTip(self.tr(
                "An existing definition of the gallery must match the disk; a new name creates "
                "a definition for it."))
        intro_label = QLabel(intro)
        intro_label.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.retry_button: QPushButton = buttons.addButton(
            self.tr("&Retry"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.retry_button.setObjectName("retryButton")
        self.retry_button.clicked.connect(self._start)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro_label)
        layout.addLayout(form)
        layout.addWidget(self.problem_label)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

        self._lookup_timer = QTimer(self)
        self._lookup_timer.setSingleShot(True)
        self._lookup_timer.setInterval(_LOOKUP_PAUSE_MS)
        self._lookup_timer.timeout.connect(self._look_up_definition)
        for edit in (self.name_edit, self.version_edit, self.definition_edit):
            if edit is not None:
                edit.textChanged.connect(self._edited)
        self.finished.connect(lambda _result: self._tasks.cancel_all())
        self._tasks.spawn(self._read_names())
        self.validate()

    def _field(self, form: QFormLayout, text: str, accessible: str, name: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setAccessibleName(accessible)
        label = QLabel(text)
        label.setBuddy(edit)
        form.addRow(label, edit)
        return edit

    # --- what Azure has -------------------------------------------------------------------------

    async def _read_names(self) -> None:
        """What exists, then a free name filled in (the first field selected, to overtype)."""
        follow = self.original
        try:
            if isinstance(follow, ManagedImageSpec):
                taken = await self.names.image_names(follow.resource_group)
                self._taken_images = taken
                assert self.name_edit is not None
                self.name_edit.setText(free_image_name(follow.name, taken))
                self.name_edit.selectAll()
            else:
                self._gallery_exists = await self.names.gallery_exists(
                    follow.resource_group, follow.gallery)
                _definition, versions = await self._definition(follow.definition.name)
                free = (follow.version if follow.version not in versions
                        and naming.version_name(follow.version) is None
                        else naming.next_version(versions))
                assert self.version_edit is not None
                self.version_edit.setText(free)
                self.version_edit.selectAll()
        except AzureServiceError as exc:
            self._read_error = render_text(exc)
        self.validate()

    async def _definition(self, name: str) -> _Definition:
        key = name.casefold()
        if key not in self._definitions:
            follow = self.original
            assert isinstance(follow, GalleryVersionSpec)
            found = None
            versions: list[str] = []
            if self._gallery_exists:
                found = await self.names.definition(follow.resource_group, follow.gallery, name)
                if found is not None:
                    versions = await self.names.versions(
                        follow.resource_group, follow.gallery, name)
            self._definitions[key] = (found, versions)
        return self._definitions[key]

    def _look_up_definition(self) -> None:
        if self.definition_edit is None:
            return
        name = self.definition_edit.text()
        if naming.definition_name(name) is None and name.casefold() not in self._definitions:
            self._tasks.spawn(self._read_definition(name))

    async def _read_definition(self, name: str) -> None:
        try:
            await self._definition(name)
        except AzureServiceError as exc:
            self._read_error = render_text(exc)
        self.validate()

    # --- checking -------------------------------------------------------------------------------

    def _edited(self) -> None:
        if self.sender() is self.definition_edit:
            self._lookup_timer.start()
        self.validate()

    def follow_up(self) -> ManagedImageSpec | GalleryVersionSpec | None:
        """The image step as the fields say, when everything it needs was read; else None."""
        follow = self.original
        if isinstance(follow, ManagedImageSpec):
            assert self.name_edit is not None
            return renamed_image(follow, self.name_edit.text())
        assert self.version_edit is not None and self.definition_edit is not None
        name = self.definition_edit.text()
        looked_up = self._definitions.get(name.casefold())
        if self._gallery_exists is None or looked_up is None:
            return None
        found, versions = looked_up
        definition = found or new_definition(name, self.plan.facts, follow.definition)
        return renamed_version(
            follow, self.version_edit.text(), definition,
            definition_exists=found is not None, gallery_exists=self._gallery_exists,
            versions=versions)

    def problem(self) -> str:
        """What keeps the retry from starting, in a sentence ("" when nothing does)."""
        if self._read_error:
            return self.tr("Could not read what exists in Azure: {error}").format(
                error=self._read_error)
        follow = self.original
        if isinstance(follow, ManagedImageSpec):
            assert self.name_edit is not None
            name = self.name_edit.text()
            rule = naming.image_name(name)
            if rule:
                return render_text(rule)
            if self._taken_images is None:
                return self.tr("Checking which image names are taken…")
            if name.casefold() in self._taken_images:
                return self.tr(
                    "An image named {name} exists already in {group}. Pick another name, e.g. "
                    "{free}."
                ).format(name=name, group=follow.resource_group,
                         free=free_image_name(name, self._taken_images))
            return ""
        assert self.version_edit is not None and self.definition_edit is not None
        for rule in (naming.version_name(self.version_edit.text()),
                     naming.definition_name(self.definition_edit.text())):
            if rule:
                return render_text(rule)
        spec = self.follow_up()
        if spec is None:
            return self.tr("Checking the gallery {gallery}…").format(gallery=follow.gallery)
        problems = spec.problems(self.plan.facts)
        return render_text(problems[0]) if problems else ""

    def validate(self) -> bool:
        problem = self.problem()
        self.problem_label.setText(problem)
        self.problem_label.setVisible(bool(problem))
        self.retry_button.setEnabled(not problem)
        return not problem

    def _start(self) -> None:
        spec = self.follow_up()
        if not self.validate() or spec is None:
            return
        try:
            self._retry(spec)
        except PlanError as exc:
            self.problem_label.setText(render_text(exc))
            self.problem_label.setVisible(True)
            return
        self.accept()

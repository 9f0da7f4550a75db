"""The definition editor: description, end-of-life date and recommended sizes (vCPUs and memory
ranges) of a gallery image definition, checked before sending and sent as one step."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import NodeRef, SourceKind
from gui.azure.errors import AzureServiceError
from gui.azure.manage.definitions import (
    MAX_MEMORY_GIB,
    MAX_VCPUS,
    DefinitionChange,
    DefinitionProfile,
    DefinitionRef,
    Range,
    read_definition,
    update_definition,
    update_step,
)
from gui.azure.manage.versions import ChangeRefused, end_of_life_at
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet
from gui.qt.widgets.step_list import StepList

_NO_DATE = QDate(2000, 1, 1)


def _spin(name: str, top: int, accessible: str, unset: str) -> QSpinBox:
    """A whole number, or not set (0, shown as ``unset``)."""
    spin = QSpinBox()
    spin.setObjectName(name)
    spin.setRange(0, top)
    spin.setSpecialValueText(unset)
    spin.setAccessibleName(accessible)
    return spin


class DefinitionEditor(QDialog):
    changed = Signal(list)

    def __init__(self, compute: Any, ref: DefinitionRef, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("definitionEditor")
        self.compute = compute
        self.ref = ref
        self.profile: DefinitionProfile | None = None
        self.running = False
        self._tasks = TaskSet("DefinitionEditor")
        self.setWindowTitle(self.tr("Edit image definition"))
        self.setMinimumWidth(560)

        self.heading = QLabel(self.tr("Image definition {path}").format(path=ref.path))
        font = self.heading.font()
        font.setBold(True)
        self.heading.setFont(font)
        self.status_line = QLabel(self.tr("Reading the definition from Azure…"))
        self.status_line.setObjectName("definitionStatusLine")
        self.status_line.setWordWrap(True)

        self.description = QPlainTextEdit()
        self.description.setObjectName("definitionDescription")
        self.description.setAccessibleName(self.tr("Description"))
        self.description.setTabChangesFocus(True)
        self.description.setMaximumHeight(80)
        description_label = QLabel(self.tr("&Description:"))
        description_label.setBuddy(self.description)

        self.end_of_life = QDateEdit()
        self.end_of_life.setObjectName("definitionEndOfLife")
        self.end_of_life.setCalendarPopup(True)
        self.end_of_life.setMinimumDate(_NO_DATE)
        self.end_of_life.setSpecialValueText(self.tr("None"))
        self.end_of_life.setDate(_NO_DATE)
        self.end_of_life.setAccessibleName(self.tr("End-of-life date"))
        end_label = QLabel(self.tr("End of &life:"))
        end_label.setBuddy(self.end_of_life)

        unset = self.tr("not set")
        self.vcpu_min = _spin("vcpuMin", MAX_VCPUS, self.tr("Recommended vCPUs, minimum"), unset)
        self.vcpu_max = _spin("vcpuMax", MAX_VCPUS, self.tr("Recommended vCPUs, maximum"), unset)
        self.memory_min = _spin(
            "memoryMin", MAX_MEMORY_GIB, self.tr("Recommended memory in GiB, minimum"), unset
        )
        self.memory_max = _spin(
            "memoryMax", MAX_MEMORY_GIB, self.tr("Recommended memory in GiB, maximum"), unset
        )
        vcpu_row = QHBoxLayout()
        vcpu_row.addWidget(self.vcpu_min)
        vcpu_to = QLabel(self.tr("t&o"))
        vcpu_to.setBuddy(self.vcpu_max)
        vcpu_row.addWidget(vcpu_to)
        vcpu_row.addWidget(self.vcpu_max)
        vcpu_label = QLabel(self.tr("Recommended &vCPUs:"))
        vcpu_label.setBuddy(self.vcpu_min)
        memory_row = QHBoxLayout()
        memory_row.addWidget(self.memory_min)
        memory_to = QLabel(self.tr("to (Gi&B)"))
        memory_to.setBuddy(self.memory_max)
        memory_row.addWidget(memory_to)
        memory_row.addWidget(self.memory_max)
        memory_label = QLabel(self.tr("Recommended &memory (GiB):"))
        memory_label.setBuddy(self.memory_min)

        self.problems = QLabel()
        self.problems.setObjectName("definitionProblems")
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.TextFormat.RichText)
        self.problems.setStyleSheet(text_style(Tone.ERROR, self.palette()))
        self.problems.hide()
        self.steps = StepList()
        self.steps.setObjectName("definitionSteps")
        self.steps.hide()

        self.buttons = QDialogButtonBox()
        self.apply_button = QPushButton(self.tr("A&pply"))
        self.apply_button.setObjectName("applyDefinition")
        self.apply_button.setEnabled(False)
        self.apply_button.setAutoDefault(False)
        self.buttons.addButton(self.apply_button, QDialogButtonBox.ButtonRole.ApplyRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.apply_button.clicked.connect(self._start_apply)
        self.buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow(description_label, self.description)
        form.addRow(end_label, self.end_of_life)
        form.addRow(vcpu_label, vcpu_row)
        form.addRow(memory_label, memory_row)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.status_line)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.steps)
        layout.addWidget(self.buttons)

    def open(self) -> None:
        super().open()
        self._tasks.spawn(self.load())

    async def load(self) -> DefinitionProfile | None:
        try:
            profile = await read_definition(self.compute, self.ref)
        except AzureServiceError as error:
            self.status_line.setText(
                self.tr("Could not read the definition: {error}").format(error=render_text(error))
            )
            self.status_line.setStyleSheet(text_style(Tone.ERROR, self.palette()))
            return None
        self.show_profile(profile)
        return profile

    def show_profile(self, profile: DefinitionProfile) -> None:
        self.profile = profile
        self.status_line.setText(
            self.tr("{os} · {state}; the OS, its state and generation stay as they are.").format(
                os=profile.fixed.get("osType", ""), state=profile.fixed.get("osState", "")
            )
        )
        self.description.setPlainText(profile.description)
        if profile.end_of_life is not None:
            day = profile.end_of_life.date()
            self.end_of_life.setDate(QDate(day.year, day.month, day.day))
        else:
            self.end_of_life.setDate(_NO_DATE)
        for spin, value in (
            (self.vcpu_min, profile.vcpus[0]),
            (self.vcpu_max, profile.vcpus[1]),
            (self.memory_min, profile.memory_gib[0]),
            (self.memory_max, profile.memory_gib[1]),
        ):
            spin.setValue(value or 0)
        self.apply_button.setEnabled(True)

    def change(self) -> DefinitionChange:
        chosen = self.end_of_life.date()
        end = (
            None
            if chosen == _NO_DATE
            else end_of_life_at(date(chosen.year(), chosen.month(), chosen.day()))
        )

        def pair(low: QSpinBox, high: QSpinBox) -> Range:
            return (low.value() or None, high.value() or None)

        return DefinitionChange(
            self.description.toPlainText().strip(),
            end,
            pair(self.vcpu_min, self.vcpu_max),
            pair(self.memory_min, self.memory_max),
        )

    def _start_apply(self) -> None:
        if self.profile is not None and not self.running:
            self._tasks.spawn(self.apply())

    async def apply(self) -> bool:
        profile = self.profile
        if profile is None or self.running:
            return False
        self.running = True
        self.apply_button.setEnabled(False)
        done = False
        try:
            events = update_definition(self.compute, profile, self.change())
            self.steps.set_steps([update_step(self.ref)])
            async for event in events:
                self.steps.show()
                self.steps.show_event(event)
            done = True
            self.problems.hide()
        except ChangeRefused as refused:
            self.steps.hide()
            self.problems.setText(
                "<ul style='margin-left:-20px'>"
                + "".join(f"<li>{escape(render_text(p))}</li>" for p in refused.problems)
                + "</ul>"
            )
            self.problems.show()
        except AzureServiceError as error:
            self.problems.setText(escape(render_text(error)).replace("\n", "<br>"))
            self.problems.show()
        finally:
            self.running = False
            self.steps.stop()
            self.apply_button.setEnabled(True)
        if done:
            await self.load()
            ref = self.ref
            gallery = NodeRef(SourceKind.GALLERY, (ref.resource_group, ref.gallery))
            self.changed.emit([gallery, gallery.child(ref.definition)])
        return done

    def reject(self) -> None:
        if self.running:
            return
        self._tasks.cancel_all()
        super().reject()

"""The machine choices of page 1 (OS type, Hyper-V generation, architecture) as the disk tells.

The guest facts (:mod:`gui.diskimage.guest`) pre-select each choice the disk answers, mark it
"detected from the disk" with the evidence as its tooltip, and when the administrator picks
against evidence of at least medium confidence, a warning says why such a VM would not boot.
The administrator keeps the last word: nothing here blocks the wizard.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QObject
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from gui.diskimage.guest import (
    Architecture,
    Confidence,
    Fact,
    Generation,
    GuestFacts,
    OsType,
    choice_warnings,
)
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style


class GuestChoice(QObject):
    """Drives the three combo boxes of page 1 from the guest facts of the file read."""

    def __init__(self, os_box: QComboBox, generation_box: QComboBox,
                 architecture_box: QComboBox, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.os_box = os_box
        self.generation_box = generation_box
        self.architecture_box = architecture_box
        self.facts: GuestFacts | None = None
        self.marks: dict[str, QLabel] = {}
        for key in ("os", "generation", "architecture"):
            mark = QLabel()
            mark.setObjectName(f"{key}Detected")
            mark.setStyleSheet(text_style(Tone.OK))
            self.marks[key] = mark
        self.warning = QLabel()
        self.warning.setObjectName("guestWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(text_style(Tone.ERROR))
        self.warning.setVisible(False)
        for box in (os_box, generation_box, architecture_box):
            box.currentIndexChanged.connect(self._check)

    def row(self, box: QComboBox) -> QWidget:
        """The box with its "detected from the disk" mark beside it, for the page's form."""
        key = {id(self.os_box): "os", id(self.generation_box): "generation",
               id(self.architecture_box): "architecture"}[id(box)]
        widget = QWidget()
        layout = QHBoxLayout(widget)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(box)
        layout.addWidget(self.marks[key], 1)
        return widget

    def show_facts(self, facts: GuestFacts | None) -> None:
        """Pre-selects what ``facts`` tell (None: a file not read, or not a disk's guest)."""
        self.facts = facts
        if facts is not None:
            self._select(self.os_box, _os_text(facts.os_type.value), facts.os_type)
            self._select_data(self.generation_box, _generation_data(facts.generation.value),
                              facts.generation)
            self._select(self.architecture_box, _architecture_text(facts.architecture.value),
                         facts.architecture)
        self._check()

    @staticmethod
    def _select(box: QComboBox, text: str | None, fact: Fact[OsType] | Fact[Architecture]) -> None:
        if text is not None and fact.confidence is not Confidence.UNKNOWN:
            box.setCurrentIndex(max(0, box.findText(text)))

    @staticmethod
    def _select_data(box: QComboBox, data: str | None, fact: Fact[Generation]) -> None:
        if data is not None and fact.confidence is not Confidence.UNKNOWN:
            box.setCurrentIndex(max(0, box.findData(data)))

    def _check(self, *_args: object) -> None:
        facts = self.facts
        if facts is None:
            for mark in self.marks.values():
                mark.clear()
                mark.setToolTip("")
            self.warning.clear()
            self.warning.setVisible(False)
            return
        os_text = self.os_box.currentText()
        generation = str(self.generation_box.currentData())
        architecture = self.architecture_box.currentText()
        detected_os = _os_text(facts.os_type.value)
        self._mark("os", facts.os_type, detected_os, detected_os == os_text)
        detected_generation = _generation_data(facts.generation.value)
        self._mark("generation", facts.generation,
                   detected_generation and _generation_label(facts.generation.value),
                   facts.generation.value is Generation.BOTH or detected_generation == generation)
        detected_architecture = _architecture_text(facts.architecture.value)
        self._mark("architecture", facts.architecture, detected_architecture,
                   detected_architecture == architecture)
        warnings = choice_warnings(facts, os_text, generation, architecture)
        self.warning.setText("\n".join(f"⚠ {render_text(line)}" for line in warnings))
        self.warning.setVisible(bool(warnings))

    def _mark(self, key: str, fact: Fact[OsType] | Fact[Generation] | Fact[Architecture],
              detected: str | None, matches: bool) -> None:
        mark = self.marks[key]
        if detected is None or fact.confidence is Confidence.UNKNOWN:
            mark.setText(self.tr("not told by the disk"))
        elif matches:
            confidence = {
                Confidence.HIGH: self.tr("✓ detected from the disk (high confidence)"),
                Confidence.MEDIUM: self.tr("✓ detected from the disk (medium confidence)"),
            }
            mark.setText(confidence.get(
                fact.confidence, self.tr("✓ detected from the disk (low confidence)")))
        else:
            mark.setText(self.tr("detected from the disk: {value}").format(value=detected))
        mark.setToolTip("\n".join(render_text(line) for line in fact.evidence))


def _os_text(value: OsType) -> str | None:
    return value.value if value in (OsType.WINDOWS, OsType.LINUX) else None


def _architecture_text(value: Architecture) -> str | None:
    return value.value if value in (Architecture.X64, Architecture.ARM64) else None


def _generation_data(value: Generation) -> str | None:
    # A disk that boots either way gets Generation 2, the one Azure recommends.
    return {Generation.V1: "V1", Generation.V2: "V2", Generation.BOTH: "V2"}.get(value)


def _generation_label(value: Generation) -> str:
    if value is Generation.BOTH:
        return QCoreApplication.translate("GuestChoice", "Gen1 or Gen2")
    return {Generation.V1: "Gen1", Generation.V2: "Gen2"}.get(
        value, QCoreApplication.translate("GuestChoice", "unknown"))

"""The one step list of every multi-step job (upload, capture): a row per step with its state
(icon, coloured label), title, duration and details, fed ``StepEvent``s as the job yields them.

Steps known up front (a capture's plan) are listed as waiting with ``set_steps``; steps a job
announces while it runs (an upload's replication regions) are added when their first event
arrives. Running steps' clocks move on a timer, so a long step does not look stuck.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QTimer
from PySide6.QtGui import QBrush, QIcon
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from gui.azure.steps import StepEvent, StepSpec, StepState
from gui.qt import icons
from gui.qt.style import Tone, brush

STATE_LABELS = {
    StepState.PENDING: "Waiting",
    StepState.RUNNING: "Running…",
    StepState.DONE: "Done",
    StepState.FAILED: "Failed",
    StepState.SKIPPED: "Skipped",
}
NOT_RUN = "Not run"  # a step after the failed one
STOPPED = "Stopped"  # a step that was running when the job stopped
_STATE_TONES = {
    StepState.DONE: Tone.OK,
    StepState.FAILED: Tone.ERROR,
    StepState.RUNNING: Tone.RUNNING,
}
_STATE_ICONS = {
    StepState.DONE: "info",
    StepState.FAILED: "error",
    StepState.RUNNING: "refresh",
}
TITLE, STATE, DURATION, DETAILS = range(4)


def step_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} min {rest:02d} s"


class StepList(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("steps")
        self.setColumnCount(4)
        self.setHeaderLabels(["Step", "State", "Duration", "Details"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        header = self.header()
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATE, QHeaderView.ResizeMode.Fixed)
        widest = max(
            self.fontMetrics().horizontalAdvance(text)
            for text in (*STATE_LABELS.values(), NOT_RUN, STOPPED, "State")
        )
        header.resizeSection(STATE, widest + 24)
        header.setSectionResizeMode(DURATION, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.events: dict[str, StepEvent] = {}
        self._rows: dict[str, QTreeWidgetItem] = {}
        self._tick = QTimer(self)
        self._tick.setInterval(500)
        self._tick.timeout.connect(self._update_durations)

    def set_steps(self, steps: Iterable[StepSpec]) -> None:
        """Starts over with these steps listed as waiting."""
        self.clear()
        self.events.clear()
        self._rows.clear()
        for step in steps:
            self._row(step)

    def _row(self, step: StepSpec) -> QTreeWidgetItem:
        item = self._rows.get(step.key)
        if item is None:
            item = QTreeWidgetItem([step.title, STATE_LABELS[StepState.PENDING], "", ""])
            item.setToolTip(TITLE, step.change or step.title)
            self.addTopLevelItem(item)
            self._rows[step.key] = item
        return item

    def show_event(self, event: StepEvent) -> None:
        self.events[event.key] = event
        item = self._row(event.step)
        item.setText(STATE, STATE_LABELS[event.state])
        item.setText(DURATION, step_duration(event.seconds))
        item.setText(DETAILS, event.message)
        item.setToolTip(DETAILS, event.message)
        tone = _STATE_TONES.get(event.state)
        item.setForeground(STATE, brush(tone, self.palette()) if tone else QBrush())
        name = _STATE_ICONS.get(event.state)
        item.setIcon(TITLE, icons.icon(name) if name else QIcon())
        self.scrollToItem(item)
        if event.state is StepState.RUNNING:
            self._tick.start()

    def show_events(self, events: Iterable[StepEvent]) -> None:
        for event in events:
            self.show_event(event)

    def stop(self) -> None:
        """The job ended (failed, cancelled, or stopped): running steps say they stopped, the
        ones that never started say they did not run."""
        self._tick.stop()
        self._update_durations()
        for key, item in self._rows.items():
            event = self.events.get(key)
            if event is None:
                item.setText(STATE, NOT_RUN)
            elif event.state is StepState.RUNNING:
                item.setText(STATE, STOPPED)

    def finished_count(self) -> int:
        """Steps done or skipped: the job's progress in steps."""
        ended = (StepState.DONE, StepState.SKIPPED)
        return sum(event.state in ended for event in self.events.values())

    def states(self) -> list[str]:
        """The state column from top to bottom, as the user reads it."""
        return [
            item.text(STATE)
            for index in range(self.topLevelItemCount())
            if (item := self.topLevelItem(index)) is not None
        ]

    def _update_durations(self) -> None:
        running = False
        for key, event in self.events.items():
            if event.state is StepState.RUNNING:
                running = True
                self._rows[key].setText(DURATION, step_duration(event.seconds))
        if not running:
            self._tick.stop()

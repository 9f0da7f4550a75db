"""The one step list of every multi-step job (upload, capture): a row per step with its state
(icon, coloured label), title, duration and details, fed ``StepEvent``s as the job yields them.

Steps known up front (a capture's plan) are listed as waiting with ``set_steps``; steps a job
announces while it runs (an upload's replication regions) are added when their first event
arrives. Running steps' clocks move on a timer, so a long step does not look stuck.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer
from PySide6.QtGui import QBrush, QIcon
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from gui.azure.steps import StepEvent, StepSpec, StepState
from gui.qt import icons
from gui.qt.i18n import render_text
from gui.qt.style import Tone, brush
from gui.qt.widgets.measures import format_duration

_CONTEXT = "StepList"
STATE_LABELS = {
    StepState.PENDING: QT_TRANSLATE_NOOP("StepList", "Waiting"),
    StepState.RUNNING: QT_TRANSLATE_NOOP("StepList", "Running…"),
    StepState.DONE: QT_TRANSLATE_NOOP("StepList", "Done"),
    StepState.FAILED: QT_TRANSLATE_NOOP("StepList", "Failed"),
    StepState.SKIPPED: QT_TRANSLATE_NOOP("StepList", "Skipped"),
}
NOT_RUN = QT_TRANSLATE_NOOP("StepList", "Not run")  # a step after the failed one
STOPPED = QT_TRANSLATE_NOOP("StepList", "Stopped")  # a step running when the job stopped
_STATE_TONES = {
    StepState.DONE: Tone.OK,
    StepState.FAILED: Tone.ERROR,
    StepState.RUNNING: Tone.RUNNING,
}
# A done step shows a check: "info" said there was something to read when there was not.
_STATE_ICONS = {
    StepState.PENDING: "pending",
    StepState.DONE: "done",
    StepState.FAILED: "error",
    StepState.RUNNING: "refresh",
}
TITLE, STATE, DURATION, DETAILS = range(4)


def _tr(text: object) -> str:
    """A QT_TRANSLATE_NOOP-marked constant of this module (typed ``object`` by the stubs)."""
    return QCoreApplication.translate(_CONTEXT, str(text))


def state_label(state: StepState) -> str:
    return _tr(STATE_LABELS[state])


def step_duration(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds, tenths=True)


class StepList(QTreeWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("steps")
        self.setColumnCount(4)
        self.setHeaderLabels(
            [
                QCoreApplication.translate("StepList", "Step"),
                QCoreApplication.translate("StepList", "State"),
                QCoreApplication.translate("StepList", "Duration"),
                QCoreApplication.translate("StepList", "Details"),
            ]
        )
        self.setAccessibleName(QCoreApplication.translate("StepList", "Steps"))
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        header = self.header()
        header.setSectionResizeMode(TITLE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATE, QHeaderView.ResizeMode.Fixed)
        widest = max(
            self.fontMetrics().horizontalAdvance(text)
            for text in (
                *map(_tr, STATE_LABELS.values()),
                _tr(NOT_RUN),
                _tr(STOPPED),
                self.headerItem().text(STATE),
            )
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
            self._row(step, planned=True)

    def _row(self, step: StepSpec, *, planned: bool = False) -> QTreeWidgetItem:
        item = self._rows.get(step.key)
        if item is None:
            title = render_text(step.title)
            item = QTreeWidgetItem([title, state_label(StepState.PENDING), "", ""])
            item.setToolTip(TITLE, render_text(step.change) if step.change else title)
            item.setIcon(TITLE, icons.icon(_STATE_ICONS[StepState.PENDING]))
            # A step the job adds while it runs goes before the steps still waiting (it runs
            # now), not below steps that come later.
            item.setData(TITLE, Qt.ItemDataRole.UserRole, step.key)
            count = self.topLevelItemCount()
            waiting = count if planned else next(
                (
                    index
                    for index in range(count)
                    if (row := self.topLevelItem(index)) is not None
                    and row.data(TITLE, Qt.ItemDataRole.UserRole) not in self.events
                ),
                count,
            )
            self.insertTopLevelItem(waiting, item)
            self._rows[step.key] = item
        return item

    def show_event(self, event: StepEvent) -> None:
        self.events[event.key] = event
        item = self._row(event.step)
        # The job's own title wins over the planned one (it may name what it found).
        item.setText(TITLE, render_text(event.title))
        item.setText(STATE, state_label(event.state))
        item.setText(DURATION, step_duration(event.seconds))
        details = render_text(event.message)
        if event.advice:
            advice = render_text(event.advice)
            details = f"{details}\n{advice}" if details else advice
        item.setText(DETAILS, details.splitlines()[0] if details else "")
        item.setToolTip(DETAILS, details)
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
                item.setText(STATE, _tr(NOT_RUN))
            elif event.state is StepState.RUNNING:
                item.setText(STATE, _tr(STOPPED))

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

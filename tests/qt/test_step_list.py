"""The one step list both wizards show: planned steps wait, events fill them in, late steps are
added, and a stopped job says which steps stopped and which never ran."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from gui.azure.steps import StepSpec, StepState, started
from gui.qt.widgets.step_list import DETAILS, DURATION, StepList

CHECK = StepSpec("check", "Check the VM")
IMAGE = StepSpec("create-image", "Create image", "Creates image web")
DELETE = StepSpec("delete-vm", "Delete VM")


def test_planned_steps_wait_and_events_fill_them_in(qtbot: QtBot) -> None:
    steps = StepList()
    qtbot.addWidget(steps)
    steps.set_steps([CHECK, IMAGE, DELETE])
    assert steps.states() == ["Waiting", "Waiting", "Waiting"]
    check = started(CHECK)
    steps.show_events([check, check.ended_as(StepState.DONE, "web is running")])
    image = started(IMAGE)
    steps.show_event(image.running("accepted"))
    assert steps.states() == ["Done", "Running…", "Waiting"]
    row = steps.topLevelItem(1)
    assert row is not None and row.text(DETAILS) == "accepted"
    assert steps.topLevelItem(0) is not None
    assert steps.finished_count() == 1
    steps.show_event(image.ended_as(StepState.FAILED, "OperationNotAllowed: no"))
    steps.stop()
    assert steps.states() == ["Done", "Failed", "Not run"]
    done = steps.topLevelItem(0)
    assert done is not None and done.text(DURATION).endswith(" s")


def test_steps_announced_while_running_are_added_and_stop_marks_them(qtbot: QtBot) -> None:
    steps = StepList()
    qtbot.addWidget(steps)
    steps.set_steps([])
    replicate = started(StepSpec("replicate:westeurope", "Replicate to westeurope"))
    steps.show_event(replicate)
    steps.show_event(replicate.running("40%"))
    assert steps.topLevelItemCount() == 1
    steps.stop()
    assert steps.states() == ["Stopped"]

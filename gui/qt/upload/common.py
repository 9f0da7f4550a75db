"""What the upload wizard's pages share: the context from the window, names, async pages."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QFormLayout,
    QLabel,
    QLayout,
    QWidget,
    QWizardPage,
)

from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet


@dataclass
class UploadContext:
    """What the wizard needs from the window: the session and the scope it shows."""

    session: Any
    subscription_id: str
    location: str
    subscriptions: list[tuple[str, str]] = field(default_factory=list)
    locations: list[tuple[str, str]] = field(default_factory=list)
    # The user's defaults from the settings ("" = none: the page asks).
    resource_group: str = ""
    disk_sku: str = ""


def default_name(path: Path, prefix: str = "") -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]", "-", path.stem).strip("-_.") or "disk"
    return f"{prefix}{stem}"[:80].rstrip("-.")


class AsyncPage(QWizardPage):
    """A page that starts coroutines on the GUI loop and cancels them when the wizard goes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tasks = TaskSet(type(self).__name__)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro)

    def cancel_tasks(self) -> None:
        self._tasks.cancel_all()


FormRow = tuple[str, QWidget | QLayout]


def form(*rows: FormRow) -> QWidget:
    """A widget of labelled rows (label, field), for one choice's fields on a page."""
    widget = QWidget()
    layout = QFormLayout(widget)
    for label, part in rows:
        # Two overloads of addRow: the isinstance picks the one the type checker can see.
        if isinstance(part, QLayout):
            layout.addRow(label, part)
        else:
            layout.addRow(label, part)
    return widget


def note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def problem_label() -> QLabel:
    label = QLabel()
    label.setObjectName("problems")
    label.setWordWrap(True)
    label.setStyleSheet(text_style(Tone.ERROR))
    return label


class PlanPage(AsyncPage):
    """A page that answers for one part of the plan: complete when that part has no problems,
    which ``problems`` lists under the fields as they change."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.problems = problem_label()

    def problem_list(self) -> list[str]:
        raise NotImplementedError

    def show_problems(self) -> None:
        # Engine texts (naming rules) come as Text: shown in the window's language.
        self.problems.setText("\n".join(render_text(text) for text in self.problem_list()))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.problem_list()

    def cleanupPage(self) -> None:
        pass  # going back keeps what was entered (QWizard would reset the fields)

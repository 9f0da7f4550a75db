"""What the capture wizard's pages share: the host they ask for their inputs, and their labels.

Each page answers for its own part of the plan (the VM, a ``Preparation``, a ``CaptureTarget``)
and reads what it depends on (the chosen VM, the preparation) from its host; only the wizard
composes the plan. The pages know the host by this protocol, not by the wizard's class, so the
wizard module can import the pages without the pages importing it back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel

from gui.azure.account.session import AzureSession
from gui.azure.capture.plan import CapturePlan, CaptureTarget, Preparation
from gui.azure.capture.vms import VmInfo
from gui.azure.errors import AzureServiceError
from gui.i18n import Localizable
from gui.qt.i18n import render_text
from gui.qt.style import Tone, text_style

Named = TypeVar("Named", bound=QObject)


class CaptureHost(Protocol):
    """The wizard as its pages see it."""

    session: AzureSession
    subscription_id: str
    location: str  # the region the user browses: where the image is likely used

    @property
    def compute(self) -> Any: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

    def chosen_vm(self) -> VmInfo | None: ...

    def preparation(self) -> Preparation: ...

    def plan_with(self, target: CaptureTarget) -> CapturePlan: ...


def named(widget: Named, object_name: str) -> Named:
    """``widget`` with its object name (what tests and style sheets find it by)."""
    widget.setObjectName(object_name)
    return widget


def problem_label(object_name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setStyleSheet(text_style(Tone.ERROR))
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.hide()
    return label


def show_problems(label: QLabel, problems: list[str]) -> None:
    label.setText("\n".join(f"✗ {text}" for text in problems))
    label.setVisible(bool(problems))


def error_text(error: AzureServiceError) -> str:
    """An Azure error with its advice, in the window's language where the error carries its
    message parts (``Localizable``); else its English text with code, advice and request id."""
    return render_text(error) if isinstance(error, Localizable) else error.user_text()

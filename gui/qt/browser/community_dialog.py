"""Adding a community gallery by its public name, checked with Azure before the dialog closes.

A name Azure does not know in this region is said inside the dialog, with where to find the
right one, and the typed text stays selected to correct: a message box after the dialog had
closed made the user open it again and type the whole prefix-GUID name anew.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import CatalogNode
from gui.azure.errors import AzureServiceError
from gui.qt.browser.tree_model import error_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet

AddGallery = Callable[[str], Awaitable[CatalogNode]]


class CommunityGalleryDialog(QDialog):
    """Asks for the public name; ``added`` carries the gallery's node once Azure knows it."""

    added = Signal(object)

    def __init__(
        self, add: AddGallery, location: str, parent: QWidget | None = None, name: str = ""
    ) -> None:
        super().__init__(parent)
        self.setObjectName("communityGalleryDialog")
        self.setWindowTitle(self.tr("Add community gallery"))
        self._add = add
        self._tasks = TaskSet("community gallery dialog")
        self._checking = False

        self.name_edit = QLineEdit(name)
        self.name_edit.setObjectName("communityGalleryName")
        self.name_edit.setPlaceholderText(self.tr("e.g. ContosoImages-1a2b3c4d-5e6f-…"))
        self.name_edit.setAccessibleName(self.tr("Public name of the community gallery"))
        self.name_edit.setClearButtonEnabled(True)
        label = QLabel(self.tr("&Public name:"))
        label.setBuddy(self.name_edit)
        hint = QLabel(
            self.tr(
                "The name its publisher shares, as the Azure portal lists it under Community "
                "galleries (prefix-GUID). It is looked up in {location}."
            ).format(location=location)
        )
        hint.setWordWrap(True)
        self.error_label = QLabel()
        self.error_label.setObjectName("communityGalleryError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setStyleSheet(text_style(Tone.ERROR, self.palette()))
        self.error_label.setAccessibleName(self.tr("Problem"))
        self.error_label.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.add_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.add_button.setText(self.tr("&Add"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.name_edit.textChanged.connect(self._update)

        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.name_edit)
        layout.addWidget(hint)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)
        self._update()

    @property
    def checking(self) -> bool:
        """True while Azure is asked about the name."""
        return self._checking

    def _update(self) -> None:
        self.add_button.setEnabled(bool(self.name_edit.text().strip()) and not self.checking)

    def accept(self) -> None:
        """Checks the name with Azure; the dialog closes only when the gallery was found."""
        name = self.name_edit.text().strip()
        if not name or self.checking:
            return
        self.error_label.hide()
        self.name_edit.setEnabled(False)
        self._checking = True
        self._update()
        self._tasks.spawn(self._check(name))

    async def _check(self, name: str) -> None:
        node: CatalogNode | None = None
        problem = ""
        try:
            node = await self._add(name)
        except AzureServiceError as error:
            problem = error_text(error)
        finally:  # also when cancelled: the dialog is usable again
            self._checking = False
            self.name_edit.setEnabled(True)
        if node is None:
            self._show_problem(problem)
            return
        self.added.emit(node)
        super().accept()

    def _show_problem(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.show()
        # the name stays, selected: type over it, or fix the one wrong character
        self.name_edit.setFocus()
        self.name_edit.selectAll()
        self._update()

    def done(self, result: int) -> None:
        self._tasks.cancel_all()
        super().done(result)

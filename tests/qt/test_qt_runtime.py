"""Guards against a Qt binding that corrupts the interpreter.

PySide6 6.12.0 returns None from void methods (QLabel.setText, QStandardItem.setData, …) without
taking a reference; on Python 3.11, where None is not immortal, the app aborted with
"deallocating None" after some ten thousand calls. pyproject.toml keeps that release out.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import QApplication, QLabel


def test_void_methods_keep_the_reference_count_of_none(qapp: QApplication) -> None:
    label = QLabel()
    item = QStandardItem("row")
    before = sys.getrefcount(None)
    for _ in range(2000):
        label.setText("x")
        item.setData("value", Qt.ItemDataRole.UserRole + 1)
        item.data(Qt.ItemDataRole.UserRole + 2)  # a role with no data: None comes back
    assert abs(sys.getrefcount(None) - before) < 100

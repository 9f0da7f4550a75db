"""Sign in to Azure with a browser window or a device code, without blocking the window."""

from __future__ import annotations

import asyncio
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui.azure.clouds import CLOUDS
from gui.azure.errors import AzureServiceError
from gui.azure.signin import SignInMethod, interactive_session


class SignInDialog(QDialog):
    signed_in = Signal(object)
    device_code_received = Signal(str, str)

    def __init__(self, parent: QWidget | None, cloud_name: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to Azure")
        self.setMinimumWidth(460)
        self.cloud_box = QComboBox()
        for cloud in CLOUDS.values():
            self.cloud_box.addItem(cloud.title, cloud.name)
        self.cloud_box.setCurrentIndex(max(0, self.cloud_box.findData(cloud_name)))
        self.method_box = QComboBox()
        self.method_box.addItem("Browser window", SignInMethod.BROWSER.value)
        self.method_box.addItem(
            "Device code (sign in on another device)", SignInMethod.DEVICE_CODE.value
        )
        self.tenant_edit = QLineEdit()
        self.tenant_edit.setPlaceholderText("optional: tenant ID or domain")
        form = QFormLayout()
        form.addRow("Cloud:", self.cloud_box)
        form.addRow("Method:", self.method_box)
        form.addRow("Tenant:", self.tenant_edit)
        self.status = QLabel(
            "Tip: if you use the Azure CLI, `az login` once and the app signs in by itself."
        )
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.status.setOpenExternalLinks(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Sign in")
        self.buttons.accepted.connect(self._start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.device_code_received.connect(self._show_device_code)
        self._task: asyncio.Task[None] | None = None

    def _start(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.status.setText("Waiting for you to finish signing in…")
        self._task = asyncio.get_event_loop().create_task(self._sign_in())

    def _device_code(self, uri: str, code: str, _expires: datetime) -> None:
        # called on azure-identity's worker thread: hop to the GUI thread through a signal
        self.device_code_received.emit(uri, code)

    def _show_device_code(self, uri: str, code: str) -> None:
        self.status.setText(
            f'Open <a href="{uri}">{uri}</a> on any device and enter the code '
            f"<b style='font-size:14pt'>{code}</b>. This window continues by itself."
        )

    async def _sign_in(self) -> None:
        cloud = CLOUDS[str(self.cloud_box.currentData())]
        method = SignInMethod(str(self.method_box.currentData()))
        try:
            session = await interactive_session(
                cloud,
                method,
                tenant_id=self.tenant_edit.text().strip() or None,
                device_code_prompt=self._device_code,
            )
        except AzureServiceError as exc:
            self.status.setText(f"<b>Sign-in failed.</b> {exc.message}<br>{exc.advice}")
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            return
        self.signed_in.emit(session)
        self.accept()

    def reject(self) -> None:
        if self._task is not None:
            self._task.cancel()
        super().reject()

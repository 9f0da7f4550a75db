"""Sign in to Azure with a browser window or a device code, without blocking the window."""

from __future__ import annotations

import asyncio
import contextlib
import html
import threading
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui.azure.account.clouds import CLOUDS, remember_cloud
from gui.azure.account.signin import (
    SignInMethod,
    TokenCacheMode,
    TokenCachePlan,
    interactive_session,
    token_cache_plan,
)
from gui.azure.errors import AzureServiceError
from gui.i18n import Localizable
from gui.qt.i18n import format_datetime, render_text


class SignInDialog(QDialog):
    signed_in = Signal(object)
    device_code_received = Signal(str, str, object)
    cache_plan_ready = Signal(object)

    def __init__(self, parent: QWidget | None, cloud_name: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Sign in to Azure"))
        self.setMinimumWidth(460)
        self.cloud_box = QComboBox()
        for cloud in CLOUDS.values():
            self.cloud_box.addItem(cloud.title, cloud.name)
        self.cloud_box.setCurrentIndex(max(0, self.cloud_box.findData(cloud_name)))
        self.method_box = QComboBox()
        self.cloud_box.setAccessibleName(self.tr("Cloud"))
        self.method_box.addItem(self.tr("Browser window"), SignInMethod.BROWSER.value)
        self.method_box.addItem(
            self.tr("Device code (sign in on another device)"), SignInMethod.DEVICE_CODE.value
        )
        self.method_box.setAccessibleName(self.tr("Sign-in method"))
        self.tenant_edit = QLineEdit()
        self.tenant_edit.setPlaceholderText(self.tr("optional: tenant ID or domain"))
        self.tenant_edit.setAccessibleName(self.tr("Tenant"))
        self.memory_only = QCheckBox(
            self.tr("&Keep the sign-in in memory only (sign in again next time)")
        )
        self.memory_only.toggled.connect(self._show_cache_note)
        # Where the tokens will live, said before signing in: on a Linux desktop without
        # libsecret that is an unencrypted file, and the user may prefer memory only.
        self.cache_note = QLabel(self.tr("Checking where the sign-in can be kept…"))
        self.cache_note.setObjectName("cacheNote")
        self.cache_note.setWordWrap(True)
        self.cache_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._persistent_plan: TokenCachePlan | None = None
        form = QFormLayout()
        # addRow with a text makes the label the field's buddy: Alt+C, Alt+M, Alt+T.
        form.addRow(self.tr("&Cloud:"), self.cloud_box)
        form.addRow(self.tr("&Method:"), self.method_box)
        form.addRow(self.tr("&Tenant:"), self.tenant_edit)
        form.addRow("", self.memory_only)
        form.addRow("", self.cache_note)
        self.status = QLabel(
            self.tr(
                "Tip: if you use the Azure CLI, `az login` once and the app signs in by itself."
            )
        )
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.status.setOpenExternalLinks(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(self.tr("&Sign in"))
        self.buttons.accepted.connect(self._start)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.device_code_received.connect(self._show_device_code)
        self._task: asyncio.Task[None] | None = None
        # The keyring probe may talk to D-Bus (and wait on it): never on the GUI thread. A plain
        # thread and a queued signal, so the dialog needs no running event loop to open.
        self.cache_plan_ready.connect(self._use_cache_plan)
        threading.Thread(target=self._probe_cache, name="ais-keyring-probe", daemon=True).start()

    @property
    def cache_mode(self) -> TokenCacheMode:
        return TokenCacheMode.MEMORY if self.memory_only.isChecked() else TokenCacheMode.PERSISTENT

    def _probe_cache(self) -> None:
        plan = token_cache_plan(TokenCacheMode.PERSISTENT)
        with contextlib.suppress(RuntimeError):  # the dialog was closed meanwhile
            self.cache_plan_ready.emit(plan)

    def _use_cache_plan(self, plan: TokenCachePlan) -> None:
        self._persistent_plan = plan
        self._show_cache_note()

    def _show_cache_note(self) -> None:
        if self.cache_mode is TokenCacheMode.MEMORY:
            self.cache_note.setText(render_text(token_cache_plan(TokenCacheMode.MEMORY).note))
        elif self._persistent_plan is not None:
            self.cache_note.setText(render_text(self._persistent_plan.note))

    def _start(self) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.status.setText(self.tr("Waiting for you to finish signing in…"))
        self._task = asyncio.get_event_loop().create_task(self._sign_in())

    def _device_code(self, uri: str, code: str, expires: datetime) -> None:
        # called on azure-identity's worker thread: hop to the GUI thread through a signal
        self.device_code_received.emit(uri, code, expires)

    def _show_device_code(self, uri: str, code: str, expires: datetime) -> None:
        link = f'<a href="{html.escape(uri)}">{html.escape(uri)}</a>'
        self.status.setText(
            self.tr(
                "Open {link} on any device and enter the code {code}. The code is valid until "
                "{time}; this window continues by itself."
            ).format(
                link=link,
                code=f"<b style='font-size:14pt'>{html.escape(code)}</b>",
                time=html.escape(format_datetime(expires)),
            )
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
                cache_mode=self.cache_mode,
            )
        except AzureServiceError as exc:
            reason = render_text(exc) if isinstance(exc, Localizable) else exc.user_text()
            self.status.setText(
                self.tr("<b>Sign-in failed.</b> {reason}").format(
                    reason=html.escape(reason).replace("\n", "<br>")
                )
            )
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
            return
        await asyncio.to_thread(remember_cloud, cloud)  # the next start uses this cloud
        self.signed_in.emit(session)
        self.accept()

    def reject(self) -> None:
        if self._task is not None:
            self._task.cancel()
        super().reject()

"""A Marketplace image's purchase plan and its terms in the subscription, with Accept and Cancel.

Shown under the disks of a Marketplace image that has a plan. Without accepted terms Azure refuses
every VM from the image, after the user filled in everything; here the state is read as soon as
the image is shown and one click (after a confirmation with the three documents' links) accepts
the terms for the subscription, as `az vm image terms accept` does.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import PurchasePlan
from gui.azure.errors import AzureServiceError
from gui.azure.terms import MarketplaceTerms, TermsState
from gui.qt.i18n import format_datetime, render_text
from gui.qt.style import Tone, text_style
from gui.qt.tasks import TaskSet


class TermsBox(QGroupBox):
    """The plan, the terms' state in the subscription, and the buttons to change it.

    ``terms_changed`` carries the new TermsState after an accept or a cancel."""

    terms_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("termsBox")
        self.setTitle(self.tr("Marketplace terms"))
        self._tasks = TaskSet("terms box")
        self._service: MarketplaceTerms | None = None
        self._plan: PurchasePlan | None = None
        self._subscription_name = ""
        self.state: TermsState | None = None
        self.confirmation: QMessageBox | None = None

        self.plan_label = QLabel()
        self.plan_label.setObjectName("termsPlan")
        self.plan_label.setWordWrap(True)
        self.state_label = QLabel()
        self.state_label.setObjectName("termsState")
        self.state_label.setWordWrap(True)
        self.state_label.setAccessibleName(self.tr("State of the terms"))
        self.links_label = QLabel()
        self.links_label.setObjectName("termsLinks")
        self.links_label.setOpenExternalLinks(True)
        self.links_label.setWordWrap(True)
        self.accept_button = QPushButton(self.tr("&Accept terms…"))
        self.accept_button.setObjectName("acceptTerms")
        self.accept_button.setToolTip(
            self.tr("Accept the plan's terms for this subscription, so VMs can be made from it")
        )
        self.cancel_button = QPushButton(self.tr("&Withdraw acceptance…"))
        self.cancel_button.setObjectName("cancelTerms")
        self.cancel_button.setToolTip(
            self.tr("New VMs from this plan are refused again; running VMs keep running")
        )
        self.accept_button.clicked.connect(self._ask_accept)
        self.cancel_button.clicked.connect(self._ask_cancel)

        buttons = QHBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plan_label)
        layout.addWidget(self.state_label)
        layout.addWidget(self.links_label)
        layout.addLayout(buttons)
        self.hide()

    @property
    def busy(self) -> bool:
        """True while Azure is asked (reading, accepting or withdrawing)."""
        return self._tasks.busy

    def shows(self, plan: PurchasePlan, subscription: str) -> bool:
        """True when the box already shows (or is reading) ``plan`` in ``subscription``."""
        return (
            self._plan == plan
            and self._subscription_name == subscription
            and (self.busy or self.state is not None)
        )

    def show_plan(
        self, plan: PurchasePlan | None, service: MarketplaceTerms | None, subscription: str = ""
    ) -> None:
        """Shows ``plan`` and reads its terms with ``service``; hides the box without a plan."""
        self._tasks.cancel_all()
        self._plan, self._service, self._subscription_name = plan, service, subscription
        self.state = None
        if plan is None or service is None:
            self.hide()
            return
        self.plan_label.setText(
            self.tr("Plan {plan} of {product} by {publisher}").format(
                plan=plan.name, product=plan.product, publisher=plan.publisher
            )
        )
        self._show_message(self.tr("Reading the terms in this subscription…"), None)
        self.links_label.clear()
        self._set_buttons()
        self.show()
        self._tasks.spawn(self._run(service.state(plan)))

    def _set_buttons(self) -> None:
        """Accept while not accepted, Withdraw once accepted; both wait for a known state."""
        accepted = self.state is not None and self.state.accepted
        self.accept_button.setVisible(not accepted)
        self.cancel_button.setVisible(accepted)
        self.accept_button.setEnabled(self.state is not None)
        self.cancel_button.setEnabled(self.state is not None)

    def _show_message(self, text: str, tone: Tone | None) -> None:
        self.state_label.setText(text)
        self.state_label.setStyleSheet(text_style(tone, self.palette()) if tone else "")

    def _show_state(self, state: TermsState) -> None:
        self.state = state
        if state.accepted:
            when = format_datetime(state.accepted_at) if state.accepted_at else ""
            text = (
                self.tr("Accepted in this subscription on {date}.").format(date=when)
                if when
                else self.tr("Accepted in this subscription.")
            )
            self._show_message(text, Tone.OK)
        else:
            self._show_message(
                self.tr(
                    "Not accepted in this subscription: Azure refuses VMs from this image "
                    "until they are."
                ),
                Tone.WARNING,
            )
        links = [
            (state.license_link, self.tr("Publisher's license")),
            (state.privacy_link, self.tr("Privacy policy")),
            (state.marketplace_terms_link, self.tr("Azure Marketplace terms")),
        ]
        self.links_label.setText(
            " · ".join(
                f'<a href="{html.escape(url, quote=True)}">{html.escape(text, quote=False)}</a>'
                for url, text in links
                if url.startswith("https://")
            )
        )

    async def _run(self, work: Awaitable[TermsState]) -> None:
        try:
            state = await work
        except AzureServiceError as error:
            self._show_message(render_text(error), Tone.ERROR)
        else:
            self._show_state(state)
        self._set_buttons()

    # ---- accept / cancel, each after a confirmation (never exec() inside a coroutine) -------

    def _confirm(self, title: str, text: str, yes: str, then: Callable[[], None]) -> None:
        box = self.confirmation = QMessageBox(self)
        box.setObjectName("termsConfirmation")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle(title)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(text)
        confirm = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def done() -> None:
            if box.clickedButton() is confirm:
                then()
            box.deleteLater()
            self.confirmation = None

        box.finished.connect(done)
        box.open()

    def _ask_accept(self) -> None:
        state, service = self.state, self._service
        if state is None or service is None:
            return
        links = self.links_label.text() or self.tr("(Azure gave no links)")
        self._confirm(
            self.tr("Accept Marketplace terms"),
            self.tr(
                "<p>Accept the terms of plan <b>{plan}</b> ({product}, {publisher}) for the "
                "subscription <b>{subscription}</b>?</p><p>You agree to the publisher's terms "
                "and the Azure Marketplace terms: {links}</p><p>Software costs of the plan are "
                "billed with the VMs made from it.</p>"
            ).format(
                plan=html.escape(state.plan.name),
                product=html.escape(state.plan.product),
                publisher=html.escape(state.plan.publisher),
                subscription=html.escape(self._subscription_name or "—"),
                links=links,
            ),
            self.tr("Accept terms"),
            lambda: self._change(service.accept(state.plan)),
        )

    def _ask_cancel(self) -> None:
        state, service = self.state, self._service
        if state is None or service is None:
            return
        self._confirm(
            self.tr("Withdraw acceptance"),
            self.tr(
                "<p>Withdraw the acceptance of plan <b>{plan}</b> for the subscription "
                "<b>{subscription}</b>?</p><p>Azure then refuses new VMs from this plan; VMs "
                "that run keep running.</p>"
            ).format(
                plan=html.escape(state.plan.name),
                subscription=html.escape(self._subscription_name or "—"),
            ),
            self.tr("Withdraw"),
            lambda: self._change(service.cancel(state.plan)),
        )

    def _change(self, work: Awaitable[TermsState]) -> None:
        self.accept_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self._show_message(self.tr("Asking Azure…"), None)
        self._tasks.spawn(self._changed(work))

    async def _changed(self, work: Awaitable[TermsState]) -> None:
        before = self.state
        await self._run(work)
        if self.state is not None and self.state is not before:
            self.terms_changed.emit(self.state)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._tasks.cancel_all()
        super().closeEvent(event)

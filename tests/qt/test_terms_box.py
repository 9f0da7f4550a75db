"""The Marketplace terms box (issue 12) on the sandbox over HTTP: the state is read when a plan
image is shown, accepted after a confirmation, withdrawn again, and an error says what failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import PurchasePlan
from gui.azure.terms import MarketplaceTerms
from gui.qt.app_controller import AppController
from gui.qt.browser.terms_box import TermsBox
from gui.qt.main_window import MainWindow
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from tests.qt.helpers import AsyncRunner, open_path, sandbox_sessions, select

pytestmark = pytest.mark.gui

PLAN = PurchasePlan("RedHat", "rhel-byos", "rhel-lvm94-gen2")


def _answer(qtbot: QtBot, box: TermsBox, role: QMessageBox.ButtonRole) -> str:
    """Clicks the confirmation's button of ``role``; returns the confirmation's text."""
    qtbot.waitUntil(lambda: box.confirmation is not None and box.confirmation.isVisible())
    confirmation = box.confirmation
    assert confirmation is not None
    text = confirmation.text()
    button = next(b for b in confirmation.buttons() if confirmation.buttonRole(b) is role)
    button.click()
    return text


def test_terms_are_read_accepted_after_confirming_and_withdrawn(
    qtbot: QtBot, run: AsyncRunner, fresh_sandbox: Any
) -> None:
    box = TermsBox()
    qtbot.addWidget(box)
    with sandbox_sessions(run, fresh_sandbox.arm_url) as session:
        terms = MarketplaceTerms(session(), PRODUCTION_SUBSCRIPTION_ID)
        box.show_plan(PLAN, terms, "Contoso Production")
        assert box.isVisible() or not box.isHidden()
        assert "rhel-lvm94-gen2" in box.plan_label.text()
        qtbot.waitUntil(lambda: box.state is not None and not box.busy)
        assert "Not accepted" in box.state_label.text()
        assert box.accept_button.isEnabled() and not box.accept_button.isHidden()
        assert box.cancel_button.isHidden()
        assert "Publisher's license" in box.links_label.text()

        # Cancelled in the confirmation: nothing is sent, nothing changes.
        box.accept_button.click()
        _answer(qtbot, box, QMessageBox.ButtonRole.RejectRole)
        assert not run(terms.state(PLAN)).accepted

        with qtbot.waitSignal(box.terms_changed, timeout=10_000) as changed:
            box.accept_button.click()
            text = _answer(qtbot, box, QMessageBox.ButtonRole.AcceptRole)
        assert "Contoso Production" in text and "rhel-lvm94-gen2" in text
        assert changed.args is not None and changed.args[0].accepted
        assert "Accepted in this subscription" in box.state_label.text()
        assert box.accept_button.isHidden() and not box.cancel_button.isHidden()
        assert run(terms.state(PLAN)).accepted  # in Azure, not only on screen

        with qtbot.waitSignal(box.terms_changed, timeout=10_000):
            box.cancel_button.click()
            _answer(qtbot, box, QMessageBox.ButtonRole.AcceptRole)
        assert "Not accepted" in box.state_label.text()
        assert not run(terms.state(PLAN)).accepted


def test_an_image_without_a_plan_hides_the_box_and_an_error_is_said(
    qtbot: QtBot, run: AsyncRunner, sandbox: Any
) -> None:
    box = TermsBox()
    qtbot.addWidget(box)
    with sandbox_sessions(run, sandbox.arm_url) as session:
        terms = MarketplaceTerms(session(), PRODUCTION_SUBSCRIPTION_ID)
        box.show_plan(None, terms)
        assert box.isHidden()
        box.show_plan(PurchasePlan("RedHat", "rhel-byos", "no-such-plan"), terms)
        qtbot.waitUntil(lambda: not box.busy and "Reading" not in box.state_label.text())
        assert box.state is None
        assert box.state_label.text()  # Azure's refusal, with advice, not a traceback
        assert not box.accept_button.isEnabled()


@pytest.mark.qt_log_ignore("This plugin does not support")
def test_the_detail_pane_shows_a_plan_images_terms_and_accepts_them(
    controller: AppController,
    window: MainWindow,
    qtbot: QtBot,
    run: AsyncRunner,
    new_session: Callable[[], AzureSession],
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    box = window.detail_pane.terms_box
    sku = open_path(window, qtbot, "Azure Marketplace", "RedHat", "rhel-byos", "rhel-lvm94-gen2")
    select(window, qtbot, window.tree_model.index(0, 0, sku))
    assert not box.isHidden()
    qtbot.waitUntil(lambda: box.state is not None and not box.busy)
    assert "Not accepted" in box.state_label.text()
    with qtbot.waitSignal(box.terms_changed, timeout=10_000):
        box.accept_button.click()
        text = _answer(qtbot, box, QMessageBox.ButtonRole.AcceptRole)
    assert "Contoso Production" in text  # the subscription shown, by its name
    assert box.state is not None and box.state.accepted

    # An image without a plan: no box.
    plain = open_path(window, qtbot, "Azure Marketplace", "Canonical", "ubuntu-24_04-lts", "server")
    select(window, qtbot, window.tree_model.index(0, 0, plain))
    assert box.isHidden()
    # Back to the plan image: read again, and accepted now (in Azure, not in the widget).
    select(window, qtbot, window.tree_model.index(0, 0, sku))
    qtbot.waitUntil(lambda: box.state is not None and not box.busy)
    assert "Accepted in this subscription" in box.state_label.text()

"""The Create VM / Test boot dialog (issue 12, Deliver 5) on the sandbox over HTTP: accept a plan's
terms and create a VM from it; a test boot of a good image passes and one of a bad image fails
with the cause, and neither leaves a resource group behind."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QMenu, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, NodeRef, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.vm_create.request import Mode
from gui.azure.vm_create.verdict import Outcome
from gui.qt.create_vm.actions import VmActions, is_image_node
from gui.qt.create_vm.dialog import CreateVmDialog
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.vms import RG_VMS, VM_LINUX
from tests.qt.helpers import AsyncRunner, sandbox_sessions

pytestmark = pytest.mark.gui

SUB = PRODUCTION_SUBSCRIPTION_ID
LOCATION = "westeurope"
KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGhvc3QtYS10ZXN0LWtleS1mb3Itc2FuZGJveA"
    " admin@laptop"
)
SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots"))


@pytest.fixture
def session(run: AsyncRunner, fresh_sandbox: SandboxServer) -> Iterator[AzureSession]:
    with sandbox_sessions(run, fresh_sandbox.arm_url) as make:
        yield make()


def _marketplace(
    run: AsyncRunner, session: AzureSession, parts: tuple[str, str, str]
) -> ImageDetail:
    catalog = Catalog(session, Scope(SUB, LOCATION))
    ref = NodeRef(SourceKind.MARKETPLACE, parts)
    versions = run(catalog.children(CatalogNode(ref, NodeKind.SKU, parts[-1])))
    return run(catalog.detail(versions[0]))


def _not_deprovisioned(run: AsyncRunner, session: AzureSession) -> ImageDetail:
    """A managed image of a VM marked generalized whose guest never ran waagent -deprovision."""
    compute: Any = session.compute(SUB)

    async def make() -> ImageDetail:
        await (await compute.virtual_machines.begin_deallocate(RG_VMS, VM_LINUX)).result()
        await compute.virtual_machines.generalize(RG_VMS, VM_LINUX)
        vm = await compute.virtual_machines.get(RG_VMS, VM_LINUX)
        body = {"location": LOCATION, "properties": {
            "sourceVirtualMachine": {"id": vm.id}, "hyperVGeneration": "V2"}}
        await (await compute.images.begin_create_or_update(RG_VMS, "img-web-golden", body)
               ).result()
        catalog = Catalog(session, Scope(SUB, LOCATION))
        return await catalog.detail(CatalogNode(
            NodeRef(SourceKind.MANAGED, (RG_VMS, "img-web-golden")), NodeKind.IMAGE,
            "img-web-golden", is_image=True))

    return run(make())


def _groups(run: AsyncRunner, session: AzureSession) -> list[str]:
    async def names() -> list[str]:
        return sorted(
            [str(g.name) async for g in session.resources(SUB).resource_groups.list()])
    return run(names())


def _dialog(
    qtbot: QtBot, session: AzureSession, detail: ImageDetail, mode: Mode
) -> CreateVmDialog:
    dialog = CreateVmDialog(session, SUB, detail, mode,
                            locations=[(LOCATION, "West Europe"), ("northeurope", "North Europe")],
                            default_location=LOCATION, subscription_name="Contoso Production")
    qtbot.addWidget(dialog)
    dialog.resize(900, 760)
    dialog.open()
    qtbot.waitUntil(lambda: dialog.size_box.count() > 0, timeout=10_000)
    return dialog


def _run_to_end(qtbot: QtBot, dialog: CreateVmDialog, timeout: int = 30_000) -> Any:
    with qtbot.waitSignal(dialog.finished_run, timeout=timeout) as finished:
        dialog.start_button.click()
    assert finished.args is not None
    return finished.args[0]


def _shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / name))


def _answer_terms(qtbot: QtBot, dialog: CreateVmDialog) -> None:
    box = dialog.terms_box
    qtbot.waitUntil(lambda: box.confirmation is not None and box.confirmation.isVisible())
    confirmation = box.confirmation
    assert confirmation is not None
    button = next(b for b in confirmation.buttons()
                  if confirmation.buttonRole(b) is QMessageBox.ButtonRole.AcceptRole)
    button.click()


def test_accept_terms_and_create_a_vm_from_a_plan_image(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession
) -> None:
    detail = _marketplace(run, session, ("RedHat", "rhel-byos", "rhel-lvm94-gen2"))
    dialog = _dialog(qtbot, session, detail, Mode.CREATE)
    box = dialog.terms_box
    qtbot.waitUntil(lambda: box.state is not None and not box.busy, timeout=10_000)
    assert not box.isHidden() and "Not accepted" in box.state_label.text()
    dialog.name_edit.setText("vm-rhel-01")
    dialog.group_box.setEditText("rg-rhel")
    dialog.key_edit.setText(KEY)
    _shot(dialog, "create_vm_dialog.png")

    # Started without the terms: refused in the check, nothing made, the terms offered.
    executor = _run_to_end(qtbot, dialog)
    assert executor.failed is not None and executor.failed.key == "check"
    assert "not accepted" in dialog.verdict_label.text()
    assert not dialog.start_button.isHidden() and dialog.start_button.isEnabled()
    assert "rg-rhel" not in _groups(run, session)

    with qtbot.waitSignal(box.terms_changed, timeout=10_000):
        box.accept_button.click()
        _answer_terms(qtbot, dialog)
    assert dialog.problems_now() == []
    executor = _run_to_end(qtbot, dialog)
    assert executor.failed is None, executor.failed
    assert dialog.steps.states()[-1] == "Done"
    assert "vm-rhel-01 was created in rg-rhel" in dialog.verdict_label.text()
    compute: Any = session.compute(SUB)

    async def get() -> Any:
        return await compute.virtual_machines.get("rg-rhel", "vm-rhel-01")

    vm = run(get())
    assert vm.plan is not None and vm.plan.name == "rhel-lvm94-gen2"
    assert dialog.password_edit.text() == ""  # the form never keeps a secret after use


def test_a_good_test_boot_passes_and_leaves_nothing_behind(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession
) -> None:
    before = _groups(run, session)
    detail = _marketplace(run, session, ("Canonical", "ubuntu-24_04-lts", "server"))
    dialog = _dialog(qtbot, session, detail, Mode.TEST_BOOT)
    assert dialog.group_box.currentText().startswith("rg-testboot-canonical-ubuntu")
    assert not dialog.group_box.isEditable() and dialog.name_edit.isReadOnly()
    assert dialog.public_ip_check.isHidden()  # a test boot never puts a VM on the internet
    dialog.key_edit.setText(KEY)
    executor = _run_to_end(qtbot, dialog)
    assert executor.verdict.outcome is Outcome.PASSED
    assert "The image boots." in dialog.verdict_label.text()
    log = dialog.serial.toPlainText()
    assert "Provisioning complete" in log and log.count("Linux version") == 1
    assert "deleted; nothing is left behind" in dialog.cleanup_label.text()
    assert _groups(run, session) == before


def test_a_bad_test_boot_fails_with_the_cause_and_leaves_nothing_behind(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession
) -> None:
    detail = _not_deprovisioned(run, session)
    before = _groups(run, session)
    dialog = _dialog(qtbot, session, detail, Mode.TEST_BOOT)
    dialog.key_edit.setText(KEY)
    executor = _run_to_end(qtbot, dialog)
    assert executor.verdict.outcome is Outcome.NOT_GENERALIZED
    text = dialog.verdict_label.text()
    assert "The image did not boot." in text and "not generalized" in text
    assert "waagent -deprovision+user" in dialog.advice_label.text()
    assert "did not finish in the allotted time" in dialog.advice_label.text()
    assert "Provisioning already completed" in dialog.serial.toPlainText()
    states = dict(zip([s.key for s in executor.steps], dialog.steps.states(), strict=False))
    assert states["provision"] == "Failed" and states["cleanup"] == "Done"
    assert _groups(run, session) == before
    _shot(dialog, "test_boot_failed.png")


def test_delete_now_stops_a_test_boot_and_removes_its_group(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession
) -> None:
    before = _groups(run, session)
    detail = _marketplace(run, session, ("Canonical", "ubuntu-24_04-lts", "server"))
    dialog = _dialog(qtbot, session, detail, Mode.TEST_BOOT)
    dialog.key_edit.setText(KEY)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: "Linux version" in dialog.serial.toPlainText(), timeout=20_000)
    assert not dialog.stop_button.isHidden()
    dialog.reject()  # Escape while it runs: stops and cleans up instead of closing
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    assert "deleted; nothing is left behind" in dialog.cleanup_label.text()
    assert _groups(run, session) == before
    dialog.reject()
    assert not dialog.isVisible()


def test_the_form_offers_only_what_the_image_allows(
    qtbot: QtBot, run: AsyncRunner, session: AzureSession
) -> None:
    arm = _marketplace(run, session, ("Canonical", "ubuntu-24_04-lts", "server-arm64"))
    dialog = _dialog(qtbot, session, arm, Mode.CREATE)
    sizes = [dialog.size_box.itemData(i) for i in range(dialog.size_box.count())]
    assert sizes == ["Standard_D2ps_v5", "Standard_D4ps_v5"]
    assert not dialog.public_ip_check.isHidden() and not dialog.public_ip_check.isChecked()
    assert "of this region run the image (Gen2, Arm64, Trusted launch)" in dialog.sizes_note.text()
    # every visible input has a buddy label and an accessible name
    labels = {label.buddy(): label for label in dialog.findChildren(QLabel) if label.buddy()}
    for widget in [*dialog.findChildren(QLineEdit), *dialog.findChildren(QComboBox)]:
        if widget.isVisibleTo(dialog) and widget.parent() is dialog:
            assert widget.accessibleName(), widget.objectName()
            assert widget in labels, widget.objectName()
    # invalid input is named, nothing is sent
    dialog.name_edit.setText("-bad-")
    dialog.group_box.setEditText("rg-arm")
    dialog.start_button.click()
    assert "A VM name has" in dialog.problems.text()
    assert "Give an SSH public key or a password." in dialog.problems.text()
    assert not dialog.running and "rg-arm" not in _groups(run, session)

    windows = _marketplace(run, session, ("MicrosoftWindowsServer", "WindowsServer",
                                          "2022-datacenter-g2"))
    dialog = _dialog(qtbot, session, windows, Mode.CREATE)
    assert [dialog.auth_box.itemData(i) for i in range(dialog.auth_box.count())] == ["password"]
    assert dialog.key_edit.isHidden() and not dialog.password_edit.isHidden()
    dialog.name_edit.setText("vm-win")
    dialog.group_box.setEditText("rg-win")
    dialog.password_edit.setText("Correct-Horse-42")
    dialog.confirm_edit.setText("Correct-Horse-43")
    dialog.start_button.click()
    assert "The two passwords differ" in dialog.problems.text()


def test_image_nodes_get_create_vm_and_test_boot(qtbot: QtBot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    registered: list[Callable[[QMenu, list[CatalogNode]], None]] = []
    window.add_node_actions = registered.append  # type: ignore[attr-defined]
    from gui.qt.create_vm.actions import install_vm_actions

    actions = install_vm_actions(window)
    assert registered == [actions.node_actions]
    version = CatalogNode(NodeRef(SourceKind.GALLERY, ("rg", "gal", "def", "1.0.0")),
                          NodeKind.VERSION, "1.0.0", is_image=True)
    vm = CatalogNode(NodeRef(SourceKind.VMS, ("rg", "vm")), NodeKind.VM, "vm", is_image=True)
    sku = CatalogNode(NodeRef(SourceKind.MARKETPLACE, ("p", "o", "s")), NodeKind.SKU, "s")
    assert is_image_node(version) and not is_image_node(vm) and not is_image_node(sku)
    menu = QMenu()
    actions.node_actions(menu, [version])
    assert [a.text() for a in menu.actions() if a.text()] == ["Create VM…", "Test boot…"]
    for nodes in ([vm], [sku], [version, version]):
        menu = QMenu()
        actions.node_actions(menu, nodes)
        assert not [a for a in menu.actions() if a.text()]
    assert isinstance(actions, VmActions)


def test_the_window_opens_the_dialog_for_an_image_node_and_a_wizard_s_result(
    qtbot: QtBot, run: AsyncRunner, connected: Any
) -> None:
    from gui.qt.create_vm.actions import install_vm_actions

    window = connected
    actions = install_vm_actions(window)
    sku = NodeRef(SourceKind.MARKETPLACE, ("Canonical", "ubuntu-24_04-lts", "server"))
    [node, *_] = run(window.catalog.children(CatalogNode(sku, NodeKind.SKU, "server")))
    dialog = run(actions.open_for(node, Mode.CREATE))
    assert dialog is not None and dialog.isVisible()
    assert dialog.needs.reference.value == ":".join(node.ref.parts)
    assert dialog.location_box.isEnabled()  # a Marketplace image is in every region
    qtbot.waitUntil(lambda: dialog.size_box.count() > 0, timeout=10_000)
    dialog.reject()
    qtbot.waitUntil(lambda: dialog not in actions.dialogs, timeout=5_000)

    actions.open_ref(node.ref)  # what a wizard calls at its end: "then test-boot it"
    qtbot.waitUntil(lambda: bool(actions.dialogs), timeout=10_000)
    [opened] = actions.dialogs
    assert opened.mode is Mode.TEST_BOOT and opened.windowTitle() == "Test boot"
    opened.reject()


def test_registering_the_actions_loads_no_http_stack() -> None:
    # The app controller registers the actions at start-up, before the first paint.
    import subprocess
    import sys

    probe = (
        "import sys, gui.qt.create_vm.actions; "
        "print(sorted(m for m in ('aiohttp', 'azure.mgmt.compute', 'azure.identity') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout

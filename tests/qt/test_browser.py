"""The image browser driven like a user, against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import DiskRole
from gui.i18n import english
from gui.qt.app_controller import AppController
from gui.qt.browser.tree_model import LoadState, RowKind
from gui.qt.i18n import format_datetime, install_translators
from gui.qt.main_window import MainWindow
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import IMAGE_OS_ONLY, IMAGE_WITH_DATA_DISKS, RG_IMAGES
from tests.qt.helpers import (
    LOAD_TIMEOUT_MS,
    AsyncRunner,
    child_named,
    make_settings,
    open_node,
    open_path,
    select,
)

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def english_catalogue(qapp: Any) -> Iterator[None]:
    """The English catalogue, as the app loads it: it holds the English plural forms."""
    install_translators("en")
    yield


def disk_rows(window: MainWindow) -> list[list[str]]:
    model = window.detail_pane.disk_model
    return [
        [model.data(model.index(r, c)) for c in range(model.columnCount())]
        for r in range(model.rowCount())
    ]


def test_marketplace_down_to_a_sql_version_shows_os_and_data_disks(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    marketplace = open_path(window, qtbot, "Azure Marketplace")
    assert window.tree_model.rowCount(marketplace) >= 3000
    sku = open_path(
        window,
        qtbot,
        "Azure Marketplace",
        "MicrosoftSQLServer",
        "sql2022-ws2022",
        "enterprise-gen2",
    )
    versions = [
        window.tree_model.data(window.tree_model.index(r, 0, sku))
        for r in range(window.tree_model.rowCount(sku))
    ]
    assert versions == ["16.0.241010", "16.0.240912", "16.0.240810"]  # newest first
    detail = select(window, qtbot, window.tree_model.index(0, 0, sku))

    assert detail.title == "MicrosoftSQLServer:sql2022-ws2022:enterprise-gen2:16.0.241010"
    assert detail.os_type == "Windows"
    assert detail.hyper_v_generation == "Gen2 (V2)"
    assert detail.is_vm_image
    assert window.detail_pane.state()["kind"] == "VM image — OS disk + 2 data disks"
    rows = disk_rows(window)
    assert [row[0] for row in rows] == ["OS disk", "Data disk", "Data disk"]
    assert rows[0][2] == "Windows" and rows[0][3] == "Generalized"
    assert [row[1] for row in rows[1:]] == ["0", "1"]
    assert [row[4] for row in rows[1:]] == ["1024 GiB", "1024 GiB"]


def test_ubuntu_version_is_an_os_image_with_its_features(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    sku = open_path(
        window,
        qtbot,
        "Azure Marketplace",
        "Canonical",
        "0001-com-ubuntu-server-jammy",
        "22_04-lts-gen2",
    )
    detail = select(window, qtbot, window.tree_model.index(0, 0, sku))
    assert detail.os_type == "Linux"
    assert not detail.is_vm_image
    assert window.detail_pane.state()["kind"] == "OS image — OS disk only"
    assert "Trusted launch" in english(detail.security_type)
    assert detail.architecture == "x64"
    assert [disk.role for disk in detail.disks] == [DiskRole.OS]


def test_managed_vm_image_shows_its_data_disks(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Any
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    group = open_path(window, qtbot, "Managed images", RG_IMAGES)
    vm_image = select(window, qtbot, child_named(window, group, IMAGE_WITH_DATA_DISKS))
    assert vm_image.os_type == "Windows"
    assert len(vm_image.data_disks) == 2
    rows = disk_rows(window)
    assert rows[0][0] == "OS disk" and rows[0][3] == "Generalized"
    assert [row[1] for row in rows[1:]] == [str(d.lun) for d in vm_image.data_disks]
    assert all(row[6] not in ("", "—") for row in rows)  # storage type of every disk
    assert window.detail_pane.state()["kind"].startswith("VM image")

    os_image = select(window, qtbot, child_named(window, group, IMAGE_OS_ONLY))
    assert not os_image.is_vm_image
    assert window.detail_pane.state()["kind"] == "OS image — OS disk only"


def test_injected_403_shows_on_the_node_and_refresh_recovers(
    connected: MainWindow, qtbot: QtBot, sandbox: Any
) -> None:
    window = connected
    sandbox.faults.add(
        r"/providers/Microsoft\.Compute/images$",
        status=403,
        message="The client does not have authorization to perform action "
        "'Microsoft.Compute/images/read'.",
    )
    try:
        managed = child_named(window, QModelIndex(), "Managed images")
        assert open_node(window, qtbot, managed) is LoadState.FAILED
        error_row = window.tree_model.index(0, 0, managed)
        assert window.tree_model.row_kind(error_row) is RowKind.ERROR
        assert "AuthorizationFailed" in window.tree_model.data(error_row)
        tooltip = window.tree_model.data(managed, Qt.ItemDataRole.ToolTipRole)
        assert "Reader role" in tooltip  # says what to do, not only what failed
        assert window.isVisible()
    finally:
        sandbox.faults.clear()

    window.tree.setCurrentIndex(window.proxy.mapFromSource(managed))
    QTest.keyClick(window.tree, Qt.Key.Key_F5)
    qtbot.waitUntil(
        lambda: window.tree_model.load_state(managed) is LoadState.LOADED, timeout=LOAD_TIMEOUT_MS
    )
    first = window.tree_model.index(0, 0, managed)
    assert window.tree_model.row_kind(first) is RowKind.NODE


def test_search_narrows_three_thousand_publishers(connected: MainWindow, qtbot: QtBot) -> None:
    window = connected
    marketplace = open_path(window, qtbot, "Azure Marketplace")
    proxy_marketplace = window.proxy.mapFromSource(marketplace)
    assert window.proxy.rowCount(proxy_marketplace) >= 3000
    QTest.keyClicks(window.search, "canon")
    shown = [
        window.proxy.data(window.proxy.index(r, 0, proxy_marketplace))
        for r in range(window.proxy.rowCount(proxy_marketplace))
    ]
    assert "Canonical" in shown
    assert 1 <= len(shown) < 20
    assert all("canon" in label.lower() for label in shown)
    window.search.clear()
    assert window.proxy.rowCount(proxy_marketplace) >= 3000


def test_second_start_shows_the_cached_tree_and_selection_before_any_request(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, sandbox: Any, home: Any, new_session: Any
) -> None:
    run(window.use_session(new_session()))
    sku = open_path(window, qtbot, "Azure Marketplace", "Canonical", "ubuntu-24_04-lts", "server")
    chosen = select(window, qtbot, window.tree_model.index(0, 0, sku))
    window.close()

    before = sandbox.request_count
    second = AppController(make_settings(home)).window
    qtbot.addWidget(second)
    second.show()
    qtbot.waitUntil(
        lambda: (
            second.detail_pane.detail is not None and second.detail_pane.detail.ref == chosen.ref
        ),
        timeout=5000,
    )
    marketplace = child_named(second, QModelIndex(), "Azure Marketplace")
    assert second.tree_model.rowCount(marketplace) >= 3000
    age = second.tree_model.data(marketplace, Qt.ItemDataRole.ToolTipRole)
    listed_at = second.tree_model.listings.cached_children(
        second.tree_model.node_for(marketplace).ref  # type: ignore[union-attr]
    )
    assert listed_at is not None
    when = format_datetime(datetime.fromtimestamp(listed_at[1]))
    assert age.startswith(f"Listed {when}") and "from the cache" in age
    assert second.current_node() is not None and second.current_node().ref == chosen.ref  # type: ignore[union-attr]
    assert sandbox.request_count == before  # nothing asked over the network yet
    second.cancel_tasks()


def test_a_failed_detail_says_why_and_the_window_goes_on(
    connected: MainWindow, qtbot: QtBot, sandbox: Any
) -> None:
    window = connected
    sku = open_path(window, qtbot, "Azure Marketplace", "Debian", "debian-12", "12-gen2")
    sandbox.faults.add(r"/skus/12-gen2/versions/[^/]+$", status=500, message="Backend exploded.")
    try:
        window.tree.setCurrentIndex(window.proxy.mapFromSource(window.tree_model.index(0, 0, sku)))
        qtbot.waitUntil(
            lambda: "Backend exploded" in window.detail_pane.state()["status"],
            timeout=LOAD_TIMEOUT_MS,
        )
    finally:
        sandbox.faults.clear()
    assert "server error" in window.detail_pane.state()["status"]  # and what to do about it
    assert window.detail_pane.disk_model.rowCount() == 0


def test_layout_scope_and_selection_are_remembered(
    window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Any, home: Any
) -> None:
    run(window.use_session(new_session()))
    window.resize(761, 555)  # the offscreen screen is 800×600: stay inside it
    window.splitter.setSizes([300, 461])
    group = open_path(window, qtbot, "My galleries")
    first_gallery = window.tree_model.index(0, 0, group)
    window.tree.setCurrentIndex(window.proxy.mapFromSource(first_gallery))
    chosen = window.current_node()
    qtbot.wait(50)
    saved_sizes = window.splitter.sizes()
    window.close()

    again = AppController(make_settings(home)).window
    qtbot.addWidget(again)
    again.show()
    assert (again.size().width(), again.size().height()) == (761, 555)
    qtbot.wait(50)
    assert again.splitter.sizes() == saved_sizes
    assert saved_sizes[0] in range(290, 310)
    assert again.subscription_id == window.subscription_id
    assert again.location == window.location
    qtbot.waitUntil(lambda: again.current_node() is not None, timeout=5000)
    assert again.current_node() == chosen
    again.cancel_tasks()


def test_a_community_gallery_can_be_added_by_its_public_name(
    connected: MainWindow, qtbot: QtBot, run: AsyncRunner
) -> None:
    window = connected
    community = open_path(window, qtbot, "Community galleries")
    names = [
        window.tree_model.data(window.tree_model.index(r, 0, community))
        for r in range(window.tree_model.rowCount(community))
    ]
    assert names, "the sandbox's community galleries are discovered through Resource Graph"
    run(window.add_community_gallery("NoSuchGallery-00000000-0000-0000-0000-000000000000"))
    assert window.settings.community_galleries == []
    run(window.add_community_gallery(names[-1]))
    assert window.settings.community_galleries == [names[-1]]
    assert window.current_node() is not None
    assert window.current_node().label == names[-1]  # type: ignore[union-attr]


def test_virtual_machines_show_their_disks_and_open_the_capture_wizard(
    controller: AppController, window: MainWindow, qtbot: QtBot, run: AsyncRunner, new_session: Any
) -> None:
    window.settings.subscription_id = PRODUCTION_SUBSCRIPTION_ID
    run(window.use_session(new_session()))
    vms = open_path(window, qtbot, "Virtual machines")
    count = window.tree_model.rowCount(vms)
    assert count >= 3
    details = [select(window, qtbot, window.tree_model.index(r, 0, vms)) for r in range(count)]
    with_data = [d for d in details if d.data_disks]
    assert with_data, "a seeded VM carries data disks"
    vm = with_data[0]
    select(window, qtbot, child_named(window, vms, vm.title))
    assert window.detail_pane.state()["kind"].startswith("Virtual machine — OS disk + ")
    assert dict(vm.properties)["Power state"]
    assert window.action_capture.isEnabled()
    window.action_capture.trigger()  # the toolbar action captures the selected VM
    wizard = controller.workflows.wizards[-1]
    assert wizard.vm_id is not None and wizard.vm_id.endswith(f"/virtualMachines/{vm.title}")
    wizard.reject()

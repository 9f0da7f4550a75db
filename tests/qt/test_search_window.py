"""The window's search box over everything, against the sandbox over HTTP: typed queries ranked
as the service ranks them, stale answers never shown, a hit revealed in the tree with its disks,
offline answers from the local index, the filter switches, and the results model's contract."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from gui.azure.catalog.nodes import NodeRef, SourceKind
from gui.azure.search.catalog_api import MarketplaceCatalogClient
from gui.azure.search.model import Facts, HitOrigin, SearchHit
from gui.qt.main_window import MainWindow
from gui.qt.search.results_model import Column, SearchResultsModel
from gui.sandbox import SandboxServer
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner, open_path

ANSWER_MS = 20_000


@pytest.fixture
def with_catalogue(
    connected: MainWindow, sandbox: SandboxServer, run: AsyncRunner
) -> Iterator[MainWindow]:
    """The window as sandbox mode wires it: the sandbox's Marketplace Catalog and the index."""
    client = MarketplaceCatalogClient.for_sandbox(sandbox.catalog_url)
    connected.use_search(connected.search_index, client)
    yield connected
    connected.cancel_tasks()
    run(client.close())


def type_query(window: MainWindow, qtbot: QtBot, text: str) -> None:
    panel = window.search_panel
    panel.box.setFocus()
    QTest.keyClicks(panel.box, text)
    qtbot.waitUntil(lambda: panel.model.query == text and not panel.busy, timeout=ANSWER_MS)


def hits(window: MainWindow) -> tuple[SearchHit, ...]:
    return window.search_panel.model.hits


def test_typing_finds_canonicals_arm64_24_04_sku_first(
    with_catalogue: MainWindow, qtbot: QtBot
) -> None:
    window = with_catalogue
    type_query(window, qtbot, "ubuntu 24.04 arm64")

    model = window.search_panel.model
    first = hits(window)[0]
    assert first.urn == "Canonical:ubuntu-24_04-lts:server-arm64"
    assert model.data(model.index(0, Column.IMAGE)) == (
        "Canonical / ubuntu-24_04-lts / server-arm64"
    )
    latest = model.data(model.index(0, Column.LATEST))
    assert first.latest_version and latest.startswith(first.latest_version + " (")
    facts = model.data(model.index(0, Column.FACTS))
    assert "Linux" in facts and "Arm64" in facts and "Gen2" in facts
    assert window.search_panel.view.currentIndex().row() == 0  # Enter would reveal it


def test_typing_fast_never_shows_a_stale_answer(
    with_catalogue: MainWindow, sandbox: SandboxServer, qtbot: QtBot
) -> None:
    window = with_catalogue
    panel = window.search_panel
    shown: list[str] = []
    panel.answered.connect(shown.append)
    sandbox.faults.latency = 0.4  # every request slow: the first query is still on its way
    try:
        panel.box.setFocus()
        for key in "win":  # several keys within the debounce: one query at most
            QTest.keyClicks(panel.box, key)
            qtbot.wait(30)
        qtbot.wait(300)  # the pause is over: "win" is asked (slowly)
        QTest.keyClicks(panel.box, "dows server 2022")
        qtbot.waitUntil(lambda: shown != [], timeout=ANSWER_MS)
        qtbot.wait(1500)  # long enough for the stale answer to arrive, were it not dropped
    finally:
        sandbox.faults.latency = 0.0
    assert shown == ["windows server 2022"]
    assert panel.model.query == "windows server 2022"
    assert all("Windows" in hit.facts.os_type or not hit.facts.os_type for hit in hits(window))


def test_enter_reveals_the_hit_in_the_tree_with_its_disks(
    with_catalogue: MainWindow, qtbot: QtBot
) -> None:
    window = with_catalogue
    type_query(window, qtbot, "sql 2022 enterprise")
    first = hits(window)[0]
    assert first.urn == "MicrosoftSQLServer:sql2022-ws2022:enterprise-gen2"

    QTest.keyClick(window.search_panel.box, Qt.Key.Key_Return)

    def revealed() -> bool:
        detail = window.detail_pane.detail
        return detail is not None and detail.ref.key.startswith(first.key + "/")

    qtbot.waitUntil(revealed, timeout=LOAD_TIMEOUT_MS)
    node = window.current_node()
    assert node is not None and node.is_image
    assert node.ref.parts[:3] == ("MicrosoftSQLServer", "sql2022-ws2022", "enterprise-gen2")
    assert node.name == first.latest_version  # the latest version, selected
    sku = window.proxy.mapFromSource(window.tree_model.index_for_key(first.key))
    parent = sku
    while parent.isValid():  # the whole path is expanded
        assert window.tree.isExpanded(parent)
        parent = parent.parent()
    disks = window.detail_pane.disk_model
    assert disks.rowCount() == 3  # the OS disk and the two data disks


def test_a_community_image_is_found_by_a_word_of_its_description_once_listed(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    type_query(window, qtbot, "errata")
    assert hits(window) == ()  # never listed: nothing to find offline
    window.search_panel.box.clear()

    community = open_path(window, qtbot, "Community galleries")
    for row in range(window.tree_model.rowCount(community)):
        gallery = window.tree_model.node_for(window.tree_model.index(row, 0, community))
        assert gallery is not None
        open_path(window, qtbot, "Community galleries", gallery.label)

    # The background refresh reads each definition's description within the read budget.
    def found() -> bool:
        window.search_panel.box.setText("")
        window.search_panel.box.setText("errata")
        qtbot.waitUntil(lambda: not window.search_panel.busy, timeout=ANSWER_MS)
        return bool(hits(window))

    qtbot.waitUntil(found, timeout=40_000)
    assert all(hit.source == SourceKind.COMMUNITY.value for hit in hits(window))
    assert all(hit.title.startswith("RockyLinuxLab-") for hit in hits(window))


def test_without_a_catalogue_answers_come_from_the_local_index(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    assert window.catalog_client is None  # sandbox session without the sandbox's catalogue
    open_path(window, qtbot, "Azure Marketplace", "Canonical")
    open_path(window, qtbot, "Azure Marketplace", "Canonical", "ubuntu-24_04-lts")
    type_query(window, qtbot, "ubuntu 24.04 arm64")

    assert hits(window)[0].urn == "Canonical:ubuntu-24_04-lts:server-arm64"
    assert all(HitOrigin.CATALOG not in hit.origins for hit in hits(window))
    assert "From the images listed so far" in window.search_panel.status.text()


def test_the_switches_hide_deprecated_and_non_gen2_images(
    with_catalogue: MainWindow, qtbot: QtBot
) -> None:
    window = with_catalogue
    panel = window.search_panel
    type_query(window, qtbot, "ubuntu")
    everything = hits(window)
    assert any(hit.facts.generation == "V1" for hit in everything if hit.is_image)

    panel.gen2_only.setChecked(True)
    qtbot.waitUntil(lambda: not panel.busy and panel.model.hits != everything, timeout=ANSWER_MS)
    images = [hit for hit in hits(window) if hit.is_image]
    assert images and all(hit.facts.generation == "V2" for hit in images)

    panel.gen2_only.setChecked(False)
    panel.hide_deprecated.setChecked(True)
    qtbot.waitUntil(lambda: not panel.busy, timeout=ANSWER_MS)
    assert hits(window) and not any(hit.facts.deprecated for hit in hits(window))


def test_escape_closes_the_results_and_arrows_move_in_them(
    with_catalogue: MainWindow, qtbot: QtBot
) -> None:
    window = with_catalogue
    panel = window.search_panel
    window.action_find.trigger()
    assert panel.box.hasFocus()
    type_query(window, qtbot, "ubuntu")
    assert panel.results.isVisible() and panel.model.rowCount() > 1
    QTest.keyClick(panel.box, Qt.Key.Key_Down)
    assert panel.view.currentIndex().row() == 1
    QTest.keyClick(panel.box, Qt.Key.Key_Up)
    assert panel.view.currentIndex().row() == 0
    QTest.keyClick(panel.box, Qt.Key.Key_Escape)
    assert not panel.results.isVisible()
    assert panel.box.accessibleName() and panel.view.accessibleName()
    assert panel.label.buddy() is panel.box and panel.results_label.buddy() is panel.view
    assert [key.toString() for key in window.action_find.shortcuts()] == ["Ctrl+F", "Ctrl+K"]


def test_results_model_passes_qtmodeltester(qtmodeltester: object) -> None:
    model = SearchResultsModel()
    hit = SearchHit(
        key=NodeRef(SourceKind.MARKETPLACE, ("Canonical", "ubuntu-24_04-lts", "server")).key,
        source="marketplace",
        kind="sku",
        title="Canonical:ubuntu-24_04-lts:server",
        publisher="Canonical",
        offer="ubuntu-24_04-lts",
        sku="server",
        urn="Canonical:ubuntu-24_04-lts:server",
        latest_version="24.04.202411030",
        release_date=date(2024, 11, 3),
        facts=Facts(os_type="Linux", architecture="x64", generation="V2", plan=False,
                    deprecation="ScheduledForDeprecation"),
        is_image=True,
    )
    model.set_hits("ubuntu", (hit, hit))
    qtmodeltester.check(model, force_py=True)  # type: ignore[attr-defined]
    assert "Deprecated" in model.data(model.index(0, Column.STATE))

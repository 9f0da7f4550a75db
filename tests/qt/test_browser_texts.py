"""The browser's words and keyboard paths: the drop zone names every disk image it takes, the
detail pane and disk table speak to screen readers and let Tab go on, shared galleries show
their own names, dates take the one format, and a mistyped community gallery can be
corrected in place. Driven against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from gui.azure.account.session import AzureSession
from gui.azure.catalog.nodes import CatalogNode, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.diskimage import DISK_IMAGE_SUFFIXES
from gui.qt.browser.community_dialog import CommunityGalleryDialog
from gui.qt.browser.detail_pane import DetailPane
from gui.qt.browser.tree_model import Role
from gui.qt.i18n import format_datetime
from gui.qt.main_window import MainWindow
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.community import COMMUNITY_GALLERIES, SHARED_GALLERIES
from tests.qt.helpers import LOAD_TIMEOUT_MS, AsyncRunner, child_named, open_path, select

pytestmark = pytest.mark.gui


def form_pairs(pane: DetailPane) -> list[tuple[QLabel, QLabel]]:
    """The detail form's (caption, field) labels, row by row."""
    pairs = []
    for row in range(pane.form.rowCount()):
        caption = pane.form.itemAt(row, pane.form.ItemRole.LabelRole)
        field = pane.form.itemAt(row, pane.form.ItemRole.FieldRole)
        assert caption is not None and field is not None
        caption_label, field_label = caption.widget(), field.widget()
        assert isinstance(caption_label, QLabel) and isinstance(field_label, QLabel)
        pairs.append((caption_label, field_label))
    return pairs


def form_rows(pane: DetailPane) -> dict[str, QLabel]:
    """The detail form as (caption → field), the caption without its colon."""
    return {caption.text().rstrip(":"): field for caption, field in form_pairs(pane)}


def test_the_drop_zone_names_every_disk_image_suffix_the_app_offers(qtbot: QtBot) -> None:
    pane = DetailPane()
    qtbot.addWidget(pane)
    text = pane.drop_zone.text_label.text()
    assert all(suffix in text for suffix in DISK_IMAGE_SUFFIXES), text
    for format_suffix in (".vhd", ".vhdx", ".qcow2", ".vmdk", ".vdi", ".ova", ".raw"):
        assert format_suffix in text
    assert pane.drop_zone.accessibleName()


def test_the_drop_zone_button_is_reached_with_tab_and_pressed_with_space(
    qtbot: QtBot,
) -> None:
    host = QWidget()
    qtbot.addWidget(host)
    before = QLineEdit()
    pane = DetailPane()
    layout = QVBoxLayout(host)
    layout.addWidget(before)
    layout.addWidget(pane)
    host.show()
    qtbot.waitExposed(host)
    before.setFocus()
    qtbot.waitUntil(before.hasFocus)
    for _ in range(10):
        if pane.drop_zone.button.hasFocus():
            break
        QTest.keyClick(host.focusWidget(), Qt.Key.Key_Tab)
    assert pane.drop_zone.button.hasFocus()
    with qtbot.waitSignal(pane.upload_requested, timeout=2000):
        QTest.keyClick(pane.drop_zone.button, Qt.Key.Key_Space)


def test_detail_fields_and_the_disk_table_have_names_and_tab_leaves_the_table(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    sku = open_path(
        window, qtbot, "Azure Marketplace", "MicrosoftSQLServer", "sql2022-ws2022", "standard-gen2"
    )
    select(window, qtbot, window.tree_model.index(0, 0, sku))
    pane = window.detail_pane
    rows = form_rows(pane)
    assert {"OS type", "Security type", "Publisher", "Resource ID"} <= set(rows)
    for label, field in form_pairs(pane):
        assert label.buddy() is field
        assert field.accessibleName() == label.text().rstrip(":")
    table = pane.disk_table
    assert table.accessibleName()
    assert not table.tabKeyNavigation()
    table.setFocus()
    qtbot.waitUntil(table.hasFocus)
    table.setCurrentIndex(table.model().index(0, 0))
    QTest.keyClick(table, Qt.Key.Key_Tab)
    assert not table.hasFocus()  # Tab went on to the next control, not the next cell


def test_shared_with_me_shows_gallery_names_with_the_unique_name_in_the_tooltip(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    shared = open_path(window, qtbot, "Shared with me")
    here = [g for g in SHARED_GALLERIES if "westeurope" in g.locations]
    model = window.tree_model
    shown = [model.data(model.index(r, 0, shared)) for r in range(model.rowCount(shared))]
    assert sorted(shown) == sorted(g.unique_name.split("-", 5)[5] for g in here)
    fabrikam = child_named(window, shared, "FABRIKAM_BASEIMAGES")
    unique = next(g.unique_name for g in here if g.unique_name.endswith("FABRIKAM_BASEIMAGES"))
    tooltip = model.data(fabrikam, Qt.ItemDataRole.ToolTipRole)
    assert unique in tooltip and "Fabrikam" in tooltip
    details = model.data(fabrikam.siblingAtColumn(1))
    assert details.startswith("Fabrikam · shared with this subscription")
    # found by the name it shows and by the unique name
    for text in ("fabrikam_base", unique[:13]):
        window.search.setText(text)
        proxy_shared = window.proxy.mapFromSource(shared)
        assert window.proxy.rowCount(proxy_shared) == 1, text
    window.search.setText("")
    # the detail pane names it too, with the unique name to quote
    window.tree.setCurrentIndex(window.proxy.mapFromSource(fabrikam))
    qtbot.waitUntil(lambda: window.detail_pane.state()["title"] == "FABRIKAM_BASEIMAGES")
    assert form_rows(window.detail_pane)["Unique name"].text() == unique
    # and it opens by the unique name, down to a version
    versions = open_path(
        window, qtbot, "Shared with me", "FABRIKAM_BASEIMAGES", "fabrikam-ubuntu-2204-cis"
    )
    detail = select(window, qtbot, model.index(0, 0, versions))
    assert detail.ref.parts[0] == unique


def test_gallery_dates_are_shown_in_the_one_date_format(
    connected: MainWindow, qtbot: QtBot
) -> None:
    window = connected
    gallery = next(g for g in COMMUNITY_GALLERIES if g.public_name.startswith("ContosoImages"))
    versions = open_path(
        window, qtbot, "Community galleries", gallery.public_name, "ubuntu-22.04-hardened"
    )
    select(window, qtbot, window.tree_model.index(0, 0, versions))
    rows = form_rows(window.detail_pane)
    end_of_life = datetime(2027, 12, 31, tzinfo=UTC)  # the sandbox's endOfLifeDate
    assert rows["End of life"].text() == format_datetime(end_of_life)
    assert "2027-12-31" not in " ".join(field.text() for field in rows.values())


def _community_catalog(new_session: Callable[[], AzureSession]) -> tuple[Catalog, str]:
    catalog = Catalog(new_session(), Scope(PRODUCTION_SUBSCRIPTION_ID, "westeurope"))
    real = next(g for g in COMMUNITY_GALLERIES if "westeurope" in g.locations).public_name
    return catalog, real


def test_a_mistyped_community_gallery_is_said_in_the_dialog_and_corrected_there(
    qtbot: QtBot, run: AsyncRunner, new_session: Callable[[], AzureSession]
) -> None:
    catalog, real = _community_catalog(new_session)
    typo = real[:-1] + ("0" if real[-1] != "0" else "1")
    dialog = CommunityGalleryDialog(catalog.add_community_gallery, "westeurope")
    qtbot.addWidget(dialog)
    added: list[CatalogNode] = []
    dialog.added.connect(added.append)
    dialog.show()
    assert not dialog.add_button.isEnabled()  # nothing typed yet
    dialog.name_edit.setText(typo)
    assert dialog.add_button.isEnabled()
    QTest.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(dialog.error_label.isVisible, timeout=LOAD_TIMEOUT_MS)
    problem = dialog.error_label.text()
    assert f"No community gallery with the public name {typo} exists in westeurope." in problem
    assert "Community galleries" in problem and "deleted or renamed" not in problem
    assert dialog.isVisible() and not added  # still open, nothing added
    assert dialog.name_edit.text() == typo and dialog.name_edit.selectedText() == typo
    assert dialog.name_edit.isEnabled() and dialog.add_button.isEnabled()
    dialog.name_edit.setText(real)
    with qtbot.waitSignal(dialog.added, timeout=LOAD_TIMEOUT_MS):
        QTest.keyClick(dialog.name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert added[0].name == real and catalog.extra_community_galleries == [real]


def test_root_titles_are_searchable_in_english_and_keep_their_keys(
    connected: MainWindow,
) -> None:
    window = connected
    marketplace = child_named(window, QModelIndex(), "Azure Marketplace")
    node = window.tree_model.node_for(marketplace)
    assert node is not None and node.ref.source is SourceKind.MARKETPLACE
    assert node.label == "Azure Marketplace"
    assert "Azure Marketplace" in window.tree_model.data(marketplace, Role.SEARCH)

"""The right-hand side of the browser: what the selected node is, and the disks of an image."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, SourceKind, source_of
from gui.azure.terms import MarketplaceTerms
from gui.diskimage import DISK_IMAGE_SUFFIXES
from gui.i18n import Message
from gui.qt import icons
from gui.qt.browser.disk_table import DiskTableModel
from gui.qt.browser.terms_box import TermsBox
from gui.qt.browser.texts import node_label, show
from gui.qt.i18n import render
from gui.qt.style import Tone, badge_style, panel_style

_NODE_HINTS = {
    NodeKind.PUBLISHER: QT_TRANSLATE_NOOP(
        "DetailPane", "A Marketplace publisher. Expand it to see its offers."
    ),
    NodeKind.OFFER: QT_TRANSLATE_NOOP(
        "DetailPane", "A Marketplace offer. Expand it to see its SKUs (plans)."
    ),
    NodeKind.SKU: QT_TRANSLATE_NOOP(
        "DetailPane",
        "A Marketplace SKU. Expand it to see its versions; select one for its disks.",
    ),
    NodeKind.GALLERY: QT_TRANSLATE_NOOP(
        "DetailPane", "A Compute Gallery. Expand it to see its image definitions."
    ),
    NodeKind.RESOURCE_GROUP: QT_TRANSLATE_NOOP(
        "DetailPane", "A resource group. Expand it to see its managed images, disks and snapshots."
    ),
    NodeKind.DEFINITION: QT_TRANSLATE_NOOP(
        "DetailPane", "An image definition. Expand it to see its versions."
    ),
    NodeKind.STORAGE_ACCOUNT: QT_TRANSLATE_NOOP(
        "DetailPane", "A storage account. Expand it to see its blob containers."
    ),
    NodeKind.CONTAINER: QT_TRANSLATE_NOOP(
        "DetailPane",
        "A blob container. Expand it to see its page blobs (VHDs); select one for its facts.",
    ),
}


def disk_image_suffix_list() -> str:
    """Every suffix offered as a disk image (the one list), as the locale lists things."""
    return QLocale().createSeparatedList(list(DISK_IMAGE_SUFFIXES))


class DropZone(QFrame):
    """Shown when nothing is selected: where a dragged disk image can go."""

    upload_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setStyleSheet(panel_style("QFrame#dropZone", dashed=True))
        icon = QLabel()
        icon.setPixmap(icons.icon("upload").pixmap(48, 48))
        icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        icon.setAccessibleName(self.tr("Upload"))
        title = self.tr("Drop a disk image here to upload it")
        formats = self.tr("Accepted files: {suffixes}").format(suffixes=disk_image_suffix_list())
        how = self.tr(
            "It is checked first, converted on the fly to the fixed VHD Azure takes, and sent "
            "without its empty ranges."
        )
        self.text_label = QLabel(f"<b>{escape(title)}</b><br>{escape(formats)}<br>{escape(how)}")
        self.text_label.setObjectName("dropZoneText")
        self.text_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text_label.setWordWrap(True)
        self.setAccessibleName(title)
        self.setAccessibleDescription(f"{formats} {how}")
        self.button = QPushButton(self.tr("&Choose a disk image…"))
        self.button.setObjectName("chooseDiskImage")
        # Tab reaches it from the tree (a click focus-only button would be a mouse-only way in).
        self.button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.button.setAccessibleDescription(formats)
        self.button.clicked.connect(lambda: self.upload_requested.emit(None))
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(icon)
        layout.addWidget(self.text_label)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addStretch(1)


class DetailPane(QWidget):
    upload_requested = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailPane")
        self.icon_label = QLabel()
        self.icon_label.setFixedSize(32, 32)
        self.title_label = QLabel()
        self.title_label.setObjectName("detailTitle")
        self.title_label.setAccessibleName(self.tr("Selected item"))
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title_label.setFont(font)
        self.kind_badge = QLabel()
        self.kind_badge.setObjectName("imageKind")
        self.kind_badge.setAccessibleName(self.tr("Image kind"))
        self.kind_badge.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.status_label = QLabel()
        self.status_label.setObjectName("detailStatus")
        self.status_label.setAccessibleName(self.tr("Status"))
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        header = QHBoxLayout()
        header.addWidget(self.icon_label, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.addWidget(self.title_label)
        badge_row = QHBoxLayout()
        badge_row.addWidget(self.kind_badge)
        badge_row.addStretch(1)
        titles.addLayout(badge_row)
        header.addLayout(titles, 1)

        self.form = QFormLayout()
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form_host = QWidget()
        form_host.setLayout(self.form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(form_host)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.addLayout(header)
        top_layout.addWidget(self.status_label)
        self.drop_zone = DropZone()
        self.drop_zone.upload_requested.connect(self.upload_requested)
        top_layout.addWidget(self.drop_zone, 1)
        top_layout.addWidget(scroll, 1)
        self.form_scroll = scroll
        # A plan image's terms in the subscription (shown only for an image with a plan); the
        # window says where terms are read (terms_source: the service and the subscription's
        # name), as it knows the session and the scope.
        self.terms_box = TermsBox()
        top_layout.addWidget(self.terms_box)
        self.terms_source: Callable[[], tuple[MarketplaceTerms, str] | None] | None = None

        self.disk_model = DiskTableModel(self)
        self.disk_table = QTableView()
        self.disk_table.setObjectName("diskTable")
        self.disk_table.setModel(self.disk_model)
        self.disk_table.setAccessibleName(self.tr("Disks of the selected image"))
        # Tab moves on to the next control instead of walking every cell (arrows do that).
        self.disk_table.setTabKeyNavigation(False)
        self.disk_table.setAlternatingRowColors(True)
        self.disk_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.disk_table.verticalHeader().setVisible(False)
        self.disk_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.disk_table.horizontalHeader().setStretchLastSection(True)
        self.disks_caption = QLabel(self.tr("Disks"))
        self.disks_caption.setBuddy(self.disk_table)
        caption_font = self.disks_caption.font()
        caption_font.setBold(True)
        self.disks_caption.setFont(caption_font)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.addWidget(self.disks_caption)
        bottom_layout.addWidget(self.disk_table, 1)

        self.disks_box = bottom
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("detailSplitter")
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)
        self.detail: ImageDetail | None = None
        self.show_nothing()

    # --- states -------------------------------------------------------------------------------

    def _clear_form(self) -> None:
        if hasattr(self, "drop_zone"):
            self.drop_zone.hide()
            self.form_scroll.show()
        while self.form.rowCount():
            self.form.removeRow(0)

    def _set_header(
        self, title: str, icon_name: str | None = None, node: CatalogNode | None = None
    ) -> None:
        self.title_label.setText(title)
        chosen = icons.node_icon(node) if node is not None else icons.icon(icon_name or "app")
        self.icon_label.setPixmap(chosen.pixmap(32, 32))

    def _add_row(self, label: str, value: object) -> None:
        """A form row; ``label`` is already in the window's language, ``value`` a catalog text."""
        field = QLabel(show(value) or "—")
        field.setWordWrap(True)
        field.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        field.setAccessibleName(label)
        caption = QLabel(self.tr("{label}:").format(label=label))
        caption.setBuddy(field)
        self.form.addRow(caption, field)

    def show_nothing(self) -> None:
        self.detail = None
        self.terms_box.show_plan(None, None)
        self._set_header(self.tr("No image selected"), "app")
        self.kind_badge.hide()
        self.status_label.setText(
            self.tr(
                "Pick an image source on the left and expand it down to an image version to see "
                "its operating system, generation, security type and every disk it carries."
            )
        )
        self.status_label.show()
        self._clear_form()
        self.disk_model.set_disks([])
        self.disks_caption.setText(self.tr("Disks"))
        self.disks_box.hide()
        self.form_scroll.hide()
        self.drop_zone.show()

    def show_node(self, node: CatalogNode) -> None:
        """A node that is not an image: say what it is and where to go from here."""
        self.detail = None
        self.terms_box.show_plan(None, None)
        self._set_header(node_label(node), node=node)
        self.kind_badge.hide()
        if node.kind is NodeKind.SOURCE:
            text = render(Message(source_of(node.ref.source).description))
        elif node.kind in _NODE_HINTS:
            text = QCoreApplication.translate("DetailPane", str(_NODE_HINTS[node.kind]))
        else:
            text = ""
        self.status_label.setText(text)
        self.status_label.show()
        self._clear_form()
        if node.summary and node.kind is not NodeKind.SOURCE:
            self._add_row(self.tr("Details"), node.summary)
        if node.name != node.label:
            # a shared gallery: the label is its own name, Azure asks by the unique name
            self._add_row(self.tr("Unique name"), node.name)
        self.disk_model.set_disks([])
        self.disks_caption.setText(self.tr("Disks"))
        self.disks_box.hide()

    def show_loading(self, node: CatalogNode) -> None:
        if self.detail is not None and self.detail.ref == node.ref:
            return  # already showing it (from the cache): refresh quietly
        self.detail = None
        self.terms_box.show_plan(None, None)
        self._set_header(node.label, node=node)
        self.kind_badge.hide()
        self.status_label.setText(self.tr("Loading image details…"))
        self.status_label.show()
        self._clear_form()
        self.disk_model.set_disks([])

    def show_error(self, node: CatalogNode, message: str) -> None:
        if self.detail is not None and self.detail.ref == node.ref:
            self.status_label.setText(self.tr("Could not refresh: {error}").format(error=message))
            self.status_label.show()
            return
        self.detail = None
        self.terms_box.show_plan(None, None)
        self._set_header(node.label, "error")
        self.kind_badge.hide()
        self.status_label.setText(message)
        self.status_label.show()
        self._clear_form()
        self.disk_model.set_disks([])

    def show_detail(self, detail: ImageDetail, node: CatalogNode | None = None) -> None:
        self.detail = detail
        self._set_header(detail.title, node=node)
        self.kind_badge.setText(self.kind_text(detail))
        self.kind_badge.setStyleSheet(
            badge_style(Tone.RUNNING if detail.is_vm_image else Tone.OK, self.palette())
        )
        self.kind_badge.setToolTip(
            self.tr("A VM image carries the OS disk and data disks; an OS image only the OS disk.")
        )
        self.kind_badge.show()
        self.status_label.hide()
        self._clear_form()
        if detail.ref.disk_kind is not None:
            self.terms_box.show_plan(None, None)
            self._show_disk(detail)
            return
        self._show_terms(detail)
        rows: list[tuple[str, object]] = [
            (self.tr("OS type"), detail.os_type),
            (self.tr("OS state"), detail.os_state),
            (self.tr("Hyper-V generation"), detail.hyper_v_generation),
            (self.tr("Architecture"), detail.architecture),
            (self.tr("Security type"), detail.security_type),
            (self.tr("Location"), detail.location),
            # the catalog's own labels: English templates marked for translation
            *((render(Message(label)), value) for label, value in detail.properties),
            (self.tr("Resource ID"), detail.resource_id),
        ]
        for label, value in rows:
            self._add_row(label, value)
        self.disk_model.set_disks(detail.disks)
        self.disks_box.show()
        self.disks_caption.setText(self.tr("Disks (%n)", "", len(detail.disks)))

    def _show_terms(self, detail: ImageDetail) -> None:
        """The plan's terms in the subscription: Azure refuses VMs from a plan image (or from a
        gallery image made from one) until they are accepted there."""
        source = self.terms_source() if self.terms_source is not None else None
        if detail.plan is None or source is None:
            self.terms_box.show_plan(None, None)
            return
        service, subscription = source
        if self.terms_box.shows(detail.plan, subscription):
            return  # the same image shown again (from the cache, then from Azure)
        self.terms_box.show_plan(detail.plan, service, subscription)

    def _show_disk(self, detail: ImageDetail) -> None:
        """A managed disk or snapshot: its facts (what it is, who uses it, what made it), the
        OS facts only where it carries an operating system, and itself in the disk table."""
        self.kind_badge.setToolTip(
            self.tr("A managed disk or a snapshot of one: not an image, but what images are made "
                    "from and what uploads and captures leave behind.")
        )
        os_rows: list[tuple[str, object]] = [
            (self.tr("OS type"), detail.os_type),
            (self.tr("Hyper-V generation"), detail.hyper_v_generation),
            (self.tr("Architecture"), detail.architecture),
            (self.tr("Security type"), detail.security_type),
        ]
        rows: list[tuple[str, object]] = [
            *((render(Message(label)), value) for label, value in detail.properties),
            *((label, value) for label, value in os_rows if value),
            (self.tr("Location"), detail.location),
            (self.tr("Resource ID"), detail.resource_id),
        ]
        for label, value in rows:
            self._add_row(label, value)
        self.disk_model.set_disks(detail.disks)
        self.disks_box.show()
        self.disks_caption.setText(self.tr("Disks (%n)", "", len(detail.disks)))

    def kind_text(self, detail: ImageDetail) -> str:
        """What the image is, by its disks: "VM image — OS disk + 2 data disks"."""
        if detail.ref.disk_kind is NodeKind.DISK:
            return self.tr("Managed disk")
        if detail.ref.disk_kind is NodeKind.SNAPSHOT:
            return self.tr("Snapshot of a managed disk")
        if detail.ref.source is SourceKind.STORAGE:
            return self.tr("Page blob (VHD)")
        count = len(detail.data_disks)
        if detail.ref.source is SourceKind.VMS:
            return self.tr("Virtual machine — OS disk + %n data disk(s)", "", count)
        if count:
            return self.tr("VM image — OS disk + %n data disk(s)", "", count)
        return self.tr("OS image — OS disk only")

    def state(self) -> dict[str, Any]:
        """What the pane shows, for tests and accessibility checks."""
        return {
            "title": self.title_label.text(),
            "kind": self.kind_badge.text() if self.kind_badge.isVisible() else "",
            "status": self.status_label.text() if self.status_label.isVisible() else "",
        }

"""The main window: image-source tree with search, image detail with disks, scope, log."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import itertools
import logging
import platform
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from gui import APP_NAME
from gui.azure.catalog.cache import ListingCache
from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, NodeRef, SourceKind
from gui.azure.errors import AzureServiceError
from gui.azure.search.model import SearchFilters, SearchHit, version_sort_key
from gui.i18n import Localizable
from gui.paths import cache_dir
from gui.qt import icons
from gui.qt.browser.detail_pane import DetailPane
from gui.qt.browser.search_proxy import CatalogSearchProxy
from gui.qt.browser.tree_model import CatalogTreeModel, LoadState, RowKind
from gui.qt.help import HelpMenu
from gui.qt.i18n import render_text
from gui.qt.log_dock import LogDock
from gui.qt.search.panel import SearchPanel
from gui.qt.settings import Settings
from gui.qt.style import Tone, badge_style
from gui.qt.tasks import TaskSet

if TYPE_CHECKING:
    # The Transfers panel and its manager import the upload engine, the Azure SDK and aiohttp
    # (more than half of the start-up's imports): the app attaches them after the first paint.
    from gui.qt.transfers.dock import TransfersDock
    from gui.qt.transfers.model import TransferManager

log = logging.getLogger(__name__)

# A room's contribution to the tree's context menu: given the menu and the selected nodes, it
# adds its actions (Delete…, Download…, Copy to…). The window knows no room's workflow; the app
# controller registers each room's provider (add_node_actions).
NodeActions = Callable[[QMenu, list[CatalogNode]], None]

CACHE_FLUSH_MS = 2000
NAME_COLUMN_WIDTH = 330
# The detail pane's split (details above, disk table below) when none was saved, and the least
# a part may have for a saved split to be restored.
DETAIL_SPLIT = (3, 2)
MIN_PANE_PX = 60
# The search index's background refresh rests this long when it has nothing to read.
INDEX_IDLE_SECONDS = 60.0
TAB_FOCUS = Qt.FocusPolicy.TabFocus.value


def _mnemonic(label: QLabel) -> str:
    """The key a label's & stands for ("Alt+B"), as the platform writes it."""
    return QKeySequence.mnemonic(label.text()).toString(QKeySequence.SequenceFormat.NativeText)


class StatusMessage(QLabel):
    """The status bar's message: elided with "…" where it does not fit (the whole text in its
    tooltip), so a long message never runs into the account label, which keeps its width.

    QStatusBar draws its own message unelided, clipped at the first permanent widget, cut off
    mid-letter; this label is that first permanent widget, with all the room the others leave,
    and shows ``QStatusBar.messageChanged`` instead."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusMessage")
        self._full = ""
        # Ignored: the label takes what is left and never pushes the account label aside.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(0)

    @property
    def message(self) -> str:
        return self._full

    def show_message(self, text: str) -> None:
        self._full = text
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        self.setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


def _error_text(error: AzureServiceError) -> str:
    """An Azure error in the window's language: what happened and what to do."""
    return render_text(error) if isinstance(error, Localizable) else error.user_text()


def settle_heap() -> None:
    """Moves everything start-up created (modules, Qt wrappers, SDK clients: a few hundred
    thousand objects) out of the cyclic garbage collector's reach. Without it, a full collection
    set off by a burst of allocations (3,400 publishers arriving) scanned them all and froze the
    window for 50–80 ms; with it, no stall passes 30 ms. (No gc.collect() first: that full
    collection would be the very stall this avoids; the little garbage frozen with it stays.)"""
    gc.freeze()


# What the window needs once connected and no sooner, by the first connect's stall it caused:
# the catalog imports the SDK's request builders (a 48,000-line module), the search its refresher
# and service; and the SDK's user agent runs `uname -p` in a child process the first time
# (platform.platform()); a custom CA bundle is read and parsed. Together 100-200 ms of frozen
# window on the GUI thread.
PRELOADED_FOR_CONNECT = (
    "gui.azure.account.scope",
    "gui.azure.catalog.service",
    "gui.azure.search.catalog_api",
    "gui.azure.search.index",
    "gui.azure.search.refresh",
    "gui.azure.search.service",
)


_preloaded: set[str] = set()  # "done" once _preload has run


def _preload() -> None:
    platform.platform()
    for name in PRELOADED_FOR_CONNECT:
        importlib.import_module(name)
    from gui.azure.account.network import preload_ssl_context

    # A custom CA bundle (REQUESTS_CA_BUNDLE and co.) is parsed once per bundle, here.
    preload_ssl_context()


async def preload_for_connect() -> None:
    """Pays the one-time costs of the first connect on a worker thread (the window keeps
    turning meanwhile); after the first time, returns at once."""
    if "done" not in _preloaded:
        await asyncio.to_thread(_preload)
        _preloaded.add("done")


class _FirstPaint(QObject):
    """Calls ``then`` at its widget's first Paint event, then stops watching (an event filter
    only until then: no Python call per event afterwards)."""

    def __init__(self, widget: QWidget, then: Callable[[], None]) -> None:
        super().__init__(widget)
        self._then: Callable[[], None] | None = then

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._then is not None:
            then, self._then = self._then, None
            watched.removeEventFilter(self)
            then()
        return False


class MainWindow(QMainWindow):
    scope_changed = Signal(str, str)
    selection_changed = Signal(object)
    detail_shown = Signal(object)
    sign_in_requested = Signal()
    settings_requested = Signal()
    sandbox_requested = Signal()
    upload_requested = Signal(object)  # a disk image's Path, or None to pick one
    capture_requested = Signal(object)  # the VM's CatalogNode, or None to pick one
    connected = Signal(object)  # the session, once subscriptions and the tree are shown
    closing = Signal()
    first_painted = Signal()  # once, when the user first sees the window (has_painted)

    def __init__(
        self,
        settings: Settings,
        transfers: TransferManager | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """``transfers`` is the app's one TransferManager (the AppController's): the window
        shows it in the Transfers panel and asks before quitting while it runs uploads. The
        app hands it in after the first paint (``attach_transfers``), so that the window shows
        before the upload engine and the Azure SDK are imported."""
        super().__init__(parent)
        self.settings = settings
        # gui.azure.account.session.AzureSession, imported lazily for start-up
        self.session: Any = None
        self.catalog: Any = None  # gui.azure.catalog.service.Catalog
        self.cache: ListingCache | None = None
        self._tasks = TaskSet("main window")
        self._detail_task: asyncio.Task[None] | None = None
        self._subscriptions: list[tuple[str, str]] = []
        self._locations: list[tuple[str, str]] = []
        self._updating_scope = False
        self._quit_confirmed = False  # uploads were stopped as the user chose: close for real
        self._stopping = False  # the uploads are being stopped for quitting
        self.quit_box: QMessageBox | None = None
        # Search (issue 14): set by the app controller (use_search); None until then.
        self.search_index: Any = None  # gui.azure.search.index.SearchIndex
        self.catalog_client: Any = None  # gui.azure.search.catalog_api.MarketplaceCatalogClient
        self.search_service: Any = None  # gui.azure.search.service.SearchService
        self._refresh_task: asyncio.Task[None] | None = None
        # Set when the tree listed something: the index's refresh reads its words and facts.
        self._index_wake = asyncio.Event()
        self._node_actions: list[NodeActions] = []

        self.setObjectName("mainWindow")
        self.setWindowIcon(icons.icon("app"))
        self.resize(1280, 800)
        self._transfers: TransferManager | None = None
        self._transfers_dock: TransfersDock | None = None
        self.action_transfers: QAction | None = None
        # Set at the tree's first paint: the moment the user sees the window (the app attaches
        # the Transfers panel then, not before).
        self.has_painted = False

        self.tree_model = CatalogTreeModel(self)
        self.proxy = CatalogSearchProxy(self)
        self.proxy.setSourceModel(self.tree_model)
        self._build_actions()
        self._build_central()
        self._build_toolbar()
        self._build_menus()
        self._build_status_bar()
        self.log_dock = LogDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.log_dock)
        self.log_dock.setVisible(settings.log_visible)
        self.action_log.setChecked(settings.log_visible)
        self.log_dock.visibilityChanged.connect(self.action_log.setChecked)
        self.detail_pane.upload_requested.connect(self.upload_requested)

        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(CACHE_FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush_cache_soon)
        self.tree_model.children_loaded.connect(lambda _key: self._flush_timer.start())
        self.tree_model.children_loaded.connect(lambda _key: self._index_wake.set())
        self.tree_model.load_failed.connect(self._on_load_failed)
        self.set_sandbox(False)
        self._restore_layout()
        self._set_tab_order()
        self._show_remembered_scope()
        self.tree.installEventFilter(_FirstPaint(self.tree, self._on_first_paint))
        if transfers is not None:
            self.attach_transfers(transfers)

    def attach_transfers(self, transfers: TransferManager) -> None:
        """The Transfers panel over the app's one TransferManager; once (a second call is
        ignored). Its place and visibility come from the layout saved at the last close, even
        when it is made after ``restoreState`` (``restoreDockWidget``)."""
        if self._transfers is not None:
            return
        # Imported here: the upload engine, the Azure SDK and aiohttp load with it (see the
        # TYPE_CHECKING import above).
        from gui.qt.transfers.dock import TransfersDock

        self._transfers = transfers
        dock = self._transfers_dock = TransfersDock(transfers, self)
        # Where the last close left it (restoreState kept its place); else beside the log.
        if not self.restoreDockWidget(dock):
            self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
            self.tabifyDockWidget(self.log_dock, dock)
            dock.hide()
        action = self.action_transfers = dock.toggleViewAction()
        action.setText(self.tr("Show &Transfers"))
        action.setShortcut(QKeySequence("Ctrl+T"))
        self.view_menu.addAction(action)

    @property
    def transfers_dock(self) -> TransfersDock:
        """The Transfers panel; there once ``attach_transfers`` has run (the workflows, which
        show it, are made after that)."""
        if self._transfers_dock is None:
            raise RuntimeError("The Transfers panel is made by attach_transfers(); not yet.")
        return self._transfers_dock

    def _on_first_paint(self) -> None:
        self.has_painted = True
        self.first_painted.emit()

    # --- construction -------------------------------------------------------------------------

    def _action(
        self, text: str, icon_name: str | None, shortcut: Any = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(icons.icon(icon_name))
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        return action

    def _build_actions(self) -> None:
        self.action_refresh = self._action(
            self.tr("&Refresh"),
            "refresh",
            QKeySequence.StandardKey.Refresh,
            self.tr("Ask Azure again for the selected node (or everything shown)"),
        )
        self.action_refresh.triggered.connect(self.refresh)
        self.action_upload = self._action(
            self.tr("&Upload disk image…"),
            "upload",
            "Ctrl+U",
            self.tr(
                "Upload a local disk image (VHD, VHDX, qcow2, VMDK, VDI, OVA or raw) as a managed "
                "disk, page blob or image (or drop the file onto the window)"
            ),
        )
        self.action_upload.setEnabled(False)  # until connected
        self.action_upload.triggered.connect(lambda: self.upload_requested.emit(None))
        self.action_capture = self._action(
            self.tr("&Capture VM…"),
            "capture",
            "Ctrl+Shift+C",
            self.tr(
                "Turn an existing VM into a managed image or a gallery image version: back up, "
                "generalize, capture, every step shown"
            ),
        )
        self.action_capture.setEnabled(False)  # until connected
        self.action_capture.triggered.connect(self._capture_selected)
        self.action_quit = self._action(self.tr("&Quit"), None, QKeySequence.StandardKey.Quit)
        self.action_quit.triggered.connect(self.close)
        self.action_find = self._action(
            self.tr("&Find Images"),
            "search",
            None,
            self.tr("Search the Marketplace and every gallery, also what is not loaded"),
        )
        # Ctrl+F as everywhere, Ctrl+K as in the Azure portal's and many apps' search boxes.
        self.action_find.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Find), QKeySequence("Ctrl+K")]
        )
        self.action_find.triggered.connect(self._focus_search)
        self.action_filter = self._action(
            self.tr("F&ilter Loaded Nodes"),
            None,
            "Ctrl+Shift+F",
            self.tr("Show only the loaded nodes of the tree whose name contains a text"),
        )
        self.action_filter.triggered.connect(self._focus_filter)
        self.action_log: QAction = self._action(self.tr("Show &Log"), None, "Ctrl+L")
        self.action_log.setCheckable(True)
        self.action_log.toggled.connect(self._toggle_log)
        self.action_add_community = self._action(
            self.tr("Add &community gallery…"),
            "community",
            None,
            self.tr("Add a community gallery by its public name"),
        )
        self.action_add_community.triggered.connect(self._ask_community_gallery)
        self.action_sign_in = self._action(
            self.tr("&Sign in to Azure…"),
            "cloud",
            None,
            self.tr("Sign in with a browser or a device code"),
        )
        self.action_sign_in.triggered.connect(self.sign_in_requested)
        self.action_sandbox = self._action(
            self.tr("Use the offline &sandbox"),
            "sandbox",
            None,
            self.tr("Work against the embedded local Azure"),
        )
        self.action_sandbox.triggered.connect(self.sandbox_requested)
        self.action_copy_id = self._action(
            self.tr("Copy resource ID / URN"), None, QKeySequence.StandardKey.Copy
        )
        self.action_copy_id.triggered.connect(self._copy_selected_id)
        self.action_settings = self._action(
            self.tr("&Settings…"),
            None,
            "Ctrl+,",
            self.tr("Language, defaults, uploads, sign-in and the cache"),
        )
        self.action_settings.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.action_settings.triggered.connect(self.settings_requested)

    def _build_central(self) -> None:
        # The search over everything (issue 14) first; the filter over the loaded nodes below.
        self.search_panel = SearchPanel()
        self.search_panel.set_shortcut_text(
            " / ".join(
                key.toString(QKeySequence.SequenceFormat.NativeText)
                for key in self.action_find.shortcuts()
            )
        )
        self.search_panel.reveal_requested.connect(self._reveal_hit)
        self.search = QLineEdit()
        self.search.setObjectName("searchBox")
        filter_key = self.action_filter.shortcut().toString(
            QKeySequence.SequenceFormat.NativeText
        )
        self.search.setPlaceholderText(
            self.tr("Filter loaded nodes ({key})…").format(key=filter_key)
        )
        self.search.setAccessibleName(self.tr("Filter the image sources"))
        self.search.setToolTip(
            self.tr("Shows only the loaded nodes whose name contains this text ({key})").format(
                key=filter_key
            )
        )
        self.search.setClearButtonEnabled(True)
        self.search.addAction(icons.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(self.proxy.set_search_text)
        self.search_label = QLabel(self.tr("F&ilter:"))
        self.search_label.setBuddy(self.search)

        self.tree = QTreeView()
        self.tree.setObjectName("sourceTree")
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setExpandsOnDoubleClick(True)
        # Several nodes at once (Ctrl/Shift+click): Delete… acts on all of them.
        self.tree.setSelectionMode(QTreeView.SelectionMode.ExtendedSelection)
        self.tree.header().setStretchLastSection(True)
        self.tree.header().setMinimumSectionSize(80)
        self.tree.setAccessibleName(self.tr("Image sources"))
        self.tree.setAccessibleDescription(
            self.tr("Image sources, down to image versions; expand a node to list it")
        )
        # Tab leaves the tree (arrows move inside it): the Tab order never stops here.
        self.tree.setTabKeyNavigation(False)
        self.tree_label = QLabel(self.tr("Image so&urces:"))
        self.tree_label.setBuddy(self.tree)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._tree_menu)
        self.tree_menu: QMenu | None = None  # the context menu last opened
        # The Menu key and Shift+F10 open the context menu for the current node. (Qt turns the
        # Menu key into a context-menu event only for a key press the widget did not take, and
        # Shift+F10 not at all on Linux: an action on the tree covers both, everywhere.)
        self.action_tree_menu = QAction(self.tr("Open the context menu"), self.tree)
        self.action_tree_menu.setShortcuts(
            [QKeySequence("Shift+F10"), QKeySequence(Qt.Key.Key_Menu)]
        )
        self.action_tree_menu.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.action_tree_menu.triggered.connect(self._tree_menu_for_current)
        self.tree.addAction(self.action_tree_menu)
        self.tree.selectionModel().currentChanged.connect(self._on_current_changed)
        self.tree.doubleClicked.connect(self._on_double_clicked)
        self.tree.expanded.connect(self._on_expanded)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(6, 6, 0, 6)
        left_layout.addWidget(self.search_panel)
        left_layout.addWidget(self.search_panel.results, 2)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search_label)
        search_row.addWidget(self.search, 1)
        left_layout.addLayout(search_row)
        left_layout.addWidget(self.tree_label)
        left_layout.addWidget(self.tree, 3)

        self.detail_pane = DetailPane()
        self.detail_pane.terms_source = self._terms_source
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("browserSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.detail_pane)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([480, 800])
        self.setCentralWidget(self.splitter)

    def _build_toolbar(self) -> None:
        bar = self.addToolBar(self.tr("Main"))
        bar.setObjectName("mainToolBar")
        self.main_toolbar = bar
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(self.action_refresh)
        bar.addSeparator()
        bar.addAction(self.action_upload)
        bar.addAction(self.action_capture)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.subscription_box = QComboBox()
        self.subscription_box.setObjectName("subscriptionBox")
        # Short enough that both boxes stay on the toolbar at 900 px (the full name is in the
        # list and in the tooltip).
        self.subscription_box.setMinimumContentsLength(20)
        self.subscription_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.subscription_box.currentIndexChanged.connect(self._on_scope_picked)
        # Buddy labels: their mnemonic (Alt+B, Alt+L in English) puts the focus in the box.
        self.subscription_label = QLabel(self.tr("Su&bscription:"))
        self.subscription_label.setBuddy(self.subscription_box)
        self.subscription_label.setContentsMargins(6, 0, 4, 0)
        self.subscription_box.setAccessibleName(self.tr("Subscription"))
        bar.addWidget(self.subscription_label)
        bar.addWidget(self.subscription_box)
        self.location_box = QComboBox()
        self.location_box.setObjectName("locationBox")
        self.location_box.setMinimumContentsLength(12)
        self.location_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.location_box.currentIndexChanged.connect(self._on_scope_picked)
        self.location_label = QLabel(self.tr("&Location:"))
        self.location_label.setBuddy(self.location_box)
        self.location_label.setContentsMargins(8, 0, 4, 0)
        self.location_box.setAccessibleName(self.tr("Location"))
        bar.addWidget(self.location_label)
        bar.addWidget(self.location_box)
        self.subscription_box.setToolTip(
            self.tr("The subscription whose images and VMs are shown ({key})").format(
                key=_mnemonic(self.subscription_label)
            )
        )
        self.location_box.setToolTip(
            self.tr("The region the images are listed for ({key})").format(
                key=_mnemonic(self.location_label)
            )
        )

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu(self.tr("&File"))
        file_menu.addAction(self.action_upload)
        file_menu.addAction(self.action_capture)
        file_menu.addSeparator()
        file_menu.addAction(self.action_quit)
        edit_menu = menu.addMenu(self.tr("&Edit"))
        edit_menu.addAction(self.action_copy_id)
        edit_menu.addSeparator()
        edit_menu.addAction(self.action_settings)
        view_menu = menu.addMenu(self.tr("&View"))
        self.view_menu: QMenu = view_menu
        view_menu.addAction(self.action_refresh)
        view_menu.addAction(self.action_find)
        view_menu.addAction(self.action_filter)
        view_menu.addSeparator()
        view_menu.addAction(self.action_log)
        sources_menu = menu.addMenu(self.tr("&Sources"))
        sources_menu.addAction(self.action_add_community)
        account_menu = menu.addMenu(self.tr("&Account"))
        account_menu.addAction(self.action_sign_in)
        account_menu.addAction(self.action_sandbox)
        self.help_menu = HelpMenu(self)  # Help (F1), shortcuts, diagnostics, About

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.status_message = StatusMessage()
        status.messageChanged.connect(self.status_message.show_message)
        self.account_label = QLabel(self.tr("Not connected"))
        self.account_label.setObjectName("accountLabel")
        self.account_label.setAccessibleName(self.tr("Signed-in account"))
        # Keeps the width its text needs: long messages give way (elided), not the account.
        self.account_label.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Preferred)
        self.sandbox_badge = QLabel(self.tr("Sandbox: offline, nothing reaches Azure"))
        self.sandbox_badge.setObjectName("sandboxBadge")
        self.sandbox_badge.setStyleSheet(badge_style(Tone.WARNING, self.palette()))
        self.sandbox_badge.setToolTip(
            self.tr(
                "You are working against the embedded local Azure. Everything here is sample "
                "data; nothing you do reaches a real subscription. Account → Sign in to Azure… "
                "to leave it."
            )
        )
        status.addPermanentWidget(self.status_message, 1)
        status.addPermanentWidget(self.account_label)
        status.addPermanentWidget(self.sandbox_badge)

    def _set_tab_order(self) -> None:
        """Tab walks the window as it reads: the scope boxes in the toolbar, the search box,
        the tree, then the detail pane (its disk table lets Tab go on, not from cell to cell)."""
        self.detail_pane.disk_table.setTabKeyNavigation(False)
        pane = self.detail_pane
        inside: list[QWidget] = []  # the pane's tab stops, in their own order
        widget = pane.nextInFocusChain()
        while widget is not None and widget is not pane:
            if pane.isAncestorOf(widget) and widget.focusPolicy().value & TAB_FOCUS:
                inside.append(widget)
            widget = widget.nextInFocusChain()
        panel = self.search_panel
        chain = [
            self.subscription_box,
            self.location_box,
            panel.box,
            *panel.switches,
            panel.view,
            self.search,
            self.tree,
            *inside,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_toolbar()

    def _fit_toolbar(self) -> None:
        """Text beside the toolbar's icons while everything fits, icons only (each with its
        tooltip) when it would not: the scope boxes must never fall into the overflow menu,
        as the Location box did at 900 px."""
        bar = self.main_toolbar
        if bar.orientation() is not Qt.Orientation.Horizontal:
            return
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        if bar.sizeHint().width() > self.width():
            bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)

    # --- layout persistence -------------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self.settings.window_geometry
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.settings.window_state
        if not state.isEmpty():
            self.restoreState(state)
        splitter = self.settings.browser_splitter
        if not splitter.isEmpty():
            self.splitter.restoreState(splitter)
        detail = self.settings.detail_splitter
        parts = self.detail_pane.splitter
        if detail.isEmpty() or not parts.restoreState(detail) or (
            min(parts.sizes(), default=0) < MIN_PANE_PX
        ):
            # Nothing saved, or saved while the disk table was hidden (nothing selected) by an
            # earlier version: that would leave the table 1.5 rows high. The default split.
            parts.setSizes(list(DETAIL_SPLIT))

    def save_layout(self) -> None:
        self.settings.window_geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.browser_splitter = self.splitter.saveState()
        if self.detail_pane.disks_box.isVisible():
            # Hidden, the disk table has size 0 in the splitter: keep the sizes saved while it
            # showed, so the next start shows it as the user left it.
            self.settings.detail_splitter = self.detail_pane.splitter.saveState()
        self.settings.log_visible = self.log_dock.isVisible()
        self.settings.sync()

    # --- scope --------------------------------------------------------------------------------

    def _show_remembered_scope(self) -> None:
        """Shows the last scope from the cache at once, before any network request."""
        self._fill_scope_boxes(
            [(sub_id, name) for sub_id, name in self.settings.known_subscriptions],
            [(name, display) for name, display in self.settings.known_locations],
        )
        subscription, location = self.settings.subscription_id, self.settings.location
        if subscription and location:
            self._apply_scope(subscription, location)

    def _fill_scope_boxes(
        self, subscriptions: list[tuple[str, str]], locations: list[tuple[str, str]]
    ) -> None:
        self._updating_scope = True
        try:
            if subscriptions:
                self._subscriptions = subscriptions
                self.subscription_box.clear()
                for sub_id, name in subscriptions:
                    self.subscription_box.addItem(f"{name}", sub_id)
                    self.subscription_box.setItemData(
                        self.subscription_box.count() - 1, sub_id, Qt.ItemDataRole.ToolTipRole
                    )
            if locations:
                self._locations = locations
                self.location_box.clear()
                for name, display in locations:
                    self.location_box.addItem(display, name)
            self._select_in_box(self.subscription_box, self.settings.subscription_id)
            self._select_in_box(self.location_box, self.settings.location)
        finally:
            self._updating_scope = False

    @staticmethod
    def _select_in_box(box: QComboBox, value: str) -> None:
        row = box.findData(value)
        if row >= 0:
            box.setCurrentIndex(row)

    @property
    def subscription_id(self) -> str:
        return str(self.subscription_box.currentData() or self.settings.subscription_id)

    @property
    def location(self) -> str:
        return str(self.location_box.currentData() or self.settings.location)

    def _on_scope_picked(self, _row: int) -> None:
        if self._updating_scope:
            return
        subscription, location = self.subscription_id, self.location
        if not subscription or not location:
            return
        if (subscription, location) == (self.settings.subscription_id, self.settings.location):
            return
        if subscription != self.settings.subscription_id and self.session is not None:
            self._spawn(self._load_locations(subscription))
        self.settings.last_selection = ""
        self.settings.subscription_id = subscription
        self.settings.location = location
        self._apply_scope(subscription, location)

    def _apply_scope(self, subscription: str, location: str) -> None:
        from gui.azure.catalog.nodes import SOURCES, source_node

        if self.cache is not None:
            self.cache.flush()
        self.cache = ListingCache(cache_dir(), f"{subscription}@{location}")
        roots = [source_node(source) for source in SOURCES]
        self.catalog = None
        # The tree's listing cache first: the catalog shares it (and the search index is fed
        # from it), so what the search resolves and what the tree lists are one.
        self.tree_model.set_source(roots, None, self.cache)
        if self.session is not None:
            self.catalog = self._make_catalog(subscription, location)
            self.tree_model.set_loader(self.catalog.children)
        self._use_search_service()
        self.tree.header().resizeSection(0, NAME_COLUMN_WIDTH)
        self.detail_pane.show_nothing()
        self.scope_changed.emit(subscription, location)
        self._spawn(self._restore_selection())

    def _make_catalog(self, subscription: str, location: str) -> Any:
        from gui.azure.catalog.service import Catalog, Scope

        return Catalog(
            self.session,
            Scope(subscription, location),
            extra_community_galleries=self.settings.community_galleries,
            cache=self.tree_model.listings,
        )

    # --- session ------------------------------------------------------------------------------

    def set_sandbox(self, sandbox: bool) -> None:
        self.sandbox_badge.setVisible(sandbox)
        self.setWindowTitle(
            self.tr("{app} — Sandbox").format(app=APP_NAME) if sandbox else APP_NAME
        )

    async def use_session(self, session: Any) -> None:
        """Connects the window to Azure (or the sandbox): lists subscriptions, then the tree."""
        self.session = session
        self.set_sandbox(session.is_sandbox)
        self.account_label.setText(render_text(session.account))
        self.statusBar().showMessage(self.tr("Listing subscriptions…"))
        await preload_for_connect()
        from gui.azure.account.scope import list_subscriptions

        try:
            subscriptions = await list_subscriptions(session)
        except AzureServiceError as exc:
            self.statusBar().showMessage(
                self.tr("Could not list the subscriptions: {reason}").format(
                    reason=_error_text(exc).splitlines()[0]
                )
            )
            self._show_error(self.tr("Could not list the subscriptions"), exc)
            return
        if not subscriptions:
            self.statusBar().showMessage(
                self.tr("This account has no subscriptions: sign in with another account.")
            )
            return
        pairs = [(sub.subscription_id, sub.display_name) for sub in subscriptions]
        self.settings.known_subscriptions = [list(pair) for pair in pairs]
        chosen = self.settings.subscription_id
        if chosen not in {sub_id for sub_id, _ in pairs}:
            chosen = pairs[0][0]
            self.settings.subscription_id = chosen
        self._fill_scope_boxes(pairs, [])
        await self._load_locations(chosen)
        if (
            self.cache is not None
            and self.catalog is None
            and (self.subscription_id, self.location)
            == (self.settings.subscription_id, self.settings.location)
            and self._tree_shows_scope()
        ):
            # The tree already shows this scope from the cache: give it a loader and refresh.
            self.catalog = self._make_catalog(self.subscription_id, self.location)
            self.tree_model.set_loader(self.catalog.children)
            self._use_search_service()
            self.tree_model.refresh_all()
            self._load_expanded()
            if self.current_node() is None:
                self._spawn(self._restore_selection())
            else:
                self._spawn(self._refresh_detail())
        else:
            self._apply_scope(self.subscription_id, self.location)
        self.statusBar().showMessage(
            self.tr("Connected as {account}.").format(account=session.account), 4000
        )
        settle_heap()
        self.action_upload.setEnabled(True)
        self.action_capture.setEnabled(True)
        self.connected.emit(session)

    def _tree_shows_scope(self) -> bool:
        return self.cache is not None and self.cache.path.name.endswith(
            f"{self.subscription_id}@{self.location}.json"
        )

    async def _load_locations(self, subscription: str) -> None:
        from gui.azure.account.scope import list_locations

        try:
            locations = await list_locations(self.session, subscription)
        except AzureServiceError as exc:
            self.statusBar().showMessage(
                self.tr("Could not list the locations: {reason}").format(
                    reason=_error_text(exc).splitlines()[0]
                )
            )
            return
        pairs = [(loc.name, loc.display_name) for loc in locations]
        self.settings.known_locations = [list(pair) for pair in pairs]
        if self.settings.location not in {name for name, _ in pairs} and pairs:
            self.settings.location = pairs[0][0]
        self._fill_scope_boxes([], pairs)

    # --- tree interaction ---------------------------------------------------------------------

    def current_node(self) -> CatalogNode | None:
        index = self.proxy.mapToSource(self.tree.currentIndex())
        return self.tree_model.node_for(index)

    def _capture_selected(self) -> None:
        """File → Capture VM…: the selected VM, or one picked in the wizard."""
        node = self.current_node()
        self.capture_requested.emit(node if node is not None and node.kind is NodeKind.VM else None)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        node = self.tree_model.node_for(self.proxy.mapToSource(current))
        if node is None:
            return
        self.settings.last_selection = node.ref.key
        self.selection_changed.emit(node)
        self._show_node(node)

    def _show_node(self, node: CatalogNode) -> None:
        if self._detail_task is not None:
            self._detail_task.cancel()
            self._detail_task = None
        if not node.is_image:
            self.detail_pane.show_node(node)
            return
        cached = self.tree_model.listings.cached_detail(node.ref)
        if cached is not None:
            self._present_detail(cached[0], node)
        if self.catalog is None:
            if cached is None:
                self.detail_pane.show_loading(node)
            return
        self.detail_pane.show_loading(node)
        self._detail_task = self._spawn(self._load_detail(node))

    def _present_detail(self, detail: ImageDetail, node: CatalogNode) -> None:
        self.detail_pane.show_detail(detail, node)
        self.detail_shown.emit(detail)

    async def _load_detail(self, node: CatalogNode) -> None:
        try:
            # through the one listing cache: it keeps the answer for the next start
            detail = await self.tree_model.listings.detail(node, self.catalog.detail)
        except AzureServiceError as exc:
            self.detail_pane.show_error(node, exc.user_text())
            return
        self._flush_timer.start()
        current = self.current_node()
        if current is not None and current.ref == node.ref:
            self._present_detail(detail, node)

    async def _refresh_detail(self) -> None:
        node = self.current_node()
        if node is not None and node.is_image:
            self._show_node(node)

    async def _restore_selection(self) -> None:
        key = self.settings.last_selection
        if not key:
            return
        try:
            ref = NodeRef.from_key(key)
        except ValueError:
            return
        await self.select_ref(ref)

    async def select_ref(self, ref: NodeRef) -> bool:
        """Expands the tree down to ``ref`` and selects it; True when it was found."""
        index = await self.tree_model.reveal(ref)
        if not index.isValid():
            return False
        proxy_index = self.proxy.mapFromSource(index)
        parent = proxy_index.parent()
        while parent.isValid():
            self.tree.expand(parent)
            parent = parent.parent()
        node = self.tree_model.node_for(index)
        if node is None or node.ref != ref:
            return False  # not reachable yet (not connected, or gone): keep what is remembered
        self.tree.setCurrentIndex(proxy_index)
        self.tree.scrollTo(proxy_index, QTreeView.ScrollHint.PositionAtCenter)
        return True

    def _on_expanded(self, proxy_index: QModelIndex) -> None:
        self.tree_model.ensure_loaded(self.proxy.mapToSource(proxy_index))

    def _load_expanded(self, parent: QModelIndex = QModelIndex()) -> None:
        """Loads nodes the user expanded before there was anything to load them from."""
        for row in range(self.proxy.rowCount(parent)):
            index = self.proxy.index(row, 0, parent)
            if self.tree.isExpanded(index):
                self.tree_model.ensure_loaded(self.proxy.mapToSource(index))
                self._load_expanded(index)

    def _on_double_clicked(self, proxy_index: QModelIndex) -> None:
        index = self.proxy.mapToSource(proxy_index)
        if self.tree_model.row_kind(index) is RowKind.ERROR:
            self.tree_model.refresh(index.parent())

    def _tree_menu(self, point: QPoint) -> None:
        """A right-click: the menu of the row under the mouse (made current first, so the
        menu's actions and the detail pane speak of the same node), or of the tree."""
        proxy_index = self.tree.indexAt(point)
        if proxy_index.isValid() and proxy_index != self.tree.currentIndex():
            selection = self.tree.selectionModel()
            if selection.isSelected(proxy_index):
                # A right-click inside a multiple selection keeps it: the menu acts on all.
                selection.setCurrentIndex(proxy_index, QItemSelectionModel.SelectionFlag.NoUpdate)
            else:
                self.tree.setCurrentIndex(proxy_index)
        self._open_tree_menu(proxy_index, self.tree.viewport().mapToGlobal(point))

    def _tree_menu_for_current(self) -> None:
        """The Menu key / Shift+F10: the menu of the current node, beside its row."""
        proxy_index = self.tree.currentIndex()
        rect = self.tree.visualRect(proxy_index)
        point = rect.center() if rect.isValid() else QPoint(0, 0)
        self._open_tree_menu(proxy_index, self.tree.viewport().mapToGlobal(point))

    def _open_tree_menu(self, proxy_index: QModelIndex, where: QPoint) -> None:
        node = self.tree_model.node_for(self.proxy.mapToSource(proxy_index))
        if self.tree_menu is not None:
            self.tree_menu.deleteLater()
        menu = self.tree_menu = QMenu(self)
        menu.setObjectName("treeMenu")
        # One Refresh: F5's action, which refreshes the current node (an image with its detail).
        menu.addAction(self.action_refresh)
        if node is not None:
            label = str(self.proxy.data(proxy_index.siblingAtColumn(0)) or node.label)
            copy = menu.addAction(self.tr("Copy name"))
            copy.triggered.connect(lambda: QGuiApplication.clipboard().setText(label))
            if node.kind is NodeKind.VM:
                capture = menu.addAction(icons.icon("capture"), self.tr("Capture VM…"))
                capture.triggered.connect(lambda: self.capture_requested.emit(node))
            if node.is_image:
                menu.addAction(self.action_copy_id)
            if node.ref.source is SourceKind.COMMUNITY:
                menu.addAction(self.action_add_community)
        nodes = self.selected_nodes()
        if nodes:
            for provider in self._node_actions:
                provider(menu, nodes)
        menu.popup(where)

    def add_node_actions(self, provider: NodeActions) -> None:
        """A room adds its actions to the tree's context menu for the selected nodes."""
        self._node_actions.append(provider)

    def selected_nodes(self) -> list[CatalogNode]:
        """The nodes selected in the tree, in the tree's order (the current one when the
        selection is empty)."""
        indexes = sorted(
            self.tree.selectionModel().selectedRows(0),
            key=lambda i: (self.tree.visualRect(i).top(), i.row()),
        )
        if not indexes and self.tree.currentIndex().isValid():
            indexes = [self.tree.currentIndex()]
        nodes = []
        for proxy_index in indexes:
            node = self.tree_model.node_for(self.proxy.mapToSource(proxy_index))
            if node is not None:
                nodes.append(node)
        return nodes

    def refresh(self) -> None:
        """F5: the selected node (with its detail), or every loaded node when none is selected."""
        if self.catalog is None:
            self.statusBar().showMessage(
                self.tr("Not connected yet: nothing to refresh."), 4000
            )
            return
        self.catalog.forget_cached_listings()
        index = self.proxy.mapToSource(self.tree.currentIndex())
        node = self.tree_model.node_for(index)
        if node is None:
            self.tree_model.refresh_all()
        elif node.is_image:
            self._show_node(node)
            self.tree_model.refresh(index.parent())
        else:
            self.tree_model.refresh(index)
        self.statusBar().showMessage(self.tr("Asking Azure again…"), 2000)

    def _on_load_failed(self, key: str, message: str) -> None:
        # The node's name as the tree shows it (translated), never its internal key.
        index = self.tree_model.index_for_key(key)
        name = str(self.tree_model.data(index) or "") if index.isValid() else ""
        reason = message.splitlines()[0] if message else ""
        if name:
            text = self.tr("Could not list {name}: {reason}").format(name=name, reason=reason)
        else:
            text = self.tr("Could not list a node of the tree: {reason}").format(reason=reason)
        self.statusBar().showMessage(text, 8000)

    # --- community galleries ------------------------------------------------------------------

    def _ask_community_gallery(self) -> None:
        # The dialog checks the name with Azure before it closes, so a mistyped name is
        # corrected where it was typed.
        from gui.qt.browser.community_dialog import CommunityGalleryDialog

        if self.catalog is None:
            return
        dialog = CommunityGalleryDialog(self.catalog.add_community_gallery, self.location, self)
        dialog.added.connect(lambda node: self._spawn(self._show_community_gallery(node)))
        dialog.open()

    async def add_community_gallery(self, name: str) -> None:
        if self.catalog is None:
            return
        try:
            node = await self.catalog.add_community_gallery(name)
        except AzureServiceError as exc:
            self._show_error(self.tr("Could not add the community gallery"), exc)
            return
        await self._show_community_gallery(node)

    async def _show_community_gallery(self, node: CatalogNode) -> None:
        if self.catalog is None:
            return
        self.settings.community_galleries = self.catalog.extra_community_galleries
        source = self.tree_model.index_for_key(NodeRef(SourceKind.COMMUNITY).key)
        self.tree_model.refresh(source)
        await self.tree_model.wait_loaded(source)
        await self.select_ref(node.ref)

    # --- new images ---------------------------------------------------------------------------

    def _terms_source(self) -> tuple[Any, str] | None:
        """Where the detail pane reads a plan's terms: the session, in the shown subscription
        (and its name, which the confirmation names)."""
        if self.session is None or self.catalog is None:
            return None
        from gui.azure.terms import MarketplaceTerms

        subscription = self.catalog.scope.subscription_id
        name = dict(self._subscriptions).get(subscription, subscription)
        return MarketplaceTerms(self.session, subscription), name

    @property
    def known_subscriptions(self) -> list[tuple[str, str]]:
        return list(self._subscriptions)

    @property
    def known_locations(self) -> list[tuple[str, str]]:
        return list(self._locations)

    def image_ready(self, ref: NodeRef) -> None:
        """A wizard made an image: show it in the browser once its branch is refreshed."""
        self._spawn(self.show_new_image(ref))

    async def show_new_image(self, ref: NodeRef) -> bool:
        """Lists every node on the way to a new image afresh from Azure, then selects it (with
        its disks); True when it was found. A branch never opened, or shown from the listing
        cache, would otherwise answer with what it held before the image existed."""
        if self.catalog is None:
            return False
        self.catalog.forget_cached_listings()
        for depth in range(len(ref.parts)):
            key = NodeRef(ref.source, ref.parts[:depth]).key
            if not await self.list_afresh(key):
                break
        found = await self.select_ref(ref)
        if not found:
            self.statusBar().showMessage(
                self.tr("The new image is made, but the tree does not list it yet: press F5 "
                        "to ask Azure again."),
                15000,
            )
        return found

    async def list_afresh(self, key: str) -> bool:
        """Asks Azure for the children of the node ``key`` and waits for the answer (not the
        cached listing a first expansion shows); False when the node is not in the tree or the
        listing failed."""
        index = self.tree_model.index_for_key(key)
        if not index.isValid():
            return False
        listed: list[str] = []
        self.tree_model.children_loaded.connect(listed.append)
        try:
            # A first expansion may show the cache and settle before Azure answers: wait for
            # it, then ask again unless that wait already brought Azure's answer.
            await self.tree_model.wait_loaded(index)
            if key not in listed:
                index = self.tree_model.index_for_key(key)
                self.tree_model.refresh(index)
                await self.tree_model.wait_loaded(index)
        finally:
            self.tree_model.children_loaded.disconnect(listed.append)
        index = self.tree_model.index_for_key(key)
        return index.isValid() and self.tree_model.load_state(index) is LoadState.LOADED

    def vm_changed(self, vm_id: str) -> None:
        """A capture changed a VM (generalized, deallocated): list the VMs again, so its node
        no longer shows what it was, and show its detail afresh if it is selected."""
        self._spawn(self._refresh_vms(vm_id))

    async def _refresh_vms(self, vm_id: str) -> None:
        if self.catalog is None:
            return
        self.catalog.forget_cached_listings()
        await self.list_afresh(NodeRef(SourceKind.VMS).key)
        current = self.current_node()
        if current is not None and current.kind is NodeKind.VM:
            group, name = current.ref.parts[-2:]
            if vm_id.lower().endswith(f"/resourcegroups/{group}/providers/microsoft.compute/"
                                      f"virtualmachines/{name}".lower()):
                self._show_node(current)

    # --- misc ---------------------------------------------------------------------------------

    # --- search (issue 14) --------------------------------------------------------------------

    def use_search(self, index: Any, catalog_client: Any) -> None:
        """The local search index (``gui.azure.search.index.SearchIndex``) and the Marketplace
        Catalog client (None: the index answers alone), both owned by the app controller."""
        self.search_index = index
        self.catalog_client = catalog_client
        self._use_search_service()

    def _use_search_service(self) -> None:
        """A search service for the scope the tree shows (its catalog resolves ``latest``
        through the tree's listing cache, which feeds the index)."""
        previous = self.search_service
        if previous is not None and previous.feed is not None:
            # Unhooked here and closed on a worker thread: closing writes what is queued (a
            # region's publishers take a few hundred ms), never on the window's thread.
            feed = previous.feed
            for cache in {id(c): c for c in (self.tree_model.listings, previous.catalog.cache)
                          if c is not None}.values():
                if feed in cache.listeners:
                    cache.listeners.remove(feed)
            self._spawn(asyncio.to_thread(feed.close))
        self.search_service = None
        if self.search_index is None:
            self.search_panel.set_searcher(None)
            return
        from gui.azure.search.refresh import Refresher
        from gui.azure.search.service import SearchService

        if self._refresh_task is not None:
            self._refresh_task.cancel()
            self._refresh_task = None
        refresher = None
        if self.catalog is not None:
            refresher = Refresher(self.search_index, self.catalog)
        self.search_service = service = SearchService(
            self.search_index, catalog=self.catalog, catalog_client=self.catalog_client
        )
        if refresher is not None and service.feed is not None:
            refresher.feed = service.feed  # the service's feed replaced the refresher's own
            self._refresh_task = self._spawn(self._refresh_index(refresher))
        self.search_panel.set_searcher(self._search)

    async def _refresh_index(self, refresher: Any) -> None:
        """Reads the facts and words of what the index holds, within ARM's read budget;
        rests when done until the tree lists something new (or a minute passes)."""
        while True:
            report = await refresher.refresh_once()
            if report.refreshed == 0:
                self._index_wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._index_wake.wait(), INDEX_IDLE_SECONDS)

    async def _search(self, text: str, filters: SearchFilters) -> Any:
        service = self.search_service
        if service is None:
            raise RuntimeError("no search service")  # the panel has no searcher then
        return await service.search(text, filters, self.location)

    def _reveal_hit(self, hit: SearchHit) -> None:
        self._spawn(self.reveal_hit(hit))

    async def reveal_hit(self, hit: SearchHit) -> bool:
        """Shows a search hit in the tree: the path to it expanded (each level listed), the
        node selected, and for a SKU or an image definition its latest version with its disks.
        True when the node was found."""
        if self.search.text():
            self.search.clear()  # the filter over loaded nodes would hide the path
        try:
            ref = NodeRef.from_key(hit.key)
        except ValueError:
            ref = None
        if ref is None or not await self.select_ref(ref):
            self.statusBar().showMessage(
                self.tr("{name} is not in the tree of this subscription and region.").format(
                    name=hit.title
                ),
                8000,
            )
            return False
        node = self.current_node()
        if node is None or node.is_image:
            return True
        index = self.tree_model.index_for_key(ref.key)
        if await self.tree_model.wait_loaded(index) is not LoadState.LOADED:
            return True
        index = self.tree_model.index_for_key(ref.key)
        versions = [
            child
            for row in range(self.tree_model.rowCount(index))
            if (child := self.tree_model.node_for(self.tree_model.index(row, 0, index)))
            is not None
            and child.is_image
        ]
        if not versions:
            return True
        chosen = next((v for v in versions if v.name == hit.latest_version), None)
        if chosen is None:
            chosen = max(versions, key=lambda v: version_sort_key(v.name))
        return await self.select_ref(chosen.ref)

    def _copy_selected_id(self) -> None:
        detail = self.detail_pane.detail
        if detail is not None:
            text = (
                detail.title if detail.ref.source is SourceKind.MARKETPLACE else detail.resource_id
            )
            QGuiApplication.clipboard().setText(text)
            self.statusBar().showMessage(self.tr("Copied {text}").format(text=text), 3000)

    def _focus_search(self) -> None:
        box = self.search_panel.box
        box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        box.selectAll()
        if box.text().strip():
            self.search_panel.results.show()

    def _focus_filter(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _toggle_log(self, visible: bool) -> None:
        self.log_dock.setVisible(visible)

    def _show_error(self, title: str, error: AzureServiceError) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, _error_text(error), parent=self)
        if error.code:
            box.setDetailedText(self.tr("Azure error code: {code}").format(code=error.code))
        box.open()

    def _flush_cache_soon(self) -> None:
        cache = self.cache
        if cache is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop (shutting down): write it here
            cache.flush()
            return
        self._spawn(asyncio.to_thread(cache.flush))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro)

    def cancel_tasks(self) -> None:
        self._tasks.cancel_all()
        self.search_panel.cancel_tasks()
        self.tree_model.cancel_all()

    # --- quitting -----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        active = self._transfers is not None and bool(self._transfers.active)
        if not self._quit_confirmed and (self._stopping or active):
            # Closing now would leave a managed disk in ActiveUpload with nobody to finish or
            # revoke it: ask first (window close, Ctrl+Q and File → Quit all come here).
            event.ignore()
            if not self._stopping:
                self._spawn(self.ask_quit())
            return
        self.save_layout()
        self._flush_timer.stop()
        self.cancel_tasks()
        if self.cache is not None:
            self.cache.flush()
        self.log_dock.detach()
        self.closing.emit()
        event.accept()
        super().closeEvent(event)

    async def ask_quit(self) -> None:
        """Pause and quit, cancel and quit, or keep working (a window-modal box, opened with
        open(): a nested exec() inside the qasync loop would stall every coroutine)."""
        if self.quit_box is not None:  # already asking (window-modal, so it is on top)
            return
        transfers = self._transfers
        if transfers is None:  # no Transfers panel yet: no upload can run
            self._quit_now()
            return
        # Asking the keyring may block (it loads its backend, may talk to D-Bus): off the GUI.
        keyring = await asyncio.to_thread(lambda: transfers.vault.available)
        active = transfers.active
        if not active or self.quit_box is not None:
            if not active:
                self._quit_now()
            return
        count = len(active)
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Transfers are running"),
            self.tr(
                "%n upload(s) or download(s) still running. What should happen to them when "
                "the app closes?",
                "",
                count,
            ),
            parent=self,
        )
        box.setObjectName("quitDialog")
        box.setWindowModality(Qt.WindowModality.WindowModal)
        pause = box.addButton(self.tr("&Pause and quit"), QMessageBox.ButtonRole.AcceptRole)
        pause.setObjectName("pauseAndQuit")
        cancel = box.addButton(
            self.tr("&Cancel uploads and quit"), QMessageBox.ButtonRole.DestructiveRole
        )
        cancel.setObjectName("cancelAndQuit")
        keep = box.addButton(self.tr("&Keep working"), QMessageBox.ButtonRole.RejectRole)
        keep.setObjectName("keepWorking")
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        if keyring:
            pause_text = self.tr(
                "<p><b>Pause and quit</b>: every upload stops where it is and resumes at the "
                "next start (a managed disk keeps its write access, held in the system keyring "
                "until then).</p>"
            )
        else:
            pause_text = self.tr(
                "<p><b>Pause and quit</b>: every upload stops where it is and resumes at the "
                "next start (this system has no keyring to hold a managed disk's write access, "
                "so that access is revoked too and the disk's upload starts over).</p>"
            )
        box.setInformativeText(
            pause_text
            + self.tr(
                "<p>A download stops the same way: its read access is revoked, and it "
                "continues at the next start with only the data it still lacks.</p>"
            )
            + self.tr(
                "<p><b>Cancel uploads and quit</b>: write access is revoked; a managed disk "
                "cannot take more data after that, so a later resume starts it over.</p>"
                "<p><b>Keep working</b>: nothing changes.</p>"
            )
        )
        answers = {pause: "pause", cancel: "cancel", keep: "keep"}
        box.buttonClicked.connect(lambda button: self._quit_answered(answers.get(button, "keep")))
        box.finished.connect(self._forget_quit_box)
        self.quit_box = box
        box.open()

    def _forget_quit_box(self, _result: int = 0) -> None:
        box, self.quit_box = self.quit_box, None
        if box is not None:
            box.deleteLater()

    def _quit_answered(self, answer: str) -> None:
        if answer == "keep" or self._stopping:
            return
        self._stopping = True
        keep = answer == "pause"
        self.statusBar().showMessage(
            self.tr("Pausing the uploads for the next start…")
            if keep
            else self.tr("Cancelling the uploads…")
        )
        self._spawn(self._stop_uploads_and_quit(keep=keep))

    async def _stop_uploads_and_quit(self, *, keep: bool) -> None:
        from gui.qt.transfers.model import stop_all

        try:
            if self._transfers is not None:
                await stop_all(self._transfers, keep=keep)
        finally:
            self._stopping = False
            self._quit_now()

    def _quit_now(self) -> None:
        self._quit_confirmed = True
        # Closed from the event loop, not from inside this task: closing cancels the window's
        # tasks, this one among them.
        QTimer.singleShot(0, self.close)

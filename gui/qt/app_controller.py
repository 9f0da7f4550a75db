"""The app's long-lived parts and their start: the window, the one TransferManager, the
workflows (uploads, captures) and the Azure session. The controller owns them and hands them in;
nothing reaches one through another. Start-up and account switching: Azure CLI sign-in, else the
sandbox; sign in later on demand."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QMessageBox

from gui.qt.main_window import MainWindow, preload_for_connect
from gui.qt.settings import Settings
from gui.qt.tasks import TaskSet

if TYPE_CHECKING:
    # Both import the upload engine, the Azure SDK and aiohttp: more than half of what a start
    # imports. The app makes them after the first paint (``defer_transfers``).
    from gui.qt.transfers.model import TransferManager
    from gui.qt.workflows import Workflows

log = logging.getLogger(__name__)

FIRST_PAINT_WAIT_S = 1.0
# What the rooms made after the first paint import (the upload engine, the Azure SDK, aiohttp
# and the services behind the tree's actions; no Qt among them): imported by a worker thread, so
# the window just shown keeps answering.
ROOM_SERVICES = (
    "gui.azure.upload.runner",
    "gui.azure.download.source",
    "gui.azure.copy.nodes",
    "gui.azure.vm_create.request",
)


class AppController(QObject):
    def __init__(
        self,
        settings: Settings,
        *,
        sandbox: bool = False,
        sandbox_reset: bool = False,
        cloud_name: str | None = None,
        defer_transfers: bool = False,
    ) -> None:
        """With ``defer_transfers`` (the app's start), the Transfers panel and the workflows
        (upload, capture) are made once the window has painted, when ``run()`` starts; without
        it (tests, benchmarks), at once."""
        super().__init__()
        self.window = window = MainWindow(settings)
        self.setParent(window)  # goes with the window (and is found among its children)
        self._transfers: TransferManager | None = None
        self._workflows: Workflows | None = None
        self._announced: Any = None  # the session the window said it shows (``connected``)
        self.force_sandbox = sandbox
        self.sandbox_reset = sandbox_reset
        # None until connect_initial() resolves it: --cloud, else the cloud chosen in the app
        # last time, else the Azure CLI's current cloud (`az cloud show`), else Azure (global).
        self.cloud_name = cloud_name
        # The sandbox of sandbox mode: a gui.sandbox.process.SandboxProcess the controller
        # starts (its CPU work off this process's GIL), or a SandboxServer a test hands in.
        self.server: Any = None
        self._sandbox_start: asyncio.Task[Any] | None = None
        self.sandbox_error_box: QMessageBox | None = None
        self.search_index: Any = None  # gui.azure.search.index.SearchIndex, opened on connect
        self.catalog_client: Any = None  # the Marketplace Catalog client of the session
        self.session: Any = None
        self._closed: asyncio.Event | None = None
        self._tasks = TaskSet("app controller")
        window.connected.connect(self._connected)
        window.sign_in_requested.connect(self.open_sign_in)
        window.settings_requested.connect(self.open_settings)
        window.sandbox_requested.connect(lambda: self._spawn(self.switch_to_sandbox()))
        window.closing.connect(self._on_closing)
        self.settings = settings
        self.settings_dialog: Any = None
        self.apply_settings()
        if not defer_transfers:
            self.attach_transfers()

    @property
    def transfers(self) -> TransferManager:
        """The app's one TransferManager (made on first use when the start deferred it)."""
        self.attach_transfers()
        assert self._transfers is not None
        return self._transfers

    @property
    def workflows(self) -> Workflows:
        """Where uploads and captures start (made with the TransferManager)."""
        self.attach_transfers()
        assert self._workflows is not None
        return self._workflows

    def attach_transfers(self) -> None:
        """Makes the TransferManager, the window's Transfers panel and the workflows; once."""
        if self._transfers is not None:
            return
        # Imported here, not at the top: see the TYPE_CHECKING imports.
        from gui.qt.transfers.model import TransferManager
        from gui.qt.workflows import Workflows

        window = self.window
        self._transfers = TransferManager(self)
        window.attach_transfers(self._transfers)
        self._workflows = Workflows(window, self._transfers)
        window.upload_requested.connect(self._workflows.open_upload_wizard)
        window.capture_requested.connect(self._workflows.open_capture_wizard)
        self._attach_room_actions()
        self._apply_transfer_settings()
        if self._announced is not None:
            self._connected(self._announced)  # connected before: the new parts get the session

    def _attach_room_actions(self) -> None:
        """The rooms' entries in the tree's context menu, after the Delete… of the workflows:
        Create VM… / Test boot…, Download…, Copy to…, and the hand-offs."""
        from gui.qt.browser.handoff_actions import HandoffActions
        from gui.qt.copy.dialog import CopyActions
        from gui.qt.create_vm.actions import install_vm_actions
        from gui.qt.download.dialog import DownloadActions
        from gui.qt.manage.edit_actions import install_edit_actions

        window = self.window
        self.vm_actions = install_vm_actions(window)
        if self._workflows is not None:
            self._workflows.test_boot = self.vm_actions.open_ref  # "then test-boot it"
        self.download_actions = DownloadActions(window)
        window.add_node_actions(self.download_actions.node_actions)
        self.copy_actions = CopyActions(window)
        window.add_node_actions(self.copy_actions.node_actions)
        self.edit_actions = install_edit_actions(window)
        self.handoff_actions = HandoffActions(window)
        window.add_node_actions(self.handoff_actions.node_actions)

    def apply_settings(self) -> None:
        """What the settings mean for the running app; at start and after the dialog's OK."""
        self._apply_transfer_settings()
        self.window.tree_model.max_age_seconds = self.settings.cache_max_age_minutes * 60.0

    def _apply_transfer_settings(self) -> None:
        if self._transfers is None:
            return  # attach_transfers applies them
        s = self.settings
        prefs = self._transfers.preferences
        prefs.concurrency = s.upload_concurrency
        prefs.delete_partial_disk = s.delete_partial_disk
        # Mbit/s as the user sets it; the engine counts bytes.
        prefs.bandwidth.set_rate(s.bandwidth_cap_mbps * 1_000_000 // 8 or None)

    def open_settings(self) -> None:
        """Edit → Settings; one dialog at a time, never a nested event loop (open, not exec)."""
        from gui.qt.settings_dialog import SettingsDialog

        if self.settings_dialog is not None:
            self.settings_dialog.raise_()
            self.settings_dialog.activateWindow()
            return
        window = self.window
        dialog = SettingsDialog(
            self.settings, window.known_subscriptions, window.known_locations, window)
        dialog.applied.connect(self.apply_settings)
        dialog.cache_clear_requested.connect(self._clear_cache)
        dialog.finished.connect(self._settings_closed)
        self.settings_dialog = dialog
        dialog.open()

    def _clear_cache(self) -> None:
        # The tree's listings object changes with the account: the current one is cleared.
        self.window.tree_model.listings.clear()

    def _settings_closed(self) -> None:
        if self.settings_dialog is not None:
            self.settings_dialog.deleteLater()
        self.settings_dialog = None

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._tasks.spawn(coro)

    def _on_closing(self) -> None:
        self._tasks.cancel_all()
        if self._transfers is not None:
            self._transfers.cancel_all()
        if self._closed is not None:
            self._closed.set()

    async def run(self, open_files: Sequence[Path] = ()) -> None:
        """Attaches the transfers once the window has painted, opens the upload wizard for
        each of ``open_files``, connects, then waits until the window closes and cleans up."""
        # run() ends the app after shutdown() has stopped the uploads, closed the session and
        # stopped the sandbox. Were Qt to quit as soon as the window is gone, the qasync loop
        # would stop under that work ("Event loop stopped before Future completed"). Set here,
        # not when the controller is made, so that a controller in a test that never runs the
        # app leaves the application as it was.
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setQuitOnLastWindowClosed(False)
        self._closed = asyncio.Event()
        if not self.window.isVisible():
            self._closed.set()
        elif self._transfers is None:
            await self._first_paint()
            # The upload engine, the Azure SDK and aiohttp (no Qt among them): imported by a
            # worker thread, so the window just shown keeps answering (~0.5 s of imports).
            if self.force_sandbox:
                # After the paint, never before it: the child's start overlaps the imports.
                self._start_sandbox()
            for module in ROOM_SERVICES:
                await asyncio.to_thread(importlib.import_module, module)
        self.attach_transfers()
        for path in open_files:
            self.workflows.open_upload_wizard(path)
        connect = self._spawn(self.connect_initial())
        await self._closed.wait()
        connect.cancel()
        await self.shutdown()

    async def _first_paint(self) -> None:
        """Until the window has painted, or a second at most (a window that is not exposed,
        say on another virtual desktop, may not paint yet and still needs its parts)."""
        window = self.window
        if window.has_painted:
            return
        painted = asyncio.get_running_loop().create_future()

        def done() -> None:
            if not painted.done():
                painted.set_result(None)

        window.first_painted.connect(done)
        try:
            await asyncio.wait_for(painted, FIRST_PAINT_WAIT_S)
        except TimeoutError:
            log.info("The window did not paint within %.0f s; going on", FIRST_PAINT_WAIT_S)
        finally:
            window.first_painted.disconnect(done)

    async def connect_initial(self) -> None:
        from gui.azure.account.clouds import resolve_cloud
        from gui.azure.account.signin import restore_saved_sign_in, try_azure_cli

        session = None
        if not self.force_sandbox:
            self.window.statusBar().showMessage(self.tr("Looking for an Azure CLI sign-in…"))
            # `az cloud show` starts a process: off the GUI thread.
            cloud = await asyncio.to_thread(resolve_cloud, self.cloud_name)
            self.cloud_name = cloud.name
            session = await try_azure_cli(cloud) or await restore_saved_sign_in(cloud)
        if session is None:
            session = await self._sandbox_session()
            if session is None:
                return  # the window says why and stays usable: sign in, or quit
        await self.use(session)

    def _start_sandbox(self) -> asyncio.Task[Any]:
        """Starts the sandbox process, once; the task ends when it listens, with None, or
        with the error that kept it from starting."""
        if self._sandbox_start is None:
            self._sandbox_start = self._spawn(self._run_sandbox())
        return self._sandbox_start

    async def _run_sandbox(self) -> Exception | None:
        from gui.paths import sandbox_dir
        from gui.sandbox.process import SandboxProcess
        from gui.sandbox.server import SandboxError

        if self.server is not None:
            return None  # handed in (tests), or already running
        self.window.statusBar().showMessage(self.tr("Starting the offline sandbox…"))
        process = SandboxProcess(sandbox_dir(), reset=self.sandbox_reset)
        starting = asyncio.ensure_future(asyncio.to_thread(process.start))
        try:
            await asyncio.shield(starting)
        except asyncio.CancelledError:
            # The app quit while the child started: let the start finish, then end the child.
            await asyncio.gather(starting, return_exceptions=True)
            await asyncio.to_thread(process.stop)
            raise
        except (SandboxError, OSError) as error:  # returned: an expected failure, not a bug
            return error
        self.sandbox_reset = False  # --sandbox-reset starts over once, not at every switch
        self.server = process
        log.info("Sandbox process %s listening at %s", process.pid, process.arm_url)
        return None

    async def _sandbox_session(self) -> Any:
        """A session on the sandbox, started if need be; None when it could not start (the
        window says why)."""
        from gui.azure.account.session import sandbox_session

        if self.server is None:
            error = await self._start_sandbox()
            if error is not None:
                self._sandbox_failed(error)
                return None
        return sandbox_session(self.server.arm_url)

    def _sandbox_failed(self, error: Exception) -> None:
        from gui.paths import sandbox_dir
        from gui.sandbox.process import LOG_FILE

        log.error("The sandbox could not start: %s", error)
        self._sandbox_start = None  # the next switch to the sandbox tries again
        title = self.tr("The offline sandbox could not start")
        self.window.statusBar().showMessage(title)
        text = self.tr(
            "The offline sandbox could not start: {reason}\n\n"
            "Sign in to Azure (Account → Sign in to Azure…), or quit and start the app with "
            "--sandbox-reset to start the sandbox over from its seed. Its log: {log}"
        ).format(reason=error, log=sandbox_dir() / LOG_FILE)
        if self.sandbox_error_box is not None:
            self.sandbox_error_box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, parent=self.window)
        box.setObjectName("sandboxErrorBox")
        box.open()  # not exec(): the window stays usable behind it
        self.sandbox_error_box = box

    async def use(self, session: Any) -> None:
        """Hands a new session to the window, then closes the previous one. Once the window
        shows the subscription it says so (``connected``), and the transfers and workflows get
        the session too."""
        previous, self.session = self.session, session
        await preload_for_connect()  # the imports below and the window's, off the GUI thread
        await self._use_search(session)
        await self.window.use_session(session)
        if previous is not None and previous is not session:
            await previous.close()
        if not session.is_sandbox:
            await self._stop_sandbox()  # signed in: the sandbox is not needed any longer

    async def _use_search(self, session: Any) -> None:
        """The search index (opened once) and the Marketplace Catalog client for ``session``:
        the sandbox's catalogue in sandbox mode, Azure's only with an API key in the
        environment; without one the local index answers alone."""
        from gui.azure.search.catalog_api import MarketplaceCatalogClient
        from gui.azure.search.index import SearchIndex

        if self.search_index is None:
            # Opening may create or rebuild the database: a worker thread, not the GUI's.
            self.search_index = await asyncio.to_thread(SearchIndex.in_cache_dir)
        previous = self.catalog_client
        if session.is_sandbox:
            server = self.server
            self.catalog_client = (
                MarketplaceCatalogClient.for_sandbox(server.catalog_url)
                if server is not None
                else None
            )
        else:
            self.catalog_client = MarketplaceCatalogClient.from_environment()
        self.window.use_search(self.search_index, self.catalog_client)
        if previous is not None:
            await previous.close()

    def _connected(self, session: Any) -> None:
        self.session = self._announced = session
        if self._transfers is None or self._workflows is None:
            return  # attach_transfers hands them the session
        self._transfers.session = session
        self._workflows.connected(session)  # offers unfinished uploads: after the line above
        self.download_actions.connected(session)
        self.copy_actions.connected(session)

    async def switch_to_sandbox(self) -> None:
        session = await self._sandbox_session()
        if session is not None:
            await self.use(session)

    def open_sign_in(self) -> None:
        from gui.qt.sign_in_dialog import SignInDialog

        dialog = SignInDialog(self.window, self.cloud_name or "AzureCloud")
        chosen = dialog.method_box.findData(self.settings.sign_in_method)
        dialog.method_box.setCurrentIndex(max(0, chosen))
        dialog.signed_in.connect(lambda session: self._spawn(self.use(session)))
        dialog.open()

    async def shutdown(self) -> None:
        from gui.qt.transfers.model import stop_all

        # Running uploads stop cleanly (access revoked, journal saved) and resume next time.
        if self._transfers is not None:
            await stop_all(self._transfers)
        if self.session is not None:
            try:
                await self.session.close()
            except Exception:  # closing must not keep the app from quitting
                log.exception("Closing the Azure session failed")
            self.session = None
        if self.catalog_client is not None:
            await self.catalog_client.close()
            self.catalog_client = None
        if self.search_index is not None:
            service = self.window.search_service
            if service is not None and service.feed is not None:
                await asyncio.to_thread(service.feed.close)  # its queued writes first
            await asyncio.to_thread(self.search_index.close)
            self.search_index = None
        await self._stop_sandbox()

    async def _stop_sandbox(self) -> None:
        start, self._sandbox_start = self._sandbox_start, None
        if start is not None and not start.done():
            start.cancel()  # its own handler stops the half-started process
            await asyncio.gather(start, return_exceptions=True)
        server, self.server = self.server, None
        if server is not None:
            await asyncio.to_thread(server.stop)

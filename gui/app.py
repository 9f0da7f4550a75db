"""Entry point of the window: arguments, QApplication, the qasync loop, the main window."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import threading
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

from PySide6.QtWidgets import QApplication

from gui import APP_NAME, __version__, resources
from gui.azure.account.clouds import CLOUDS
from gui.paths import data_dir
from gui.transfer.redact import RedactingFormatter, redact


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="azure-image-studio",
        description=f"{APP_NAME}: browse, inspect, capture and upload Azure VM images.",
        epilog="Headless commands: 'azure-image-studio inspect FILE', "
        "'azure-image-studio upload FILE --to URL'.",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the embedded offline sandbox even when an Azure sign-in exists",
    )
    parser.add_argument(
        "--sandbox-reset",
        action="store_true",
        help="start the sandbox over from its seed (implies --sandbox)",
    )
    parser.add_argument(
        "--cloud",
        default=None,
        choices=list(CLOUDS),
        help="the cloud to use; without it: the one chosen in the app last time, else the "
        "Azure CLI's current cloud (`az cloud show`), else AzureCloud",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        help="disk images (.vhd, .vhdx, .img, .raw) to open in the upload wizard",
    )
    args = parser.parse_args(list(argv))
    if args.sandbox_reset:
        args.sandbox = True
    return args


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_path: Path | None = None) -> logging.Handler:
    """Logs to the data directory's log file; every line and traceback goes through ``redact``.

    Also routes uncaught exceptions (main thread and worker threads) into the log, redacted,
    instead of Python's default hook that would print a SAS or token in a traceback to stderr.
    Returns the file handler so a caller (or a test) can remove it again.
    """
    path = log_path or data_dir() / "azure-image-studio.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    # The SDK logs every request and header at INFO: keep that out of the user's log.
    logging.getLogger("azure").setLevel(logging.WARNING)
    install_exception_hooks()
    return handler


def install_exception_hooks() -> None:
    """Uncaught exceptions go to the (redacted) log and a redacted traceback to stderr."""
    log = logging.getLogger("gui")

    def report(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None, where: str
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        log.critical("Unhandled error in %s", where, exc_info=(kind, value, tb))
        text = "".join(traceback.format_exception(kind, value, tb))
        with contextlib.suppress(OSError, ValueError, AttributeError):  # no stderr (pythonw)
            sys.stderr.write(redact(text))

    def main_hook(
        kind: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        report(kind, value, tb, "the main thread")

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        report(args.exc_type, args.exc_value, args.exc_traceback, name)

    sys.excepthook = main_hook
    threading.excepthook = thread_hook


def run(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    # The window's modules load only once the arguments are good: --help, --version and a
    # usage error answer at once.
    import qasync

    from gui.qt import icons
    from gui.qt.app_controller import AppController
    from gui.qt.i18n import install_translators
    from gui.qt.settings import Settings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(resources.DESKTOP_ID)  # Wayland finds the entry and its icon by it
    app.setWindowIcon(icons.icon("app"))
    configure_logging()
    settings = Settings()
    install_translators(settings.language)
    loop = qasync.QEventLoop(app)
    # Workers (file I/O, sync credentials) need no Qt: plain threads end cleanly at exit.
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ais-worker")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    controller = AppController(
        settings,
        sandbox=args.sandbox,
        sandbox_reset=args.sandbox_reset,
        cloud_name=args.cloud,
        # The window paints first; the upload engine and the Azure SDK load after (run()).
        defer_transfers=True,
    )
    controller.window.show()
    files = [Path(name).resolve() for name in args.files]
    with loop:
        loop.run_until_complete(controller.run(open_files=files))
    executor.shutdown(wait=False, cancel_futures=True)
    return 0

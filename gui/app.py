"""Entry point of the window: arguments, QApplication, the qasync loop, the main window."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtWidgets import QApplication

from gui import APP_ID, APP_NAME, __version__


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
        "--cloud", default=None, help="AzureCloud (default), AzureUSGovernment or AzureChinaCloud"
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


def configure_logging() -> None:
    from gui.paths import data_dir

    handler = logging.FileHandler(data_dir() / "azure-image-studio.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    from gui.azure.errors import redact

    class _Redacting(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = redact(record.getMessage())
            record.args = None
            return True

    handler.addFilter(_Redacting())
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    # The SDK logs every request and header at INFO: keep that out of the user's log.
    logging.getLogger("azure").setLevel(logging.WARNING)


def run(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    import qasync

    from gui.models.settings import Settings
    from gui.views import icons
    from gui.views.app_controller import AppController
    from gui.views.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(APP_ID)
    app.setWindowIcon(icons.icon("app"))
    configure_logging()
    loop = qasync.QEventLoop(app)
    # Workers (file I/O, sync credentials) need no Qt: plain threads end cleanly at exit.
    executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ais-worker")
    loop.set_default_executor(executor)
    asyncio.set_event_loop(loop)
    window = MainWindow(Settings())
    window.show()
    for name in args.files:
        window.workflows.open_upload_wizard(Path(name).resolve())
    controller = AppController(
        window, sandbox=args.sandbox, sandbox_reset=args.sandbox_reset, cloud_name=args.cloud
    )
    with loop:
        loop.run_until_complete(controller.run())
    executor.shutdown(wait=False, cancel_futures=True)
    return 0

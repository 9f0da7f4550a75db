"""``python -m gui.sandbox``: run the sandbox standalone and print its URLs."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import IO

from gui.paths import sandbox_dir
from gui.sandbox.catalog.service import warm_catalog
from gui.sandbox.process import ACK, FAILED_PREFIX, READY_PREFIX
from gui.sandbox.seed import SANDBOX_SUBSCRIPTIONS, SANDBOX_TENANT_ID
from gui.sandbox.seed.world import STORAGE_ACCOUNTS
from gui.sandbox.server import SandboxError, SandboxServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui.sandbox", description=__doc__)
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the sandbox keeps its state (default: the app's data dir)",
    )
    parser.add_argument("--reset", action="store_true", help="start over from the seeded world")
    parser.add_argument("--port", type=int, default=0, help="ARM port (default: a free one)")
    parser.add_argument("--blob-port", type=int, default=0, help="blob port (default: a free one)")
    parser.add_argument(
        "--catalog-port",
        type=int,
        default=0,
        help="Marketplace Catalog API port (default: a free one)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="run as the app's child: print one 'SANDBOX_READY {json}' line with the URLs, "
        "build the Marketplace Catalog at once, take tunables as JSON lines on stdin and stop "
        "when stdin closes",
    )
    parser.add_argument(
        "--no-signal-handlers",
        action="store_true",
        help="stop on Ctrl+C (KeyboardInterrupt) only, as where signal handlers cannot be "
        "installed; for testing that fallback",
    )
    args = parser.parse_args(argv)
    server = SandboxServer(
        args.state_dir or sandbox_dir(),
        reset=args.reset,
        port=args.port,
        blob_port=args.blob_port,
        catalog_port=args.catalog_port,
    )
    stop = threading.Event()
    names = () if args.no_signal_handlers else STOP_SIGNALS
    # In before the server starts: a stop asked for at any moment after the first line is printed
    # ends the server cleanly, not by the signal's default action.
    with stop_on_signals(stop, names) as installed:
        try:
            try:
                server.start()
            except (SandboxError, OSError) as exc:
                if not args.control:
                    raise
                # One line the app shows in its window, instead of a traceback.
                print(f"{FAILED_PREFIX}{exc}", flush=True)
                return 1
            if args.control:
                _serve_parent(server, stop)
            else:
                _print_endpoints(server, installed)
            wait_for_stop(stop)
        except KeyboardInterrupt:  # Ctrl+C while starting, in the fallback
            pass
        finally:
            server.stop()
    return 0


def _serve_parent(server: SandboxServer, stop: threading.Event) -> None:
    """The child's side of ``gui.sandbox.process``: the catalogue built now (its own process,
    so no window waits on the GIL meanwhile), the URLs announced, then stdin read on a thread
    until it closes, which is how a parent that quit or died (even by SIGKILL) stops us."""
    warm_catalog()
    urls = {"arm": server.arm_url, "blob": server.blob_url, "catalog": server.catalog_url}
    print(READY_PREFIX + json.dumps(urls), flush=True)
    threading.Thread(
        target=_read_commands, args=(server, sys.stdin, stop), name="parent-pipe", daemon=True
    ).start()


def _read_commands(server: SandboxServer, pipe: IO[str], stop: threading.Event) -> None:
    try:
        for line in pipe:
            print(_apply(server, line), flush=True)
    except (OSError, ValueError):  # the pipe broke: the parent is gone just the same
        pass
    stop.set()


def _apply(server: SandboxServer, line: str) -> str:
    """One JSON command of the parent's: ``{"latency": s}``, ``{"lro_seconds": s}`` set;
    ``{"request_count": null}`` asks (the answer follows the acknowledgement)."""
    answer = ""
    try:
        command = json.loads(line)
        if not isinstance(command, dict):
            raise ValueError("not an object")
        for name, value in command.items():
            if name == "latency":
                server.faults.latency = max(0.0, float(value))
            elif name == "lro_seconds":
                server.lro_seconds = float(value)
            elif name == "request_count":
                answer = f" {server.request_count}"
            else:
                raise ValueError(f"unknown setting {name!r}")
    except (ValueError, TypeError) as exc:
        return f"refused: {exc}"
    return ACK + answer


def _print_endpoints(server: SandboxServer, stop_signals: Sequence[str]) -> None:
    print(f"ARM endpoint:  {server.arm_url}")
    if server.blob_url:
        print(f"Blob endpoint: {server.blob_url}")
    print(f"Catalog API:   {server.catalog_url}  (Marketplace Catalog, any X-API-Key)")
    print(f"Tenant:        {SANDBOX_TENANT_ID}")
    for sid, name in SANDBOX_SUBSCRIPTIONS:
        print(f"Subscription:  {sid}  {name}")
    for account, containers in STORAGE_ACCOUNTS.items():
        print(f"Storage:       {server.blob_url}/{account}/  ({', '.join(containers)})")
    print(f"State:         {server.state_dir}")
    print(f"Stops on:      {', '.join(stop_signals) or 'KeyboardInterrupt'}")
    print("Press Ctrl+C to stop.", flush=True)


# The signals that ask a process to stop, where the platform has them: SIGTERM and SIGHUP do not
# exist or are never delivered on Windows, which has SIGBREAK (Ctrl+Break) instead.
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK")
# Event.wait() without a timeout cannot be interrupted by Ctrl+C on Windows; waking up now and
# then lets the KeyboardInterrupt through.
_WAKE_S = 0.25


@contextmanager
def stop_on_signals(stop: threading.Event, names: Sequence[str]) -> Iterator[list[str]]:
    """Set ``stop`` on each named signal this platform has and lets us handle; yields their names.

    A signal is skipped where it does not exist (``signal.SIGTERM`` is missing on some builds,
    ``SIGHUP`` on Windows) or cannot be handled here (only the main thread may install handlers,
    and embedded interpreters may refuse): then Ctrl+C still works through KeyboardInterrupt.
    Handlers are put back on exit.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: list[tuple[int, Callable[[int, FrameType | None], object] | int | None]] = []
    installed: list[str] = []
    for name in names:
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous.append((signum, signal.signal(signum, handler)))
        except (ValueError, OSError, RuntimeError):  # not the main thread, or not allowed here
            continue
        installed.append(name)
    try:
        yield installed
    finally:
        for signum, old in reversed(previous):
            signal.signal(signum, old if old is not None else signal.SIG_DFL)


def wait_for_stop(stop: threading.Event) -> None:
    """Block until ``stop`` is set or Ctrl+C raises KeyboardInterrupt."""
    try:
        while not stop.wait(_WAKE_S):
            pass
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    sys.exit(main())

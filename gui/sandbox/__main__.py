"""``python -m gui.sandbox``: run the sandbox standalone and print its URLs."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from gui.paths import sandbox_dir
from gui.sandbox.seed import SANDBOX_SUBSCRIPTIONS, SANDBOX_TENANT_ID
from gui.sandbox.seed.world import STORAGE_ACCOUNTS
from gui.sandbox.server import SandboxServer


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
    args = parser.parse_args(argv)
    server = SandboxServer(
        args.state_dir or sandbox_dir(), reset=args.reset, port=args.port, blob_port=args.blob_port
    )
    server.start()
    print(f"ARM endpoint:  {server.arm_url}")
    if server.blob_url:
        print(f"Blob endpoint: {server.blob_url}")
    print(f"Tenant:        {SANDBOX_TENANT_ID}")
    for sid, name in SANDBOX_SUBSCRIPTIONS:
        print(f"Subscription:  {sid}  {name}")
    for account, containers in STORAGE_ACCOUNTS.items():
        print(f"Storage:       {server.blob_url}/{account}/  ({', '.join(containers)})")
    print(f"State:         {server.state_dir}")
    print("Press Ctrl+C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Command-line entry point.

``azure-image-studio`` with no arguments (or with disk-image files) starts the window; the
headless commands never import Qt:

- ``inspect FILE``: what a disk image is and whether Azure would take it;
- ``upload FILE --to URL`` or ``upload FILE --disk NAME ...``: a page blob, or a managed disk
  and its managed image or gallery version;
- ``download SOURCE FILE``: a disk, snapshot, gallery version or page blob to a local file;
- ``copy SOURCE --to TARGET``: a server-side copy between regions, subscriptions or tenants;
- ``images search TEXT``: find an image as the window's search box does;
- ``smoke --subscription ID --location REGION``: the whole path in a throw-away group.

Each takes ``--json``, ``--sandbox`` and documents its exit codes in ``--help``
(gui/commands/options.py). ``azure-image-studio --install-desktop`` installs the Linux desktop
entry, MIME types and icons for the user.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Sequence

# The command's name and the module whose ``main(argv) -> int`` runs it.
COMMANDS = {
    "inspect": "gui.commands.inspect",
    "upload": "gui.commands.upload",
    "download": "gui.commands.download",
    "copy": "gui.commands.copy",
    "images": "gui.commands.images",
    "smoke": "gui.commands.smoke",
}

# gui.sandbox.process.FROZEN_ENTRY, spelt out here: importing that module would load aiohttp
# for every command and every start of the window.
SANDBOX_ENTRY = "--run-sandbox"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        # Imported on use: a command loads only its own engine (and never Qt).
        name = COMMANDS[args[0]]
        if importlib.util.find_spec(name) is None:
            sys.stderr.write(f"azure-image-studio: this build has no {args[0]} command\n")
            return 2
        command: Callable[[list[str]], int] = importlib.import_module(name).main
        return command(args[1:])
    if args and args[0] == SANDBOX_ENTRY:
        # Hidden: how the window's sandbox mode starts its sandbox process inside a bundle,
        # where sys.executable is this program and ``-m gui.sandbox`` is not available.
        from gui.sandbox.__main__ import main as run_sandbox

        return run_sandbox(args[1:])
    if args and args[0] == "--install-desktop":
        from gui.qt.desktop import main as install_desktop

        return install_desktop(args[1:])
    from gui.app import run

    return run(args)

"""Command-line entry point.

``azure-image-studio`` with no arguments (or with disk-image files) starts the window;
``azure-image-studio inspect FILE``, ``azure-image-studio upload FILE --to URL`` and
``azure-image-studio smoke --subscription ID --location REGION`` run headless, so they never
import Qt. ``azure-image-studio --install-desktop`` installs the Linux desktop entry, MIME types
and icons for the user.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "inspect":
        from gui.commands.inspect import main as inspect_main

        return inspect_main(args[1:])
    if args and args[0] == "upload":
        from gui.commands.upload import main as upload_main

        return upload_main(args[1:])
    if args and args[0] == "images":
        from gui.commands.images import main as images_main

        return images_main(args[1:])
    if args and args[0] == "smoke":
        from gui.commands.smoke import main as smoke_main

        return smoke_main(args[1:])
    if args and args[0] == "--install-desktop":
        from gui.qt.desktop import main as install_desktop

        return install_desktop(args[1:])
    from gui.app import run

    return run(args)

"""Take the AppStream screenshot: the window in sandbox mode, 1280×800, once the tree has loaded.

    QT_QPA_PLATFORM=offscreen python packaging/screenshot.py packaging/screenshots/main-window.png

The metainfo (resources/desktop/*.metainfo.xml) links the committed file by its URL in the
project's repository.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

SIZE = (1280, 800)
SETTLE_MS = 8000  # the sandbox starts and the tree's first levels load


def main() -> int:
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/screenshot.py OUT.png")
    out = Path(sys.argv[1]).resolve()
    os.environ.setdefault("AZURE_IMAGE_STUDIO_HOME", tempfile.mkdtemp(prefix="ais-shot-"))
    app = QApplication([sys.argv[0]])

    def shoot() -> None:
        windows = [w for w in app.topLevelWidgets() if isinstance(w, QMainWindow)]
        if not windows:
            raise SystemExit("no main window appeared")
        window = windows[0]
        window.resize(*SIZE)
        app.processEvents()
        if not window.grab().save(str(out)):
            raise SystemExit(f"could not write {out}")
        print(out)
        window.close()

    QTimer.singleShot(SETTLE_MS, shoot)
    from gui.app import run

    return run(["--sandbox"])


if __name__ == "__main__":
    raise SystemExit(main())

"""Render the app icon (resources/icons/app.svg) as a Windows .ico and a macOS .icns.

``python packaging/make_icons.py OUTDIR`` writes OUTDIR/azure-image-studio.ico and .icns. The
PyInstaller spec runs it at build time, so no bitmap is committed: the SVG is the one source,
drawn by Qt's own SVG renderer (QtSvg is part of PySide6-Essentials). Both files hold PNG
images, which Windows (since Vista) and macOS (since 10.7) read inside .ico and .icns.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

from buildinfo import BUNDLE_DIR

from gui import resources

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# (icns element type, pixel size): the 1x and @2x slots Finder and the Dock look up.
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"ic11", 32), (b"ic12", 64), (b"ic07", 128),
    (b"ic13", 256), (b"ic08", 256), (b"ic14", 512), (b"ic09", 512), (b"ic10", 1024),
)


def ico(images: dict[int, bytes]) -> bytes:
    """An .ico file holding one PNG per size (ICONDIR, then one ICONDIRENTRY per image)."""
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        data = images[size]
        side = 0 if size >= 256 else size  # 0 means 256 in a one-byte field
        entries.append(struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset))
        blobs.append(data)
        offset += len(data)
    return header + b"".join(entries) + b"".join(blobs)


def icns(images: dict[int, bytes]) -> bytes:
    """An .icns file: the 'icns' header, then each element as type, length, PNG data."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(images[size])) + images[size]
        for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_icons(out_dir: Path) -> tuple[Path, Path]:
    """Render the icon at every size once and write the .ico and the .icns into ``out_dir``."""
    # Qt is imported only here: buildinfo and this module's writers are used without it.
    from PySide6.QtGui import QGuiApplication

    from gui.qt.icons import render_png

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0], "-platform", "offscreen"])
    svg = resources.path("icons", "app.svg")
    sizes = {*ICO_SIZES, *(size for _, size in ICNS_TYPES)}
    images = {size: render_png(svg, size) for size in sorted(sizes)}
    out_dir.mkdir(parents=True, exist_ok=True)
    ico_path = out_dir / f"{BUNDLE_DIR}.ico"
    icns_path = out_dir / f"{BUNDLE_DIR}.icns"
    ico_path.write_bytes(ico({size: images[size] for size in ICO_SIZES}))
    icns_path.write_bytes(icns(images))
    return ico_path, icns_path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/make_icons.py OUTDIR")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    for written in write_icons(Path(sys.argv[1])):
        print(written)

"""The application's SVG icons (resources/icons, found through gui.resources), loaded once each."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QIcon, QImage, QImageWriter, QPainter
from PySide6.QtSvg import QSvgRenderer

from gui import resources
from gui.azure.catalog.nodes import CatalogNode, NodeKind, SourceKind


@cache
def icon(name: str) -> QIcon:
    """The icon ``resources/icons/<name>.svg``; an unknown name gives an empty icon."""
    path = resources.root() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


_SOURCE_ICONS = {
    SourceKind.MARKETPLACE: "marketplace",
    SourceKind.COMMUNITY: "community",
    SourceKind.SHARED: "shared",
    SourceKind.MANAGED: "managed",
    SourceKind.GALLERY: "gallery",
    SourceKind.VMS: "capture",
    SourceKind.STORAGE: "upload",
}

_KIND_ICONS = {
    NodeKind.PUBLISHER: "publisher",
    NodeKind.OFFER: "offer",
    NodeKind.SKU: "sku",
    NodeKind.GALLERY: "gallery",
    NodeKind.RESOURCE_GROUP: "resource-group",
    NodeKind.DEFINITION: "definition",
    NodeKind.IMAGE: "image",
    NodeKind.VERSION: "version",
    NodeKind.VM: "capture",
    NodeKind.STORAGE_ACCOUNT: "resource-group",
    NodeKind.CONTAINER: "resource-group",
    NodeKind.BLOB: "image",
}


def node_icon(node: CatalogNode) -> QIcon:
    if node.kind is NodeKind.SOURCE:
        return icon(_SOURCE_ICONS[node.ref.source])
    return icon(_KIND_ICONS.get(node.kind, "version"))


def render_png(svg: Path, size: int) -> bytes:
    """``svg`` drawn as a ``size``×``size`` PNG (for icon themes, .ico and .icns, which want
    bitmaps at fixed sizes). Needs a QGuiApplication (QPainter does)."""
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"{svg} is not an SVG image Qt can draw")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QImageWriter(buffer, QByteArray(b"png"))
    if not writer.write(image):
        raise ValueError(f"cannot encode {svg} as PNG: {writer.errorString()}")
    buffer.close()
    return bytes(data.data())

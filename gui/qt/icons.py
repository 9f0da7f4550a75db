"""The application's SVG icons (resources/icons), loaded once each."""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

from gui.azure.catalog.nodes import CatalogNode, NodeKind, SourceKind


def resources_dir() -> Path:
    """The source checkout's resources/, or the copy a wheel installs under share/."""
    candidates = (
        Path(__file__).resolve().parents[2] / "resources",
        Path(sys.prefix) / "share" / "azure-image-studio" / "resources",
    )
    for candidate in candidates:
        if (candidate / "icons").is_dir():
            return candidate
    return candidates[0]


@cache
def icon(name: str) -> QIcon:
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


_SOURCE_ICONS = {
    SourceKind.MARKETPLACE: "marketplace",
    SourceKind.COMMUNITY: "community",
    SourceKind.SHARED: "shared",
    SourceKind.MANAGED: "managed",
    SourceKind.GALLERY: "gallery",
    SourceKind.VMS: "capture",
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
}


def node_icon(node: CatalogNode) -> QIcon:
    if node.kind is NodeKind.SOURCE:
        return icon(_SOURCE_ICONS[node.ref.source])
    return icon(_KIND_ICONS.get(node.kind, "version"))

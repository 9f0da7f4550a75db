"""VHDX files: replaced by the full reader in the next commit."""

from __future__ import annotations

from gui.vhd.errors import UnsupportedImageError
from gui.vhd.layout import OpenedLayout
from gui.vhd.pio import PositionalFile


def open_vhdx(file: PositionalFile) -> OpenedLayout:
    raise UnsupportedImageError(f"{file.path.name} is a VHDX, which this version cannot read yet")

"""The disk-image engine: VHD, VHDX and raw images as the fixed VHD Azure accepts.

No Qt and no Azure SDK here; see :func:`open_image`.
"""

from gui.vhd.errors import (
    CorruptBlockTableError,
    CorruptFooterError,
    CorruptHeaderError,
    CorruptMetadataError,
    CorruptRegionTableError,
    DirtyLogError,
    EmptyImageError,
    ImageChangedError,
    ImageClosedError,
    ImageUnreadableError,
    ImplausibleSizeError,
    InvalidBlockSizeError,
    ParentChainError,
    ParentMismatchError,
    ParentNotFoundError,
    TruncatedImageError,
    UnsupportedImageError,
    VhdError,
)
from gui.vhd.image import DiskImage, open_image
from gui.vhd.model import Finding, ImageFormat, Level, Range

__all__ = [
    "CorruptBlockTableError",
    "CorruptFooterError",
    "CorruptHeaderError",
    "CorruptMetadataError",
    "CorruptRegionTableError",
    "DirtyLogError",
    "DiskImage",
    "EmptyImageError",
    "Finding",
    "ImageChangedError",
    "ImageClosedError",
    "ImageFormat",
    "ImageUnreadableError",
    "ImplausibleSizeError",
    "InvalidBlockSizeError",
    "Level",
    "ParentChainError",
    "ParentMismatchError",
    "ParentNotFoundError",
    "Range",
    "TruncatedImageError",
    "UnsupportedImageError",
    "VhdError",
    "open_image",
]

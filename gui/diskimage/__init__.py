"""The disk-image engine: VHD, VHDX and raw images as the fixed VHD Azure accepts.

No Qt and no Azure SDK here. Typical use::

    with open_image(path) as img:          # raises a DiskImageError subclass if unreadable
        for finding in img.findings:        # Level.ERROR blocks the upload
            print(finding.level.name, finding.message)
        if img.acceptable:
            for r in img.data_ranges():     # fixed-stream offsets that can hold data
                img.readinto(r.offset, buf) # thread-safe; zeros where nothing is stored
            # the last 512 bytes of the stream, at img.fixed_size, are img.footer

Formats: fixed/dynamic/differencing VHD (parents found through their locators), fixed/dynamic
VHDX, raw, recognised by content (never by name). QCOW2, VMDK, VDI, archives, ISOs and encrypted
volumes are recognised too and refused with an UnsupportedFormatError subclass that carries the
conversion command. Nothing is loaded in proportion to the disk size.
"""

from gui.diskimage.detect import DISK_IMAGE_SUFFIXES, has_disk_image_suffix
from gui.diskimage.errors import (
    ArchiveFileError,
    CorruptBlockTableError,
    CorruptFooterError,
    CorruptHeaderError,
    CorruptMetadataError,
    CorruptRegionTableError,
    DirtyLogError,
    DiskImageError,
    EmptyImageError,
    EncryptedImageError,
    ForeignDiskFormatError,
    ImageChangedError,
    ImageClosedError,
    ImageUnreadableError,
    ImplausibleSizeError,
    InstallerImageError,
    InvalidBlockSizeError,
    ParentChainError,
    ParentMismatchError,
    ParentNotFoundError,
    TruncatedImageError,
    UnsupportedFormatError,
    UnsupportedImageError,
)
from gui.diskimage.image import DiskImage, open_image
from gui.diskimage.model import Finding, ImageFormat, Level, Range

__all__ = [
    "DISK_IMAGE_SUFFIXES",
    "ArchiveFileError",
    "CorruptBlockTableError",
    "CorruptFooterError",
    "CorruptHeaderError",
    "CorruptMetadataError",
    "CorruptRegionTableError",
    "DirtyLogError",
    "DiskImage",
    "DiskImageError",
    "EmptyImageError",
    "EncryptedImageError",
    "Finding",
    "ForeignDiskFormatError",
    "ImageChangedError",
    "ImageClosedError",
    "ImageFormat",
    "ImageUnreadableError",
    "ImplausibleSizeError",
    "InstallerImageError",
    "InvalidBlockSizeError",
    "Level",
    "ParentChainError",
    "ParentMismatchError",
    "ParentNotFoundError",
    "Range",
    "TruncatedImageError",
    "UnsupportedFormatError",
    "UnsupportedImageError",
    "has_disk_image_suffix",
    "open_image",
]

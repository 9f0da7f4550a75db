"""The disk-image engine's errors: one type per cause, all deriving from :class:`DiskImageError`.

Every message is written for the person who chose the file: it says what is wrong with it and what
to do about it, so views and the ``inspect`` command can show it as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from gui.i18n import QT_TR_NOOP, Message, Render, Text, message


class DiskImageError(Exception):
    """Base of every error the disk-image engine raises on purpose.

    ``message`` is the English text (also ``str(error)``); it carries its :class:`Message`, so
    the window shows it translated through :meth:`localized`.
    """

    def __init__(self, message: Message | str) -> None:
        self.message = Text(message)
        super().__init__(self.message)

    def localized(self, render: Render) -> str:
        return self.message.localized(render)


class _DetailError(DiskImageError):
    """An error whose message is its class's ``TEMPLATE`` around one ``{detail}``."""

    TEMPLATE: ClassVar[str]  # a QT_TR_NOOP template holding {detail}

    def __init__(self, detail: Message | str) -> None:
        super().__init__(message(self.TEMPLATE, detail=Text(detail)))


class ImageUnreadableError(DiskImageError):
    """The file cannot be opened or read at all (missing, a directory, no permission, I/O error)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(message(
            QT_TR_NOOP("Cannot read {path}: {reason}. Check that the path is right and that you "
                       "may read it."),
            path=path, reason=Text(reason)))
        self.path = path


class EmptyImageError(DiskImageError):
    """The file holds no bytes, so there is no disk in it."""

    def __init__(self, path: Path) -> None:
        super().__init__(message(
            QT_TR_NOOP("{path} is empty, so it holds no disk. Choose the disk image file itself."),
            path=path))
        self.path = path


class TruncatedImageError(DiskImageError):
    """A structure the file needs lies (partly) beyond its end: an incomplete copy or download."""

    def __init__(self, what: Message | str, needed_end: int, file_size: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("The file is cut short: its {what} would end at byte {needed_end:,}, but "
                       "the file has only {file_size:,} bytes. The copy or download is probably "
                       "incomplete; copy the image again from its source."),
            what=Text(what), needed_end=needed_end, file_size=file_size))
        self.needed_end = needed_end
        self.file_size = file_size


class CorruptFooterError(_DetailError):
    """The VHD footer is unusable (cookie present, but fields make no sense)."""

    TEMPLATE = QT_TR_NOOP(
        "The VHD footer is damaged: {detail}. Repair the image with the tool that made it "
        "(Hyper-V 'Inspect Disk', 'qemu-img check') or export it again."
    )


class CorruptHeaderError(_DetailError):
    """A dynamic VHD header or VHDX header is missing or damaged beyond use."""

    TEMPLATE = QT_TR_NOOP(
        "The image header is damaged: {detail}. The file cannot be read safely; repair it "
        "(Hyper-V 'Inspect Disk', 'qemu-img check -r all') or export the disk again."
    )


class CorruptRegionTableError(_DetailError):
    """Both VHDX region tables are missing or damaged, or the BAT/metadata regions are absent."""

    TEMPLATE = QT_TR_NOOP(
        "The VHDX region table is damaged: {detail}. Repair the image in Hyper-V "
        "('Inspect Disk') or convert it again with 'qemu-img convert -O vhdx'."
    )


class CorruptMetadataError(_DetailError):
    """The VHDX metadata region lacks a required item or holds impossible values."""

    TEMPLATE = QT_TR_NOOP(
        "The VHDX metadata is damaged: {detail}. Repair the image in Hyper-V ('Inspect Disk') "
        "or convert it again with 'qemu-img convert -O vhdx'."
    )


class CorruptBlockTableError(_DetailError):
    """A block-table entry points where no data can be (outside the file, into the headers)."""

    TEMPLATE = QT_TR_NOOP(
        "The image's block table is damaged: {detail}. The data of that block cannot be "
        "found; run 'qemu-img check' on the image or export the disk again."
    )


class InvalidBlockSizeError(DiskImageError):
    """The block size is zero, not a power of two, or outside what the format allows."""

    def __init__(self, block_size: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("The image declares a block size of {block_size:,} bytes, which is not a "
                       "power of two of a sensible size, so its blocks cannot be located. The "
                       "file is damaged or not a real disk image; export the disk again."),
            block_size=block_size))
        self.block_size = block_size


class UnsupportedImageError(_DetailError):
    """The file is a valid image of a kind or with a feature this engine does not read."""

    TEMPLATE = QT_TR_NOOP(
        "This image cannot be uploaded as it is: {detail}. Convert it to a plain disk first, "
        "for example with 'qemu-img convert -O vpc -o subformat=fixed,force_size=on'."
    )


class DirtyLogError(DiskImageError):
    """A VHDX log holds writes that were never applied: reading it now would give stale data."""

    def __init__(self) -> None:
        super().__init__(message(QT_TR_NOOP(
            "The VHDX has unfinished writes in its log (it was not closed cleanly, for example the "
            "VM or host crashed). Reading it now could give stale data. Attach it once in Hyper-V "
            "(Mount-VHD, then Dismount-VHD) or run 'qemu-img check -r all' on it, then try again."
        )))


class ParentNotFoundError(DiskImageError):
    """A differencing VHD's parent disk is not next to it (or where its locators point)."""

    def __init__(self, child: Path, parent_name: Message | str, searched: list[Path]) -> None:
        places: Message | str = ", ".join(str(p) for p in searched) or message(
            QT_TR_NOOP("nowhere (the child names no parent path)"))
        super().__init__(message(
            QT_TR_NOOP("{child} is a differencing disk whose parent '{parent}' was not found "
                       "(looked at: {places}). Put the parent file next to it, or merge the "
                       "chain into one disk first (Hyper-V 'Edit Disk > Merge', or 'qemu-img "
                       "convert')."),
            child=child.name, parent=Text(parent_name), places=Text(places)))
        self.child = child
        self.parent_name = Text(parent_name)
        self.searched = searched


class ParentMismatchError(DiskImageError):
    """The file found as the parent is not the disk the child was made from."""

    def __init__(self, child: Path, parent: Path, detail: Message | str) -> None:
        super().__init__(message(
            QT_TR_NOOP("{parent} is not the parent of {child}: {detail}. The parent was replaced "
                       "or modified after the differencing disk was made, so the chain would give "
                       "wrong data. Find the original parent or merge the chain where it was "
                       "made."),
            parent=parent, child=child.name, detail=Text(detail)))
        self.child = child
        self.parent = parent


class ParentChainError(_DetailError):
    """The parent chain is too deep or loops back on itself."""

    TEMPLATE = QT_TR_NOOP(
        "The chain of differencing disks cannot be followed: {detail}. Merge the chain into "
        "one disk first (Hyper-V 'Edit Disk > Merge', or 'qemu-img convert')."
    )


class ImageChangedError(DiskImageError):
    """The file shrank or vanished while it was being read."""

    def __init__(self, path: Path) -> None:
        super().__init__(message(
            QT_TR_NOOP("{path} changed while it was being read (it became shorter). Make sure no "
                       "VM or program is using the disk, then start again."),
            path=path))
        self.path = path


class ImageClosedError(DiskImageError):
    """The image was read after :meth:`DiskImage.close`."""

    def __init__(self, path: Path) -> None:
        super().__init__(message(
            QT_TR_NOOP("{path} was already closed; open it again to read it."), path=path))
        self.path = path


class ImplausibleSizeError(DiskImageError):
    """The file declares a disk far larger than any disk can be: the size field is damaged."""

    def __init__(self, declared: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("The image declares a disk of {declared:,} bytes, far beyond any real "
                       "disk, so its size field is damaged. Repair the image or export the disk "
                       "again."),
            declared=declared))
        self.declared = declared


class UnsupportedFormatError(DiskImageError):
    """The file holds a container this engine does not read, recognised by its content.

    The file name never decides: a QCOW2 named ``.img`` or a VMDK renamed ``.vhd`` lands here.
    ``format_name`` is the short machine name (``qcow2``, ``vmdk``, ``gzip``, ``iso9660``…),
    ``format_label`` the one for people, ``command`` what turns the file into something uploadable
    (None when no single command does). The command stays as it is in every language: it is
    an argument of the message, never part of its template.
    """

    def __init__(self, message: Message | str, *, path: Path, format_name: str, format_label: str,
                 command: str | None) -> None:
        super().__init__(message)
        self.path = path
        self.format_name = format_name
        self.format_label = format_label
        self.command = command


class ForeignDiskFormatError(UnsupportedFormatError):
    """Another hypervisor's disk format (QCOW2, VMDK, VDI, QED, Parallels, DMG): convert it."""


class ArchiveFileError(UnsupportedFormatError):
    """A compressed file or archive (gzip, xz, zip, tar, OVA…): unpack it first."""


class InstallerImageError(UnsupportedFormatError):
    """A CD/DVD image (ISO 9660, UDF): an installer, not a disk."""


class EncryptedImageError(UnsupportedFormatError):
    """An encrypted volume (LUKS, encrypted QCOW2): Azure cannot read it."""

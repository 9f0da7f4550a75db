"""Errors of the disk-image writers: one type per cause, each deriving from DiskImageError.

Every message says what went wrong with the output file and what to do about it.
"""

from __future__ import annotations

from pathlib import Path

from gui.diskimage.errors import DiskImageError
from gui.diskimage.rules import human_size
from gui.i18n import QT_TR_NOOP, Text, message


class DiskImageWriteError(DiskImageError):
    """Base of the errors raised while writing a disk image file."""


class OutputNotWritableError(DiskImageWriteError):
    """The output file cannot be created or opened for writing (no folder, no permission)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(message(
            QT_TR_NOOP("Cannot write {path}: {reason}. Choose a folder that exists and that you "
                       "may write to."),
            path=path, reason=Text(reason)))
        self.path = path


class DiskFullError(DiskImageWriteError):
    """The drive of the output file has less free space than the disk's data needs."""

    def __init__(self, path: Path, needed: int, available: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("Not enough free space for {path}: the disk's data needs {needed} more, "
                       "but the drive has only {available} free. Free some space or choose a "
                       "file on another drive."),
            path=path, needed=human_size(needed), available=human_size(available)))
        self.path = path
        self.needed = needed
        self.available = available


class OutputFileTooLargeError(DiskImageWriteError):
    """The output drive's file system cannot hold a file this large (FAT32: 4 GiB)."""

    def __init__(self, path: Path, size: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("The file system of the drive holding {path} cannot store a file of "
                       "{size} (FAT32, for example, stops at 4 GiB). Choose a drive formatted "
                       "with NTFS, exFAT, ext4, APFS or XFS."),
            path=path, size=human_size(size)))
        self.path = path
        self.size = size


class FormatSizeLimitError(DiskImageWriteError):
    """The chosen output format cannot describe a disk (or its data) this large."""

    def __init__(self, format_name: str, size: int, limit: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("A {format_name} file cannot hold this disk: it would need {size}, and the "
                       "format stops at {limit}. Choose another format (a fixed VHD or a raw "
                       "file holds any size)."),
            format_name=format_name, size=human_size(size), limit=human_size(limit)))
        self.format_name = format_name
        self.size = size
        self.limit = limit


class InvalidDiskSizeError(DiskImageWriteError):
    """The disk size is not a positive whole number of 512-byte sectors."""

    def __init__(self, size: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("A disk of {size:,} bytes cannot be written: disk sizes are a positive "
                       "whole number of 512-byte sectors. The source reported a wrong size; "
                       "check the disk in Azure."),
            size=size))
        self.size = size


class InvalidRangeError(DiskImageWriteError):
    """A data range lies outside the disk (a page list or a write that does not fit)."""

    def __init__(self, offset: int, length: int, virtual_size: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("The data range at byte {offset:,} ({length:,} bytes) does not lie inside "
                       "the {virtual_size:,}-byte disk. The source's list of data ranges is "
                       "inconsistent; start the download again."),
            offset=offset, length=length, virtual_size=virtual_size))
        self.offset = offset
        self.length = length


class UnplannedWriteError(DiskImageWriteError):
    """Data arrived for a block the layout did not plan (it was not in the data ranges)."""

    def __init__(self, offset: int, length: int) -> None:
        super().__init__(message(
            QT_TR_NOOP("Data arrived for bytes {offset:,} to {end:,} of the disk, which its list "
                       "of data ranges did not name, so the file has no place for it. The disk "
                       "changed during the download; download it again from a snapshot."),
            offset=offset, end=offset + length))
        self.offset = offset
        self.length = length


class ResumeMismatchError(DiskImageWriteError):
    """The partial file to resume was not started with the same layout (or is not ours)."""

    def __init__(self, path: Path) -> None:
        super().__init__(message(
            QT_TR_NOOP("{path} cannot be continued: it was not started as this download (its "
                       "format, size or data layout differ, or it was changed since). Delete it "
                       "or choose another file name, then start the download again."),
            path=path))
        self.path = path


class PartialFileMissingError(DiskImageWriteError):
    """The partial file a download was to continue in is gone."""

    def __init__(self, path: Path) -> None:
        super().__init__(message(
            QT_TR_NOOP("The partly downloaded file {path} is gone, so the download cannot "
                       "continue where it stopped. Start the download again."),
            path=path))
        self.path = path


class WriterClosedError(DiskImageWriteError):
    """A write or finish after the writer was finished or closed."""

    def __init__(self, path: Path) -> None:
        super().__init__(message(
            QT_TR_NOOP("{path} was already closed for writing; start the download again to "
                       "continue it."),
            path=path))
        self.path = path


class OutputWriteFailedError(DiskImageWriteError):
    """Any other I/O error of the output drive (a removed drive, an I/O error)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(message(
            QT_TR_NOOP("Writing {path} failed: {reason}. Check the drive (is it still "
                       "connected?) and resume the download."),
            path=path, reason=Text(reason)))
        self.path = path

"""Azure's rules for an uploaded disk, as findings a user can act on.

Sizes (checked against Microsoft's documentation): a managed disk holds at most 32,767 GiB; a page
blob at most 8 TiB including the footer; an OS disk at most 4,095 GiB (Generation 2 VM, GPT), and
for a Generation 1 VM (BIOS, MBR partition table) only the first 2 TiB can be used, so 2,048 GiB is
the practical limit. Uploads must be a fixed VHD of a whole number of MiB plus the 512-byte footer,
and at least 20 MiB.
"""

from __future__ import annotations

from gui.diskimage.model import Finding, Level
from gui.i18n import QT_TR_NOOP, Text, message

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
TIB = 1024 * GIB

FOOTER_SIZE = 512
MIN_DISK_SIZE = 20 * MIB
MAX_MANAGED_DISK_SIZE = 32_767 * GIB
MAX_PAGE_BLOB_SIZE = 8 * TIB
MAX_OS_DISK_GEN1 = 2_048 * GIB
MAX_OS_DISK_GEN2 = 4_095 * GIB


def round_up_to_mib(size: int) -> int:
    return -(-size // MIB) * MIB


def human_size(size: int) -> Text:
    """Binary units, the way Azure states disk sizes (GiB/TiB), with the exact byte count."""
    for unit, factor in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            return Text(message(
                QT_TR_NOOP("{value:.{decimals}f} {unit} ({size:,} bytes)"),
                value=size / factor, decimals=0 if size % factor == 0 else 2, unit=unit,
                size=size))
    return Text(message(QT_TR_NOOP("{size:,} bytes"), size=size))


def size_findings(virtual_size: int) -> list[Finding]:
    """What Azure will say about a disk of ``virtual_size`` bytes once we present it fixed."""
    fixed = round_up_to_mib(virtual_size)
    upload = fixed + FOOTER_SIZE
    virtual_text, fixed_text, upload_text = map(human_size, (virtual_size, fixed, upload))
    # (applies, level, code, message), in the order they are shown; the size limits that include
    # one another are exclusive, so only the strictest one is reported.
    rules = (
        (fixed != virtual_size, Level.INFO, "size-rounded", message(
            QT_TR_NOOP("The disk is {virtual}, not a whole number of MiB, which Azure requires. "
                       "It will be uploaded as {fixed}: {added:,} zero bytes are added at the "
                       "end. The guest sees a slightly larger disk; nothing to do."),
            virtual=virtual_text, fixed=fixed_text, added=fixed - virtual_size)),
        (True, Level.INFO, "upload-size", message(
            QT_TR_NOOP("Upload size: {upload} (the disk as a fixed VHD plus its 512-byte "
                       "footer); only the parts that hold data are sent."),
            upload=upload_text)),
        (fixed < MIN_DISK_SIZE, Level.ERROR, "too-small", message(
            QT_TR_NOOP("The disk is {virtual}; Azure refuses disks smaller than 20 MiB. Enlarge "
                       "it first, for example 'qemu-img resize FILE 20M'."),
            virtual=virtual_text)),
        (fixed > MAX_MANAGED_DISK_SIZE, Level.ERROR, "too-large", message(
            QT_TR_NOOP("The disk is {fixed}; Azure disks hold at most 32,767 GiB. Shrink the "
                       "disk's partitions and the disk (for example 'qemu-img resize --shrink') "
                       "first."),
            fixed=fixed_text)),
        (upload > MAX_PAGE_BLOB_SIZE and fixed <= MAX_MANAGED_DISK_SIZE, Level.WARNING,
         "too-large-for-page-blob", message(
            QT_TR_NOOP("At {upload} the disk is larger than a page blob may be (8 TiB). Upload "
                       "it as a managed disk instead of to a storage account."),
            upload=upload_text)),
        (fixed > MAX_OS_DISK_GEN2, Level.WARNING, "too-large-for-os-disk", message(
            QT_TR_NOOP("At {fixed} the disk is larger than an OS disk may be (4,095 GiB); use it "
                       "as a data disk only."),
            fixed=fixed_text)),
        (MAX_OS_DISK_GEN1 < fixed <= MAX_OS_DISK_GEN2, Level.WARNING, "too-large-for-gen1-os-disk",
         message(
            QT_TR_NOOP("At {fixed} the disk is larger than 2 TiB: as the OS disk of a "
                       "Generation 1 VM (BIOS, MBR) only the first 2 TiB can be used. Use it with "
                       "a Generation 2 VM (UEFI, GPT) or as a data disk."),
            fixed=fixed_text)),
    )
    return [Finding(level, code, message) for applies, level, code, message in rules if applies]

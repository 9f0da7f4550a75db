"""Azure's rules for an uploaded disk, as findings a user can act on.

Sizes (checked against Microsoft's documentation): a managed disk holds at most 32,767 GiB; a page
blob at most 8 TiB including the footer; an OS disk at most 4,095 GiB (Generation 2 VM, GPT), and
for a Generation 1 VM (BIOS, MBR partition table) only the first 2 TiB can be used, so 2,048 GiB is
the practical limit. Uploads must be a fixed VHD of a whole number of MiB plus the 512-byte footer,
and at least 20 MiB.
"""

from __future__ import annotations

from gui.diskimage.model import Finding, Level

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


def human_size(size: int) -> str:
    """Binary units, the way Azure states disk sizes (GiB/TiB), with the exact byte count."""
    for unit, factor in (("TiB", TIB), ("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            value = size / factor
            text = f"{value:.0f}" if size % factor == 0 else f"{value:.2f}"
            return f"{text} {unit} ({size:,} bytes)"
    return f"{size:,} bytes"


def size_findings(virtual_size: int) -> list[Finding]:
    """What Azure will say about a disk of ``virtual_size`` bytes once we present it fixed."""
    fixed = round_up_to_mib(virtual_size)
    upload = fixed + FOOTER_SIZE
    virtual_text, fixed_text, upload_text = map(human_size, (virtual_size, fixed, upload))
    # (applies, level, code, message), in the order they are shown; the size limits that include
    # one another are exclusive, so only the strictest one is reported.
    rules = (
        (fixed != virtual_size, Level.INFO, "size-rounded",
         f"The disk is {virtual_text}, not a whole number of MiB, which Azure requires. It will be "
         f"uploaded as {fixed_text}: {fixed - virtual_size:,} zero bytes are added at the end. "
         f"The guest sees a slightly larger disk; nothing to do."),
        (True, Level.INFO, "upload-size",
         f"Upload size: {upload_text} (the disk as a fixed VHD plus its 512-byte footer); only "
         f"the parts that hold data are sent."),
        (fixed < MIN_DISK_SIZE, Level.ERROR, "too-small",
         f"The disk is {virtual_text}; Azure refuses disks smaller than 20 MiB. Enlarge it first, "
         f"for example 'qemu-img resize FILE 20M'."),
        (fixed > MAX_MANAGED_DISK_SIZE, Level.ERROR, "too-large",
         f"The disk is {fixed_text}; Azure disks hold at most 32,767 GiB. Shrink the disk's "
         f"partitions and the disk (for example 'qemu-img resize --shrink') first."),
        (upload > MAX_PAGE_BLOB_SIZE and fixed <= MAX_MANAGED_DISK_SIZE, Level.WARNING,
         "too-large-for-page-blob",
         f"At {upload_text} the disk is larger than a page blob may be (8 TiB). Upload it as a "
         f"managed disk instead of to a storage account."),
        (fixed > MAX_OS_DISK_GEN2, Level.WARNING, "too-large-for-os-disk",
         f"At {fixed_text} the disk is larger than an OS disk may be (4,095 GiB); use it as a "
         f"data disk only."),
        (MAX_OS_DISK_GEN1 < fixed <= MAX_OS_DISK_GEN2, Level.WARNING, "too-large-for-gen1-os-disk",
         f"At {fixed_text} the disk is larger than 2 TiB: as the OS disk of a Generation 1 VM "
         f"(BIOS, MBR) only the first 2 TiB can be used. Use it with a Generation 2 VM (UEFI, GPT) "
         f"or as a data disk."),
    )
    return [Finding(level, code, message) for applies, level, code, message in rules if applies]

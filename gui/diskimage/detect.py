"""Recognising what a file holds from its bytes, never from its name.

A raw disk has no signature, so "raw" can only be the answer when nothing else is recognised:
a QCOW2 cloud image named ``.img`` or a VMDK renamed ``.vhd`` would otherwise be uploaded byte for
byte and never boot. Everything here looks at a few fixed places (the first 36 KiB and the last
sector), so it costs two small reads whatever the file's size.

The signatures are those of each format's specification, as qemu's and libmagic's probes use them.
"""

from __future__ import annotations

import enum
import os
import re
import shlex
import struct
from dataclasses import dataclass
from pathlib import Path

from gui.diskimage.errors import (
    ArchiveFileError,
    EncryptedImageError,
    ForeignDiskFormatError,
    InstallerImageError,
    UnsupportedFormatError,
)
from gui.diskimage.pio import PositionalFile
from gui.i18n import QT_TR_NOOP, Text, message

# The first 36 KiB hold every header we look for; ISO 9660/UDF volume descriptors start at 32 KiB.
HEAD_BYTES = 0x8800 + 8
ISO_DESCRIPTOR = 0x8001
# An embedded VMDK descriptor is small text; never read more of it than this.
MAX_DESCRIPTOR_BYTES = 64 * 1024

CONVERT_OPTIONS = "-O vpc -o subformat=fixed,force_size=on"

# The one list of file names the app offers and accepts as disk images (drops, the file dialog,
# the desktop entry). It only decides which files are *offered*: what a file is, is always read
# from its bytes (``detect``), so a misnamed file is still told apart and refused with the reason.
DISK_IMAGE_SUFFIXES: tuple[str, ...] = (
    ".vhd", ".vhdx", ".avhd", ".avhdx", ".img", ".raw", ".bin",
    ".qcow2", ".qcow", ".vmdk", ".vdi", ".ova",
)


def has_disk_image_suffix(path: Path) -> bool:
    """True when ``path`` is named like a disk image (see ``DISK_IMAGE_SUFFIXES``)."""
    return path.suffix.casefold() in DISK_IMAGE_SUFFIXES


class Kind(enum.Enum):
    DISK = "disk"  # another hypervisor's disk format: convert it
    ARCHIVE = "archive"  # unpack it first
    INSTALLER = "installer"  # a CD/DVD image
    ENCRYPTED = "encrypted"


@dataclass(frozen=True)
class Detected:
    kind: Kind
    name: str  # short and stable, for --json and logs: "qcow2", "vmdk", "gzip"…
    label: str  # for people: "QCOW2", "VMDK (streamOptimized)"…
    qemu_format: str | None = None  # qemu-img's -f for DISK kinds
    note: str = ""  # one more sentence of advice, when the format needs it (a Text)


def quote(path: Path | str) -> str:
    """``path`` as one shell word for the user's platform (the command is meant to be pasted)."""
    text = str(path)
    if os.name == "nt":
        return f'"{text}"' if any(c in text for c in ' &()[]{}^=;!,`~\'') else text
    return shlex.quote(text)


def convert_command(source: Path, qemu_format: str) -> str:
    """The qemu-img command that turns ``source`` into a fixed VHD Azure accepts, next to it."""
    target = source.with_suffix(".vhd")
    if target.name == source.name:  # a VMDK renamed .vhd: never write over the source
        target = source.with_name(f"{source.stem}-fixed.vhd")
    return (f"qemu-img convert -f {qemu_format} {CONVERT_OPTIONS} {quote(source)} "
            f"{quote(target)}")


# ---- recognising ------------------------------------------------------------------------------

_COMPRESSED: list[tuple[bytes, str, str]] = [
    (b"\xfd7zXZ\x00", "xz", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd", "zstd"),
    (b"7z\xbc\xaf\x27\x1c", "7z", "7-Zip"),
    (b"\x04\x22\x4d\x18", "lz4", "LZ4"),
    (b"Rar!\x1a\x07", "rar", "RAR"),
    (b"PK\x03\x04", "zip", "ZIP"),
    (b"PK\x05\x06", "zip", "ZIP"),  # an empty archive
    (b"PK\x07\x08", "zip", "ZIP"),  # a spanned archive
]
_BZIP2 = re.compile(rb"BZh[1-9](\x31\x41\x59\x26\x53\x59|\x17\x72\x45\x38\x50\x90)")
_CREATE_TYPE = re.compile(rb'createType\s*=\s*"([^"]{1,64})"')
_EXTENT = re.compile(rb'^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+(\w+)\s+"([^"]+)"(?:\s+(\d+))?', re.M)


def detect(file: PositionalFile) -> Detected | None:
    """What ``file`` holds when it is none of VHD, VHDX or raw; None when nothing is recognised.

    Callers check for VHD and VHDX first: their structures are definite, and a fixed VHD's data
    (which starts at byte 0) may itself be anything.
    """
    head = file.read(0, HEAD_BYTES)
    for probe in (_hypervisor_disk, _vmdk, _encrypted, _archive, _optical):
        found = probe(file, head)
        if found is not None:
            return found
    if file.size >= 1024 and file.read(file.size - 512, 4) == b"koly":
        return Detected(Kind.DISK, "dmg", Text(QT_TR_NOOP("DMG (Apple disk image)")), "dmg")
    return None


def _hypervisor_disk(file: PositionalFile, head: bytes) -> Detected | None:
    if head[:4] == b"QFI\xfb":
        version = struct.unpack_from(">I", head, 4)[0] if len(head) >= 8 else 0
        if version == 1:
            return Detected(Kind.DISK, "qcow", Text(QT_TR_NOOP("QCOW (version 1)")), "qcow")
        crypt_method = struct.unpack_from(">I", head, 32)[0] if len(head) >= 36 else 0
        if crypt_method:
            return Detected(Kind.ENCRYPTED, "qcow2", Text(QT_TR_NOOP("encrypted QCOW2")))
        return Detected(Kind.DISK, "qcow2", "QCOW2", "qcow2")
    if head[:4] == b"QED\x00":
        return Detected(Kind.DISK, "qed", "QED", "qed")
    if head[:4] == b"<<< " and head[0x40:0x44] == b"\x7f\x10\xda\xbe":  # 0xBEDA107F, LE
        return Detected(Kind.DISK, "vdi", "VDI (VirtualBox)", "vdi")
    if head[:16] in (b"WithoutFreeSpace", b"WithouFreSpacExt"):
        return Detected(Kind.DISK, "parallels", "Parallels", "parallels")
    return None


def _vmdk(file: PositionalFile, head: bytes) -> Detected | None:
    if head[:4] == b"COWD":
        return Detected(Kind.DISK, "vmdk", Text(QT_TR_NOOP("VMDK (ESX sparse, COWD)")), "vmdk")
    if head[:4] == b"KDMV":
        # The sparse extent header names its embedded descriptor (offset and size in sectors).
        create_type = "sparse"
        if len(head) >= 44:
            at, sectors = struct.unpack_from("<QQ", head, 28)
            length = min(sectors * 512, MAX_DESCRIPTOR_BYTES)
            if at and length:
                match = _CREATE_TYPE.search(file.read(at * 512, length))
                if match:
                    create_type = match.group(1).decode("ascii", "replace")
        return Detected(Kind.DISK, "vmdk", f"VMDK ({create_type})", "vmdk")
    if head.startswith(b"# Disk DescriptorFile"):
        text = head[:MAX_DESCRIPTOR_BYTES]
        match = _CREATE_TYPE.search(text)
        create_type = (match.group(1).decode("ascii", "replace") if match
                       else Text(QT_TR_NOOP("unknown type")))
        extents = _EXTENT.findall(text)
        note = ""
        if len(extents) == 1 and extents[0][0] in (b"FLAT", b"VMFS") and \
                int(extents[0][2] or b"0") == 0:
            data = extents[0][1].decode("utf-8", "replace")
            note = Text(message(QT_TR_NOOP("Its data file '{data}' is a raw disk: choosing "
                                           "that file instead also works."), data=data))
        return Detected(Kind.DISK, "vmdk", Text(message(
            QT_TR_NOOP("VMDK descriptor ({create_type})"), create_type=create_type)), "vmdk",
            note)
    return None


def _encrypted(file: PositionalFile, head: bytes) -> Detected | None:
    if head[:6] == b"LUKS\xba\xbe":
        version = struct.unpack_from(">H", head, 6)[0] if len(head) >= 8 else 0
        return Detected(Kind.ENCRYPTED, "luks", Text(message(
            QT_TR_NOOP("LUKS{version} encrypted volume"), version=str(version or ""))))
    return None


def _archive(file: PositionalFile, head: bytes) -> Detected | None:
    if head[257:262] == b"ustar":
        first_member = head[:100].split(b"\0", 1)[0]
        if first_member.lower().endswith(b".ovf"):
            return Detected(Kind.ARCHIVE, "ova", Text(QT_TR_NOOP("OVA (virtual appliance)")))
        return Detected(Kind.ARCHIVE, "tar", "tar")
    if head[:3] == b"\x1f\x8b\x08":
        return Detected(Kind.ARCHIVE, "gzip", "gzip")
    if _BZIP2.match(head):
        return Detected(Kind.ARCHIVE, "bzip2", "bzip2")
    for magic, name, label in _COMPRESSED:
        if head.startswith(magic):
            return Detected(Kind.ARCHIVE, name, label)
    return None


def _optical(file: PositionalFile, head: bytes) -> Detected | None:
    descriptor = head[ISO_DESCRIPTOR : ISO_DESCRIPTOR + 5]
    if descriptor == b"CD001":
        return Detected(Kind.INSTALLER, "iso9660", Text(QT_TR_NOOP("ISO 9660 (CD/DVD image)")))
    if descriptor == b"BEA01":
        return Detected(Kind.INSTALLER, "udf", Text(QT_TR_NOOP("UDF (DVD image)")))
    return None


# ---- refusing ---------------------------------------------------------------------------------

# The suffix each compressor adds, so the unpacked name can drop it; stream compressors only.
_UNPACK: dict[str, tuple[str, tuple[str, ...]]] = {
    "gzip": ("gzip -dc", (".gz", ".gzip")),
    "xz": ("xz -dc", (".xz",)),
    "bzip2": ("bzip2 -dc", (".bz2", ".bzip2")),
    "zstd": ("zstd -dc", (".zst", ".zstd")),
    "lz4": ("lz4 -dc", (".lz4",)),
}
_EXTRACT = {"zip": "unzip", "7z": "7z x", "rar": "unrar x", "tar": "tar -xf", "ova": "tar -xf"}


def unpack_command(source: Path, name: str) -> str:
    if name in _UNPACK:
        tool, suffixes = _UNPACK[name]
        if source.suffix.lower() in suffixes:
            target = source.with_suffix("")
        else:  # a misleading or missing suffix: keep the name, mark it unpacked
            target = source.with_name(source.name + ".unpacked")
        return f"{tool} {quote(source)} > {quote(target)}"
    return f"{_EXTRACT.get(name, '7z x')} {quote(source)}"  # 7-Zip unpacks nearly anything


def refusal(path: Path, found: Detected) -> UnsupportedFormatError:
    """The error that tells the user what the file is and what to do with it."""
    # Each message is one template; the command, the file name and the format stay arguments
    # (a command is pasted as it is, in every language).
    if found.kind is Kind.DISK:
        assert found.qemu_format is not None
        command = convert_command(path, found.qemu_format)
        text = message(
            QT_TR_NOOP("{name} is recognised by its content as {label}, whatever its name says; "
                       "Azure needs a fixed VHD and could not boot it as it is. {note} Convert it "
                       "first: {command}"),
            name=path.name, label=found.label, note=found.note, command=command) if found.note \
            else message(
            QT_TR_NOOP("{name} is recognised by its content as {label}, whatever its name says; "
                       "Azure needs a fixed VHD and could not boot it as it is. Convert it first: "
                       "{command}"),
            name=path.name, label=found.label, command=command)
        return ForeignDiskFormatError(text, command=command, path=path, format_name=found.name,
                                      format_label=found.label)
    if found.kind is Kind.ARCHIVE:
        command = unpack_command(path, found.name)
        text = message(
            QT_TR_NOOP("{name} is recognised by its content as {label}, whatever its name says: "
                       "an archive, not a disk. Unpack it first ({command}), then convert the "
                       ".vmdk disk inside it with '{convert}'."),
            name=path.name, label=found.label, command=command,
            convert=f"qemu-img convert -f vmdk {CONVERT_OPTIONS} DISK.vmdk DISK.vhd") \
            if found.name == "ova" else message(
            QT_TR_NOOP("{name} is recognised by its content as {label}, whatever its name says: "
                       "an archive, not a disk. Unpack it first ({command}), then choose the disk "
                       "image it contains."),
            name=path.name, label=found.label, command=command)
        return ArchiveFileError(text, command=command, path=path, format_name=found.name,
                                format_label=found.label)
    if found.kind is Kind.INSTALLER:
        return InstallerImageError(message(
            QT_TR_NOOP("{name} is recognised by its content as {label}, whatever its name says: "
                       "an installer ISO is not a disk. Install the operating system from it "
                       "onto a virtual machine's disk (Hyper-V, qemu), then upload that disk, or "
                       "start from an Azure Marketplace image."),
            name=path.name, label=found.label), command=None, path=path,
            format_name=found.name, format_label=found.label)
    return EncryptedImageError(message(
        QT_TR_NOOP("{name} is recognised by its content as {label}, whatever its name says: it "
                   "is encrypted, and Azure cannot read an encrypted disk image. Decrypt it where "
                   "its key is known (for LUKS: 'cryptsetup open', then copy the opened device to "
                   "a raw file) and upload that, or upload an unencrypted disk and use Azure Disk "
                   "Encryption."),
        name=path.name, label=found.label), command=None, path=path, format_name=found.name,
        format_label=found.label)

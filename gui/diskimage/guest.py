"""What the guest on a disk needs from its VM: OS type, Hyper-V generation and architecture.

Read from the fixed stream of any :class:`~gui.diskimage.image.DiskImage` (``readinto`` and
``fixed_size`` only), so it works for every container format and needs no mounting and no root:

- the partition table: MBR (with its extended-partition chain), GPT (protective MBR, header and
  entries, both checked against their CRC-32, the backup used when the primary is damaged), and
  hybrid MBRs (a protective MBR that also lists partitions, so BIOS can boot the disk too);
- file-system signatures in each partition (or filling the whole disk);
- on an EFI system partition, through the small FAT reader in :mod:`gui.diskimage.fat`, the
  removable-media boot loader ``\\EFI\\BOOT\\BOOT<arch>.EFI``, Windows Boot Manager and the
  vendors' loaders, and the machine type in each one's PE header.

Each conclusion is a :class:`Fact` holding its value, a confidence and the evidence as sentences
for people. The work is bounded whatever the disk claims (``MAX_READS`` reads, ``MAX_BYTES``
bytes, capped partition counts and directory walks): a damaged or crafted table ends as
"unknown" with a note, never as an exception. Only the image's own errors
(:class:`~gui.diskimage.errors.DiskImageError`, ``OSError``) can come out of
:func:`read_guest_facts`.
"""

from __future__ import annotations

import enum
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from gui.diskimage.fat import DirEntry, FatError, FatVolume, parse_boot_sector
from gui.i18n import QT_TR_NOOP, Render, Text, localize, message, plural, tr

SECTOR = 512
# The whole inspection reads at most this much: a normal disk needs a few dozen small reads.
MAX_READS = 2048
MAX_BYTES = 8 * 1024 * 1024
MAX_READ = 1024 * 1024
# Partitions looked at (GPT's usual array holds 128) and logical partitions followed.
MAX_PARTITIONS = 128
MAX_LOGICAL = 64
MAX_GPT_ARRAY = 1024 * 1024
MAX_ESPS = 4
# Vendors' loaders read for their machine type when there is no removable-media loader.
MAX_VENDOR_DIRS = 8
MAX_VENDOR_FILES = 16
PE_HEAD = 4096
MAX_PE_HEAD = 64 * 1024


class Confidence(enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    UNKNOWN = "unknown"

    @property
    def rank(self) -> int:
        return {"high": 3, "medium": 2, "low": 1, "unknown": 0}[self.value]


class OsType(enum.Enum):
    WINDOWS = "Windows"
    LINUX = "Linux"
    UNKNOWN = "unknown"


class Generation(enum.Enum):
    """The Hyper-V generations the disk boots in (``BOTH``: a BIOS path and a UEFI path)."""

    V1 = "V1"
    V2 = "V2"
    BOTH = "both"
    UNKNOWN = "unknown"


class Architecture(enum.Enum):
    X64 = "x64"
    ARM64 = "Arm64"
    X86 = "x86"  # a 32-bit boot loader: Azure has no such VMs
    UNKNOWN = "unknown"


class PartitionTable(enum.Enum):
    NONE = "none"
    MBR = "MBR"
    GPT = "GPT"
    HYBRID = "hybrid MBR and GPT"
    DAMAGED_GPT = "GPT (damaged)"


PE_MACHINES: dict[int, Architecture] = {
    0x8664: Architecture.X64,
    0xAA64: Architecture.ARM64,
    0x014C: Architecture.X86,
}
REMOVABLE_LOADERS: dict[str, Architecture] = {
    "bootx64.efi": Architecture.X64,
    "bootaa64.efi": Architecture.ARM64,
    "bootia32.efi": Architecture.X86,
}

ESP_GUID = uuid.UUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
MSR_GUID = uuid.UUID("E3C9E316-0B5C-4DB8-817D-F92DF00215AE")
BIOS_BOOT_GUID = uuid.UUID("21686148-6449-6E6F-744E-656564454649")
GPT_TYPES: dict[uuid.UUID, str] = {
    ESP_GUID: Text(QT_TR_NOOP("EFI system partition")),
    MSR_GUID: Text(QT_TR_NOOP("Microsoft reserved partition")),
    BIOS_BOOT_GUID: Text(QT_TR_NOOP("BIOS boot partition")),
    uuid.UUID("EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"): Text(QT_TR_NOOP("Microsoft basic data")),
    uuid.UUID("DE94BBA4-06D1-4D40-A16A-BFD50179D6AC"): Text(QT_TR_NOOP(
        "Windows recovery environment")),
    uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4"): Text(QT_TR_NOOP("Linux file system")),
    uuid.UUID("E6D6D379-F507-44C2-A23C-238F2A3DF928"): "Linux LVM",
    uuid.UUID("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"): "Linux swap",
    uuid.UUID("A19D880F-05FC-4D3B-A006-743F0F84911E"): "Linux RAID",
    uuid.UUID("BC13C2FF-59E6-4262-A352-B275FD6F7172"): Text(QT_TR_NOOP("Linux extended boot")),
    uuid.UUID("933AC7E1-2EB4-4F13-B844-0E14E2AEF915"): Text(QT_TR_NOOP("Linux home")),
    uuid.UUID("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"): Text(QT_TR_NOOP("Linux root (x86-64)")),
    uuid.UUID("B921B045-1DF0-41C3-AF44-4C6F280D3FAE"): Text(QT_TR_NOOP("Linux root (Arm64)")),
    uuid.UUID("44479540-F297-41B2-9AF7-D131D5F0458A"): Text(QT_TR_NOOP("Linux root (x86)")),
    uuid.UUID("8484680C-9521-48C6-9C11-B0720656F69E"): "Linux /usr (x86-64)",
    uuid.UUID("B0E01050-EE5F-4390-949A-9101B17104E9"): "Linux /usr (Arm64)",
}
# The Discoverable Partitions Specification's root and /usr types name the architecture.
GPT_TYPE_ARCH: dict[uuid.UUID, Architecture] = {
    uuid.UUID("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"): Architecture.X64,
    uuid.UUID("8484680C-9521-48C6-9C11-B0720656F69E"): Architecture.X64,
    uuid.UUID("B921B045-1DF0-41C3-AF44-4C6F280D3FAE"): Architecture.ARM64,
    uuid.UUID("B0E01050-EE5F-4390-949A-9101B17104E9"): Architecture.ARM64,
    uuid.UUID("44479540-F297-41B2-9AF7-D131D5F0458A"): Architecture.X86,
}
MBR_TYPES: dict[int, str] = {
    0x01: "FAT12", 0x04: "FAT16", 0x06: "FAT16", 0x0E: "FAT16 (LBA)", 0x0B: "FAT32",
    0x0C: "FAT32 (LBA)", 0x07: "NTFS/exFAT", 0x27: GPT_TYPES[uuid.UUID(
        "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC")],
    0x82: "Linux swap", 0x83: "Linux", 0x8E: "Linux LVM", 0xFD: "Linux RAID",
    0xEF: GPT_TYPES[ESP_GUID], 0xEE: Text(QT_TR_NOOP("GPT protective")),
    0x05: Text(QT_TR_NOOP("extended")), 0x0F: Text(QT_TR_NOOP("extended (LBA)")),
    0x85: Text(QT_TR_NOOP("Linux extended")),
}
# A partition type neither table names.
OTHER_TYPE = Text(QT_TR_NOOP("other"))
MBR_EXTENDED = (0x05, 0x0F, 0x85)
MBR_ESP = 0xEF
MBR_PROTECTIVE = 0xEE
LINUX_FILESYSTEMS = ("ext2", "ext3", "ext4", "xfs", "btrfs")
LINUX_VOLUMES = ("LVM2", "swap", "LUKS")
LINUX_VENDOR_DIRS = ("ubuntu", "debian", "centos", "redhat", "fedora", "opensuse", "sles",
                     "rocky", "almalinux", "mariner", "azurelinux", "arch", "grub", "kali")


class GuestSource(Protocol):
    """What is read: the fixed stream of a disk image (any format)."""

    @property
    def fixed_size(self) -> int: ...

    def readinto(self, offset: int, buf: bytearray | memoryview) -> int: ...


T = TypeVar("T")


@dataclass(frozen=True)
class Fact(Generic[T]):
    value: T
    confidence: Confidence
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Partition:
    number: int  # as fdisk and sgdisk number it (logical MBR partitions from 5)
    start: int  # bytes from the start of the disk
    size: int  # bytes
    type_id: str  # a GPT type GUID or an MBR type byte ("0x83")
    type_name: str
    name: str = ""  # a GPT partition name
    bootable: bool = False  # the MBR active flag
    filesystem: str | None = None

    @property
    def label(self) -> str:
        return f"partition {self.number} ({self.type_name})"


@dataclass(frozen=True)
class EfiLoader:
    path: str  # as on the partition, e.g. \EFI\BOOT\BOOTAA64.EFI
    machine: int | None  # the PE machine type, None when the header cannot be read
    architecture: Architecture

    @property
    def described(self) -> Text:
        if self.machine is None:
            return Text(message(QT_TR_NOOP("{path} (no readable PE header)"), path=self.path))
        return Text(message(QT_TR_NOOP("{path} (PE machine 0x{machine:04X}: {architecture})"),
                            path=self.path, machine=self.machine,
                            architecture=_architecture_name(self.architecture)))


@dataclass(frozen=True)
class GuestFacts:
    partition_table: PartitionTable
    partitions: tuple[Partition, ...]
    whole_disk_filesystem: str | None
    loaders: tuple[EfiLoader, ...]
    os_type: Fact[OsType]
    generation: Fact[Generation]
    architecture: Fact[Architecture]
    notes: tuple[str, ...] = ()

    @property
    def evidence(self) -> tuple[str, ...]:
        """Every sentence of evidence, each once, in the order of the facts."""
        seen: dict[str, None] = {}
        for fact in (self.os_type, self.generation, self.architecture):
            seen.update(dict.fromkeys(fact.evidence))
        seen.update(dict.fromkeys(self.notes))
        return tuple(seen)

    def to_json(self) -> dict[str, object]:
        """The ``guest`` object of ``inspect --json``: values (null when unknown), then why."""
        facts: dict[str, Fact[OsType] | Fact[Generation] | Fact[Architecture]] = {
            "os_type": self.os_type, "generation": self.generation,
            "architecture": self.architecture}
        return {
            **{key: _json_value(fact.value) for key, fact in facts.items()},
            "confidence": {key: fact.confidence.value for key, fact in facts.items()},
            "evidence": {key: list(fact.evidence) for key, fact in facts.items()},
            "partition_table": self.partition_table.value,
            "partitions": [
                {"number": p.number, "start": p.start, "size": p.size, "type": p.type_id,
                 "type_name": p.type_name, "name": p.name, "bootable": p.bootable,
                 "filesystem": p.filesystem}
                for p in self.partitions
            ],
            "whole_disk_filesystem": self.whole_disk_filesystem,
            "efi_loaders": [{"path": loader.path, "machine": loader.machine,
                             "architecture": _json_value(loader.architecture)}
                            for loader in self.loaders],
            "notes": list(self.notes),
        }


def _json_value(value: OsType | Generation | Architecture) -> str | None:
    return None if value.value == "unknown" else value.value


def read_guest_facts(img: GuestSource) -> GuestFacts:
    """What the disk's guest needs from its VM, with the evidence; see the module docstring."""
    scan = _Scan(_Reader(img))
    try:
        scan.run()
    except _OutOfBudget:
        scan.notes.append(Text(QT_TR_NOOP(
            "Stopped reading the disk's structures after the allowed amount: they are unusually "
            "large or damaged, so what follows was found before that.")))
    return scan.conclude()


# --- reading --------------------------------------------------------------------------------


class _OutOfBudget(Exception):
    """The inspection read as much as it may (a crafted or damaged disk)."""


class _Reader:
    """Small positional reads of the disk, counted against the budget; short at the end."""

    def __init__(self, img: GuestSource) -> None:
        self._img = img
        self.size = img.fixed_size
        self.reads = 0
        self.bytes = 0

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0 or offset >= self.size:
            return b""
        length = min(length, MAX_READ, self.size - offset)
        self.reads += 1
        self.bytes += length
        if self.reads > MAX_READS or self.bytes > MAX_BYTES:
            raise _OutOfBudget
        buf = bytearray(length)
        count = self._img.readinto(offset, buf)
        return bytes(buf[:count])


class _Window:
    """The bytes of one partition: offsets from its start, nothing read past its end."""

    def __init__(self, reader: _Reader, start: int, size: int) -> None:
        self._reader = reader
        self._start = start
        self._size = size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or offset >= self._size:
            return b""
        return self._reader.read(self._start + offset, min(length, self._size - offset))


def _u16(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 2], "little") if len(data) >= offset + 2 else 0


def _u32(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 4], "little") if len(data) >= offset + 4 else 0


def _u64(data: bytes, offset: int) -> int:
    return int.from_bytes(data[offset : offset + 8], "little") if len(data) >= offset + 8 else 0


# --- partition tables -----------------------------------------------------------------------


@dataclass(frozen=True)
class MbrEntry:
    status: int
    type: int
    start_lba: int
    sectors: int


def parse_mbr(sector: bytes) -> list[MbrEntry] | None:
    """The four primary entries of an MBR, or None when ``sector`` holds no plausible one
    (no 0x55AA signature, or status bytes other than 0x00/0x80, as in a FAT or NTFS boot
    sector's code)."""
    if len(sector) < 512 or sector[510:512] != b"\x55\xaa":
        return None
    entries = []
    for index in range(4):
        raw = sector[446 + 16 * index : 446 + 16 * (index + 1)]
        status, kind = raw[0], raw[4]
        start, count = _u32(raw, 8), _u32(raw, 12)
        if status not in (0x00, 0x80):
            return None
        entries.append(MbrEntry(status, kind, start, count))
    return entries


def _used(entries: Iterable[MbrEntry]) -> list[MbrEntry]:
    return [e for e in entries if e.type != 0 and e.sectors != 0 and e.start_lba != 0]


@dataclass
class GptTable:
    """A GPT whose header and entries check out; its partitions went into the scan."""

    sector_size: int
    from_backup: bool
    problems: list[str]


def parse_gpt_header(raw: bytes, lba: int) -> tuple[int, int, int, int] | None:
    """(entries LBA, entry count, entry size, entries CRC) of a GPT header whose own CRC-32
    checks out and that says it lives at ``lba``; None otherwise."""
    if len(raw) < 92 or raw[:8] != b"EFI PART":
        return None
    header_size = _u32(raw, 12)
    if not 92 <= header_size <= len(raw):
        return None
    body = bytearray(raw[:header_size])
    body[16:20] = b"\0\0\0\0"
    if zlib.crc32(body) != _u32(raw, 16) or _u64(raw, 24) != lba:
        return None
    entries_lba, count, entry_size, entries_crc = (
        _u64(raw, 72), _u32(raw, 80), _u32(raw, 84), _u32(raw, 88))
    if entry_size < 128 or entry_size % 8 or entry_size > 4096 or count == 0:
        return None
    if count * entry_size > MAX_GPT_ARRAY:
        return None
    return entries_lba, count, entry_size, entries_crc


# --- file systems ---------------------------------------------------------------------------

EXT_SUPER = 1024
EXT_MAGIC = 0xEF53
EXT4_INCOMPAT = 0x0040 | 0x0080 | 0x0200 | 0x0400 | 0x8000  # extents, 64bit, flex_bg, ...
EXT4_RO_COMPAT = 0x0008 | 0x0020 | 0x0040 | 0x0400  # huge_file, dir_nlink, extra_isize, csum
EXT3_COMPAT_JOURNAL = 0x0004
BTRFS_MAGIC_AT = 64 * 1024 + 64


def filesystem_of(head: bytes, at_64k: bytes) -> str | None:
    """The file system (or volume) whose signature ``head`` (the first 4 KiB of a partition)
    and ``at_64k`` (8 bytes at 64 KiB + 64) hold, or None."""
    if head[3:11] == b"NTFS    ":
        return "NTFS"
    if head[3:11] == b"-FVE-FS-":
        return "BitLocker"
    if head[3:11] == b"EXFAT   ":
        return "exFAT"
    if head[:4] == b"XFSB":
        return "xfs"
    if head[:6] == b"LUKS\xba\xbe":
        return "LUKS"
    if len(head) >= EXT_SUPER + 0x68 and _u16(head, EXT_SUPER + 0x38) == EXT_MAGIC:
        compat = _u32(head, EXT_SUPER + 0x5C)
        incompat = _u32(head, EXT_SUPER + 0x60)
        ro_compat = _u32(head, EXT_SUPER + 0x64)
        if incompat & EXT4_INCOMPAT or ro_compat & EXT4_RO_COMPAT:
            return "ext4"
        return "ext3" if compat & EXT3_COMPAT_JOURNAL else "ext2"
    if at_64k[:8] == b"_BHRfS_M":
        return "btrfs"
    for sector in range(4):
        label = head[sector * SECTOR : sector * SECTOR + 32]
        if label[:8] == b"LABELONE" and label[24:32] == b"LVM2 001":
            return "LVM2"
    if head[4086:4096] in (b"SWAPSPACE2", b"SWAP-SPACE"):
        return "swap"
    boot = parse_boot_sector(head[:SECTOR])
    if boot is not None:
        return f"FAT{boot.fat_type}"
    return None


def pe_machine(head: bytes) -> int | None:
    """The machine type in a PE file's COFF header, from its first bytes; None if it has none."""
    if len(head) < 0x40 or head[:2] != b"MZ":
        return None
    lfanew = _u32(head, 0x3C)
    if lfanew + 6 > len(head) or head[lfanew : lfanew + 4] != b"PE\0\0":
        return None
    return _u16(head, lfanew + 4)


# --- the scan -------------------------------------------------------------------------------


@dataclass
class _Found:
    """Raw observations; :meth:`_Scan.conclude` turns them into facts."""

    table: PartitionTable = PartitionTable.NONE
    table_note: str = ""
    partitions: list[Partition] = field(default_factory=list)
    whole_disk: str | None = None
    mbr_boot_code: bool = False
    grub_in_mbr: bool = False
    loaders: list[EfiLoader] = field(default_factory=list)
    windows_boot: EfiLoader | None = None
    vendor_dirs: list[str] = field(default_factory=list)
    esp_problems: list[str] = field(default_factory=list)
    ntfs_bootmgr: list[Partition] = field(default_factory=list)


class _Scan:
    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.found = _Found()
        self.notes: list[str] = []

    def run(self) -> None:
        sector0 = self.reader.read(0, SECTOR)
        mbr = parse_mbr(sector0)
        code = sector0[:440]
        self.found.mbr_boot_code = any(code) and not _looks_like_boot_sector(sector0)
        self.found.grub_in_mbr = b"GRUB" in code
        # A GPT counts only behind a protective MBR (UEFI specification 5.2.3): an MBR that
        # lists partitions but no 0xEE entry was written over an older GPT, which is stale.
        protected = mbr is None or not _used(mbr) or any(
            e.type == MBR_PROTECTIVE for e in _used(mbr))
        gpt = self._read_gpt(mbr) if protected else None
        if gpt is not None:
            self._use_gpt(gpt, mbr)
        elif mbr is not None and _used(mbr) and not _looks_like_boot_sector(sector0):
            if any(e.type == MBR_PROTECTIVE for e in _used(mbr)):
                self.found.table = PartitionTable.DAMAGED_GPT
                self.found.table_note = Text(QT_TR_NOOP(
                    "The protective MBR announces a GPT, but neither GPT header nor its backup "
                    "is readable (both fail their checksum or are missing)."))
                return
            self.found.table = PartitionTable.MBR
            self._use_mbr(mbr)
        else:
            head = self.reader.read(0, 4096)
            self.found.whole_disk = filesystem_of(head, self.reader.read(BTRFS_MAGIC_AT, 8))
            return
        self._probe_partitions()
        self._read_esps()

    # --- GPT --------------------------------------------------------------------------------

    def _read_gpt(self, mbr: list[MbrEntry] | None) -> GptTable | None:
        disk_size = self.reader.size
        for sector_size in (SECTOR, 4096):
            raw = self.reader.read(sector_size, sector_size)
            primary = parse_gpt_header(raw, 1)
            table = None
            if primary is not None:
                table = self._gpt_entries(primary, sector_size, from_backup=False)
                if table is not None:
                    return table
            # The backup header sits in the disk's last sector; where that is comes from the
            # primary header, from the protective MBR, or from the end of the stream.
            candidates = []
            if raw[:8] == b"EFI PART":
                candidates.append(_u64(raw, 32))
            for entry in _used(mbr or []):
                if entry.type == MBR_PROTECTIVE:
                    candidates.append(entry.start_lba + entry.sectors - 1)
            candidates.append(disk_size // sector_size - 1)
            for lba in dict.fromkeys(candidates):
                if not 1 < lba < disk_size // sector_size:
                    continue
                backup = parse_gpt_header(self.reader.read(lba * sector_size, sector_size), lba)
                if backup is not None:
                    table = self._gpt_entries(backup, sector_size, from_backup=True)
                    if table is not None:
                        table.problems.insert(0, Text(QT_TR_NOOP(
                            "The primary GPT is damaged; the backup GPT at the end of the disk "
                            "was read instead.")))
                        return table
        return None

    def _gpt_entries(self, header: tuple[int, int, int, int], sector_size: int, *,
                     from_backup: bool) -> GptTable | None:
        entries_lba, count, entry_size, entries_crc = header
        array = self.reader.read(entries_lba * sector_size, count * entry_size)
        if len(array) != count * entry_size or zlib.crc32(array) != entries_crc:
            return None
        disk_sectors = self.reader.size // sector_size
        table = GptTable(sector_size, from_backup, [])
        for index in range(min(count, MAX_PARTITIONS)):
            raw = array[index * entry_size : index * entry_size + 128]
            kind = uuid.UUID(bytes_le=raw[:16])
            if kind.int == 0:
                continue
            first, last = _u64(raw, 32), _u64(raw, 40)
            name = raw[56:128].decode("utf-16-le", errors="replace").split("\0", 1)[0]
            if not 0 < first <= last or first >= disk_sectors:
                table.problems.append(Text(message(
                    QT_TR_NOOP("GPT partition {number} lies outside the disk (sectors "
                               "{first:,}-{last:,}); it was left out."),
                    number=index + 1, first=first, last=last)))
                continue
            self._add_gpt_partition(index + 1, kind, first, min(last, disk_sectors - 1),
                                    name=name, sector_size=sector_size)
        return table

    def _add_gpt_partition(self, number: int, kind: uuid.UUID, first: int, last: int, *,
                           name: str, sector_size: int) -> None:
        self.found.partitions.append(Partition(
            number=number, start=first * sector_size, size=(last - first + 1) * sector_size,
            type_id=str(kind).upper(), type_name=GPT_TYPES.get(kind, OTHER_TYPE), name=name))

    def _use_gpt(self, gpt: GptTable, mbr: list[MbrEntry] | None) -> None:
        others = [e for e in _used(mbr or []) if e.type != MBR_PROTECTIVE]
        self.found.table = PartitionTable.HYBRID if others else PartitionTable.GPT
        self.notes.extend(gpt.problems)

    # --- MBR --------------------------------------------------------------------------------

    def _use_mbr(self, entries: list[MbrEntry]) -> None:
        for number, entry in enumerate(entries, start=1):
            if entry in _used([entry]):
                if entry.type in MBR_EXTENDED:
                    self._follow_extended(entry.start_lba)
                else:
                    self._add_mbr_partition(number, entry, 0)
        self.found.partitions.sort(key=lambda p: p.number)

    def _add_mbr_partition(self, number: int, entry: MbrEntry, base: int) -> None:
        start = (base + entry.start_lba) * SECTOR
        if start >= self.reader.size:
            self.notes.append(Text(message(
                QT_TR_NOOP("MBR partition {number} starts beyond the end of the disk; it was "
                           "left out."), number=number)))
            return
        size = min(entry.sectors * SECTOR, self.reader.size - start)
        self.found.partitions.append(Partition(
            number=number, start=start, size=size, type_id=f"0x{entry.type:02X}",
            type_name=MBR_TYPES.get(entry.type, OTHER_TYPE), bootable=entry.status == 0x80))

    def _follow_extended(self, extended_lba: int) -> None:
        """The chain of extended boot records: each names one logical partition (relative to
        itself) and the next record (relative to the extended partition)."""
        seen: set[int] = set()
        ebr = extended_lba
        number = 5
        while ebr not in seen and len(seen) < MAX_LOGICAL:
            seen.add(ebr)
            entries = parse_mbr(self.reader.read(ebr * SECTOR, SECTOR))
            if entries is None:
                if ebr != extended_lba:
                    self.notes.append(Text(QT_TR_NOOP(
                        "The chain of logical partitions is broken; the logical partitions "
                        "after it were left out.")))
                return
            logical, link = entries[0], entries[1]
            if _used([logical]) and logical.type not in MBR_EXTENDED:
                self._add_mbr_partition(number, logical, ebr)
                number += 1
            if not _used([link]) or link.type not in MBR_EXTENDED:
                return
            ebr = extended_lba + link.start_lba

    # --- file systems and the ESP -------------------------------------------------------------

    def _probe_partitions(self) -> None:
        probed = []
        for part in self.found.partitions[:MAX_PARTITIONS]:
            window = _Window(self.reader, part.start, part.size)
            head = window.read(0, 4096)
            filesystem = filesystem_of(head, window.read(BTRFS_MAGIC_AT, 8))
            probed.append(Partition(part.number, part.start, part.size, part.type_id,
                                    part.type_name, part.name, part.bootable, filesystem))
            if filesystem == "NTFS" and b"BOOTMGR" in head:
                self.found.ntfs_bootmgr.append(probed[-1])
        self.found.partitions = probed

    def _read_esps(self) -> None:
        esps = [p for p in self.found.partitions if _is_esp(p)][:MAX_ESPS]
        for esp in esps:
            try:
                volume = FatVolume(_Window(self.reader, esp.start, esp.size), esp.size)
                self._read_esp(volume)
            except FatError as exc:
                self.found.esp_problems.append(Text(message(
                    QT_TR_NOOP("The EFI system partition (partition {number} ({type})) holds no "
                               "readable FAT file system ({reason})."),
                    number=esp.number, type=esp.type_name, reason=exc.detail)))

    def _read_esp(self, volume: FatVolume) -> None:
        efi = volume.find("EFI")
        if efi is None or not efi.is_directory or efi.first_cluster == 0:
            return
        subdirs = [e for e in volume.list_dir(efi.first_cluster)
                   if e.is_directory and e.name not in (".", "..") and e.first_cluster]
        vendors_read = 0
        for subdir in subdirs:
            folder = subdir.name.casefold()
            if folder == "boot":
                for entry in volume.list_dir(subdir.first_cluster):
                    arch = REMOVABLE_LOADERS.get(entry.name.casefold())
                    if arch is not None and not entry.is_directory:
                        self.found.loaders.append(self._loader(
                            volume, f"\\EFI\\{subdir.name}\\{entry.name}", entry, arch))
            elif folder == "microsoft":
                found = volume.find(f"EFI/{subdir.name}/Boot/bootmgfw.efi")
                if found is not None and not found.is_directory:
                    self.found.windows_boot = self._loader(
                        volume, f"\\EFI\\{subdir.name}\\Boot\\{found.name}", found, None)
            elif len(self.found.vendor_dirs) < MAX_VENDOR_DIRS:
                self.found.vendor_dirs.append(subdir.name)
                for entry in volume.list_dir(subdir.first_cluster):
                    if vendors_read >= MAX_VENDOR_FILES:
                        break
                    if not entry.is_directory and entry.name.casefold().endswith(".efi"):
                        vendors_read += 1
                        self.found.loaders.append(self._loader(
                            volume, f"\\EFI\\{subdir.name}\\{entry.name}", entry, None))

    def _loader(self, volume: FatVolume, path: str, entry: DirEntry,
                named: Architecture | None) -> EfiLoader:
        head = volume.read_file(entry, PE_HEAD)
        lfanew = _u32(head, 0x3C) if head[:2] == b"MZ" else 0
        if PE_HEAD < lfanew + 6 <= MAX_PE_HEAD:
            head = volume.read_file(entry, lfanew + 6)
        machine = pe_machine(head)
        if machine is None:
            return EfiLoader(path, None, named or Architecture.UNKNOWN)
        return EfiLoader(path, machine, PE_MACHINES.get(machine, Architecture.UNKNOWN))

    # --- conclusions ------------------------------------------------------------------------

    def conclude(self) -> GuestFacts:
        found = self.found
        if found.table_note:
            self.notes.insert(0, found.table_note)
        self.notes.extend(found.esp_problems)
        return GuestFacts(
            partition_table=found.table,
            partitions=tuple(found.partitions),
            whole_disk_filesystem=found.whole_disk,
            loaders=tuple(found.loaders)
            + ((found.windows_boot,) if found.windows_boot else ()),
            os_type=self._os_type(),
            generation=self._generation(),
            architecture=self._architecture(),
            notes=tuple(self.notes),
        )

    def _os_type(self) -> Fact[OsType]:
        found = self.found
        if found.whole_disk is not None:
            kind = _os_of_filesystem(found.whole_disk)
            return Fact(kind, Confidence.LOW if kind is not OsType.UNKNOWN else Confidence.UNKNOWN,
                        (Text(message(QT_TR_NOOP(
                            "The whole disk is one {filesystem} file system without a partition "
                            "table: it looks like a data disk, not a disk that boots."),
                            filesystem=found.whole_disk)),))
        windows_strong: list[Text] = []
        windows: list[Text] = []
        linux_strong: list[Text] = []
        linux: list[Text] = []
        if found.windows_boot is not None:
            windows_strong.append(Text(message(
                QT_TR_NOOP("The EFI system partition holds Windows Boot Manager ({path})."),
                path=found.windows_boot.path)))
        for part in found.partitions:
            if part.type_id == str(MSR_GUID).upper():
                windows_strong.append(Text(message(
                    QT_TR_NOOP("Partition {number} is a Microsoft reserved partition."),
                    number=part.number)))
            if part in found.ntfs_bootmgr:
                windows_strong.append(Text(message(
                    QT_TR_NOOP("The NTFS boot code of partition {number} ({type}) loads BOOTMGR, "
                               "the Windows boot manager."),
                    number=part.number, type=part.type_name)))
            elif part.filesystem in ("NTFS", "BitLocker"):
                windows.append(_holds_filesystem(part))
            if part.filesystem in LINUX_FILESYSTEMS:
                linux_strong.append(_holds_filesystem(part))
            elif part.filesystem in LINUX_VOLUMES:
                linux.append(Text(message(
                    QT_TR_NOOP("Partition {number} ({type}) holds a Linux {filesystem} volume."),
                    number=part.number, type=part.type_name, filesystem=part.filesystem)))
            elif part.type_name.startswith("Linux") and part.filesystem is None:
                linux.append(Text(message(
                    QT_TR_NOOP("Partition {number} ({type}) has a Linux partition type."),
                    number=part.number, type=part.type_name)))
        vendors = [d for d in found.vendor_dirs if d.casefold() in LINUX_VENDOR_DIRS]
        if vendors:
            linux.append(Text(message(
                QT_TR_NOOP("The EFI system partition holds Linux boot loaders ({folders})."),
                folders="\\EFI\\" + ", \\EFI\\".join(vendors))))
        if found.grub_in_mbr:
            linux.append(Text(QT_TR_NOOP("The MBR holds GRUB's boot code.")))
        win_any = windows_strong + windows
        lin_any = linux_strong + linux
        if win_any and not lin_any:
            strong = windows_strong and (windows or found.ntfs_bootmgr)
            return Fact(OsType.WINDOWS, Confidence.HIGH if strong else Confidence.MEDIUM,
                        tuple(win_any))
        if lin_any and not win_any:
            return Fact(OsType.LINUX, Confidence.HIGH if linux_strong else Confidence.MEDIUM,
                        tuple(lin_any))
        if win_any and lin_any:
            if windows_strong and not linux_strong:
                return Fact(OsType.WINDOWS, Confidence.MEDIUM, tuple(win_any + lin_any))
            if linux_strong and not windows_strong:
                return Fact(OsType.LINUX, Confidence.MEDIUM, tuple(lin_any + win_any))
            return Fact(OsType.UNKNOWN, Confidence.UNKNOWN, (Text(QT_TR_NOOP(
                "The disk holds both Windows and Linux file systems, so which one boots cannot "
                "be told from the disk.")), *win_any, *lin_any))
        return Fact(OsType.UNKNOWN, Confidence.UNKNOWN,
                    (Text(QT_TR_NOOP("No Windows or Linux file system was found on the disk.")),))

    def _table_sentence(self) -> Text:
        found = self.found
        count = len(found.partitions)
        table = found.table
        # The English keeps "partition(s)" (what the commands always printed); the catalogues,
        # English included, hold the real plural forms.
        if table is PartitionTable.GPT:
            return Text(plural(tr("The disk has a GPT partition table (checksums valid) with %n "
                                  "partition(s).", "", count),
                               "The disk has a GPT partition table (checksums valid) with %n "
                               "partition(s).", count))
        if table is PartitionTable.HYBRID:
            return Text(plural(tr("The disk has a hybrid MBR: a GPT with %n partition(s), and an "
                                  "MBR that lists partitions too, so BIOS can boot it as well.",
                                  "", count),
                               "The disk has a hybrid MBR: a GPT with %n partition(s), and an "
                               "MBR that lists partitions too, so BIOS can boot it as well.",
                               count))
        if table is PartitionTable.MBR:
            return Text(plural(tr("The disk has an MBR partition table with %n partition(s).",
                                  "", count),
                               "The disk has an MBR partition table with %n partition(s).",
                               count))
        if table is PartitionTable.DAMAGED_GPT:
            return Text(found.table_note)
        if found.whole_disk:
            return Text(message(
                QT_TR_NOOP("The disk has no partition table; a {filesystem} file system fills "
                           "it."), filesystem=found.whole_disk))
        return Text(QT_TR_NOOP(
            "The disk has no partition table that could be read (it may be empty)."))

    def _generation(self) -> Fact[Generation]:
        found = self.found
        table = self._table_sentence()
        esps = [p for p in found.partitions if _is_esp(p)]
        loaders = [*found.loaders, *([found.windows_boot] if found.windows_boot else [])]
        bios_boot = [p for p in found.partitions if p.type_id == str(BIOS_BOOT_GUID).upper()]
        if found.table in (PartitionTable.GPT, PartitionTable.HYBRID):
            if esps:
                evidence = [table, Text(message(
                    QT_TR_NOOP("Partition {number} is an EFI system partition."),
                    number=esps[0].number))]
                if loaders:
                    evidence.append(Text(message(QT_TR_NOOP("On it: {loaders}."),
                                                 loaders=_described(loaders))))
                else:
                    evidence.append(Text(QT_TR_NOOP("No boot loader was found on it.")))
                confidence = Confidence.HIGH if loaders else Confidence.MEDIUM
                bios = []
                if bios_boot:
                    bios.append(Text(message(
                        QT_TR_NOOP("Partition {number} is a BIOS boot partition, where GRUB "
                                   "keeps its code for booting with BIOS."),
                        number=bios_boot[0].number)))
                if found.table is PartitionTable.HYBRID:
                    bios.append(Text(QT_TR_NOOP("Its hybrid MBR lets BIOS boot it too.")))
                if bios:
                    return Fact(Generation.BOTH, confidence, (*evidence, *bios))
                return Fact(Generation.V2, confidence, tuple(evidence))
            if bios_boot:
                return Fact(Generation.V1, Confidence.MEDIUM, (table, Text(message(
                    QT_TR_NOOP("Partition {number} is a BIOS boot partition and there is no EFI "
                               "system partition, so it boots with BIOS."),
                    number=bios_boot[0].number))))
            return Fact(Generation.UNKNOWN, Confidence.UNKNOWN, (table, Text(QT_TR_NOOP(
                "It has neither an EFI system partition nor a BIOS boot partition, so no boot "
                "path was found (a data disk?)."))))
        if found.table is PartitionTable.MBR:
            esp_loaders = [x for x in loaders if x.machine is not None]
            boots_bios = found.mbr_boot_code or any(p.bootable for p in found.partitions)
            if esps and esp_loaders:
                on_esp = (table, Text(message(
                    QT_TR_NOOP("Partition {number} is an EFI system partition holding "
                               "{loaders}."),
                    number=esps[0].number, loaders=_described(esp_loaders))))
                if boots_bios:
                    return Fact(Generation.BOTH, Confidence.MEDIUM, (
                        *on_esp, Text(QT_TR_NOOP("Its MBR holds boot code for BIOS too."))))
                return Fact(Generation.V2, Confidence.MEDIUM, on_esp)
            sentences = [table, Text(QT_TR_NOOP(
                "It has no EFI system partition with a boot loader, so it boots with BIOS "
                "(Generation 1)."))]
            if found.mbr_boot_code:
                sentences.append(Text(QT_TR_NOOP("The MBR holds boot code.")))
            elif not boots_bios:
                sentences.append(Text(QT_TR_NOOP(
                    "The MBR holds no boot code and no partition is marked active yet.")))
            return Fact(Generation.V1, Confidence.HIGH if boots_bios else Confidence.MEDIUM,
                        tuple(sentences))
        return Fact(Generation.UNKNOWN, Confidence.UNKNOWN, (table,))

    def _architecture(self) -> Fact[Architecture]:
        found = self.found
        removable = [x for x in found.loaders if x.path.casefold().startswith("\\efi\\boot\\")]
        others = [x for x in found.loaders if x not in removable]
        if found.windows_boot is not None:
            others.append(found.windows_boot)
        read = [x for x in removable if x.machine is not None]
        arches = {x.architecture for x in read}
        if len(arches) == 1:
            arch = arches.pop()
            evidence = [Text(message(QT_TR_NOOP("The removable-media boot loader {loader}."),
                                     loader=x.described)) for x in read]
            mismatched = [x for x in read
                          if REMOVABLE_LOADERS.get(x.path.rsplit("\\", 1)[-1].casefold())
                          not in (None, x.architecture)]
            if mismatched:
                evidence.append(Text(QT_TR_NOOP(
                    "Its file name names another architecture than its PE header; the header is "
                    "what the firmware checks.")))
            if arch is Architecture.X86:
                evidence.append(Text(QT_TR_NOOP(
                    "That is a 32-bit x86 boot loader; Azure runs only x64 and Arm64 VMs.")))
            if arch is Architecture.UNKNOWN:
                return Fact(arch, Confidence.UNKNOWN, (*evidence, Text(QT_TR_NOOP(
                    "That machine type is neither x64 nor Arm64."))))
            return Fact(arch, Confidence.MEDIUM if mismatched else Confidence.HIGH,
                        tuple(evidence))
        if len(arches) > 1:
            return Fact(Architecture.UNKNOWN, Confidence.UNKNOWN, (Text(message(
                QT_TR_NOOP("The EFI system partition holds removable-media boot loaders for "
                           "several architectures: {loaders}."),
                loaders=_described(read))),))
        # No readable removable-media loader: vendors' loaders, then the root partition's type.
        other_arches = {x.architecture for x in others if x.machine is not None}
        other_arches.discard(Architecture.UNKNOWN)
        if len(other_arches) == 1:
            arch = other_arches.pop()
            return Fact(arch, Confidence.MEDIUM, tuple(
                Text(message(QT_TR_NOOP("The boot loader {loader}."), loader=x.described))
                for x in others if x.machine is not None))
        typed = {GPT_TYPE_ARCH[uuid.UUID(p.type_id)] for p in found.partitions
                 if _is_guid(p.type_id) and uuid.UUID(p.type_id) in GPT_TYPE_ARCH}
        if len(typed) == 1:
            arch = typed.pop()
            return Fact(arch, Confidence.MEDIUM, tuple(
                Text(message(QT_TR_NOOP("Partition {number} ({type}) has the {architecture} root "
                                        "or /usr partition type."),
                             number=p.number, type=p.type_name, architecture=arch.value))
                for p in found.partitions
                if _is_guid(p.type_id) and GPT_TYPE_ARCH.get(uuid.UUID(p.type_id)) is arch))
        if removable:
            named = {x.architecture for x in removable} - {Architecture.UNKNOWN}
            if len(named) == 1:
                arch = named.pop()
                return Fact(arch, Confidence.LOW, tuple(
                    Text(message(QT_TR_NOOP("The removable-media boot loader {loader}; its name "
                                            "says {architecture}."),
                                 loader=x.described, architecture=arch.value))
                    for x in removable))
        return Fact(Architecture.UNKNOWN, Confidence.UNKNOWN, (Text(QT_TR_NOOP(
            "No UEFI boot loader with a readable PE header was found, so the architecture "
            "cannot be told from the disk.")),))


def _is_esp(part: Partition) -> bool:
    return part.type_id in (str(ESP_GUID).upper(), f"0x{MBR_ESP:02X}")


def _is_guid(text: str) -> bool:
    return len(text) == 36


def _holds_filesystem(part: Partition) -> Text:
    return Text(message(QT_TR_NOOP("Partition {number} ({type}) holds an {filesystem} file "
                                   "system."),
                        number=part.number, type=part.type_name, filesystem=part.filesystem))


def _architecture_name(arch: Architecture) -> str:
    return Text(QT_TR_NOOP("unknown")) if arch is Architecture.UNKNOWN else arch.value


class _Joined(str):
    """Items joined with "; ": the English text, and each item in the window's language where
    a sentence quotes the list (``localize`` finds ``localized``)."""

    items: tuple[Text, ...]

    def __new__(cls, items: Iterable[Text]) -> _Joined:
        kept = tuple(items)
        self = super().__new__(cls, "; ".join(kept))
        self.items = kept
        return self

    def localized(self, render: Render) -> str:
        return "; ".join(localize(render, item) for item in self.items)


def _described(loaders: Iterable[EfiLoader]) -> _Joined:
    return _Joined(x.described for x in loaders)


def _os_of_filesystem(name: str) -> OsType:
    if name in LINUX_FILESYSTEMS or name in LINUX_VOLUMES:
        return OsType.LINUX
    if name in ("NTFS", "BitLocker"):
        return OsType.WINDOWS
    return OsType.UNKNOWN


def _looks_like_boot_sector(sector: bytes) -> bool:
    """A volume boot record (FAT, NTFS, exFAT) at sector 0: a disk without a partition table."""
    return sector[3:11] in (b"NTFS    ", b"EXFAT   ", b"-FVE-FS-") or (
        parse_boot_sector(sector) is not None)


# --- what the user picks against the evidence ---------------------------------------------------


def choice_warnings(facts: GuestFacts, os_type: str, generation: str,
                    architecture: str) -> list[str]:
    """Why a VM made with these choices would not boot (or provision), from the evidence that
    is at least of medium confidence; ``generation`` is "V1" or "V2", ``os_type`` "Windows" or
    "Linux", ``architecture`` "x64" or "Arm64"."""
    warnings: list[str] = []
    sure = Confidence.MEDIUM.rank
    gen = facts.generation
    if gen.confidence.rank >= sure:
        if gen.value is Generation.V2 and generation == "V1":
            if facts.partition_table in (PartitionTable.GPT, PartitionTable.HYBRID):
                warnings.append(Text(QT_TR_NOOP(
                    "This disk boots with UEFI from a GPT EFI system partition; a Generation 1 "
                    "VM starts with BIOS and will not find a boot loader.")))
            else:
                warnings.append(Text(QT_TR_NOOP(
                    "This disk boots with UEFI from an EFI system partition; a Generation 1 VM "
                    "starts with BIOS and will not find a boot loader.")))
        if gen.value is Generation.V1 and generation == "V2":
            warnings.append(Text(QT_TR_NOOP(
                "This disk boots with BIOS and has no EFI system partition with a boot loader; a "
                "Generation 2 VM starts with UEFI and will not find a boot loader.")))
    arch = facts.architecture
    if arch.confidence.rank >= sure and arch.value.value != architecture:
        if arch.value in (Architecture.X64, Architecture.ARM64):
            warnings.append(Text(message(
                QT_TR_NOOP("The disk's boot loader is built for {built_for}; an {architecture} "
                           "VM cannot run it and will not boot."),
                built_for=arch.value.value, architecture=architecture)))
        elif arch.value is Architecture.X86:
            warnings.append(Text(QT_TR_NOOP(
                "The disk's boot loader is 32-bit x86; Azure's x64 and Arm64 VMs cannot run it "
                "and will not boot.")))
    if architecture == "Arm64" and generation == "V1":
        warnings.append(Text(QT_TR_NOOP(
            "Arm64 VMs in Azure are Generation 2 only: they start with UEFI, so choose "
            "Generation 2.")))
    os_fact = facts.os_type
    if os_fact.confidence.rank >= sure and os_fact.value.value not in (os_type, "unknown"):
        agent = (Text(QT_TR_NOOP("Windows guest agent")) if os_type == "Windows"
                 else Text(QT_TR_NOOP("Linux agent")))
        warnings.append(Text(message(
            QT_TR_NOOP("The disk holds {found}; as a {os_type} image Azure would wait for the "
                       "{agent} and set it up as {os_type}, so the VM would fail to provision."),
            found=os_fact.value.value, os_type=os_type, agent=agent)))
    return warnings


__all__ = [
    "Architecture",
    "Confidence",
    "EfiLoader",
    "Fact",
    "Generation",
    "GuestFacts",
    "GuestSource",
    "OsType",
    "Partition",
    "PartitionTable",
    "choice_warnings",
    "filesystem_of",
    "parse_gpt_header",
    "parse_mbr",
    "pe_machine",
    "read_guest_facts",
]

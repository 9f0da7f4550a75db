"""A small read-only FAT12/16/32 reader: enough to find a file on an EFI system partition.

It reads through a :class:`ByteSource` (offsets relative to the volume's first byte), so it
works on any disk-image format and never mounts anything. The work is bounded whatever the
volume claims: directories are read up to ``MAX_DIR_ENTRIES`` entries, cluster chains up to
``MAX_CHAIN`` links, files up to the few KiB asked for, and the FAT is read a sector at a time
through a small cache. Anything that does not make sense (a chain that leaves the volume, a
loop, an impossible BPB) is :class:`FatError`, which callers turn into "unknown".
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from gui.i18n import QT_TR_NOOP, Message, Text, message

# The most directory entries read from one directory (a fresh ESP holds a dozen).
MAX_DIR_ENTRIES = 4096
# The most clusters followed in one chain: directories and the few KiB of a file read here
# never need more, and a crafted FAT cannot make the walk long.
MAX_CHAIN = 4096
# The most FAT sectors kept between lookups.
FAT_CACHE_SECTORS = 64
ENTRY_SIZE = 32
ATTR_LFN = 0x0F
ATTR_VOLUME = 0x08
ATTR_DIRECTORY = 0x10


class FatError(Exception):
    """The volume is not a FAT file system this reader understands, or it is damaged.

    ``detail`` is the English text (``str(error)``) carrying its Message, so the guest's
    evidence that quotes it is translated in the window."""

    def __init__(self, detail: Message | str) -> None:
        self.detail = Text(detail)
        super().__init__(self.detail)


class ByteSource(Protocol):
    """Bytes of one volume; reads past its end come back as zeros or short."""

    def read(self, offset: int, length: int) -> bytes: ...


@dataclass(frozen=True)
class BootSector:
    """The fields of a FAT BIOS parameter block this reader needs, checked for sense."""

    fat_type: int  # 12, 16 or 32
    bytes_per_sector: int
    sectors_per_cluster: int
    reserved_sectors: int
    fat_count: int
    root_entries: int
    total_sectors: int
    fat_sectors: int
    root_cluster: int  # FAT32 only

    @property
    def cluster_size(self) -> int:
        return self.bytes_per_sector * self.sectors_per_cluster

    @property
    def fat_offset(self) -> int:
        return self.reserved_sectors * self.bytes_per_sector

    @property
    def root_offset(self) -> int:
        return self.fat_offset + self.fat_count * self.fat_sectors * self.bytes_per_sector

    @property
    def root_size(self) -> int:
        return self.root_entries * ENTRY_SIZE

    @property
    def data_offset(self) -> int:
        sectors = -(-self.root_size // self.bytes_per_sector)
        return self.root_offset + sectors * self.bytes_per_sector

    @property
    def cluster_count(self) -> int:
        data = self.total_sectors * self.bytes_per_sector - self.data_offset
        return max(0, data // self.cluster_size)


def parse_boot_sector(sector: bytes) -> BootSector | None:
    """The BPB of a FAT volume's first sector, or None when it is not one (or is nonsense)."""
    if len(sector) < 512 or sector[510:512] != b"\x55\xaa" or sector[0] not in (0xEB, 0xE9):
        return None
    (bps, spc, reserved, fats, root_entries, total16, media, fat16) = struct.unpack_from(
        "<HBHBHHBH", sector, 11)
    total32, fat32 = struct.unpack_from("<II", sector, 32)
    root_cluster: int = struct.unpack_from("<I", sector, 44)[0]
    if bps not in (512, 1024, 2048, 4096) or spc == 0 or spc & (spc - 1):
        return None
    if bps * spc > 256 * 1024 or reserved == 0 or fats not in (1, 2, 3, 4):
        return None
    if media not in (0xF0, *range(0xF8, 0x100)):
        return None
    total = total16 or total32
    fat_sectors = fat16 or fat32
    if total == 0 or fat_sectors == 0:
        return None
    fat_type = 32 if fat16 == 0 else 16  # decided by the cluster count below
    boot = BootSector(fat_type, bps, spc, reserved, fats, root_entries, total, fat_sectors,
                      root_cluster)
    clusters = boot.cluster_count
    if clusters == 0:
        return None
    # The FAT type follows from the cluster count alone (Microsoft's FAT specification).
    if clusters < 4085:
        fat_type = 12
    elif clusters < 65525:
        fat_type = 16
    else:
        fat_type = 32
    if (fat_type == 32) != (fat16 == 0 and root_entries == 0):
        return None
    if fat_type == 32 and root_cluster < 2:
        return None
    needed_fat_bytes = (clusters + 2) * fat_type // 8
    if fat_sectors * bps < needed_fat_bytes:
        return None
    return BootSector(fat_type, bps, spc, reserved, fats, root_entries, total, fat_sectors,
                      root_cluster)


@dataclass(frozen=True)
class DirEntry:
    name: str  # the long name when there is one, else the 8.3 name as "NAME.EXT"
    short_name: str
    is_directory: bool
    first_cluster: int
    size: int


class FatVolume:
    """A FAT volume read through ``source``; ``limit`` is the volume's length in bytes."""

    def __init__(self, source: ByteSource, limit: int) -> None:
        self._source = source
        boot = parse_boot_sector(source.read(0, 512))
        if boot is None:
            raise FatError(Text(QT_TR_NOOP("not a FAT file system")))
        if boot.total_sectors * boot.bytes_per_sector > limit > 0:
            # A volume claiming more than its partition: read only what is inside.
            boot = BootSector(boot.fat_type, boot.bytes_per_sector, boot.sectors_per_cluster,
                              boot.reserved_sectors, boot.fat_count, boot.root_entries,
                              limit // boot.bytes_per_sector, boot.fat_sectors, boot.root_cluster)
            if boot.cluster_count == 0:
                raise FatError(Text(QT_TR_NOOP("the volume is larger than its partition")))
        self.boot = boot
        self._fat_cache: dict[int, bytes] = {}

    # --- the FAT -----------------------------------------------------------------------------

    def _fat_bytes(self, offset: int, length: int) -> bytes:
        """``length`` bytes of the first FAT at ``offset`` (within it), sector by sector."""
        bps = self.boot.bytes_per_sector
        out = bytearray()
        pos = offset
        while len(out) < length:
            sector = pos // bps
            data = self._fat_cache.get(sector)
            if data is None:
                if len(self._fat_cache) >= FAT_CACHE_SECTORS:
                    self._fat_cache.clear()
                data = self._source.read(self.boot.fat_offset + sector * bps, bps)
                self._fat_cache[sector] = data
            start = pos - sector * bps
            piece = data[start : start + length - len(out)]
            if not piece:
                raise FatError(Text(QT_TR_NOOP("the FAT is cut short")))
            out += piece
            pos += len(piece)
        return bytes(out)

    def next_cluster(self, cluster: int) -> int | None:
        """The cluster after ``cluster`` in its chain, or None at the chain's end."""
        kind = self.boot.fat_type
        if kind == 12:
            raw = int.from_bytes(self._fat_bytes(cluster + cluster // 2, 2), "little")
            value = raw >> 4 if cluster & 1 else raw & 0xFFF
            end_mark = 0xFF8
        elif kind == 16:
            value = int.from_bytes(self._fat_bytes(cluster * 2, 2), "little")
            end_mark = 0xFFF8
        else:
            value = int.from_bytes(self._fat_bytes(cluster * 4, 4), "little") & 0x0FFFFFFF
            end_mark = 0x0FFFFFF8
        if value >= end_mark:
            return None
        self._check_cluster(value)
        return value

    def _check_cluster(self, cluster: int) -> None:
        if not 2 <= cluster < self.boot.cluster_count + 2:
            raise FatError(message(QT_TR_NOOP(
                "a cluster chain points at cluster {cluster}, outside the volume"),
                cluster=cluster))

    def chain(self, first: int, max_clusters: int = MAX_CHAIN) -> Iterator[int]:
        """The clusters of the chain starting at ``first``, at most ``max_clusters`` of them."""
        self._check_cluster(first)
        cluster: int | None = first
        seen: set[int] = set()
        while cluster is not None and len(seen) < max_clusters:
            if cluster in seen:
                raise FatError(message(
                    QT_TR_NOOP("a cluster chain loops back to cluster {cluster}"),
                    cluster=cluster))
            seen.add(cluster)
            yield cluster
            cluster = self.next_cluster(cluster)

    def _cluster_offset(self, cluster: int) -> int:
        return self.boot.data_offset + (cluster - 2) * self.boot.cluster_size

    # --- directories and files ---------------------------------------------------------------

    def _root_pieces(self) -> Iterator[bytes]:
        boot = self.boot
        if boot.fat_type == 32:
            yield from self._chain_pieces(boot.root_cluster)
            return
        size = min(boot.root_size, MAX_DIR_ENTRIES * ENTRY_SIZE)
        step = 16 * 1024
        for pos in range(0, size, step):
            yield self._source.read(boot.root_offset + pos, min(step, size - pos))

    def _chain_pieces(self, first: int) -> Iterator[bytes]:
        cluster_size = self.boot.cluster_size
        budget = MAX_DIR_ENTRIES * ENTRY_SIZE
        for cluster in self.chain(first, max(1, budget // cluster_size)):
            yield self._source.read(self._cluster_offset(cluster), cluster_size)

    def list_dir(self, first_cluster: int | None = None) -> Iterator[DirEntry]:
        """The entries of the root (``None``) or of the directory starting at ``first_cluster``."""
        pieces = self._root_pieces() if first_cluster is None else self._chain_pieces(
            first_cluster)
        seen = 0
        long_parts: dict[int, str] = {}
        long_sum = -1
        for piece in pieces:
            for pos in range(0, len(piece) - ENTRY_SIZE + 1, ENTRY_SIZE):
                seen += 1
                if seen > MAX_DIR_ENTRIES:
                    return
                raw = piece[pos : pos + ENTRY_SIZE]
                first = raw[0]
                if first == 0x00:
                    return  # the end of the directory
                attr = raw[11]
                if first == 0xE5:
                    long_parts.clear()
                    continue
                if attr & 0x3F == ATTR_LFN:
                    order = first & 0x1F
                    if first & 0x40:
                        long_parts.clear()
                        long_sum = raw[13]
                    if raw[13] == long_sum and 1 <= order <= 20:
                        long_parts[order] = _lfn_chars(raw)
                    continue
                if attr & ATTR_VOLUME:
                    long_parts.clear()
                    continue
                short = _short_name(raw)
                name = short
                if long_parts and long_sum == _short_checksum(raw[:11]):
                    joined = "".join(long_parts[i] for i in sorted(long_parts))
                    if sorted(long_parts) == list(range(1, len(long_parts) + 1)):
                        name = joined.split("\0", 1)[0]
                long_parts.clear()
                cluster = struct.unpack_from("<H", raw, 26)[0]
                if self.boot.fat_type == 32:
                    cluster |= struct.unpack_from("<H", raw, 20)[0] << 16
                size = struct.unpack_from("<I", raw, 28)[0]
                yield DirEntry(name, short, bool(attr & ATTR_DIRECTORY), cluster, size)

    def find(self, path: str) -> DirEntry | None:
        """The entry at ``path`` ("EFI/BOOT/BOOTX64.EFI"), names compared case-insensitively
        (long or 8.3 name), or None when some part of it is not there."""
        directory: int | None = None
        parts = [p for p in path.replace("\\", "/").split("/") if p]
        entry: DirEntry | None = None
        for depth, part in enumerate(parts):
            wanted = part.casefold()
            entry = next((e for e in self.list_dir(directory)
                          if wanted in (e.name.casefold(), e.short_name.casefold())), None)
            if entry is None:
                return None
            if depth < len(parts) - 1:
                if not entry.is_directory or entry.first_cluster == 0:
                    return None  # cluster 0 in a subdirectory's ".." means the root: not a path
                directory = entry.first_cluster
        return entry

    def read_file(self, entry: DirEntry, length: int) -> bytes:
        """The first ``length`` bytes of a file (fewer when the file is shorter)."""
        want = min(length, entry.size)
        if want <= 0 or entry.first_cluster == 0:
            return b""
        cluster_size = self.boot.cluster_size
        out = bytearray()
        for cluster in self.chain(entry.first_cluster, -(-want // cluster_size)):
            out += self._source.read(self._cluster_offset(cluster),
                                     min(cluster_size, want - len(out)))
        return bytes(out[:want])


def _lfn_chars(raw: bytes) -> str:
    data = raw[1:11] + raw[14:26] + raw[28:32]
    text = data.decode("utf-16-le", errors="replace")
    return text.split("\uffff", 1)[0]


def _short_name(raw: bytes) -> str:
    base = bytearray(raw[0:8])
    if base[0] == 0x05:
        base[0] = 0xE5  # 0x05 stands for a real 0xE5 first byte (FAT specification)
    name = base.decode("latin-1").rstrip(" ")
    ext = raw[8:11].decode("latin-1").rstrip(" ")
    # Windows NT's case bits: the base or extension was written in lower case.
    if raw[12] & 0x08:
        name = name.lower()
    if raw[12] & 0x10:
        ext = ext.lower()
    return f"{name}.{ext}" if ext else name


def _short_checksum(name11: bytes) -> int:
    total = 0
    for byte in name11:
        total = (((total & 1) << 7) + (total >> 1) + byte) & 0xFF
    return total

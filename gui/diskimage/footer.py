"""The 512-byte VHD footer: parsing, checking, and building the Azure-ready one.

Layout and geometry algorithm follow Microsoft's "Virtual Hard Disk Image Format Specification"
(v1.0); all fields are big-endian.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

FOOTER_SIZE = 512
COOKIE = b"conectix"
FEATURES_RESERVED = 0x00000002
FORMAT_VERSION = 0x00010000
NO_DATA_OFFSET = 0xFFFFFFFFFFFFFFFF

DISK_TYPE_FIXED = 2
DISK_TYPE_DYNAMIC = 3
DISK_TYPE_DIFFERENCING = 4

VHD_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# Creator of the footers we write. Azure ignores it, but qemu (block/vpc.c) takes a VHD's size
# from the CHS geometry unless the creator is one it knows to mean "use current_size" ("win ",
# "qem2", "d2v ", "CTXS", "tap\0"), and CHS rounds down by up to ~240 KiB: a downloaded blob would
# then read short in qemu-img. Hyper-V's "win " is on that list in every qemu version (Azure's own
# "wa\0\0" only in recent ones), and vhdiinfo and Azure read current_size whatever the creator.
OUR_CREATOR_APP = b"win "
OUR_CREATOR_VERSION = 0x000A0000  # Hyper-V's 10.0, so the pair reads like a Hyper-V footer
HOST_OS_WINDOWS = b"Wi2k"
# Creators whose footers qemu sizes by current_size: a source footer from one of them may keep
# its maker fields; any other creator (e.g. "vpc ", "qemu") is replaced by ours.
SIZED_BY_CURRENT_SIZE = frozenset({b"win ", b"qem2", b"d2v ", b"CTXS", b"tap\0"})

_LAYOUT = struct.Struct(">8sIIQI4sI4sQQHBBII16sB427s")
assert _LAYOUT.size == FOOTER_SIZE
_CHECKSUM_OFFSET = 64


@dataclass(frozen=True)
class VhdFooter:
    cookie: bytes
    features: int
    format_version: int
    data_offset: int
    timestamp: int
    creator_app: bytes
    creator_version: int
    creator_host_os: bytes
    original_size: int
    current_size: int
    cylinders: int
    heads: int
    sectors_per_track: int
    disk_type: int
    checksum: int
    unique_id: uuid.UUID
    saved_state: int

    @property
    def cookie_ok(self) -> bool:
        return self.cookie == COOKIE

    @property
    def computed_checksum(self) -> int:
        return footer_checksum(self.pack(checksum=0))

    @property
    def checksum_ok(self) -> bool:
        return self.checksum == self.computed_checksum

    @property
    def creator(self) -> str:
        return self.creator_app.decode("latin-1").rstrip("\0 ") or "unknown"

    def pack(self, *, checksum: int | None = None) -> bytes:
        cyl, heads, spt = self.cylinders, self.heads, self.sectors_per_track
        return _LAYOUT.pack(
            self.cookie, self.features, self.format_version, self.data_offset, self.timestamp,
            self.creator_app, self.creator_version, self.creator_host_os, self.original_size,
            self.current_size, cyl, heads, spt, self.disk_type,
            self.checksum if checksum is None else checksum,
            self.unique_id.bytes, self.saved_state, bytes(427),
        )


def looks_like_footer(data: bytes) -> bool:
    return len(data) >= 8 and data[:8] == COOKIE


def parse_footer(data: bytes) -> VhdFooter:
    """Parse 512 bytes (no checks beyond the length; callers look at cookie/checksum)."""
    (cookie, features, version, data_offset, timestamp, app, app_version, host_os, original,
     current, cyl, heads, spt, disk_type, checksum, uid, saved, _reserved) = _LAYOUT.unpack(
        data[:FOOTER_SIZE].ljust(FOOTER_SIZE, b"\0"))
    return VhdFooter(cookie, features, version, data_offset, timestamp, app, app_version, host_os,
                     original, current, cyl, heads, spt, disk_type, checksum, uuid.UUID(bytes=uid),
                     saved)


def footer_checksum(data: bytes) -> int:
    """One's complement of the byte sum, with the checksum field counted as zero."""
    total = sum(data[:_CHECKSUM_OFFSET]) + sum(data[_CHECKSUM_OFFSET + 4:FOOTER_SIZE])
    return (~total) & 0xFFFFFFFF


def chs_geometry(size: int) -> tuple[int, int, int]:
    """(cylinders, heads, sectors per track) for ``size`` bytes, by the VHD specification."""
    total = min(size // 512, 65535 * 16 * 255)
    if total >= 65535 * 16 * 63:
        spt, heads = 255, 16
        cth = total // spt
    else:
        spt = 17
        cth = total // spt
        heads = max((cth + 1023) // 1024, 4)
        if cth >= heads * 1024 or heads > 16:
            spt, heads = 31, 16
            cth = total // spt
        if cth >= heads * 1024:
            spt, heads = 63, 16
            cth = total // spt
    return min(cth // heads, 65535), heads, spt


def vhd_timestamp(when: datetime) -> int:
    seconds = int((when - VHD_EPOCH).total_seconds())
    return min(max(seconds, 0), 0xFFFFFFFF)


def build_fixed_footer(size: int, unique_id: uuid.UUID, *, timestamp: int,
                       source: VhdFooter | None = None) -> bytes:
    """The footer of a fixed VHD of ``size`` data bytes, as Azure wants it.

    The time is kept from the source footer when there is one, and so are the application,
    version and host OS when the source's creator is one qemu sizes by ``current_size``; otherwise
    those three are ours (see OUR_CREATOR_APP), so every reader sees exactly ``size`` bytes.
    Everything that describes the layout is set for a fixed disk.
    """
    cyl, heads, spt = chs_geometry(size)
    keep_maker = source is not None and source.creator_app in SIZED_BY_CURRENT_SIZE
    footer = VhdFooter(
        cookie=COOKIE,
        features=FEATURES_RESERVED,
        format_version=FORMAT_VERSION,
        data_offset=NO_DATA_OFFSET,
        timestamp=source.timestamp if source else timestamp,
        creator_app=source.creator_app if source and keep_maker else OUR_CREATOR_APP,
        creator_version=source.creator_version if source and keep_maker else OUR_CREATOR_VERSION,
        creator_host_os=source.creator_host_os if source and keep_maker else HOST_OS_WINDOWS,
        original_size=size,
        current_size=size,
        cylinders=cyl,
        heads=heads,
        sectors_per_track=spt,
        disk_type=DISK_TYPE_FIXED,
        checksum=0,
        unique_id=unique_id,
        saved_state=0,
    )
    return footer.pack(checksum=footer.computed_checksum)

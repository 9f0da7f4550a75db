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
# Creator of footers we write; Azure does not care which application made a VHD.
OUR_CREATOR_APP = b"ais "
OUR_CREATOR_VERSION = 0x00010000
HOST_OS_WINDOWS = b"Wi2k"

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

    Fields that describe the maker (application, version, host OS, time) are kept from the source
    footer when there is one, so the disk stays recognisable; everything that describes the layout
    is set for a fixed disk.
    """
    cyl, heads, spt = chs_geometry(size)
    footer = VhdFooter(
        cookie=COOKIE,
        features=FEATURES_RESERVED,
        format_version=FORMAT_VERSION,
        data_offset=NO_DATA_OFFSET,
        timestamp=source.timestamp if source else timestamp,
        creator_app=source.creator_app if source else OUR_CREATOR_APP,
        creator_version=source.creator_version if source else OUR_CREATOR_VERSION,
        creator_host_os=source.creator_host_os if source else HOST_OS_WINDOWS,
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

"""The qcow2 header, its extensions and the backing-file name (qemu's docs/interop/qcow2.txt).

All numbers are big-endian. Everything here lies in the image's first cluster (at most 2 MiB), so
parsing reads that cluster once and never more, whatever the fields claim. Checks follow what
``qemu`` itself refuses when it opens an image read-only, so an image qemu reads is read here and
an image qemu refuses is refused with the reason.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from gui.diskimage.errors import (
    CorruptHeaderError,
    DiskImageError,
    EncryptedImageError,
    ImplausibleSizeError,
    InvalidBlockSizeError,
    ParentNotFoundError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.pio import SourceFile
from gui.i18n import QT_TR_NOOP, Message, Text, message

MAGIC = b"QFI\xfb"
V2_HEADER_LENGTH = 72
V3_HEADER_LENGTH = 104
MIN_CLUSTER_BITS = 9
MAX_CLUSTER_BITS = 21
# qemu refuses an active L1 table above 32 MiB (QCOW_MAX_L1_SIZE): memory and reads stay bounded.
MAX_L1_BYTES = 32 << 20
MAX_BACKING_NAME = 1023
# The largest disk any size field of ours can describe (also image.py's plausibility limit).
MAX_VIRTUAL_SIZE = 1 << 52
MIN_EXTENDED_L2_CLUSTER_BITS = 14  # qemu: subclusters of at least 512 bytes (32 per cluster)

# Incompatible feature bits.
INCOMPAT_DIRTY = 1 << 0
INCOMPAT_CORRUPT = 1 << 1
INCOMPAT_DATA_FILE = 1 << 2
INCOMPAT_COMPRESSION = 1 << 3
INCOMPAT_EXTENDED_L2 = 1 << 4
KNOWN_INCOMPAT = (INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE | INCOMPAT_COMPRESSION
                  | INCOMPAT_EXTENDED_L2)

COMPRESSION_ZLIB = 0
COMPRESSION_ZSTD = 1
COMPRESSION_NAMES = {COMPRESSION_ZLIB: "deflate (zlib)", COMPRESSION_ZSTD: "zstd"}

# Header extension types.
EXT_END = 0x00000000
EXT_BACKING_FORMAT = 0xE2792ACA
EXT_FEATURE_TABLE = 0x6803F857
EXT_CRYPTO = 0x0537BE77
EXT_DATA_FILE = 0x44415441

_V2 = struct.Struct(">4sIQIIQIIQQIIQ")
_V3 = struct.Struct(">QQQII")
_EXT = struct.Struct(">II")
_FEATURE = struct.Struct(">BB46s")
_SNAPSHOT = struct.Struct(">QIHHIIQII")
# How many snapshot names the details list; the table itself can hold 65,536.
MAX_SNAPSHOT_NAMES = 8


@dataclass
class Qcow2Header:
    version: int
    backing_offset: int
    backing_size: int
    cluster_bits: int
    size: int
    crypt_method: int
    l1_size: int
    l1_offset: int
    refcount_offset: int
    nb_snapshots: int
    snapshots_offset: int
    incompatible: int = 0
    compatible: int = 0
    autoclear: int = 0
    header_length: int = V2_HEADER_LENGTH
    compression_type: int = COMPRESSION_ZLIB
    backing_name: str = ""
    backing_format: str = ""
    data_file: str = ""
    feature_names: dict[tuple[int, int], str] = field(default_factory=dict)

    @property
    def cluster_size(self) -> int:
        return 1 << self.cluster_bits

    @property
    def extended_l2(self) -> bool:
        return bool(self.incompatible & INCOMPAT_EXTENDED_L2)


def is_qcow2(head: bytes) -> bool:
    """Whether ``head`` (the file's first bytes) starts a qcow2 image of version 2 or 3."""
    return len(head) >= 8 and head[:4] == MAGIC and struct.unpack_from(">I", head, 4)[0] in (2, 3)


def _truncated(what: Message, end: int, file: SourceFile) -> TruncatedImageError:
    return TruncatedImageError(what, end, file.size)


def read_header(file: SourceFile) -> Qcow2Header:
    """Parse and check the header and its extensions; raise the documented error on damage."""
    if file.size < V2_HEADER_LENGTH:
        head = file.read(0, min(4, file.size))
        if head == MAGIC[: len(head)] and head:
            raise _truncated(message(QT_TR_NOOP("qcow2 header")), V2_HEADER_LENGTH, file)
        raise CorruptHeaderError(message(QT_TR_NOOP("the file does not start with the qcow2 "
                                                    "signature 'QFI\\xfb'")))
    fields = _V2.unpack(file.read(0, V2_HEADER_LENGTH))
    (magic, version, backing_offset, backing_size, cluster_bits, size, crypt_method, l1_size,
     l1_offset, refcount_offset, _refcount_clusters, nb_snapshots, snapshots_offset) = fields
    if magic != MAGIC:
        raise CorruptHeaderError(message(QT_TR_NOOP("the file does not start with the qcow2 "
                                                    "signature 'QFI\\xfb'")))
    if version == 1:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("it is a QCOW version 1 image, a format qemu itself only keeps "
                               "for old files")))
    if version not in (2, 3):
        raise UnsupportedImageError(message(QT_TR_NOOP("it declares qcow2 version {version}; "
                                                       "only 2 and 3 exist"),
                                            version=version))
    if not MIN_CLUSTER_BITS <= cluster_bits <= MAX_CLUSTER_BITS:
        if cluster_bits < 64:
            raise InvalidBlockSizeError(1 << cluster_bits)
        raise CorruptHeaderError(message(QT_TR_NOOP("the cluster size field holds "
                                                    "{cluster_bits}, not 9 to 21"),
                                         cluster_bits=cluster_bits))
    header = Qcow2Header(version, backing_offset, backing_size, cluster_bits, size, crypt_method,
                         l1_size, l1_offset, refcount_offset, nb_snapshots, snapshots_offset)
    cluster_size = header.cluster_size
    # The header, its extensions and the backing file name all lie in the first cluster.
    first = file.read(0, min(cluster_size, file.size))
    if version == 3:
        if len(first) < V3_HEADER_LENGTH:
            raise _truncated(message(QT_TR_NOOP("qcow2 version 3 header")), V3_HEADER_LENGTH, file)
        (header.incompatible, header.compatible, header.autoclear, _refcount_order,
         header.header_length) = _V3.unpack_from(first, V2_HEADER_LENGTH)
        if header.header_length < V3_HEADER_LENGTH:
            raise CorruptHeaderError(
                message(QT_TR_NOOP("the version 3 header claims {header_length} bytes, fewer "
                                   "than 104"),
                        header_length=header.header_length))
        if header.header_length > cluster_size:
            raise CorruptHeaderError(message(QT_TR_NOOP("the header claims to be longer than the "
                                                        "first cluster")))
        if header.header_length > V3_HEADER_LENGTH:
            if len(first) <= V3_HEADER_LENGTH:
                raise _truncated(message(QT_TR_NOOP("qcow2 header")), V3_HEADER_LENGTH + 1, file)
            header.compression_type = first[V3_HEADER_LENGTH]
    _read_extensions(header, first, file)
    _read_backing_name(header, first, file)
    _check_features(header, file)
    _check_sizes(header, file)
    return header


def _read_extensions(header: Qcow2Header, first: bytes, file: SourceFile) -> None:
    """Walk the header extensions up to the backing file name (or the first cluster's end)."""
    end = header.backing_offset if header.backing_offset else header.cluster_size
    offset = header.header_length
    while offset < end:
        if offset + _EXT.size > len(first):
            if offset + _EXT.size <= end:
                # qemu reads past the end of the file as zeros, which is the end marker.
                return
            raise CorruptHeaderError(message(QT_TR_NOOP("a header extension runs past the first "
                                                        "cluster")))
        kind, length = _EXT.unpack_from(first, offset)
        offset += _EXT.size
        if kind == EXT_END:
            return
        if length > end - offset:
            raise CorruptHeaderError(
                message(QT_TR_NOOP("header extension {kind:#010x} claims {length:,} bytes, past "
                                   "the first cluster or into the backing file name"),
                        kind=kind, length=length))
        if offset + length > len(first):
            raise _truncated(message(QT_TR_NOOP("qcow2 header extensions")), offset + length, file)
        data = first[offset : offset + length]
        if kind == EXT_BACKING_FORMAT:
            header.backing_format = _text(data, message(QT_TR_NOOP("backing file format")))
        elif kind == EXT_DATA_FILE:
            header.data_file = _text(data, message(QT_TR_NOOP("external data file name")))
        elif kind == EXT_FEATURE_TABLE:
            for i in range(len(data) // _FEATURE.size):
                kind_of, bit, name = _FEATURE.unpack_from(data, i * _FEATURE.size)
                header.feature_names[(kind_of, bit)] = name.split(b"\0", 1)[0].decode(
                    "utf-8", "replace")
        # Others (bitmaps, the encryption header pointer, unknown ones) do not change the data.
        offset += -(-length // 8) * 8


def _text(data: bytes, what: Message) -> str:
    try:
        return data.split(b"\0", 1)[0].decode("utf-8")
    except UnicodeDecodeError:
        raise CorruptHeaderError(message(QT_TR_NOOP("the {what} is not readable text"),
                                         what=what)) from None


def _read_backing_name(header: Qcow2Header, first: bytes, file: SourceFile) -> None:
    if not header.backing_offset:
        return
    length = header.backing_size
    if length > MAX_BACKING_NAME or header.backing_offset + length > header.cluster_size:
        raise CorruptHeaderError(message(QT_TR_NOOP("the backing file name is too long or lies "
                                                    "past the first cluster")))
    end = header.backing_offset + length
    if end > len(first):
        raise _truncated(message(QT_TR_NOOP("backing file name")), end, file)
    header.backing_name = _text(first[header.backing_offset : end],
                                message(QT_TR_NOOP("backing file name")))
    if not header.backing_name:
        raise CorruptHeaderError(message(QT_TR_NOOP("the backing file name is empty")))


def _feature_list(header: Qcow2Header, bits: int) -> str:
    names = []
    for bit in range(64):
        if bits >> bit & 1:
            name = header.feature_names.get((0, bit))
            names.append(f"bit {bit} ('{name}')" if name else f"bit {bit}")
    return ", ".join(names)


def _check_features(header: Qcow2Header, file: SourceFile) -> None:
    unknown = header.incompatible & ~KNOWN_INCOMPAT
    if unknown:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("it uses qcow2 features this program does not know ({features}), "
                               "which change how its data must be read"),
                    features=_feature_list(header, unknown)))
    if header.crypt_method:
        kind = {1: "AES", 2: "LUKS"}.get(header.crypt_method, f"method {header.crypt_method}")
        raise EncryptedImageError(
            message(QT_TR_NOOP("{name} is a qcow2 image encrypted with {kind}: Azure cannot read "
                               "an encrypted disk image. Decrypt it where its key is known "
                               "('qemu-img convert --object secret,id=sec0,file=KEYFILE "
                               "--image-opts "
                               "driver=qcow2,encrypt.key-secret=sec0,file.filename={name} -O raw "
                               "disk.raw') and upload that, or upload an unencrypted disk and "
                               "use Azure Disk Encryption."),
                    name=file.path.name, kind=kind), path=file.path, format_name="qcow2",
            format_label=Text(QT_TR_NOOP("encrypted QCOW2")), command=None)
    if header.incompatible & INCOMPAT_DATA_FILE:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("it keeps its data in an external data file '{name}' (qcow2 "
                               "'data_file'), not in the image itself"),
                    name=header.data_file) if header.data_file else
            message(QT_TR_NOOP("it keeps its data in an external data file (qcow2 'data_file'), "
                               "not in the image itself")))
    if header.compression_type not in COMPRESSION_NAMES:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("its compressed clusters use compression type {compression_type}, "
                               "which is neither deflate (0) nor zstd (1)"),
                    compression_type=header.compression_type))
    if (header.compression_type != COMPRESSION_ZLIB) != bool(
            header.incompatible & INCOMPAT_COMPRESSION):
        raise CorruptHeaderError(message(QT_TR_NOOP("the compression type and its feature bit "
                                                    "disagree")))
    if header.extended_l2 and header.cluster_bits < MIN_EXTENDED_L2_CLUSTER_BITS:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("extended L2 entries need clusters of at least 16 KiB, not "
                               "{cluster_size:,} bytes"),
                    cluster_size=header.cluster_size))


def _check_sizes(header: Qcow2Header, file: SourceFile) -> None:
    if header.size > MAX_VIRTUAL_SIZE:
        raise ImplausibleSizeError(header.size)
    cluster_size = header.cluster_size
    entry_bytes = 16 if header.extended_l2 else 8
    covered_by_l2 = (cluster_size // entry_bytes) * cluster_size
    needed = -(-header.size // covered_by_l2)
    if header.l1_size * 8 > MAX_L1_BYTES:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the L1 table claims {l1_size:,} entries, more than qemu allows "
                               "(32 MiB)"),
                    l1_size=header.l1_size))
    if header.l1_size < needed:
        raise CorruptHeaderError(
            message(QT_TR_NOOP("the L1 table has {l1_size:,} entries, but the {size:,}-byte disk "
                               "needs {needed:,}"),
                    l1_size=header.l1_size, size=header.size, needed=needed))
    if header.l1_size:
        if header.l1_offset % cluster_size or header.l1_offset < cluster_size:
            raise CorruptHeaderError(
                message(QT_TR_NOOP("the L1 table is placed at byte {l1_offset:,}, which is not a "
                                   "cluster boundary after the header"),
                        l1_offset=header.l1_offset))
        end = header.l1_offset + 8 * header.l1_size
        if end > file.size:
            raise _truncated(message(QT_TR_NOOP("L1 table")), end, file)


def snapshot_names(file: SourceFile, header: Qcow2Header) -> list[str]:
    """The first few internal snapshots' names, for the details; [] when the table is damaged.

    Only names are read (each entry's fixed part and its strings), never the snapshots' L1 tables
    or VM state: the active state is what gets uploaded.
    """
    names: list[str] = []
    offset = header.snapshots_offset
    for _ in range(min(header.nb_snapshots, MAX_SNAPSHOT_NAMES)):
        if offset + _SNAPSHOT.size > file.size:
            break
        (_l1_offset, _l1_size, id_size, name_size, _date, _nsec, _clock, _vm_state,
         extra_size) = _SNAPSHOT.unpack(file.read(offset, _SNAPSHOT.size))
        strings_at = offset + _SNAPSHOT.size + extra_size
        if strings_at + id_size + name_size > file.size or extra_size > 1 << 16:
            break
        text = file.read(strings_at, id_size + name_size)
        names.append(text[id_size:].decode("utf-8", "replace") or text[:id_size].decode(
            "utf-8", "replace"))
        offset = strings_at + id_size + name_size
        offset = -(-offset // 8) * 8
    return names


class BackingFileNotFoundError(ParentNotFoundError):
    """A qcow2 image's backing file is not where the image names it (its parent is missing)."""

    def __init__(self, child: Path, backing_name: str, searched: list[Path]) -> None:
        places = ", ".join(str(p) for p in searched)
        DiskImageError.__init__(
            self,
            message(QT_TR_NOOP("{name} is a qcow2 image on top of the backing file "
                               "'{backing_name}', which was not found (looked at: {places}). Put "
                               "the backing file where the image names it (a relative name is "
                               "taken from the image's folder), or merge the chain into one "
                               "image first: 'qemu-img convert -O qcow2 {name} merged.qcow2'."),
                    name=child.name, backing_name=backing_name, places=places))
        self.child = child
        self.parent_name = Text(backing_name)
        self.searched = searched


class CorruptCompressedClusterError(DiskImageError):
    """A compressed cluster's data does not decompress to exactly one cluster."""

    def __init__(self, offset: int, reason: Message | str) -> None:
        super().__init__(
            message(QT_TR_NOOP("The compressed data at byte {offset:,} of the image is damaged "
                               "({reason}), so that part of the disk cannot be read. Run "
                               "'qemu-img check' on the image, or export the disk again."),
                    offset=offset, reason=reason))
        self.offset = offset

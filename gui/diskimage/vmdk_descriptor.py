"""The VMDK descriptor: the small text that says what kind of disk it is and which files hold it.

A descriptor is its own file (``disk.vmdk`` beside ``disk-flat.vmdk`` or ``disk-s001.vmdk``…) or is
embedded in a sparse extent. Its lines are ``key = "value"`` pairs and extent lines
``ACCESS SECTORS TYPE "FILE" [OFFSET]``; everything else (comments, the disk database) is kept
only as far as the keys we need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gui.diskimage.errors import DiskImageError
from gui.i18n import QT_TR_NOOP, Message, message

# Real descriptors are a few hundred bytes; a twoGbMaxExtent one for a 64 TiB disk is ~2 MiB of
# extent lines at most. Anything longer is not a descriptor, and is never read whole.
MAX_DESCRIPTOR_BYTES = 4 << 20
# Enough extents for a 64 TiB disk split in 2 GiB pieces; each one is an open file.
MAX_EXTENTS = 32768
NO_PARENT = "ffffffff"

_EXTENT = re.compile(
    r'^(RW|RDONLY|NOACCESS)\s+(\d{1,20})\s+([A-Za-z]+)(?:\s+"([^"]*)"(?:\s+(\d{1,20}))?)?\s*$')
_KEY_VALUE = re.compile(r'^([A-Za-z][\w.]*)\s*=\s*(.*?)\s*$')
_ACCESS_WORDS = ("RW", "RDONLY", "NOACCESS")


class VmdkDescriptorError(DiskImageError):
    """The VMDK descriptor is not one: too large, not text, an extent line that does not parse,
    or extents that do not add up to the disk."""

    def __init__(self, detail: Message | str) -> None:
        super().__init__(
            message(QT_TR_NOOP("The VMDK descriptor is damaged: {detail}. Open the descriptor "
                               "(the small .vmdk text file) in a text editor and compare it with "
                               "the disk's files, or export the disk again from VMware."),
                    detail=detail))


@dataclass(frozen=True)
class ExtentLine:
    access: str  # RW, RDONLY or NOACCESS
    sectors: int
    kind: str  # SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE, SESPARSE, VMFSRDM, VMFSRAW…
    file_name: str | None  # None for ZERO extents
    offset: int  # sectors into the file (FLAT/VMFS extents), 0 otherwise


@dataclass(frozen=True)
class Descriptor:
    create_type: str
    extents: tuple[ExtentLine, ...]
    values: dict[str, str] = field(default_factory=dict)

    @property
    def cid(self) -> str | None:
        value = self.values.get("cid")
        return value.lower() if value else None

    @property
    def parent_cid(self) -> str | None:
        """The parent's content id, None when the disk has no parent."""
        value = self.values.get("parentcid", NO_PARENT).lower()
        return None if value == NO_PARENT else value

    @property
    def parent_hint(self) -> str | None:
        return self.values.get("parentfilenamehint") or None

    @property
    def sectors(self) -> int:
        return sum(extent.sectors for extent in self.extents)

    @property
    def encrypted(self) -> bool:
        # VMware's VM encryption keeps the wrapped key in the descriptor ("encryption.keySafe").
        return any(key.startswith(("encryption.", "ddb.encryption")) for key in self.values)


def decode_descriptor(data: bytes) -> str:
    """The text of a descriptor (an embedded one is padded with NULs)."""
    data = data.split(b"\0", 1)[0]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Older VMware products wrote the host's code page (encoding="windows-1252" etc.); only
        # file names can hold such bytes, and Latin-1 never fails.
        return data.decode("latin-1")


def looks_like_descriptor(data: bytes) -> bool:
    """Whether a file's bytes can be a text descriptor: text, then nothing but NUL padding (qemu
    pads a descriptor file to a whole sector), starting with the header or holding a type."""
    text, _nul, rest = data.partition(b"\0")
    if rest.count(0) != len(rest):
        return False
    head = text[:4096]
    return head.lstrip().startswith(b"# Disk DescriptorFile") or b"createType" in head


def parse_descriptor(text: str) -> Descriptor:
    values: dict[str, str] = {}
    extents: list[ExtentLine] = []
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.split(None, 1)[0] in _ACCESS_WORDS:
            match = _EXTENT.match(line)
            if match is None:
                raise VmdkDescriptorError(message(QT_TR_NOOP("line {number} is not a valid "
                                                             "extent line: {line!r}"),
                                                  number=number, line=_shorten(line)))
            access, sectors, kind, name, offset = match.groups()
            kind = kind.upper()
            if kind != "ZERO" and not name:
                raise VmdkDescriptorError(message(QT_TR_NOOP("the {kind} extent on line {number} "
                                                             "names no file"),
                                                  kind=kind, number=number))
            extents.append(ExtentLine(access, int(sectors), kind, name if kind != "ZERO" else None,
                                      int(offset or 0)))
            if len(extents) > MAX_EXTENTS:
                raise VmdkDescriptorError(message(QT_TR_NOOP("it lists more than {limit:,} "
                                                             "extents"),
                                                  limit=MAX_EXTENTS))
            continue
        pair = _KEY_VALUE.match(line)
        if pair is not None:
            value = pair.group(2)
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            values[pair.group(1).lower()] = value
        # Other lines (tools add their own) carry nothing a reader needs.
    create_type = values.get("createtype")
    if not create_type:
        raise VmdkDescriptorError(message(QT_TR_NOOP("it has no createType line")))
    if not extents:
        raise VmdkDescriptorError(message(QT_TR_NOOP("it lists no extents (the files that hold "
                                                     "the data)")))
    for key in ("cid", "parentcid"):
        value = values.get(key)
        if value is not None and not re.fullmatch(r"[0-9A-Fa-f]{1,8}", value):
            raise VmdkDescriptorError(message(QT_TR_NOOP("its {key} {text!r} is not a "
                                                         "hexadecimal id"),
                                              key=key, text=_shorten(value)))
    return Descriptor(create_type, tuple(extents), values)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""OVA appliances: a tar holding an OVF descriptor, its disks, and maybe a manifest.

Nothing is extracted. The tar's headers are walked where they lie (ustar, pax and GNU long
names; a header is 512 bytes, so the walk reads a few KiB however large the disks are), the OVF
descriptor is parsed, and each disk is read through a :class:`~gui.diskimage.window.FileWindow`
onto its member. The OVF (DMTF DSP0243) says which files are disks and in what order: disks are
ordered by the virtual hardware that attaches them (controller, then unit on it), the first being
the OS disk and the others data disks at LUN 0, 1, …

The descriptor is XML from whoever made the file. A document type declaration is refused outright
(no entities, so no entity expansion and no external fetches), and sizes are bounded before
anything is read.
"""

from __future__ import annotations

import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from gui.diskimage.detect import Kind, detect, quote, refusal
from gui.diskimage.errors import (
    ArchiveFileError,
    DiskImageError,
    EmptyImageError,
    TruncatedImageError,
    UnsupportedImageError,
)
from gui.diskimage.footer import vhd_timestamp
from gui.diskimage.layout import FlatLayout, OpenedLayout
from gui.diskimage.model import Finding, ImageFormat, Level
from gui.diskimage.pio import PositionalFile, SourceFile
from gui.diskimage.rules import human_size
from gui.diskimage.vdi import has_vdi_signature, open_vdi
from gui.diskimage.window import FileWindow
from gui.i18n import QT_TR_NOOP, Message, Text, message, plural, tr

BLOCK = 512
MAX_MEMBERS = 10_000  # an appliance holds a handful of files; more is not an OVA
MAX_EXTENDED_HEADER = 1 << 20  # pax records and GNU long names: text, never this large
MAX_DESCRIPTOR = 4 << 20  # an OVF descriptor is a few KiB; even large ones stay under 1 MiB
MAX_MANIFEST = 1 << 20
MAX_DISKS = 256
HASH_CHUNK = 1 << 20

# OVF's hardware resource types (CIM_ResourceAllocationSettingData.ResourceType).
RESOURCE_DISK_DRIVE = "17"
_DIGESTS = {"SHA1": "sha1", "SHA256": "sha256", "SHA512": "sha512"}
_MANIFEST_LINE = re.compile(r"^\s*(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9A-Fa-f]+)\s*$")
_UNITS = re.compile(r"^\s*byte\s*(?:\*\s*(\d+)\s*(?:\^\s*(\d+))?)?\s*$", re.I)
_NAMED_UNITS = {"kilobytes": 1 << 10, "megabytes": 1 << 20, "gigabytes": 1 << 30,
                "terabytes": 1 << 40}
_UNSAFE_XML = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.I)


# ---- errors ----------------------------------------------------------------------------------

class CorruptArchiveError(DiskImageError):
    """The OVA's tar structure is damaged (a bad header, a member running past the end)."""

    def __init__(self, path: Path, detail: Message | str) -> None:
        super().__init__(
            message(QT_TR_NOOP("{name} is not a readable OVA: {detail}. The file is damaged or "
                               "incomplete; download or export the appliance again."),
                    name=path.name, detail=detail))
        self.path = path


class OvfDescriptorError(DiskImageError):
    """The OVF descriptor is missing, is not XML, is unsafe XML, or lacks what names the disks."""

    def __init__(self, path: Path, detail: Message | str) -> None:
        super().__init__(
            message(QT_TR_NOOP("The OVF descriptor in {name} cannot be used: {detail}. Export "
                               "the appliance again from its hypervisor, or extract its disks "
                               "('tar -xf {name}') and upload them one by one."),
                    name=path.name, detail=detail))
        self.path = path


class OvaMemberMissingError(DiskImageError):
    """The OVF names a disk file that the archive does not hold."""

    def __init__(self, path: Path, href: str, disk_id: str, present: list[str]) -> None:
        listed = ", ".join(present[:10]) + (", …" if len(present) > 10 else "")
        super().__init__(
            message(QT_TR_NOOP("{name} names the disk file '{href}' (disk {disk_id}), but the "
                               "archive holds no file of that name (it holds: {listed}). The "
                               "appliance is incomplete; export it again with all of its disks."),
                    name=path.name, href=href, disk_id=disk_id,
                    listed=listed or message(QT_TR_NOOP("nothing"))))
        self.path = path
        self.href = href


# ---- the tar ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class TarMember:
    name: str
    offset: int  # where the member's data starts in the archive
    size: int
    sparse: bool = False  # a GNU sparse member: its bytes are not stored as they read


def _number(field_bytes: bytes) -> int | None:
    """A tar numeric field: octal text, or GNU's base-256 (high bit of the first byte set)."""
    if field_bytes and field_bytes[0] & 0x80:
        if field_bytes[0] == 0xFF:
            return None  # negative: no size or offset can be
        return int.from_bytes(bytes([field_bytes[0] & 0x7F]) + field_bytes[1:], "big")
    text = field_bytes.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    if not all(0x30 <= c <= 0x37 for c in text):
        return None
    return int(text, 8)


def _checksum_ok(header: bytes) -> bool:
    stored = _number(header[148:156])
    blanked = header[:148] + b" " * 8 + header[156:]
    unsigned = sum(blanked)
    signed = sum(b - 256 if b > 127 else b for b in blanked)  # some old tars summed signed
    return stored is not None and stored in (unsigned, signed)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _pax_records(data: bytes) -> dict[str, str]:
    """The ``"<length> <key>=<value>\\n"`` records of a pax extended header."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0 or not data[pos:space].isdigit():
            break
        length = int(data[pos:space])
        end = pos + length
        if length <= 0 or end > len(data):
            break
        key, sep, value = data[space + 1 : end].rstrip(b"\n").partition(b"=")
        if sep:
            records[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        pos = end
    return records


def tar_members(file: SourceFile) -> list[TarMember]:
    """The archive's regular files in tar order, from their headers only (no data is read).

    Raises :class:`CorruptArchiveError` on a damaged header and :class:`TruncatedImageError`
    when a member's data runs past the end of the file.
    """
    members: list[TarMember] = []
    pos = 0
    long_name: str | None = None
    pax: dict[str, str] = {}
    while pos + BLOCK <= file.size:
        header = file.read(pos, BLOCK)
        if header.count(0) == BLOCK:
            break  # the end-of-archive marker (two zero blocks; one is enough to stop)
        if not _checksum_ok(header):
            raise CorruptArchiveError(file.path, message(QT_TR_NOOP("the tar header at byte "
                                                                    "{pos:,} is damaged (its "
                                                                    "checksum does not match)"),
                                                         pos=pos))
        size = _number(header[124:136])
        if size is None:
            raise CorruptArchiveError(file.path, message(QT_TR_NOOP("the tar header at byte "
                                                                    "{pos:,} has an invalid size "
                                                                    "field"),
                                                         pos=pos))
        kind = header[156:157]
        data_at = pos + BLOCK
        pos = data_at + -(-size // BLOCK) * BLOCK
        if kind in (b"x", b"g", b"L", b"K"):  # extended headers: data is text for the next one
            if size > MAX_EXTENDED_HEADER:
                raise CorruptArchiveError(
                    file.path, message(QT_TR_NOOP("an extended tar header at byte {at:,} "
                                                  "claims {size:,} bytes"),
                                       at=data_at - BLOCK, size=size))
            if data_at + size > file.size:
                raise TruncatedImageError(message(QT_TR_NOOP("tar extended header")),
                                          data_at + size, file.size)
            data = file.read(data_at, size)
            if kind == b"x":
                pax = _pax_records(data)
            elif kind == b"L":
                long_name = _text(data)
            continue
        name = _text(header[:100])
        if header[257:262] == b"ustar" and header[263:265] == b"00" and header[345]:
            name = f"{_text(header[345:500])}/{name}"  # POSIX ustar: prefix holds the dirs
        name = pax.get("path", long_name or name)
        if "size" in pax:
            size = int(pax["size"]) if pax["size"].isdigit() else -1
            if size < 0:
                raise CorruptArchiveError(file.path, message(QT_TR_NOOP("the pax size of "
                                                                        "'{name}' is invalid"),
                                                             name=name))
            pos = data_at + -(-size // BLOCK) * BLOCK
        sparse = kind == b"S" or any(k.startswith("GNU.sparse") for k in pax)
        long_name, pax = None, {}
        if kind in (b"0", b"\0", b"7", b"S"):  # regular files (7: contiguous, S: GNU sparse)
            if data_at + size > file.size:
                raise TruncatedImageError(message(QT_TR_NOOP("OVA member '{name}'"),
                                                  name=name), data_at + size, file.size)
            members.append(TarMember(_normal_name(name), data_at, size, sparse))
            if len(members) > MAX_MEMBERS:
                raise CorruptArchiveError(file.path, message(QT_TR_NOOP("it holds more than "
                                                                        "{limit:,} files"),
                                                             limit=MAX_MEMBERS))
    return members


def _normal_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


# ---- the descriptor --------------------------------------------------------------------------

def _local(tag: str) -> str:
    """An element's or attribute's name without its namespace: OVF 1.x and 2.x alike."""
    return tag.rsplit("}", 1)[-1]


def _attr(element: ET.Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == name)


def _child_text(element: ET.Element, name: str) -> str | None:
    for child in _children(element, name):
        return (child.text or "").strip()
    return None


def _decode_descriptor(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        codec = "utf-8-sig"
    else:
        declared = re.match(rb"<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9_.-]+)[\"']", data)
        codec = (declared.group(1).decode("ascii").lower() if declared else "utf-8")
        if codec not in ("utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1",
                         "windows-1252"):
            raise OvfDescriptorError(path, message(QT_TR_NOOP("its text encoding '{codec}' is "
                                                              "not supported"),
                                                   codec=codec))
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        raise OvfDescriptorError(path, message(QT_TR_NOOP("it is not valid {codec} text"),
                                               codec=codec)) from exc


def parse_descriptor(path: Path, data: bytes) -> ET.Element:
    """The OVF envelope, parsed only when it declares no document type (hence no entities)."""
    text = _decode_descriptor(path, data)
    if _UNSAFE_XML.search(text):
        raise OvfDescriptorError(
            path, message(QT_TR_NOOP("it declares a document type or entities, which an OVF "
                                     "never needs and which could make a parser expand or fetch "
                                     "content; it was not parsed")))
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise OvfDescriptorError(path, message(QT_TR_NOOP("it is not well-formed XML ({exc})"),
                                               exc=exc)) from exc
    if _local(root.tag) != "Envelope":
        raise OvfDescriptorError(path, message(QT_TR_NOOP("its root element is '{root}', not "
                                                          "the OVF 'Envelope'"),
                                               root=_local(root.tag)))
    return root


def _capacity(disk: ET.Element) -> int | None:
    """The declared capacity in bytes, or None when it is a property reference or unreadable."""
    raw = (_attr(disk, "capacity") or "").strip()
    if not raw.isdigit():
        return None
    units = (_attr(disk, "capacityAllocationUnits") or "byte").strip()
    named = _NAMED_UNITS.get(units.lower())
    if named is not None:
        return int(raw) * named
    match = _UNITS.match(units)
    if match is None:
        return None
    base, power = match.group(1), match.group(2)
    if base is None:
        factor = 1
    elif len(base) > 6 or (power is not None and len(power) > 3):
        return None  # "byte * 2^99999": not a disk size, and not worth computing
    else:
        factor = int(base) ** int(power) if power is not None else int(base)
    return int(raw) * factor


# ---- the appliance ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ApplianceDisk:
    """One disk of an appliance, in the order the OVF attaches it (0 is the OS disk)."""

    index: int
    disk_id: str  # ovf:diskId
    href: str  # the file's name in the archive
    member: TarMember
    capacity: int | None  # as the OVF declares it, in bytes
    format_uri: str
    attached_to: str  # the controller and unit, for people ("SCSI Controller 0, unit 1")
    compression: str | None = None
    chunked: bool = False

    @property
    def is_os_disk(self) -> bool:
        return self.index == 0

    @property
    def lun(self) -> int | None:
        """The data disk's LUN (0, 1, … in attachment order); None for the OS disk."""
        return None if self.index == 0 else self.index - 1

    @property
    def role(self) -> str:
        if self.index == 0:
            return Text(QT_TR_NOOP("OS disk"))
        return Text(message(QT_TR_NOOP("data disk at LUN {lun}"), lun=self.lun))


@dataclass
class Appliance:
    """An OVA read in place: its members, the disks its OVF lists, and what was found."""

    path: Path
    file: SourceFile
    descriptor: str  # the .ovf member's name
    name: str  # the virtual system's name (or id)
    disks: list[ApplianceDisk]
    members: list[TarMember]
    manifest: dict[str, tuple[str, str]]  # member name -> (algorithm, hex digest)
    findings: list[Finding] = field(default_factory=list)
    _owned: PositionalFile | None = None

    def member(self, name: str) -> TarMember | None:
        return _find_member(self.members, name)

    def verify_manifest(self) -> list[Finding]:
        """Check every digest the manifest lists against the member's bytes.

        This reads every listed file whole (the disks too), so it runs only when asked, never
        at open. Returns one finding per mismatch, or one INFO finding when all match.
        """
        if not self.manifest:
            return [Finding(Level.INFO, "ova-no-manifest",
                            message(QT_TR_NOOP("The appliance has no manifest (.mf), so its "
                                               "files cannot be checked against the digests its "
                                               "maker recorded.")))]
        findings: list[Finding] = []
        for name, (algorithm, expected) in sorted(self.manifest.items()):
            member = self.member(name)
            if member is None:
                continue  # reported at open (ova-manifest-missing-file)
            actual = _digest(self.file, member, algorithm)
            if actual != expected.lower():
                findings.append(Finding(
                    Level.ERROR, "ova-manifest-mismatch",
                    message(QT_TR_NOOP("The {algorithm} digest of '{name}' does not match the "
                                       "appliance's manifest (expected {expected}, computed "
                                       "{actual}): the file was changed or damaged after the "
                                       "appliance was exported. Download or export it again."),
                            algorithm=algorithm, name=name, expected=expected.lower(),
                            actual=actual)))
        if not findings:
            findings.append(Finding(
                Level.INFO, "ova-manifest-ok",
                message(QT_TR_NOOP("All {count} digests in the manifest match the appliance's "
                                   "files."),
                        count=len(self.manifest))))
        return findings

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()

    def __enter__(self) -> Appliance:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _digest(file: SourceFile, member: TarMember, algorithm: str) -> str:
    hasher = hashlib.new(_DIGESTS[algorithm])
    buf = bytearray(HASH_CHUNK)
    view = memoryview(buf)
    pos = 0
    while pos < member.size:
        n = min(HASH_CHUNK, member.size - pos)
        file.readinto(member.offset + pos, view[:n])
        hasher.update(view[:n])
        pos += n
    return hasher.hexdigest()


def _find_member(members: list[TarMember], name: str) -> TarMember | None:
    wanted = _normal_name(name)
    for member in members:
        if member.name == wanted:
            return member
    return None


def read_appliance(path: str | Path) -> Appliance:
    """Open the OVA at ``path`` and read its OVF; close the result when done."""
    file = PositionalFile(Path(path))
    try:
        appliance = appliance_from(file)
    except BaseException:
        file.close()
        raise
    appliance._owned = file
    return appliance


def appliance_from(file: PositionalFile) -> Appliance:
    """Read an OVA from an open file the caller keeps (and closes)."""
    path = file.path
    head = file.read(0, BLOCK)
    if len(head) < BLOCK or not _checksum_ok(head):
        _refuse_non_tar(file)
    members = tar_members(file)
    descriptors = [m for m in members if m.name.lower().endswith(".ovf")]
    if not descriptors:
        raise OvfDescriptorError(path, message(QT_TR_NOOP("the archive holds no .ovf file, so it "
                                                          "is a tar but not an OVA appliance")))
    findings: list[Finding] = []
    descriptor = descriptors[0]
    if members[0] is not descriptor:
        findings.append(Finding(
            Level.INFO, "ova-descriptor-not-first",
            message(QT_TR_NOOP("The OVF descriptor '{name}' is not the archive's first file, as "
                               "the OVF standard asks; it was found anyway."),
                    name=descriptor.name)))
    if descriptor.size > MAX_DESCRIPTOR:
        raise OvfDescriptorError(path, message(QT_TR_NOOP("'{name}' is {size:,} bytes, far more "
                                                          "than any OVF descriptor"),
                                               name=descriptor.name, size=descriptor.size))
    root = parse_descriptor(path, file.read(descriptor.offset, descriptor.size))
    manifest = _read_manifest(file, members, descriptor, findings)
    name, disks = _disks(path, root, members, findings)
    for listed in manifest:
        if _find_member(members, listed) is None:
            findings.append(Finding(
                Level.ERROR, "ova-manifest-missing-file",
                message(QT_TR_NOOP("The manifest lists '{listed}', but the archive does not hold "
                                   "it: the appliance is incomplete. Export it again."),
                        listed=listed)))
    return Appliance(path=path, file=file, descriptor=descriptor.name, name=name, disks=disks,
                     members=members, manifest=manifest, findings=findings)


def _refuse_non_tar(file: PositionalFile) -> None:
    """Raise the error for a file that does not start with a tar header."""
    path = file.path
    found = detect(file)
    if found is not None and found.kind is Kind.ARCHIVE and found.name in (
            "gzip", "xz", "bzip2", "zstd", "lz4"):
        target = path.with_name(f"{path.stem}-unpacked.ova")
        command = f"{found.name} -dc {quote(path)} > {quote(target)}"
        raise ArchiveFileError(
            message(QT_TR_NOOP("{name} is a {label}-compressed appliance: the disks inside a "
                               "compressed tar cannot be read in place. Unpack it once "
                               "({command}) and choose {unpacked}."),
                    name=path.name, label=found.label, command=command, unpacked=target.name),
            command=command, path=path, format_name=found.name, format_label=found.label)
    if found is not None:
        raise refusal(path, found)
    raise CorruptArchiveError(path, message(QT_TR_NOOP("it does not start with a tar header")))


def _read_manifest(file: SourceFile, members: list[TarMember], descriptor: TarMember,
                   findings: list[Finding]) -> dict[str, tuple[str, str]]:
    stem = descriptor.name.rsplit(".", 1)[0]
    manifests = [m for m in members if m.name.lower().endswith(".mf")]
    chosen = next((m for m in manifests if m.name.rsplit(".", 1)[0] == stem),
                  manifests[0] if manifests else None)
    if chosen is None:
        return {}
    if chosen.size > MAX_MANIFEST:
        findings.append(Finding(
            Level.WARNING, "ova-manifest-unreadable",
            message(QT_TR_NOOP("The manifest '{name}' is {size:,} bytes, far too large for a "
                               "list of digests; it was not read."),
                    name=chosen.name, size=chosen.size)))
        return {}
    entries: dict[str, tuple[str, str]] = {}
    bad = 0
    for line in file.read(chosen.offset, chosen.size).decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        match = _MANIFEST_LINE.match(line)
        if match is None:
            bad += 1
            continue
        entries[_normal_name(match.group(2).strip())] = (match.group(1), match.group(3))
    if bad:
        findings.append(Finding(
            Level.WARNING, "ova-manifest-unreadable",
            plural(tr("%n line of the manifest '{name}' is not 'SHA256(file)= digest' lines "
                      "and were skipped.", "", bad),
                   "%n lines of the manifest '{name}' are not 'SHA256(file)= digest' lines and "
                   "were skipped.",
                   bad, name=chosen.name)))
    return entries


@dataclass
class _Attachment:
    disk_ref: str  # "disk:<diskId>" or "file:<fileId>"
    controller_rank: int
    controller: str
    address: int | None
    order: int  # the item's place in the hardware section


def _disks(path: Path, root: ET.Element, members: list[TarMember],
           findings: list[Finding]) -> tuple[str, list[ApplianceDisk]]:
    """The appliance's name and its disks in attachment order."""
    files: dict[str, ET.Element] = {}
    for references in _children(root, "References"):
        for element in _children(references, "File"):
            file_id = _attr(element, "id")
            if file_id:
                files[file_id] = element
    disk_elements: dict[str, ET.Element] = {}
    for section in _children(root, "DiskSection"):
        for element in _children(section, "Disk"):
            disk_id = _attr(element, "diskId")
            if disk_id:
                disk_elements[disk_id] = element
    systems = [e for e in root.iter() if _local(e.tag) == "VirtualSystem"]
    if len(systems) > 1:
        findings.append(Finding(
            Level.WARNING, "ova-several-systems",
            message(QT_TR_NOOP("The appliance describes {count} virtual machines; the disks are "
                               "ordered by the first one's hardware, and the others' disks "
                               "follow as data disks. Upload each machine's disks separately if "
                               "they are different VMs."),
                    count=len(systems))))
    name = "appliance"
    attachments: list[_Attachment] = []
    if systems:
        system = systems[0]
        name = (_child_text(system, "Name") or _attr(system, "id") or name)[:200]
        attachments = _attachments(system)
    ordered: list[tuple[str, str]] = []  # (disk id or file id, attached to)
    seen: set[str] = set()
    for item in sorted(attachments, key=lambda a: (a.controller_rank, a.address is None,
                                                   a.address or 0, a.order)):
        if item.disk_ref in seen:
            continue
        seen.add(item.disk_ref)
        ordered.append((item.disk_ref, item.controller if item.address is None else Text(message(
            QT_TR_NOOP("{controller}, unit {unit}"), controller=item.controller,
            unit=item.address))))
    for disk_id in disk_elements:
        if f"disk:{disk_id}" not in seen:
            ordered.append((f"disk:{disk_id}",
                            Text(QT_TR_NOOP("not attached in the OVF's hardware"))))
    if len(ordered) > MAX_DISKS:
        raise OvfDescriptorError(path, message(QT_TR_NOOP("it lists {count:,} disks"),
                                               count=len(ordered)))
    disks: list[ApplianceDisk] = []
    for ref, attached in ordered:
        kind, _, ident = ref.partition(":")
        disk_element = disk_elements.get(ident) if kind == "disk" else None
        if kind == "disk" and disk_element is None:
            findings.append(Finding(
                Level.WARNING, "ova-unknown-disk",
                message(QT_TR_NOOP("The hardware section attaches disk '{ident}', which the "
                                   "DiskSection does not describe; it was skipped."),
                        ident=ident)))
            continue
        file_id = _attr(disk_element, "fileRef") if disk_element is not None else ident
        if not file_id:
            findings.append(Finding(
                Level.WARNING, "ova-empty-disk",
                message(QT_TR_NOOP("Disk '{ident}' has no file (an empty disk the hypervisor "
                                   "creates on import); it is not uploaded. Create an empty data "
                                   "disk in Azure instead."),
                        ident=ident)))
            continue
        file_element = files.get(file_id)
        if file_element is None:
            raise OvfDescriptorError(path, message(QT_TR_NOOP("disk '{ident}' refers to file "
                                                              "'{file_id}', which the References "
                                                              "section does not list"),
                                                   ident=ident, file_id=file_id))
        href = _attr(file_element, "href") or ""
        member = _find_member(members, href)
        if member is None:
            raise OvaMemberMissingError(path, href, ident, [m.name for m in members])
        declared = _attr(file_element, "size")
        if declared is not None and declared.strip().isdigit() and int(declared) != member.size:
            findings.append(Finding(
                Level.ERROR, "ova-size-mismatch",
                message(QT_TR_NOOP("The OVF says '{href}' is {declared:,} bytes, but the archive "
                                   "holds {size:,}: the file was changed or cut short. Export "
                                   "the appliance again."),
                        href=href, declared=int(declared), size=member.size)))
        disks.append(ApplianceDisk(
            index=len(disks), disk_id=ident, href=href, member=member,
            capacity=_capacity(disk_element) if disk_element is not None else None,
            format_uri=(_attr(disk_element, "format") or "") if disk_element is not None else "",
            attached_to=attached, compression=_attr(file_element, "compression"),
            chunked=_attr(file_element, "chunkSize") is not None))
    if not disks:
        raise OvfDescriptorError(path, message(QT_TR_NOOP("it lists no disk with a file in the "
                                                          "archive")))
    return name, disks


def _attachments(system: ET.Element) -> list[_Attachment]:
    """Disk drives of the system's virtual hardware, with their controller's place."""
    items: list[ET.Element] = []
    for section in _children(system, "VirtualHardwareSection"):
        items.extend(e for e in section if _local(e.tag) in ("Item", "StorageItem"))
    by_instance: dict[str, tuple[int, ET.Element]] = {}
    for order, item in enumerate(items):
        instance = _child_text(item, "InstanceID")
        if instance:
            by_instance.setdefault(instance, (order, item))
    found: list[_Attachment] = []
    for order, item in enumerate(items):
        host = _child_text(item, "HostResource")
        if _child_text(item, "ResourceType") != RESOURCE_DISK_DRIVE or not host:
            continue
        host = host.removeprefix("ovf:")
        if host.startswith("/disk/"):
            ref = f"disk:{host[len('/disk/'):]}"
        elif host.startswith("/file/"):
            ref = f"file:{host[len('/file/'):]}"
        else:
            continue
        parent = _child_text(item, "Parent") or ""
        rank = len(items)
        controller: str = Text(QT_TR_NOOP("no controller"))
        if parent in by_instance:
            rank, controller_item = by_instance[parent]
            named = (_child_text(controller_item, "ElementName")
                     or _child_text(controller_item, "Caption"))
            controller = named[:100] if named else Text(message(
                QT_TR_NOOP("controller {parent}"), parent=parent[:89]))
        address_text = _child_text(item, "AddressOnParent") or ""
        address = int(address_text) if address_text.isdigit() and len(address_text) < 6 else None
        found.append(_Attachment(ref, rank, controller, address, order))
    return found


# ---- one disk ----------------------------------------------------------------------------------

def open_ova_disk(appliance: Appliance, index: int) -> OpenedLayout:
    """The layout of the appliance's disk ``index`` (0 is the OS disk), read in place.

    The disk's container is recognised from its bytes: a VMDK (what every hypervisor exports),
    a VDI, or a raw image. A VHD, VHDX or QCOW2 inside an OVA is refused with the way to extract
    it; the upload of an extracted file reads it as usual.
    """
    disk = appliance.disks[index]
    path = appliance.path
    if disk.compression and disk.compression.lower() != "identity":
        raise UnsupportedImageError(
            message(QT_TR_NOOP("the disk file '{href}' inside {name} is "
                               "{compression}-compressed; extract it ('tar -xf {name} {href}') "
                               "and unpack it first"),
                    href=disk.href, name=path.name, compression=disk.compression))
    if disk.chunked:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("the disk file '{href}' inside {name} is split into chunks; "
                               "extract the appliance ('tar -xf {name}') and join the chunks "
                               "first"),
                    href=disk.href, name=path.name))
    if disk.member.sparse:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("the disk file '{href}' is stored as a GNU sparse member, which "
                               "cannot be read in place; extract it ('tar -xf {name} {href}')"),
                    href=disk.href, name=path.name))
    window = FileWindow(appliance.file, disk.member.offset, disk.member.size, disk.member.name)
    inner = _open_member(window, disk, path)
    findings = list(appliance.findings)
    findings.extend(inner.findings)
    size = inner.layout.virtual_size
    if disk.capacity is not None and disk.capacity != size:
        findings.append(Finding(
            Level.WARNING, "ova-capacity-mismatch",
            message(QT_TR_NOOP("The OVF declares {declared} for disk '{disk_id}', but its file "
                               "holds a {actual} disk; the file's size is used."),
                    declared=human_size(disk.capacity), disk_id=disk.disk_id,
                    actual=human_size(size))))
    details = [
        (Text(QT_TR_NOOP("Appliance")), Text(message(
            QT_TR_NOOP("{name} ({file}, descriptor {descriptor})"), name=appliance.name,
            file=path.name, descriptor=appliance.descriptor))),
        (Text(QT_TR_NOOP("Disk in appliance")), Text(message(
            QT_TR_NOOP("{number} of {count}: {role}"), number=index + 1,
            count=len(appliance.disks), role=disk.role))),
        (Text(QT_TR_NOOP("Attached to")), disk.attached_to),
        (Text(QT_TR_NOOP("Member")), Text(message(
            QT_TR_NOOP("{name} ({size} at byte {offset:,})"), name=disk.member.name,
            size=human_size(disk.member.size), offset=disk.member.offset))),
        (Text(QT_TR_NOOP("Disk format")), inner.format.label),
        *inner.details,
    ]
    return OpenedLayout(format=ImageFormat.OVA, layout=inner.layout, disk_id=inner.disk_id,
                        timestamp=inner.timestamp, source_footer=inner.source_footer,
                        findings=findings, details=details, other_files=inner.other_files)


def _open_member(window: FileWindow, disk: ApplianceDisk, path: Path) -> OpenedLayout:
    head = window.read(0, BLOCK)
    tail = window.read(window.size - BLOCK, 8) if window.size >= BLOCK else b""
    if head[:4] in (b"KDMV", b"COWD") or head.startswith(b"# Disk DescriptorFile"):
        # Imported here: the VMDK reader is only needed for an appliance's VMDK disks.
        from gui.diskimage.vmdk import open_vmdk_stream

        return open_vmdk_stream(window)
    if has_vdi_signature(window):
        return open_vdi(window)
    for signature, label in ((b"conectix", "VHD"), (b"vhdxfile", "VHDX"),
                             (b"QFI\xfb", "QCOW2")):
        if head.startswith(signature) or (label == "VHD" and tail == signature):
            raise UnsupportedImageError(
                message(QT_TR_NOOP("the disk '{href}' inside {name} is a {label}, which is not "
                                   "read in place from an appliance; extract it ('tar -xf "
                                   "{archive} {href}') and upload the extracted file"),
                        href=disk.href, name=path.name, label=label, archive=quote(path)))
    if window.size == 0:
        raise EmptyImageError(window.path)
    named = disk.format_uri.lower()
    if any(word in named for word in ("vmdk", "vhd", "qcow")):
        raise UnsupportedImageError(
            message(QT_TR_NOOP("the OVF says disk '{href}' is {format_uri}, but its content is "
                               "not that format; the appliance is damaged"),
                    href=disk.href, format_uri=disk.format_uri))
    return OpenedLayout(
        format=ImageFormat.RAW,
        layout=FlatLayout(window, window.size, window.size),
        disk_id=_raw_disk_id(path, disk),
        timestamp=vhd_timestamp(datetime.fromtimestamp(window.mtime_ns / 1e9, tz=UTC)),
        details=[(Text(QT_TR_NOOP("Disk id")), Text(QT_TR_NOOP(
            "derived from the appliance and the member's place in it")))],
    )


def _raw_disk_id(path: Path, disk: ApplianceDisk) -> uuid.UUID:
    """Raw files carry no id: derive a stable one, so a resumed upload finds the same footer."""
    return uuid.uuid5(uuid.NAMESPACE_URL,
                      f"ova:{path.resolve()}:{disk.member.name}:{disk.member.offset}:"
                      f"{disk.member.size}")


__all__ = [
    "Appliance",
    "ApplianceDisk",
    "CorruptArchiveError",
    "OvaMemberMissingError",
    "OvfDescriptorError",
    "TarMember",
    "appliance_from",
    "open_ova_disk",
    "read_appliance",
    "tar_members",
]

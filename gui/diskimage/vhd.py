"""VHD files: find the footer, check it, and open the layout its disk type names."""

from __future__ import annotations

from pathlib import Path

from gui.diskimage.dynamic import DynamicHeader, DynamicVhdLayout, read_header
from gui.diskimage.errors import (
    CorruptFooterError,
    ParentChainError,
    ParentMismatchError,
    ParentNotFoundError,
    UnsupportedImageError,
)
from gui.diskimage.footer import (
    DISK_TYPE_DIFFERENCING,
    DISK_TYPE_DYNAMIC,
    DISK_TYPE_FIXED,
    FOOTER_SIZE,
    VhdFooter,
    looks_like_footer,
    parse_footer,
)
from gui.diskimage.layout import FlatLayout, OpenedLayout
from gui.diskimage.model import Finding, ImageFormat, Level
from gui.diskimage.parents import parent_candidates
from gui.diskimage.pio import PositionalFile
from gui.diskimage.rules import human_size
from gui.i18n import QT_TR_NOOP, Message, Text, message

MAX_CHAIN_DEPTH = 32

_DISK_TYPE_NAMES = {DISK_TYPE_FIXED: "fixed", DISK_TYPE_DYNAMIC: "dynamic",
                    DISK_TYPE_DIFFERENCING: "differencing"}


def has_vhd_footer(file: PositionalFile) -> bool:
    if file.size < FOOTER_SIZE:
        return looks_like_footer(file.read(0, 8))
    return looks_like_footer(file.read(file.size - FOOTER_SIZE, 8)) or looks_like_footer(
        file.read(0, 8))


def read_footer(file: PositionalFile) -> tuple[VhdFooter, list[Finding]]:
    """The footer to trust: the one at the end, or for dynamic disks the copy at the start."""
    findings: list[Finding] = []
    tail = parse_footer(file.read(file.size - FOOTER_SIZE, FOOTER_SIZE)) if (
        file.size >= FOOTER_SIZE) else None
    head = parse_footer(file.read(0, FOOTER_SIZE)) if file.size >= FOOTER_SIZE else None
    tail_ok = tail is not None and tail.cookie_ok
    if tail is not None and tail_ok:
        footer = tail
        if not footer.checksum_ok and head is not None and head.cookie_ok and head.checksum_ok \
                and head.disk_type != DISK_TYPE_FIXED:
            findings.append(Finding(
                Level.WARNING, "vhd-footer-checksum",
                message(QT_TR_NOOP("The footer at the end of the file has a wrong checksum; the "
                                   "copy at the start is intact and was used. The uploaded disk "
                                   "gets a new, correct footer."))))
            footer = head
        elif not footer.checksum_ok:
            findings.append(Finding(
                Level.ERROR, "vhd-footer-checksum",
                message(QT_TR_NOOP("The VHD footer's checksum is wrong (stored {checksum:#010x}, "
                                   "computed {computed_checksum:#010x}): the file is damaged or "
                                   "was edited by a tool that did not update it. Check it with "
                                   "'qemu-img check' or export the disk again."),
                        checksum=footer.checksum, computed_checksum=footer.computed_checksum)))
    elif head is not None and head.cookie_ok and head.disk_type != DISK_TYPE_FIXED:
        footer = head
        findings.append(Finding(
            Level.ERROR, "vhd-footer-missing",
            message(QT_TR_NOOP("The footer at the end of this dynamic VHD is missing (the file "
                               "was probably cut short); the copy at the start was used, but "
                               "blocks near the end may be lost. Copy the file again from its "
                               "source."))))
    else:
        raise CorruptFooterError(message(QT_TR_NOOP("no 'conectix' footer at the end of the file")))
    if footer.disk_type not in _DISK_TYPE_NAMES:
        raise UnsupportedImageError(
            message(QT_TR_NOOP("the VHD footer names disk type {disk_type}, which is not fixed "
                               "(2), dynamic (3) or differencing (4)"),
                    disk_type=footer.disk_type))
    if footer.saved_state:
        findings.append(Finding(
            Level.WARNING, "vhd-saved-state",
            message(QT_TR_NOOP("The VHD is marked as belonging to a saved (hibernated) VM; its "
                               "file system may not be consistent. Shut the VM down properly "
                               "before uploading, if you can."))))
    return footer, findings


def open_fixed_vhd(file: PositionalFile, footer: VhdFooter,
                   findings: list[Finding]) -> OpenedLayout:
    data_length = file.size - FOOTER_SIZE
    virtual = footer.current_size
    if virtual > data_length:
        findings.append(Finding(
            Level.ERROR, "vhd-truncated",
            message(QT_TR_NOOP("The footer declares a {virtual:,}-byte disk but the file holds "
                               "only {data_length:,} bytes of it: the copy is incomplete. Copy "
                               "the file again from its source."),
                    virtual=virtual, data_length=data_length)))
    elif virtual < data_length:
        findings.append(Finding(
            Level.WARNING, "vhd-extra-data",
            message(QT_TR_NOOP("The file holds {extra:,} bytes more than the {virtual:,}-byte "
                               "disk its footer declares; they are not part of the disk and are "
                               "not uploaded."),
                    extra=data_length - virtual, virtual=virtual)))
    return OpenedLayout(
        format=ImageFormat.VHD_FIXED,
        layout=FlatLayout(file, data_length, virtual),
        disk_id=footer.unique_id,
        timestamp=footer.timestamp,
        source_footer=footer,
        findings=findings,
        details=_footer_details(footer),
    )


def _footer_details(footer: VhdFooter) -> list[tuple[str, str]]:
    return [
        (Text(QT_TR_NOOP("Disk id")), str(footer.unique_id)),
        (Text(QT_TR_NOOP("Created by")), f"{footer.creator} {footer.creator_version >> 16}."
                       f"{footer.creator_version & 0xFFFF}"),
        (Text(QT_TR_NOOP("Geometry (C/H/S)")),
         f"{footer.cylinders}/{footer.heads}/{footer.sectors_per_track}"),
    ]


def open_vhd(file: PositionalFile, *, chain: tuple[Path, ...] = ()) -> OpenedLayout:
    """Open a VHD of any disk type; ``chain`` lists the children above it (for parents)."""
    footer, findings = read_footer(file)
    if footer.disk_type == DISK_TYPE_FIXED:
        return open_fixed_vhd(file, footer, findings)
    header, header_findings = read_header(file, footer)
    findings.extend(header_findings)
    details = _footer_details(footer)
    details.append((Text(QT_TR_NOOP("Block size")), human_size(header.block_size)))
    parent: OpenedLayout | None = None
    if footer.disk_type == DISK_TYPE_DIFFERENCING:
        parent = _open_parent(file, header, chain)
        if parent.layout.virtual_size != footer.current_size:
            findings.append(Finding(
                Level.WARNING, "vhd-parent-size",
                message(QT_TR_NOOP("The parent disk is {virtual_size:,} bytes but this child is "
                                   "{current_size:,} bytes; the difference reads as zeros."),
                        virtual_size=parent.layout.virtual_size, current_size=footer.current_size)))
        findings.extend(_from_parent(parent))
        parent_file = parent.other_files[0] if parent.other_files else None
        details.append((Text(QT_TR_NOOP("Parent")),
                        str(parent_file.path) if parent_file else "?"))
    try:
        footer_at_end = looks_like_footer(file.read(file.size - FOOTER_SIZE, 8))
        layout = DynamicVhdLayout(file, footer, header, parent.layout if parent else None,
                                  footer_at_end=footer_at_end)
        stored, table_findings = layout.check_table()
    except BaseException:
        for other in parent.other_files if parent else ():
            other.close()
        raise
    findings.extend(table_findings)
    details.append((Text(QT_TR_NOOP("Stored blocks")), Text(message(
        QT_TR_NOOP("{stored:,} of {total:,}"), stored=stored, total=header.max_table_entries))))
    return OpenedLayout(
        format=ImageFormat.VHD_DIFFERENCING if parent else ImageFormat.VHD_DYNAMIC,
        layout=layout,
        disk_id=footer.unique_id,
        timestamp=footer.timestamp,
        source_footer=footer,
        findings=findings,
        details=details,
        other_files=parent.other_files if parent else [],
    )


def _from_parent(parent: OpenedLayout) -> list[Finding]:
    """A parent's problems are the child's problems; say where they come from."""
    name = parent.other_files[0].path.name if parent.other_files else "parent"
    return [Finding(f.level, f"parent-{f.code}" if not f.code.startswith("parent-") else f.code,
                    message(QT_TR_NOOP("In the parent disk {name}: {message}"),
                            name=name, message=f.message))
            for f in parent.findings]


def _not_the_parent(candidate: PositionalFile, header: DynamicHeader) -> Message | None:
    if not has_vhd_footer(candidate):
        return message(QT_TR_NOOP("it is not a VHD"))
    footer, _ = read_footer(candidate)
    if footer.unique_id != header.parent_id:
        return message(QT_TR_NOOP("its id is {unique_id}, the child expects {parent_id}"),
                       unique_id=footer.unique_id, parent_id=header.parent_id)
    return None


def _open_parent(file: PositionalFile, header: DynamicHeader,
                 chain: tuple[Path, ...]) -> OpenedLayout:
    """Open the parent named by the child's locators, checking it really is that parent.

    The returned layout's ``other_files`` starts with the parent's own file, followed by its
    ancestors', so closing the child closes the whole chain.
    """
    chain = (*chain, file.path.resolve())
    if len(chain) > MAX_CHAIN_DEPTH:
        raise ParentChainError(message(QT_TR_NOOP("it is more than {depth} disks deep"),
                                       depth=MAX_CHAIN_DEPTH))
    searched = parent_candidates(file, header)
    mismatch: ParentMismatchError | None = None
    for candidate in searched:
        if not candidate.is_file():
            continue
        if candidate.resolve() in chain:
            raise ParentChainError(message(QT_TR_NOOP("{candidate} would be its own ancestor"),
                                           candidate=candidate))
        parent_file = PositionalFile(candidate)
        try:
            problem = _not_the_parent(parent_file, header)
            if problem:
                parent_file.close()
                mismatch = mismatch or ParentMismatchError(file.path, candidate, problem)
                continue
            opened = open_vhd(parent_file, chain=chain)
        except BaseException:
            parent_file.close()
            raise
        opened.other_files.insert(0, parent_file)
        return opened
    if mismatch is not None:
        raise mismatch
    name = header.parent_name or (searched[0].name if searched else "(unnamed)")
    raise ParentNotFoundError(file.path, name, searched)

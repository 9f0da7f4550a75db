"""VHD files: find the footer, check it, and open the layout its disk type names."""

from __future__ import annotations

from gui.vhd.errors import CorruptFooterError, UnsupportedImageError
from gui.vhd.footer import (
    DISK_TYPE_DIFFERENCING,
    DISK_TYPE_DYNAMIC,
    DISK_TYPE_FIXED,
    FOOTER_SIZE,
    VhdFooter,
    looks_like_footer,
    parse_footer,
)
from gui.vhd.layout import FlatLayout, OpenedLayout
from gui.vhd.model import Finding, ImageFormat, Level
from gui.vhd.pio import PositionalFile

# Footers older than Virtual PC 2004 are 511 bytes long; nothing current writes them.
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
                "The footer at the end of the file has a wrong checksum; the copy at the start "
                "is intact and was used. The uploaded disk gets a new, correct footer."))
            footer = head
        elif not footer.checksum_ok:
            findings.append(Finding(
                Level.ERROR, "vhd-footer-checksum",
                f"The VHD footer's checksum is wrong (stored {footer.checksum:#010x}, computed "
                f"{footer.computed_checksum:#010x}): the file is damaged or was edited by a tool "
                f"that did not update it. Check it with 'qemu-img check' or export the disk "
                f"again."))
    elif head is not None and head.cookie_ok and head.disk_type != DISK_TYPE_FIXED:
        footer = head
        findings.append(Finding(
            Level.ERROR, "vhd-footer-missing",
            "The footer at the end of this dynamic VHD is missing (the file was probably cut "
            "short); the copy at the start was used, but blocks near the end may be lost. Copy "
            "the file again from its source."))
    else:
        raise CorruptFooterError("no 'conectix' footer at the end of the file")
    if footer.disk_type not in _DISK_TYPE_NAMES:
        raise UnsupportedImageError(
            f"the VHD footer names disk type {footer.disk_type}, which is not fixed (2), dynamic "
            f"(3) or differencing (4)")
    if footer.saved_state:
        findings.append(Finding(
            Level.WARNING, "vhd-saved-state",
            "The VHD is marked as belonging to a saved (hibernated) VM; its file system may not "
            "be consistent. Shut the VM down properly before uploading, if you can."))
    return footer, findings


def open_fixed_vhd(file: PositionalFile, footer: VhdFooter,
                   findings: list[Finding]) -> OpenedLayout:
    data_length = file.size - FOOTER_SIZE
    virtual = footer.current_size
    if virtual > data_length:
        findings.append(Finding(
            Level.ERROR, "vhd-truncated",
            f"The footer declares a {virtual:,}-byte disk but the file holds only "
            f"{data_length:,} bytes of it: the copy is incomplete. Copy the file again from its "
            f"source."))
    elif virtual < data_length:
        findings.append(Finding(
            Level.WARNING, "vhd-extra-data",
            f"The file holds {data_length - virtual:,} bytes more than the {virtual:,}-byte disk "
            f"its footer declares; they are not part of the disk and are not uploaded."))
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
        ("Disk id", str(footer.unique_id)),
        ("Created by", f"{footer.creator} {footer.creator_version >> 16}."
                       f"{footer.creator_version & 0xFFFF}"),
        ("Geometry (C/H/S)", f"{footer.cylinders}/{footer.heads}/{footer.sectors_per_track}"),
    ]


def open_vhd(file: PositionalFile) -> OpenedLayout:
    footer, findings = read_footer(file)
    if footer.disk_type == DISK_TYPE_FIXED:
        return open_fixed_vhd(file, footer, findings)
    raise UnsupportedImageError(
        f"this is a {_DISK_TYPE_NAMES[footer.disk_type]} VHD, which this version cannot read yet")

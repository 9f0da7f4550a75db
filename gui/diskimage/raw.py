"""Raw disk images (.img, .raw, block devices): the file is the disk, byte for byte."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gui.diskimage.footer import vhd_timestamp
from gui.diskimage.layout import FlatLayout, OpenedLayout
from gui.diskimage.model import Finding, ImageFormat, Level
from gui.diskimage.pio import PositionalFile
from gui.i18n import QT_TR_NOOP, Text, message

# Raw files carry no id; derive a stable one so the same file always gets the same footer (an
# interrupted upload can then resume and the Content-MD5 stays the same).
_RAW_ID_NAMESPACE = uuid.UUID("6f1c3c52-8f0e-4b8e-9a53-3d4c3a1f2b61")


def open_raw(file: PositionalFile) -> OpenedLayout:
    resolved = str(file.path.resolve())
    disk_id = uuid.uuid5(_RAW_ID_NAMESPACE, f"{resolved}\0{file.size}\0{file.mtime_ns}")
    modified = datetime.fromtimestamp(file.mtime_ns / 1e9, tz=UTC)
    findings: list[Finding] = []
    if file.path.suffix.lower() in (".vhd", ".vhdx", ".avhd", ".avhdx"):
        findings.append(Finding(
            Level.WARNING, "raw-named-vhd",
            message(QT_TR_NOOP("The file is named '{name}' but holds no {kind} structures, so "
                               "it is read as a raw disk. If it was a VHD that lost its footer "
                               "(for example an incomplete copy), copy it again from its source."),
                    name=file.path.name, kind=file.path.suffix[1:].upper())))
    if file.size % 512:
        findings.append(Finding(
            Level.INFO, "raw-partial-sector",
            message(QT_TR_NOOP("The file is {size:,} bytes, not a whole number of 512-byte "
                               "sectors; the last sector is completed with zeros."),
                    size=file.size)))
    return OpenedLayout(
        format=ImageFormat.RAW,
        layout=FlatLayout(file, file.size, file.size),
        disk_id=disk_id,
        timestamp=vhd_timestamp(modified),
        findings=findings,
        details=[(Text(QT_TR_NOOP("Disk id")), Text(message(
            QT_TR_NOOP("{disk_id} (derived from path, size and time: raw files have none)"),
            disk_id=disk_id)))],
    )

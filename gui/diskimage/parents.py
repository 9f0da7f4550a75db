"""Finding the parent of a differencing VHD from its parent locators and name."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path, PurePosixPath, PureWindowsPath

from gui.diskimage.dynamic import DynamicHeader
from gui.diskimage.pio import PositionalFile

# Locator data longer than this is not a path; refuse to read it (the file may claim gigabytes).
MAX_LOCATOR_BYTES = 64 * 1024


def _decode(code: bytes, data: bytes) -> str | None:
    try:
        if code in (b"W2ru", b"W2ku"):
            return data.decode("utf-16-le").split("\0", 1)[0]
        if code in (b"Wi2r", b"Wi2k"):  # deprecated ANSI forms
            return data.decode("latin-1").split("\0", 1)[0]
        if code in (b"MacX", b"Mac "):
            text = data.decode("utf-8").split("\0", 1)[0]
            if text.startswith("file://"):
                return urllib.parse.unquote(urllib.parse.urlparse(text).path)
            return text
    except UnicodeDecodeError:
        return None
    return None


def _as_local(text: str, base: Path) -> list[Path]:
    """The places a locator's path text can mean here, most literal first."""
    places: list[Path] = []
    windows = "\\" in text or (len(text) > 1 and text[1] == ":")
    pure = PureWindowsPath(text) if windows else PurePosixPath(text)
    if not pure.is_absolute() and not (windows and pure.drive):
        joined = base.joinpath(*[p for p in pure.parts if p not in (".", "")])
        places.append(Path(os.path.normpath(joined)))
    elif not windows:
        places.append(Path(text))
    if pure.name:
        places.append(base / pure.name)  # the same file moved next to the child
    return places


def parent_candidates(file: PositionalFile, header: DynamicHeader) -> list[Path]:
    """Paths where the parent may be, in order of preference, without duplicates."""
    base = file.path.parent
    found: list[Path] = []
    for locator in header.locators:
        length = min(locator.data_length, MAX_LOCATOR_BYTES)
        if not length or locator.data_offset + length > file.size:
            continue
        text = _decode(locator.platform_code, file.read(locator.data_offset, length))
        if text:
            found.extend(_as_local(text, base))
    if header.parent_name:
        found.extend(_as_local(header.parent_name, base))
    unique: list[Path] = []
    for path in found:
        if path not in unique:
            unique.append(path)
    return unique

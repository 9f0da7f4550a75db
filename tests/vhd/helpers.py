"""Shared checks for the vhd tests."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from gui.vhd import DiskImage
from tests.fixtures.disk_images import vhdiinfo


def read_stream(img: DiskImage, chunk: int = 3 * 1024 * 1024 + 512) -> bytes:
    """The whole fixed stream, read in chunks that do not line up with blocks or the footer."""
    out = bytearray()
    offset = 0
    buf = bytearray(chunk)
    while True:
        n = img.readinto(offset, buf)
        if n == 0:
            break
        out += buf[:n]
        offset += n
    return bytes(out)


def assert_matches_reference(img: DiskImage, expected: bytes) -> bytes:
    """The stream minus footer equals ``expected`` padded with zeros to the whole MiB."""
    stream = read_stream(img)
    assert len(stream) == img.upload_size == img.fixed_size + 512
    assert img.fixed_size % (1 << 20) == 0
    assert img.fixed_size - img.virtual_size < (1 << 20)
    body = stream[: img.fixed_size]
    assert len(expected) <= img.fixed_size
    assert body[: len(expected)] == expected
    assert body[len(expected) :].count(0) == img.fixed_size - len(expected)
    assert stream[img.fixed_size :] == img.footer
    return stream


def independent_checksum(footer: bytes) -> int:
    return (~(sum(footer[:64]) + sum(footer[68:512]))) & 0xFFFFFFFF


def assert_footer_valid(img: DiskImage, directory: Path) -> None:
    """The footer is a fixed-disk footer of ``fixed_size`` bytes that vhdiinfo accepts."""
    footer = img.footer
    assert len(footer) == 512
    assert footer[:8] == b"conectix"
    original, current = struct.unpack(">QQ", footer[40:56])
    assert original == current == img.fixed_size
    assert struct.unpack(">I", footer[60:64])[0] == 2
    assert struct.unpack(">I", footer[64:68])[0] == independent_checksum(footer)
    assert footer[68:84] == img.disk_id.bytes
    # vhdiinfo reads the footer from the end of a file: give it a sparse fixed VHD.
    probe = directory / f"footer-probe-{img.disk_id}.vhd"
    with open(probe, "wb") as f:
        f.truncate(img.fixed_size)
        f.seek(img.fixed_size)
        f.write(footer)
    info = vhdiinfo(probe)
    assert re.search(r"Disk type\s*:\s*Fixed", info), info
    assert f"({img.fixed_size} bytes)" in info, info
    assert str(img.disk_id) in info, info
    probe.unlink()

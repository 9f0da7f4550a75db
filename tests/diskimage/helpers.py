"""Shared checks for the vhd tests."""

from __future__ import annotations

import contextlib
import os
import re
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

from gui.diskimage import DiskImage
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


# A tiny launcher between the measuring process and the measured one. Linux keeps a process's
# peak RSS across exec, and a child made by (v)fork starts with its parent's: measured straight
# from a big process (pytest, a benchmark holding test data) the peak would be the parent's. The
# launcher is small, so RUSAGE_CHILDREN after its child exits is the child's own peak.
_LAUNCHER = """
import json, resource, subprocess, sys, time
timeout = float(sys.argv[1])
start = time.perf_counter()
try:
    child = subprocess.run(sys.argv[2:], capture_output=True, text=True, timeout=timeout)
    code, out = child.returncode, child.stdout
except subprocess.TimeoutExpired:
    code, out = None, ""
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
print(json.dumps({"peak_rss": peak * scale, "seconds": seconds, "exit": code, "stdout": out}))
"""


def run_measured(argv: list[str], *, cwd: Path, env: dict[str, str],
                 timeout: float = 120.0) -> tuple[int, float, int | None, str]:
    """Run ``argv`` and return (its peak RSS in bytes, wall seconds, exit status or None when
    killed at ``timeout``, its standard output)."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", _LAUNCHER, str(timeout), *argv], cwd=cwd,
                            env=env, capture_output=True, text=True, check=True)
    report = json.loads(result.stdout)
    return int(report["peak_rss"]), float(report["seconds"]), report["exit"], report["stdout"]


@contextlib.contextmanager
def reads_checked() -> Iterator[list[str]]:
    """Route pread/preadv through a check that every read lies inside its file."""
    problems: list[str] = []
    real_preadv: Callable[..., int] = os.preadv
    real_pread: Callable[..., bytes] = os.pread

    def check(fd: int, offset: int, length: int) -> None:
        size = os.fstat(fd).st_size
        if offset < 0 or offset + length > size:
            problems.append(f"read of {length} bytes at {offset} in a {size}-byte file")

    def preadv(fd: int, buffers: list[memoryview], offset: int, *args: int) -> int:
        check(fd, offset, sum(len(b) for b in buffers))
        return real_preadv(fd, buffers, offset, *args)

    def pread(fd: int, length: int, offset: int) -> bytes:
        check(fd, offset, length)
        return real_pread(fd, length, offset)

    os.preadv, os.pread = preadv, pread  # type: ignore[assignment]
    try:
        yield problems
    finally:
        os.preadv, os.pread = real_preadv, real_pread

"""qemu-img for the benchmarks: the disk images they measure are made by the reference tool."""

from __future__ import annotations

import subprocess
from pathlib import Path


def qemu_convert(source: Path, target: Path, *, source_format: str, to: str, options: str) -> Path:
    """``qemu-img convert`` of ``source`` (in ``source_format``) to ``target`` in format ``to``
    with ``-o options``; returns ``target``."""
    command = ["qemu-img", "convert", "-q", "-f", source_format, "-O", to, "-o", options]
    subprocess.run([*command, str(source), str(target)], check=True)
    return target

"""Shared helpers of the command tests: running the CLI in-process and in a child process, and
reading back what a command made in the sandbox through the SDK (over real HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from gui.azure.account.session import sandbox_session
from gui.cli import main as cli_main
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from tests.fixtures.qcow2_images import create, pattern_writes, qemu_io, random_file

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``gui.cli.main`` in this process: the exit code, stdout and stderr."""
    code = cli_main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_child(*argv: str, env: dict[str, str] | None = None,
              timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``python -m gui ARGV`` in a child process (the installed entry point's path)."""
    return subprocess.run(
        [sys.executable, "-m", "gui", *argv], capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, **(env or {})}, timeout=timeout, check=False)


def one_line(err: str) -> str:
    """The one line a failing command writes on stderr (and never a traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def json_of(out: str) -> dict[str, Any]:
    document = json.loads(out)
    assert isinstance(document, dict)
    return document


def read_back(server: SandboxServer, read: Callable[[Any], Awaitable[T]]) -> T:
    """``read(compute)`` with a compute client of the sandbox's production subscription."""

    async def go() -> T:
        session = sandbox_session(server.arm_url)
        try:
            return await read(session.compute(PRODUCTION_SUBSCRIPTION_ID))
        finally:
            await session.close()

    return asyncio.run(go())


def disk_names(server: SandboxServer, group: str) -> list[str]:
    async def names(compute: Any) -> list[str]:
        return sorted([d.name async for d in compute.disks.list_by_resource_group(group)])

    return read_back(server, names)


def qcow2_disk(directory: Path, size: int, name: str = "disk.qcow2") -> Path:
    """A qcow2 made by ``qemu-img create`` holding data written by ``qemu-io`` (at the start,
    the end and scattered): what a user brings from KVM."""
    path = create(directory / name, size)
    qemu_io(path, pattern_writes(size, random_file(directory)))
    return path

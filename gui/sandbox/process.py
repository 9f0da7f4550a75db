"""The sandbox in a process of its own, as the app's sandbox mode runs it.

In the app's process the sandbox's pure-Python work (the seed, the Marketplace Catalog of a
hundred thousand objects) held the GIL while the window waited: the first search in sandbox mode
stalled the window for up to 87 ms. A child process has its own interpreter and lock.

The child is ``python -m gui.sandbox --control`` (inside a PyInstaller bundle, where
``sys.executable`` is the app itself, the app's hidden ``--run-sandbox`` entry). It prints one
line, ``SANDBOX_READY {json}`` with its URLs once it listens (or ``SANDBOX_FAILED why``), then
reads its stdin: a closed stdin (the app quit, or died even by SIGKILL, and the system closed
the pipe) stops it, so the child never outlives the app. The tunables the tests and benchmarks
set (latency, long-running operation times) travel as JSON lines on the same pipe, each
acknowledged before the setter returns.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from gui.sandbox.server import SandboxError

READY_PREFIX = "SANDBOX_READY "
FAILED_PREFIX = "SANDBOX_FAILED "
ACK = "SANDBOX_OK"
# The bundle's entry for the child (gui/cli.py): not listed in --help, not a user command.
FROZEN_ENTRY = "--run-sandbox"
LOG_FILE = "sandbox.log"
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0


def sandbox_command(*args: str) -> list[str]:
    """How this interpreter (or this bundle) runs ``python -m gui.sandbox ARGS``."""
    if getattr(sys, "frozen", False):
        return [sys.executable, FROZEN_ENTRY, *args]
    return [sys.executable, "-m", "gui.sandbox", *args]


def _child_env() -> dict[str, str]:
    # The child imports gui from where this process found it, also when that is a source tree
    # on sys.path rather than an installed package.
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class _RemoteFaults:
    """The child's ``Faults``, as far as a test sets them: the per-request latency."""

    def __init__(self, owner: SandboxProcess) -> None:
        self._owner = owner
        self._latency = 0.0

    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        self._owner.send({"latency": value})
        self._latency = max(0.0, value)


class SandboxProcess:
    """The sandbox as a child process: ``start()`` returns once it listens, with the same URLs
    and state directory as an in-process ``SandboxServer``; ``stop()`` ends it."""

    def __init__(self, state_dir: Path, *, reset: bool = False) -> None:
        self.state_dir = Path(state_dir)
        self._reset = reset
        self._process: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()  # one command and its answer at a time
        self.arm_url = self.blob_url = self.catalog_url = ""
        self.faults = _RemoteFaults(self)
        self._lro_seconds: float | None = None

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path:
        return self.state_dir / LOG_FILE

    def start(self) -> None:
        """Starts the child and waits for its URLs; raises SandboxError with its last words
        when it exits first or says nothing within a minute."""
        if self.running:
            return
        args = ["--control", "--state-dir", str(self.state_dir)]
        if self._reset:
            args.append("--reset")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w", encoding="utf-8") as log:  # the child's stderr
            process = subprocess.Popen(
                sandbox_command(*args),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=_child_env(),
                # No console window for the child of the Windows GUI app.
                creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
            )
        self._process = process
        line = _read_line(process, _START_TIMEOUT_S)
        if not line.startswith(READY_PREFIX):
            self._kill()
            if line.startswith(FAILED_PREFIX):
                raise SandboxError(line[len(FAILED_PREFIX) :].strip())
            raise SandboxError(self._failure(line))
        urls = json.loads(line[len(READY_PREFIX) :])
        self.arm_url, self.blob_url, self.catalog_url = urls["arm"], urls["blob"], urls["catalog"]
        self._reset = False  # a restart of the same object keeps its state

    def _failure(self, line: str) -> str:
        try:
            said = self.log_path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            said = ""
        last = said.splitlines()[-1] if said else line.strip()
        return last or "it ended without saying why"

    def send(self, command: dict[str, Any]) -> str:
        """Applies a tunable in the child (or asks it a figure); returns, once the child has
        applied it, what the child answered after its acknowledgement."""
        process = self._process
        if process is None or process.stdin is None or not self.running:
            raise SandboxError("The sandbox process is not running; call start() first.")
        with self._lock:
            process.stdin.write(json.dumps(command) + "\n")
            process.stdin.flush()
            answer = _read_line(process, _START_TIMEOUT_S)
        if answer.split(" ", 1)[0].strip() != ACK:
            raise SandboxError(f"The sandbox process refused {command}: {answer.strip()}")
        return answer.strip()[len(ACK) :].strip()

    @property
    def request_count(self) -> int:
        """The requests the child has answered (ARM and the catalogue), as the benchmarks
        count them."""
        return int(self.send({"request_count": None}))

    @property
    def lro_seconds(self) -> float | None:
        return self._lro_seconds

    @lro_seconds.setter
    def lro_seconds(self, value: float) -> None:
        self.send({"lro_seconds": value})
        self._lro_seconds = max(0.0, value)

    def stop(self) -> None:
        """Closes the child's stdin (it stops cleanly, saving its blobs), then ends it if it
        has not within ten seconds."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.stdin is not None:
                process.stdin.close()
        except OSError:
            pass  # already gone
        try:
            process.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The child's next stdout line, '' when it closed stdout or said nothing in time."""
    stdout: IO[str] | None = process.stdout
    if stdout is None:
        return ""
    got: list[str] = []
    # A thread, not select(): pipes cannot be selected on Windows.
    reader = threading.Thread(target=lambda: got.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else ""

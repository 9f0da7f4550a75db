"""packaging/preflight.sh, which start.sh and tests/run.sh run first: a Python that is too old or
cannot make a venv, and a missing sudo, each end with one clear message of what to install."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.helpers import PACKAGING, ROOT

PREFLIGHT = PACKAGING / "preflight.sh"


def _fake_python(bin_dir: Path, name: str, version: str, *, venv: bool = True) -> None:
    """A ``name`` on PATH that reports ``version`` and, unless ``venv``, lacks ensurepip."""
    major, minor = version.split(".")
    script = bin_dir / name
    script.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        f'  *"import ensurepip"*) exit {0 if venv else 1} ;;\n'
        f'  *"sys.exit"*) [ {minor} -ge 11 ] && [ {major} -ge 3 ]; exit $? ;;\n'
        f'  *) echo "{version}" ;;\n'
        "esac\n"
    )
    script.chmod(0o755)


@pytest.fixture
def bin_dir() -> Iterator[Path]:
    """An empty PATH folder the unprivileged user can read (pytest's tmp_path is root-only)."""
    folder = Path(tempfile.mkdtemp(prefix="ais-preflight-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder)


def _link(bin_dir: Path, *tools: str) -> Path:
    """Put only the named system tools on the test's PATH."""
    for tool in tools:
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return bin_dir


# Run as "nobody" when the tests run as root (CI), to be the non-root user the scripts must serve.
NOBODY = 65534 if os.geteuid() == 0 else None


def _preflight(bin_dir: Path, call: str, *, user: int | None = None
               ) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash")
    assert bash
    return subprocess.run(
        [bash, "-c", f'source "{PREFLIGHT}"; {call}; echo "PYTHON=$PYTHON"'],
        capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
        env={"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/")}, user=user,
    )


def test_too_old_python_is_refused_with_what_to_install(bin_dir: Path) -> None:
    _link(bin_dir, "uname", "id")
    _fake_python(bin_dir, "python3", "3.10")
    done = _preflight(bin_dir, "find_python")
    assert done.returncode == 1
    assert "needs Python 3.11 or later; this machine has Python 3.10" in done.stderr
    for system in ("Debian", "Ubuntu 22.04", "Fedora", "macOS"):
        assert system in done.stderr
    assert "Traceback" not in done.stderr and "PYTHON=" not in done.stdout


def test_a_newer_python_beside_an_old_python3_is_chosen(bin_dir: Path) -> None:
    _link(bin_dir, "uname", "id")
    _fake_python(bin_dir, "python3", "3.10")
    _fake_python(bin_dir, "python3.12", "3.12")
    done = _preflight(bin_dir, "find_python")
    assert done.returncode == 0, done.stderr
    assert f"PYTHON={bin_dir / 'python3.12'}" in done.stdout


def test_python_without_venv_names_the_package_to_install(bin_dir: Path) -> None:
    _link(bin_dir, "uname", "id")
    _fake_python(bin_dir, "python3", "3.11", venv=False)
    done = _preflight(bin_dir, "find_python")
    assert done.returncode == 1
    assert "sudo apt install python3.11-venv" in done.stderr
    assert "dnf install" in done.stderr and "brew" in done.stderr


def test_no_python_at_all_says_so(bin_dir: Path) -> None:
    done = _preflight(_link(bin_dir, "uname", "id"), "find_python")
    assert done.returncode == 1
    assert "no python3 was found" in done.stderr


def test_a_user_without_sudo_is_told_to_run_the_install_as_root(bin_dir: Path) -> None:
    _link(bin_dir, "id", "dpkg", "dpkg-query")
    # A Debian package that is surely not installed.
    done = _preflight(bin_dir, "install_debs ais-no-such-package", user=NOBODY)
    assert done.returncode == 1
    assert "needs root, and sudo is not installed" in done.stderr
    assert "apt-get update" in done.stderr


def test_installed_packages_need_no_root(bin_dir: Path) -> None:
    _link(bin_dir, "id", "dpkg", "dpkg-query")
    done = _preflight(bin_dir, "install_debs dpkg", user=NOBODY)
    assert done.returncode == 0, done.stderr

"""``python3 -m gui inspect FILE`` as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from gui.diskimage import open_image
from tests.diskimage import patching
from tests.fixtures.disk_images import MIB, DiskImageFactory

ROOT = Path(__file__).resolve().parents[2]


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "gui", "inspect", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60, check=False)


def test_acceptable_vhdx(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vhdx", 32 * MIB, "scattered", subformat="dynamic", block_size=MIB)
    result = inspect(str(made.path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "VHDX (dynamic)" in out
    assert "32 MiB (33,554,432 bytes)" in out
    assert "33,554,944 bytes" in out  # upload size: + 512
    assert "Findings:" in out
    assert "Result: Azure will accept" in out
    assert result.stderr == ""


def test_refused_disk_exits_2_with_reason(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", 10 * MIB + 512, "start", subformat="fixed")
    result = inspect(str(made.path))
    assert result.returncode == 2
    assert "ERROR" in result.stdout and "[too-small]" in result.stdout
    assert "rounded up to whole MiB" in result.stdout
    assert "Azure would refuse" in result.stdout


def test_unreadable_file_is_one_line(tmp_path: Path) -> None:
    result = inspect(str(tmp_path / "missing.vhd"))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "missing.vhd" in lines[0] and "Traceback" not in result.stderr


def test_dirty_vhdx_is_refused_with_advice(disk_images: DiskImageFactory) -> None:
    path = disk_images.make("vhdx", 24 * MIB, "start", subformat="dynamic").path
    for at in patching.VHDX_HEADERS:
        patching.patch(path, at + 48, uuid.uuid4().bytes_le)
    patching.fix_vhdx_crcs(path)
    result = inspect(str(path))
    assert result.returncode == 2
    assert "unfinished writes" in result.stderr
    assert "qemu-img check -r all" in result.stderr


def test_json_matches_the_engine(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vpc", 24 * MIB + 1536, "end", subformat="dynamic")
    result = inspect("--json", str(made.path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    with open_image(made.path) as img:
        assert report["format"] == "VHD_DYNAMIC"
        assert report["virtual_size"] == img.virtual_size == 24 * MIB + 1536
        assert report["fixed_size"] == 25 * MIB
        assert report["upload_size"] == 25 * MIB + 512
        assert report["allocated_bytes"] == img.allocated_bytes
        assert report["disk_id"] == str(img.disk_id)
        assert {f["code"] for f in report["findings"]} == {f.code for f in img.findings}
        assert report["acceptable"] is True


def test_scan_counts_nonzero_granules(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("vhdx", 24 * MIB, "scattered", subformat="dynamic", block_size=MIB)
    expected = disk_images.expected_raw(made)
    granule = 65536
    nonzero = sum(len(expected[i : i + granule]) for i in range(0, len(expected), granule)
                  if expected[i : i + granule].count(0) != len(expected[i : i + granule]))
    report = json.loads(inspect("--json", "--scan", str(made.path)).stdout)
    assert report["nonzero_bytes"] == nonzero


def test_inspect_never_imports_qt(disk_images: DiskImageFactory) -> None:
    made = disk_images.make("raw", 20 * MIB)
    code = ("import sys; from gui.cli import main; rc = main(['inspect', sys.argv[1]]); "
            "print('QT-LOADED' if any(m.startswith('PySide6') for m in sys.modules) else 'NO-QT')")
    result = subprocess.run([sys.executable, "-c", code, str(made.path)], capture_output=True,
                            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            timeout=60, check=False)
    assert result.stdout.strip().endswith("NO-QT"), result.stdout + result.stderr

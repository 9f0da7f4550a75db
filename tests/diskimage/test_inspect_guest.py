"""``inspect`` reports the guest read from the disk: ``guest`` in ``--json``, and the text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.guest_images import (
    ESP_ARM64,
    ESP_WINDOWS,
    GuestDisks,
    Part,
    guest_disks_in,
    to_vhd,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def disks(tmp_path: Path) -> GuestDisks:
    return guest_disks_in(tmp_path)


def inspect(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "gui", "inspect", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60, check=False)


def test_json_guest_of_an_arm64_linux_vhd(disks: GuestDisks) -> None:
    vhd = to_vhd(disks.gpt("arm", [Part(34, "EF00", "esp", ESP_ARM64), Part(32, "8300", "ext4")]))
    result = inspect("--json", str(vhd))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == "VHD_DYNAMIC"
    guest = report["guest"]
    assert (guest["os_type"], guest["generation"], guest["architecture"]) == (
        "Linux", "V2", "Arm64")
    assert guest["confidence"] == {"os_type": "high", "generation": "high",
                                   "architecture": "high"}
    assert set(guest["evidence"]) == {"os_type", "generation", "architecture"}
    assert any("BOOTAA64.EFI" in line for line in guest["evidence"]["architecture"])
    assert guest["partition_table"] == "GPT"
    assert [p["filesystem"] for p in guest["partitions"]] == ["FAT16", "ext4"]


def test_json_guest_unknown_is_null(disks: GuestDisks) -> None:
    report = json.loads(inspect("--json", str(disks.blank("blank", 4))).stdout)
    guest = report["guest"]
    assert (guest["os_type"], guest["generation"], guest["architecture"]) == (None, None, None)
    assert guest["partition_table"] == "none"


def test_text_shows_the_guest_and_why(disks: GuestDisks) -> None:
    disk = disks.gpt("win", [Part(34, "EF00", "esp", ESP_WINDOWS), Part(16, "0C01"),
                             Part(16, "0700", "ntfs")])
    result = inspect(str(disk))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Guest (read from the disk):" in out
    assert "OS type:            Windows (high confidence)" in out
    assert "Hyper-V generation: V2 (high confidence)" in out
    assert "Architecture:       x64 (high confidence)" in out
    assert "Windows Boot Manager (\\EFI\\Microsoft\\Boot\\bootmgfw.efi)" in out

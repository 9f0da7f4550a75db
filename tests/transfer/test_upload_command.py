"""The headless ``upload`` command: exit codes, one-line reasons, and resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from gui.transfer.journal import Journal
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory, pattern
from tests.transfer.faulty_proxy import FaultyProxy
from tests.transfer.helpers import expected_blob, md5_b64, nonzero_granule_bytes

ROOT = Path(__file__).resolve().parents[2]


def run_upload(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gui", "upload", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AZURE_IMAGE_STUDIO_HOME": str(home)},
        timeout=120,
        check=False,
    )


def test_upload_exits_0_with_a_verified_blob(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vhdx", 24 * MIB, "scattered", subformat="dynamic")
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, "cli.vhd")
    done = run_upload(tmp_path, str(made.path), "--to", url, "--json", "--progress", "plain")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    expected = expected_blob(disk_images, made)
    assert azurite.download(container, "cli.vhd") == expected
    assert result["content_md5"] == md5_b64(expected)
    assert "state=completed" in done.stderr.splitlines()[-1]
    assert url.split("sig=")[1].split("&")[0] not in done.stdout + done.stderr


def test_failures_exit_non_zero_with_one_line(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, "bad.vhd")
    missing = run_upload(tmp_path, str(tmp_path / "nope.vhd"), "--to", url)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "nope.vhd" in missing.stderr

    made = disk_images.make("vpc", 24 * MIB, "start", subformat="fixed")
    expired = azurite.blob_sas_url(container, "bad.vhd", expires_in=timedelta(minutes=-1))
    refused = run_upload(tmp_path, str(made.path), "--to", expired)
    assert refused.returncode == 2
    assert "expired" in refused.stderr
    assert expired.split("sig=")[1].split("&")[0] not in refused.stderr

    no_write = azurite.blob_sas_url(container, "ro.vhd", permission="r")
    denied = run_upload(tmp_path, str(made.path), "--to", no_write, "--progress", "none")
    assert denied.returncode == 1
    assert denied.stderr.count("\n") == 1
    assert "permissions" in denied.stderr
    assert no_write.split("sig=")[1].split("&")[0] not in denied.stderr
    # The ids Azure support asks for, in the message and in the (redacted) log file.
    assert "client request id" in denied.stderr and "x-ms-request-id" in denied.stderr
    log = (tmp_path / "azure-image-studio.log").read_text()
    assert "x-ms-request-id" in log and "403" in log
    assert no_write.split("sig=")[1].split("&")[0] not in log


def read_journal(home: Path) -> Journal | None:
    for path in (home / "transfers").glob("*.json"):
        try:
            return Journal.load(path)
        except Exception:  # caught mid-replace: try again on the next poll
            return None
    return None


def test_killed_upload_resumes_sending_only_the_missing_part(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    size = 64 * MIB
    made = disk_images.make("vpc", size, [(0, pattern(0, size - 8 * MIB))], subformat="fixed")
    container = azurite.create_container()
    home = tmp_path / "home"
    with FaultyProxy(f"http://127.0.0.1:{azurite.port}", latency=0.15) as proxy:
        url = proxy.rewrite(azurite.blob_sas_url(container, "crash.vhd"))
        args = [str(made.path), "--to", url, "--concurrency", "2", "--json"]
        process = subprocess.Popen(
            [sys.executable, "-m", "gui", "upload", *args, "--progress", "none"],
            cwd=ROOT,
            env={**os.environ, "AZURE_IMAGE_STUDIO_HOME": str(home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        journaled = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            journal = read_journal(home)
            if journal is not None and journal.bytes_sent >= size // 3:
                journaled = journal.bytes_sent
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL
        assert journaled > 0, "the upload never journaled a third of the data"

        proxy.latency = 0
        proxy.wait_idle()  # requests the killed process left in the proxy finish
        before = proxy.stats.put_page_bytes
        done = run_upload(home, *args, "--progress", "none")
        assert done.returncode == 0, done.stderr
        resent = proxy.stats.put_page_bytes - before

    result: dict[str, Any] = json.loads(done.stdout)
    expected = expected_blob(disk_images, made)
    data = nonzero_granule_bytes(expected) + 512
    assert result["resumed"]
    assert result["bytes_sent"] == resent
    # Everything the journal knew of stayed; at most the windows in flight (2 x 4 MiB) and
    # what finished after the last journal write were on the blob already but not journaled.
    assert result["bytes_present"] >= journaled
    assert result["bytes_sent"] + result["bytes_present"] == data
    assert result["bytes_sent"] <= data - journaled
    assert azurite.download(container, "crash.vhd") == expected
    assert result["content_md5"] == md5_b64(expected)
    assert list((home / "transfers").glob("*.json")) == []

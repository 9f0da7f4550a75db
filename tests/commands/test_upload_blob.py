"""``upload`` to a page blob (Azurite) with the shared options: ``--json`` for the result and
for a failure (one object on stdout, one line on stderr, no SAS in either), ``--progress json``
on stderr, and ``--sandbox`` refused for a blob target with what to do instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.commands.helpers import json_of, one_line, qcow2_disk, run_cli
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB


def test_a_qcow2_to_a_page_blob_as_json_with_json_progress(
    azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = qcow2_disk(tmp_path, 24 * MIB)
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, "cli.vhd")
    code, out, err = run_cli(capsys, "upload", str(disk), "--to", url, "--json",
                             "--progress", "json")
    assert code == 0, err
    result = json_of(out)
    assert result["kind"] == "page-blob" and result["file"] == str(disk)
    assert result["target"].endswith(f"/{container}/cli.vhd")
    assert result["upload_size"] == 24 * MIB + 512
    assert result["content_md5"]
    assert len(azurite.download(container, "cli.vhd")) == 24 * MIB + 512
    events = [json_of(line) for line in err.splitlines()]
    assert events[-1]["event"] == "progress" and events[-1]["state"] == "completed"
    assert events[-1]["done"] == events[-1]["total"] == 24 * MIB + 512
    signature = url.split("sig=")[1].split("&")[0]
    assert signature not in out + err


def test_a_refused_upload_is_an_error_object_and_exit_1(
    azurite: Azurite, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = qcow2_disk(tmp_path, 24 * MIB)
    container = azurite.create_container()
    read_only = azurite.blob_sas_url(container, "ro.vhd", permission="r")
    code, out, err = run_cli(capsys, "upload", str(disk), "--to", read_only, "--json",
                             "--progress", "none")
    assert code == 1
    assert "permissions" in one_line(err)
    document = json_of(out)
    assert document["exit_code"] == 1 and "permissions" in document["error"]["message"]
    assert read_only.split("sig=")[1].split("&")[0] not in out + err


def test_sandbox_with_a_blob_target_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = qcow2_disk(tmp_path, 24 * MIB)
    code, out, err = run_cli(capsys, "upload", str(disk), "--sandbox", "--container", "c",
                             "--name", "b.vhd")
    assert code == 2 and out == ""
    assert "--sandbox takes a managed disk (--disk NAME" in one_line(err)
    assert "a page blob alone is reached by its SAS URL (--to)" in one_line(err)

"""What every command shares (gui/commands/options.py): the exit-code table in ``--help``,
``--json`` (one object on stdout, errors too), ``--sandbox`` (its own or a running one), and one
exit code per cause; run through ``gui.cli.main`` and, for ``--sandbox``, a child process."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui import cli
from gui.azure.errors import (
    ConflictError,
    NotFoundError,
    NotSignedInError,
    PermissionDeniedError,
)
from gui.commands import options
from gui.sandbox import SandboxServer
from gui.transfer import UploadCancelledError, UploadError
from tests.commands.helpers import json_of, one_line, qcow2_disk, run_child, run_cli
from tests.fixtures.disk_images import MIB, DiskImageFactory

# Every command of the CLI with the arguments that reach its --help.
HELP = {
    "inspect": ["inspect", "--help"],
    "upload": ["upload", "--help"],
    "download": ["download", "--help"],
    "copy": ["copy", "--help"],
    "images": ["images", "search", "--help"],
    "smoke": ["smoke", "--help"],
}
PRESENT = [name for name in HELP if importlib.util.find_spec(cli.COMMANDS[name]) is not None]


@pytest.fixture
def server(fresh_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.1
    yield fresh_sandbox


def test_every_command_of_the_cli_is_listed() -> None:
    assert set(HELP) == set(cli.COMMANDS)
    assert {"inspect", "upload", "images", "smoke"} <= set(PRESENT)


@pytest.mark.parametrize("name", PRESENT)
def test_help_documents_the_exit_codes_json_and_sandbox(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(HELP[name])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "--json" in text and "--sandbox [URL]" in text
    table = text.split("exit status:\n", 1)[1].splitlines()
    codes = [int(found.group(1)) for line in table if (found := re.match(r"^  (\d+) ", line))]
    # Each command lists the codes it returns, in the table's order, from the one table.
    assert {0, 2} <= set(codes) <= {entry.code for entry in options.EXIT_CODES}
    assert codes == sorted(codes)


def test_the_table_is_one_for_every_cause() -> None:
    assert [(e.code, e.name) for e in options.EXIT_CODES] == [
        (0, "ok"), (1, "failed"), (2, "usage"), (3, "auth"), (4, "not-found"),
        (130, "interrupted")]
    cases: list[tuple[BaseException, int]] = [
        (options.UsageError("x"), 2),
        (NotSignedInError("expired token"), 3),
        (PermissionDeniedError("no role"), 3),
        (NotFoundError("no such group"), 4),
        (ConflictError("busy"), 1),
        (UploadError("the pages were refused"), 1),
        (UploadCancelledError("cancelled"), 130),
        (KeyboardInterrupt(), 130),
    ]
    for error, code in cases:
        assert options.exit_code_for(error) == code, error


def test_a_failure_is_one_redacted_line_and_with_json_one_object(
    capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "https://a.blob.core.windows.net/c/b.vhd?sv=2024&sig=TOPSECRETSIGNATURE"
    code = options.fail("upload", NotFoundError(f"no blob at {secret}", code="BlobNotFound",
                                                request_id="req-1"), as_json=True)
    out, err = capsys.readouterr()
    assert code == 4
    line = one_line(err)
    assert line.startswith("upload: BlobNotFound: no blob at ") and "(request id req-1)" in line
    document = json_of(out)
    assert document["exit_code"] == 4
    assert document["error"]["type"] == "NotFoundError"
    assert document["error"]["advice"]
    assert "TOPSECRETSIGNATURE" not in out + err


def test_inspect_takes_sandbox_and_its_json_error_carries_the_exit_code(
    disk_images: DiskImageFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = disk_images.make("vpc", 24 * MIB, "start", subformat="fixed")
    code, out, _ = run_cli(capsys, "inspect", str(made.path), "--sandbox", "--json")
    assert code == 0 and json_of(out)["acceptable"] is True
    code, out, err = run_cli(capsys, "inspect", str(tmp_path / "gone.vhd"), "--json")
    assert code == 2
    assert json_of(out)["exit_code"] == 2
    assert "gone.vhd" in one_line(err)


def test_images_search_usage_errors_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(capsys, "images", "search", "ubuntu", "--location", "x y!", "--json")
    assert code == 2
    assert "is not a region name" in one_line(err)
    assert json_of(out)["error"]["type"] == "UsageError"


def test_images_search_with_a_sandbox_of_its_own_in_a_child_process(tmp_path: Path) -> None:
    done = run_child("images", "search", "ubuntu", "24.04", "--sandbox", "--json",
                     env={"AZURE_IMAGE_STUDIO_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    results = json_of(done.stdout)["results"]
    assert any(hit["urn"] == "Canonical:ubuntu-24_04-lts:server" for hit in results)


def test_smoke_json_is_the_report_as_one_object(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "smoke", "--sandbox", server.arm_url, "--location",
                             "westeurope", "--json")
    assert code == 0, err
    document = json_of(out)
    assert document["passed"] is True and document["exit_code"] == 0
    assert document["resource_group"].startswith("ais-smoke-")
    assert len(document["steps"]) == 24 and all(step["ok"] for step in document["steps"])
    assert [s["title"] for s in document["steps"] if s["cleanup"]][-1] == (
        f"Delete resource group {document['resource_group']}")
    # The live report went to stderr, so stdout is the object alone.
    assert "PASSED: 24 steps, nothing left behind." in err


def test_a_bad_sandbox_url_is_refused_by_every_command_that_talks_to_azure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = qcow2_disk(tmp_path, 24 * MIB)
    for argv in (["smoke", "--location", "westeurope"],
                 ["images", "search", "ubuntu"],
                 ["upload", str(disk), "--disk", "d", "--resource-group", "rg",
                  "--location", "westeurope"]):
        code, out, err = run_cli(capsys, *argv, "--sandbox", "http://192.0.2.1:8080", "--json")
        assert code == 2, argv
        assert "--sandbox http://192.0.2.1:8080" in one_line(err)
        assert json_of(out)["exit_code"] == 2


def test_a_command_missing_from_the_build_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(cli.COMMANDS, "copy", "gui.commands.not_built_here")
    code, out, err = run_cli(capsys, "copy", "x", "--to", "y")
    assert code == 2 and out == ""
    assert one_line(err) == "azure-image-studio: this build has no copy command"


@pytest.mark.parametrize(
    "argv",
    [["smoke", "--bogus"], ["upload"], ["images", "search"], ["inspect", "a.vhd", "--scan=x"]],
)
def test_argparse_usage_errors_are_one_line_and_with_json_one_object(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    for wants_json in (False, True):
        with pytest.raises(SystemExit) as done:
            cli.main([*argv, *(["--json"] if wants_json else [])])
        assert done.value.code == 2
        out, err = capsys.readouterr()
        line = one_line(err)
        assert line.startswith("azure-image-studio ") and line.endswith(" --help)")
        if wants_json:
            assert json_of(out) == {"error": {"type": "UsageError", "message": line,
                                              "advice": ""}, "exit_code": 2}
        else:
            assert out == ""

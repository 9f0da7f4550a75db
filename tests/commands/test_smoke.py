"""``azure-image-studio smoke`` against the sandbox over real HTTP: the whole path, the report,
the exit code, and nothing left behind - also when a step fails half-way."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from gui.cli import main as cli_main
from gui.commands import smoke
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from tests.sandbox.helpers import group_exists


@pytest.fixture
def server(fresh_sandbox: SandboxServer) -> Iterator[SandboxServer]:
    fresh_sandbox.lro_seconds = 0.05
    fresh_sandbox.replication_seconds_per_region = 0.1
    yield fresh_sandbox


def _run(server: SandboxServer, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli_main(["smoke", "--sandbox", server.arm_url, "--location", "westeurope"])
    out, err = capsys.readouterr()
    return code, out, err


def _group(out: str) -> str:
    found = re.search(r"resource group (ais-smoke-\d{12}-[0-9a-f]{6})\n", out)
    assert found, out
    return found.group(1)


def _lines(out: str) -> dict[str, str]:
    """Report lines by title (the first of equal titles), each with its status and detail."""
    lines: dict[str, str] = {}
    for line in out.splitlines():
        m = re.match(r"^\s*\d+\s{2}(.+?)\s+(OK|FAILED)\s+[\d.]+ s(?:\s{2}(.*))?$", line)
        if m:
            lines.setdefault(m.group(1).strip(), f"{m.group(2)} {m.group(3) or ''}".strip())
    return lines


def _left_behind(server: SandboxServer, group: str) -> list[str]:
    """Every resource of the group the sandbox still holds, and the group itself."""
    key = f"/resourcegroups/{group}".lower()
    return [r["id"] for r in server.world.store.all() if key in r["id"].lower()]


def _disk_containers(server: SandboxServer) -> set[str]:
    """The containers holding managed disks' data (in md-impexp-* accounts) that still exist."""
    data = server.state_dir / "blob" / "data"
    return {f"{p.parent.name}/{p.name}" for p in data.glob("md-impexp-*/*")}


PATH_STEPS = (
    "Sign in",
    "Make a 32.0 MiB test disk image",
    "Create managed disk ais-smoke-disk for upload",
    "Grant write access",
    "Upload the 32.0 MiB disk (data only)",
    "Revoke write access",
    "Upload finished: disk ais-smoke-disk is Unattached",
    "Create managed image ais-smoke-image",
    "Create image definition ais-smoke-linux",
    "Create version 1.0.0 of ais-smoke-linux",
    "Replicate to westeurope",
    "Read back managed disk ais-smoke-disk",
    "Read back managed image ais-smoke-image",
    "Read back image definition ais-smoke-linux",
    "Read back image version 1.0.0",
    "Delete image version 1.0.0",
    "Delete image definition ais-smoke-linux",
    "Delete managed image ais-smoke-image",
    "Delete managed disk ais-smoke-disk",
)


def test_the_whole_path_passes_and_leaves_nothing_behind(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    disks_before = _disk_containers(server)
    code, out, err = _run(server, capsys)
    assert code == 0, out + err
    group = _group(out)
    lines = _lines(out)
    for title in PATH_STEPS:
        assert lines.get(title, "").startswith("OK"), (title, out)
    assert lines[f"Create resource group {group}"] == "OK"
    assert lines[f"Delete resource group {group}"] == "OK"
    assert lines["Upload finished: disk ais-smoke-disk is Unattached"] == (
        "OK 4.0 MiB sent, 28.0 MiB skipped"
    )
    assert lines["Read back image version 1.0.0"] == "OK Succeeded, OS disk image of 1 GB"
    assert out.splitlines()[-1] == "PASSED: 24 steps, nothing left behind."
    assert "Cleanup:" in out
    assert err == ""
    assert _left_behind(server, group) == []
    assert not asyncio.run(group_exists(server, group))
    assert _disk_containers(server) == disks_before  # the disk's data went with it


def test_a_step_refused_for_a_missing_role_still_cleans_up_and_exits_3(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # The account may not create managed images (a missing role): fails after the disk upload.
    server.faults.add(
        r"/providers/Microsoft\.Compute/images/ais-smoke-image$",
        status=403,
        code="AuthorizationFailed",
        method="PUT",
    )
    code, out, err = _run(server, capsys)
    assert code == 3, out + err  # the table's "the account may not do this"
    group = _group(out)
    lines = _lines(out)
    assert lines["Create managed image ais-smoke-image"].startswith("FAILED AuthorizationFailed")
    assert "Create image definition ais-smoke-linux" not in lines  # the path stopped there
    assert lines["Delete managed image ais-smoke-image"] == "OK was not created"
    assert lines["Delete managed disk ais-smoke-disk"] == "OK"
    assert lines[f"Delete resource group {group}"] == "OK"
    assert "Delete gallery" not in out  # nothing of the gallery was made, nothing to delete
    assert "FAILED at: Create managed image ais-smoke-image" in out
    assert "Everything the smoke test created was deleted." in out
    assert _left_behind(server, group) == []
    assert not asyncio.run(group_exists(server, group))


def test_a_failure_during_the_upload_revokes_and_deletes_the_disk(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    # Storage refuses the pages (a firewall or policy): the engine fails mid-upload.
    server.faults.add(
        r"/md-impexp-", status=403, code="AuthorizationPermissionMismatch", method="PUT"
    )
    code, out, err = _run(server, capsys)
    assert code == 1, out + err
    group = _group(out)
    lines = _lines(out)
    assert lines["Upload the 32.0 MiB disk (data only)"].startswith("FAILED")
    assert lines["Delete managed disk ais-smoke-disk"] == "OK"
    assert lines[f"Delete resource group {group}"] == "OK"
    assert _left_behind(server, group) == []


def test_a_failed_cleanup_names_what_to_delete_by_hand(
    server: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.faults.add(r"/resourcegroups/ais-smoke-[^/]+$", status=409, method="DELETE")
    code, out, _ = _run(server, capsys)
    assert code == 1
    group = _group(out)
    assert _lines(out)[f"Delete resource group {group}"].startswith("FAILED Conflict")
    assert f"az group delete --name {group} --subscription {PRODUCTION_SUBSCRIPTION_ID}" in out
    # Only the group itself is left (everything in it was deleted one by one).
    assert _left_behind(server, group) == [
        f"/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/{group}"
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--location", "westeurope"], "give --subscription ID and --location REGION"),
        (["--subscription", PRODUCTION_SUBSCRIPTION_ID], "give --subscription ID"),
        (["--subscription", "not-a-guid", "--location", "westeurope"], "not a subscription id"),
        (["--subscription", PRODUCTION_SUBSCRIPTION_ID, "--location", "West?"], "region name"),
        (["--sandbox", "http://10.1.2.3:8080", "--location", "westeurope"], "--sandbox"),
        (
            ["--subscription", PRODUCTION_SUBSCRIPTION_ID, "--location", "x1y", "--cloud", "Moon"],
            "--cloud 'Moon'",
        ),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli_main(["smoke", *argv])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert "Traceback" not in err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli_main(["smoke", "--bogus"])
    assert caught.value.code == 2


def test_group_names_are_dated_and_random() -> None:
    when = datetime(2025, 3, 4, 5, 6, tzinfo=UTC)
    first, second = smoke.new_group_name(when), smoke.new_group_name(when)
    assert re.fullmatch(r"ais-smoke-202503040506-[0-9a-f]{6}", first)
    assert first != second


def test_ctrl_c_mid_path_still_cleans_up(server: SandboxServer) -> None:
    import signal
    import subprocess
    import sys
    from pathlib import Path

    server.replication_seconds_per_region = 3.0  # the version is being made at Ctrl+C
    process = subprocess.Popen(
        [sys.executable, "-m", "gui", "smoke", "--sandbox", server.arm_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "Create image definition ais-smoke-linux" in line:
            break
    process.send_signal(signal.SIGINT)
    rest, err = process.communicate(timeout=120)
    out = "".join(seen) + rest
    assert process.returncode == 130, out + err  # the table's "interrupted"
    assert err.strip() == "azure-image-studio smoke: interrupted"
    group = _group(out)
    lines = _lines(out)
    # Ctrl+C lands just before or while the version is created: deleted, or never made.
    assert lines["Delete image version 1.0.0"] in ("OK", "OK was not created")
    assert lines["Delete gallery ais_smoke_" + group.rsplit("-", 1)[1]] == "OK"
    assert lines[f"Delete resource group {group}"] == "OK"
    assert _left_behind(server, group) == []

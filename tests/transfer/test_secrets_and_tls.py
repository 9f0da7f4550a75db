"""Secrets travel only over TLS and never through the process list; bad URLs get one line."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gui.commands import upload as upload_command
from gui.transfer import ConnectionStringTarget, SasUrlTarget, TokenCredentialTarget
from gui.transfer.tls import InsecureTransportError
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory
from tests.transfer.helpers import expected_blob

ROOT = Path(__file__).resolve().parents[2]
SAS = "sv=2021-08-06&se=2099-01-01T00%3A00%3A00Z&sr=b&sp=racw&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"
SIGNATURE = "c2VjcmV0LXNpZ25hdHVyZQ"


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every name resolution and connection this process attempts (observed, then refused)."""
    seen: list[tuple[Any, ...]] = []

    def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        seen.append(("getaddrinfo", *args))
        raise OSError("the test allows no lookup")

    def create_connection(*args: Any, **kwargs: Any) -> Any:
        seen.append(("create_connection", *args))
        raise OSError("the test allows no connection")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return seen


def run_main(capsys: pytest.CaptureFixture[str], *args: str, stdin: str = "") -> tuple[int, str]:
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = upload_command.main(list(args))
    finally:
        sys.stdin = old_stdin
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--to", f"http://example.invalid/c/disk.vhd?{SAS}"],
        ["--to", f"HTTP://10.0.0.5:80/c/disk.vhd?{SAS}"],
        ["--to", f"http://127.0.0.1.example.invalid/c/disk.vhd?{SAS}"],
        [
            "--connection-string",
            "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;"
            "EndpointSuffix=core.windows.net",
            "--container", "c", "--name", "disk.vhd",
        ],
        [
            "--connection-string",
            "AccountName=acct;AccountKey=a2V5;BlobEndpoint=http://acct.blob.example.invalid/",
            "--container", "c", "--name", "disk.vhd",
        ],
        ["--account-url", "http://acct.blob.example.invalid", "--container", "c", "--name", "d"],
    ],
    ids=["sas-url", "sas-url-upper-case-ip", "loopback-lookalike", "cs-protocol",
         "cs-endpoint", "account-url"],
)  # fmt: skip
def test_plain_http_is_refused_before_any_lookup_or_connection(
    args: list[str],
    lookups: list[tuple[Any, ...]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    code, err = run_main(capsys, str(tmp_path / "disk.vhd"), *args)
    assert code == 2
    assert err.count("\n") == 1
    assert "unencrypted" in err and "https" in err
    assert SIGNATURE not in err and "a2V5" not in err
    assert lookups == []


def test_loopback_http_is_allowed_for_emulators() -> None:
    for host in ("127.0.0.1", "127.3.4.5", "[::1]", "localhost", "LOCALHOST", "[::ffff:127.0.0.1]"):
        assert SasUrlTarget(f"http://{host}:10000/acct/c/d.vhd?{SAS}").blob_url.startswith("http")
    dev = "DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:1/a"
    assert ConnectionStringTarget(dev, "c", "d").blob_url == "http://127.0.0.1:1/a/c/d"
    with pytest.raises(InsecureTransportError):
        TokenCredentialTarget("http://acct.example.invalid", "c", "d", credential=None)


@pytest.mark.parametrize(
    "url",
    ["http://[::1/c/d.vhd?sig=x", "https://acct.blob.core.windows.net:99999/c/d.vhd?sig=x",
     "acct.blob.core.windows.net/c/d.vhd?sig=x", "https:///c/d.vhd?sig=x", "ftp://h/c/d?sig=x"],
    ids=["bracket", "port", "no-scheme", "no-host", "scheme"],
)  # fmt: skip
def test_a_malformed_url_gets_one_line_and_exit_2(
    url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run_main(capsys, str(tmp_path / "disk.vhd"), "--to", url)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("upload: ")
    assert "URL" in err and "Traceback" not in err


def _cli(home: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "") -> Any:
    return subprocess.run(
        [sys.executable, "-m", "gui", "upload", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "AZURE_IMAGE_STUDIO_HOME": str(home), **(env or {})},
        input=stdin,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("how", ["stdin", "to-env", "default-env"])
def test_the_sas_can_come_from_stdin_or_the_environment(
    how: str, azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 24 * MIB, "start", subformat="fixed")
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, f"{how}.vhd")
    base = [str(made.path), "--progress", "none"]
    if how == "stdin":
        done = _cli(tmp_path, *base, "--to", "-", stdin=url + "\n")
    elif how == "to-env":
        done = _cli(tmp_path, *base, "--to-env", "MY_SAS", env={"MY_SAS": url})
    else:
        done = _cli(tmp_path, *base, env={"AZURE_IMAGE_STUDIO_SAS_URL": url})
    assert done.returncode == 0, done.stderr
    assert azurite.download(container, f"{how}.vhd") == expected_blob(disk_images, made)


def test_missing_sas_sources_are_one_line_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    monkeypatch.delenv("AZURE_IMAGE_STUDIO_SAS_URL", raising=False)
    disk = str(tmp_path / "disk.vhd")
    for args, stdin, says in (
        (["--to-env", "NOT_SET_ANYWHERE"], "", "NOT_SET_ANYWHERE"),
        (["--to", "-"], "", "standard input"),
        (["--to", "-", "--to-env", "X"], "", "not both"),
        ([], "", "AZURE_IMAGE_STUDIO_SAS_URL"),
    ):
        code, err = run_main(capsys, disk, *args, stdin=stdin)
        assert code == 2, args
        assert err.count("\n") == 1 and says in err, err

"""The sandbox answers only requests addressed to a loopback name: no DNS rebinding.

A web page whose host name is re-pointed to 127.0.0.1 can make the browser send requests to the
sandbox, but they carry the page's host name. Raw sockets here, so the Host header is exactly what
an attacker's browser would send (or none at all).
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from gui.sandbox import SandboxServer
from gui.sandbox.server import host_is_loopback


def _raw(
    url: str, path: str, host_line: str | None, version: str = "1.1"
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    lines = [f"GET {path} HTTP/{version}"]
    if host_line is not None:
        lines.append(f"Host: {host_line}")
    lines += ["Authorization: Bearer t", "Connection: close", "", ""]
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return int(status_line.split()[1]), headers, body


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def _arm_path() -> str:
    return "/subscriptions?api-version=2022-12-01"


def _blob_path(sandbox: SandboxServer) -> str:
    url = urlsplit(sandbox.container_sas_url("contosoimgstore", "vhds"))
    return f"{url.path}?restype=container&comp=list&{url.query}"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1.evil.example:{port}",
        "localhost.evil.example",
        "10.0.0.1:{port}",
        "127.0.0.2:{port}",  # loopback, but not a name the sandbox is served under
        "127.0.0.1:1",  # the right name, another port
        "",
    ],
)
def test_arm_refuses_a_foreign_host_header(sandbox: SandboxServer, host: str) -> None:
    port = urlsplit(sandbox.arm_url).port
    status, _, body = _raw(sandbox.arm_url, _arm_path(), host.format(port=port))
    assert status == 400
    doc = json.loads(body)
    assert doc["error"]["code"] == "InvalidHostName"
    assert "127.0.0.1, localhost or [::1]" in doc["error"]["message"]


def test_arm_refuses_a_request_without_host(sandbox: SandboxServer) -> None:
    # HTTP/1.1 requires Host (aiohttp's parser refuses it); HTTP/1.0 does not, the sandbox does.
    status, _, _ = _raw(sandbox.arm_url, _arm_path(), None)
    assert status == 400
    status, _, body = _raw(sandbox.arm_url, _arm_path(), None, version="1.0")
    assert status == 400
    assert json.loads(body)["error"]["code"] == "InvalidHostName"


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST", "[::1]:{port}"]
)
def test_arm_serves_loopback_names(sandbox: SandboxServer, host: str) -> None:
    port = urlsplit(sandbox.arm_url).port
    status, _, body = _raw(sandbox.arm_url, _arm_path(), host.format(port=port))
    assert status == 200
    assert len(json.loads(body)["value"]) == 2


def test_blob_refuses_a_foreign_host_header_in_storage_s_error_shape(
    sandbox: SandboxServer,
) -> None:
    sandbox.create_container("contosoimgstore", "vhds")
    status, headers, body = _raw(sandbox.blob_url, _blob_path(sandbox), "evil.example")
    assert status == 400
    assert headers["x-ms-error-code"] == "InvalidHostName"
    assert b"<Code>InvalidHostName</Code>" in body
    port = urlsplit(sandbox.blob_url).port
    status, _, body = _raw(sandbox.blob_url, _blob_path(sandbox), f"127.0.0.1:{port}")
    assert status == 200, body


def test_a_refused_request_never_reaches_a_handler(sandbox: SandboxServer) -> None:
    before = sandbox.request_count
    _raw(sandbox.arm_url, _arm_path(), "evil.example")
    assert sandbox.request_count == before


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1:8080", 8080, True),
        ("127.0.0.1", 8080, True),
        ("localhost.:8080", 8080, True),
        ("[::1]", 8080, True),
        ("[::1]:8080", 8080, True),
        ("::1", 8080, False),
        ("[::1]:8081", 8080, False),
        ("127.0.0.1:08080", 8080, False),
        ("evil.example:8080", 8080, False),
        ("127.0.0.1@evil.example", 8080, False),
        (None, 8080, False),
    ],
)
def test_host_is_loopback(host: str | None, port: int, expected: bool) -> None:
    assert host_is_loopback(host, port) is expected

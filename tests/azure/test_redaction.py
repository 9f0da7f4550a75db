"""One redaction function guards the log file, the log dock, tracebacks and error messages."""

from __future__ import annotations

import base64
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from pytestqt.qtbot import QtBot

from gui.app import configure_logging
from gui.azure.errors import AzureServiceError, translate
from gui.qt.log_dock import LogDock
from gui.transfer.redact import redact

SIGNATURE = "Zm9vYmFyc2VjcmV0c2lnbmF0dXJl%2B%2F%3D"
SAS_URL = (
    "https://acct.blob.core.windows.net/vhds/disk.vhd?sv=2024-08-04&se=2030-01-01T00%3A00%3A00Z"
    f"&sr=b&sp=rcw&sig={SIGNATURE}"
)
JWT = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9"
    ".eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIn0"
    ".c2lnbmF0dXJlLXBhcnQtb2YtdGhlLXRva2Vu"
)
ACCOUNT_KEY = base64.b64encode(bytes(range(64))).decode()
ENCODED_SAS = quote(SAS_URL, safe="")
DOUBLE_ENCODED_SAS = quote(ENCODED_SAS, safe="")
SECRETS = (SIGNATURE, quote(SIGNATURE, safe=""), JWT, ACCOUNT_KEY, "sharedkeysig0123456789+/=")


@pytest.mark.parametrize(
    "text",
    [
        SAS_URL,
        ENCODED_SAS,
        DOUBLE_ENCODED_SAS,
        f"PUT https://acct/c/b?comp=page copySource={ENCODED_SAS}&x=1",
        f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY};"
        "EndpointSuffix=core.windows.net",
        f'{{"keys": [{{"keyName": "key1", "value": "{ACCOUNT_KEY}"}}]}}',
        f"Authorization: Bearer {JWT}",
        f"{{'Authorization': 'Bearer {JWT}', 'x-ms-version': '2024-08-04'}}",
        f"the token {JWT} expired",
        f"x-ms-copy-source-authorization: Bearer {JWT}",
        "Authorization: SharedKey acct:sharedkeysig0123456789+/=",
        f'{{"access_token": "{JWT}", "token_type": "Bearer"}}',
    ],
)
def test_every_secret_form_is_masked(text: str) -> None:
    out = redact(text)
    assert "REDACTED" in out
    for secret in SECRETS:
        assert secret not in out


def test_what_identifies_a_request_survives() -> None:
    out = redact(SAS_URL)
    assert out.startswith("https://acct.blob.core.windows.net/vhds/disk.vhd?sv=2024-08-04")
    assert "se=2030-01-01T00%3A00%3A00Z" in out and "sp=rcw" in out
    assert redact("http://user:pa55word@proxy.corp:3128") == "http://user:REDACTED@proxy.corp:3128"
    prose = "Bearer token authentication is not permitted for non-TLS protected URLs."
    assert redact(prose) == prose


def test_error_messages_use_the_same_redaction() -> None:
    error = AzureServiceError(f"copy from {ENCODED_SAS} with Authorization: Bearer {JWT}")
    for secret in SECRETS:
        assert secret not in error.user_text()
    wrapped = translate(RuntimeError(f"failed {DOUBLE_ENCODED_SAS}"))
    assert quote(quote(SIGNATURE, safe=""), safe="") not in wrapped.user_text()


def _fail_with_secrets() -> None:
    def inner() -> None:
        raise RuntimeError(
            f"PUT {SAS_URL} failed; headers {{'Authorization': 'Bearer {JWT}'}}; "
            f"copy source {ENCODED_SAS}"
        )

    try:
        inner()
    except RuntimeError as exc:
        raise ValueError(f"while uploading to {DOUBLE_ENCODED_SAS}") from exc


@pytest.fixture
def log_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    root_level = logging.getLogger().level
    path = tmp_path / "app.log"
    handler = configure_logging(path)
    try:
        yield path
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
        logging.getLogger().setLevel(root_level)


def _assert_redacted_traceback(text: str) -> None:
    assert "Traceback (most recent call last)" in text
    assert "ValueError: while uploading to" in text and "RuntimeError: PUT" in text
    assert text.count("REDACTED") >= 4
    for secret in SECRETS:
        assert secret not in text


def test_a_logged_traceback_is_redacted_in_the_log_file(log_file: Path) -> None:
    try:
        _fail_with_secrets()
    except ValueError:
        logging.getLogger("gui.test").exception("upload failed")
    _assert_redacted_traceback(log_file.read_text())


def test_an_uncaught_exception_is_redacted_in_the_log_file_and_on_stderr(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        _fail_with_secrets()
    except ValueError:
        sys.excepthook(*sys.exc_info())
    _assert_redacted_traceback(log_file.read_text())
    _assert_redacted_traceback(capsys.readouterr().err)


def test_an_exception_in_a_worker_thread_is_redacted(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = threading.Thread(target=_fail_with_secrets, name="ais-worker-test")
    worker.start()
    worker.join()
    text = log_file.read_text()
    assert "ais-worker-test" in text
    _assert_redacted_traceback(text)
    _assert_redacted_traceback(capsys.readouterr().err)


def test_the_log_dock_shows_a_redacted_traceback(qtbot: QtBot) -> None:
    dock = LogDock()
    qtbot.addWidget(dock)
    try:
        logging.getLogger("gui.test").warning("Authorization: Bearer %s for %s", JWT, ENCODED_SAS)
        try:
            _fail_with_secrets()
        except ValueError:
            logging.getLogger("gui.test").exception("upload failed")
        qtbot.waitUntil(lambda: "Traceback" in dock.view.toPlainText())
        text = dock.view.toPlainText()
    finally:
        dock.detach()
    _assert_redacted_traceback(text)
    assert "Authorization: REDACTED" in text
    for secret in SECRETS:
        assert secret not in text

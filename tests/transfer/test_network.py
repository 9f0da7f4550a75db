"""Corporate networks: a real proxy (tinyproxy) with credentials, a CA bundle from the
environment, NO_PROXY, and the ids on every request that let Azure support trace a failure."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gui.transfer import (
    ProxyConfigError,
    ServiceError,
    UntrustedCertificateError,
    UploadOptions,
)
from gui.transfer.network import user_agent
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory, MadeImage, pattern
from tests.fixtures.proxy import (
    HttpProxy,
    http_proxy,
    http_proxy_with_auth,
    use_proxy,
)
from tests.transfer.faulty_proxy import FaultyProxy
from tests.transfer.helpers import expected_blob, upload

__all__ = ["http_proxy", "http_proxy_with_auth"]  # fixtures, used by name

SIZE = 24 * MIB


@pytest.fixture
def no_ca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)


def image(disk_images: DiskImageFactory) -> MadeImage:
    return disk_images.make("vpc", SIZE, [(MIB, pattern(MIB, 9 * MIB))], subformat="fixed")


def test_upload_goes_through_the_proxy_with_credentials_from_its_url(
    azurite: Azurite,
    http_proxy_with_auth: HttpProxy,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_ca_env: None,
) -> None:
    made = image(disk_images)
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, "proxied.vhd")
    use_proxy(monkeypatch, http_proxy_with_auth)
    result = upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    expected = expected_blob(disk_images, made)
    prefix = f"http://127.0.0.1:{azurite.port}/"
    deadline = time.monotonic() + 10  # tinyproxy may write its log a moment later
    while len(http_proxy_with_auth.requests_to(prefix)) < result.requests < 1000:
        assert time.monotonic() < deadline, http_proxy_with_auth.log_text()[-2000:]
        time.sleep(0.05)
    seen = http_proxy_with_auth.requests_to(prefix)
    assert len(seen) == result.requests  # every request of the engine, none direct
    assert {r.method for r in seen} >= {"HEAD", "PUT", "GET"}
    assert azurite.download(container, "proxied.vhd") == expected


def test_a_proxy_refusing_the_credentials_is_a_clear_error(
    https_azurite: Azurite,
    http_proxy_with_auth: HttpProxy,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = image(disk_images)
    url = https_azurite.blob_sas_url(https_azurite.create_container(), "no-auth.vhd")
    use_proxy(monkeypatch, http_proxy_with_auth)
    assert https_azurite.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https_azurite.ca_file))
    for proxy_url in (
        http_proxy_with_auth.url_without_credentials,
        http_proxy_with_auth.url.replace("proxy-pass-123", "wrong%40pass"),
    ):
        monkeypatch.setenv("HTTPS_PROXY", proxy_url)
        monkeypatch.setenv("https_proxy", proxy_url)
        with pytest.raises(ProxyConfigError) as caught:
            upload(made.path, url, UploadOptions(journal_dir=tmp_path))
        assert "HTTPS_PROXY=http://user:password@" in str(caught.value)
        assert "wrong" not in str(caught.value)
    assert len(http_proxy_with_auth.requests()) == 2  # one CONNECT each, refused, no retries


def test_no_proxy_goes_direct(
    azurite: Azurite,
    http_proxy: HttpProxy,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = image(disk_images)
    url = azurite.blob_sas_url(azurite.create_container(), "direct.vhd")
    use_proxy(monkeypatch, http_proxy)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    monkeypatch.setenv("no_proxy", "localhost,127.0.0.1")
    upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    assert http_proxy.requests() == []


@pytest.fixture(scope="module")
def https_azurite() -> Iterator[Azurite]:
    from tests.fixtures.azurite import AzuriteProcess

    with AzuriteProcess(https_oauth=True) as instance:
        yield instance


def test_https_through_the_proxy_trusts_the_ca_bundle_from_the_environment(
    https_azurite: Azurite,
    http_proxy: HttpProxy,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_ca_env: None,
) -> None:
    made = image(disk_images)
    container = https_azurite.create_container()
    url = https_azurite.blob_sas_url(container, "tls.vhd")
    use_proxy(monkeypatch, http_proxy)
    options = UploadOptions(journal_dir=tmp_path)
    # Without the bundle: a clear, immediate refusal, not retries.
    with pytest.raises(UntrustedCertificateError, match="REQUESTS_CA_BUNDLE"):
        upload(made.path, url, options)
    assert https_azurite.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(https_azurite.ca_file))
    upload(made.path, url, options)
    expected = expected_blob(disk_images, made)
    tunnels = http_proxy.requests_to(f"127.0.0.1:{https_azurite.port}")
    assert tunnels and all(r.method == "CONNECT" for r in tunnels)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    assert https_azurite.download(container, "tls.vhd") == expected


def test_a_bad_ca_bundle_or_proxy_setting_is_one_clear_error(
    azurite: Azurite,
    https_azurite: Azurite,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_ca_env: None,
) -> None:
    made = image(disk_images)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    secure = https_azurite.blob_sas_url(https_azurite.create_container(), "bad-env.vhd")
    with pytest.raises(ProxyConfigError, match="SSL_CERT_FILE"):
        upload(made.path, secure, UploadOptions(journal_dir=tmp_path / "https"))
    # Plain http (a loopback emulator) has no TLS to configure: the bundle is not even read.
    url = azurite.blob_sas_url(azurite.create_container(), "bad-env.vhd")
    assert upload(made.path, url, UploadOptions(journal_dir=tmp_path)).upload_size == SIZE + 512
    monkeypatch.delenv("SSL_CERT_FILE")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "https://user:s3cret@proxy.example.invalid:3128")
    with pytest.raises(ProxyConfigError, match="http://host:port") as caught:
        upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    assert "s3cret" not in str(caught.value)


def test_every_request_carries_the_user_agent_and_a_client_request_id(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = image(disk_images)
    with FaultyProxy(f"http://127.0.0.1:{azurite.port}") as spy:
        url = spy.rewrite(azurite.blob_sas_url(azurite.create_container(), "ua.vhd"))
        result = upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    assert spy.stats.user_agents == {user_agent()}
    assert user_agent().startswith("azure-image-studio/0.")
    ids = spy.stats.client_request_ids
    assert len(ids) == result.requests
    assert all(uuid.UUID(i).version == 4 for i in ids) and len(set(ids)) == len(ids)


def test_a_failure_logs_and_reports_both_request_ids_even_with_a_huge_error_body(
    azurite: Azurite,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    made = image(disk_images)
    huge = b"<html>" + b"x" * (16 * MIB)  # not XML, and far more than an error needs
    with FaultyProxy(
        f"http://127.0.0.1:{azurite.port}",
        error_rate=1.0,
        error_status=400,
        error_code="InvalidHeaderValue",
        error_body=huge,
    ) as spy:
        url = spy.rewrite(azurite.blob_sas_url(azurite.create_container(), "fail.vhd"))
        with (
            caplog.at_level(logging.WARNING, logger="gui.transfer"),
            pytest.raises(ServiceError) as caught,
        ):
            upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    (client_id,) = spy.stats.client_request_ids
    message = str(caught.value)
    assert "400 InvalidHeaderValue" in message and client_id in message
    assert "\n" not in message and "xxxx" not in message
    assert client_id in caplog.text and "x-ms-request-id" in caplog.text

"""Cancel and resume, changed sources, faults, throttling, retry budget and SAS expiry."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gui.diskimage import open_image
from gui.transfer import (
    ConnectionStringTarget,
    InvalidTargetError,
    ProgressSnapshot,
    RetryBudgetExhaustedError,
    RetryPolicy,
    SasExpiredError,
    SasUrlTarget,
    SourceChangedError,
    Upload,
    UploadOptions,
    UploadState,
    list_unfinished,
    target_for,
)
from gui.transfer.journal import Journal
from gui.transfer.plan import WINDOW_SIZE
from gui.transfer.targets import sas_expiry
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory, MadeImage, pattern
from tests.transfer.faulty_proxy import FaultyProxy
from tests.transfer.helpers import (
    cancel_midway,
    fixed_stream,
    md5_b64,
    mixed_writes,
    nonzero_granule_bytes,
)

FAST_RETRY = RetryPolicy(base_delay=0.01, max_delay=0.2)


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultyProxy]:
    with FaultyProxy(f"http://127.0.0.1:{azurite.port}", seed=11) as p:
        yield p


def dense_image(disk_images: DiskImageFactory, size: int = 40 * MIB) -> MadeImage:
    return disk_images.make("vpc", size, [(0, pattern(0, size - 4 * MIB))], subformat="fixed")


def slow_blob(azurite: Azurite, proxy: FaultyProxy, name: str) -> tuple[str, str]:
    """A new container and the SAS URL of blob ``name`` in it through the proxy, which now
    answers each request 30 ms late, so that an upload can be cancelled midway."""
    container = azurite.create_container()
    proxy.latency = 0.03
    return container, proxy.rewrite(azurite.blob_sas_url(container, name))


def resumable(tmp_path: Path, concurrency: int = 1) -> UploadOptions:
    """Options for an upload that is paused, cancelled or resumed: journal in ``tmp_path``,
    frequent progress (the pause or cancel comes from a progress callback)."""
    return UploadOptions(concurrency=concurrency, journal_dir=tmp_path, progress_interval=0.02)


def journaled_bytes(journal_dir: Path) -> int:
    """Bytes of the runs the journal recorded as confirmed by the service."""
    (path,) = journal_dir.glob("*.json")
    journal = Journal.load(path)
    assert journal is not None
    return journal.bytes_sent


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Poll ``condition``; the timeout is generous, only there so a bug fails instead of hangs."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def test_cancel_then_resume_sends_only_what_is_missing(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images)
    container, url = slow_blob(azurite, proxy, "resume.vhd")
    options = resumable(tmp_path, concurrency=2)
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        seen, cancelled = cancel_midway(image, url, options, 8 * MIB)
        assert "resume" in str(cancelled)
        assert seen[-1].state is UploadState.CANCELLED
        proxy.wait_idle()
        first_written = proxy.stats.put_page_bytes
        assert 0 < first_written < len(expected) * 3 // 4

        unfinished = list_unfinished(tmp_path)
        assert len(unfinished) == 1
        entry = unfinished[0]
        assert entry.state == "cancelled"
        assert entry.source.path == str(made.path.resolve())
        assert entry.target["blob_url"] == url.split("?")[0]
        assert "sig" not in repr(entry.target)
        assert 0 < entry.fraction < 1

        journaled = journaled_bytes(tmp_path)
        proxy.latency = 0
        result = Upload(image, SasUrlTarget(url), options).run()

    assert result.resumed
    # What the journal recorded (with its CRC) is kept; pages whose answer the cancel cut off
    # (at most the requests in flight) cannot be checked, so they are sent again.
    assert result.bytes_present == journaled
    assert first_written - options.concurrency * WINDOW_SIZE <= journaled <= first_written
    assert result.bytes_sent + result.bytes_present == nonzero_granule_bytes(expected) + 512
    assert azurite.download(container, "resume.vhd") == expected
    assert result.content_md5 == md5_b64(expected)
    assert list_unfinished(tmp_path) == []


def test_an_unreadable_journal_costs_resending_not_correctness(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images, 24 * MIB)
    container, url = slow_blob(azurite, proxy, "torn.vhd")
    options = resumable(tmp_path)
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        cancel_midway(image, url, options, 4 * MIB)
        proxy.wait_idle()
        on_blob = proxy.stats.put_page_bytes
        (journal,) = tmp_path.glob("*.json")
        journal.write_text('{"version": 1, "key": "tru')  # torn by a power cut
        proxy.latency = 0
        result = Upload(image, SasUrlTarget(url), options).run()
    # The blob's metadata still recognises the source, but without the journal's digests no
    # page on the blob can be checked: everything is sent again (and nothing is mixed).
    assert on_blob > 0 and result.resumed
    assert result.bytes_present == 0
    assert result.bytes_sent == nonzero_granule_bytes(expected) + 512
    assert azurite.download(container, "torn.vhd") == expected
    assert result.content_md5 == md5_b64(expected)


def test_resume_at_next_start_with_another_credential(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images, 24 * MIB)
    container = azurite.create_container()
    endpoint = proxy.rewrite(azurite.blob_endpoint)
    connection = azurite.connection_string.replace(azurite.blob_endpoint, endpoint)
    proxy.latency = 0.03
    options = resumable(tmp_path)
    with open_image(made.path) as image:
        target = ConnectionStringTarget(connection, container, "next start.vhd")
        cancel_midway(image, target, options, 4 * MIB)
    proxy.wait_idle()
    on_blob = proxy.stats.put_page_bytes
    journaled = journaled_bytes(tmp_path)

    # The next start: the journal names the file and the blob, the user gives a fresh SAS.
    (entry,) = list_unfinished(tmp_path)
    assert "AccountKey" not in repr(entry) and "sig=" not in repr(entry)
    other_blob = proxy.rewrite(azurite.blob_sas_url(container, "other.vhd"))
    with pytest.raises(InvalidTargetError, match="goes to"):
        target_for(entry, sas_url=other_blob)
    fresh_sas = proxy.rewrite(azurite.blob_sas_url(container, "next start.vhd"))
    proxy.latency = 0
    with open_image(entry.source.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        result = Upload(image, target_for(entry, sas_url=fresh_sas), options).run()
    assert result.resumed
    assert 0 < result.bytes_present == journaled <= on_blob
    assert azurite.download(container, "next start.vhd") == expected


def test_changed_source_is_refused_and_nothing_is_sent(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images, 24 * MIB)
    _, url = slow_blob(azurite, proxy, "changed.vhd")
    options = resumable(tmp_path)
    with open_image(made.path) as image:
        cancel_midway(image, url, options, 4 * MIB)
    proxy.wait_idle()
    # Same size, new content and time: the kind of change a size check alone would miss.
    with open(made.path, "r+b") as f:
        f.seek(MIB)
        f.write(b"\x01" * 4096)
    stat = made.path.stat()
    os.utime(made.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    before = proxy.stats.put_page_bytes
    with open_image(made.path) as image, pytest.raises(SourceChangedError) as caught:
        Upload(image, SasUrlTarget(url), options).run()
    assert "modified" in str(caught.value)
    assert "start over" in str(caught.value)
    assert proxy.stats.put_page_bytes == before

    # Without the journal the blob's own metadata still recognises another source.
    for entry in list_unfinished(tmp_path):
        entry.discard()
    other = disk_images.make("vpc", 24 * MIB, "start", subformat="fixed")
    with open_image(other.path) as image, pytest.raises(SourceChangedError, match="metadata"):
        Upload(image, SasUrlTarget(url), options).run()
    assert proxy.stats.put_page_bytes == before


def test_pause_stops_sending_and_resume_finishes(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images, 40 * MIB)
    container = azurite.create_container()
    url = proxy.rewrite(azurite.blob_sas_url(container, "pause.vhd"))
    proxy.latency = 0.1
    paused = threading.Event()
    states: list[UploadState] = []
    ref: list[Upload] = []

    in_flight: list[int] = []

    def on_progress(snap: ProgressSnapshot) -> None:
        states.append(snap.state)
        in_flight.append(snap.requests_in_flight)
        if snap.bytes_sent >= 4 * MIB and not paused.is_set():
            paused.set()
            ref[0].pause()

    options = resumable(tmp_path, concurrency=2)
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        upload = Upload(image, SasUrlTarget(url), options, on_progress=on_progress)
        ref.append(upload)
        upload.start()
        assert paused.wait(60)

        def settled() -> bool:
            # The requests sent before the pause have been answered, and every byte the
            # service accepted is counted: from here on nothing may move until resume().
            snap = upload.snapshot
            return (
                snap.state is UploadState.PAUSED
                and snap.requests_in_flight == 0
                and snap.bytes_sent == proxy.stats.put_page_bytes
            )

        wait_until(settled, "the requests in flight at the pause have finished")
        held, requests = upload.snapshot.bytes_sent, proxy.stats.requests
        time.sleep(0.5)  # a window to catch a request sent while paused (there must be none)
        assert proxy.stats.requests == requests
        assert upload.snapshot.bytes_sent == held == proxy.stats.put_page_bytes
        assert upload.snapshot.state is UploadState.PAUSED
        assert 0 < held < len(expected) * 3 // 4
        upload.resume()
        result = upload.result(120)
    assert UploadState.PAUSED in states
    assert 1 <= max(in_flight) <= options.concurrency
    assert states[-1] is UploadState.COMPLETED
    assert result.bytes_sent == nonzero_granule_bytes(expected) + 512
    assert azurite.download(container, "pause.vhd") == expected


def test_resets_and_503s_on_the_way_still_give_an_identical_blob(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    size = 64 * MIB
    # Many small runs: about 200 requests, so 5 % of faults means several of each kind.
    writes = mixed_writes(size, seed=3, scattered=200)
    made = disk_images.make("vpc", size, writes, subformat="dynamic")
    container = azurite.create_container()
    with (
        FaultyProxy(
            f"http://127.0.0.1:{azurite.port}", reset_rate=0.05, error_rate=0.05, seed=5
        ) as proxy,
        open_image(made.path) as image,
    ):
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        url = proxy.rewrite(azurite.blob_sas_url(container, "faulty.vhd"))
        options = UploadOptions(journal_dir=tmp_path, retry=FAST_RETRY)
        result = Upload(image, SasUrlTarget(url), options).run()
        assert proxy.stats.resets > 0
        assert proxy.stats.errors > 0
    assert result.retries > 0
    assert azurite.download(container, "faulty.vhd") == expected
    assert result.content_md5 == md5_b64(expected)


def test_throttling_lowers_requests_in_flight_and_calm_raises_them_again(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images, 40 * MIB)
    container = azurite.create_container()
    limits: list[int] = []
    with (
        FaultyProxy(
            f"http://127.0.0.1:{azurite.port}", error_rate=0.5, error_status=503, latency=0.02
        ) as proxy,
        open_image(made.path) as image,
    ):
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        url = proxy.rewrite(azurite.blob_sas_url(container, "busy.vhd"))
        retry = RetryPolicy(base_delay=0.01, max_delay=0.05, throttle_calm_seconds=0.05)
        options = UploadOptions(
            concurrency=8, journal_dir=tmp_path, retry=retry, progress_interval=0.01
        )

        def on_progress(snap: ProgressSnapshot) -> None:
            limits.append(snap.in_flight_limit)
            if snap.in_flight_limit <= 2:
                proxy.error_rate = 0.0  # the service calms down

        Upload(image, SasUrlTarget(url), options, on_progress=on_progress).run()
    lowest = limits.index(min(limits))
    assert min(limits) <= 2
    assert max(limits[lowest:]) > 1, "requests in flight never rose again after throttling"
    assert azurite.download(container, "busy.vhd") == expected


def test_retry_after_is_honoured(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 8 * MIB, "start", subformat="fixed")
    container = azurite.create_container()
    with (
        FaultyProxy(
            f"http://127.0.0.1:{azurite.port}", error_rate=1.0, retry_after="1.5", error_times=1
        ) as proxy,
        open_image(made.path) as image,
    ):
        url = proxy.rewrite(azurite.blob_sas_url(container, "later.vhd"))
        options = UploadOptions(journal_dir=tmp_path, retry=FAST_RETRY)
        started = time.monotonic()
        result = Upload(image, SasUrlTarget(url), options).run()
        elapsed = time.monotonic() - started
    assert proxy.stats.errors == 1
    assert result.retries == 1
    assert elapsed >= 1.5  # the backoff alone (at most 0.2 s here) would have been quicker


def test_retry_budget_ends_with_a_resumable_error(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 8 * MIB, "start", subformat="fixed")
    container = azurite.create_container()
    with (
        FaultyProxy(
            f"http://127.0.0.1:{azurite.port}",
            error_rate=1.0,
            error_code="InternalError",
            error_status=500,
        ) as proxy,
        open_image(made.path) as image,
    ):
        url = proxy.rewrite(azurite.blob_sas_url(container, "down.vhd"))
        options = UploadOptions(
            journal_dir=tmp_path, retry=RetryPolicy(max_attempts=3, base_delay=0.01)
        )
        with pytest.raises(RetryBudgetExhaustedError) as caught:
            Upload(image, SasUrlTarget(url), options).run()
        assert proxy.stats.requests == 3
    assert caught.value.resumable
    assert "run the same upload again" in str(caught.value)
    assert "500 InternalError" in str(caught.value)


def test_an_expired_sas_is_refused_before_sending_without_leaking_it(
    azurite: Azurite,
) -> None:
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, "late.vhd", expires_in=timedelta(minutes=-5))
    signature = url.split("sig=")[1].split("&")[0]
    with pytest.raises(SasExpiredError) as caught:
        SasUrlTarget(url)
    assert "expired" in str(caught.value)
    assert signature not in str(caught.value)


def test_a_sas_expiring_mid_upload_stops_with_a_resumable_error(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images, 40 * MIB)
    container = azurite.create_container()
    # Long enough for the upload to start even on a loaded machine; once pages are on the blob
    # the proxy holds every request until the SAS has expired, so it expires mid-upload
    # whatever the machine's speed.
    url = proxy.rewrite(
        azurite.blob_sas_url(container, "short.vhd", expires_in=timedelta(seconds=10))
    )
    signature = url.split("sig=")[1].split("&")[0]
    expiry = sas_expiry(url.split("?", 1)[1])
    assert expiry is not None
    proxy.latency = 0.1  # several progress ticks per page: the hold starts well before the end
    sent: list[int] = []

    def on_progress(snap: ProgressSnapshot) -> None:
        if snap.bytes_sent and not any(sent):
            proxy.latency = (expiry - datetime.now(UTC)).total_seconds() + 1.0
        sent.append(snap.bytes_sent)

    options = resumable(tmp_path)
    with open_image(made.path) as image, pytest.raises(SasExpiredError) as caught:
        Upload(image, SasUrlTarget(url), options, on_progress=on_progress).run()
    assert 0 < max(sent) < 40 * MIB
    assert caught.value.resumable
    assert "Create a new SAS" in str(caught.value)
    assert signature not in str(caught.value)
    assert list_unfinished(tmp_path)[0].state == "failed"


class ShortLivedSas(ConnectionStringTarget):
    SAS_LIFETIME = timedelta(seconds=3)
    renew_margin = timedelta(seconds=2)


def test_a_sas_signed_from_an_account_key_is_renewed_before_it_expires(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense_image(disk_images, 24 * MIB)
    container = azurite.create_container()
    proxy.latency = 0.3
    endpoint = proxy.rewrite(azurite.blob_endpoint)
    connection = azurite.connection_string.replace(azurite.blob_endpoint, endpoint)
    target = ShortLivedSas(connection, container, "renewed.vhd")
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        result = Upload(image, target, UploadOptions(concurrency=1, journal_dir=tmp_path)).run()
    assert result.elapsed_seconds > 3  # it outlived the first SAS
    assert len(proxy.stats.signatures) >= 2
    assert azurite.download(container, "renewed.vhd") == expected

"""Downloads of page blobs from Azurite: every format reads back (qemu-img) as the blob's disk,
only allocated pages travel, holes stay holes, a cancelled or killed download fetches only the
rest, Content-MD5 is checked, and a SAS never leaves the process."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from gui.diskimage.writers.vhd import fixed_footer
from gui.transfer.download import (
    FORMATS,
    ChecksumMismatchError,
    Download,
    DownloadCancelledError,
    DownloadOptions,
    OutputExistsError,
    SasUrlSource,
    plan_requests,
)
from gui.transfer.download_journal import DownloadJournal
from gui.transfer.errors import AccessDeniedError
from gui.transfer.progress import ProgressSnapshot
from gui.transfer.ranges import RangeSet
from gui.transfer.tls import InsecureTransportError
from tests.fixtures.azurite import Azurite

MIB = 1024 * 1024
DISK = 48 * MIB
QEMU_FORMAT = {"raw": "raw", "vhd": "vpc", "vhd-dynamic": "vpc", "vhdx": "vhdx"}


@dataclass(frozen=True)
class Blob:
    sas_url: str
    disk: bytes  # the disk's bytes (the blob without its VHD footer)
    allocated: RangeSet  # the pages written inside the disk
    container: str
    name: str


def _writes(seed: int) -> list[tuple[int, bytes]]:
    """Dense runs across 4 MiB cells, scattered sectors, a zero-filled allocated run, the end."""
    rng = random.Random(seed)
    writes = [(3 * MIB + 4096, rng.randbytes(9 * MIB + 1024))]
    for _ in range(40):
        offset = rng.randrange(16 * MIB, DISK - MIB) // 512 * 512
        writes.append((offset, rng.randbytes(rng.choice((512, 4096, 70_144)))))
    writes.append((14 * MIB, bytes(MIB)))  # allocated, but zeros: must not take file space
    writes.append((DISK - 2048, rng.randbytes(2048)))
    return writes


def make_blob(azurite: Azurite, *, vhd: bool = True, seed: int = 3) -> Blob:
    from azure.storage.blob import BlobClient

    container = azurite.create_container()
    name = f"disk-{uuid.uuid4().hex[:8]}.vhd"
    disk = bytearray(DISK)
    allocated = RangeSet()
    size = DISK + 512 if vhd else DISK
    with BlobClient.from_connection_string(azurite.connection_string, container, name) as client:
        client.create_page_blob(size)
        for offset, data in _writes(seed):
            disk[offset : offset + len(data)] = data
            allocated.add(offset, offset + len(data))
            for pos in range(0, len(data), 4 * MIB):
                part = data[pos : pos + 4 * MIB]
                client.upload_page(part, offset=offset + pos, length=len(part))
        if vhd:
            client.upload_page(fixed_footer(DISK, uuid.uuid4(), 0), offset=DISK, length=512)
    return Blob(azurite.blob_sas_url(container, name, permission="r"), bytes(disk), allocated,
                container, name)


def set_md5(azurite: Azurite, blob: Blob, md5: bytes) -> None:
    from azure.storage.blob import BlobClient, ContentSettings

    with BlobClient.from_connection_string(
        azurite.connection_string, blob.container, blob.name
    ) as client:
        client.set_http_headers(ContentSettings(content_md5=bytearray(md5)))


def read_back(path: Path, fmt: str, tmp: Path) -> bytes:
    out = tmp / f"{path.name}.readback.raw"
    subprocess.run(
        ["qemu-img", "convert", "-q", "-f", QEMU_FORMAT[fmt], "-O", "raw", str(path), str(out)],
        check=True,
    )
    data = out.read_bytes()
    out.unlink()
    return data


@pytest.fixture(scope="module")
def blob(azurite: Azurite) -> Blob:
    return make_blob(azurite)


@pytest.fixture
def options(tmp_path: Path) -> DownloadOptions:
    return DownloadOptions(journal_dir=tmp_path / "journals", progress_interval=0.02)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_reads_back_as_the_disk_and_keeps_holes(
    blob: Blob, fmt: str, tmp_path: Path, options: DownloadOptions
) -> None:
    path = tmp_path / f"out.{fmt}"
    result = Download(SasUrlSource(blob.sas_url), path, fmt, options).run()

    assert read_back(path, fmt, tmp_path) == blob.disk
    assert result.virtual_size == DISK and result.blob_size == DISK + 512
    assert result.allocated_bytes == blob.allocated.total
    # Only allocated pages travel (the footer's 512 bytes read besides).
    assert blob.allocated.total <= result.bytes_fetched <= 1.1 * blob.allocated.total
    # Holes stay holes: the file takes about the data's size on the drive, not the disk's.
    nonzero = sum(
        1 for pos in range(0, DISK, 4096) if blob.disk[pos : pos + 4096] != bytes(4096)
    ) * 4096
    used = os.stat(path).st_blocks * 512
    assert used <= nonzero + 8 * MIB, (used, nonzero)
    assert not options.journal_dir or not list(options.journal_dir.glob("*.json"))


def test_a_blob_without_a_footer_is_downloaded_whole(
    azurite: Azurite, tmp_path: Path, options: DownloadOptions
) -> None:
    raw_blob = make_blob(azurite, vhd=False, seed=5)
    path = tmp_path / "plain.raw"
    result = Download(SasUrlSource(raw_blob.sas_url), path, "raw", options).run()
    assert result.virtual_size == DISK
    assert path.read_bytes() == raw_blob.disk


def test_requests_join_near_ranges_but_never_cross_a_chunk() -> None:
    ranges = RangeSet([(0, 512), (4096, 8192), (100_000, 200_000), (4 * MIB - 512, 4 * MIB + 512)])
    planned = list(plan_requests(ranges, 4 * MIB, gap=16 * 1024))
    assert planned == [
        (0, 8192), (100_000, 200_000), (4 * MIB - 512, 4 * MIB), (4 * MIB, 4 * MIB + 512)
    ]


def test_content_md5_is_checked_and_a_wrong_one_refused(
    azurite: Azurite, tmp_path: Path, options: DownloadOptions
) -> None:
    checked = make_blob(azurite, seed=11)
    whole = checked.disk + _tail(azurite, checked)
    set_md5(azurite, checked, hashlib.md5(whole).digest())
    result = Download(SasUrlSource(checked.sas_url), tmp_path / "a.vhd", "vhd-dynamic",
                      options).run()
    assert result.md5_checked
    assert result.content_md5 == base64.b64encode(hashlib.md5(whole).digest()).decode()

    set_md5(azurite, checked, hashlib.md5(b"something else").digest())
    with pytest.raises(ChecksumMismatchError, match="MD5"):
        Download(SasUrlSource(checked.sas_url), tmp_path / "b.raw", "raw", options).run()


def _tail(azurite: Azurite, blob: Blob) -> bytes:
    from azure.storage.blob import BlobClient

    with BlobClient.from_connection_string(
        azurite.connection_string, blob.container, blob.name
    ) as client:
        return client.download_blob(offset=DISK, length=512).readall()


def test_a_cancelled_download_resumes_fetching_only_the_rest(
    blob: Blob, tmp_path: Path, options: DownloadOptions
) -> None:
    path = tmp_path / "resumed.vhd"
    slow = DownloadOptions(journal_dir=options.journal_dir, progress_interval=0.02,
                           concurrency=2, chunk_size=MIB)

    def on_progress(snap: ProgressSnapshot) -> None:
        if snap.bytes_sent >= 3 * MIB:
            first.cancel()

    first = Download(SasUrlSource(blob.sas_url), path, "vhd", slow, on_progress)
    with pytest.raises(DownloadCancelledError, match="resume"):
        first.run()
    journal = DownloadJournal.load(first.journal_path)
    assert journal is not None
    kept = journal.fetched.total
    assert 0 < kept < blob.allocated.total

    second = Download(SasUrlSource(blob.sas_url), path, "vhd", options).run()
    assert second.resumed and second.bytes_present == kept
    # Only the rest travels: what the journal did not hold (plus the footer's 512 bytes).
    assert second.bytes_fetched <= blob.allocated.total - kept + 64 * 1024
    assert read_back(path, "vhd", tmp_path) == blob.disk


_KILLED_RUN = """
import sys
from pathlib import Path
from gui.transfer.bandwidth import BandwidthCap
from gui.transfer.download import Download, DownloadOptions, SasUrlSource
options = DownloadOptions(journal_dir=Path(sys.argv[3]), concurrency=2, chunk_size=1 << 20,
                          bandwidth=BandwidthCap(4 << 20))
Download(SasUrlSource(sys.stdin.readline().strip()), sys.argv[1], sys.argv[2], options).run()
"""


def test_a_killed_download_resumes_fetching_only_the_rest(
    blob: Blob, tmp_path: Path, options: DownloadOptions
) -> None:
    path = tmp_path / "killed.vhdd"
    assert options.journal_dir is not None
    # The SAS goes through stdin, never a process argument.
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_RUN, str(path), "vhd-dynamic", str(options.journal_dir)],
        stdin=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2],
    )
    assert child.stdin is not None
    child.stdin.write(blob.sas_url + "\n")
    child.stdin.close()
    deadline = time.monotonic() + 60
    kept = 0
    while time.monotonic() < deadline and kept < 3 * MIB:
        time.sleep(0.1)
        for found in options.journal_dir.glob("*.json"):
            journal = DownloadJournal.load(found)
            kept = journal.fetched.total if journal else 0
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert 3 * MIB <= kept < blob.allocated.total
    # What the killed run recorded last (it may have saved once more before the kill).
    journals = list(options.journal_dir.glob("*.json"))
    assert len(journals) == 1
    recorded = json.loads(journals[0].read_text())
    kept = RangeSet.from_json(recorded["fetched"]).total

    result = Download(SasUrlSource(blob.sas_url), path, "vhd-dynamic", options).run()
    assert result.resumed and result.bytes_present == kept
    assert result.bytes_fetched <= blob.allocated.total - kept + 64 * 1024
    assert read_back(path, "vhd-dynamic", tmp_path) == blob.disk


def test_an_existing_file_is_not_overwritten_unless_asked(
    blob: Blob, tmp_path: Path, options: DownloadOptions
) -> None:
    path = tmp_path / "taken.raw"
    path.write_bytes(b"precious")
    with pytest.raises(OutputExistsError, match="already exists"):
        Download(SasUrlSource(blob.sas_url), path, "raw", options).run()
    assert path.read_bytes() == b"precious"
    forced = DownloadOptions(journal_dir=options.journal_dir, overwrite=True)
    Download(SasUrlSource(blob.sas_url), path, "raw", forced).run()
    assert path.read_bytes() == blob.disk


def test_plain_http_to_another_host_is_refused_before_connecting() -> None:
    url = "http://example.com/c/disk.vhd?sv=2021-08-06&sp=r&sig=SECRETSIG"
    with pytest.raises(InsecureTransportError) as caught:
        SasUrlSource(url)
    assert "SECRETSIG" not in str(caught.value)


def test_a_refused_sas_says_so_without_the_signature(
    blob: Blob, tmp_path: Path, options: DownloadOptions, caplog: pytest.LogCaptureFixture
) -> None:
    forged = blob.sas_url.replace("sig=", "sig=AAAA")
    with pytest.raises(AccessDeniedError, match="refused the read") as caught:
        Download(SasUrlSource(forged), tmp_path / "denied.raw", "raw", options).run()
    signature = forged.split("sig=", 1)[1].split("&", 1)[0]
    assert signature not in str(caught.value)
    assert signature not in caplog.text


def test_a_paused_download_sends_nothing_until_resumed(
    blob: Blob, tmp_path: Path, options: DownloadOptions
) -> None:
    slow = DownloadOptions(journal_dir=options.journal_dir, progress_interval=0.02,
                           concurrency=2, chunk_size=MIB)
    paused_at: list[int] = []

    def on_progress(snap: ProgressSnapshot) -> None:
        if not paused_at and snap.bytes_sent >= 2 * MIB:
            paused_at.append(snap.bytes_sent)
            running.pause()

    running = Download(SasUrlSource(blob.sas_url), tmp_path / "paused.raw", "raw", slow,
                       on_progress)
    running.start()
    deadline = time.monotonic() + 30
    while not (running.paused and running.snapshot.requests_in_flight == 0):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    time.sleep(0.3)
    held = running.bytes_fetched
    time.sleep(0.5)
    assert running.bytes_fetched == held  # nothing travels while paused
    assert running.snapshot.state.value == "paused"
    running.resume()
    result = running.result(timeout=60)
    assert (tmp_path / "paused.raw").read_bytes() == blob.disk
    assert result.bytes_fetched < blob.allocated.total + 64 * 1024

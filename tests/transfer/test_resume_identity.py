"""A resume never produces a wrong blob: every source file counts, content is checked (not only
size and time), and "verified" means the service holds exactly the source."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobClient

from gui.diskimage import DiskImage, open_image
from gui.transfer import (
    ProgressSnapshot,
    SasUrlTarget,
    SourceChangedError,
    SourceIdentity,
    Upload,
    UploadOptions,
    VerificationError,
)
from gui.transfer.journal import Journal
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, SECTOR, DiskImageFactory, MadeImage, pattern
from tests.transfer.faulty_proxy import FaultyProxy
from tests.transfer.helpers import cancel_midway, expected_blob, fixed_stream, md5_b64, upload

SIZE = 24 * MIB


@pytest.fixture
def proxy(azurite: Azurite) -> Iterator[FaultyProxy]:
    with FaultyProxy(f"http://127.0.0.1:{azurite.port}", seed=5) as p:
        yield p


def options(tmp_path: Path, *, overwrite: bool = False) -> UploadOptions:
    return UploadOptions(
        concurrency=1, journal_dir=tmp_path, progress_interval=0.02, overwrite=overwrite
    )


def cancel_after_8_mib(image: DiskImage, url: str, tmp_path: Path, proxy: FaultyProxy) -> None:
    """Start an upload and cancel it after 8 MiB were sent (the journal keeps what was sent)."""
    proxy.latency = 0.03
    cancel_midway(image, url, options(tmp_path), 8 * MIB)
    proxy.wait_idle()
    proxy.latency = 0


def edit_keeping_size_and_time(path: Path, offset: int, data: bytes) -> None:
    """Change bytes in place and put the modification time back: size and mtime say nothing."""
    before = path.stat()
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def edit_between_samples(path: Path, low: int, high: int) -> int:
    """An edit in [low, high) that the sampled fingerprint does not see (found by trying): so
    only the digest of what was sent can catch it. Returns the offset edited."""
    with open_image(path) as image:
        fingerprint = SourceIdentity.of(image).fingerprint
    for offset in range(low, high, 64 * 1024 + 3 * SECTOR):
        original = path.read_bytes()[offset : offset + SECTOR]
        edit_keeping_size_and_time(path, offset, bytes(b ^ 0x5A for b in original))
        with open_image(path) as image:
            if SourceIdentity.of(image).fingerprint == fingerprint:
                return offset
        edit_keeping_size_and_time(path, offset, original)
    raise AssertionError("every offset tried is sampled by the fingerprint")


def sent_run(journal_dir: Path) -> tuple[int, int]:
    """A run of data the journal records as sent (which runs went first depends on timing)."""
    (path,) = journal_dir.glob("*.json")
    journal = Journal.load(path)
    assert journal is not None
    runs = [(s, e) for window in journal.runs.values() for s, (e, _) in window.items()]
    return max(runs, key=lambda r: r[1] - r[0])


def dense(disk_images: DiskImageFactory) -> MadeImage:
    return disk_images.make("vpc", SIZE, [(0, pattern(0, SIZE - 4 * MIB))], subformat="fixed")


def test_a_same_size_same_time_edit_of_sent_data_is_refused(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense(disk_images)
    container = azurite.create_container()
    url = proxy.rewrite(azurite.blob_sas_url(container, "edited.vhd"))
    with open_image(made.path) as image:
        cancel_after_8_mib(image, url, tmp_path, proxy)
    start, end = sent_run(tmp_path)
    edit_between_samples(made.path, start, end)

    with pytest.raises(SourceChangedError) as caught:
        upload(made.path, url, options(tmp_path))
    assert "changed after part of it was sent" in str(caught.value)
    assert "overwrite" in str(caught.value)
    # Refused again on the next try: the journal still knows what was sent.
    with pytest.raises(SourceChangedError):
        upload(made.path, url, options(tmp_path))

    result = upload(made.path, url, options(tmp_path, overwrite=True))
    expected = expected_blob(disk_images, made)
    assert azurite.download(container, "edited.vhd") == expected
    assert result.content_md5 == md5_b64(expected)


def test_a_same_size_same_time_edit_seen_by_the_fingerprint_sends_nothing(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense(disk_images)
    url = proxy.rewrite(azurite.blob_sas_url(azurite.create_container(), "sampled.vhd"))
    with open_image(made.path) as image:
        cancel_after_8_mib(image, url, tmp_path, proxy)
    edit_keeping_size_and_time(made.path, 100, b"\xee" * SECTOR)  # the first sample's block
    before = proxy.stats.put_page_bytes
    with pytest.raises(SourceChangedError) as caught:
        upload(made.path, url, options(tmp_path))
    assert "differs (same size and time)" in str(caught.value)
    assert proxy.stats.put_page_bytes == before


def test_a_changed_parent_is_refused_and_overwrite_uploads_the_new_chain(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    parent = disk_images.make(
        "vpc", SIZE, [(0, pattern(0, 16 * MIB, 3))], subformat="fixed", name="parent.vhd"
    )
    child_writes = [(3 * SECTOR, pattern(3 * SECTOR, SECTOR, 9)), (12 * MIB, b"\x42" * 4096)]
    child = disk_images.differencing_vhd(parent.path, child_writes, name="child.vhd")
    container = azurite.create_container()
    url = proxy.rewrite(azurite.blob_sas_url(container, "chain.vhd"))
    with open_image(child) as image:
        assert len(image.source_files) == 2
        cancel_after_8_mib(image, url, tmp_path, proxy)
    before = proxy.stats.put_page_bytes

    # The parent changes under the unchanged child: an ordinary edit (new time) ...
    with open(parent.path, "r+b") as f:
        f.seek(2 * MIB)
        f.write(b"\x77" * 8192)
    with pytest.raises(SourceChangedError) as caught:
        upload(child, url, options(tmp_path))
    assert "parent.vhd was modified" in str(caught.value)
    assert proxy.stats.put_page_bytes == before

    # ... and then one that keeps the parent's size and time: still refused.
    edit_keeping_size_and_time(parent.path, 3 * MIB, b"\x66" * 8192)
    os.utime(child, ns=(child.stat().st_atime_ns, child.stat().st_mtime_ns))
    with open_image(child) as image:
        refreshed = SourceIdentity.of(image)
    with pytest.raises(SourceChangedError):
        upload(child, url, options(tmp_path))
    assert refreshed.files[1].path == str(parent.path.resolve())

    with open_image(child) as image:
        raw = bytearray(disk_images.expected_raw(parent.path, "vpc"))
        for offset, data in child_writes:
            raw[offset : offset + len(data)] = data
        expected = bytes(raw).ljust(image.upload_size - SECTOR, b"\0") + image.footer
        Upload(image, SasUrlTarget(url), options(tmp_path, overwrite=True)).run()
    assert azurite.download(container, "chain.vhd") == expected


def test_a_finished_blob_is_rechecked_by_its_md5_before_anything_is_sent(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = dense(disk_images)
    container = azurite.create_container()
    url = proxy.rewrite(azurite.blob_sas_url(container, "finished.vhd"))
    upload(made.path, url, options(tmp_path))
    edit_between_samples(made.path, 5 * MIB, 9 * MIB)
    before = proxy.stats.put_page_bytes
    with pytest.raises(SourceChangedError) as caught:
        upload(made.path, url, options(tmp_path))
    assert "content has changed" in str(caught.value)
    assert proxy.stats.put_page_bytes == before
    upload(made.path, url, options(tmp_path, overwrite=True))
    assert azurite.download(container, "finished.vhd") == expected_blob(disk_images, made)


def test_pages_left_by_other_content_are_cleared_on_resume(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    """Without its journal, a resume trusts no page: it sends every run again and clears the
    pages the source leaves empty, here a sent block the edit turned to zeros."""
    made = dense(disk_images)
    container = azurite.create_container()
    url = proxy.rewrite(azurite.blob_sas_url(container, "stale.vhd"))
    with open_image(made.path) as image:
        cancel_after_8_mib(image, url, tmp_path, proxy)
    start, end = sent_run(tmp_path)
    for journal in tmp_path.glob("*.json"):
        journal.unlink()
    zeroed = edit_between_samples(made.path, start, end)
    edit_keeping_size_and_time(made.path, zeroed // (64 * 1024) * 64 * 1024, bytes(64 * 1024))
    result = upload(made.path, url, options(tmp_path))
    expected = expected_blob(disk_images, made)
    assert result.resumed and result.bytes_present == 0
    assert azurite.download(container, "stale.vhd") == expected


def test_a_page_the_source_does_not_hold_fails_verification_then_is_cleared(
    azurite: Azurite, proxy: FaultyProxy, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", SIZE, [(0, pattern(0, 8 * MIB))], subformat="fixed")
    container = azurite.create_container()
    url = proxy.rewrite(azurite.blob_sas_url(container, "intruder.vhd"))
    direct = azurite.blob_sas_url(container, "intruder.vhd")
    proxy.latency = 0.03
    ref: list[Upload] = []
    written: list[bool] = []

    def on_progress(snap: ProgressSnapshot) -> None:
        if snap.bytes_sent >= 4 * MIB and not written:
            written.append(True)  # someone else writes into what must stay empty
            with BlobClient.from_blob_url(direct) as other:
                other.upload_page(b"\x99" * 4096, offset=16 * MIB, length=4096)

    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        ref.append(Upload(image, SasUrlTarget(url), options(tmp_path), on_progress=on_progress))
        with pytest.raises(VerificationError, match="4096 bytes that should be empty"):
            ref[0].run()
        proxy.latency = 0
        result = Upload(image, SasUrlTarget(url), options(tmp_path)).run()
    assert written and result.content_md5 == md5_b64(expected)
    assert azurite.download(container, "intruder.vhd") == expected

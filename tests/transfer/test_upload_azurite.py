"""Uploads of qemu-made images to Azurite: byte-identical blobs, Content-MD5, only data sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui.transfer import (
    ConnectionStringTarget,
    ProgressSnapshot,
    TargetExistsError,
    UploadOptions,
    UploadState,
)
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory
from tests.transfer.helpers import (
    expected_blob,
    md5_b64,
    mixed_writes,
    nonzero_granule_bytes,
    upload,
)

SIZE = 48 * MIB

FORMATS = [
    pytest.param("vpc", "fixed", id="fixed-vhd"),
    pytest.param("vpc", "dynamic", id="dynamic-vhd"),
    pytest.param("vhdx", "dynamic", id="dynamic-vhdx"),
    pytest.param("vhdx", "fixed", id="fixed-vhdx"),
    pytest.param("raw", None, id="raw"),
]


@pytest.mark.parametrize(("fmt", "subformat"), FORMATS)
def test_blob_is_the_fixed_stream_and_only_data_was_sent(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path, fmt: str, subformat: str | None
) -> None:
    made = disk_images.make(fmt, SIZE, mixed_writes(SIZE), subformat=subformat)
    container = azurite.create_container()
    snapshots: list[ProgressSnapshot] = []
    expected = expected_blob(disk_images, made)
    url = azurite.blob_sas_url(container, "disk.vhd")
    result = upload(made.path, url, UploadOptions(journal_dir=tmp_path), snapshots.append)

    blob = azurite.download(container, "disk.vhd")
    assert len(blob) == len(expected)
    assert blob == expected
    assert result.content_md5 == md5_b64(expected)
    assert result.bytes_sent == nonzero_granule_bytes(expected) + 512
    assert result.bytes_sent + result.bytes_skipped == len(expected)
    assert not list(tmp_path.glob("*.json")), "a finished upload leaves no journal"
    assert snapshots[-1].state is UploadState.COMPLETED
    assert snapshots[-1].bytes_done == len(expected)
    assert [s.bytes_done for s in snapshots] == sorted(s.bytes_done for s in snapshots)


def test_content_md5_is_set_on_the_blob_and_off_with_no_md5(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    from azure.storage.blob import BlobClient

    made = disk_images.make("vpc", 16 * MIB, "scattered", subformat="fixed")
    container = azurite.create_container()
    expected = expected_blob(disk_images, made)
    for name, md5 in (("with.vhd", True), ("without.vhd", False)):
        url = azurite.blob_sas_url(container, name)
        upload(made.path, url, UploadOptions(md5=md5, journal_dir=tmp_path))
    with BlobClient.from_connection_string(azurite.connection_string, container, "with.vhd") as c:
        settings = c.get_blob_properties().content_settings
        assert settings.content_md5 is not None
        assert md5_b64(expected) == md5_b64_raw(bytes(settings.content_md5))
    with BlobClient.from_connection_string(
        azurite.connection_string, container, "without.vhd"
    ) as c:
        assert not c.get_blob_properties().content_settings.content_md5


def md5_b64_raw(digest: bytes) -> str:
    import base64

    return base64.b64encode(digest).decode()


def test_connection_string_target_signs_its_own_sas(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 16 * MIB, "end", subformat="dynamic")
    container = azurite.create_container()
    target = ConnectionStringTarget(azurite.connection_string, container, "by cs.vhd")
    upload(made.path, target, UploadOptions(journal_dir=tmp_path))
    expected = expected_blob(disk_images, made)
    assert azurite.download(container, "by cs.vhd") == expected


def test_second_run_of_a_finished_upload_checks_and_sends_nothing(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 16 * MIB, "start", subformat="fixed")
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, "again.vhd")
    first = upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    second = upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    # The blob's Content-MD5 (set only once verified) equals the file's MD5: nothing to send.
    assert second.bytes_sent == 0
    assert second.bytes_present == first.bytes_sent
    assert second.content_md5 == first.content_md5


def test_a_foreign_blob_is_not_overwritten_unless_asked(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    from azure.storage.blob import BlobClient

    made = disk_images.make("vpc", 8 * MIB, "start", subformat="fixed")
    container = azurite.create_container()
    with BlobClient.from_connection_string(azurite.connection_string, container, "x.vhd") as c:
        c.upload_blob(b"someone else's data")
    url = azurite.blob_sas_url(container, "x.vhd")
    with pytest.raises(TargetExistsError, match="choose another name"):
        upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    upload(made.path, url, UploadOptions(overwrite=True, journal_dir=tmp_path))
    assert azurite.download(container, "x.vhd") == expected_blob(disk_images, made)

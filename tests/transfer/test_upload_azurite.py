"""Uploads of qemu-made images to Azurite: byte-identical blobs, Content-MD5, only data sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from gui.transfer import (
    ConnectionStringTarget,
    ProgressSnapshot,
    SasUrlTarget,
    TargetExistsError,
    Upload,
    UploadOptions,
    UploadState,
)
from gui.vhd import open_image
from tests.fixtures.azurite import Azurite
from tests.fixtures.disk_images import MIB, DiskImageFactory
from tests.transfer.helpers import fixed_stream, md5_b64, mixed_writes, nonzero_granule_bytes

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
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        upload = Upload(
            image,
            SasUrlTarget(azurite.blob_sas_url(container, "disk.vhd")),
            UploadOptions(journal_dir=tmp_path),
            on_progress=snapshots.append,
        )
        result = upload.run()

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
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        for name, md5 in (("with.vhd", True), ("without.vhd", False)):
            Upload(
                image,
                SasUrlTarget(azurite.blob_sas_url(container, name)),
                UploadOptions(md5=md5, journal_dir=tmp_path),
            ).run()
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
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        target = ConnectionStringTarget(azurite.connection_string, container, "by cs.vhd")
        Upload(image, target, UploadOptions(journal_dir=tmp_path)).run()
    assert azurite.download(container, "by cs.vhd") == expected


def test_second_run_of_a_finished_upload_checks_and_sends_nothing(
    azurite: Azurite, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    made = disk_images.make("vpc", 16 * MIB, "start", subformat="fixed")
    container = azurite.create_container()
    url = azurite.blob_sas_url(container, "again.vhd")
    with open_image(made.path) as image:
        first = Upload(image, SasUrlTarget(url), UploadOptions(journal_dir=tmp_path)).run()
        second = Upload(image, SasUrlTarget(url), UploadOptions(journal_dir=tmp_path)).run()
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
    with open_image(made.path) as image:
        expected = fixed_stream(disk_images, made, image.upload_size, image.footer)
        with pytest.raises(TargetExistsError, match="choose another name"):
            Upload(image, SasUrlTarget(url), UploadOptions(journal_dir=tmp_path)).run()
        Upload(image, SasUrlTarget(url), UploadOptions(overwrite=True, journal_dir=tmp_path)).run()
    assert azurite.download(container, "x.vhd") == expected

"""Uploads to the sandbox's blob endpoint (page blobs kept in sparse files): the same guarantees
as against Azurite, from a second, independent implementation of the service."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from gui.sandbox import SandboxServer
from gui.sandbox.seed.world import STORAGE_ACCOUNT_PROD
from gui.transfer import UploadOptions
from tests.fixtures.disk_images import MIB, DiskImageFactory
from tests.transfer.helpers import (
    expected_blob,
    md5_b64,
    mixed_writes,
    nonzero_granule_bytes,
    upload,
)

SIZE = 40 * MIB


def download(url: str) -> bytes:
    from azure.storage.blob import BlobClient

    with BlobClient.from_blob_url(url) as blob:
        return blob.download_blob(max_concurrency=4).readall()


@pytest.mark.parametrize(
    ("fmt", "subformat"),
    [("vpc", "fixed"), ("vpc", "dynamic"), ("vhdx", "dynamic"), ("raw", None)],
    ids=["fixed-vhd", "dynamic-vhd", "dynamic-vhdx", "raw"],
)
def test_sandbox_blob_is_the_fixed_stream(
    sandbox: SandboxServer,
    disk_images: DiskImageFactory,
    tmp_path: Path,
    fmt: str,
    subformat: str | None,
) -> None:
    made = disk_images.make(fmt, SIZE, mixed_writes(SIZE, seed=13), subformat=subformat)
    name = f"{uuid.uuid4().hex}.vhd"
    url = sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "uploads", name)
    result = upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    expected = expected_blob(disk_images, made)
    assert download(url) == expected
    assert result.content_md5 == md5_b64(expected)
    assert result.bytes_sent == nonzero_granule_bytes(expected) + 512


def test_page_lists_in_many_parts_are_followed_with_encoded_markers(
    fresh_sandbox: SandboxServer, disk_images: DiskImageFactory, tmp_path: Path
) -> None:
    """The sandbox answers Get Page Ranges two ranges at a time, with markers holding '+', '/'
    and '=' (as Azure's may): the engine's resume and verification must follow every part."""
    fresh_sandbox.world.blobs.page_range_limit = 2
    made = disk_images.make("vpc", SIZE, mixed_writes(SIZE, seed=21), subformat="fixed")
    url = fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "uploads", "paged.vhd")
    expected = expected_blob(disk_images, made)
    first = upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    again = upload(made.path, url, UploadOptions(journal_dir=tmp_path))
    assert first.requests > again.requests > 2  # the verification's page list came in parts
    # The SDK's page-blob download trusts the first part of the page list alone.
    del fresh_sandbox.world.blobs.page_range_limit
    assert download(url) == expected
    assert again.bytes_sent == 0 and again.bytes_present == first.bytes_sent

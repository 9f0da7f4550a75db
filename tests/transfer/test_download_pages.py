"""Get Page Ranges in many parts: the download follows every NextMarker, where the SDK's page-blob
download reads only the first part and takes the rest of the blob for zeros."""

from __future__ import annotations

import random
import uuid
from pathlib import Path

from gui.diskimage.writers.vhd import fixed_footer
from gui.sandbox import SandboxServer
from gui.sandbox.seed.world import STORAGE_ACCOUNT_PROD
from gui.transfer.download import Download, DownloadOptions, SasUrlSource

MIB = 1024 * 1024
DISK = 96 * MIB  # past the SDK's first GET of 32 MiB, which needs no page list


def test_every_part_of_the_page_list_is_followed(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    from azure.storage.blob import BlobClient

    rng = random.Random(9)
    disk = bytearray(DISK)
    url = fresh_sandbox.blob_sas_url(STORAGE_ACCOUNT_PROD, "uploads", "many-ranges.vhd")
    with BlobClient.from_blob_url(url) as blob:
        blob.create_page_blob(DISK + 512)
        # Runs 4 MiB apart, so none joins another: 24 ranges, 12 answers of 2.
        for n in range(24):
            at = n * 4 * MIB + rng.randrange(0, 64) * 512
            data = rng.randbytes(8192)
            disk[at : at + len(data)] = data
            blob.upload_page(data, offset=at, length=len(data))
        blob.upload_page(fixed_footer(DISK, uuid.uuid4(), 0), offset=DISK, length=512)
    fresh_sandbox.world.blobs.page_range_limit = 2

    # The SDK's own download: past its first GET, only the first answer's ranges come back.
    with BlobClient.from_blob_url(url) as blob:
        sdk = blob.download_blob(max_concurrency=4).readall()[:DISK]
    assert sdk != bytes(disk)

    out = tmp_path / "paged.raw"
    result = Download(SasUrlSource(url), out, "raw",
                      DownloadOptions(journal_dir=tmp_path / "journals")).run()
    assert out.read_bytes() == bytes(disk)
    assert result.allocated_bytes == 24 * 8192

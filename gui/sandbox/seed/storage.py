"""Where the seeded storage accounts live in ARM (the blob endpoint holds their data), and the
page blobs they start with."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property

from gui.diskimage.writers.vhd import fixed_footer
from gui.sandbox.blob.store import BlobMeta, BlobStore
from gui.sandbox.seed import DEVTEST_SUBSCRIPTION_ID, PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import (
    RG_DEVTEST,
    RG_IMAGES,
    STORAGE_ACCOUNT_DEVTEST,
    STORAGE_ACCOUNT_PROD,
)

# account -> (subscription id, resource group, region)
STORAGE_ACCOUNT_HOMES: dict[str, tuple[str, str, str]] = {
    STORAGE_ACCOUNT_PROD: (PRODUCTION_SUBSCRIPTION_ID, RG_IMAGES, "westeurope"),
    STORAGE_ACCOUNT_DEVTEST: (DEVTEST_SUBSCRIPTION_ID, RG_DEVTEST, "eastus"),
}

_MIB = 1024 * 1024


@dataclass(frozen=True)
class SeededVhd:
    """A small fixed VHD as a page blob: the disk of an old unmanaged VM, so the "VHDs in
    storage accounts" source has something to show, download and copy. Data in its first
    and last MiB (two page ranges and a hole between), the VHD footer in the last 512 bytes."""

    account: str
    container: str
    name: str
    disk_size: int  # the virtual disk, without the footer
    disk_id: uuid.UUID
    modified: datetime

    @cached_property
    def data(self) -> tuple[tuple[int, bytes], ...]:
        """(offset, bytes) of each written range, the footer last."""
        head = hashlib.shake_256(f"{self.name}:head".encode()).digest(_MIB)
        tail = hashlib.shake_256(f"{self.name}:tail".encode()).digest(_MIB)
        footer = fixed_footer(self.disk_size, self.disk_id, int(self.modified.timestamp()))
        return ((0, head), (self.disk_size - _MIB, tail + footer))

    @property
    def size(self) -> int:
        return self.disk_size + 512

    @cached_property
    def content(self) -> bytes:
        """The whole blob as a download reads it (zeros where nothing was written)."""
        out = bytearray(self.size)
        for offset, chunk in self.data:
            out[offset : offset + len(chunk)] = chunk
        return bytes(out)

    @property
    def content_md5(self) -> str:
        return base64.b64encode(hashlib.md5(self.content).digest()).decode("ascii")


SEEDED_VHDS: tuple[SeededVhd, ...] = (
    SeededVhd(
        STORAGE_ACCOUNT_PROD,
        "vhds",
        "legacyweb01-osdisk.vhd",
        4 * _MIB,
        uuid.UUID("6c1f0d2e-8a43-4b7e-9d15-3e2a7f0c5b91"),
        datetime(2019, 3, 14, 10, 26, 53, tzinfo=UTC),
    ),
)


def seed_page_blobs(blobs: BlobStore) -> None:
    """Writes each seeded VHD that is not there yet (a kept sandbox state keeps what a user
    did to it: a deleted seed blob stays deleted only until the state is reset)."""
    for vhd in SEEDED_VHDS:
        container = blobs.container(vhd.account, vhd.container)
        if vhd.name in container.blobs:
            continue
        meta = BlobMeta(vhd.name, "PageBlob", vhd.size, created=vhd.modified,
                        last_modified=vhd.modified, content_md5=vhd.content_md5)
        blobs.put_blob(vhd.account, vhd.container, meta)
        for offset, chunk in vhd.data:
            blobs.write_pages(vhd.account, vhd.container, meta, offset, chunk)
        meta.last_modified = vhd.modified  # write_pages touched it
        blobs.flush()

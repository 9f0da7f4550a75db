"""Shared helpers of the transfer tests: expected streams, independent zero counting, and an
upload of a file run, or cancelled midway, in one call."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from gui.diskimage import DiskImage, open_image
from gui.transfer import (
    BlobTarget,
    ProgressCallback,
    ProgressSnapshot,
    SasUrlTarget,
    Upload,
    UploadCancelledError,
    UploadOptions,
    UploadResult,
)
from tests.fixtures.disk_images import MIB, SECTOR, DiskImageFactory, MadeImage, pattern

GRANULE = 64 * 1024


def mixed_writes(size: int, seed: int = 7, scattered: int = 30) -> list[tuple[int, bytes]]:
    """Dense data at an unaligned offset, scattered sectors and a tail: every kind of run."""
    rng = random.Random(seed)
    writes = [(MIB + 4096, pattern(MIB + 4096, 5 * MIB + 3 * SECTOR, seed))]
    for _ in range(scattered):
        offset = rng.randrange(8 * MIB, size - 2 * MIB) // SECTOR * SECTOR
        writes.append((offset, pattern(offset, rng.choice((SECTOR, 4096, 70_000)), seed)))
    tail = size - 3 * MIB - 7 * SECTOR
    writes.append((tail, pattern(tail, size - tail, seed)))
    return writes


def fixed_stream(
    factory: DiskImageFactory, made: MadeImage, upload_size: int, footer: bytes
) -> bytes:
    """The fixed VHD Azure must end up with: qemu-img's raw view, zero-padded, then the footer."""
    raw = factory.expected_raw(made)
    return raw.ljust(upload_size - SECTOR, b"\0") + footer


def expected_blob(factory: DiskImageFactory, made: MadeImage) -> bytes:
    """The fixed VHD a blob must hold once ``made`` is uploaded (its footer included)."""
    with open_image(made.path) as image:
        return fixed_stream(factory, made, image.upload_size, image.footer)


def upload(
    path: Path,
    target: BlobTarget | str,
    options: UploadOptions,
    on_progress: ProgressCallback | None = None,
) -> UploadResult:
    """Uploads the disk image at ``path`` to ``target`` (a string is a SAS URL) and waits."""
    blob = SasUrlTarget(target) if isinstance(target, str) else target
    with open_image(path) as image:
        return Upload(image, blob, options, on_progress=on_progress).run()


def cancel_midway(
    image: DiskImage, target: BlobTarget | str, options: UploadOptions, after: int
) -> tuple[list[ProgressSnapshot], UploadCancelledError]:
    """Runs an upload and cancels it from its progress callback once ``after`` bytes were sent:
    the progress it reported and the error it ended with (the journal keeps what was sent)."""
    blob = SasUrlTarget(target) if isinstance(target, str) else target
    seen: list[ProgressSnapshot] = []

    def on_progress(snap: ProgressSnapshot) -> None:
        seen.append(snap)
        if snap.bytes_sent >= after:
            running.cancel()

    running = Upload(image, blob, options, on_progress=on_progress)
    with pytest.raises(UploadCancelledError) as caught:
        running.run()
    return seen, caught.value


def nonzero_granule_bytes(stream: bytes) -> int:
    """Bytes in 64 KiB blocks of the data part that are not all zero (footer excluded)."""
    data = memoryview(stream)[:-SECTOR]
    zero = bytes(GRANULE)
    total = 0
    for pos in range(0, len(data), GRANULE):
        block = data[pos : pos + GRANULE]
        if block != zero[: len(block)]:
            total += len(block)
    return total


def md5_b64(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.md5(data).digest()).decode()

"""Shared helpers of the transfer tests: expected streams and independent zero counting."""

from __future__ import annotations

import hashlib
import random

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

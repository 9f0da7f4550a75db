"""Files that claim millions of blocks: bounded memory, and the same answers as a plain walk.

The memory bound is measured in a child process (``inspect`` as a user runs it). Time is not
asserted here; tests/benchmarks/bench_crafted.py measures it. The block-table walks work on whole
chunks at once, so random tables are checked against an entry-by-entry reading of the
specification written here, independently of the engine.
"""

from __future__ import annotations

import json
import os
import random
import re
import struct
import sys
from pathlib import Path
from typing import Any

import pytest

from gui.diskimage import open_image
from gui.diskimage.model import MAX_RANGES, RangeCollector
from tests.diskimage import patching
from tests.diskimage.helpers import run_measured
from tests.fixtures.disk_images import (
    MIB,
    DiskImageFactory,
    write_crafted_vhd,
    write_crafted_vhdx,
)

ROOT = Path(__file__).resolve().parents[2]
MEMORY_BOUND = 200 * 1000 * 1000
UNUSED = 0xFFFFFFFF


def inspect_measured(path: Path) -> tuple[int, int | None, dict[str, Any]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    peak, _seconds, status, out = run_measured(
        [sys.executable, "-m", "gui", "inspect", "--json", str(path)], cwd=ROOT, env=env,
        timeout=300)
    report: dict[str, Any] = json.loads(out) if status is not None else {}
    return peak, status, report


@pytest.mark.parametrize("every", [1, 2])
def test_crafted_vhd_is_inspected_in_bounded_memory(tmp_path: Path, every: int) -> None:
    path = tmp_path / "crafted.vhd"
    entries = write_crafted_vhd(path, every=every)
    assert entries > 4_000_000
    peak, status, report = inspect_measured(path)
    assert status in (0, 2)  # answered, not killed
    assert peak < MEMORY_BOUND, f"peak RSS {peak / 1e6:.0f} MB"
    assert report["details"]["Stored blocks"] == f"{-(-entries // every):,} of {entries:,}"
    assert isinstance(report["data_ranges"], int) and report["data_ranges"] <= MAX_RANGES


@pytest.mark.parametrize(("every", "fixed"), [(1, False), (2, False), (1, True)])
def test_crafted_vhdx_is_inspected_in_bounded_memory(tmp_path: Path, every: int,
                                                     fixed: bool) -> None:
    path = tmp_path / "crafted.vhdx"
    blocks = write_crafted_vhdx(path, every=every, fixed=fixed)
    assert blocks > 9_000_000
    peak, status, report = inspect_measured(path)
    assert status in (0, 2)
    assert peak < MEMORY_BOUND, f"peak RSS {peak / 1e6:.0f} MB"
    assert report["details"]["Stored blocks"] == f"{-(-blocks // every):,} of {blocks:,}"
    assert isinstance(report["data_ranges"], int) and report["data_ranges"] <= MAX_RANGES


def test_alternating_blocks_are_all_covered_by_few_ranges(tmp_path: Path) -> None:
    path = tmp_path / "half.vhd"
    entries = write_crafted_vhd(path, every=2)
    with open_image(path) as img:
        ranges = img.data_ranges()
        assert len(ranges) <= MAX_RANGES
        # Every stored block (the even ones) lies inside a range.
        rng = random.Random(5)
        for block in [0, entries - 2, *(rng.randrange(0, entries, 2) for _ in range(2000))]:
            assert any(r.offset <= block * 512 and block * 512 + 512 <= r.end for r in ranges)
        assert img.read(0, 1024) == b"\x5a" * 512 + bytes(512)


# ---- the chunked walks against an entry-by-entry reading of the specification ------------

def _bat_geometry(path: Path) -> tuple[int, int, int, int, int]:
    """(header offset, table offset, entries, block size, file size) of a dynamic VHD."""
    size = path.stat().st_size
    footer = patching.read(path, size - 512, 512)
    header_at = struct.unpack(">Q", footer[16:24])[0]
    header = patching.read(path, header_at, 1024)
    table_at = struct.unpack(">Q", header[16:24])[0]
    entries, block_size = struct.unpack(">II", header[28:36])
    return header_at, table_at, entries, block_size, size


def _vhd_bad(entry: int, header_at: int, table_at: int, entries: int, block_size: int,
             size: int) -> bool:
    bitmap_bytes = -(-(block_size // 512) // 8)  # a bit a sector, whole sectors of them
    bitmap = -(-bitmap_bytes // 512) * 512
    start = entry * 512
    end = start + bitmap + block_size
    return (end > size - 512 or start < 512
            or (start < header_at + 1024 and end > header_at)
            or (start < table_at + 4 * entries and end > table_at))


def _merged_blocks(blocks: list[int], block_size: int, limit: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for b in blocks:
        start, end = b * block_size, min((b + 1) * block_size, limit)
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_vhd_table_walk_matches_the_specification(disk_images: DiskImageFactory,
                                                  seed: int) -> None:
    rng = random.Random(seed)
    made = disk_images.dynamic_vhd(24 * MIB, "scattered", block_size=64 * 1024)
    header_at, table_at, entries, block_size, size = _bat_geometry(made.path)
    bitmap = 512
    interesting = [0, 1, header_at // 512, (header_at + 1024) // 512, table_at // 512,
                   (table_at + 4 * entries) // 512, (size - 512 - bitmap - block_size) // 512,
                   (size - 512 - bitmap - block_size) // 512 + 1, UNUSED - 1]
    stored_at = [e for e in struct.unpack(f">{entries}I",
                                          patching.read(made.path, table_at, 4 * entries))
                 if e != UNUSED]
    table = []
    for _ in range(entries):
        pick = rng.random()
        if pick < 0.4:
            table.append(UNUSED)
        elif pick < 0.8:
            table.append(rng.choice(stored_at))
        elif pick < 0.9:
            table.append(rng.choice(interesting) + rng.choice([-1, 0, 0, 1]))
        else:
            table.append(rng.randrange(0, UNUSED))
    table = [min(max(e, 0), UNUSED) for e in table]
    patching.patch(made.path, table_at, struct.pack(f">{entries}I", *table))
    used = [i for i, e in enumerate(table) if e != UNUSED]
    bad = [i for i in used if _vhd_bad(table[i], header_at, table_at, entries, block_size, size)]
    with open_image(made.path) as img:
        assert ("Stored blocks", f"{len(used):,} of {entries:,}") in img.details
        found = [f for f in img.findings if f.code == "vhd-block-outside-file"]
        if bad:
            assert len(found) == 1
            assert found[0].message.startswith(f"{len(bad)} block table entr")
            assert f"(first: block {bad[0]})" in found[0].message
        else:
            assert not found
        expected = _merged_blocks(used, block_size, img.virtual_size)
        assert [(r.offset, r.end) for r in img.data_ranges()] == expected


@pytest.mark.parametrize("seed", range(6))
def test_vhdx_table_walk_matches_the_specification(disk_images: DiskImageFactory,
                                                   seed: int) -> None:
    rng = random.Random(seed)
    size = 40 * MIB + 3 * 512  # the last block is short
    made = disk_images.make("vhdx", size, "scattered", subformat="dynamic", block_size=MIB)
    file_size = made.path.stat().st_size
    # Find the BAT from the region table (the first copy; qemu writes both alike).
    regions = patching.read(made.path, 192 * 1024, 64 * 1024)
    count = struct.unpack_from("<I", regions, 8)[0]
    bat_at = 0
    for i in range(count):
        guid, offset, _length, _required = struct.unpack_from("<16sQII", regions, 16 + 32 * i)
        if guid == bytes.fromhex("6677c22d23f600429d64115e9bfd4a08"):
            bat_at = offset
    assert bat_at
    blocks = -(-size // MIB)
    last_length = size - (blocks - 1) * MIB
    entries = []
    for _block in range(blocks):
        state = rng.choice([0, 0, 2, 3, 6, 6, 6, 6, 1, 4, 5, 7])
        where = rng.choice([0, 1, file_size // MIB - 1, file_size // MIB,
                            rng.randrange(1, file_size // MIB + 3), 1 << 40])
        entries.append((where << 20) | (rng.randrange(0, 1 << 17) << 3 if rng.random() < 0.1
                                        else 0) | state)
    patching.patch(made.path, bat_at, struct.pack(f"<{blocks}Q", *entries))  # < chunk ratio

    def is_bad(block: int, entry: int) -> bool:
        state = entry & 7
        if state in (0, 1, 2, 3):
            return False
        if state != 6:
            return True
        offset = (entry >> 20) * MIB
        length = last_length if block == blocks - 1 else MIB
        return offset < MIB or offset + length > file_size

    present = [b for b, e in enumerate(entries) if e & 7 == 6]
    bad = [b for b, e in enumerate(entries) if is_bad(b, e)]
    with open_image(made.path) as img:
        assert ("Stored blocks", f"{len(present):,} of {blocks:,}") in img.details
        found = [f for f in img.findings if f.code == "vhdx-bad-block-entry"]
        if bad:
            assert len(found) == 1
            assert re.match(rf"{len(bad)} block table entr", found[0].message)
            assert f"(first: block {bad[0]})" in found[0].message
        else:
            assert not found
        expected = _merged_blocks(present, MIB, img.virtual_size)
        assert [(r.offset, r.end) for r in img.data_ranges()] == expected


def test_range_collector_joins_only_past_its_bound() -> None:
    collector = RangeCollector(max_ranges=8)
    for i in range(8):
        collector.add(i * 100, i * 100 + 10)
    assert collector.gap == 0 and len(collector.ranges()) == 8
    collector.add(900, 910)  # one too many: close neighbours are joined
    ranges = collector.ranges()
    assert len(ranges) <= 4
    assert collector.gap >= 90
    covered = [(r.offset, r.end) for r in ranges]
    for i in range(9):
        assert any(a <= i * 100 and i * 100 + 10 <= b for a, b in covered)
    ordered = RangeCollector()
    ordered.add(100, 110)
    with pytest.raises(AssertionError):
        ordered.add(50, 60)  # out of order: an engine bug, never silently wrong

"""Property tests on damaged and truncated files.

Whatever the damage: only the engine's documented errors escape, no read reaches past the end of
the file, and memory stays bounded no matter what size the damaged file claims.
"""

from __future__ import annotations

import contextlib
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.diskimage import DiskImageError, open_image
from tests.diskimage import patching
from tests.diskimage.helpers import reads_checked
from tests.fixtures.disk_images import MIB, DiskImageFactory

# Generous for a few-MiB file read in 256 KiB pieces; a size-proportional allocation of any
# damaged size field (gigabytes and more) would be far beyond it.
MEMORY_LIMIT = 12 * MIB
READ_PIECE = 256 * 1024


@pytest.fixture(scope="module")
def bases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    factory = DiskImageFactory(tmp_path_factory.mktemp("fuzz-bases"))
    size = 6 * MIB + 3 * 512
    made = {
        "vhd-fixed": factory.make("vpc", size, "scattered", subformat="fixed").path,
        "vhd-dynamic": factory.make("vpc", size, "scattered", subformat="dynamic").path,
        "vhd-dynamic-64k": factory.dynamic_vhd(size, "scattered", block_size=64 * 1024).path,
        "vhdx-dynamic": factory.make("vhdx", size, "scattered", subformat="dynamic",
                                     block_size=MIB).path,
        "vhdx-fixed": factory.make("vhdx", size, "end", subformat="fixed",
                                   block_size=MIB).path,
    }
    parent = factory.make("vpc", size, "start", subformat="dynamic", name="parent.vhd").path
    made["vhd-differencing"] = factory.differencing_vhd(
        parent, [(512, b"\1" * 512), (3 * MIB, b"\2" * 1024)], name="child.vhd",
        block_size=MIB)
    return made


# Where damage matters most: the structures, not the payload.
def hot_spots(kind: str, size: int) -> list[tuple[int, int]]:
    if kind.startswith("vhdx"):
        return [(0, 1024), (64 * 1024, 4096), (128 * 1024, 4096), (192 * 1024, 4096),
                (256 * 1024, 4096), (MIB, 64 * 1024), (2 * MIB, 64 * 1024), (3 * MIB, 4096),
                (0, size)]
    return [(0, 2048), (1536, 4096), (size - 512, 512), (0, size)]


edit = st.tuples(st.integers(0, 8), st.floats(0, 1, allow_nan=False),
                 st.binary(min_size=1, max_size=8))
damage = st.fixed_dictionaries({
    "kind": st.sampled_from(["vhd-fixed", "vhd-dynamic", "vhd-dynamic-64k", "vhdx-dynamic",
                             "vhdx-fixed", "vhd-differencing"]),
    "edits": st.lists(edit, max_size=6),
    "truncate": st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),
    "fix_checksums": st.booleans(),
})


def apply_damage(source: Path, target: Path, spec: dict[str, Any]) -> None:
    shutil.copyfile(source, target)
    size = target.stat().st_size
    spots = hot_spots(spec["kind"], size)
    for spot, where, data in spec["edits"]:
        start, length = spots[spot % len(spots)]
        offset = min(size - len(data), start + int(where * length))
        patching.patch(target, max(0, offset), data)
    if spec["fix_checksums"]:
        # Make the damage look deliberate so it gets past the checksums to the fields behind.
        with contextlib.suppress(Exception):
            if spec["kind"].startswith("vhdx"):
                patching.fix_vhdx_crcs(target)
            else:
                patching.fix_vhd_footers(target)
                if spec["kind"] != "vhd-fixed":
                    patching.fix_dynamic_header(target)
    if spec["truncate"] is not None:
        with open(target, "r+b") as f:
            f.truncate(int(spec["truncate"] * size))


def exercise(path: Path) -> None:
    """Everything a caller may do with an image; DiskImageError is the only acceptable failure."""
    with contextlib.suppress(DiskImageError), open_image(path) as img:
        assert img.upload_size == img.fixed_size + 512
        assert len(img.footer) == 512
        _ = (img.findings, img.acceptable, img.disk_id, img.format)
        ranges = img.data_ranges()
        assert img.allocated_bytes == sum(r.length for r in ranges)
        buf = bytearray(READ_PIECE)
        offsets = [0, max(0, img.upload_size - READ_PIECE - 4096)]
        offsets += [r.offset for r in ranges[:8]]
        for offset in offsets:
            with contextlib.suppress(DiskImageError):
                assert img.readinto(offset, buf) == min(READ_PIECE, img.upload_size - offset)


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(spec=damage)
def test_damage_only_raises_documented_errors(bases: dict[str, Path],
                                              spec: dict[str, Any]) -> None:
    target = bases[spec["kind"]].parent / f"damaged-{spec['kind']}.vhd"
    if spec["kind"].startswith("vhdx"):
        target = target.with_suffix(".vhdx")
    apply_damage(bases[spec["kind"]], target, spec)
    tracemalloc.start()
    try:
        with reads_checked() as problems:
            exercise(target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == []
    assert peak < MEMORY_LIMIT, f"peak {peak:,} bytes"


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["vhd-fixed", "vhd-dynamic", "vhdx-dynamic", "vhd-differencing"]),
       cut=st.floats(0, 1, allow_nan=False))
def test_truncation_only_raises_documented_errors(bases: dict[str, Path], kind: str,
                                                  cut: float) -> None:
    source = bases[kind]
    target = source.parent / f"truncated-{kind}{source.suffix}"
    apply_damage(source, target, {"kind": kind, "edits": [], "truncate": cut,
                                  "fix_checksums": False})
    with reads_checked() as problems:
        exercise(target)
    assert problems == []

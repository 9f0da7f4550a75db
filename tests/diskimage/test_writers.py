"""The download writers: every output format read back by qemu-img and by our own readers.

Each test builds a sparse "disk" in memory (data at the start, the end and scattered, across
block boundaries), writes its allocated ranges through a writer, then compares what
``qemu-img convert -O raw`` and :func:`gui.diskimage.open_image` make of the file with it.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.diskimage import CorruptHeaderError, DiskImage, ImageFormat, Level, open_image
from gui.diskimage.writers import (
    DiskFileWriter,
    DiskFullError,
    FormatSizeLimitError,
    InvalidDiskSizeError,
    InvalidRangeError,
    OutputFileTooLargeError,
    OutputFormat,
    OutputLayout,
    OutputNotWritableError,
    PartialFileMissingError,
    ResumeMismatchError,
    UnplannedWriteError,
    WriterClosedError,
    created_from,
    plan_output,
)

MIB = 1024 * 1024
GIB = 1024 * MIB
QEMU_FORMAT = {OutputFormat.RAW: "raw", OutputFormat.VHD: "vpc",
               OutputFormat.VHD_DYNAMIC: "vpc", OutputFormat.VHDX: "vhdx"}
OUR_FORMAT = {OutputFormat.RAW: ImageFormat.RAW, OutputFormat.VHD: ImageFormat.VHD_FIXED,
              OutputFormat.VHD_DYNAMIC: ImageFormat.VHD_DYNAMIC,
              OutputFormat.VHDX: ImageFormat.VHDX_DYNAMIC}
ALL_FORMATS = list(OutputFormat)


def sparse_disk(seed: int, size: int) -> tuple[bytearray, list[tuple[int, int]]]:
    """A disk of ``size`` bytes and its data ranges: the first and last sectors, a range across
    the 2 MiB block boundaries, and scattered runs of odd (sector-multiple) lengths."""
    rnd = random.Random(seed)
    ranges = [(0, 4096), (size - 1536, 1536), (2 * MIB - 1024, 3 * 512), (6 * MIB - 512, MIB)]
    for _ in range(12):
        length = rnd.randrange(1, 300) * 512
        ranges.append((rnd.randrange(0, (size - length) // 512) * 512, length))
    disk = bytearray(size)
    for offset, length in ranges:
        disk[offset:offset + length] = rnd.randbytes(length)
    return disk, ranges


def write_all(path: Path, layout: OutputLayout, disk: bytearray,
              ranges: list[tuple[int, int]], *, resume: bool = False, finish: bool = True,
              seed: int = 0) -> None:
    """Write the ranges in a shuffled order from four threads, in pieces of odd sizes."""
    pieces: list[tuple[int, int]] = []
    rnd = random.Random(seed)
    for offset, length in ranges:
        pos = offset
        while pos < offset + length:
            step = min(offset + length - pos, rnd.randrange(1, 2048) * 512)
            pieces.append((pos, step))
            pos += step
    rnd.shuffle(pieces)
    view = memoryview(disk)
    with DiskFileWriter(path, layout, resume=resume) as writer, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda p: writer.write(p[0], view[p[0]:p[0] + p[1]]), pieces))
        if finish:
            writer.finish()


def qemu_raw(path: Path, fmt: OutputFormat, tmp_path: Path, *options: str) -> bytes:
    out = tmp_path / f"{path.name}.qemu.raw"
    source = ["--image-opts", f"driver={QEMU_FORMAT[fmt]},file.filename={path}{''.join(options)}"]
    subprocess.run(["qemu-img", "convert", "-O", "raw", *source, str(out)], check=True,
                   capture_output=True)
    data = out.read_bytes()
    out.unlink()
    return data


def qemu_info(path: Path, fmt: OutputFormat) -> dict[str, object]:
    # The format is named: qemu's probe takes a fixed VHD (no footer copy at the start) for raw.
    result = subprocess.run(["qemu-img", "info", "-f", QEMU_FORMAT[fmt], "--output=json",
                             str(path)], check=True,
                            capture_output=True, text=True)
    info: dict[str, object] = json.loads(result.stdout)
    return info


def our_read(path: Path) -> tuple[DiskImage, bytes]:
    img = open_image(path)
    try:
        return img, img.read(0, img.virtual_size)
    finally:
        img.close()


def errors_of(img: DiskImage) -> list[str]:
    # A small test disk is below Azure's 20 MiB minimum: that finding is about Azure, not the file.
    return [f.code for f in img.findings if f.level is Level.ERROR and f.code != "too-small"]


@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=lambda f: f.value)
def test_round_trip_reads_back_identical(fmt: OutputFormat, tmp_path: Path) -> None:
    size = 37 * MIB  # an odd number of MiB: the last 2 MiB block is half outside the disk
    disk, ranges = sparse_disk(1, size)
    layout = plan_output(fmt, size, ranges)
    path = tmp_path / f"disk.{fmt.value}"
    write_all(path, layout, disk, ranges)

    assert path.stat().st_size == layout.file_size
    assert qemu_raw(path, fmt, tmp_path) == disk
    assert qemu_info(path, fmt)["virtual-size"] == size
    if fmt is OutputFormat.VHDX:  # qemu-img checks VHDX (not VHD or raw)
        check = subprocess.run(["qemu-img", "check", "-f", "vhdx", str(path)],
                               check=False, capture_output=True, text=True)
        assert check.returncode == 0, check
        assert "No errors were found" in check.stdout
    img, ours = our_read(path)
    assert img.format is OUR_FORMAT[fmt]
    assert img.virtual_size == size
    assert errors_of(img) == []
    assert ours == disk


@pytest.mark.parametrize("fmt", [OutputFormat.VHD, OutputFormat.VHD_DYNAMIC],
                         ids=lambda f: f.value)
def test_vhd_reads_at_full_size_whatever_qemu_sizes_it_by(fmt: OutputFormat,
                                                          tmp_path: Path) -> None:
    # 100 MiB is no whole CHS geometry: a reader that sized the disk by CHS would read it short.
    size = 100 * MIB
    disk, ranges = sparse_disk(2, size)
    path = tmp_path / "disk.vhd"
    write_all(path, plan_output(fmt, size, ranges), disk, ranges)
    assert qemu_raw(path, fmt, tmp_path) == disk
    assert qemu_raw(path, fmt, tmp_path, ",force_size_calc=current_size") == disk


@pytest.mark.parametrize("fmt", [OutputFormat.VHD_DYNAMIC, OutputFormat.VHDX],
                         ids=lambda f: f.value)
def test_qemu_can_go_on_writing_the_dynamic_formats(fmt: OutputFormat, tmp_path: Path) -> None:
    # A VM attached to the downloaded disk writes into new blocks: qemu's own writer (its log
    # and header updates for VHDX, new blocks and BAT entries) must accept our structures.
    size = 21 * MIB
    disk, ranges = sparse_disk(7, size)
    path = tmp_path / "used.img"
    write_all(path, plan_output(fmt, size, ranges), disk, ranges)
    subprocess.run(["qemu-io", "-f", QEMU_FORMAT[fmt], "-c", f"write -P 0x43 {12 * MIB} {MIB}",
                    str(path)], check=True, capture_output=True)
    disk[12 * MIB:13 * MIB] = b"\x43" * MIB
    assert qemu_raw(path, fmt, tmp_path) == disk
    _img, ours = our_read(path)
    assert ours == disk


def test_why_the_vhd_footers_name_hyper_v_as_their_creator(tmp_path: Path) -> None:
    # The footers come from the one footer builder, whose creator is Hyper-V's "win ". With a
    # creator of our own, qemu (by default) would size the disk by its CHS geometry and read a
    # 100 MiB download 94 KiB short; only an explicit force_size_calc=current_size reads it whole.
    size = 100 * MIB
    path = tmp_path / "own.vhd"
    write_all(path, plan_output(OutputFormat.VHD, size, [(0, 512)]), bytearray(size), [(0, 512)])
    with open(path, "r+b") as f:
        f.seek(size + 28)
        assert f.read(4) == b"win "
        f.seek(size)
        footer = bytearray(f.read(512))
        footer[28:32] = b"azis"
        footer[64:68] = bytes(4)
        footer[64:68] = ((~sum(footer)) & 0xFFFFFFFF).to_bytes(4, "big")
        f.seek(size)
        f.write(footer)
    assert len(qemu_raw(path, OutputFormat.VHD, tmp_path)) < size
    assert len(qemu_raw(path, OutputFormat.VHD, tmp_path, ",force_size_calc=current_size")) == size


@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=lambda f: f.value)
def test_holes_stay_holes(fmt: OutputFormat, tmp_path: Path) -> None:
    size = 512 * MIB
    disk, ranges = sparse_disk(3, size)
    layout = plan_output(fmt, size, ranges)
    path = tmp_path / "disk.img"
    write_all(path, layout, disk, ranges)
    used = path.stat().st_blocks * 512
    assert layout.data_bytes < 3 * MIB
    # The data, a page per range end and the structures: far below the 512 MiB disk.
    assert used <= layout.data_bytes + 2 * 4096 * len(ranges) + 64 * 1024
    assert qemu_raw(path, fmt, tmp_path) == disk


def test_dynamic_vhd_gives_file_space_only_to_blocks_with_data(tmp_path: Path) -> None:
    size = 64 * MIB
    ranges = [(0, 512), (10 * MIB + 4096, 4096), (63 * MIB, MIB)]
    layout = plan_output(OutputFormat.VHD_DYNAMIC, size, ranges)
    assert list(layout.blocks) == [0, 5, 31]
    disk = bytearray(size)
    for offset, length in ranges:
        disk[offset:offset + length] = b"\xa5" * length
    path = tmp_path / "disk.vhd"
    write_all(path, layout, disk, ranges)
    # Three blocks of 2 MiB and the structures, not 64 MiB.
    assert path.stat().st_size < 3 * 2 * MIB + 64 * 1024
    _img, data = our_read(path)
    assert data == disk
    with open_image(path) as img:
        assert [(r.offset, r.length) for r in img.data_ranges()] == [
            (0, 2 * MIB), (10 * MIB, 2 * MIB), (62 * MIB, 2 * MIB)]


@pytest.mark.parametrize(("fmt", "size"), [(OutputFormat.VHD_DYNAMIC, 2040 * GIB),
                                           (OutputFormat.VHDX, 4 * 1024 * GIB)],
                         ids=["vhd-dynamic", "vhdx"])
def test_a_large_disk_is_created_without_touching_its_size(fmt: OutputFormat, size: int,
                                                           tmp_path: Path) -> None:
    # Past 4 GiB, a VHDX's BAT interleaves sector-bitmap entries: blocks far out test that too.
    ranges = [(0, 4096), (1000 * GIB + 6 * MIB - 512, 8192), (size - 4096, 4096)]
    layout = plan_output(fmt, size, ranges)
    assert layout.blocks.count == 4  # the plan keeps the blocks with data, not the disk's blocks
    path = tmp_path / "big.img"
    patterns = {offset: (0x41 + n, length) for n, (offset, length) in enumerate(ranges)}
    with DiskFileWriter(path, layout) as writer:
        for offset, (byte, length) in patterns.items():
            writer.write(offset, bytes([byte]) * length)
        writer.finish()
    assert path.stat().st_blocks * 512 < 6 * MIB  # the VHD's BAT (4 MiB) and four blocks
    assert qemu_info(path, fmt)["virtual-size"] == size
    reads = [f"read -P {byte:#x} {offset} {length}" for offset, (byte, length) in patterns.items()]
    reads.append(f"read -P 0 {2 * GIB} {MIB}")
    qemu_io = subprocess.run(["qemu-io", "-r", "-f", QEMU_FORMAT[fmt],
                              *[arg for read in reads for arg in ("-c", read)], str(path)],
                             capture_output=True, text=True, check=True)
    assert "Pattern verification failed" not in qemu_io.stdout, qemu_io.stdout
    assert qemu_io.stdout.count("read ") == len(reads), qemu_io.stdout
    with open_image(path) as img:
        assert img.virtual_size == size
        assert errors_of(img) == []
        for offset, (byte, length) in patterns.items():
            assert img.read(offset, length) == bytes([byte]) * length


def test_the_plan_keeps_runs_of_blocks_not_every_block() -> None:
    size = 2040 * GIB
    dense = plan_output(OutputFormat.VHD_DYNAMIC, size, [(0, size)])
    assert dense.blocks.count == size // (2 * MIB)
    assert len(dense.blocks.starts) == 1  # memory does not grow with a dense disk's size
    scattered = plan_output(OutputFormat.VHD_DYNAMIC, size,
                            [(5 * MIB, 512), (0, 512), (2 * MIB, 4 * MIB), (100 * GIB, 1)])
    assert list(scattered.blocks) == [0, 1, 2, 51200]
    assert [scattered.blocks.rank(b) for b in (0, 2, 3, 51199, 51200, 51201)] == [
        0, 2, None, None, 3, None]


@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=lambda f: f.value)
def test_resume_continues_a_partial_file(fmt: OutputFormat, tmp_path: Path) -> None:
    size = 21 * MIB
    disk, ranges = sparse_disk(4, size)
    first = plan_output(fmt, size, ranges)
    path = tmp_path / "resumed.img"
    half = len(ranges) // 2
    write_all(path, first, disk, ranges[:half], finish=False)
    # A new process plans again from the journal's identity: the same layout.
    again = plan_output(fmt, size, list(reversed(ranges)), disk_id=first.disk_id,
                        created=created_from(first.timestamp))
    assert again == first
    write_all(path, again, disk, ranges[half:], resume=True)

    whole = tmp_path / "whole.img"
    write_all(whole, first, disk, ranges, seed=9)
    assert path.read_bytes() == whole.read_bytes()
    assert qemu_raw(path, fmt, tmp_path) == disk


def test_an_unfinished_vhdx_has_no_valid_header(tmp_path: Path) -> None:
    size = 21 * MIB
    disk, ranges = sparse_disk(5, size)
    path = tmp_path / "partial.vhdx"
    write_all(path, plan_output(OutputFormat.VHDX, size, ranges), disk, ranges, finish=False)
    with pytest.raises(CorruptHeaderError):
        open_image(path)


def test_an_unfinished_dynamic_vhd_does_not_pass_for_a_whole_one(tmp_path: Path) -> None:
    size = 21 * MIB
    disk, ranges = sparse_disk(5, size)
    path = tmp_path / "partial.vhd"
    write_all(path, plan_output(OutputFormat.VHD_DYNAMIC, size, ranges), disk, ranges,
              finish=False)
    with open_image(path) as img:
        assert "vhd-footer-missing" in errors_of(img)


@pytest.mark.parametrize("change", ["ranges", "size", "format", "identity"])
def test_resume_refuses_a_file_of_another_layout(change: str, tmp_path: Path) -> None:
    size = 21 * MIB
    disk, ranges = sparse_disk(6, size)
    first = plan_output(OutputFormat.VHD_DYNAMIC, size, ranges)
    path = tmp_path / "partial.vhd"
    write_all(path, first, disk, ranges[:3], finish=False)
    disk_id, created = first.disk_id, created_from(first.timestamp)
    fmt = OutputFormat.VHDX if change == "format" else OutputFormat.VHD_DYNAMIC
    other = plan_output(
        fmt, size + MIB if change == "size" else size,
        [(8 * MIB, 512)] if change == "ranges" else ranges,
        disk_id=None if change == "identity" else disk_id, created=created)
    before = path.read_bytes()
    with pytest.raises(ResumeMismatchError, match="cannot be continued"):
        DiskFileWriter(path, other, resume=True)
    assert path.read_bytes() == before


def test_resume_of_a_deleted_file_says_to_start_again(tmp_path: Path) -> None:
    layout = plan_output(OutputFormat.RAW, 20 * MIB, [(0, 512)])
    with pytest.raises(PartialFileMissingError, match="Start the download again"):
        DiskFileWriter(tmp_path / "gone.img", layout, resume=True)


def test_data_outside_the_planned_blocks_is_refused(tmp_path: Path) -> None:
    layout = plan_output(OutputFormat.VHD_DYNAMIC, 20 * MIB, [(0, 512), (8 * MIB, 512)])
    with DiskFileWriter(tmp_path / "d.vhd", layout) as writer:
        writer.write(2 * MIB - 512, b"\1" * 512)  # inside block 0, beside its range: fine
        with pytest.raises(UnplannedWriteError, match="did not name"):
            writer.write(4 * MIB, b"\1" * 512)
        with pytest.raises(UnplannedWriteError):
            writer.write(2 * MIB - 512, b"\1" * 1024)  # runs on into block 1
        with pytest.raises(InvalidRangeError):
            writer.write(20 * MIB - 512, b"\1" * 1024)


@pytest.mark.parametrize("fmt", ALL_FORMATS, ids=lambda f: f.value)
def test_writes_past_the_disk_are_refused(fmt: OutputFormat, tmp_path: Path) -> None:
    layout = plan_output(fmt, 20 * MIB, [(0, 20 * MIB)])
    with DiskFileWriter(tmp_path / "d", layout) as writer, pytest.raises(InvalidRangeError):
        writer.write(20 * MIB, b"\1" * 512)


@pytest.mark.parametrize(("size", "ranges", "error"), [
    (0, [], InvalidDiskSizeError),
    (20 * MIB + 100, [], InvalidDiskSizeError),
    (20 * MIB, [(20 * MIB - 512, 1024)], InvalidRangeError),
    (20 * MIB, [(-512, 512)], InvalidRangeError),
])
def test_impossible_plans_are_refused(size: int, ranges: list[tuple[int, int]],
                                      error: type[Exception]) -> None:
    with pytest.raises(error):
        plan_output(OutputFormat.RAW, size, ranges)


@pytest.mark.parametrize(("fmt", "size"), [(OutputFormat.VHD_DYNAMIC, 2041 * GIB),
                                           (OutputFormat.VHDX, 65 * 1024 * GIB)])
def test_a_disk_beyond_the_format_is_refused_with_advice(fmt: OutputFormat, size: int) -> None:
    with pytest.raises(FormatSizeLimitError, match="Choose another format"):
        plan_output(fmt, size, [(0, 512)])


def test_a_full_drive_is_refused_up_front_with_the_space_needed(tmp_path: Path) -> None:
    size = 1 << 50  # 1 PiB of data: more than the test machine's drive holds
    layout = plan_output(OutputFormat.RAW, size, [(0, size)])
    path = tmp_path / "huge.img"
    with pytest.raises(DiskFullError, match="Not enough free space") as info:
        DiskFileWriter(path, layout)
    assert info.value.needed >= size
    assert "Free some space" in str(info.value)
    assert not path.exists()


def test_an_unwritable_place_says_so(tmp_path: Path) -> None:
    layout = plan_output(OutputFormat.RAW, 20 * MIB, [(0, 512)])
    with pytest.raises(OutputNotWritableError, match="Choose a folder"):
        DiskFileWriter(tmp_path / "no-such-folder" / "d.img", layout)
    (tmp_path / "a-file").write_bytes(b"")
    with pytest.raises(OutputNotWritableError):
        DiskFileWriter(tmp_path / "a-file" / "d.img", layout)


_SMALL_FS = """
import resource, signal, sys
from pathlib import Path
from gui.diskimage.writers import DiskFileWriter, OutputFormat, plan_output
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024 * 1024, 64 * 1024 * 1024))
layout = plan_output(OutputFormat.VHD, 128 * 1024 * 1024, [(0, 512)])
try:
    DiskFileWriter(Path(sys.argv[1]), layout)
except Exception as error:
    print(type(error).__name__, error)
"""


def test_a_file_system_that_cannot_hold_the_size_says_which_to_use(tmp_path: Path) -> None:
    # A file-size limit gives the EFBIG a FAT32 drive gives for a file over 4 GiB.
    assert resource.RLIMIT_FSIZE is not None and signal.SIGXFSZ is not None
    result = subprocess.run([sys.executable, "-c", _SMALL_FS, str(tmp_path / "d.vhd")],
                            capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    assert result.stdout.startswith(OutputFileTooLargeError.__name__), result
    assert "exFAT" in result.stdout


def test_each_format_names_its_file_ending() -> None:
    assert [f.suffix for f in OutputFormat] == [".raw", ".vhd", ".vhd", ".vhdx"]
    assert [OutputFormat(f.value) for f in OutputFormat] == list(OutputFormat)


def test_finish_closes_and_further_writes_are_refused(tmp_path: Path) -> None:
    layout = plan_output(OutputFormat.VHD, 20 * MIB, [(0, 512)])
    writer = DiskFileWriter(tmp_path / "d.vhd", layout)
    writer.finish()
    with pytest.raises(WriterClosedError):
        writer.write(0, b"\0" * 512)
    with pytest.raises(WriterClosedError):
        writer.finish()
    writer.close()  # a second close is harmless


def test_the_identity_is_written_and_kept(tmp_path: Path) -> None:
    disk_id = uuid.UUID("12345678-1234-5678-1234-567812345678")
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    layout = plan_output(OutputFormat.VHD_DYNAMIC, 20 * MIB, [(0, 512)], disk_id=disk_id,
                         created=created)
    assert created_from(layout.timestamp) == created
    path = tmp_path / "d.vhd"
    with DiskFileWriter(path, layout) as writer:
        writer.finish()
    with open_image(path) as img:
        assert img.disk_id == disk_id


_sector_runs = st.lists(st.tuples(st.integers(0, 12 * 1024 - 1), st.integers(1, 3000)),
                        min_size=0, max_size=6)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(ALL_FORMATS), runs=_sector_runs, seed=st.integers(0, 1000))
def test_any_range_set_reads_back(fmt: OutputFormat, runs: list[tuple[int, int]], seed: int,
                                  tmp_path: Path) -> None:
    size = 6 * MIB  # 12,288 sectors; runs may overlap, touch and cross block boundaries
    rnd = random.Random(seed)
    disk = bytearray(size)
    ranges = []
    for first, wanted in runs:
        count = min(wanted, size // 512 - first)
        ranges.append((first * 512, count * 512))
        disk[first * 512:(first + count) * 512] = rnd.randbytes(count * 512)
    path = tmp_path / f"p-{seed}-{fmt.value}"
    write_all(path, plan_output(fmt, size, ranges), disk, ranges, seed=seed)
    _img, data = our_read(path)
    assert data == disk
    assert qemu_raw(path, fmt, tmp_path) == disk
    os.unlink(path)


def test_close_while_workers_write_waits_for_them(tmp_path: Path) -> None:
    # A cancel closes the writer while workers are still writing: a write in flight must end
    # before the descriptor is closed (a closed descriptor number may be reused by another
    # file at once), and every later write is refused as closed, never an I/O error.
    size = 64 * MIB
    layout = plan_output(OutputFormat.RAW, size, [(0, size)])
    data = memoryview(bytes(range(256)) * 4096)  # 1 MiB
    for attempt in range(5):
        writer = DiskFileWriter(tmp_path / f"c{attempt}.img", layout)
        outcomes: list[str] = []

        def work(first: int, writer: DiskFileWriter = writer,
                 outcomes: list[str] = outcomes) -> None:
            for n in range(first, first + 16):
                try:
                    writer.write(n * MIB, data)
                except WriterClosedError:
                    outcomes.append("closed")
                    return
                except Exception as error:  # the failure this test is about
                    outcomes.append(type(error).__name__)
                    return
            outcomes.append("done")

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(work, 16 * k) for k in range(4)]
            writer.close()
            for future in futures:
                future.result()
        assert set(outcomes) <= {"closed", "done"}, outcomes

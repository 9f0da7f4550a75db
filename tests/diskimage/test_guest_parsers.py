"""The guest parsers on their own: the FAT reader against mtools' listing, and fuzzing of the
partition tables, FAT structures and PE headers (only "unknown", never an exception, and never
more reads than the budget)."""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.diskimage import guest
from gui.diskimage.fat import MAX_DIR_ENTRIES, FatError, FatVolume, parse_boot_sector
from gui.diskimage.guest import (
    GuestFacts,
    filesystem_of,
    parse_gpt_header,
    parse_mbr,
    pe_machine,
    read_guest_facts,
)
from tests.fixtures.guest_images import (
    ESP_WINDOWS,
    MACHINE_X64,
    MIB,
    Part,
    fat_volume,
    guest_disks_in,
    partition_starts,
    pe_file,
    run,
)

LONG_FILES = {
    "EFI/BOOT/BOOTX64.EFI": pe_file(MACHINE_X64),
    "A Directory With A Long Name/another file with a long name.txt": os.urandom(10_000),
    "A Directory With A Long Name/Deeper/x.bin": b"x" * 3,
    "short/UPPER.TXT": b"upper",
    "Empty.txt": b"",
}


class FileBytes:
    """A volume or disk in a file, read positionally; optional overlays patch bytes on read."""

    def __init__(self, path: Path, patches: dict[int, bytes] | None = None) -> None:
        self.path = path
        self.fixed_size = path.stat().st_size
        self.patches = patches or {}
        self.reads = 0

    def read(self, offset: int, length: int) -> bytes:
        buf = bytearray(max(0, min(length, self.fixed_size - offset)))
        count = self.readinto(offset, buf)
        return bytes(buf[:count])

    def readinto(self, offset: int, buf: bytearray | memoryview) -> int:
        self.reads += 1
        view = memoryview(buf).cast("B")
        count = max(0, min(len(view), self.fixed_size - offset))
        with self.path.open("rb") as f:
            data = bytearray(os.pread(f.fileno(), count, offset))
        for at, patch in self.patches.items():
            lo, hi = max(at, offset), min(at + len(patch), offset + count)
            if lo < hi:
                data[lo - offset : hi - offset] = patch[lo - at : hi - at]
        view[:count] = data
        return count


def walk(volume: FatVolume, cluster: int | None = None, prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for entry in volume.list_dir(cluster):
        if entry.name in (".", ".."):
            continue
        path = f"{prefix}/{entry.name}"
        if entry.is_directory:
            paths |= walk(volume, entry.first_cluster, path)
        else:
            paths.add(path)
    return paths


def mdir_files(volume: Path) -> set[str]:
    """Every file on the volume as mtools lists it (mdir -/ -b: full paths, recursive)."""
    lines = run("mdir", "-i", volume, "-/", "-b", "::/").splitlines()
    # directories are listed too, with a trailing slash
    return {line[2:] if line.startswith("::") else line for line in lines
            if line and not line.endswith("/")}


@pytest.mark.parametrize(("bits", "size_mib"), [(12, 2), (16, 16), (32, 40)])
def test_fat_reader_agrees_with_mtools(tmp_path: Path, bits: int, size_mib: int) -> None:
    path = fat_volume(tmp_path / f"fat{bits}.img", size_mib, LONG_FILES, fat_bits=bits)
    source = FileBytes(path)
    volume = FatVolume(source, source.fixed_size)
    assert volume.boot.fat_type == bits
    assert walk(volume) == mdir_files(path) == {f"/{name}" for name in LONG_FILES}
    for name, data in LONG_FILES.items():
        entry = volume.find(name.upper())  # case-insensitive, long names included
        assert entry is not None, name
        assert volume.read_file(entry, len(data) + 100) == data
    assert volume.find("EFI/BOOT/MISSING.EFI") is None
    assert volume.find("Empty.txt/inside") is None  # a file is no directory


def test_not_fat_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zeros"
    path.write_bytes(bytes(MIB))
    with pytest.raises(FatError):
        FatVolume(FileBytes(path), MIB)


def test_fat32_root_chain_that_loops_stays_bounded(tmp_path: Path) -> None:
    path = fat_volume(tmp_path / "loop.img", 40, {"EFI/BOOT/BOOTX64.EFI": pe_file(MACHINE_X64)},
                      fat_bits=32)
    boot = parse_boot_sector(path.read_bytes()[:512])
    assert boot is not None
    root = boot.root_cluster
    # The root directory's FAT entry points back at itself; its entries are all one name.
    loop = {boot.fat_offset + 4 * root: struct.pack("<I", root)}
    entry = b"LOOPLOOPEFI" + bytes(21)
    loop[boot.data_offset + (root - 2) * boot.cluster_size] = entry * (boot.cluster_size // 32)
    source = FileBytes(path, loop)
    volume = FatVolume(source, source.fixed_size)
    with pytest.raises(FatError, match="loops"):
        volume.find("EFI/BOOT/BOOTX64.EFI")
    assert source.reads < 10


def test_directory_that_never_ends_is_read_only_so_far(tmp_path: Path) -> None:
    path = fat_volume(tmp_path / "long.img", 16, {}, fat_bits=16)
    boot = parse_boot_sector(path.read_bytes()[:512])
    assert boot is not None
    # A root directory of 512 entries with no end marker, and a BPB claiming 65535 of them.
    patches = {17: struct.pack("<H", 0xFFF0),
               boot.root_offset: (b"NAMENAMETXT" + bytes(21)) * 8192}
    source = FileBytes(path, patches)
    volume = FatVolume(source, source.fixed_size)
    assert sum(1 for _ in volume.list_dir()) <= MAX_DIR_ENTRIES
    assert volume.find("EFI") is None


# --- fuzzing ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, database=None)
@given(data=st.binary(min_size=0, max_size=4096))
def test_parsers_take_any_bytes(data: bytes) -> None:
    entries = parse_mbr(data)
    assert entries is None or len(entries) == 4
    assert parse_gpt_header(data, 1) is None or data[:8] == b"EFI PART"
    name = filesystem_of(data, data[:8])
    assert name is None or isinstance(name, str)
    machine = pe_machine(data)
    assert machine is None or 0 <= machine <= 0xFFFF
    boot = parse_boot_sector(data)
    assert boot is None or boot.cluster_count > 0


def _signed_gpt_header(fields: dict[str, int]) -> bytes:
    header = bytearray(512)
    header[:8] = b"EFI PART"
    struct.pack_into("<IIIIQQQQ", header, 8, 0x10000, 92, 0, 0, 1, fields["alt"], 34,
                     fields["last"])
    struct.pack_into("<QIII", header, 72, fields["entries_lba"], fields["count"],
                     fields["entry_size"], fields["entries_crc"])
    struct.pack_into("<I", header, 16, zlib.crc32(header[:92]))
    return bytes(header)


@settings(max_examples=150, deadline=None, database=None)
@given(fields=st.fixed_dictionaries({
    "alt": st.integers(0, 2**64 - 1), "last": st.integers(0, 2**64 - 1),
    "entries_lba": st.integers(0, 2**64 - 1), "count": st.integers(0, 2**32 - 1),
    "entry_size": st.integers(0, 2**32 - 1), "entries_crc": st.integers(0, 2**32 - 1)}))
def test_gpt_header_with_valid_crc_but_any_fields(fields: dict[str, int]) -> None:
    header = parse_gpt_header(_signed_gpt_header(fields), 1)
    if header is not None:
        _lba, count, size, _crc = header
        assert count * size <= guest.MAX_GPT_ARRAY and size >= 128


@pytest.fixture(scope="module")
def sample_disks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list[int]]]:
    """A GPT disk (ESP with loaders, MSR, NTFS) and an MBR disk with logical partitions, and
    where their structures are, for the fuzzer to damage."""
    disks = guest_disks_in(tmp_path_factory.mktemp("guest-fuzz"))
    gpt = disks.gpt("fuzz-gpt", [Part(34, "EF00", "esp", ESP_WINDOWS), Part(16, "0C01"),
                                 Part(16, "0700", "ntfs")])
    mbr = disks.mbr("fuzz-mbr", [Part(34, "EF", "esp", ESP_WINDOWS), Part(8, "83", "ext2",
                                                                             logical=True),
                                 Part(8, "82", "swap", logical=True)])
    places = {}
    for name, disk in (("gpt", gpt), ("mbr", mbr)):
        starts = [start for start, _size in partition_starts(disk)]
        esp = starts[0]
        boot = parse_boot_sector(disk.read_bytes()[esp : esp + 512])
        assert boot is not None
        # the table sectors, the EBRs, the ESP's boot sector, FAT, root directory and data
        hot = [0, 512, 1024, 1536, disk.stat().st_size - 512, *starts,
               esp + boot.fat_offset, esp + boot.root_offset, esp + boot.data_offset,
               esp + boot.data_offset + boot.cluster_size]
        places[name] = (disk, hot)
    return places


@settings(max_examples=120, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["gpt", "mbr"]), damage=st.lists(st.tuples(
    st.integers(0, 12), st.integers(0, 600), st.binary(min_size=1, max_size=64)),
    min_size=1, max_size=6))
def test_damaged_tables_give_unknowns_not_exceptions(
        sample_disks: dict[str, tuple[Path, list[int]]], kind: str,
        damage: list[tuple[int, int, bytes]]) -> None:
    disk, hot = sample_disks[kind]
    patches = {hot[spot % len(hot)] + delta: data for spot, delta, data in damage}
    source = FileBytes(disk, patches)
    facts = read_guest_facts(source)
    assert isinstance(facts, GuestFacts)
    assert source.reads <= guest.MAX_READS
    json.dumps(facts.to_json())  # always serialisable for inspect --json
    for fact in (facts.os_type, facts.generation, facts.architecture):
        assert fact.evidence  # every conclusion, unknown included, says why


def test_read_budget_stops_a_disk_of_endless_logical_partitions(tmp_path: Path) -> None:
    # Every EBR links to the next sector: the chain is capped, whatever it claims.
    size = 8 * MIB
    disk = bytearray(size)
    struct.pack_into("<B3xB3xII", disk, 446, 0, 0x05, 1, size // 512 - 1)
    disk[510:512] = b"\x55\xaa"
    for sector in range(1, 2000):
        base = sector * 512
        struct.pack_into("<B3xB3xII", disk, base + 446, 0, 0x83, 1, 1)
        struct.pack_into("<B3xB3xII", disk, base + 462, 0, 0x05, sector, 1)
        disk[base + 510 : base + 512] = b"\x55\xaa"
    path = tmp_path / "ebr.raw"
    path.write_bytes(disk)
    source = FileBytes(path)
    facts = read_guest_facts(source)
    assert len(facts.partitions) == guest.MAX_LOGICAL
    assert source.reads <= guest.MAX_READS

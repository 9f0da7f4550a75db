"""Guest facts on disks built with sgdisk, sfdisk, mkfs.* and mtools, read through the fixed
stream of each container (raw, and the same disk as a VHD made by qemu-img)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gui.diskimage import open_image
from gui.diskimage.guest import (
    Architecture,
    Confidence,
    Generation,
    GuestFacts,
    OsType,
    PartitionTable,
    choice_warnings,
    read_guest_facts,
)
from tests.fixtures.guest_images import (
    ESP_ARM64,
    ESP_WINDOWS,
    ESP_X64,
    MACHINE_ARM64,
    MACHINE_I386,
    MACHINE_X64,
    XFS_MIB,
    GuestDisks,
    Part,
    guest_disks_in,
    partition_starts,
    pe_file,
    to_vhd,
)


@pytest.fixture
def disks(tmp_path: Path) -> GuestDisks:
    return guest_disks_in(tmp_path)


def facts_of(path: Path) -> GuestFacts:
    with open_image(path) as img:
        return read_guest_facts(img)


def test_linux_uefi_x64_on_gpt(disks: GuestDisks) -> None:
    disk = disks.gpt("linux-x64", [Part(34, "EF00", "esp", ESP_X64, "EFI system partition"),
                                   Part(64, "8300", "ext4")])
    facts = facts_of(disk)
    assert facts.partition_table is PartitionTable.GPT
    assert [p.filesystem for p in facts.partitions] == ["FAT16", "ext4"]
    assert facts.partitions[0].name == "EFI system partition"
    # where sgdisk put them, as sfdisk reads the table back
    assert [(p.start, p.size) for p in facts.partitions] == partition_starts(disk)
    assert (facts.os_type.value, facts.os_type.confidence) == (OsType.LINUX, Confidence.HIGH)
    assert (facts.generation.value, facts.generation.confidence) == (Generation.V2,
                                                                     Confidence.HIGH)
    assert (facts.architecture.value, facts.architecture.confidence) == (Architecture.X64,
                                                                         Confidence.HIGH)
    assert [(x.path, x.machine) for x in facts.loaders] == [("\\EFI\\BOOT\\BOOTX64.EFI",
                                                             MACHINE_X64)]
    assert any("ext4" in line for line in facts.os_type.evidence)
    assert any("BOOTX64.EFI" in line and "0x8664" in line for line in facts.architecture.evidence)


def test_linux_arm64_xfs_read_through_a_vhd_too(disks: GuestDisks) -> None:
    raw = disks.gpt("linux-arm64", [Part(34, "EF00", "esp", ESP_ARM64),
                                    Part(XFS_MIB, "8300", "xfs")])
    vhd = to_vhd(raw)
    from_raw, from_vhd = facts_of(raw), facts_of(vhd)
    with open_image(vhd) as img:
        assert img.format.name == "VHD_DYNAMIC"  # the facts came through the VHD reader
    assert from_vhd == from_raw
    assert from_vhd.os_type.value is OsType.LINUX
    assert from_vhd.partitions[1].filesystem == "xfs"
    assert from_vhd.generation.value is Generation.V2
    assert from_vhd.architecture.value is Architecture.ARM64
    assert from_vhd.architecture.confidence is Confidence.HIGH


def test_windows_on_gpt(disks: GuestDisks) -> None:
    disk = disks.gpt("windows", [Part(34, "EF00", "esp", ESP_WINDOWS),
                                 Part(16, "0C01"), Part(32, "0700", "ntfs")])
    facts = facts_of(disk)
    assert [p.type_name for p in facts.partitions] == [
        "EFI system partition", "Microsoft reserved partition", "Microsoft basic data"]
    assert facts.partitions[2].filesystem == "NTFS"
    assert (facts.os_type.value, facts.os_type.confidence) == (OsType.WINDOWS, Confidence.HIGH)
    evidence = " ".join(facts.os_type.evidence)
    assert "Windows Boot Manager" in evidence and "bootmgfw.efi" in evidence
    assert "Microsoft reserved partition" in evidence and "NTFS" in evidence
    assert facts.generation.value is Generation.V2
    assert facts.architecture.value is Architecture.X64


def test_linux_bios_on_mbr_with_a_logical_swap(disks: GuestDisks) -> None:
    disk = disks.mbr("linux-bios", [Part(64, "83", "ext4", bootable=True),
                                    Part(16, "82", "swap", logical=True)])
    facts = facts_of(disk)
    assert facts.partition_table is PartitionTable.MBR
    assert [(p.number, p.filesystem, p.bootable) for p in facts.partitions] == [
        (1, "ext4", True), (5, "swap", False)]
    assert facts.os_type.value is OsType.LINUX
    assert (facts.generation.value, facts.generation.confidence) == (Generation.V1,
                                                                     Confidence.HIGH)
    assert facts.architecture.value is Architecture.UNKNOWN


def test_windows_on_mbr(disks: GuestDisks) -> None:
    disk = disks.mbr("windows-bios", [Part(32, "7", "ntfs", bootable=True)])
    facts = facts_of(disk)
    assert facts.os_type.value is OsType.WINDOWS
    assert facts.os_type.confidence is Confidence.MEDIUM  # NTFS alone, no boot manager seen
    assert facts.generation.value is Generation.V1


def test_mbr_without_esp_is_generation_1_even_without_boot_code(disks: GuestDisks) -> None:
    facts = facts_of(disks.mbr("plain-mbr", [Part(32, "83", "ext2")]))
    assert facts.partitions[0].filesystem == "ext2"
    assert (facts.generation.value, facts.generation.confidence) == (Generation.V1,
                                                                     Confidence.MEDIUM)
    assert any("no boot code" in line for line in facts.generation.evidence)


def test_hybrid_mbr_boots_both_ways(disks: GuestDisks) -> None:
    disk = disks.gpt("hybrid", [Part(34, "EF00", "esp", ESP_X64), Part(64, "8300", "ext4")],
                     hybrid=[2])
    facts = facts_of(disk)
    assert facts.partition_table is PartitionTable.HYBRID
    assert facts.generation.value is Generation.BOTH
    assert any("hybrid MBR" in line for line in facts.generation.evidence)


def test_bios_boot_partition_with_and_without_esp(disks: GuestDisks) -> None:
    both = facts_of(disks.gpt("grub-both", [Part(1, "EF02"), Part(34, "EF00", "esp", ESP_X64),
                                            Part(32, "8300", "ext4")]))
    assert both.generation.value is Generation.BOTH
    assert any("BIOS boot partition" in line for line in both.generation.evidence)
    bios = facts_of(disks.gpt("grub-bios", [Part(1, "EF02"), Part(32, "8300", "ext4")]))
    assert (bios.generation.value, bios.generation.confidence) == (Generation.V1,
                                                                   Confidence.MEDIUM)


def test_btrfs_and_ext3(disks: GuestDisks) -> None:
    facts = facts_of(disks.gpt("btrfs", [Part(34, "EF00", "esp", ESP_X64),
                                         Part(128, "8300", "btrfs"), Part(16, "8300", "ext3")]))
    assert [p.filesystem for p in facts.partitions[1:]] == ["btrfs", "ext3"]
    assert facts.os_type.value is OsType.LINUX


def test_whole_disk_file_system_is_a_data_disk(disks: GuestDisks) -> None:
    facts = facts_of(disks.whole("data", "ext4", 32))
    assert facts.partition_table is PartitionTable.NONE
    assert facts.whole_disk_filesystem == "ext4"
    assert (facts.os_type.value, facts.os_type.confidence) == (OsType.LINUX, Confidence.LOW)
    assert facts.generation.value is Generation.UNKNOWN
    ntfs = facts_of(disks.whole("ntfs-data", "ntfs", 16))
    assert ntfs.whole_disk_filesystem == "NTFS"
    assert ntfs.partition_table is PartitionTable.NONE


def test_blank_disk_knows_nothing(disks: GuestDisks) -> None:
    facts = facts_of(disks.blank("blank", 8))
    assert facts.partition_table is PartitionTable.NONE
    for fact in (facts.os_type, facts.generation, facts.architecture):
        assert fact.confidence is Confidence.UNKNOWN
    assert facts.to_json()["os_type"] is None
    assert facts.to_json()["generation"] is None


def test_loader_named_x64_but_built_for_arm64_trusts_the_header(disks: GuestDisks) -> None:
    disk = disks.gpt("mislabelled", [
        Part(34, "EF00", "esp", {"EFI/BOOT/BOOTX64.EFI": pe_file(MACHINE_ARM64)}),
        Part(32, "8300", "ext4")])
    facts = facts_of(disk)
    assert (facts.architecture.value, facts.architecture.confidence) == (Architecture.ARM64,
                                                                         Confidence.MEDIUM)
    assert any("file name" in line for line in facts.architecture.evidence)


def test_32_bit_loader_is_named_and_warned_about(disks: GuestDisks) -> None:
    disk = disks.gpt("ia32", [
        Part(34, "EF00", "esp", {"EFI/BOOT/BOOTIA32.EFI": pe_file(MACHINE_I386)}),
        Part(32, "8300", "ext4")])
    facts = facts_of(disk)
    assert facts.architecture.value is Architecture.X86
    assert any("32-bit" in w for w in choice_warnings(facts, "Linux", "V2", "x64"))


def test_vendor_loader_with_a_long_name_gives_the_architecture(disks: GuestDisks) -> None:
    # No removable-media path: the distribution's own loaders, under long (VFAT) names.
    disk = disks.gpt("vendor", [
        Part(34, "EF00", "esp", {"EFI/ubuntu/shimaa64.efi": pe_file(MACHINE_ARM64),
                                 "EFI/ubuntu/grub-with-a-long-name.efi": pe_file(MACHINE_ARM64)}),
        Part(32, "8300", "ext4")])
    facts = facts_of(disk)
    assert {x.path for x in facts.loaders} == {
        "\\EFI\\ubuntu\\shimaa64.efi", "\\EFI\\ubuntu\\grub-with-a-long-name.efi"}
    assert (facts.architecture.value, facts.architecture.confidence) == (Architecture.ARM64,
                                                                         Confidence.MEDIUM)
    assert any("\\EFI\\ubuntu" in line for line in facts.os_type.evidence)


def test_pe_header_beyond_the_first_4_kib(disks: GuestDisks) -> None:
    loader = pe_file(MACHINE_ARM64, lfanew=9000, size=12000)
    disk = disks.gpt("far-pe", [Part(34, "EF00", "esp", {"EFI/BOOT/BOOTAA64.EFI": loader}),
                                Part(32, "8300", "ext4")])
    assert facts_of(disk).architecture.value is Architecture.ARM64


def test_esp_that_is_not_fat_is_noted(disks: GuestDisks) -> None:
    facts = facts_of(disks.gpt("esp-ext2", [Part(34, "EF00", "ext2"), Part(32, "8300", "ext4")]))
    assert facts.generation.value is Generation.V2
    assert facts.generation.confidence is Confidence.MEDIUM
    assert any("no readable FAT" in note for note in facts.notes)


def _zero(path: Path, offset: int, length: int) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(bytes(length))


def test_damaged_primary_gpt_falls_back_to_the_backup(disks: GuestDisks) -> None:
    disk = disks.gpt("backup", [Part(34, "EF00", "esp", ESP_X64), Part(32, "8300", "ext4")])
    _zero(disk, 512 + 16, 4)  # the primary header's CRC
    facts = facts_of(disk)
    assert facts.partition_table is PartitionTable.GPT
    assert facts.generation.value is Generation.V2
    assert any("backup GPT" in note for note in facts.notes)


def test_both_gpts_damaged_is_unknown(disks: GuestDisks) -> None:
    disk = disks.gpt("nogpt", [Part(34, "EF00", "esp", ESP_X64), Part(32, "8300", "ext4")])
    size = disk.stat().st_size
    _zero(disk, 512 + 16, 4)
    _zero(disk, size - 512 + 16, 4)
    facts = facts_of(disk)
    assert facts.partition_table is PartitionTable.DAMAGED_GPT
    assert facts.generation.value is Generation.UNKNOWN
    assert facts.partitions == ()
    assert any("announces a GPT" in line for line in facts.generation.evidence)


def test_entries_checksum_is_checked(disks: GuestDisks) -> None:
    disk = disks.gpt("entries", [Part(34, "EF00", "esp", ESP_X64), Part(32, "8300", "ext4")])
    with disk.open("r+b") as f:  # a changed type byte in the primary entries
        f.seek(1024)
        f.write(b"\x99")
    facts = facts_of(disk)
    # the primary entries fail their CRC; the backup's are read and say what sgdisk wrote
    assert facts.partitions[0].type_name == "EFI system partition"
    assert any("backup GPT" in note for note in facts.notes)


def test_warnings_say_why_the_vm_would_not_boot(disks: GuestDisks) -> None:
    gpt = facts_of(disks.gpt("warn", [Part(34, "EF00", "esp", ESP_ARM64),
                                      Part(32, "8300", "ext4")]))
    assert choice_warnings(gpt, "Linux", "V2", "Arm64") == []
    gen1 = choice_warnings(gpt, "Linux", "V1", "Arm64")
    assert ("This disk boots with UEFI from a GPT EFI system partition; a Generation 1 VM starts "
            "with BIOS and will not find a boot loader.") in gen1
    assert any("Generation 2 only" in w for w in gen1)
    assert any("built for Arm64" in w for w in choice_warnings(gpt, "Linux", "V2", "x64"))
    assert any("fail to provision" in w for w in choice_warnings(gpt, "Windows", "V2", "Arm64"))
    mbr = facts_of(disks.mbr("warn-mbr", [Part(32, "83", "ext4", bootable=True)]))
    assert choice_warnings(mbr, "Linux", "V1", "x64") == []
    assert any("boots with BIOS" in w and "Generation 2 VM" in w
               for w in choice_warnings(mbr, "Linux", "V2", "x64"))


def test_mbr_written_over_an_old_gpt_is_read_as_mbr(disks: GuestDisks) -> None:
    disk = disks.gpt("stale", [Part(34, "EF00", "esp", ESP_X64), Part(32, "8300", "ext4")])
    with disk.open("rb") as f:
        gpt_header = f.read(1024)[512:]
    # sfdisk makes a new MBR (it wipes the GPT); the old GPT header is put back behind it
    subprocess.run(["sfdisk", "-q", str(disk)], input="label: dos\n, 32MiB, 83\n", text=True,
                   check=True, capture_output=True)
    with disk.open("r+b") as f:
        f.seek(512)
        f.write(gpt_header)
    facts = facts_of(disk)
    assert facts.partition_table is PartitionTable.MBR
    assert [p.type_id for p in facts.partitions] == ["0x83"]

"""OVA appliances read in place: tar members, the OVF's disk order, the manifest, and each disk.

OVAs are made with ``tar`` from an OVF written here and disks made by ``qemu-img``; every disk's
stream must equal ``qemu-img convert -O raw`` of the disk file that went into the tar.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gui.diskimage import (
    ArchiveFileError,
    DiskImage,
    DiskImageError,
    EmptyImageError,
    ForeignDiskFormatError,
    ImageFormat,
    Level,
    UnsupportedImageError,
)
from gui.diskimage.ova import (
    CorruptArchiveError,
    OvaMemberMissingError,
    OvfDescriptorError,
    appliance_from,
    open_ova_disk,
    read_appliance,
    tar_members,
)
from gui.diskimage.pio import PositionalFile
from gui.diskimage.window import FileWindow
from tests.diskimage.helpers import assert_footer_valid, assert_matches_reference, reads_checked
from tests.diskimage.patching import patch
from tests.fixtures.appliance_images import (
    RAW_URI,
    OvfDisk,
    expected_raw,
    make_ova,
    make_vdi,
    manifest_text,
    ova_member_offset,
    ovf_text,
    raw_file,
    stream_optimized_vmdk,
)
from tests.fixtures.disk_images import MIB, pattern

OS_SIZE = 5 * MIB + 3 * 512
DATA_SIZE = 3 * MIB


def os_writes() -> list[tuple[int, bytes]]:
    return [(0, pattern(0, 70_000)), (2 * MIB + 512, pattern(1, 4096)),
            (OS_SIZE - 1536, pattern(2, 1536))]


def data_writes() -> list[tuple[int, bytes]]:
    return [(MIB, pattern(3, 100_000)), (DATA_SIZE - 512, pattern(4, 512))]


def open_disk(ova: Path, index: int) -> DiskImage:
    """A DiskImage over disk ``index`` of the OVA, built as gui.diskimage.image builds one."""
    file = PositionalFile(ova)
    try:
        return DiskImage(ova, file, open_ova_disk(appliance_from(file), index))
    except BaseException:
        file.close()
        raise


@pytest.fixture
def vmdk_appliance(tmp_path: Path) -> tuple[Path, Path, Path]:
    """vm.ova: an OS disk and a data disk as streamOptimized VMDKs. The OVF lists the data disk
    first (References, DiskSection, hardware items) and the tar holds it first too; only the
    hardware's units say that the OS disk is unit 0."""
    os_vmdk = stream_optimized_vmdk(raw_file(tmp_path / "os.raw", OS_SIZE, os_writes()),
                                    tmp_path / "vm-disk1.vmdk")
    data_vmdk = stream_optimized_vmdk(raw_file(tmp_path / "data.raw", DATA_SIZE, data_writes()),
                                      tmp_path / "vm-disk2.vmdk")
    ovf = tmp_path / "vm.ovf"
    ovf.write_text(ovf_text([
        OvfDisk("vm-disk2.vmdk", DATA_SIZE, unit=1, file_size=data_vmdk.stat().st_size),
        OvfDisk("vm-disk1.vmdk", OS_SIZE, unit=0, file_size=os_vmdk.stat().st_size),
    ]))
    manifest = tmp_path / "vm.mf"
    manifest.write_text(manifest_text([ovf, data_vmdk, os_vmdk]))
    ova = make_ova(tmp_path / "vm.ova", [ovf, manifest, data_vmdk, os_vmdk])
    return ova, os_vmdk, data_vmdk


def test_two_vmdk_disks_in_ovf_order(tmp_path: Path,
                                     vmdk_appliance: tuple[Path, Path, Path]) -> None:
    ova, os_vmdk, data_vmdk = vmdk_appliance
    with read_appliance(ova) as appliance:
        assert appliance.name == "test-vm"
        assert appliance.descriptor == "vm.ovf"
        assert [m.name for m in appliance.members] == [
            "vm.ovf", "vm.mf", "vm-disk2.vmdk", "vm-disk1.vmdk"]
        assert [(d.href, d.is_os_disk, d.lun) for d in appliance.disks] == [
            ("vm-disk1.vmdk", True, None), ("vm-disk2.vmdk", False, 0)]
        assert appliance.disks[0].attached_to == "SCSI Controller 0, unit 0"
        assert appliance.disks[0].capacity == OS_SIZE
        assert appliance.findings == []
        assert appliance.disks[1].member.offset == ova_member_offset(ova, "vm-disk2.vmdk")
    for index, source in ((0, os_vmdk), (1, data_vmdk)):
        with open_disk(ova, index) as img:
            assert img.format is ImageFormat.OVA
            assert ("Disk format", "VMDK (stream-optimized)") in img.details
            assert not [f for f in img.findings if f.code.startswith(("ova-", "vmdk-"))]
            expected = expected_raw(source, "vmdk", tmp_path / f"expected-{index}.raw")
            assert_matches_reference(img, expected)
            assert img.allocated_bytes < img.virtual_size  # only the grains are sent
            if index == 0:
                assert_footer_valid(img, tmp_path)


def test_manifest_checked_on_request(vmdk_appliance: tuple[Path, Path, Path]) -> None:
    ova, _os_vmdk, _data = vmdk_appliance
    with read_appliance(ova) as appliance:
        assert set(appliance.manifest) == {"vm.ovf", "vm-disk1.vmdk", "vm-disk2.vmdk"}
        assert [f.code for f in appliance.verify_manifest()] == ["ova-manifest-ok"]
        member = appliance.member("vm-disk1.vmdk")
        assert member is not None
        where = member.offset + member.size - 700
    patch(ova, where, b"\xa5")  # one byte of the OS disk's data changes after export
    with read_appliance(ova) as appliance:
        assert appliance.findings == []  # opening does not read the disks
        findings = appliance.verify_manifest()
    assert [(f.level, f.code) for f in findings] == [(Level.ERROR, "ova-manifest-mismatch")]
    assert "'vm-disk1.vmdk'" in findings[0].message


def raw_appliance(directory: Path, *, tar_format: str = "ustar", os_name: str = "os.img",
                  disks: list[OvfDisk] | None = None) -> Path:
    """An OVA of two raw disks (OS: 3 MiB + 512 bytes, data: 2 MiB) in any tar format."""
    os_disk = raw_file(directory / os_name, 3 * MIB + 512, [(0, b"O" * 5000),
                                                            (3 * MIB, b"Z" * 512)])
    data = raw_file(directory / "data.img", 2 * MIB, [(MIB, b"D" * 100)])
    ovf = directory / "vm.ovf"
    ovf.write_text(ovf_text(disks or [
        OvfDisk("data.img", 2 * MIB, unit=0, controller="ide", format_uri=RAW_URI),
        OvfDisk(os_name, 3 * MIB + 512, unit=2, format_uri=RAW_URI),
    ]))
    return make_ova(directory / "raw.ova", [ovf, data, os_disk], tar_format=tar_format)


@pytest.mark.parametrize("tar_format", ["ustar", "pax", "gnu", "v7"])
def test_raw_disks_through_every_tar_format(tmp_path: Path, tar_format: str) -> None:
    """ustar, pax and GNU headers; pax and GNU with a name past ustar's 100 characters. The
    SCSI controller comes before the IDE one in the hardware, so its disk is the OS disk."""
    os_name = "os.img" if tar_format in ("ustar", "v7") else "o" * 120 + ".img"
    ova = raw_appliance(tmp_path, tar_format=tar_format, os_name=os_name)
    with read_appliance(ova) as appliance:
        assert [d.href for d in appliance.disks] == [os_name, "data.img"]
        assert appliance.disks[1].attached_to == "IDE Controller 0, unit 0"
        for disk, source in zip(appliance.disks, (tmp_path / os_name, tmp_path / "data.img"),
                                strict=True):
            assert disk.member.offset == ova_member_offset(ova, disk.href)
            opened = open_ova_disk(appliance, disk.index)
            assert opened.layout.virtual_size == source.stat().st_size
            buf = bytearray(opened.layout.virtual_size)
            opened.layout.read(0, memoryview(buf))
            assert bytes(buf) == source.read_bytes()
            assert ("Disk format", "raw disk image") in opened.details


def test_vdi_disk_in_an_appliance(tmp_path: Path) -> None:
    """A VirtualBox disk inside an OVA is read through the same window."""
    vdi = make_vdi(tmp_path / "disk.vdi", 2 * MIB + 512, [(MIB, 4096, 0x61)])
    ovf = tmp_path / "vm.ovf"
    ovf.write_text(ovf_text([OvfDisk("disk.vdi", 2 * MIB + 512, unit=0, format_uri=RAW_URI)]))
    ova = make_ova(tmp_path / "vdi.ova", [ovf, vdi])
    with open_disk(ova, 0) as img:
        assert ("Disk format", "VDI (dynamic)") in img.details
        assert_matches_reference(img, expected_raw(vdi, "vdi", tmp_path / "expected.raw"))


def test_missing_disk_member_refused_by_name(tmp_path: Path) -> None:
    disk = raw_file(tmp_path / "present.img", MIB, [])
    ovf = tmp_path / "vm.ovf"
    ovf.write_text(ovf_text([OvfDisk("present.img", MIB, unit=0, format_uri=RAW_URI),
                             OvfDisk("vm-disk2.vmdk", MIB, unit=1)]))
    ova = make_ova(tmp_path / "incomplete.ova", [ovf, disk])
    with pytest.raises(OvaMemberMissingError) as caught:
        read_appliance(ova)
    assert "'vm-disk2.vmdk'" in caught.value.message
    assert "present.img" in caught.value.message  # what the archive does hold


def test_compressed_ova_refused_with_a_working_command(tmp_path: Path) -> None:
    ova = raw_appliance(tmp_path)
    packed = tmp_path / "packed.ova"
    with open(packed, "wb") as out:
        subprocess.run(["gzip", "-c", str(ova)], stdout=out, check=True)
    with pytest.raises(ArchiveFileError) as caught:
        read_appliance(packed)
    command = caught.value.command
    assert command == f"gzip -dc {packed} > {tmp_path / 'packed-unpacked.ova'}"
    assert command in caught.value.message
    subprocess.run(command, shell=True, check=True)  # the command does what it says
    with read_appliance(tmp_path / "packed-unpacked.ova") as appliance:
        assert len(appliance.disks) == 2


def test_not_an_ova(tmp_path: Path) -> None:
    vmdk = stream_optimized_vmdk(raw_file(tmp_path / "a.raw", MIB, []), tmp_path / "a.ova")
    with pytest.raises(ForeignDiskFormatError):
        read_appliance(vmdk)
    junk = tmp_path / "junk.ova"
    junk.write_bytes(b"not a tar" * 200)
    with pytest.raises(CorruptArchiveError):
        read_appliance(junk)
    tar_without_ovf = make_ova(tmp_path / "plain.ova", [raw_file(tmp_path / "x.img", 512, [])])
    with pytest.raises(OvfDescriptorError) as caught:
        read_appliance(tar_without_ovf)
    assert "no .ovf file" in caught.value.message


BILLION_LAUGHS = ('<!DOCTYPE Envelope [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">'
                  '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>\n')
EXTERNAL = '<!DOCTYPE Envelope SYSTEM "http://127.0.0.1:9/ovf.dtd">\n'


@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, EXTERNAL], ids=["entities", "external"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_descriptor_with_a_doctype_refused(tmp_path: Path, prolog: str, encoding: str) -> None:
    disk = raw_file(tmp_path / "d.img", MIB, [])
    ovf = tmp_path / "vm.ovf"
    text = ovf_text([OvfDisk("d.img", MIB, unit=0, format_uri=RAW_URI)], prolog=prolog)
    ovf.write_bytes(text.replace("UTF-8", encoding.upper()).encode(encoding))
    ova = make_ova(tmp_path / "doctype.ova", [ovf, disk])
    with pytest.raises(OvfDescriptorError) as caught:
        read_appliance(ova)
    assert "document type" in caught.value.message


def test_broken_descriptors(tmp_path: Path) -> None:
    disk = raw_file(tmp_path / "d.img", MIB, [])
    ovf = tmp_path / "vm.ovf"
    for text, words in [
        ("<Envelope><unclosed></Envelope>", "not well-formed XML"),
        ("<Other/>", "not the OVF 'Envelope'"),
        ("<Envelope/>", "lists no disk"),
        (ovf_text([OvfDisk("d.img", MIB, unit=0)]).replace('ovf:id="file1"', 'ovf:id="x"'),
         "References section does not list"),
    ]:
        ovf.write_text(text)
        ova = make_ova(tmp_path / "broken.ova", [ovf, disk])
        with pytest.raises(OvfDescriptorError) as caught:
            read_appliance(ova)
        assert words in caught.value.message


def test_declared_sizes_checked(tmp_path: Path) -> None:
    """ovf:size against the member (an ERROR finding), capacity in 'byte * 2^30' against the
    disk found in the file (a warning)."""
    ova = raw_appliance(tmp_path, disks=[
        OvfDisk("os.img", 1 << 30, unit=0, format_uri=RAW_URI, file_size=12345, gib_units=True),
        OvfDisk("data.img", 2 * MIB, unit=1, format_uri=RAW_URI)])
    with read_appliance(ova) as appliance:
        assert appliance.disks[0].capacity == 1 << 30
        assert [f.code for f in appliance.findings] == ["ova-size-mismatch"]
        opened = open_ova_disk(appliance, 0)
        assert [f.code for f in opened.findings] == ["ova-size-mismatch",
                                                     "ova-capacity-mismatch"]


def test_vhd_inside_an_ova_refused_with_the_extract_command(tmp_path: Path) -> None:
    vhd = tmp_path / "disk.vhd"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vpc", str(vhd), "2M"], check=True)
    ovf = tmp_path / "vm.ovf"
    ovf.write_text(ovf_text([OvfDisk("disk.vhd", 2 * MIB, unit=0, format_uri=RAW_URI)]))
    ova = make_ova(tmp_path / "vhd.ova", [ovf, vhd])
    with read_appliance(ova) as appliance, pytest.raises(UnsupportedImageError) as caught:
        open_ova_disk(appliance, 0)
    assert f"tar -xf {ova} disk.vhd" in caught.value.message


def test_empty_disk_member_refused(tmp_path: Path) -> None:
    empty = raw_file(tmp_path / "empty.img", 0, [])
    ovf = tmp_path / "vm.ovf"
    ovf.write_text(ovf_text([OvfDisk("empty.img", MIB, unit=0, format_uri=RAW_URI)]))
    ova = make_ova(tmp_path / "empty.ova", [ovf, empty])
    with read_appliance(ova) as appliance, pytest.raises(EmptyImageError) as caught:
        open_ova_disk(appliance, 0)
    assert "empty.ova/empty.img is empty" in caught.value.message


# ---- the window ----------------------------------------------------------------------------

def test_window_reads_only_its_range(tmp_path: Path) -> None:
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:  # data at 1 MiB and 3 MiB, holes elsewhere
        f.truncate(5 * MIB)
        f.seek(MIB)
        f.write(b"a" * 4096)
        f.seek(3 * MIB)
        f.write(b"b" * 4096)
    file = PositionalFile(path)
    try:
        window = FileWindow(file, MIB // 2, 3 * MIB, "../inner/disk.img")
        assert window.path == path / "disk.img"  # never a path outside the archive's name
        assert window.size == 3 * MIB
        assert window.read(MIB // 2, 4) == b"aaaa"
        assert window.read(3 * MIB - 2, 100) == b"\0\0"  # clamped at the window's end
        assert window.read(3 * MIB, 10) == b""
        buf = bytearray(4)
        window.readinto(2 * MIB + MIB // 2, memoryview(buf))
        assert buf == b"bbbb"
        head, tail = bytearray(2), bytearray(2)
        window.readv_into(MIB // 2 - 2, [memoryview(head), memoryview(tail)])
        assert (bytes(head), bytes(tail)) == (b"\0\0", b"aa")
        with pytest.raises(AssertionError):
            window.readinto(3 * MIB - 2, memoryview(bytearray(4)))
        extents = list(window.data_extents(0, window.size))
        assert any(a <= MIB // 2 < b for a, b in extents)
        assert any(a <= 2 * MIB + MIB // 2 < b for a, b in extents)
        assert all(0 <= a < b <= window.size for a, b in extents)
        with pytest.raises(ValueError):
            FileWindow(file, 4 * MIB, 2 * MIB, "past-the-end")
    finally:
        file.close()


def test_tar_members_stop_at_a_truncated_member(tmp_path: Path) -> None:
    ova = raw_appliance(tmp_path)
    with open(ova, "r+b") as f:
        f.truncate(ova_member_offset(ova, "os.img") + 1000)
    file = PositionalFile(ova)
    try:
        with pytest.raises(DiskImageError) as caught:
            tar_members(file)
        assert "OVA member 'os.img'" in caught.value.message
    finally:
        file.close()


# ---- fuzzing -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fuzz_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("ova-fuzz")
    vmdk = stream_optimized_vmdk(raw_file(directory / "a.raw", 2 * MIB, os_writes()[:1]),
                                 directory / "os.vmdk")
    data = raw_file(directory / "data.img", 64 * 1024, [(0, b"x" * 1000)])
    ovf = directory / "vm.ovf"
    ovf.write_text(ovf_text([OvfDisk("os.vmdk", 2 * MIB, unit=0),
                             OvfDisk("data.img", 64 * 1024, unit=1, format_uri=RAW_URI)]))
    manifest = directory / "vm.mf"
    manifest.write_text(manifest_text([ovf, vmdk, data]))
    return make_ova(directory / "fuzz.ova", [ovf, manifest, vmdk, data], tar_format="pax")


edit = st.tuples(st.floats(0, 1, allow_nan=False), st.binary(min_size=1, max_size=8))


@settings(max_examples=80, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.sampled_from(["headers", "ovf", "anywhere"]), edit),
                      max_size=6),
       cut=st.one_of(st.none(), st.floats(0, 1, allow_nan=False)))
def test_damage_only_raises_documented_errors(fuzz_base: Path, edits: list[Any],
                                              cut: float | None) -> None:
    target = fuzz_base.with_name("damaged.ova")
    shutil.copyfile(fuzz_base, target)
    size = target.stat().st_size
    spans = {"headers": (0, 4096), "ovf": (1024, 4096), "anywhere": (0, size)}
    for (where, (at, data)) in edits:
        start, length = spans[where]
        patch(target, max(0, min(size - len(data), start + int(at * length))), data)
    if cut is not None:
        with open(target, "r+b") as f:
            f.truncate(int(cut * size))
    tracemalloc.start()
    try:
        with reads_checked() as problems, contextlib.suppress(DiskImageError), \
                read_appliance(target) as appliance:
            _ = (appliance.findings, appliance.verify_manifest())
            for disk in appliance.disks:
                with contextlib.suppress(DiskImageError):
                    layout = open_ova_disk(appliance, disk.index).layout
                    buf = bytearray(min(layout.virtual_size, 256 * 1024))
                    layout.read(0, memoryview(buf))
                    _ = list(layout.allocated())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == []
    assert peak < 12 * MIB, f"peak {peak:,} bytes"

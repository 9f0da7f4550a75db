"""Formats are recognised by content, never by name: those the engine reads (qcow2, VMDK, VDI, OVA)
are read whatever the file is called; those it cannot read are refused with the way out.

Foreign disk images are made by ``qemu-img``; archives by Python's own modules (and the ``zstd``
tool); ISO 9660 and LUKS by writing the few header bytes their specifications define. Each file is
then given misleading names (.img, .vhd, .raw, none) and must be recognised under all of them.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from gui.diskimage import (
    ArchiveFileError,
    DiskImageError,
    EncryptedImageError,
    ForeignDiskFormatError,
    ImageFormat,
    InstallerImageError,
    UnsupportedFormatError,
    open_image,
)
from tests.fixtures.disk_images import MIB, DiskImageFactory, pattern

ROOT = Path(__file__).resolve().parents[2]
SIZE = 20 * MIB  # the smallest disk Azure takes, so a converted file is acceptable
MISLEADING = [".img", ".vhd", ".raw", ""]
CONVERT = "-O vpc -o subformat=fixed,force_size=on"


def mbr_disk(size: int = SIZE) -> bytes:
    """A raw disk that looks like a real one: an MBR with one Linux partition, then data."""
    disk = bytearray(size)
    disk[0:3] = b"\xeb\x63\x90"
    disk[446:462] = bytes([0x80, 0, 2, 0, 0x83, 0, 0, 0]) + (2048).to_bytes(4, "little") + (
        (size // 512 - 2048).to_bytes(4, "little"))
    disk[510:512] = b"\x55\xaa"
    disk[MIB : MIB + 4096] = pattern(MIB, 4096)
    return bytes(disk)


def qemu_image(fmt: str, options: str = "") -> Callable[[DiskImageFactory], Path]:
    def make(factory: DiskImageFactory) -> Path:
        source = factory.raw(SIZE, [(0, mbr_disk()[:MIB + 4096])])
        out = factory.directory / f"made-{fmt}-{options.replace('=', '-') or 'default'}.bin"
        command = ["qemu-img", "convert", "-q", "-f", "raw", "-O", fmt]
        if options:
            command += ["-o", options]
        subprocess.run([*command, str(source), str(out)], check=True)
        return out
    return make


def vmdk_flat_descriptor(factory: DiskImageFactory) -> Path:
    source = factory.raw(SIZE, [(0, mbr_disk()[:MIB])])
    out = factory.directory / "flat.vmdk"
    subprocess.run(["qemu-img", "convert", "-q", "-f", "raw", "-O", "vmdk", "-o",
                    "subformat=monolithicFlat", str(source), str(out)], check=True)
    return out


def iso9660(factory: DiskImageFactory) -> Path:
    # ECMA-119: 16 system-area sectors of 2 KiB, then volume descriptors (type, "CD001", 1).
    data = bytearray(64 * 1024)
    data[0x8000:0x8007] = b"\x01CD001\x01"
    data[0x8028:0x8030] = b"INSTALL "
    data[0x8800:0x8807] = b"\xffCD001\x01"  # the terminator
    data[0:512] = mbr_disk()[:512]  # isohybrid: an MBR as well, still an installer
    path = factory.directory / "installer.iso"
    path.write_bytes(bytes(data))
    return path


def luks(factory: DiskImageFactory) -> Path:
    # LUKS1 on-disk format: magic, version 1, cipher name and mode, hash, payload offset...
    header = bytearray(4096)
    header[0:8] = b"LUKS\xba\xbe\x00\x01"
    header[8:11] = b"aes"
    header[40:51] = b"xts-plain64"
    header[72:78] = b"sha256"
    path = factory.directory / "secret.luks"
    path.write_bytes(bytes(header) + bytes(SIZE - 4096))
    return path


def packed(kind: str) -> Callable[[DiskImageFactory], Path]:
    def make(factory: DiskImageFactory) -> Path:
        disk = mbr_disk()
        path = factory.directory / f"disk-{kind}.pack"
        if kind == "gzip":
            path.write_bytes(gzip.compress(disk))
        elif kind == "xz":
            path.write_bytes(lzma.compress(disk))
        elif kind == "bzip2":
            path.write_bytes(bz2.compress(disk))
        elif kind == "zip":
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                z.writestr("disk.img", disk)
        elif kind == "zstd":
            raw = factory.raw(SIZE, [(0, disk)])
            subprocess.run(["zstd", "-q", "-f", str(raw), "-o", str(path)], check=True)
        elif kind in ("tar", "ova"):
            with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as t:
                members = [("vm.ovf", b"<Envelope/>")] if kind == "ova" else []
                members.append(("disk.img", disk))
                for name, data in members:
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
        elif kind == "7z":
            # The 32-byte start header: signature, version 0.4, CRCs and next-header fields.
            path.write_bytes(b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(24) + disk[:4096])
        else:
            raise ValueError(kind)
        return path
    return make


# (maker, error type, format name, qemu-img -f for the conversion command or None)
CASES: dict[str, tuple[Callable[[DiskImageFactory], Path], type[UnsupportedFormatError], str,
                       str | None]] = {
    "qcow": (qemu_image("qcow"), ForeignDiskFormatError, "qcow", "qcow"),
    "qed": (qemu_image("qed"), ForeignDiskFormatError, "qed", "qed"),
    "parallels": (qemu_image("parallels"), ForeignDiskFormatError, "parallels", "parallels"),
    "iso": (iso9660, InstallerImageError, "iso9660", None),
    "luks": (luks, EncryptedImageError, "luks", None),
    "qcow2-encrypted": (qemu_image("qcow2", "encrypt.format=aes,encrypt.key-secret=sec0"),
                        EncryptedImageError, "qcow2", None),
    **{kind: (packed(kind), ArchiveFileError, kind, None)
       for kind in ("gzip", "xz", "bzip2", "zip", "zstd", "tar", "7z")},
}

# Formats the engine reads: (maker, the format it is read as, qemu-img's -f for the reference)
READ_CASES: dict[str, tuple[Callable[[DiskImageFactory], Path], ImageFormat, str]] = {
    "qcow2": (qemu_image("qcow2"), ImageFormat.QCOW2, "qcow2"),
    "qcow2-v2": (qemu_image("qcow2", "compat=0.10"), ImageFormat.QCOW2, "qcow2"),
    "vmdk-sparse": (qemu_image("vmdk", "subformat=monolithicSparse"), ImageFormat.VMDK_SPARSE,
                    "vmdk"),
    "vmdk-stream": (qemu_image("vmdk", "subformat=streamOptimized"),
                    ImageFormat.VMDK_STREAM_OPTIMIZED, "vmdk"),
    "vdi": (qemu_image("vdi"), ImageFormat.VDI_DYNAMIC, "vdi"),
    "vdi-static": (qemu_image("vdi", "static=on"), ImageFormat.VDI_STATIC, "vdi"),
}


def make_case(name: str, factory: DiskImageFactory) -> Path:
    maker = CASES[name][0] if name in CASES else READ_CASES[name][0]
    if name == "qcow2-encrypted":
        # qemu-img needs the secret object to write an encrypted image.
        source = factory.raw(SIZE, [(0, mbr_disk()[:MIB])])
        out = factory.directory / "enc.qcow2"
        subprocess.run(["qemu-img", "convert", "-q", "--object", "secret,id=sec0,data=pw",
                        "-f", "raw", "-O", "qcow2", "-o",
                        "encrypt.format=aes,encrypt.key-secret=sec0", str(source), str(out)],
                       check=True, env={**os.environ, "QEMU_IMG_ALLOW_AES": "1"})
        return out
    return maker(factory)


def renamed(path: Path, suffix: str) -> Path:
    target = path.with_name(f"renamed-{path.stem}{suffix}")
    shutil.copyfile(path, target)
    return target


@pytest.mark.parametrize("case", sorted(CASES))
def test_recognised_whatever_the_name(disk_images: DiskImageFactory, case: str) -> None:
    _maker, error, name, qemu_format = CASES[case]
    made = make_case(case, disk_images)
    for suffix in MISLEADING:
        path = renamed(made, suffix)
        with pytest.raises(error) as caught:
            open_image(path)
        exc = caught.value
        assert isinstance(exc, DiskImageError)  # every caller's existing handler sees it
        assert exc.format_name == name, (case, suffix)
        assert path.name in exc.message
        assert "\n" not in exc.message
        if qemu_format:
            assert exc.command is not None
            assert exc.command.startswith(f"qemu-img convert -f {qemu_format} {CONVERT} ")
            assert exc.command in exc.message
        path.unlink()


@pytest.mark.parametrize("case", sorted(READ_CASES))
def test_read_whatever_the_name_byte_for_byte_as_qemu_reads_it(
        disk_images: DiskImageFactory, case: str) -> None:
    maker, fmt, qemu_format = READ_CASES[case]
    made = maker(disk_images)
    expected = disk_images.expected_raw(made, qemu_format)
    for suffix in MISLEADING:
        path = renamed(made, suffix)
        with open_image(path) as img:
            assert img.format is fmt, (case, suffix)
            assert img.acceptable, img.findings
            assert img.read(0, len(expected)) == expected
            assert img.virtual_size == SIZE
        path.unlink()


@pytest.mark.parametrize("case", ["qcow", "qed", "parallels"])
def test_the_conversion_command_makes_an_uploadable_disk(disk_images: DiskImageFactory,
                                                         case: str) -> None:
    made = make_case(case, disk_images)
    path = renamed(made, ".vhd")  # the worst name: the output must not overwrite it
    with pytest.raises(ForeignDiskFormatError) as caught:
        open_image(path)
    command = caught.value.command
    assert command is not None
    argv = shlex.split(command)
    target = Path(argv[-1])
    assert target != path
    subprocess.run(argv, check=True, cwd=disk_images.directory)
    expected = disk_images.expected_raw(made, CASES[case][3])
    with open_image(target) as img:
        assert img.format is ImageFormat.VHD_FIXED
        assert img.acceptable, img.findings
        assert img.read(0, img.virtual_size)[: len(expected)] == expected


def test_a_flat_vmdk_reads_through_its_descriptor_and_its_data_file_as_raw(
        disk_images: DiskImageFactory) -> None:
    descriptor = vmdk_flat_descriptor(disk_images)
    data = descriptor.with_name("flat-flat.vmdk")
    with open_image(descriptor) as img:
        assert img.format is ImageFormat.VMDK_FLAT
        assert img.read(0, MIB) == mbr_disk()[:MIB]
    with open_image(data) as img:
        assert img.format is ImageFormat.RAW
        assert img.read(0, MIB) == mbr_disk()[:MIB]


@pytest.mark.parametrize("suffix", MISLEADING)
def test_a_genuine_raw_disk_stays_raw(disk_images: DiskImageFactory, suffix: str) -> None:
    path = disk_images.directory / f"genuine{suffix}"
    path.write_bytes(mbr_disk())
    with open_image(path) as img:
        assert img.format is ImageFormat.RAW
        assert img.read(0, SIZE) == mbr_disk()


def test_archive_advice_names_the_unpack_command(disk_images: DiskImageFactory) -> None:
    gz = disk_images.directory / "cloud.img.gz"
    gz.write_bytes(gzip.compress(mbr_disk()))
    with pytest.raises(ArchiveFileError) as caught:
        open_image(gz)
    assert caught.value.command == f"gzip -dc {gz} > {disk_images.directory / 'cloud.img'}"
    disguised = renamed(gz, ".vhd")
    with pytest.raises(ArchiveFileError) as caught:
        open_image(disguised)
    assert caught.value.command is not None
    assert caught.value.command.endswith(f"> {disguised}.unpacked")
    subprocess.run(caught.value.command, shell=True, check=True)
    with open_image(Path(f"{disguised}.unpacked")) as img:
        assert img.format is ImageFormat.RAW


def test_an_ova_whose_ovf_lists_no_disk_says_so(disk_images: DiskImageFactory) -> None:
    with pytest.raises(DiskImageError, match=r"lists no disk"):
        open_image(packed("ova")(disk_images))


def test_iso_and_luks_advice(disk_images: DiskImageFactory) -> None:
    with pytest.raises(InstallerImageError, match="an installer ISO is not a disk"):
        open_image(iso9660(disk_images))
    with pytest.raises(EncryptedImageError, match="encrypted"):
        open_image(luks(disk_images))


# ---- the commands a user runs ---------------------------------------------------------------

def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gui", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_inspect_reads_a_qcow2_named_img(disk_images: DiskImageFactory) -> None:
    path = renamed(make_case("qcow2", disk_images), ".img")
    result = run_cli("inspect", str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "qcow2" in result.stdout


@pytest.mark.parametrize(("case", "name"), [("vmdk-sparse", "VMDK_SPARSE"),
                                            ("vmdk-stream", "VMDK_STREAM_OPTIMIZED"),
                                            ("vdi", "VDI_DYNAMIC"), ("qcow2", "QCOW2")])
def test_inspect_json_names_the_container_whatever_the_name(
        disk_images: DiskImageFactory, case: str, name: str) -> None:
    path = renamed(make_case(case, disk_images), ".vhd")
    result = run_cli("inspect", "--json", str(path))
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["format"] == name
    assert report["acceptable"] is True


def test_inspect_json_names_a_refused_format(disk_images: DiskImageFactory) -> None:
    path = renamed(make_case("qed", disk_images), ".vhd")
    result = run_cli("inspect", "--json", str(path))
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["format"] == "qed"
    assert report["error"] == "ForeignDiskFormatError"
    assert report["acceptable"] is False
    target = path.with_name(f"{path.stem}-fixed.vhd")
    assert report["command"] == f"qemu-img convert -f qed {CONVERT} {path} {target}"


def test_upload_refuses_before_any_request(disk_images: DiskImageFactory) -> None:
    # Port 9 on loopback: nothing listens, so a request would fail differently from the refusal.
    path = renamed(make_case("parallels", disk_images), ".img")
    url = "http://127.0.0.1:9/devstoreaccount1/disks/d.vhd?sv=2023-11-03&sig=x"
    result = run_cli("upload", str(path), "--to-env", "H1_TEST_SAS", env={"H1_TEST_SAS": url})
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "Parallels" in result.stderr
    assert f"qemu-img convert -f parallels {CONVERT}" in result.stderr

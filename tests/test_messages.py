"""The engines' user-facing text: English unchanged, every template marked for lupdate.

Errors, findings and step texts are composed from ``gui.i18n.Message`` parts so the window can
show them translated; the headless commands and logs use ``str()``, which must stay the English
they always printed. The expected strings below are what these classes printed before they
carried Messages.
"""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from gui.azure.capture.executor import plan_steps
from gui.azure.capture.plan import (
    CapturePlan,
    Generalization,
    RegionReplicas,
    TargetKind,
    check_source,
)
from gui.azure.capture.vms import VmDisk, VmInfo
from gui.azure.catalog.nodes import DiskRole
from gui.azure.errors import ConnectionLostError, NotFoundError
from gui.azure.steps import StepSkipped
from gui.diskimage.detect import Detected, Kind, refusal
from gui.diskimage.errors import (
    CorruptFooterError,
    EmptyImageError,
    ImageUnreadableError,
    InvalidBlockSizeError,
    ParentMismatchError,
    ParentNotFoundError,
    TruncatedImageError,
)
from gui.diskimage.guest import read_guest_facts
from gui.diskimage.image import DiskNotInApplianceError
from gui.diskimage.model import Finding, Level
from gui.diskimage.ova import OvaMemberMissingError
from gui.diskimage.qcow2_header import BackingFileNotFoundError
from gui.diskimage.rules import human_size, size_findings
from gui.diskimage.vdi import VdiDifferencingError
from gui.diskimage.vmdk import ExtentNotFoundError
from gui.i18n import QT_TR_NOOP, Localizable, Message, Text, english, message
from gui.transfer.errors import VerificationError
from gui.transfer.source import SourceFile, SourceIdentity
from gui.transfer.targets import SasUrlTarget
from gui.transfer.tls import require_tls

GUI = Path(__file__).resolve().parents[1] / "gui"


def _raised(make: object) -> Exception:
    """The error ``make()`` raises (a constructor that refuses its input)."""
    assert callable(make)
    try:
        make()
    except Exception as error:
        return error
    raise AssertionError("nothing was raised")

ENGLISH = [
    (ImageUnreadableError(Path("/data/disk.vhd"), "Permission denied"),
     "Cannot read /data/disk.vhd: Permission denied. Check that the path is right and that you "
     "may read it."),
    (EmptyImageError(Path("/data/disk.vhd")),
     "/data/disk.vhd is empty, so it holds no disk. Choose the disk image file itself."),
    (TruncatedImageError("VDI header", 1024, 100),
     "The file is cut short: its VDI header would end at byte 1,024, but the file has only 100 "
     "bytes. The copy or download is probably incomplete; copy the image again from its source."),
    (CorruptFooterError(message(QT_TR_NOOP("no 'conectix' footer at the end of the file"))),
     "The VHD footer is damaged: no 'conectix' footer at the end of the file. Repair the image "
     "with the tool that made it (Hyper-V 'Inspect Disk', 'qemu-img check') or export it again."),
    (InvalidBlockSizeError(12345),
     "The image declares a block size of 12,345 bytes, which is not a power of two of a sensible "
     "size, so its blocks cannot be located. The file is damaged or not a real disk image; "
     "export the disk again."),
    (ParentNotFoundError(Path("/d/child.vhd"), "base.vhd", []),
     "child.vhd is a differencing disk whose parent 'base.vhd' was not found (looked at: nowhere "
     "(the child names no parent path)). Put the parent file next to it, or merge the chain into "
     "one disk first (Hyper-V 'Edit Disk > Merge', or 'qemu-img convert')."),
    (ParentMismatchError(Path("/d/child.vhd"), Path("/d/base.vhd"), "it is not a VHD"),
     "/d/base.vhd is not the parent of child.vhd: it is not a VHD. The parent was replaced or "
     "modified after the differencing disk was made, so the chain would give wrong data. Find "
     "the original parent or merge the chain where it was made."),
    (BackingFileNotFoundError(Path("/d/top.qcow2"), "base.qcow2", [Path("/d/base.qcow2")]),
     "top.qcow2 is a qcow2 image on top of the backing file 'base.qcow2', which was not found "
     "(looked at: /d/base.qcow2). Put the backing file where the image names it (a relative "
     "name is taken from the image's folder), or merge the chain into one image first: "
     "'qemu-img convert -O qcow2 top.qcow2 merged.qcow2'."),
    (ExtentNotFoundError(Path("/d/disk.vmdk"), "disk-flat.vmdk", []),
     "disk.vmdk describes a disk stored in several files, and its part 'disk-flat.vmdk' was not "
     "found (looked at: nowhere). Put all the disk's files (the descriptor and every "
     "-flat/-sNNN/-fNNN .vmdk it names) in one folder, then choose the descriptor again."),
    (VdiDifferencingError("snap.vdi", uuid.UUID("12345678-1234-5678-1234-567812345678")),
     "snap.vdi is a differencing VDI (a VirtualBox snapshot): it holds only the changes over its "
     "parent disk {12345678-1234-5678-1234-567812345678}, which VirtualBox finds through its "
     "media registry, not beside the file. Clone the current state into one disk first "
     "('VBoxManage clonemedium disk snap.vdi merged.vdi', with the VM shut down), then upload "
     "merged.vdi."),
    (OvaMemberMissingError(Path("/d/app.ova"), "disk1.vmdk", "vmdisk1", []),
     "app.ova names the disk file 'disk1.vmdk' (disk vmdisk1), but the archive holds no file of "
     "that name (it holds: nothing). The appliance is incomplete; export it again with all of "
     "its disks."),
    (StepSkipped(Text(message(QT_TR_NOOP("{name} is already deallocated."), name="vm1"))),
     "vm1 is already deallocated."),
    (VerificationError("The blob's page list differs from the data sent."),
     "The blob's page list differs from the data sent."),
    # Sentences that were glued from pieces, now one template each (English as before).
    (refusal(Path("/d/disk.img"), Detected(Kind.DISK, "qcow2", "QCOW2", "qcow2")),
     "disk.img is recognised by its content as QCOW2, whatever its name says; Azure needs a "
     "fixed VHD and could not boot it as it is. Convert it first: qemu-img convert -f qcow2 -O "
     "vpc -o subformat=fixed,force_size=on /d/disk.img /d/disk.vhd"),
    (refusal(Path("/d/app.ova.gz"), Detected(Kind.ARCHIVE, "gzip", "gzip")),
     "app.ova.gz is recognised by its content as gzip, whatever its name says: an archive, not "
     "a disk. Unpack it first (gzip -dc /d/app.ova.gz > /d/app.ova), then choose the disk image "
     "it contains."),
    (DiskNotInApplianceError(Path("/d/app.ova"), 2, 1),
     "app.ova holds 1 disk, so it has no disk number 3. Choose the file again to see its disks."),
    (DiskNotInApplianceError(Path("/d/app.ova"), 4, 3),
     "app.ova holds 3 disks, so it has no disk number 5. Choose the file again to see its "
     "disks."),
    (_raised(lambda: SasUrlTarget("https://acct.blob.core.windows.net/vhds/disk.vhd?sv=1")),
     "https://acct.blob.core.windows.net/vhds/disk.vhd?sv=1 carries no SAS (no sig= in the "
     "query). Paste the full blob SAS URL, or use a connection string or a signed-in account "
     "instead."),
    (_raised(lambda: require_tls("http://example.com/c/b", "The blob URL")),
     "The blob URL uses plain http:// to 'example.com'. Credentials (SAS, keys, tokens) would "
     "travel unencrypted, so it was refused before connecting. Use the https:// address "
     "instead (plain http:// is allowed only to this machine: localhost, 127.0.0.1, ::1)."),
    (_raised(lambda: SourceIdentity((SourceFile("/d/a.vhd", 1024, 1),), "a", 1024, "f")
             .require_same(SourceIdentity((SourceFile("/d/a.vhd", 1024, 1),), "b", 1024, "f"),
                           "journal j.json")),
     "The unfinished upload (journal j.json) belongs to another source: the disk id of /d/a.vhd "
     "changed (b then, a now). Mixing them would corrupt the disk, so nothing was sent. Upload "
     "to a new name, or start over (overwrite / discard the unfinished upload)."),
]


@pytest.mark.parametrize(("error", "text"), ENGLISH, ids=lambda x: type(x).__name__)
def test_str_and_english_are_the_english_of_before(error: Exception, text: str) -> None:
    assert str(error) == text
    assert isinstance(error, Localizable)
    assert english(error) == text


def test_azure_error_keeps_its_user_text() -> None:
    error = NotFoundError("The resource 'x' was not found.", code="ResourceNotFound",
                          request_id="abc-123")
    assert str(error) == "The resource 'x' was not found."
    assert error.user_text() == (
        "ResourceNotFound: The resource 'x' was not found.\n"
        "It may have been deleted or renamed. Refresh the tree.\n"
        "Request id: abc-123"
    )
    assert english(error) == error.user_text()
    assert error.title == "Not found"


def test_our_message_in_an_azure_error_has_its_arguments_redacted() -> None:
    secret = "sig=c2VjcmV0c2VjcmV0c2VjcmV0"
    error = ConnectionLostError(Message(
        QT_TR_NOOP("The request did not reach Azure: {reason}"),
        {"reason": f"https://a.blob.core.windows.net/c/b?sv=2024&{secret}"}))
    assert secret not in str(error)
    assert secret not in error.user_text()
    assert str(error).startswith("The request did not reach Azure: https://a.blob.core")


def test_sizes_and_size_findings_read_as_before() -> None:
    assert human_size(5) == "5 bytes"
    assert human_size(1536) == "1.50 KiB (1,536 bytes)"
    assert human_size(2 << 30) == "2 GiB (2,147,483,648 bytes)"
    findings = size_findings(3 * 2**40 + 5)
    assert [(f.level, f.code) for f in findings] == [
        (Level.INFO, "size-rounded"), (Level.INFO, "upload-size"),
        (Level.WARNING, "too-large-for-gen1-os-disk")]
    assert findings[0].message == (
        "The disk is 3.00 TiB (3,298,534,883,333 bytes), not a whole number of MiB, which Azure "
        "requires. It will be uploaded as 3.00 TiB (3,298,535,931,904 bytes): 1,048,571 zero "
        "bytes are added at the end. The guest sees a slightly larger disk; nothing to do.")
    assert english(findings[1]) == findings[1].message == (
        "Upload size: 3.00 TiB (3,298,535,932,416 bytes) (the disk as a fixed VHD plus its "
        "512-byte footer); only the parts that hold data are sent.")
    assert size_findings(20 << 20)[0].message == (
        "Upload size: 20 MiB (20,971,520 bytes) (the disk as a fixed VHD plus its 512-byte "
        "footer); only the parts that hold data are sent.".replace(
            "20 MiB (20,971,520 bytes)", "20.00 MiB (20,972,032 bytes)"))


def test_a_finding_stays_a_plain_english_sentence() -> None:
    finding = Finding(Level.WARNING, "x", message(QT_TR_NOOP("{path} is empty, so it holds no "
                                                             "disk. Choose the disk image file "
                                                             "itself."), path="a.vhd"))
    assert finding.message == (
        "a.vhd is empty, so it holds no disk. Choose the disk image file itself.")
    assert finding == Finding(Level.WARNING, "x", finding.message)  # equal by its text
    assert english(finding.level.label) == "Warning"


def _vm(os_type: str, disks: tuple[VmDisk, ...]) -> VmInfo:
    return VmInfo(
        id="/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
        name="vm1", resource_group="rg", location="westeurope", size="Standard_B2s",
        os_type=os_type, os_name="x", power_state="running", generalized=False,
        hyper_v_generation="V2", security_type="TrustedLaunch", architecture="x64",
        admin_username="azureuser", disks=disks)


def test_capture_steps_read_as_before() -> None:
    os_disk = VmDisk(DiskRole.OS, "osd", "/disks/osd", 30)
    data = VmDisk(DiskRole.DATA, "dd1", "/disks/dd1", 10, lun=0)
    linux = CapturePlan(
        vm=_vm("Linux", (os_disk, data)), generalization=Generalization.RUN_COMMAND,
        target=TargetKind.MANAGED_IMAGE, resource_group="rg2", image_name="img",
        delete_vm_after=True)
    steps = {s.key: s for s in plan_steps(linux)}
    assert steps["run-generalization"].change == (
        "Run waagent -deprovision+user, then shut down on vm1 through Run Command "
        "(RunShellScript); the admin account azureuser is removed from the guest")
    assert steps["create-image"].change == (
        "Create managed image img in rg2 (westeurope, V2, OS disk + 1 data disk(s))")
    assert steps["delete-vm"].change == "Delete VM vm1 (its disks are kept: osd, dd1)"
    assert steps["deallocate"].title == "Deallocate vm1"
    gallery = CapturePlan(
        vm=_vm("Windows", (os_disk,)), generalization=Generalization.SPECIALIZED,
        target=TargetKind.GALLERY_VERSION, resource_group="rg2", gallery_name="gal",
        definition_name="def", version="1.0.0",
        regions=(RegionReplicas("westeurope", 2), RegionReplicas("northeurope")),
        exclude_from_latest=True, end_of_life=date(2030, 1, 2))
    version = next(s for s in plan_steps(gallery) if s.key == "create-version")
    assert version.change == (
        "Create image version gal/def/1.0.0 from vm1 (regions westeurope ×2, northeurope ×1; "
        "excluded from latest, end of life 2030-01-02)")
    assert english(version.change) == version.change


# --- every template is marked, so lupdate finds it --------------------------------------------

_TEMPLATE_CALLS = {"Message", "message"}


def _name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def _is_call(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) == name


def _literal(node: ast.expr) -> bool:
    """A string written in place (lupdate needs it inside the marker)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.BinOp):
        return _literal(node.left) or _literal(node.right)
    return isinstance(node, ast.JoinedStr)


def unmarked_templates(source: str, filename: str = "<source>") -> list[str]:
    """Places where a Message template (or Text) is written as a string without QT_TR_NOOP/tr.

    A template written in place must sit inside the marker, as lupdate reads the source. A
    template passed on as an expression (``self.TEMPLATE``, a Message rebuilt from another's
    template or from a saved one) was checked where it was written; class-level ``TEMPLATE``
    assignments are checked here too.
    """
    tree = ast.parse(source, filename)
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "TEMPLATE" for t in targets) and (
                    not _is_call(node.value, "QT_TR_NOOP")):
                problems.append(f"{filename}:{node.lineno}: TEMPLATE is not a QT_TR_NOOP call")
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name, first = _name(node.func), node.args[0]
        where = f"{filename}:{node.lineno}"
        if name in ("QT_TR_NOOP", "tr") and not (
                isinstance(first, ast.Constant) and isinstance(first.value, str)):
            problems.append(f"{where}: {name}() needs one string literal")
        elif name in _TEMPLATE_CALLS and _literal(first):
            problems.append(f"{where}: {name}() template is not a QT_TR_NOOP(...) call")
        elif name == "plural" and not _is_call(first, "tr"):
            problems.append(f"{where}: plural() template is not a tr(..., '', n) call")
        elif name == "Text" and _literal(first):
            problems.append(f"{where}: Text() of a string not wrapped in QT_TR_NOOP")
    return problems


def test_the_checker_finds_unmarked_templates() -> None:
    source = (
        'a = message("Not {marked}", marked=1)\n'
        'b = Message(f"{x}")\n'
        'c = Text("plain")\n'
        'd = plural("%n one", "%n other", n)\n'
        'e = message(QT_TR_NOOP(f"{x}"))\n'
        'ok = message(QT_TR_NOOP("Marked {x}"), x=1), Text(QT_TR_NOOP("Fine")), Text(detail)\n'
        'ok2 = plural(tr("%n one", "", n), "%n other", n), Message(other.template, args)\n'
        'class E:\n'
        '    TEMPLATE = "The {detail} is not marked"\n'
    )
    assert sorted(p.split(": ", 1)[0] for p in unmarked_templates(source)) == [
        "<source>:1", "<source>:2", "<source>:3", "<source>:4", "<source>:5", "<source>:9"]


def test_every_engine_template_is_marked_for_lupdate() -> None:
    problems: list[str] = []
    for path in sorted(GUI.rglob("*.py")):
        parts = path.relative_to(GUI).parts
        if parts[0] in ("qt", "sandbox"):
            continue
        problems += unmarked_templates(path.read_text(encoding="utf-8"), str(path))
    assert problems == []


def test_a_capture_problem_names_the_power_state_as_before() -> None:
    stopped = dataclasses.replace(_vm("Linux", ()), power_state="stopped")
    [problem] = check_source(stopped, Generalization.RUN_COMMAND)
    assert problem.message == (
        "Run Command needs a running VM, and vm1 is stopped (allocated) (Azure: 'The operation "
        "requires the VM to be running (or set to run).'). Start the VM, or generalize it "
        "yourself and choose 'I generalized it myself'.")
    assert english(problem.message) == problem.message
    assert english(stopped.power_label) == "Stopped (allocated)"


# --- a guest-facts sentence in German, from a catalogue built here ------------------------------

ESP_PROBLEM = ("The EFI system partition (partition {number} ({type})) holds no readable FAT file "
               "system ({reason}).")
GERMAN = {
    ESP_PROBLEM: "Die EFI-Systempartition (Partition {number} ({type})) enthält kein lesbares "
                 "FAT-Dateisystem ({reason}).",
    "EFI system partition": "EFI-Systempartition",
    "not a FAT file system": "kein FAT-Dateisystem",
}
TABLE = "The disk has an MBR partition table with %n partition(s)."
TABLE_DE = ["Der Datenträger hat eine MBR-Partitionstabelle mit %n Partition.",
            "Der Datenträger hat eine MBR-Partitionstabelle mit %n Partitionen."]


class _Disk:
    """A disk in memory: an MBR with one EFI system partition (type 0xEF) holding no FAT."""

    fixed_size = 4 << 20

    def __init__(self) -> None:
        self.data = bytearray(self.fixed_size)
        entry = bytes([0x80, 0, 0, 0, 0xEF, 0, 0, 0]) + (2048).to_bytes(4, "little") + (
            4096).to_bytes(4, "little")
        self.data[446:462] = entry
        self.data[510:512] = b"\x55\xaa"

    def readinto(self, offset: int, buf: bytearray | memoryview) -> int:
        chunk = self.data[offset:offset + len(buf)]
        buf[:len(chunk)] = chunk
        return len(chunk)


@pytest.fixture
def german(qapp: object, tmp_path: Path) -> Iterator[None]:
    from PySide6.QtCore import QCoreApplication, QTranslator

    plain = "".join(
        f"<message><source>{escape(s)}</source><translation>{escape(t)}</translation></message>"
        for s, t in GERMAN.items())
    forms = "".join(f"<numerusform>{escape(form)}</numerusform>" for form in TABLE_DE)
    numerus = (f'<message numerus="yes"><source>{escape(TABLE)}</source>'
               f"<translation>{forms}</translation></message>")
    ts, qm = tmp_path / "guest_de.ts", tmp_path / "guest_de.qm"
    ts.write_text('<?xml version="1.0" encoding="utf-8"?><!DOCTYPE TS><TS version="2.1" '
                  f'language="de"><context><name></name>{plain}{numerus}</context></TS>',
                  encoding="utf-8")
    lrelease = Path(sys.executable).with_name("pyside6-lrelease")
    subprocess.run([str(lrelease), "-silent", str(ts), "-qm", str(qm)], check=True)
    translator = QTranslator()
    assert translator.load(str(qm))
    QCoreApplication.installTranslator(translator)
    try:
        yield
    finally:
        QCoreApplication.removeTranslator(translator)


def test_guest_evidence_is_shown_in_german_and_stays_english_as_text(german: None) -> None:
    from gui.qt.i18n import render_text

    facts = read_guest_facts(_Disk())
    note = next(n for n in facts.notes if n.startswith("The EFI system partition"))
    assert note == ("The EFI system partition (partition 1 (EFI system partition)) holds no "
                    "readable FAT file system (not a FAT file system).")
    # The sentence, the partition type inside it and the FAT reader's reason: all translated.
    assert render_text(note) == ("Die EFI-Systempartition (Partition 1 (EFI-Systempartition)) "
                                 "enthält kein lesbares FAT-Dateisystem (kein FAT-Dateisystem).")
    table = facts.generation.evidence[0]
    assert table == "The disk has an MBR partition table with 1 partition(s)."
    assert render_text(table) == "Der Datenträger hat eine MBR-Partitionstabelle mit 1 Partition."

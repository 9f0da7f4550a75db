"""``azure-image-studio inspect FILE``: what a disk image is and what Azure will say about it.

Exit status (the table of gui/commands/options.py): 0 when Azure would accept the image after
conversion to a fixed VHD, 2 when it would not or when the file cannot be read as a disk image
at all, 130 when interrupted. ``--json`` prints one object, also for a file it cannot read
(``error`` names the cause's type, ``message`` says it, ``exit_code`` is 2, as before).
``--sandbox`` is accepted so that a script can pass the same switches to every command;
inspect reads only the local file and never talks to Azure. The format is recognised by
content: a QCOW2, VMDK, VDI, archive, ISO or encrypted volume is named (``format`` in ``--json``)
and refused with the command that makes it uploadable (``command``).

It also reads the guest from the disk (partition table, file systems, the EFI boot loader): the
OS type, Hyper-V generation and architecture a VM made from it needs, each with its evidence
(``guest`` in ``--json``; null where the disk does not tell).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TextIO

from gui.commands.options import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandParser,
    add_common_options,
)
from gui.diskimage import DiskImage, DiskImageError, Level, UnsupportedFormatError, open_image
from gui.diskimage.guest import (
    Architecture,
    Confidence,
    Fact,
    Generation,
    GuestFacts,
    OsType,
    read_guest_facts,
)
from gui.diskimage.rules import human_size
from gui.diskimage.zeros import nonzero_runs

EXIT_ACCEPTABLE = EXIT_OK
EXIT_REFUSED = EXIT_USAGE
SCAN_PIECE = 4 * 1024 * 1024


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="azure-image-studio inspect",
        description="Show what a .vhd, .vhdx or raw disk image is and whether Azure would "
                    "accept it once uploaded as a fixed VHD.",
    )
    parser.add_argument("file", help="the disk image to inspect")
    parser.add_argument("--scan", action="store_true",
                        help="also read the data to count the bytes that are not zero (the "
                             "bytes an upload sends); takes as long as reading the data")
    add_common_options(
        parser, codes=(EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED),
        meanings={EXIT_OK: "Azure would accept it once uploaded as a fixed VHD",
                  EXIT_USAGE: "Azure would refuse it, or the file cannot be read as a disk image",
                  EXIT_INTERRUPTED: "interrupted (Ctrl+C)"},
        json_help="print one JSON object instead",
        sandbox_help="accepted like every command's (inspect reads only the local file, never "
                     "Azure)")
    return parser


def count_nonzero(img: DiskImage) -> int:
    """Bytes in 64 KiB granules holding something other than zeros, within the data ranges."""
    buf = bytearray(SCAN_PIECE)
    total = 0
    for data_range in img.data_ranges():
        pos = data_range.offset
        while pos < data_range.end:
            n = img.readinto(pos, memoryview(buf)[: min(SCAN_PIECE, data_range.end - pos)])
            total += sum(r.length for r in nonzero_runs(memoryview(buf)[:n], pos))
            pos += n
    return total


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def _report(img: DiskImage, nonzero: int | None, guest: GuestFacts) -> dict[str, object]:
    return {
        "file": str(img.path),
        "format": img.format.name,
        "format_label": img.format.label,
        "file_size": img.file_size,
        "virtual_size": img.virtual_size,
        "fixed_size": img.fixed_size,
        "upload_size": img.upload_size,
        "allocated_bytes": img.allocated_bytes,
        "data_ranges": len(img.data_ranges()),
        "nonzero_bytes": nonzero,
        "disk_id": str(img.disk_id),
        "details": dict(img.details),
        "findings": [{"level": f.level.name, "code": f.code, "message": f.message}
                     for f in img.findings],
        "acceptable": img.acceptable,
        "guest": guest.to_json(),
    }


def _fact_text(fact: Fact[OsType] | Fact[Generation] | Fact[Architecture],
               chosen_for: str) -> str:
    if fact.confidence is Confidence.UNKNOWN:
        return f"unknown (choose {chosen_for} yourself)"
    return f"{fact.value.value} ({fact.confidence.value} confidence)"


def _print_guest(guest: GuestFacts, out: TextIO) -> None:
    rows = [
        ("Partition table", guest.partition_table.value),
        ("OS type", _fact_text(guest.os_type, "Windows or Linux")),
        ("Hyper-V generation", _fact_text(guest.generation, "V1 or V2")),
        ("Architecture", _fact_text(guest.architecture, "x64 or Arm64")),
    ]
    width = max(len(k) for k, _ in rows) + 1
    print("Guest (read from the disk):", file=out)
    for key, value in rows:
        print(f"  {key + ':':<{width}} {value}", file=out)
    for line in guest.evidence:
        print(f"  - {line}", file=out)
    print(file=out)


def _print_text(img: DiskImage, nonzero: int | None, guest: GuestFacts, out: TextIO) -> None:
    rows = [
        ("File", str(img.path)),
        ("Format", img.format.label),
        ("File size", human_size(img.file_size)),
        ("Disk size", human_size(img.virtual_size)),
        ("Azure disk size", human_size(img.fixed_size)
         + ("" if img.fixed_size == img.virtual_size else " (rounded up to whole MiB)")),
        ("Upload size", human_size(img.upload_size) + " (fixed VHD with footer)"),
        ("Data", f"{human_size(img.allocated_bytes)} in {len(img.data_ranges()):,} range(s), "
                 f"{_percent(img.allocated_bytes, img.virtual_size)} of the disk"),
    ]
    if nonzero is not None:
        rows.append(("Not zero", f"{human_size(nonzero)}, the bytes an upload sends"))
    rows += [(k, v) for k, v in img.details]
    width = max(len(k) for k, _ in rows) + 1
    for key, value in rows:
        print(f"{key + ':':<{width}} {value}", file=out)
    print(file=out)
    _print_guest(guest, out)
    print("Findings:", file=out)
    for finding in sorted(img.findings, key=lambda f: -f.level):
        print(f"  {finding.level.name:<7} [{finding.code}] {finding.message}", file=out)
    print(file=out)
    errors = sum(1 for f in img.findings if f.level is Level.ERROR)
    if img.acceptable:
        print("Result: Azure will accept this disk once uploaded as a fixed VHD.", file=out)
    else:
        print(f"Result: Azure would refuse this disk ({errors} error(s) above); fix them first.",
              file=out)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        return _inspect(args)
    except KeyboardInterrupt:  # a --scan of a large disk takes a while
        sys.stderr.write("azure-image-studio inspect: interrupted\n")
        return EXIT_INTERRUPTED


def _quiet_stdout() -> None:
    """The reader went away (e.g. "| head"): drop the rest of the output, keep the verdict."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _inspect(args: argparse.Namespace) -> int:
    try:
        with open_image(args.file) as img:
            nonzero = count_nonzero(img) if args.scan else None
            guest = read_guest_facts(img)
            try:
                if args.json:
                    print(json.dumps(_report(img, nonzero, guest), indent=2))
                else:
                    _print_text(img, nonzero, guest, sys.stdout)
                sys.stdout.flush()
            except BrokenPipeError:
                _quiet_stdout()
            return EXIT_ACCEPTABLE if img.acceptable else EXIT_REFUSED
    except DiskImageError as exc:
        if args.json:
            report: dict[str, object] = {"file": args.file, "error": type(exc).__name__,
                                         "message": exc.message, "acceptable": False,
                                         "exit_code": EXIT_REFUSED}
            if isinstance(exc, UnsupportedFormatError):
                # Scripts can tell a QCOW2 from a damaged VHD, and run the fix they are given.
                report.update(format=exc.format_name, format_label=exc.format_label,
                              command=exc.command)
            print(json.dumps(report, indent=2))
        print(f"azure-image-studio inspect: {exc.message}", file=sys.stderr)
        return EXIT_REFUSED

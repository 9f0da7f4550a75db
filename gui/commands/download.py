"""``azure-image-studio download SOURCE FILE [--format vhd|vhd-dynamic|vhdx|raw]``: disk to file.

SOURCE is a page blob's SAS URL, or the resource ID of a managed disk, a snapshot or a gallery
image version (``--lun N`` for one of its data disks). Only the allocated pages travel, holes
stay holes in FILE, and running the same command again after a failure, Ctrl+C or a crash
fetches only the rest (gui/transfer/download.py). A disk or snapshot is granted read access for
the download and revoked in every outcome; a gallery image version is read through a temporary
disk made from it, deleted at the end (gui/azure/download/).

A SAS URL is a secret: given as SOURCE it shows in the process list, so ``-`` reads it from
standard input and ``--source-env NAME`` from an environment variable instead.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gui.commands.options import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    add_common_options,
    azure_session,
    checked_sandbox,
    emit_json,
    fail,
    sandbox,
)
from gui.commands.upload import ProgressPrinter, logging_to_data_dir

if TYPE_CHECKING:
    from gui.azure.download.job import AzureDownloadResult, DownloadStep

PROG = "download"
# The formats of gui.diskimage.writers (read there too, so a new writer appears here by itself).
DEFAULT_FORMAT = "vhd"


def _formats() -> tuple[str, ...]:
    from gui.transfer.download import FORMATS

    return FORMATS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="azure-image-studio download",
        description="Download a managed disk, a snapshot, a gallery image version or a page "
        "blob to a local disk image, fetching only the allocated data (holes stay holes). "
        "Running the same command again resumes an interrupted download.",
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        help="a page blob's SAS URL (read permission), '-' to read it from standard input (a "
        "URL given here shows in the process list), or the resource ID of a managed disk, "
        "snapshot or gallery image version (/subscriptions/.../providers/Microsoft.Compute/...)",
    )
    p.add_argument("file", type=Path, metavar="FILE", help="the disk image to write")
    p.add_argument(
        "--format",
        choices=_formats(),
        default=DEFAULT_FORMAT,
        help="vhd: fixed VHD (what Azure stores; sparse on disk); vhd-dynamic and vhdx: only "
        "blocks with data; raw: the bare disk, sparse (default: %(default)s)",
    )
    p.add_argument("--source-env", metavar="NAME",
                   help="read SOURCE (a SAS URL) from the environment variable NAME")
    p.add_argument("--lun", type=int, default=None,
                   help="a gallery image version's data disk at this LUN (default: its OS disk)")
    p.add_argument("--temporary-resource-group", metavar="RG",
                   help="where the temporary disk of a gallery image version is made (default: "
                   "the version's resource group)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace FILE when it exists and is not an unfinished download of SOURCE")
    p.add_argument("--no-md5", action="store_true",
                   help="do not check the blob's Content-MD5 against the file")
    p.add_argument("--concurrency", type=int, default=None, help="ranged GETs in flight")
    p.add_argument(
        "--progress", choices=("auto", "bar", "plain", "json", "none"), default="auto",
        help="progress on stderr: a bar on a terminal, one line per interval otherwise; json: "
        "one JSON object per line",
    )
    add_common_options(p, meanings={
        EXIT_OK: "done: FILE holds the whole disk (its Content-MD5 checked where Azure has "
                 "one); read access revoked, the temporary disk deleted",
        EXIT_USAGE: "bad usage or input: an unknown SOURCE, format or LUN, a plain-http SAS "
                    "URL, or FILE exists (--overwrite replaces it)",
        EXIT_AUTH: "not signed in, the account may not read the resource, or the SAS was "
                   "refused or expired",
        EXIT_NOT_FOUND: "not found in Azure: the disk, snapshot, version or blob",
    })
    return p


def _source_text(args: argparse.Namespace) -> str:
    if args.source_env is not None:
        if args.source not in ("-", ""):
            raise UsageError("give SOURCE as '-' with --source-env, not both")
        value = os.environ.get(args.source_env, "").strip()
        if not value:
            raise UsageError(f"--source-env {args.source_env}: that environment variable is not "
                             "set")
        return value
    if args.source == "-":
        value = sys.stdin.readline().strip()
        if not value:
            raise UsageError("SOURCE was to come from standard input ('-'), but it was empty")
        return value
    return str(args.source)


def main(argv: Sequence[str]) -> int:
    with logging_to_data_dir():
        return _main(argv)


def _main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.concurrency is not None and args.concurrency < 1:
        return fail(PROG, "--concurrency must be at least 1", as_json=args.json)
    from gui.azure.download.job import AzureDownload
    from gui.azure.download.source import InvalidDownloadSourceError, SourceKind, parse_source
    from gui.transfer.download import (
        DownloadCancelledError,
        DownloadOptions,
        InvalidFormatError,
        OutputExistsError,
    )
    from gui.transfer.errors import (
        AccessDeniedError,
        InvalidTargetError,
        TargetNotFoundError,
        UploadError,
    )

    try:
        checked_sandbox(args)
        source = parse_source(_source_text(args), args.lun)
    except (UsageError, InvalidDownloadSourceError) as exc:
        return fail(PROG, exc, code=EXIT_USAGE, as_json=args.json)
    options = DownloadOptions(overwrite=args.overwrite, verify_md5=not args.no_md5)
    if args.concurrency is not None:
        options = DownloadOptions(overwrite=args.overwrite, verify_md5=not args.no_md5,
                                  concurrency=args.concurrency)
    printer = ProgressPrinter(sys.stderr, args.progress)
    steps = _StepLines(printer)

    async def run() -> AzureDownloadResult:
        if source.kind is SourceKind.SAS_URL:
            job = AzureDownload(None, source, args.file, args.format, options,
                                on_progress=printer, on_step=steps)
            return await job.run()
        with sandbox(args) as endpoints:
            async with azure_session(args, endpoints) as session:
                job = AzureDownload(session.compute, source, args.file, args.format, options,
                                    on_progress=printer, on_step=steps,
                                    temporary_resource_group=args.temporary_resource_group)
                return await job.run()

    try:
        result = asyncio.run(run())
    except (KeyboardInterrupt, DownloadCancelledError):
        printer.close()
        return fail(PROG, "interrupted; run the same command again to resume",
                    code=EXIT_INTERRUPTED, as_json=args.json)
    except (OutputExistsError, InvalidFormatError, InvalidDownloadSourceError,
            InvalidTargetError) as exc:  # a malformed or plain-http SAS URL is bad input too
        printer.close()
        return fail(PROG, exc, code=EXIT_USAGE, as_json=args.json)
    except AccessDeniedError as exc:  # the SAS refused or expired (ARM's own are mapped below)
        printer.close()
        return fail(PROG, exc, code=EXIT_AUTH, as_json=args.json)
    except TargetNotFoundError as exc:
        printer.close()
        return fail(PROG, exc, code=EXIT_NOT_FOUND, as_json=args.json)
    except UploadError as exc:
        printer.close()
        hint = " (a new run resumes)" if exc.resumable and "resume" not in str(exc) else ""
        return fail(PROG, exc, code=EXIT_FAILED, as_json=args.json, hint=hint)
    except Exception as exc:  # Azure's errors: sign-in 3, not found 4, the rest 1
        printer.close()
        return fail(PROG, exc, as_json=args.json)
    printer.close()
    transfer = result.transfer
    if args.json:
        document: dict[str, Any] = {
            "source": result.source,
            "temporary_disk": result.temporary_disk,
            **asdict(transfer),
            "path": str(transfer.path),
        }
        emit_json(document)
    else:
        md5 = f", Content-MD5 {transfer.content_md5} checked" if transfer.md5_checked else ""
        again = f", {transfer.bytes_present} already there" if transfer.resumed else ""
        print(
            f"downloaded {result.source} to {transfer.path} ({transfer.format}): fetched "
            f"{transfer.bytes_fetched} bytes of {transfer.virtual_size}{again}{md5}"
        )
    return EXIT_OK


class _StepLines:
    """Each step as the upload's printer shows steps: a line when it ends."""

    def __init__(self, printer: ProgressPrinter) -> None:
        self._printer = printer
        self._running: Any = None

    def __call__(self, step: DownloadStep) -> None:
        from gui.azure.steps import StepSpec, StepState, started

        if self._running is not None:
            self._printer.step(self._running.ended_as(StepState.DONE))
        self._running = started(StepSpec(key=step.name.lower(), title=str(step.value)))

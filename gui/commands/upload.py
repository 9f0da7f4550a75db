"""``azure-image-studio upload FILE --to URL | --disk NAME ...``: the upload engine from a terminal.

Two kinds of target. A page blob (``--to`` a SAS URL, a connection string or an account URL
signed in with Entra ID) takes the engine alone. A managed disk (``--disk NAME
--resource-group RG --location REGION [--sku SKU]``) takes the upload wizard's own job, with its
follow-ups: a managed image (``--image NAME``) or a gallery image version (``--gallery-version
GALLERY/DEF/VERSION --regions r1=2,r2=1``), which a page blob given by its SAS URL takes too;
an OVA's disks all go up, as in the wizard (gui/commands/upload_plan.py). ``--sandbox`` runs
those against the offline sandbox.

Exit status (gui/commands/options.py): 0 only when every disk is complete and verified (size,
pages, footer, Content-MD5) and the image, if asked for, exists; 1 the upload or the image step
failed (the line says whether a new run resumes); 2 bad arguments, a name Azure's rules refuse,
or an image Azure would refuse; 3 not signed in or not allowed; 4 the resource group (or another
resource named) does not exist; 130 interrupted (the same command again resumes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gui.commands.options import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CommandParser,
    UsageError,
    add_common_options,
    azure_session,
    checked_sandbox,
    emit_json,
    fail,
    sandbox,
    sandbox_subscription,
)
from gui.commands.upload_plan import add_managed_options, wants_plan
from gui.transfer import (
    BlobTarget,
    ConnectionStringTarget,
    ProgressSnapshot,
    SasUrlTarget,
    TokenCredentialTarget,
    Upload,
    UploadCancelledError,
    UploadError,
    UploadOptions,
)
from gui.transfer.redact import RedactingFormatter, redact
from gui.transfer.tls import require_tls
from gui.units import human_bytes

if TYPE_CHECKING:
    from gui.azure.steps import StepEvent

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
# The SAS URL when no target option is given: a variable is not visible in `ps` as an argument is.
SAS_URL_ENV = "AZURE_IMAGE_STUDIO_SAS_URL"
PROG = "upload"  # the prefix of the one-line reasons on stderr, as before


def _parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="azure-image-studio upload",
        description="Upload a disk image (VHD, VHDX, raw, qcow2, VMDK, VDI, or an OVA's disks) as\n"
        "the fixed VHD Azure takes, sending only the data: to a page blob, or to a managed\n"
        "disk and then a managed image or a gallery image version, as the upload wizard\n"
        "does. Running the same command again resumes an interrupted upload.",
    )
    p.add_argument("file", type=Path,
                   help="the disk image: .vhd, .vhdx, .raw/.img, .qcow2, .vmdk, .vdi or .ova")
    where = p.add_argument_group("target (one of)")
    where.add_argument(
        "--to",
        metavar="URL",
        help="page-blob URL with a SAS (racw); '-' reads it from standard input, so it does "
        f"not show in the process list (default: ${SAS_URL_ENV} when no target is given)",
    )
    where.add_argument(
        "--to-env",
        metavar="NAME",
        help="read the page-blob SAS URL from the environment variable NAME",
    )
    where.add_argument(
        "--connection-string",
        metavar="CS",
        help=f"storage connection string, '-' for standard input (default: "
        f"${CONNECTION_STRING_ENV} when --container and --name are given without --account-url)",
    )
    where.add_argument(
        "--account-url",
        metavar="URL",
        help="https://<account>.blob.core.windows.net, signed in with Entra ID (AZURE_* "
        "environment, managed identity, the app's saved sign-in or the Azure CLI)",
    )
    where.add_argument("--container", help="container for --connection-string / --account-url")
    where.add_argument("--name", help="blob name for --connection-string / --account-url")
    add_managed_options(p)
    p.add_argument("--no-md5", action="store_true",
                   help="do not compute and set Content-MD5 (blobs only: a managed disk cannot "
                        "keep one, so it is never computed for --disk)")
    p.add_argument("--concurrency", type=int, default=None, help="Put Page requests in flight")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing blob and forget any unfinished upload to it",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "bar", "plain", "json", "none"),
        default="auto",
        help="progress on stderr: a bar on a terminal, one line per interval otherwise; json: "
        "one JSON object per line (progress snapshots and step events)",
    )
    add_common_options(p)
    return p


def _from_stdin(what: str) -> str:
    """One line from standard input (a pipe, a here-string or a prompt-less paste)."""
    value = sys.stdin.readline().strip()
    if not value:
        raise UsageError(f"{what} was to come from standard input ('-'), but it was empty")
    return value


def _sas_url(args: argparse.Namespace) -> str | None:
    """The SAS URL from --to, --to-env or $AZURE_IMAGE_STUDIO_SAS_URL; None for other targets."""
    if args.to is not None and args.to_env is not None:
        raise UsageError("give either --to or --to-env, not both")
    if args.to == "-":
        return _from_stdin("the SAS URL")
    if args.to is not None:
        return str(args.to)
    if args.to_env is not None:
        value = os.environ.get(args.to_env, "").strip()
        if not value:
            raise UsageError(f"--to-env {args.to_env}: that environment variable is not set")
        return value
    if args.connection_string or args.account_url or args.container or args.name:
        return None
    return os.environ.get(SAS_URL_ENV, "").strip() or None


def _target(args: argparse.Namespace) -> BlobTarget:
    url = _sas_url(args)
    if url is not None:
        if args.connection_string or args.account_url:
            raise UsageError("give either a SAS URL or --connection-string/--account-url, not both")
        return SasUrlTarget(url)
    if not args.container or not args.name:
        raise UsageError(
            "name the target: --to URL (or --to -, --to-env NAME, $"
            f"{SAS_URL_ENV}), or --container and --name with a connection string or "
            "--account-url"
        )
    if args.account_url:
        # The URL is checked (TLS, well formed) before any credential is made or used.
        require_tls(args.account_url, "The account URL (--account-url)")
        return TokenCredentialTarget(
            args.account_url, args.container, args.name, _headless_credential()
        )
    connection_string = args.connection_string or os.environ.get(CONNECTION_STRING_ENV)
    if connection_string == "-":
        connection_string = _from_stdin("the connection string")
    if not connection_string:
        raise UsageError(
            f"no connection string: pass --connection-string or set {CONNECTION_STRING_ENV}"
        )
    return ConnectionStringTarget(connection_string, args.container, args.name)


def _headless_credential() -> object:
    """AZURE_* environment, workload or managed identity, the app's saved sign-in, then the
    Azure CLI, never prompting (see gui.azure.account.signin)."""
    from gui.azure.account.signin import headless_credential

    return headless_credential()


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class ProgressPrinter:
    """A one-line bar on a terminal, or plain lines (at most one per ``interval``) for logs, or
    JSON lines (``json``: one object per snapshot or step event, for scripts)."""

    def __init__(self, stream: TextIO, mode: str, interval: float = 1.0) -> None:
        if mode == "auto":
            mode = "bar" if stream.isatty() else "plain"
        self._stream = stream
        self._mode = mode
        self._interval = interval if mode in ("plain", "json") else 0.2
        self._last = 0.0
        self._drawn = False
        # Snapshots come from the engines' threads, step events from the loop: one writer at a
        # time, so lines never interleave.
        self._lock = threading.Lock()

    def __call__(self, snap: ProgressSnapshot) -> None:
        if self._mode == "none":
            return
        with self._lock:
            now = time.monotonic()
            if now - self._last < self._interval and not snap.state.finished:
                return
            self._last = now
            self._write_snapshot(snap)

    def _write_snapshot(self, snap: ProgressSnapshot) -> None:
        if self._mode == "json":
            self._stream.write(json.dumps({
                "event": "progress", "state": snap.state.value, "done": snap.bytes_done,
                "sent": snap.bytes_sent, "skipped": snap.bytes_skipped,
                "present": snap.bytes_present, "total": snap.total_bytes,
                "rate": round(snap.send_rate), "eta": snap.eta_seconds}) + "\n")
        elif self._mode == "plain":
            self._stream.write(
                f"progress state={snap.state.value} done={snap.bytes_done} "
                f"sent={snap.bytes_sent} skipped={snap.bytes_skipped} "
                f"present={snap.bytes_present} total={snap.total_bytes} "
                f"rate={snap.send_rate:.0f} eta={_duration(snap.eta_seconds)}\n"
            )
        else:
            width = 28
            filled = int(snap.fraction * width)
            line = (
                f"\r[{'#' * filled}{'.' * (width - filled)}] {snap.fraction * 100:5.1f}%  "
                f"{human_bytes(snap.send_rate)}/s  sent {human_bytes(snap.bytes_sent)}  "
                f"skipped {human_bytes(snap.bytes_skipped + snap.bytes_present)}  "
                f"ETA {_duration(snap.eta_seconds)}  {snap.state.value:<10}"
            )
            self._stream.write(line)
            self._drawn = True
        self._stream.flush()

    def step(self, event: StepEvent) -> None:
        """A step of a managed-disk upload: a line when it ends (every event in ``json``)."""
        if self._mode == "none":
            return
        with self._lock:
            if self._mode == "json":
                from gui.commands.upload_plan import step_json

                self._stream.write(json.dumps({"event": "step", **step_json(event)}) + "\n")
            elif event.state.ended:
                if self._drawn:  # the bar's line is ended before a step's line
                    self._stream.write("\n")
                    self._drawn = False
                seconds = f" ({event.seconds:.1f} s)" if event.seconds is not None else ""
                text = redact(" ".join(str(event.message).split()))
                detail = f": {text}" if text else ""
                self._stream.write(
                    f"step {event.title}: {event.state.value.lower()}{seconds}{detail}\n")
            self._stream.flush()

    def close(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


LOG_FILE = "azure-image-studio.log"


@contextlib.contextmanager
def logging_to_data_dir() -> Iterator[None]:
    """The engine's and the SDK's warnings (a failure's request ids, for Azure support) go to
    the app's log file, redacted, rather than to the terminal, which keeps its one line per
    outcome (``upload``) or its report (``smoke``). An unwritable data directory must not stop
    the command: it then runs without the file."""
    from gui.paths import data_dir

    try:
        handler: logging.Handler = logging.FileHandler(data_dir() / LOG_FILE, encoding="utf-8")
    except OSError:
        yield
        return
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("gui")
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


def main(argv: Sequence[str]) -> int:
    with logging_to_data_dir():
        return _main(argv)


def _main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    if args.concurrency is not None and args.concurrency < 1:
        return fail(PROG, "--concurrency must be at least 1", as_json=args.json)
    if wants_plan(args):
        return _managed(args)
    if args.sandbox is not None:
        # A page blob alone talks to no ARM endpoint: its SAS URL says where it is.
        return fail(PROG, "--sandbox takes a managed disk (--disk NAME --resource-group RG "
                          "--location REGION) or an image (--image, --gallery-version); a page "
                          "blob alone is reached by its SAS URL (--to), sandbox or not",
                    as_json=args.json)
    try:
        target = _target(args)
    except (UsageError, UploadError) as exc:
        return fail(PROG, exc, code=EXIT_USAGE, as_json=args.json)

    from gui.diskimage import DiskImageError, Level, open_image

    try:
        image = open_image(args.file)
    except DiskImageError as exc:
        return fail(PROG, exc, code=EXIT_USAGE, as_json=args.json)
    except OSError as exc:
        return fail(PROG, f"cannot open {args.file}: {exc.strerror}", as_json=args.json)
    with image:
        errors = [f for f in image.findings if f.level is Level.ERROR]
        if errors:
            return fail(PROG, f"{args.file} cannot be uploaded: {errors[0].message}",
                        as_json=args.json)
        options = UploadOptions(md5=not args.no_md5, overwrite=args.overwrite)
        if args.concurrency is not None:
            options = UploadOptions(
                concurrency=args.concurrency, md5=not args.no_md5, overwrite=args.overwrite
            )
        printer = ProgressPrinter(sys.stderr, args.progress)
        upload = Upload(image, target, options, on_progress=printer)
        upload.start()
        try:
            while not upload.wait(0.2):
                pass
        except KeyboardInterrupt:
            upload.cancel()
            upload.wait()
            printer.close()
            return fail(PROG, "interrupted; run the same command again to resume",
                        code=EXIT_INTERRUPTED, as_json=args.json)
        printer.close()
        try:
            result = upload.result()
        except UploadError as exc:
            return fail(PROG, exc, code=EXIT_FAILED, as_json=args.json, hint=_hint(exc))
    if args.json:
        # The engine's result as before ("target" is the blob's URL), with the kind of target
        # and the file as every upload's JSON has them.
        emit_json({"kind": "page-blob", "file": str(args.file.resolve()), **asdict(result)})
    else:
        md5 = f", Content-MD5 {result.content_md5}" if result.content_md5 else ""
        print(
            f"uploaded {args.file} to {result.target}: sent {result.bytes_sent} bytes, skipped "
            f"{result.bytes_skipped}, already there {result.bytes_present}{md5}; verified"
        )
    return 0


def _managed(args: argparse.Namespace) -> int:
    """A managed disk, or an image after the upload: the wizard's plan and job
    (upload_plan.py)."""
    from gui.commands import upload_plan

    try:
        checked_sandbox(args)
        # A page blob an image is made from: its SAS URL (the job takes blobs by SAS).
        blob_url = None
        if args.disk is None and (args.image or args.gallery_version):
            if args.connection_string or args.account_url:
                raise UsageError("an image from a page blob takes the blob's SAS URL (--to, "
                                 "--to-env); or upload to a managed disk with --disk NAME")
            blob_url = _sas_url(args)
            if blob_url is not None:
                require_tls(blob_url.partition("?")[0], "The page blob's URL (--to)")
        request = upload_plan.plan_request(
            args, sandbox_subscription(args, args.subscription), blob_url)
    except (UsageError, UploadError) as exc:
        return fail(PROG, exc, code=EXIT_USAGE, as_json=args.json)

    from gui.diskimage import DiskImageError, Level, open_image

    try:
        image = open_image(args.file)
    except DiskImageError as exc:
        return fail(PROG, exc, code=EXIT_USAGE, as_json=args.json)
    except OSError as exc:
        return fail(PROG, f"cannot open {args.file}: {exc.strerror}", as_json=args.json)
    try:
        with image:
            errors = [f for f in image.findings if f.level is Level.ERROR]
            if errors:
                raise UsageError(f"{args.file} cannot be uploaded: {errors[0].message}")
            facts = upload_plan.disk_facts(args, image, needed=request.follow_up)
            plan = upload_plan.build_plan(request, args.file, image, facts)
    except UsageError as exc:
        return fail(PROG, exc, as_json=args.json)
    options = UploadOptions(md5=not args.no_md5, overwrite=args.overwrite)
    if args.concurrency is not None:
        options = UploadOptions(md5=not args.no_md5, overwrite=args.overwrite,
                                concurrency=args.concurrency)
    printer = ProgressPrinter(sys.stderr, args.progress)

    steps: dict[str, StepEvent] = {}  # each step's latest event, in the order they began

    def on_step(event: StepEvent) -> None:
        steps[event.key] = event
        printer.step(event)

    async def run() -> dict[str, object]:
        with sandbox(args) as endpoints:
            async with azure_session(args, endpoints) as session:
                if request.follow_up:
                    assert facts is not None
                    await upload_plan.with_follow_up(session, plan, request, facts)
                result = await upload_plan.run_plan(
                    session, plan, options, on_progress=printer, on_step=on_step)
                return {**upload_plan.result_json(plan, result),
                        "steps": [upload_plan.step_json(event) for event in steps.values()]}

    try:
        document = asyncio.run(run())
    except (KeyboardInterrupt, Exception) as exc:  # Ctrl+C, or any failure: one line each
        printer.close()
        # With --json the error object also lists the steps, the failed one with Azure's words.
        done = {"steps": [upload_plan.step_json(event) for event in steps.values()]}
        if isinstance(exc, KeyboardInterrupt | UploadCancelledError):
            # Ctrl+C: the job was suspended (upload_plan.run_plan), or stopped before it began.
            return fail(PROG, "interrupted; run the same command again to resume",
                        code=EXIT_INTERRUPTED, as_json=args.json, extra=done)
        # A usage error found in Azure (a version that exists), or the job's own errors
        # (Azure's, the engine's): one line each.
        return fail(PROG, exc, as_json=args.json, hint=_hint(exc), extra=done)
    printer.close()
    if args.json:
        emit_json(document)
    else:
        image_made = document.get("image")
        made = f"; made {image_made['id']}" if isinstance(image_made, dict) else ""
        where = (f"managed disk {document['disk_id']}" if document["disk_id"]
                 else f"page blob {document['blob_url']}")
        print(f"uploaded {args.file} to {where}{made}; verified")
    return 0


def _hint(exc: BaseException) -> str:
    """What an engine error adds to its line: whether a new run resumes."""
    if isinstance(exc, UploadError) and exc.resumable and "resume" not in str(exc):
        return " (a new run resumes)"
    return ""

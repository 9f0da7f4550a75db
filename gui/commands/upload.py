"""``azure-image-studio upload FILE --to URL``: the upload engine from a terminal, for scripts.

Exit status 0 only when the blob is complete and verified (size, pages, footer, Content-MD5);
otherwise non-zero with a one-line reason on stderr: 1 the upload failed (the line says whether a
new run resumes), 2 bad arguments or an image Azure would refuse, 130 interrupted (resumable).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TextIO

from gui.transfer import (
    BlobTarget,
    ConnectionStringTarget,
    ProgressSnapshot,
    SasUrlTarget,
    TokenCredentialTarget,
    Upload,
    UploadError,
    UploadOptions,
)
from gui.transfer.redact import RedactingFormatter, redact
from gui.transfer.tls import require_tls
from gui.units import human_bytes

CONNECTION_STRING_ENV = "AZURE_STORAGE_CONNECTION_STRING"
# The SAS URL when no target option is given: a variable is not visible in `ps` as an argument is.
SAS_URL_ENV = "AZURE_IMAGE_STUDIO_SAS_URL"
EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="azure-image-studio upload",
        description="Upload a .vhd, .vhdx or raw disk image as a fixed-VHD page blob, sending "
        "only the data. Running the same command again resumes an interrupted upload.",
    )
    p.add_argument("file", type=Path, help="the disk image (.vhd, .vhdx, .raw, .img)")
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
    p.add_argument("--no-md5", action="store_true", help="do not compute and set Content-MD5")
    p.add_argument("--concurrency", type=int, default=None, help="Put Page requests in flight")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing blob and forget any unfinished upload to it",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "bar", "plain", "none"),
        default="auto",
        help="progress on stderr: a bar on a terminal, one line per interval otherwise",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
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


class UsageError(Exception):
    pass


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class ProgressPrinter:
    """A one-line bar on a terminal, or plain lines (at most one per ``interval``) for logs."""

    def __init__(self, stream: TextIO, mode: str, interval: float = 1.0) -> None:
        if mode == "auto":
            mode = "bar" if stream.isatty() else "plain"
        self._stream = stream
        self._mode = mode
        self._interval = interval if mode == "plain" else 0.2
        self._last = 0.0
        self._drawn = False

    def __call__(self, snap: ProgressSnapshot) -> None:
        if self._mode == "none":
            return
        now = time.monotonic()
        if now - self._last < self._interval and not snap.state.finished:
            return
        self._last = now
        if self._mode == "plain":
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
    try:
        target = _target(args)
    except (UsageError, UploadError) as exc:
        print(f"upload: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.concurrency is not None and args.concurrency < 1:
        print("upload: --concurrency must be at least 1", file=sys.stderr)
        return EXIT_USAGE

    from gui.diskimage import DiskImageError, Level, open_image

    try:
        image = open_image(args.file)
    except DiskImageError as exc:
        print(f"upload: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"upload: cannot open {args.file}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    with image:
        errors = [f for f in image.findings if f.level is Level.ERROR]
        if errors:
            print(f"upload: {args.file} cannot be uploaded: {errors[0].message}", file=sys.stderr)
            return EXIT_USAGE
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
            print("upload: interrupted; run the same command again to resume", file=sys.stderr)
            return EXIT_INTERRUPTED
        printer.close()
        try:
            result = upload.result()
        except UploadError as exc:
            hint = "" if not exc.resumable or "resume" in str(exc) else " (a new run resumes)"
            print(f"upload: {redact(str(exc))}{hint}", file=sys.stderr)
            return EXIT_FAILED
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        md5 = f", Content-MD5 {result.content_md5}" if result.content_md5 else ""
        print(
            f"uploaded {args.file} to {result.target}: sent {result.bytes_sent} bytes, skipped "
            f"{result.bytes_skipped}, already there {result.bytes_present}{md5}; verified"
        )
    return 0

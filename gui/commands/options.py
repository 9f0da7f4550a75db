"""What every headless command shares: ``--json``, ``--sandbox``, the exit codes, the session.

Every command (``inspect``, ``upload``, ``images search``, ``smoke``, ``download``, ``copy``)
builds its parser (a :class:`CommandParser`: argparse's usage errors as one line, and with
``--json`` as the error object) and then calls :func:`add_common_options`, which adds the two
switches and renders the exit-code table below into the command's ``--help`` epilog (only the
codes that command returns, in its own words where it has them).

Exit codes (one table for every command; :data:`EXIT_CODES`)::

    0    done: what was asked happened (and, for a transfer, was verified)
    1    failed in Azure or in the transfer (the line on stderr says whether a new run resumes);
         ``images search``: no image found (as grep says "no match")
    2    bad usage or bad input: an unknown option, a name Azure's rules refuse, a local file
         that cannot be read, a disk image Azure would not accept (``inspect``'s "refused")
    3    not signed in, or the account may not do this (Entra ID sign-in, a 401/403: a
         missing role)
    4    not found in Azure: a resource group, resource or blob the command names
    130  interrupted (Ctrl+C): what was done is kept; running the same command again resumes

Why these: 0/1/2 are what ``upload``, ``smoke``, ``inspect`` and ``images search`` returned
before, so scripts written against them keep working (2 is also argparse's own code for a bad
option, which no command can change); 130 is what ``upload`` returned for Ctrl+C and what a
shell reports for a process that SIGINT ended (128 + 2). 3 and 4 split off the two failures a
script reacts to differently from "Azure said no": sign in (or ask for a role) and retry, or
fix the name. A local file that cannot be read stays 2, as ``inspect`` and ``upload`` said
before (it is the command's input, not Azure's state). Everything else Azure or the engine
reports is 1.

``--json``: stdout carries exactly one JSON object when the command ends, whatever the outcome,
so ``json.loads(stdout)`` always works: the command's result, or on failure
``{"error": {"type", "message", "advice"}, "exit_code": N}`` (:func:`fail`; ``inspect`` keeps
its own error shape of before, ``error`` naming the type, plus ``exit_code``). Progress and step
events are not mixed into it: they go to stderr (``upload --progress json`` writes them there as
JSON lines, one object per event). The one-line reason also goes to stderr in every mode.

``--sandbox``: runs the command against the embedded offline Azure instead of signing in.
Bare ``--sandbox`` starts a sandbox of its own in a temporary directory, from its seed, and
stops it when the command ends: nothing a command does there touches the window's sandbox
(two servers writing one state directory would overwrite each other's resources), and every
run starts from the same world, so scripts are reproducible. ``--sandbox URL`` uses a running
sandbox (``python -m gui.sandbox`` prints its URL and keeps its state in the app's data
directory, as the window's offline mode does), so one command can use what another made;
loopback URLs only. :func:`azure_session` yields a session for either, or for the real sign-in
(the headless chain of ``gui.azure.account.signin.headless_credential``, never a prompt).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from gui.transfer.redact import redact

if TYPE_CHECKING:
    from gui.azure.account.session import AzureSession
    from gui.sandbox import SandboxServer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class ExitCode:
    code: int
    name: str
    meaning: str


EXIT_CODES: tuple[ExitCode, ...] = (
    ExitCode(EXIT_OK, "ok", "done (for a transfer: complete and verified)"),
    ExitCode(EXIT_FAILED, "failed", "failed in Azure or in the transfer (stderr says whether a "
                                    "new run resumes)"),
    ExitCode(EXIT_USAGE, "usage", "bad usage or input (an option, a name Azure refuses, a file "
                                  "that cannot be read, a disk image Azure would not accept)"),
    ExitCode(EXIT_AUTH, "auth", "not signed in, or the account may not do this"),
    ExitCode(EXIT_NOT_FOUND, "not-found", "not found in Azure (a resource group, resource or "
                                          "blob the command names)"),
    ExitCode(EXIT_INTERRUPTED, "interrupted", "interrupted (Ctrl+C); the same command again "
                                              "resumes"),
)


SANDBOX_HELP = (
    "run against the offline sandbox: a new one of its own (from its seed, gone afterwards), "
    "or the running one at URL (loopback only; python -m gui.sandbox prints it)")


class UsageError(Exception):
    """Bad usage or input, found before anything is sent: exit 2 with this one line."""


class CommandParser(argparse.ArgumentParser):
    """argparse for a command: a usage error is one line on stderr that says where help is
    (not argparse's usage block and "error:" line), with ``--json`` also the error object on
    stdout, and exit 2 (argparse's own code for it, so the table keeps it)."""

    _wants_json = False

    def parse_known_args(  # type: ignore[override]  # the one signature the commands call
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # Read before parsing: the error to report may come before --json is parsed.
        self._wants_json = "--json" in (sys.argv[1:] if args is None else list(args))
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        line = f"{self.prog}: {message} (see {self.prog} --help)"
        sys.stderr.write(line + "\n")
        if self._wants_json:
            emit_json({"error": {"type": "UsageError", "message": line, "advice": ""},
                       "exit_code": EXIT_USAGE})
        raise SystemExit(EXIT_USAGE)


def exit_status_epilog(
    meanings: Mapping[int, str] | None = None, codes: Collection[int] | None = None
) -> str:
    """The exit-code table as ``--help`` shows it: the ``codes`` a command can return (all by
    default), ``meanings`` in a command's own words (``images search``: 1 is "no image
    found")."""
    own = dict(meanings or {})
    lines = ["exit status:"]
    for entry in EXIT_CODES:
        if codes is None or entry.code in codes:
            # Wrapped here: the raw formatter that keeps the table's columns keeps long lines.
            lines += textwrap.wrap(own.get(entry.code, entry.meaning), width=78,
                                   initial_indent=f"  {entry.code:<4} ",
                                   subsequent_indent=" " * 7)
    return "\n".join(lines)


def add_common_options(
    parser: argparse.ArgumentParser,
    *,
    meanings: Mapping[int, str] | None = None,
    codes: Collection[int] | None = None,
    json_help: str = "print the result (or the error) as one JSON object on stdout",
    sandbox_help: str = SANDBOX_HELP,
) -> None:
    """``--json``, ``--sandbox [URL]`` and the exit-code table in the epilog (kept as
    written); ``codes`` and ``meanings`` as for :func:`exit_status_epilog`."""
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--sandbox", nargs="?", const="", default=None, metavar="URL",
                        help=sandbox_help)
    epilog = exit_status_epilog(meanings, codes)
    parser.epilog = f"{parser.epilog}\n\n{epilog}" if parser.epilog else epilog
    # The table's columns and line breaks survive only with the raw formatter; argparse's
    # default would rewrap them into one paragraph. A one-paragraph description is wrapped
    # here instead, as the default formatter would have.
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if parser.description and "\n" not in parser.description:
        parser.description = textwrap.fill(parser.description, width=78)


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a failure: sign-in and permission 3, a missing resource 4, a cancelled
    or interrupted transfer 130, anything else Azure or the engine reports 1."""
    # Imported here: a command's --help and its usage errors stay free of the Azure SDK.
    from gui.azure.errors import NotFoundError, NotSignedInError, PermissionDeniedError
    from gui.transfer import UploadCancelledError

    if isinstance(exc, UsageError):
        return EXIT_USAGE
    if isinstance(exc, NotSignedInError | PermissionDeniedError):
        return EXIT_AUTH
    if isinstance(exc, NotFoundError):
        return EXIT_NOT_FOUND
    if isinstance(exc, UploadCancelledError | KeyboardInterrupt):
        return EXIT_INTERRUPTED
    return EXIT_FAILED


def reason(exc: BaseException) -> str:
    """A failure as one line without secrets: Azure's code and message, its request id."""
    from gui.azure.errors import AzureServiceError

    if isinstance(exc, AzureServiceError):
        head = f"{exc.code}: {exc.message}" if exc.code else exc.message
        if exc.request_id:
            head = f"{head} (request id {exc.request_id})"
    else:
        head = str(exc) or type(exc).__name__
    return redact(" ".join(head.split()))


def _advice(exc: BaseException) -> str:
    advice = getattr(exc, "advice", "")
    return redact(str(advice)) if advice else ""


def emit_json(document: Mapping[str, Any], out: TextIO | None = None) -> None:
    """The command's one JSON object on stdout (``--json``)."""
    stream = out or sys.stdout
    stream.write(json.dumps(document, indent=2, default=str) + "\n")
    stream.flush()


def fail(
    prog: str,
    exc: BaseException | str,
    *,
    code: int | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
    extra: Mapping[str, Any] | None = None,
    hint: str = "",
) -> int:
    """Report a failure: one line on stderr (``<prog>: <reason><hint>``), and with ``--json``
    the error object on stdout. Returns the exit code (``code``, else :func:`exit_code_for`; a
    plain text is a usage error unless ``code`` says otherwise)."""
    if isinstance(exc, str):
        status = EXIT_USAGE if code is None else code
        text, advice = redact(" ".join(exc.split())), ""
        kind = {EXIT_USAGE: "UsageError", EXIT_INTERRUPTED: "Interrupted"}.get(status, "Error")
    else:
        text, kind, advice = reason(exc), type(exc).__name__, _advice(exc)
        status = exit_code_for(exc) if code is None else code
    text += hint
    sys.stderr.write(f"{prog}: {text}\n")
    sys.stderr.flush()
    if as_json:
        error = {"type": kind, "message": text, "advice": advice}
        emit_json({**(extra or {}), "error": error, "exit_code": status}, out)
    return status


def checked_sandbox(args: argparse.Namespace) -> None:
    """``--sandbox URL`` must be a loopback URL (a token is sent to it in plain HTTP)."""
    url = getattr(args, "sandbox", None)
    if not url:
        return
    from gui.azure.account.loopback import LoopbackOnlyError, require_loopback_url

    try:
        require_loopback_url(url)
    except LoopbackOnlyError as exc:
        raise UsageError(f"--sandbox {url}: {exc}") from exc


def sandbox_subscription(args: argparse.Namespace, given: str | None) -> str | None:
    """The subscription a command works in: the one given, else with ``--sandbox`` the
    sandbox's seeded production subscription."""
    if given or getattr(args, "sandbox", None) is None:
        return given
    from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

    return PRODUCTION_SUBSCRIPTION_ID


@dataclass(frozen=True)
class SandboxEndpoints:
    """Where the sandbox a command uses listens. ``blob_url`` and ``catalog_url`` are known
    only for a sandbox the command started itself (``server``)."""

    arm_url: str
    blob_url: str | None = None
    catalog_url: str | None = None
    server: SandboxServer | None = None


@contextlib.contextmanager
def sandbox(args: argparse.Namespace) -> Iterator[SandboxEndpoints | None]:
    """The sandbox ``--sandbox`` asks for (None without it): a new one in a temporary
    directory, started here and stopped on the way out, or the running one at its URL."""
    wanted = getattr(args, "sandbox", None)
    if wanted is None:
        yield None
        return
    if wanted:
        yield SandboxEndpoints(arm_url=wanted, catalog_url=getattr(args, "catalog_url", None))
        return
    from gui.sandbox import SandboxServer

    with tempfile.TemporaryDirectory(prefix="ais-command-sandbox-") as state:
        server = SandboxServer(Path(state), reset=True)
        server.start()
        try:
            yield SandboxEndpoints(server.arm_url, server.blob_url, server.catalog_url, server)
        finally:
            server.stop()


@contextlib.asynccontextmanager
async def azure_session(
    args: argparse.Namespace, endpoints: SandboxEndpoints | None = None
) -> AsyncIterator[AzureSession]:
    """A session for the command: on the sandbox of ``endpoints`` (from :func:`sandbox`), or
    signed in headless (``AZURE_*`` environment, managed identity, the app's saved sign-in,
    the Azure CLI; ``args.cloud`` when the command has ``--cloud``), closed on the way out."""
    from gui.azure.account.session import AzureSession, sandbox_session

    if endpoints is not None:
        session = sandbox_session(endpoints.arm_url)
    else:
        from gui.azure.account.clouds import resolve_cloud
        from gui.azure.account.signin import ThreadedCredential, headless_credential

        # `az cloud show` may start a process: off the loop.
        cloud = await asyncio.to_thread(resolve_cloud, getattr(args, "cloud", None))
        credential = ThreadedCredential(headless_credential(cloud))
        session = AzureSession(credential=credential, account="headless", cloud=cloud)
    try:
        yield session
    finally:
        await session.close()

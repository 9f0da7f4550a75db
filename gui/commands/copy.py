"""``azure-image-studio copy SOURCE --to TARGET``: a server-side copy, headless.

The bytes stay in Azure (gui/azure/copy); this command checks the arguments, signs in (a second
time, for the target's tenant, with ``--tenant``), runs the copy's steps and prints each as it
ends (stderr with ``--json``, whose stdout carries one object at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from gui.commands.options import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    UsageError,
    add_common_options,
    azure_session,
    checked_sandbox,
    emit_json,
    exit_code_for,
    fail,
    reason,
    sandbox,
)

if TYPE_CHECKING:
    from gui.azure.copy.job import CopyJob
    from gui.azure.steps import StepEvent

PROG = "azure-image-studio copy"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_REGION = re.compile(r"^[a-z][a-z0-9]{2,40}$")
_VERSION = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/galleries/[^/]+"
    r"/images/[^/]+(/versions/[^/]+)?/?$",
    re.IGNORECASE,
)
_SNAPSHOT_OR_IMAGE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Compute/"
    r"(snapshots|images)/[^/]+/?$",
    re.IGNORECASE,
)

_DESCRIPTION = """\
Copy an image, snapshot or page blob inside Azure: the data never passes through this machine
(Azure copies it; this command starts the copy and shows its steps and progress).

SOURCE and TARGET, by kind:

  gallery image version -> another gallery (another subscription, or another tenant)
    SOURCE  /subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/galleries/G/
            images/DEF/versions/1.2.0
    TARGET  the target image definition's ID .../galleries/G2/images/DEF2 (the new version
            keeps the source's number) or a version ID .../images/DEF2/versions/2.0.0
            The definition must exist and match the source's OS type, OS state, Hyper-V
            generation and architecture; the source must be replicated to the target
            gallery's region. Another tenant: --tenant TENANT_ID (a second sign-in to it;
            your first sign-in must be able to read the source). --regions r1=2,r2 sets
            the target regions (default: the target gallery's region, 1 replica).

  snapshot or managed image -> another region
    SOURCE  .../providers/Microsoft.Compute/snapshots/NAME or .../images/NAME
    TARGET  a region's short name, e.g. northeurope
            A snapshot must be incremental (Azure's CopyStart copies only those); an image
            is copied disk by disk through incremental snapshots of the managed disks it was
            made from, then made anew in the target region. --resource-group and --name
            say where (default: the source's group, NAME-REGION).

  page blob -> another storage account
    SOURCE  https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB (a SAS may follow)
    TARGET  https://ACCOUNT2.blob.core.windows.net/CONTAINER2 (the blob keeps its name)
            or .../CONTAINER2/NEWNAME
            Without a SAS in the URL, the accounts are found in your subscriptions (or
            --subscription) and a read-only SAS for the source and a write SAS for the
            target are signed with their keys, in memory only.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=_DESCRIPTION)
    parser.add_argument("source", metavar="SOURCE", help="what to copy (see above)")
    parser.add_argument("--to", dest="target", metavar="TARGET", required=True,
                        help="where to copy it (see above)")
    parser.add_argument("--tenant", metavar="TENANT_ID",
                        help="gallery copies: the target's tenant, when it is not the one you "
                             "are signed in to")
    parser.add_argument("--regions", metavar="R1=N,R2",
                        help="gallery copies: the target regions and replica counts")
    parser.add_argument("--resource-group", metavar="RG",
                        help="region copies: the target resource group (default: the source's)")
    parser.add_argument("--name", metavar="NAME",
                        help="region copies: the new snapshot or image (default: NAME-REGION)")
    parser.add_argument("--subscription", metavar="ID",
                        help="blob copies: the subscription holding the storage accounts "
                             "(default: all you can see)")
    add_common_options(parser)
    return parser


@dataclass(frozen=True)
class Request:
    kind: str  # "gallery" | "region" | "blob"
    plan: Any
    tenant: str | None = None


def _regions(text: str | None) -> tuple[tuple[str, int], ...]:
    if not text:
        return ()
    out: list[tuple[str, int]] = []
    for part in text.split(","):
        name, _, count = part.strip().partition("=")
        name = name.strip().lower().replace(" ", "")
        if not _REGION.match(name) or (count and not count.strip().isdigit()):
            raise UsageError(
                f"--regions {text!r}: give region[=replicas],... e.g. westeurope=2,northeurope"
            )
        replicas = int(count) if count else 1
        if not 1 <= replicas <= 100:
            raise UsageError(f"--regions: {replicas} replicas for {name}; give 1 to 100")
        out.append((name, replicas))
    return tuple(out)


def _gallery_ref(resource_id: str, what: str) -> Any:
    from gui.azure.copy.gallery import GalleryVersionRef

    try:
        return GalleryVersionRef.parse(resource_id)
    except ValueError:
        raise UsageError(f"{what} {resource_id!r} is not a gallery image resource ID") from None


def request_of(args: argparse.Namespace) -> Request:
    """What to copy where, from the arguments; a UsageError (exit 2) for anything unclear."""
    source, target = args.source.strip(), args.target.strip()
    if _VERSION.match(source):
        from gui.azure.copy.gallery import GalleryCopyPlan

        src = _gallery_ref(source, "SOURCE")
        if src.version is None:
            raise UsageError("SOURCE names an image definition; name one of its versions "
                             "(.../images/DEF/versions/1.0.0)")
        if not _VERSION.match(target):
            raise UsageError("--to: for a gallery image version give the target image "
                             "definition's resource ID (.../galleries/G/images/DEF)")
        dst = _gallery_ref(target, "--to")
        if dst.version is None:
            dst = dst.with_version(src.version)
        if args.tenant is not None and not _GUID.match(args.tenant):
            raise UsageError(f"--tenant {args.tenant!r} is not a tenant id (a GUID)")
        return Request(
            "gallery", GalleryCopyPlan(src, dst, _regions(args.regions), args.tenant), args.tenant
        )
    if _SNAPSHOT_OR_IMAGE.match(source):
        from gui.azure.copy.region import RegionCopyPlan

        region = target.lower().replace(" ", "")
        if not _REGION.match(region):
            raise UsageError(f"--to {target!r}: for a snapshot or image give a region's short "
                             "name, e.g. northeurope (az account list-locations -o table)")
        return Request("region", RegionCopyPlan(
            source.rstrip("/"), region, args.resource_group or "", args.name or ""
        ))
    if source.lower().startswith(("https://", "http://")):
        from gui.azure.copy.blob import BlobCopyPlan, BlobLocation

        try:
            src_blob, dst_blob = BlobLocation.parse(source), BlobLocation.parse(target)
        except ValueError as exc:
            raise UsageError(f"{exc}: give blob and container URLs (see --help)") from None
        if not src_blob.blob:
            raise UsageError("SOURCE names a container; name the blob in it")
        if args.subscription is not None and not _GUID.match(args.subscription):
            raise UsageError(f"--subscription {args.subscription!r} is not a subscription id")
        return Request("blob", BlobCopyPlan(src_blob, dst_blob, args.subscription))
    raise UsageError(
        "SOURCE is not a gallery image version, snapshot or managed image resource ID, nor a "
        "blob URL; see --help for what each copy takes"
    )


def _job(request: Request, session: Any, target_session: Any) -> CopyJob:
    if request.kind == "gallery":
        from gui.azure.copy.gallery import GalleryVersionCopy

        return GalleryVersionCopy(session, target_session or session, request.plan)
    if request.kind == "region":
        from gui.azure.copy.region import RegionCopy

        return RegionCopy(session, request.plan)
    from gui.azure.copy.blob import BlobCopy

    return BlobCopy(session, request.plan)


def _line(event: StepEvent) -> str:
    head = f"[{event.state.value.lower()}] {event.title}"
    return f"{head}: {event.message}" if event.message else head


async def _run(
    args: argparse.Namespace, request: Request, live: TextIO, seen: dict[str, StepEvent]
) -> tuple[int, Any]:
    """(exit code, the job); ``seen`` gets each step's last event."""
    from gui.azure.errors import translate

    with sandbox(args) as endpoints:
        async with azure_session(args, endpoints) as session:
            target_session = None
            if request.tenant:
                from gui.azure.copy.tenants import linked_session

                target_session = linked_session(session, request.tenant)
            try:
                job = _job(request, session, target_session)
                shown = ""
                try:
                    async for event in job.run():
                        seen[event.key] = event
                        text = _line(event)
                        if text != shown:
                            live.write(text + "\n")
                            live.flush()
                            shown = text
                        if event.state.ended and event.advice and event.state.value == "Failed":
                            live.write(f"  what to do: {event.advice}\n")
                except Exception as exc:  # a failure outside any step (no session, no network)
                    error = translate(exc)
                    live.write(f"[failed] {reason(error)}\n")
                    job.error = error
                    return exit_code_for(error), job
            finally:
                if target_session is not None:
                    await target_session.close()
    if job.error is not None:
        return exit_code_for(job.error), job
    return (EXIT_OK if job.result else EXIT_FAILED), job


def _document(
    request: Request, job: Any, code: int, seen: dict[str, StepEvent]
) -> dict[str, Any]:
    steps = []
    for step in job.steps:
        event = seen.get(step.key)
        entry: dict[str, Any] = {
            "key": step.key,
            "title": str(step.title),
            "state": event.state.value if event is not None else "Pending",
        }
        if event is not None:
            entry["message"] = str(event.message)
            if event.seconds is not None:
                entry["seconds"] = round(event.seconds, 3)
        steps.append(entry)
    doc: dict[str, Any] = {
        "kind": request.kind,
        "source": request.plan.source.url if request.kind == "blob" else (
            request.plan.source.id if request.kind == "gallery" else request.plan.source_id),
        "result": job.result,
        "steps": steps,
        "exit_code": code,
    }
    if job.failed is not None:
        doc["failed_step"] = job.failed.key
    if job.error is not None:
        doc["error"] = {
            "type": type(job.error).__name__,
            "message": reason(job.error),
            "advice": str(job.failed.advice if job.failed is not None else job.error.advice),
        }
    return doc


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        checked_sandbox(args)
        request = request_of(args)
    except UsageError as exc:
        return fail(PROG, exc, as_json=args.json, out=stream)
    live = sys.stderr if args.json else stream
    seen: dict[str, StepEvent] = {}
    try:
        code, job = asyncio.run(_run(args, request, live, seen))
    except KeyboardInterrupt:
        return fail(PROG, "interrupted: Azure goes on with a copy it has started; look at the "
                    "target before starting again", code=EXIT_INTERRUPTED, as_json=args.json,
                    out=stream)
    if code != EXIT_OK and job.error is not None:
        sys.stderr.write(f"{PROG}: {reason(job.error)}\n")
    if args.json:
        emit_json(_document(request, job, code, seen), stream)
    elif code == EXIT_OK:
        stream.write(f"copied: {job.result}\n")
    return code

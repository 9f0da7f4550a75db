"""``azure-image-studio smoke``: the whole upload-to-image path against a subscription, then gone.

In a throw-away resource group (``ais-smoke-<yyyymmddhhmm>-<random>``) it uploads a 32 MiB test
disk by direct upload, makes a managed image and a Compute Gallery image version (gallery,
definition, version) from it, reads each back, and deletes everything it made, whatever happened
before. Each step prints a line (step, result, duration) as it ends; cleanup prints one line per
resource. The same services as the app do the work (gui.azure.upload.managed_disk with the upload
engine, gui.azure.image_builder, gui.azure.account.session), so a pass means the app's own path
works there.

Exit status (the table of gui/commands/options.py): 0 every step and every cleanup passed; 1 a
step or a cleanup failed (the report says which, and what to delete by hand if anything is
left); 2 bad arguments; 3 a step failed for the sign-in or a missing role (a 401 or 403); 130
interrupted (Ctrl+C; what it had made is deleted first). ``--json`` prints the report as one
object on stdout (the live lines go to stderr then).

Credentials: ``--sandbox`` uses the offline sandbox (its own, or the one at ``--sandbox URL``);
otherwise the headless chain of ``gui.azure.account.signin.headless_credential`` (``AZURE_*``
environment, managed identity, the app's saved sign-in, the Azure CLI), never a prompt.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from gui.azure.errors import AzureServiceError, NotFoundError, translate
from gui.azure.upload.managed_disk import (
    DiskUploadStep,
    ManagedDiskSpec,
    ManagedDiskUpload,
    SasVault,
)
from gui.commands.options import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandParser,
    SandboxEndpoints,
    UsageError,
    add_common_options,
    azure_session,
    checked_sandbox,
    emit_json,
    exit_code_for,
    fail,
    sandbox,
)
from gui.units import human_bytes

PROG = "azure-image-studio smoke"
SIGN_IN = "Sign in"

DISK_BYTES = 32 * 1024 * 1024  # the virtual size of the test disk (Azure's minimum is 20 MiB)
DATA_BYTES = 4 * 1024 * 1024  # of which this much holds data, so the upload sends something
DISK_NAME = "ais-smoke-disk"
IMAGE_NAME = "ais-smoke-image"
DEFINITION_NAME = "ais-smoke-linux"
VERSION_NAME = "1.0.0"
TAG_PURPOSE = "azure-image-studio smoke test (safe to delete)"

_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_LOCATION = re.compile(r"^[a-z][a-z0-9]{2,39}$")


def _parser() -> argparse.ArgumentParser:
    p = CommandParser(
        prog="azure-image-studio smoke",
        description="Check the whole path (upload a 32 MiB disk, make a managed image and a "
        "gallery image version, read them back) in a throw-away resource group, then delete "
        "everything it made. Prints a report; exit 0 only when every step passed.",
    )
    p.add_argument("--subscription", metavar="ID", help="subscription id (a GUID)")
    p.add_argument("--location", metavar="REGION", help="region short name, e.g. westeurope")
    p.add_argument(
        "--cloud",
        metavar="NAME",
        default=None,
        help="AzureCloud, AzureUSGovernment or AzureChinaCloud (default: the Azure CLI's)",
    )
    add_common_options(
        p, codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_INTERRUPTED),
        meanings={EXIT_OK: "every step and every cleanup passed",
                  EXIT_FAILED: "a step or a cleanup failed (the report says which)",
                  EXIT_AUTH: "a step failed: not signed in, or the account lacks a role",
                  EXIT_INTERRUPTED: "interrupted (Ctrl+C); what it had made was deleted"},
        json_help="print the report as one JSON object on stdout (the live lines go to stderr)")
    return p


# ---- the report -------------------------------------------------------------------------------


@dataclass
class StepLine:
    title: str
    ok: bool
    seconds: float
    detail: str = ""
    cleanup: bool = False


@dataclass
class Report:
    """Steps in the order they ended, printed as they end."""

    out: TextIO
    lines: list[StepLine] = field(default_factory=list)
    _cleanup_started: bool = False

    def add(self, line: StepLine) -> None:
        if line.cleanup and not self._cleanup_started:
            self._cleanup_started = True
            self.out.write("Cleanup:\n")
        self.lines.append(line)
        number = sum(1 for x in self.lines if x.cleanup == line.cleanup)
        status = "OK" if line.ok else "FAILED"
        text = f"{number:>3}  {line.title:<54} {status:<6} {line.seconds:7.1f} s"
        if line.detail:
            text += f"  {line.detail}"
        self.out.write(text + "\n")
        self.out.flush()

    @property
    def steps_passed(self) -> bool:
        return all(x.ok for x in self.lines if not x.cleanup)

    @property
    def cleanup_passed(self) -> bool:
        return all(x.ok for x in self.lines if x.cleanup)


class StepFailed(Exception):
    """A step of the path failed (already reported); the path stops, cleanup runs."""


def _reason(exc: BaseException) -> str:
    """One line: what failed, and the request id Azure support would ask for."""
    error = translate(exc)
    text = f"{error.code}: {error.message}" if error.code else error.message
    text = " ".join(text.split())
    return f"{text} (request id {error.request_id})" if error.request_id else text


class Smoke:
    """One run: the path's steps, then the cleanup of everything registered."""

    def __init__(
        self,
        session: Any,
        subscription: str,
        location: str,
        report: Report,
        work_dir: Path,
        *,
        group: str | None = None,
    ) -> None:
        self.session = session
        self.subscription = subscription
        self.location = location
        self.report = report
        self.work_dir = work_dir
        self.group = group or new_group_name()
        suffix = self.group.rsplit("-", 1)[-1]
        self.gallery = f"ais_smoke_{suffix}"
        # What to delete, newest first; registered before each create, since a create that fails
        # half-way may still leave its resource behind.
        self._cleanups: list[tuple[str, Callable[[], Awaitable[bool]]]] = []
        # What stopped the path (its exit code: a refused sign-in or role is 3, not 1).
        self.error: BaseException | None = None

    @property
    def compute(self) -> Any:
        return self.session.compute(self.subscription)

    @property
    def resources(self) -> Any:
        return self.session.resources(self.subscription)

    async def step(self, title: str, action: Awaitable[Any], detail: str = "") -> Any:
        started = time.monotonic()
        try:
            result = await action
        except Exception as exc:
            self.report.add(StepLine(title, False, time.monotonic() - started, _reason(exc)))
            raise StepFailed(title) from exc
        self.report.add(StepLine(title, True, time.monotonic() - started, detail))
        return result

    # -- the path ---------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._path()
        except StepFailed as stopped:
            self.error = stopped.__cause__  # None when Azure answered but the facts were wrong
        except Exception as exc:  # a failure outside any step is still reported, then cleaned up
            self.error = exc
            self.report.add(StepLine("Unexpected failure", False, 0.0, _reason(exc)))
        finally:
            await self._cleanup()

    async def _path(self) -> None:
        await self.step(SIGN_IN, self._sign_in())
        self._cleanups.append((f"Delete resource group {self.group}", self._delete_group))
        await self.step(f"Create resource group {self.group}", self._create_group())
        source_path = await self.step(
            f"Make a {human_bytes(DISK_BYTES)} test disk image",
            asyncio.to_thread(make_test_disk, self.work_dir / "ais-smoke.img"),
        )
        disk_id = await self._upload(source_path)
        await self._images(disk_id)
        await self._read_back(disk_id)

    async def _sign_in(self) -> None:
        token = await self.session.credential.get_token(self.session.cloud.arm_scope)
        if not token.token:
            raise AzureServiceError("The credential returned an empty token.")

    async def _create_group(self) -> None:
        expires = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%MZ")
        await self.resources.resource_groups.create_or_update(
            self.group,
            {
                "location": self.location,
                "tags": {"purpose": TAG_PURPOSE, "delete-after": expires},
            },
        )

    async def _upload(self, source_path: Path) -> str:
        from gui.diskimage import open_image
        from gui.transfer import UploadOptions

        spec = ManagedDiskSpec(
            resource_group=self.group,
            name=DISK_NAME,
            location=self.location,
            os_type="Linux",
            hyper_v_generation="V2",
            tags={"purpose": TAG_PURPOSE},
        )
        # (step, when it began): each step of the disk upload ends when the next one begins.
        steps: list[tuple[DiskUploadStep, float]] = []

        def on_step(step: DiskUploadStep) -> None:
            steps.append((step, time.monotonic()))

        self._cleanups.append((f"Delete managed disk {DISK_NAME}", self._delete_disk))
        with open_image(source_path) as image:
            upload = ManagedDiskUpload(
                self.compute,
                image,
                spec,
                UploadOptions(journal_dir=self.work_dir / "journal"),
                on_step=on_step,
                vault=SasVault.nowhere(),  # a smoke run never resumes
            )
            try:
                result = await upload.run()
            except Exception as exc:
                self._disk_lines(steps, _failed_disk_step(steps, exc), _reason(exc))
                raise StepFailed("upload") from exc
        self._disk_lines(steps, None, "")
        sent = result.upload
        self.report.add(
            StepLine(
                f"Upload finished: disk {DISK_NAME} is {result.disk_state}",
                result.disk_state == "Unattached",
                sent.elapsed_seconds if sent else 0.0,
                f"{human_bytes(sent.bytes_sent)} sent, {human_bytes(sent.bytes_skipped)} skipped"
                if sent
                else "",
            )
        )
        if result.disk_state != "Unattached":
            raise StepFailed("upload")
        return result.disk_id

    def _disk_lines(
        self, steps: list[tuple[DiskUploadStep, float]], failed: int | None, reason: str
    ) -> None:
        if not steps:  # failed before the first step began
            steps = [(DiskUploadStep.CREATING, time.monotonic())]
            failed = 0
        now = time.monotonic()
        for index, (step, began) in enumerate(steps):
            if step is DiskUploadStep.DONE:
                continue
            ended = steps[index + 1][1] if index + 1 < len(steps) else now
            ok = index != failed
            self.report.add(
                StepLine(_disk_step_title(step), ok, ended - began, "" if ok else reason)
            )

    async def _images(self, disk_id: str) -> None:
        from gui.azure.image_builder import (
            DefinitionSpec,
            DiskFacts,
            DiskSource,
            GalleryVersionSpec,
            ImageBuilder,
            ManagedImageSpec,
        )
        from gui.azure.steps import StepEvent, StepState

        def on_event(event: StepEvent) -> None:
            if event.state in (StepState.DONE, StepState.FAILED):
                self.report.add(
                    StepLine(
                        event.title,
                        event.state is StepState.DONE,
                        event.seconds or 0.0,
                        " ".join(event.message.split()),
                    )
                )

        builder = ImageBuilder(self.compute)
        source = DiskSource(managed_disk_id=disk_id)
        facts = DiskFacts(os_type="Linux", os_state="Generalized", hyper_v_generation="V2")
        self._cleanups.append((f"Delete managed image {IMAGE_NAME}", self._delete_image))
        try:
            async for event in builder.create_managed_image(
                source, facts, ManagedImageSpec(self.group, IMAGE_NAME, self.location)
            ):
                on_event(event)
            # Registered before the builder starts: it creates the gallery, then the definition,
            # then the version; deletion goes the other way.
            self._cleanups.append((f"Delete gallery {self.gallery}", self._delete_gallery))
            self._cleanups.append(
                (f"Delete image definition {DEFINITION_NAME}", self._delete_definition)
            )
            self._cleanups.append((f"Delete image version {VERSION_NAME}", self._delete_version))
            versions = builder.create_gallery_version(
                source,
                GalleryVersionSpec(
                    resource_group=self.group,
                    gallery=self.gallery,
                    create_gallery=True,
                    definition=DefinitionSpec(
                        name=DEFINITION_NAME,
                        os_type="Linux",
                        os_state="Generalized",
                        hyper_v_generation="V2",
                        publisher="azure-image-studio",
                        offer="smoke",
                        sku="linux",
                    ),
                    create_definition=True,
                    version=VERSION_NAME,
                    location=self.location,
                ),
            )
            async for event in versions:
                on_event(event)
        except AzureServiceError as exc:
            if self.report.lines[-1].ok:  # failed between the builder's own steps (a poll)
                self.report.add(StepLine("Create the images", False, 0.0, _reason(exc)))
            raise StepFailed("images") from exc

    async def read_back(
        self, title: str, get: Awaitable[Any], check: Callable[[Any], tuple[list[str], str]]
    ) -> None:
        """GET a resource and check what Azure says of it: one line, failed on any problem."""
        started = time.monotonic()
        try:
            found = await get
            problems, detail = check(found)
        except Exception as exc:
            self.report.add(StepLine(title, False, time.monotonic() - started, _reason(exc)))
            raise StepFailed(title) from exc
        ok = not problems
        line = StepLine(
            title, ok, time.monotonic() - started, detail if ok else "; ".join(problems)
        )
        self.report.add(line)
        if not ok:
            raise StepFailed(title)

    async def _read_back(self, disk_id: str) -> None:
        compute, group, gallery = self.compute, self.group, self.gallery

        def disk_facts(disk: Any) -> tuple[list[str], str]:
            problems = []
            if _text(disk.disk_state) != "Unattached":
                problems.append(f"state {_text(disk.disk_state)}, expected Unattached")
            if disk.disk_size_bytes not in (None, DISK_BYTES):
                problems.append(f"size {disk.disk_size_bytes} bytes, expected {DISK_BYTES}")
            return problems, f"Unattached, {human_bytes(DISK_BYTES)}"

        def image_facts(image: Any) -> tuple[list[str], str]:
            problems = _provisioned(image.provisioning_state)
            os_disk = image.storage_profile.os_disk if image.storage_profile else None
            made_from = (os_disk.managed_disk.id if os_disk and os_disk.managed_disk else "") or ""
            if made_from.casefold() != disk_id.casefold():
                problems.append(f"made from {made_from or 'nothing'}, expected the uploaded disk")
            return problems, "Succeeded, made from the uploaded disk"

        def gallery_facts(found: Any) -> tuple[list[str], str]:
            props = found.get("properties") or {}
            return _provisioned(props.get("provisioningState")), "Succeeded"

        def definition_facts(definition: Any) -> tuple[list[str], str]:
            props = definition.get("properties") or {}
            problems = _provisioned(props.get("provisioningState"))
            wanted = {"osType": "Linux", "osState": "Generalized", "hyperVGeneration": "V2"}
            for key, value in wanted.items():
                if props.get(key) != value:
                    problems.append(f"{key} {props.get(key)}, expected {value}")
            return problems, "Succeeded, Linux, generalized, Gen2"

        def version_facts(version: Any) -> tuple[list[str], str]:
            props = version.get("properties") or {}
            problems = _provisioned(props.get("provisioningState"))
            os_image = (props.get("storageProfile") or {}).get("osDiskImage") or {}
            size_gb = os_image.get("sizeInGB")
            if size_gb != 1:
                problems.append(f"OS disk image of {size_gb} GB, expected 1 GB (a 32 MiB disk)")
            return problems, "Succeeded, OS disk image of 1 GB"

        await self.read_back(
            f"Read back managed disk {DISK_NAME}", compute.disks.get(group, DISK_NAME), disk_facts
        )
        await self.read_back(
            f"Read back managed image {IMAGE_NAME}",
            compute.images.get(group, IMAGE_NAME),
            image_facts,
        )
        await self.read_back(
            f"Read back gallery {gallery}", compute.galleries.get(group, gallery), gallery_facts
        )
        await self.read_back(
            f"Read back image definition {DEFINITION_NAME}",
            compute.gallery_images.get(group, gallery, DEFINITION_NAME),
            definition_facts,
        )
        await self.read_back(
            f"Read back image version {VERSION_NAME}",
            compute.gallery_image_versions.get(group, gallery, DEFINITION_NAME, VERSION_NAME),
            version_facts,
        )

    # -- cleanup ----------------------------------------------------------------------------

    async def _cleanup(self) -> None:
        for title, delete in reversed(self._cleanups):
            started = time.monotonic()
            try:
                existed = await delete()
            except Exception as exc:
                self.report.add(
                    StepLine(title, False, time.monotonic() - started, _reason(exc), cleanup=True)
                )
                continue
            self.report.add(
                StepLine(
                    title,
                    True,
                    time.monotonic() - started,
                    "" if existed else "was not created",
                    cleanup=True,
                )
            )
        self._cleanups.clear()

    async def _deleted(self, begin: Callable[[], Awaitable[Any]]) -> bool:
        """Run a delete to its end; False when there was nothing to delete."""
        try:
            poller = await begin()
            await poller.result()
        except Exception as exc:
            if isinstance(translate(exc), NotFoundError):
                return False
            raise
        return True

    async def _exists(self, get: Callable[[], Awaitable[Any]]) -> bool:
        try:
            await get()
        except Exception as exc:
            if isinstance(translate(exc), NotFoundError):
                return False
            raise
        return True

    async def _delete_version(self) -> bool:
        c, g = self.compute, self.group
        if not await self._exists(
            lambda: c.gallery_image_versions.get(g, self.gallery, DEFINITION_NAME, VERSION_NAME)
        ):
            return False
        return await self._deleted(
            lambda: c.gallery_image_versions.begin_delete(
                g, self.gallery, DEFINITION_NAME, VERSION_NAME
            )
        )

    async def _delete_definition(self) -> bool:
        c, g = self.compute, self.group
        if not await self._exists(lambda: c.gallery_images.get(g, self.gallery, DEFINITION_NAME)):
            return False
        return await self._deleted(
            lambda: c.gallery_images.begin_delete(g, self.gallery, DEFINITION_NAME)
        )

    async def _delete_gallery(self) -> bool:
        c, g = self.compute, self.group
        if not await self._exists(lambda: c.galleries.get(g, self.gallery)):
            return False
        return await self._deleted(lambda: c.galleries.begin_delete(g, self.gallery))

    async def _delete_image(self) -> bool:
        c, g = self.compute, self.group
        if not await self._exists(lambda: c.images.get(g, IMAGE_NAME)):
            return False
        return await self._deleted(lambda: c.images.begin_delete(g, IMAGE_NAME))

    async def _delete_disk(self) -> bool:
        c, g = self.compute, self.group
        try:
            disk = await c.disks.get(g, DISK_NAME)
        except Exception as exc:
            if isinstance(translate(exc), NotFoundError):
                return False
            raise
        if _text(disk.disk_state) in ("ActiveUpload", "ActiveSAS"):
            # An upload stopped before it revoked access: a disk open for writing cannot go.
            await (await c.disks.begin_revoke_access(g, DISK_NAME)).result()
        return await self._deleted(lambda: c.disks.begin_delete(g, DISK_NAME))

    async def _delete_group(self) -> bool:
        resources = self.resources
        if not await self._exists(lambda: resources.resource_groups.get(self.group)):
            return False
        return await self._deleted(lambda: resources.resource_groups.begin_delete(self.group))


def _failed_disk_step(steps: list[tuple[DiskUploadStep, float]], exc: BaseException) -> int:
    """Which step of the disk upload failed: revoking access also follows a failure, so the
    failure belongs to the step before it unless revoking is what failed (an Azure error once the
    data was up; an upload error always comes from the step that moved the data or the disk)."""
    if not steps:
        return 0
    last = len(steps) - 1
    if steps[last][0] is not DiskUploadStep.REVOKING or isinstance(exc, AzureServiceError):
        return last
    return max(0, last - 1)


def _disk_step_title(step: DiskUploadStep) -> str:
    titles = {
        DiskUploadStep.CREATING: f"Create managed disk {DISK_NAME} for upload",
        DiskUploadStep.GRANTING: "Grant write access",
        DiskUploadStep.UPLOADING: f"Upload the {human_bytes(DISK_BYTES)} disk (data only)",
        DiskUploadStep.REVOKING: "Revoke write access",
    }
    return titles.get(step, step.value)


def _provisioned(state: object) -> list[str]:
    text = _text(state)
    return [] if text == "Succeeded" else [f"provisioning state {text}, expected Succeeded"]


def _text(value: object) -> str:
    """An SDK enum (or plain string) as the text Azure sends."""
    return str(getattr(value, "value", value))


def new_group_name(now: datetime | None = None) -> str:
    """``ais-smoke-<yyyymmddhhmm>-<6 random hex>``: sortable, recognisable, never reused."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M")
    return f"ais-smoke-{stamp}-{secrets.token_hex(3)}"


def make_test_disk(path: Path) -> Path:
    """A raw disk of DISK_BYTES whose first DATA_BYTES hold a recognisable pattern (sparse rest).

    Raw on purpose: the engine reads it as the fixed VHD Azure wants and adds the footer, the
    same as for an administrator's own raw image.
    """
    line = b"azure-image-studio smoke test disk - safe to delete\n"
    block = (line * (DATA_BYTES // len(line) + 1))[:DATA_BYTES]
    with open(path, "wb") as out:
        out.write(block)
        out.truncate(DISK_BYTES)
    return path


def _checked(args: argparse.Namespace) -> tuple[str, str]:
    subscription, location = args.subscription, args.location
    if args.sandbox is not None:
        from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

        subscription = subscription or PRODUCTION_SUBSCRIPTION_ID
        location = location or "westeurope"
    if not subscription or not location:
        raise UsageError(
            "give --subscription ID and --location REGION (or --sandbox to try it offline)"
        )
    if not _GUID.match(subscription):
        raise UsageError(f"--subscription {subscription!r} is not a subscription id (a GUID)")
    location = location.lower().replace(" ", "")
    if not _LOCATION.match(location):
        raise UsageError(
            f"--location {args.location!r} is not a region name; use the short name, "
            "e.g. westeurope (az account list-locations -o table)"
        )
    checked_sandbox(args)
    if args.cloud and args.sandbox is None:
        from gui.azure.account.clouds import CLOUDS

        if args.cloud not in CLOUDS:
            raise UsageError(f"--cloud {args.cloud!r}: use one of {', '.join(CLOUDS)}")
    return subscription, location


async def _run(
    args: argparse.Namespace, arm_url: str | None, subscription: str, location: str, out: TextIO
) -> tuple[int, Report, str]:
    report = Report(out)
    group = new_group_name()
    where = "the offline sandbox" if arm_url is not None else "Azure"
    out.write(
        f"Smoke test in {where}: subscription {subscription}, location {location}, "
        f"resource group {group}\n"
    )
    out.flush()
    endpoints = SandboxEndpoints(arm_url) if arm_url is not None else None
    error: BaseException | None = None
    with tempfile.TemporaryDirectory(prefix="ais-smoke-") as work:
        try:
            async with azure_session(args, endpoints) as session:
                smoke = Smoke(session, subscription, location, report, Path(work), group=group)
                await smoke.run()
                error = smoke.error
        except Exception as exc:  # no session at all (no credential): nothing was created
            error = translate(exc)
            report.add(StepLine(SIGN_IN, False, 0.0, _reason(exc)))
    if report.steps_passed and report.cleanup_passed:
        out.write(f"PASSED: {len(report.lines)} steps, nothing left behind.\n")
        return EXIT_OK, report, group
    failed = next((x.title for x in report.lines if not x.ok), "a step")
    out.write(f"FAILED at: {failed.strip()}\n")
    if not report.cleanup_passed:
        out.write(
            f"Some cleanup failed: delete what is left with `az group delete --name {group} "
            f"--subscription {subscription} --yes` (the group is tagged purpose='{TAG_PURPOSE}').\n"
        )
    else:
        out.write("Everything the smoke test created was deleted.\n")
    failed_step = not report.steps_passed
    return (exit_code_for(error) if failed_step and error else EXIT_FAILED), report, group


def _document(
    report: Report, code: int, group: str, subscription: str, location: str
) -> dict[str, object]:
    """The report as ``--json`` prints it."""
    return {
        "passed": code == EXIT_OK,
        "exit_code": code,
        "subscription": subscription,
        "location": location,
        "resource_group": group,
        "steps": [
            {"title": str(line.title), "ok": line.ok, "seconds": round(line.seconds, 3),
             "detail": line.detail, "cleanup": line.cleanup}
            for line in report.lines
        ],
        "cleanup_passed": report.cleanup_passed,
    }


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    # Warnings with request ids go to the app's log file (redacted), not into the report.
    from gui.commands.upload import logging_to_data_dir

    with logging_to_data_dir():
        return _main(argv, out or sys.stdout)


def _main(argv: Sequence[str] | None, stream: TextIO) -> int:
    args = _parser().parse_args(argv)
    try:
        subscription, location = _checked(args)
    except UsageError as exc:
        return fail(PROG, exc, as_json=args.json, out=stream)
    # With --json, stdout carries the one object: the live report goes to stderr.
    live = sys.stderr if args.json else stream
    try:
        with sandbox(args) as endpoints:
            arm_url = endpoints.arm_url if endpoints is not None else None
            code, report, group = asyncio.run(_run(args, arm_url, subscription, location, live))
    except KeyboardInterrupt:
        return fail(PROG, "interrupted", code=EXIT_INTERRUPTED, as_json=args.json, out=stream)
    if args.json:
        emit_json(_document(report, code, group, subscription, location), stream)
    return code

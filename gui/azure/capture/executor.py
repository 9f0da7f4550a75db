"""Capturing a VM into a managed image or a gallery image version, step by step.

``plan_steps(plan)`` lists every step (and so every change) in order, for the review page;
``CaptureExecutor(...).run()`` performs them and yields a ``StepEvent`` whenever a step starts,
reports progress, ends, is skipped or fails. The first step checks the VM and the target again
with fresh facts, so nothing is changed when Azure would refuse. A failed step is the last:
its event carries Azure's message and what to do, and no later step runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from azure.core.polling import AsyncLROPoller

from gui.azure.account.session import AzureSession
from gui.azure.capture.plan import CapturePlan, Generalization, TargetKind, validate
from gui.azure.capture.targets import load_facts
from gui.azure.capture.vms import VmDisk, get_vm, is_generalized, power_state
from gui.azure.catalog.nodes import NodeRef, SourceKind
from gui.azure.errors import AzureServiceError
from gui.azure.image_builder import definition_body
from gui.azure.steps import (
    Progress,
    StepAction,
    StepEvent,
    StepSkipped,
    StepSpec,
    StepState,
    run_step,
)
from gui.i18n import QT_TR_NOOP, Message, Text, plural, tr


class CaptureRefusedError(AzureServiceError):
    title = Text(QT_TR_NOOP("Capture refused before any change"))
    advice = Text(QT_TR_NOOP(
        "Nothing was changed. Correct what the message names and start the capture again."))


class GeneralizationFailedError(AzureServiceError):
    title = Text(QT_TR_NOOP("Generalization did not finish"))
    advice = Text(QT_TR_NOOP(
        "Look at the guest (boot diagnostics, serial console). Do not mark the VM generalized "
        "until the guest has been deprovisioned and has shut down."
    ))


class ReplicationFailedError(AzureServiceError):
    title = Text(QT_TR_NOOP("Replication failed"))
    advice = Text(QT_TR_NOOP(
        "The image version exists; update its target regions to retry the replication."))


_RESTART = Text(QT_TR_NOOP(
    "Nothing was changed on the VM yet. Correct the cause and start the capture again."))
_AFTER_GENERALIZE = Text(QT_TR_NOOP(
    "The VM is generalized now and cannot be started again; open the capture wizard for it "
    "again and choose 'I generalized it myself' to retry."
))


def generalization_script(os_type: str) -> tuple[str, list[str]]:
    """The Run Command (command id and script lines) that generalizes the guest and stops it."""
    if os_type == "Windows":
        # Start-Process returns at once: sysprep shuts the VM down, which would otherwise
        # cut the Run Command off and report it as failed.
        # Stop at the first error, so a refused sysprep is not followed by "started".
        return "RunPowerShellScript", [
            "$ErrorActionPreference = 'Stop'",
            r"Start-Process -FilePath 'C:\Windows\System32\Sysprep\sysprep.exe' "
            "-ArgumentList '/generalize','/oobe','/shutdown','/mode:vm','/quiet'",
            "Write-Output 'Sysprep started; the VM shuts down when it has finished.'",
        ]
    return "RunShellScript", [
        "waagent -deprovision+user -force",
        "nohup sh -c 'sleep 10; shutdown -h now' >/dev/null 2>&1 &",
    ]


_LINUX_STDERR = "[stderr]"


def run_command_streams(statuses: list[dict[str, Any]]) -> tuple[str, str]:
    """(stdout, stderr) of a Run Command from its result's statuses, in either of Azure's shapes.

    RunPowerShellScript answers ``ComponentStatus/StdOut/succeeded`` and
    ``ComponentStatus/StdErr/succeeded``, each stream in its own message; RunShellScript answers
    one ``ProvisioningState/succeeded`` whose message holds ``[stdout]`` and ``[stderr]``
    sections. Both say "succeeded" when the script ran, whatever it wrote.
    """
    out: list[str] = []
    err: list[str] = []
    for status in statuses:
        code = str(status.get("code") or "").lower()
        message = str(status.get("message") or "")
        if code.startswith("componentstatus/stdout/"):
            out.append(message)
        elif code.startswith("componentstatus/stderr/"):
            err.append(message)
        elif "[stdout]" in message or _LINUX_STDERR in message:
            before, _, after = message.partition(_LINUX_STDERR)
            out.append(before.partition("[stdout]")[2])
            err.append(after)
    return "\n".join(out).strip(), "\n".join(err).strip()


def generalization_failure(statuses: list[dict[str, Any]]) -> str | None:
    """Why the generalization Run Command failed, or None when the guest took it.

    A script that ran reports "succeeded" even when it failed, so its error stream decides: the
    generalization scripts write nothing there when they work.
    """
    for status in statuses:
        if (
            str(status.get("level") or "").lower() == "error"
            or "failed" in str(status.get("code") or "").lower()
        ):
            return str(status.get("message") or status.get("displayStatus") or "Run Command failed")
    _, stderr = run_command_streams(statuses)
    return stderr or None


def result_ref(plan: CapturePlan) -> NodeRef:
    """Where the new image appears in the browser."""
    if plan.target is TargetKind.MANAGED_IMAGE:
        return NodeRef(SourceKind.MANAGED, (plan.resource_group, plan.image_name))
    return NodeRef(
        SourceKind.GALLERY,
        (plan.resource_group, plan.gallery_name, plan.definition_name, plan.version),
    )


def plan_steps(plan: CapturePlan) -> list[StepSpec]:
    """Every step of the capture, in order; ``change`` says what each one alters."""
    vm = plan.vm
    steps = [
        StepSpec(
            "check",
            Text(Message(QT_TR_NOOP("Check VM {name} and the target"),
                         {"name": vm.name})),
            "",
            Text(QT_TR_NOOP(
                "Nothing was changed. Correct what the message names and start again.")),
        )
    ]
    for disk in plan.snapshot_disks:
        steps.append(
            StepSpec(
                f"snapshot:{disk.id}",
                Text(Message(QT_TR_NOOP("Snapshot {disk}"),
                             {"disk": disk.role_label})),
                Text(Message(QT_TR_NOOP("Create snapshot {snapshot} of {name} ({size_gb} GiB) in "
                                        "{resource_group}"),
                             {"snapshot": plan.snapshot_name(disk), "name": disk.name,
                              "size_gb": disk.size_gb, "resource_group": vm.resource_group})),
                _RESTART,
            )
        )
    if plan.runs_generalization:
        command, _ = generalization_script(vm.os_type)
        # sysprep /generalize keeps local accounts (the review says what it does remove);
        # waagent -deprovision+user deletes the admin user.
        change = Text(Message(
            QT_TR_NOOP("Run {tool} on {name} through Run Command ({command})"),
            {"tool": "sysprep /generalize /oobe /shutdown", "name": vm.name, "command": command},
        )) if vm.os_type == "Windows" else Text(Message(
            QT_TR_NOOP("Run {tool}, then shut down on {name} through Run Command ({command}); "
                       "the admin account {user} is removed from the guest"),
            {"tool": "waagent -deprovision+user", "name": vm.name, "command": command,
             "user": vm.admin_username or Message(QT_TR_NOOP("(VM user)"))},
        ))
        steps.append(
            StepSpec(
                "run-generalization",
                Text(QT_TR_NOOP("Run generalization (Run Command)")),
                change,
                Text(QT_TR_NOOP("Check the Run Command output. You can also generalize by hand "
                                "and choose 'I generalized it myself'.")),
            )
        )
    if plan.generalization is not Generalization.SPECIALIZED:
        steps.append(
            StepSpec(
                "wait-stopped",
                Text(Message(QT_TR_NOOP("Wait until {name} has stopped"),
                             {"name": vm.name})),
                "",
                Text(QT_TR_NOOP("The guest did not shut down. Look at it (boot diagnostics, "
                                "serial console) before you try again; do not mark it "
                                "generalized.")),
            )
        )
    steps.append(
        StepSpec(
            "deallocate",
            Text(Message(QT_TR_NOOP("Deallocate {name}"),
                         {"name": vm.name})),
            Text(Message(QT_TR_NOOP("Deallocate VM {name} (stops billing for its compute)"),
                         {"name": vm.name})),
            Text(QT_TR_NOOP("Deallocate the VM yourself (portal or `az vm deallocate`), then "
                            "start again.")),
        )
    )
    if plan.marks_generalized:
        steps.append(
            StepSpec(
                "mark-generalized",
                Text(Message(QT_TR_NOOP("Mark {name} generalized"),
                             {"name": vm.name})),
                Text(Message(QT_TR_NOOP("Mark VM {name} generalized in Azure: it can never be "
                                        "started again"),
                             {"name": vm.name})),
                Text(QT_TR_NOOP("The VM is deallocated; mark it generalized yourself (`az vm "
                                "generalize`) or start again.")),
            )
        )
    if plan.target is TargetKind.MANAGED_IMAGE:
        disks = Text(plural(
            tr("OS disk + %n data disk(s)", "", len(vm.data_disks)),
            "OS disk + %n data disk(s)", len(vm.data_disks),
        )) if vm.data_disks else Text(QT_TR_NOOP("OS disk"))
        steps.append(
            StepSpec(
                "create-image",
                Text(Message(QT_TR_NOOP("Create managed image {image_name}"),
                             {"image_name": plan.image_name})),
                Text(Message(QT_TR_NOOP("Create managed image {image_name} in {resource_group} "
                                        "({location}, {hyper_v_generation}, {disks})"),
                             {"image_name": plan.image_name, "resource_group": plan.resource_group,
                              "location": vm.location, "hyper_v_generation": vm.hyper_v_generation,
                              "disks": disks})),
                _AFTER_GENERALIZE if plan.marks_generalized or vm.generalized else _RESTART,
            )
        )
    else:
        if plan.create_gallery:
            steps.append(
                StepSpec(
                    "create-gallery",
                    Text(Message(QT_TR_NOOP("Create gallery {gallery_name}"),
                                 {"gallery_name": plan.gallery_name})),
                    Text(Message(QT_TR_NOOP("Create Azure Compute Gallery {gallery_name} in "
                                            "{resource_group} ({location})"),
                                 {"gallery_name": plan.gallery_name,
                                  "resource_group": plan.resource_group,
                                  "location": vm.location})),
                    _AFTER_GENERALIZE if plan.marks_generalized else _RESTART,
                )
            )
        if plan.create_definition:
            d = plan.new_definition
            steps.append(
                StepSpec(
                    "create-definition",
                    Text(Message(QT_TR_NOOP("Create image definition {definition_name}"),
                                 {"definition_name": plan.definition_name})),
                    Text(Message(QT_TR_NOOP("Create image definition {name} ({os_type}, "
                                            "{os_state}, {hyper_v_generation}, {architecture}, "
                                            "{security_type}; {publisher}/{offer}/{sku}) in "
                                            "gallery {gallery_name}"),
                                 {"name": d.name, "os_type": d.os_type, "os_state": d.os_state,
                                  "hyper_v_generation": d.hyper_v_generation,
                                  "architecture": d.architecture, "security_type": d.security_type,
                                  "publisher": d.publisher, "offer": d.offer, "sku": d.sku,
                                  "gallery_name": plan.gallery_name}))
                    if d.plan is None else
                    Text(Message(QT_TR_NOOP("Create image definition {name} ({os_type}, "
                                            "{os_state}, {hyper_v_generation}, {architecture}, "
                                            "{security_type}; {publisher}/{offer}/{sku}) in "
                                            "gallery {gallery_name}, with the VM's Marketplace "
                                            "plan {plan}, which VMs from it need"),
                                 {"name": d.name, "os_type": d.os_type, "os_state": d.os_state,
                                  "hyper_v_generation": d.hyper_v_generation,
                                  "architecture": d.architecture, "security_type": d.security_type,
                                  "publisher": d.publisher, "offer": d.offer, "sku": d.sku,
                                  "gallery_name": plan.gallery_name,
                                  "plan": f"{d.plan.publisher}/{d.plan.product}/{d.plan.name}"})),
                    _AFTER_GENERALIZE if plan.marks_generalized else _RESTART,
                )
            )
        regions = ", ".join(f"{r.region} ×{r.replicas}" for r in plan.target_regions)
        flags: list[Message] = []
        if plan.exclude_from_latest:
            flags.append(Message(QT_TR_NOOP("excluded from latest")))
        if plan.end_of_life is not None:
            flags.append(Message(QT_TR_NOOP("end of life {date}"),
                                 {"date": plan.end_of_life.isoformat()}))
        version = {"path": f"{plan.gallery_name}/{plan.definition_name}/{plan.version}",
                   "name": vm.name, "regions": regions}
        if len(flags) == 2:
            flags = [Message(QT_TR_NOOP("{first}, {second}"),
                             {"first": flags[0], "second": flags[1]})]
        steps.append(
            StepSpec(
                "create-version",
                Text(Message(QT_TR_NOOP("Create image version {version}"),
                             {"version": plan.version})),
                Text(Message(QT_TR_NOOP("Create image version {path} from {name} (regions "
                                        "{regions}; {flags})"), {**version, "flags": flags[0]}))
                if flags else
                Text(Message(QT_TR_NOOP("Create image version {path} from {name} (regions "
                                        "{regions})"), version)),
                _AFTER_GENERALIZE if plan.marks_generalized or vm.generalized else _RESTART,
            )
        )
        for region in plan.target_regions:
            steps.append(
                StepSpec(
                    f"replicate:{region.region}",
                    Text(Message(QT_TR_NOOP("Replicate to {region}"),
                                 {"region": region.region})),
                    "",
                    Text(QT_TR_NOOP("The image version exists; Azure keeps replicating. Check "
                                    "its replication status in the browser, or update its target "
                                    "regions to retry.")),
                )
            )
    if plan.delete_vm_after:
        steps.append(
            StepSpec(
                "delete-vm",
                Text(Message(QT_TR_NOOP("Delete VM {name}"),
                             {"name": vm.name})),
                Text(Message(QT_TR_NOOP("Delete VM {name} (its disks are kept: {disks})"),
                             {"name": vm.name,
                              "disks": ", ".join(disk.name for disk in vm.disks)})),
                Text(QT_TR_NOOP("The image is ready. Delete the VM yourself when you no longer "
                                "need it.")),
            )
        )
    return steps


async def _finished(begin: Callable[..., Awaitable[AsyncLROPoller[Any]]], *args: Any) -> Any:
    """Starts a long-running operation and waits for its end (raising its error)."""
    poller = await begin(*args)
    return await poller.result()


def _region_key(name: str) -> str:
    return name.lower().replace(" ", "")


class CaptureExecutor:
    """Runs a plan's steps; ``run()`` yields their events. Use once."""

    def __init__(
        self,
        session: AzureSession,
        subscription_id: str,
        plan: CapturePlan,
        *,
        poll_seconds: float | None = None,
        stop_timeout: float = 30 * 60,
    ) -> None:
        self.session = session
        self.subscription_id = subscription_id
        self.plan = plan
        self.steps = plan_steps(plan)
        self.poll_seconds = (
            poll_seconds if poll_seconds is not None else (0.2 if session.is_sandbox else 10.0)
        )
        self.stop_timeout = stop_timeout
        self.result: NodeRef | None = None
        self.failed: StepEvent | None = None
        self._version_poller: AsyncLROPoller[Any] | None = None

    @property
    def _compute(self) -> Any:
        return self.session.compute(self.subscription_id)

    async def run(self) -> AsyncIterator[StepEvent]:
        for step in self.steps:
            try:
                async for event in run_step(step, self._action(step)):
                    if event.state is StepState.FAILED:
                        self.failed = event
                    yield event
            except AzureServiceError:
                if self.failed is None:  # not a step's failure (run_step reported that one)
                    raise
                return  # a failed step is the last
        self.result = result_ref(self.plan)

    # --- the steps ------------------------------------------------------------------------

    def _action(self, step: StepSpec) -> StepAction:
        kind, _, arg = step.key.partition(":")
        if kind == "snapshot":
            disk = next(d for d in self.plan.vm.disks if d.id == arg)
            return lambda progress: self._snapshot(disk)
        if kind == "replicate":
            return lambda progress: self._replicate(arg, progress)
        actions: dict[str, StepAction] = {
            "check": self._check,
            "run-generalization": self._run_generalization,
            "wait-stopped": self._wait_stopped,
            "deallocate": lambda progress: self._deallocate(),
            "mark-generalized": lambda progress: self._mark_generalized(),
            "create-image": lambda progress: self._create_image(),
            "create-gallery": lambda progress: self._create_gallery(),
            "create-definition": lambda progress: self._create_definition(),
            "create-version": lambda progress: self._create_version(),
            "delete-vm": lambda progress: self._delete_vm(),
        }
        return actions[kind]

    async def _check(self, progress: Progress) -> str:
        vm = await get_vm(self._compute, self.plan.vm.id)
        plan = replace(self.plan, vm=vm)
        facts = await load_facts(self._compute, self.session.resources(self.subscription_id), plan)
        problems = validate(plan, facts).problems
        if problems:
            raise CaptureRefusedError(" ".join(p.message for p in problems))
        return Text(Message(QT_TR_NOOP("{name} is {power}; the target is free."),
                            {"name": vm.name, "power": vm.power_label.lower()}))

    async def _snapshot(self, disk: VmDisk) -> str:
        vm = self.plan.vm
        name = self.plan.snapshot_name(disk)
        body = {
            "location": vm.location,
            "sku": {"name": "Standard_LRS"},
            "tags": {"capturedFrom": vm.name},
            "properties": {
                "creationData": {"createOption": "Copy", "sourceResourceId": disk.id},
                "incremental": False,
            },
        }
        await _finished(
            self._compute.snapshots.begin_create_or_update, vm.resource_group, name, body
        )
        return Text(Message(QT_TR_NOOP("Snapshot {name} created ({size_gb} GiB)."),
                            {"name": name, "size_gb": disk.size_gb}))

    async def _run_generalization(self, progress: Progress) -> str:
        vm = self.plan.vm
        command, script = generalization_script(vm.os_type)
        progress(Text(QT_TR_NOOP("Run Command sent; waiting for the guest agent to run it…")))
        result = await _finished(
            self._compute.virtual_machines.begin_run_command,
            vm.resource_group,
            vm.name,
            {"commandId": command, "script": script},
        )
        statuses = (result.as_dict() if result is not None else {}).get("value") or []
        failure = generalization_failure(statuses)
        if failure is not None:
            # The first line names the error; the rest is PowerShell's position and category.
            first = next((line.strip() for line in failure.splitlines() if line.strip()), failure)
            raise GeneralizationFailedError(Text(Message(QT_TR_NOOP("The guest reported: {first}"),
                                                         {"first": first})))
        return Text(QT_TR_NOOP("Generalization started in the guest."))

    async def _wait_stopped(self, progress: Progress) -> str:
        vm = self.plan.vm
        deadline = time.monotonic() + self.stop_timeout
        while True:
            state = power_state(await self._instance_view())
            if state in ("stopped", "deallocated"):
                return Text(Message(QT_TR_NOOP("{name} is {state}."),
                                    {"name": vm.name, "state": state}))
            if time.monotonic() > deadline:
                raise GeneralizationFailedError(
                    Text(Message(QT_TR_NOOP("VM {name} is still {state} {minutes} minutes after "
                                            "generalization was started."),
                                 {"name": vm.name, "state": state,
                                  "minutes": int(self.stop_timeout // 60)}))
                )
            progress(Text(Message(QT_TR_NOOP("{name} is {state}; waiting for the guest to shut "
                                             "down…"),
                                  {"name": vm.name, "state": state})))
            await asyncio.sleep(self.poll_seconds)

    async def _instance_view(self) -> dict[str, Any]:
        vm = self.plan.vm
        view = await self._compute.virtual_machines.instance_view(vm.resource_group, vm.name)
        return dict(view.as_dict())

    async def _deallocate(self) -> str:
        vm = self.plan.vm
        if power_state(await self._instance_view()) == "deallocated":
            raise StepSkipped(Text(Message(QT_TR_NOOP("{name} is already deallocated."),
                                           {"name": vm.name})))
        await _finished(self._compute.virtual_machines.begin_deallocate, vm.resource_group, vm.name)
        return Text(Message(QT_TR_NOOP("{name} is deallocated."),
                            {"name": vm.name}))

    async def _mark_generalized(self) -> str:
        vm = self.plan.vm
        if is_generalized(await self._instance_view()):
            raise StepSkipped(Text(Message(QT_TR_NOOP("{name} is already marked generalized."),
                                           {"name": vm.name})))
        await self._compute.virtual_machines.generalize(vm.resource_group, vm.name)
        return Text(Message(QT_TR_NOOP("{name} is marked generalized."),
                            {"name": vm.name}))

    async def _create_image(self) -> str:
        plan, vm = self.plan, self.plan.vm
        body = {
            "location": vm.location,
            "tags": {"capturedFrom": vm.name},
            "properties": {
                "sourceVirtualMachine": {"id": vm.id},
                "hyperVGeneration": vm.hyper_v_generation,
            },
        }
        await _finished(
            self._compute.images.begin_create_or_update, plan.resource_group, plan.image_name, body
        )
        return Text(Message(QT_TR_NOOP("Managed image {image_name} created."),
                            {"image_name": plan.image_name}))

    async def _create_gallery(self) -> str:
        plan = self.plan
        body = {
            "location": plan.vm.location,
            "properties": {"description": f"Created by Azure Image Studio from {plan.vm.name}"},
        }
        await _finished(
            self._compute.galleries.begin_create_or_update,
            plan.resource_group,
            plan.gallery_name,
            body,
        )
        return Text(Message(QT_TR_NOOP("Gallery {gallery_name} created."),
                            {"gallery_name": plan.gallery_name}))

    async def _create_definition(self) -> str:
        plan = self.plan
        await _finished(
            self._compute.gallery_images.begin_create_or_update,
            plan.resource_group,
            plan.gallery_name,
            plan.definition_name,
            definition_body(plan.new_definition, plan.vm.location),
        )
        return Text(Message(QT_TR_NOOP("Image definition {definition_name} created."),
                            {"definition_name": plan.definition_name}))

    async def _create_version(self) -> str:
        plan = self.plan
        publishing: dict[str, Any] = {
            "targetRegions": [
                {"name": r.region, "regionalReplicaCount": r.replicas} for r in plan.target_regions
            ],
            "excludeFromLatest": plan.exclude_from_latest,
        }
        if plan.end_of_life is not None:
            publishing["endOfLifeDate"] = f"{plan.end_of_life.isoformat()}T00:00:00+00:00"
        body = {
            "location": plan.vm.location,
            "properties": {
                "publishingProfile": publishing,
                # The current spec's key for a VM source (GalleryArtifactVersionFullSource;
                # the SDK's model has it too); ``source.id`` is the older form.
                "storageProfile": {"source": {"virtualMachineId": plan.vm.id}},
            },
        }
        self._version_poller = await self._compute.gallery_image_versions.begin_create_or_update(
            plan.resource_group, plan.gallery_name, plan.definition_name, plan.version, body
        )
        return Text(Message(QT_TR_NOOP("Image version {version} accepted; Azure replicates it "
                                       "now."),
                            {"version": plan.version}))

    async def _replicate(self, region: str, progress: Progress) -> str:
        plan = self.plan
        poller = self._version_poller
        last_region = _region_key(plan.target_regions[-1].region) == _region_key(region)
        while True:
            version = await self._compute.gallery_image_versions.get(
                plan.resource_group,
                plan.gallery_name,
                plan.definition_name,
                plan.version,
                expand="ReplicationStatus",
            )
            status = ((version.as_dict().get("properties") or {}).get("replicationStatus")) or {}
            summary = next(
                (
                    s
                    for s in status.get("summary") or []
                    if _region_key(str(s.get("region") or "")) == _region_key(region)
                ),
                None,
            )
            state = str((summary or {}).get("state") or "")
            if state == "Failed":
                details = (summary or {}).get("details") or "no details"
                raise ReplicationFailedError(Text(Message(QT_TR_NOOP("Replication to {region} "
                                                                     "failed: {details}"),
                                                          {"region": region, "details": details})))
            if state == "Completed":
                break
            if poller is not None and poller.done():
                await poller.result()  # raises the operation's error, if it failed
            percent = (summary or {}).get("progress")
            progress(f"{state or 'Waiting'}" + (f" {percent} %" if percent is not None else ""))
            await asyncio.sleep(self.poll_seconds)
        if last_region and poller is not None:
            await poller.result()
        return Text(Message(QT_TR_NOOP("Replicated to {region}."),
                            {"region": region}))

    async def _delete_vm(self) -> str:
        vm = self.plan.vm
        await _finished(self._compute.virtual_machines.begin_delete, vm.resource_group, vm.name)
        return Text(Message(QT_TR_NOOP("VM {name} deleted; its disks are kept."),
                            {"name": vm.name}))

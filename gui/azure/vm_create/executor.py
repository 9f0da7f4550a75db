"""Creating a VM from an image, or test-booting the image, step by step.

``plan_steps(request)`` lists the steps (and what each changes) for the dialog;
``VmCreateExecutor(...).run()`` performs them and yields a ``StepEvent`` whenever a step starts,
reports progress or ends (the one step model, gui/azure/steps.py):

* check: the request again (names, size against the region's sizes), the plan's terms in the
  subscription (refused early, with the advice to accept them, rather than after Azure's
  MarketplacePurchaseEligibilityFailed);
* resource group: a new one, an existing one, or in test-boot mode a throw-away group named and
  tagged so a person sees what it is;
* network: a virtual network with one subnet and a NIC, without a public IP, through the
  generic resources API (no Microsoft.Network SDK);
* create the VM with managed boot diagnostics, then follow its provisioning (instance view);
* test boot: the serial console log read live meanwhile (``on_serial`` gets each new piece), a
  verdict with the likely cause, and the throw-away group deleted, waited for, in every outcome:
  success, failure, cancel or the consumer closing the generator.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from gui.azure.catalog.nodes import PurchasePlan
from gui.azure.errors import (
    AzureServiceError,
    InvalidRequestError,
    NotFoundError,
    redact,
    translate,
    translated,
)
from gui.azure.handoff import NETWORK_API
from gui.azure.steps import (
    Progress,
    StepAction,
    StepEvent,
    StepSkipped,
    StepSpec,
    StepState,
    run_step,
)
from gui.azure.terms import MarketplaceTerms
from gui.azure.vm_create.image import SecurityType
from gui.azure.vm_create.request import Mode, VmRequest, validate
from gui.azure.vm_create.sizes import VmSize, region_sizes, sizes_for
from gui.azure.vm_create.verdict import CANCELLED, Verdict, judge, refused
from gui.i18n import QT_TR_NOOP, Message, Text
from gui.transfer.network import connector_tls, proxy_for
from gui.transfer.tls import require_tls

log = logging.getLogger(__name__)

CREATED_BY = "Azure Image Studio"
TEST_BOOT_HOURS = 4  # the throw-away group's deleteAfter tag: when a person may delete it
_SUBNET = "default"


class RequestRefusedError(InvalidRequestError):
    title = Text(QT_TR_NOOP("The VM was refused before any change"))
    advice = Text(QT_TR_NOOP(
        "Nothing was changed. Correct what the message names and start again."))


class TermsNotAcceptedError(InvalidRequestError):
    """The image's plan's terms are not accepted in the subscription (checked before the VM)."""

    title = Text(QT_TR_NOOP("Marketplace terms not accepted"))
    advice = Text(QT_TR_NOOP(
        "Accept the plan's terms for this subscription (the dialog offers to), then start "
        "again. Nothing was changed."))

    def __init__(self, message: Message | str, plan: PurchasePlan) -> None:
        super().__init__(message, code="TermsNotAccepted")
        self.plan = plan


class ProvisioningError(AzureServiceError):
    title = Text(QT_TR_NOOP("The VM did not provision"))
    advice = Text(QT_TR_NOOP(
        "Look at the serial log (boot diagnostics) for why the guest did not report."))


def plan_steps(request: VmRequest) -> list[StepSpec]:
    test = request.mode is Mode.TEST_BOOT
    group = request.resource_group
    steps = [
        StepSpec(
            "check",
            Text(QT_TR_NOOP("Check the request, the size and the plan's terms")),
            # no advice of its own: each refusal's error says what to do (accept the terms...)
        ),
        StepSpec(
            "resource-group",
            Text(Message(QT_TR_NOOP("Create resource group {group}"), {"group": group}))
            if request.new_resource_group else
            Text(Message(QT_TR_NOOP("Use resource group {group}"), {"group": group})),
            Text(Message(QT_TR_NOOP("Create resource group {group} in {location} (tagged as a "
                                    "test boot; deleted at the end)"),
                         {"group": group, "location": request.location})) if test else
            Text(Message(QT_TR_NOOP("Create resource group {group} in {location}"),
                         {"group": group, "location": request.location}))
            if request.new_resource_group else "",
        ),
        StepSpec(
            "network",
            Text(QT_TR_NOOP("Create the network")),
            Text(Message(QT_TR_NOOP("Create virtual network {vnet} (10.0.0.0/16, subnet "
                                    "default), public IP address {ip} and network interface "
                                    "{nic}"),
                         {"vnet": request.network_name, "nic": request.nic_name,
                          "ip": request.public_ip_name}))
            if request.public_ip else
            Text(Message(QT_TR_NOOP("Create virtual network {vnet} (10.0.0.0/16, subnet "
                                    "default) and network interface {nic}; no public IP"),
                         {"vnet": request.network_name, "nic": request.nic_name})),
        ),
        StepSpec(
            "create-vm",
            Text(Message(QT_TR_NOOP("Create VM {name}"), {"name": request.name})),
            Text(Message(QT_TR_NOOP("Create VM {name} ({size}, {security}) from {image} with "
                                    "boot diagnostics"),
                         {"name": request.name, "size": request.size,
                          "security": request.security_type.value,
                          "image": request.needs.title})),
        ),
        StepSpec(
            "provision",
            Text(QT_TR_NOOP("Follow provisioning")),
            "",
            Text(QT_TR_NOOP("Look at the serial log (boot diagnostics) for why the guest did not "
                            "report.")),
        ),
    ]
    if test:
        steps.append(StepSpec("verdict", Text(QT_TR_NOOP("Verdict"))))
        steps.append(
            StepSpec(
                "cleanup",
                Text(Message(QT_TR_NOOP("Delete resource group {group}"), {"group": group})),
                Text(Message(QT_TR_NOOP("Delete resource group {group} and everything in it"),
                             {"group": group})),
                Text(Message(QT_TR_NOOP("Delete resource group {group} yourself (portal or `az "
                                        "group delete -n {group}`)."), {"group": group})),
            )
        )
    return steps


class VmCreateExecutor:
    """Runs a request's steps; ``run()`` yields their events. Use once."""

    def __init__(
        self,
        session: Any,
        subscription_id: str,
        request: VmRequest,
        *,
        poll_seconds: float | None = None,
        agent_timeout: float | None = None,
        on_serial: Callable[[str], None] | None = None,
        on_cleanup: Callable[[StepEvent], None] | None = None,
        sizes: list[VmSize] | None = None,
    ) -> None:
        self.session = session
        self.subscription_id = subscription_id
        self.request = request
        self.steps = plan_steps(request)
        sandbox = bool(getattr(session, "is_sandbox", False))
        self.poll_seconds = poll_seconds if poll_seconds is not None else (
            0.2 if sandbox else 5.0)
        # How long a provisioned VM's agent may take to report Ready.
        self.agent_timeout = agent_timeout if agent_timeout is not None else (
            6.0 if sandbox else 15 * 60.0)
        self.on_serial = on_serial
        self.on_cleanup = on_cleanup
        # The region's sizes when the caller has just read them (a region lists thousands of
        # SKUs on Azure: read once, not again in the check).
        self._sizes = sizes
        self.serial_log = ""
        self.verdict: Verdict | None = None
        self.failed: StepEvent | None = None
        # The plan whose terms stopped the run in its check (the caller may offer to accept).
        self.terms_refused: PurchasePlan | None = None
        self.vm_id: str | None = None
        self._made_group = False
        self._cleaned = False
        self._poller: Any = None  # the create's LRO poller, then the task awaiting its result
        self._provisioning = ("", "")  # (code, message) once provisioning ended
        self._agent_ready = False
        self._serial_task: asyncio.Task[None] | None = None

    # --- clients ----------------------------------------------------------------------------

    @property
    def _compute(self) -> Any:
        return self.session.compute(self.subscription_id)

    @property
    def _resources(self) -> Any:
        return self.session.resources(self.subscription_id)

    @property
    def _test(self) -> bool:
        return self.request.mode is Mode.TEST_BOOT

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[StepEvent]:
        finished = False
        try:
            for step in self.steps:
                if step.key == "cleanup":
                    continue
                if step.key == "verdict":
                    async for event in self._verdict_events(step):
                        yield event
                    continue
                if self.failed is not None:
                    continue  # a failed step is the last that runs (the verdict aside)
                try:
                    async for event in run_step(step, self._action(step)):
                        if event.state is StepState.FAILED:
                            self.failed = event
                        yield event
                except AzureServiceError as error:
                    if self.failed is None:
                        raise
                    if isinstance(error, TermsNotAcceptedError):
                        self.terms_refused = error.plan
            if self._test:
                cleanup = next(s for s in self.steps if s.key == "cleanup")
                async for event in self._cleanup_events(cleanup):
                    yield event
            finished = True
        finally:
            await self._stop_serial()
            await self._stop_following()
            if not finished and self._test and self._made_group and not self._cleaned:
                # Cancelled, or the consumer stopped reading: the group still goes, and the
                # caller hears how that went.
                if self.verdict is None:
                    self.verdict = CANCELLED
                await self._cleanup_shielded()

    def _action(self, step: StepSpec) -> StepAction:
        actions: dict[str, StepAction] = {
            "check": self._check,
            "resource-group": lambda progress: self._resource_group(),
            "network": self._network,
            "create-vm": lambda progress: self._create_vm(),
            "provision": self._provision,
        }
        return actions[step.key]

    # --- steps ------------------------------------------------------------------------------

    async def _check(self, progress: Progress) -> str:
        request = self.request
        # The SDK's models build their field maps the first time each class is read (tens of
        # milliseconds for a VM and its instance view): pay that here on a worker thread, not
        # later on the GUI loop when Azure's answers arrive.
        await asyncio.to_thread(warm_models, self.vm_body())
        listed = self._sizes
        if listed is None:
            progress(Text(Message(QT_TR_NOOP("Reading the VM sizes of {location}…"),
                                  {"location": request.location})))
            listed = await region_sizes(self._compute, self.subscription_id, request.location)
        sizes = sizes_for(listed, request.needs, request.security_type)
        problems = validate(request, sizes)
        if problems:
            raise RequestRefusedError(" ".join(str(p) for p in problems))
        plan = request.needs.plan
        if plan is not None:
            state = await MarketplaceTerms(self.session, self.subscription_id).state(plan)
            if not state.accepted:
                raise TermsNotAcceptedError(
                    Message(QT_TR_NOOP("The terms of plan {plan} ({product}, {publisher}) are "
                                       "not accepted in this subscription; Azure would refuse "
                                       "the VM."),
                            {"plan": plan.name, "product": plan.product,
                             "publisher": plan.publisher}),
                    plan,
                )
            return Text(Message(QT_TR_NOOP("Size {size} runs the image; the terms of plan {plan} "
                                           "are accepted."),
                                {"size": request.size, "plan": plan.name}))
        return Text(Message(QT_TR_NOOP("Size {size} runs the image."), {"size": request.size}))

    def _tags(self) -> dict[str, str]:
        tags = {"createdBy": CREATED_BY, **self.request.tags}
        if self._test:
            until = datetime.now(UTC) + timedelta(hours=TEST_BOOT_HOURS)
            tags.update({
                "purpose": "test boot (throw-away)",
                "image": self.request.needs.title[:256],
                "deleteAfter": until.isoformat(timespec="minutes"),
            })
        return tags

    async def _resource_group(self) -> str:
        request = self.request
        groups = self._resources.resource_groups
        try:
            with translated():
                await groups.get(request.resource_group)
            exists = True
        except NotFoundError:
            exists = False
        if not request.new_resource_group:
            if not exists:
                raise RequestRefusedError(Message(
                    QT_TR_NOOP("Resource group {group} does not exist. Choose another or create "
                               "a new one."), {"group": request.resource_group}))
            raise StepSkipped(Message(QT_TR_NOOP("Resource group {group} exists."),
                                      {"group": request.resource_group}))
        if exists:
            raise RequestRefusedError(Message(
                QT_TR_NOOP("Resource group {group} exists already. Choose it as an existing "
                           "group, or another name."), {"group": request.resource_group}))
        with translated():
            await groups.create_or_update(
                request.resource_group, {"location": request.location, "tags": self._tags()}
            )
        self._made_group = self._test
        return Text(Message(QT_TR_NOOP("Resource group {group} created."),
                            {"group": request.resource_group}))

    def _network_id(self, kind: str, name: str) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.request.resource_group}"
            f"/providers/Microsoft.Network/{kind}/{name}"
        )

    async def _network(self, progress: Progress) -> str:
        request = self.request
        vnet_id = self._network_id("virtualNetworks", request.network_name)
        vnet = {
            "location": request.location,
            "tags": self._tags(),
            "properties": {
                "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                "subnets": [{"name": _SUBNET, "properties": {"addressPrefix": "10.0.0.0/24"}}],
            },
        }
        resources = self._resources.resources
        with translated():
            poller = await resources.begin_create_or_update_by_id(
                vnet_id, vnet, api_version=NETWORK_API
            )
            await poller.result()
        progress(Text(Message(QT_TR_NOOP("Virtual network {vnet} created."),
                              {"vnet": request.network_name})))
        ip_configuration: dict[str, Any] = {
            "subnet": {"id": f"{vnet_id}/subnets/{_SUBNET}"},
            "privateIPAllocationMethod": "Dynamic",
        }
        if request.public_ip:
            # Only when asked: a VM on the internet is a decision, not a default.
            pip_id = self._network_id("publicIPAddresses", request.public_ip_name)
            pip = {
                "location": request.location,
                "tags": self._tags(),
                "sku": {"name": "Standard"},
                "properties": {"publicIPAllocationMethod": "Static"},
            }
            with translated():
                poller = await resources.begin_create_or_update_by_id(
                    pip_id, pip, api_version=NETWORK_API
                )
                await poller.result()
            ip_configuration["publicIPAddress"] = {"id": pip_id}
            progress(Text(Message(QT_TR_NOOP("Public IP address {ip} created."),
                                  {"ip": request.public_ip_name})))
        nic = {
            "location": request.location,
            "tags": self._tags(),
            "properties": {
                "ipConfigurations": [{"name": "ipconfig1", "properties": ip_configuration}]
            },
        }
        with translated():
            poller = await resources.begin_create_or_update_by_id(
                self._network_id("networkInterfaces", request.nic_name), nic,
                api_version=NETWORK_API,
            )
            await poller.result()
        return Text(Message(QT_TR_NOOP("Network {vnet} and interface {nic} created."),
                            {"vnet": request.network_name, "nic": request.nic_name}))

    def vm_body(self) -> dict[str, Any]:
        """The VM's PUT body. It holds the password, when there is one: never log it."""
        request, needs = self.request, self.request.needs
        os_disk: dict[str, Any] = {
            "createOption": "FromImage",
            "deleteOption": "Delete",
            "caching": "ReadWrite",
            "managedDisk": {},
        }
        properties: dict[str, Any] = {
            "hardwareProfile": {"vmSize": request.size},
            "storageProfile": {"imageReference": needs.image_reference_body(), "osDisk": os_disk},
            "networkProfile": {
                "networkInterfaces": [
                    {
                        "id": self._network_id("networkInterfaces", request.nic_name),
                        "properties": {"primary": True, "deleteOption": "Delete"},
                    }
                ]
            },
            # Managed boot diagnostics: Azure keeps the serial log in storage it manages.
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        }
        if not needs.specialized:
            profile: dict[str, Any] = {
                "computerName": request.name,
                "adminUsername": request.admin_user,
            }
            if request.password:
                profile["adminPassword"] = request.password.reveal()
            if needs.linux:
                linux: dict[str, Any] = {"disablePasswordAuthentication": not request.password}
                if request.ssh_public_key:
                    linux["ssh"] = {
                        "publicKeys": [
                            {
                                "path": f"/home/{request.admin_user}/.ssh/authorized_keys",
                                "keyData": request.ssh_public_key.strip(),
                            }
                        ]
                    }
                profile["linuxConfiguration"] = linux
            properties["osProfile"] = profile
        if request.security_type is SecurityType.TRUSTED_LAUNCH:
            properties["securityProfile"] = {
                "securityType": "TrustedLaunch",
                "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
            }
        elif request.security_type is SecurityType.CONFIDENTIAL:
            properties["securityProfile"] = {
                "securityType": "ConfidentialVM",
                "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True},
            }
            os_disk["managedDisk"]["securityProfile"] = {
                "securityEncryptionType": "VMGuestStateOnly"
            }
        body: dict[str, Any] = {
            "location": request.location,
            "tags": self._tags(),
            "properties": properties,
        }
        if needs.plan is not None:
            body["plan"] = {
                "publisher": needs.plan.publisher,
                "product": needs.plan.product,
                "name": needs.plan.name,
            }
        return body

    async def _create_vm(self) -> str:
        request = self.request
        with translated():
            self._poller = await self._compute.virtual_machines.begin_create_or_update(
                request.resource_group, request.name, self.vm_body()
            )
        self.vm_id = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{request.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachines/{request.name}"
        )
        # The SDK's poller polls only while someone awaits its result: a task does, while the
        # next step reads the instance view beside it.
        self._poller = asyncio.ensure_future(self._poller.result())
        if self._test:
            self._serial_task = asyncio.ensure_future(self._follow_serial())
        return Text(Message(QT_TR_NOOP("Azure accepted VM {name}; it is being created."),
                            {"name": request.name}))

    async def _instance_view(self) -> dict[str, Any]:
        request = self.request
        with translated():
            view = await self._compute.virtual_machines.instance_view(
                request.resource_group, request.name
            )
        return dict(view.as_dict())

    async def _provision(self, progress: Progress) -> str:
        poller: asyncio.Future[Any] | None = self._poller
        assert poller is not None
        last = ""
        while not poller.done():
            note = _describe(await self._instance_view())
            if note != last:
                progress(note)
                last = note
            await asyncio.sleep(self.poll_seconds)
        try:
            await poller
        except Exception as exc:
            error = translate(exc)
            self._provisioning = (error.code or "Failed", error.message)
            raise ProvisioningError(error.message, code=error.code, status=error.status,
                                    request_id=error.request_id) from exc
        self._provisioning = ("succeeded", "")
        deadline = time.monotonic() + self.agent_timeout
        while True:
            view = await self._instance_view()
            if _agent_ready(view):
                self._agent_ready = True
                return Text(QT_TR_NOOP("Provisioning succeeded; the guest agent is ready."))
            if time.monotonic() > deadline:
                if self._test:
                    return Text(QT_TR_NOOP("Provisioning succeeded, but the guest agent never "
                                           "reported ready."))
                return Text(QT_TR_NOOP("Provisioning succeeded; the guest agent has not reported "
                                       "yet."))
            note = _describe(view)
            if note != last:
                progress(note)
                last = note
            await asyncio.sleep(self.poll_seconds)

    # --- the serial log -------------------------------------------------------------------

    async def _serial_url(self) -> str | None:
        request = self.request
        try:
            with translated():
                data = await self._compute.virtual_machines.retrieve_boot_diagnostics_data(
                    request.resource_group, request.name, sas_uri_expiration_time_in_minutes=60
                )
        except AzureServiceError as error:
            # Not there yet (the VM is still being accepted): try again on the next round.
            log.info("Boot diagnostics not available yet: %s", error.message)
            return None
        url = str(getattr(data, "serial_console_log_blob_uri", "") or "")
        if not url:
            return None
        require_tls(url, "The serial log's URL")
        return url

    async def _follow_serial(self) -> None:
        """Reads the serial log repeatedly, passing on only the bytes not yet seen."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        offset = 0
        url: str | None = None
        while url is None:
            url = await self._serial_url()
            if url is None:
                await asyncio.sleep(self.poll_seconds)
        # Loading a CA bundle reads files: on a worker thread, never on the GUI's loop.
        tls = await asyncio.to_thread(connector_tls, url)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:
            while True:
                if url is None:
                    url = await self._serial_url()
                if url is not None:
                    proxy = proxy_for(url)
                    try:
                        async with http.get(
                            url,
                            headers={"Range": f"bytes={offset}-", "x-ms-version": "2021-08-06",
                                     **(proxy.headers if proxy else {})},
                            proxy=proxy.url if proxy else None,
                            timeout=aiohttp.ClientTimeout(total=30),
                        ) as answer:
                            if answer.status in (200, 206):
                                data = await answer.read()
                                if answer.status == 200:  # the whole blob: skip what we have
                                    data = data[offset:]
                                offset += len(data)
                                text = decoder.decode(data)
                                if text:
                                    self.serial_log += text
                                    if self.on_serial is not None:
                                        self.on_serial(text)
                            elif answer.status == 403:
                                url = None  # the SAS expired: ask for a new one
                            # 404: not written yet; 416: nothing new since the last read
                    except (aiohttp.ClientError, TimeoutError) as exc:
                        log.info("Serial log read failed, retrying: %s", redact(str(exc)))
                await asyncio.sleep(self.poll_seconds)

    async def _stop_serial(self) -> None:
        task, self._serial_task = self._serial_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _stop_following(self) -> None:
        """Stops awaiting the create operation (Azure goes on with it; the cleanup, if any,
        deletes the VM with its group)."""
        task = self._poller
        if isinstance(task, asyncio.Future) and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @property
    def cleaned(self) -> bool:
        """True once the test boot's resource group has been deleted."""
        return self._cleaned

    async def _last_serial_read(self) -> None:
        """One more round of the log, so the verdict reads what the guest wrote last."""
        if self._serial_task is not None and not self._serial_task.done():
            await asyncio.sleep(self.poll_seconds * 2)
        await self._stop_serial()

    # --- verdict and cleanup --------------------------------------------------------------

    async def _verdict_events(self, step: StepSpec) -> AsyncIterator[StepEvent]:
        from gui.azure.steps import started

        first = started(step)
        yield first
        await self._last_serial_read()
        verdict = self._judge()
        self.verdict = verdict
        state = StepState.DONE if verdict.passed else StepState.FAILED
        yield first.ended_as(state, verdict.cause, "" if verdict.passed else verdict.advice)

    def _judge(self) -> Verdict:
        code, message = self._provisioning
        if not code:
            # The VM never got to boot: a refusal (size, plan, terms) or a failure before it.
            failure = self.failed.message if self.failed is not None else ""
            return refused(str(failure))
        return judge(
            provisioning_code=code,
            provisioning_message=message,
            agent_ready=self._agent_ready,
            serial_log=self.serial_log,
            specialized=self.request.needs.specialized,
        )

    async def _cleanup_events(self, step: StepSpec) -> AsyncIterator[StepEvent]:
        if not self._made_group:
            action: StepAction = self._nothing_to_clean
        else:
            action = self._cleanup
        async for event in run_step(step, action):
            yield event

    async def _nothing_to_clean(self, progress: Progress) -> str:
        raise StepSkipped(Text(QT_TR_NOOP("Nothing was created; nothing to delete.")))

    async def _cleanup(self, progress: Progress) -> str:
        group = self.request.resource_group
        progress(Text(Message(QT_TR_NOOP("Deleting {group} and everything in it…"),
                              {"group": group})))
        with translated():
            poller = await self._resources.resource_groups.begin_delete(group)
            await poller.result()
        self._cleaned = True
        return Text(Message(QT_TR_NOOP("Resource group {group} deleted; nothing is left "
                                       "behind."), {"group": group}))

    async def _cleanup_shielded(self) -> None:
        """The cleanup when the run was cancelled: shielded, so a second cancel does not stop it
        half-way; its events go to ``on_cleanup``."""
        step = next(s for s in self.steps if s.key == "cleanup")

        async def work() -> None:
            try:
                async for event in run_step(step, self._cleanup):
                    if self.on_cleanup is not None:
                        self.on_cleanup(event)
            except AzureServiceError as error:
                log.warning("Test-boot cleanup failed: %s", error.message)

        task = asyncio.ensure_future(work())
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await task
            raise


def _statuses(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in view.get("statuses") or [] if isinstance(s, dict)]


def _agent_ready(view: dict[str, Any]) -> bool:
    agent = view.get("vm_agent") or view.get("vmAgent") or {}
    for status in agent.get("statuses") or []:
        if str(status.get("display_status") or status.get("displayStatus") or "") == "Ready":
            return True
    return False


def _describe(view: dict[str, Any]) -> str:
    """The VM's state as Azure words it (its statuses' display texts), for the step's
    progress; the guest agent's state after it."""
    states = ", ".join(
        str(status.get("display_status") or status.get("displayStatus") or "")
        for status in _statuses(view)
        if status.get("display_status") or status.get("displayStatus")
    )
    agent = view.get("vm_agent") or view.get("vmAgent") or {}
    agent_states = ", ".join(
        str(status.get("display_status") or status.get("displayStatus") or "")
        for status in agent.get("statuses") or []
        if status.get("display_status") or status.get("displayStatus")
    )
    if not states:
        return Text(QT_TR_NOOP("Waiting for Azure…"))
    if not agent_states:
        return states
    return Text(Message(QT_TR_NOOP("{states}; guest agent: {agent}"),
                        {"states": states, "agent": agent_states}))


def warm_models(vm_body: dict[str, Any]) -> None:
    """Reads a VM shaped like ``vm_body`` and an instance view through the SDK's models once, so
    every class they use has its field maps (built on first use) before Azure answers."""
    from azure.mgmt.compute import models

    vm = dict(vm_body)
    vm["properties"] = {
        **vm_body.get("properties", {}),
        "provisioningState": "Creating",
        "vmId": "00000000-0000-0000-0000-000000000000",
        "timeCreated": "2026-01-01T00:00:00Z",
    }
    _read_all(models.VirtualMachine(vm))
    _read_all(
        models.VirtualMachineInstanceView(
            {
                "statuses": [{"code": "ProvisioningState/creating", "level": "Info"}],
                "vmAgent": {"vmAgentVersion": "2.0", "statuses": [{"code": "x"}]},
                "disks": [{"name": "d", "statuses": [{"code": "x"}]}],
                "bootDiagnostics": {"serialConsoleLogBlobUri": "https://x"},
                "hyperVGeneration": "V2",
            }
        )
    )


def _read_all(value: Any, depth: int = 0) -> None:
    """Every field of an SDK model, recursively (each nested class is read once)."""
    fields = getattr(type(value), "_attr_to_rest_field", None)
    if fields is None or depth > 12:
        return
    for name in fields:
        item = getattr(value, name, None)
        for element in item if isinstance(item, list) else [item]:
            _read_all(element, depth + 1)

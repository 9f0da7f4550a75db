"""Create a VM from every image source, and every refusal, against the sandbox over HTTP
(issue 12, Deliver 5). The images are read through the catalog as the window reads them."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio
from azure.core.exceptions import HttpResponseError

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.catalog.nodes import CatalogNode, ImageDetail, NodeKind, NodeRef, SourceKind
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.handoff import NETWORK_API
from gui.azure.steps import StepEvent, StepState
from gui.azure.terms import MarketplaceTerms
from gui.azure.vm_create.executor import VmCreateExecutor
from gui.azure.vm_create.image import ImageNeeds, SecurityType, image_needs
from gui.azure.vm_create.request import Mode, Secret, VmRequest
from gui.azure.vm_create.sizes import region_sizes, sizes_for
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed.world import (
    GALLERY_IMAGE_SECURE,
    GALLERY_IMAGE_SPECIALIZED,
    GALLERY_PROD,
    IMAGE_WITH_DATA_DISKS,
    RG_GALLERY,
    RG_IMAGES,
)

SUB = PRODUCTION_SUBSCRIPTION_ID
LOCATION = "westeurope"
KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1c2VyQGhvc3QtYS10ZXN0LWtleS1mb3Itc2FuZGJveA"
    " admin@laptop"
)
PASSWORD = "Correct-Horse-42"
UBUNTU = ("Canonical", "ubuntu-24_04-lts", "server")
ARM64 = ("Canonical", "ubuntu-24_04-lts", "server-arm64")
RHEL_PLAN = ("RedHat", "rhel-byos", "rhel-lvm94-gen2")


@pytest_asyncio.fixture
async def session(fresh_sandbox: Any) -> Any:
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        yield session
    finally:
        await session.close()


@pytest.fixture
def catalog(session: AzureSession) -> Catalog:
    return Catalog(session, Scope(SUB, LOCATION))


async def _newest(catalog: Catalog, ref: NodeRef) -> ImageDetail:
    kind = NodeKind.SKU if ref.source is SourceKind.MARKETPLACE else NodeKind.IMAGE
    if ref.source is SourceKind.GALLERY:
        kind = NodeKind.DEFINITION
    versions = await catalog.children(CatalogNode(ref, kind, ref.parts[-1]))
    return await catalog.detail(versions[0])


async def _public(catalog: Catalog, source: SourceKind) -> ImageDetail:
    [top] = [node for node in catalog.roots() if node.ref.source is source]
    galleries = await catalog.children(top)
    images = await catalog.children(galleries[0])
    return await _newest(catalog, images[0].ref)


def _request(
    needs: ImageNeeds, name: str = "vm-web-01", group: str = "rg-vm-test", **changes: Any
) -> VmRequest:
    size = "Standard_D2ps_v5" if needs.architecture == "Arm64" else "Standard_D2s_v5"
    request = VmRequest(
        needs=needs,
        mode=Mode.CREATE,
        name=name,
        resource_group=group,
        new_resource_group=True,
        location=LOCATION,
        size=size,
        admin_user="azureuser",
        ssh_public_key=KEY if needs.linux else "",
        password=None if needs.linux else Secret(PASSWORD),
        security_type=needs.security_types[0],
    )
    return replace(request, **changes)


async def _run(
    session: AzureSession, request: VmRequest
) -> tuple[VmCreateExecutor, list[StepEvent]]:
    executor = VmCreateExecutor(session, SUB, request, poll_seconds=0.05)
    events = [event async for event in executor.run()]
    return executor, events


def _ended(events: list[StepEvent]) -> dict[str, StepEvent]:
    return {e.key: e for e in events if e.state.ended}


async def _groups(session: AzureSession) -> list[str]:
    return [str(g.name) async for g in session.resources(SUB).resource_groups.list()]


async def _vm(session: AzureSession, group: str, name: str) -> dict[str, Any]:
    vm = await session.compute(SUB).virtual_machines.get(group, name)
    return dict(vm.as_dict())


@pytest.mark.asyncio
async def test_a_marketplace_vm_is_created_with_boot_diagnostics_and_no_public_ip(
    session: AzureSession, catalog: Catalog
) -> None:
    needs = image_needs(await _newest(catalog, NodeRef(SourceKind.MARKETPLACE, UBUNTU)))
    assert needs.security_types[0] is SecurityType.TRUSTED_LAUNCH
    executor, events = await _run(session, _request(needs))
    ended = _ended(events)
    assert [e.state for e in ended.values()] == [StepState.DONE] * 5, [
        (e.key, str(e.message)) for e in ended.values()
    ]
    vm = await _vm(session, "rg-vm-test", "vm-web-01")
    props = vm["properties"]
    assert props["provisioningState"] == "Succeeded"
    assert props["diagnosticsProfile"]["bootDiagnostics"]["enabled"] is True
    assert props["securityProfile"]["securityType"] == "TrustedLaunch"
    assert props["storageProfile"]["imageReference"]["offer"] == UBUNTU[1]
    assert "adminPassword" not in props["osProfile"]
    nic_id = props["networkProfile"]["networkInterfaces"][0]["id"]
    nic: Any = await session.resources(SUB).resources.get_by_id(nic_id, api_version=NETWORK_API)
    config = nic.properties["ipConfigurations"][0]["properties"]
    assert config["privateIPAddress"].startswith("10.0.0.")
    assert "publicIPAddress" not in config
    # created, not a test boot: the group stays, tagged as ours
    group: Any = await session.resources(SUB).resource_groups.get("rg-vm-test")
    assert group.tags["createdBy"] == "Azure Image Studio" and "purpose" not in group.tags
    assert executor.verdict is None


@pytest.mark.asyncio
async def test_a_plan_image_is_refused_until_its_terms_are_accepted(
    session: AzureSession, catalog: Catalog
) -> None:
    needs = image_needs(await _newest(catalog, NodeRef(SourceKind.MARKETPLACE, RHEL_PLAN)))
    assert needs.plan is not None and needs.plan.name == RHEL_PLAN[2]
    executor, events = await _run(session, _request(needs, name="vm-rhel"))
    check = _ended(events)["check"]
    assert check.state is StepState.FAILED
    assert "not accepted" in str(check.message) and "Accept" in str(check.advice)
    assert executor.terms_refused == needs.plan
    assert "rg-vm-test" not in await _groups(session)  # refused before any change

    await MarketplaceTerms(session, SUB).accept(needs.plan)
    executor, _ = await _run(session, _request(needs, name="vm-rhel"))
    assert executor.failed is None, executor.failed
    vm = await _vm(session, "rg-vm-test", "vm-rhel")
    assert vm["plan"] == {"publisher": "RedHat", "product": "rhel-byos", "name": RHEL_PLAN[2]}


async def _network(session: AzureSession, group: str) -> str:
    """A group with a network and a NIC (what the executor's first steps make)."""
    await session.resources(SUB).resource_groups.create_or_update(group, {"location": LOCATION})
    base = f"/subscriptions/{SUB}/resourceGroups/{group}/providers/Microsoft.Network"
    vnet = {"location": LOCATION, "properties": {
        "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
        "subnets": [{"name": "default", "properties": {"addressPrefix": "10.1.0.0/24"}}]}}
    poller = await session.resources(SUB).resources.begin_create_or_update_by_id(
        f"{base}/virtualNetworks/vnet", vnet, api_version=NETWORK_API)
    await poller.result()
    nic = {"location": LOCATION, "properties": {"ipConfigurations": [{"name": "ip", "properties": {
        "subnet": {"id": f"{base}/virtualNetworks/vnet/subnets/default"}}}]}}
    poller = await session.resources(SUB).resources.begin_create_or_update_by_id(
        f"{base}/networkInterfaces/nic", nic, api_version=NETWORK_API)
    await poller.result()
    return f"{base}/networkInterfaces/nic"


async def _refusal(session: AzureSession, group: str, body: dict[str, Any]) -> Any:
    with pytest.raises(HttpResponseError) as caught:
        compute: Any = session.compute(SUB)
        poller = await compute.virtual_machines.begin_create_or_update(group, "vm-refused", body)
        await poller.result()
    return caught.value


def _body(executor: VmCreateExecutor, nic: str, **properties: Any) -> dict[str, Any]:
    body = executor.vm_body()
    body["properties"]["networkProfile"]["networkInterfaces"][0]["id"] = nic
    body["properties"].update(properties)
    return body


@pytest.mark.asyncio
async def test_azure_refuses_a_plan_image_without_its_plan_or_its_terms(
    session: AzureSession, catalog: Catalog
) -> None:
    needs = image_needs(await _newest(catalog, NodeRef(SourceKind.MARKETPLACE, RHEL_PLAN)))
    nic = await _network(session, "rg-refusals")
    with_plan = VmCreateExecutor(session, SUB, _request(needs, group="rg-refusals"))
    without_plan = VmCreateExecutor(
        session, SUB, _request(replace(needs, plan=None), group="rg-refusals"))

    missing = await _refusal(session, "rg-refusals", _body(without_plan, nic))
    assert missing.error.code == "VMMarketplaceInvalidInput"
    assert "requires Plan information" in missing.error.message

    not_accepted = await _refusal(session, "rg-refusals", _body(with_plan, nic))
    assert not_accepted.error.code == "MarketplacePurchaseEligibilityFailed"
    [inner] = not_accepted.error.details
    assert inner.target == "ResourcePurchaseValidationFailed"
    assert "You have not accepted the legal terms" in inner.message


@pytest.mark.asyncio
async def test_a_size_that_cannot_boot_the_generation_is_refused_before_and_by_azure(
    session: AzureSession, catalog: Catalog
) -> None:
    needs = image_needs(await _newest(catalog, NodeRef(SourceKind.MARKETPLACE, UBUNTU)))
    assert needs.generation == "V2"
    gen1_only = _request(needs, size="Standard_A2_v2", security_type=SecurityType.STANDARD)
    _, events = await _run(session, gen1_only)
    check = _ended(events)["check"]
    assert check.state is StepState.FAILED and "Standard_A2_v2" in str(check.message)
    assert "rg-vm-test" not in await _groups(session)

    nic = await _network(session, "rg-refusals")
    body = _body(VmCreateExecutor(session, SUB, replace(gen1_only, resource_group="rg-refusals")),
                 nic)
    refused = await _refusal(session, "rg-refusals", body)
    assert "cannot boot Hypervisor Generation '2'" in refused.error.message
    # Trusted launch on a size without it
    body = _body(VmCreateExecutor(session, SUB, replace(
        gen1_only, resource_group="rg-refusals", size="Standard_M8ms",
        security_type=SecurityType.TRUSTED_LAUNCH)), nic)
    refused = await _refusal(session, "rg-refusals", body)
    assert "not supported for creation of VMs" in refused.error.message


@pytest.mark.asyncio
async def test_sizes_are_those_that_run_the_image(
    session: AzureSession, catalog: Catalog
) -> None:
    sizes = await region_sizes(session.compute(SUB), SUB, LOCATION)
    ubuntu = image_needs(await _newest(catalog, NodeRef(SourceKind.MARKETPLACE, UBUNTU)))
    arm = image_needs(await _newest(catalog, NodeRef(SourceKind.MARKETPLACE, ARM64)))
    trusted = {s.name for s in sizes_for(sizes, ubuntu, SecurityType.TRUSTED_LAUNCH)}
    standard = {s.name for s in sizes_for(sizes, ubuntu, SecurityType.STANDARD)}
    assert "Standard_D2s_v5" in trusted and "Standard_M8ms" not in trusted
    assert "Standard_M8ms" in standard
    assert not {"Standard_A2_v2", "Standard_D2ps_v5", "Standard_DC2as_v5"} & standard
    assert {s.name for s in sizes_for(sizes, arm, arm.security_types[0])} == {
        "Standard_D2ps_v5", "Standard_D4ps_v5"}
    confidential = replace(ubuntu, security_types=(SecurityType.CONFIDENTIAL,))
    assert [s.name for s in sizes_for(sizes, confidential, SecurityType.CONFIDENTIAL)] == [
        "Standard_DC2as_v5"]


@pytest.mark.asyncio
async def test_vms_from_gallery_managed_community_and_shared_images(
    session: AzureSession, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    windows = await catalog.detail(CatalogNode(
        NodeRef(SourceKind.MANAGED, (RG_IMAGES, IMAGE_WITH_DATA_DISKS)), NodeKind.IMAGE,
        IMAGE_WITH_DATA_DISKS, is_image=True))
    secure = await _newest(
        catalog, NodeRef(SourceKind.GALLERY, (RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SECURE)))
    details = [
        windows,
        secure,
        await _public(catalog, SourceKind.COMMUNITY),
        await _public(catalog, SourceKind.SHARED),
    ]
    for number, detail in enumerate(details):
        needs = image_needs(detail)
        group = f"rg-vm-{number}"
        executor, _ = await _run(session, _request(needs, name=f"vm-{number}", group=group))
        assert executor.failed is None, (detail.title, executor.failed)
        vm = await _vm(session, group, f"vm-{number}")
        assert vm["properties"]["provisioningState"] == "Succeeded"
        reference = vm["properties"]["storageProfile"]["imageReference"]
        assert detail.resource_id in reference.values(), reference
    # the Windows password went into the request body only
    assert PASSWORD not in caplog.text


@pytest.mark.asyncio
async def test_a_specialized_version_gets_no_os_profile_and_boots(
    session: AzureSession, catalog: Catalog
) -> None:
    detail = await _newest(
        catalog, NodeRef(SourceKind.GALLERY, (RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SPECIALIZED)))
    needs = image_needs(detail)
    assert needs.specialized
    request = _request(needs, name="vm-special", admin_user="", ssh_public_key="", password=None)
    executor, _ = await _run(session, request)
    assert executor.failed is None, executor.failed
    assert "osProfile" not in executor.vm_body()["properties"]
    vm = await _vm(session, "rg-vm-test", "vm-special")
    assert "osProfile" not in vm["properties"]


@pytest.mark.asyncio
async def test_a_public_ip_only_when_asked(session: AzureSession, catalog: Catalog) -> None:
    needs = image_needs(await _newest(catalog, NodeRef(SourceKind.MARKETPLACE, UBUNTU)))
    executor, events = await _run(session, _request(needs, name="vm-open", public_ip=True))
    assert executor.failed is None, executor.failed
    network = next(e for e in events if e.key == "network" and e.state is StepState.DONE)
    assert "vm-open-ip" in str(network.step.change)
    vm = await _vm(session, "rg-vm-test", "vm-open")
    nic_id = vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"]
    resources: Any = session.resources(SUB).resources
    nic = await resources.get_by_id(nic_id, api_version=NETWORK_API)
    pip_id = nic.properties["ipConfigurations"][0]["properties"]["publicIPAddress"]["id"]
    pip = await resources.get_by_id(pip_id, api_version=NETWORK_API)
    assert pip.sku.name == "Standard" and pip.properties["publicIPAllocationMethod"] == "Static"
    assert pip.properties["ipAddress"]


@pytest.mark.asyncio
async def test_every_page_of_the_region_s_sizes_is_read(fresh_sandbox: Any) -> None:
    """Azure pages long SKU lists; the sizes are read from every page (off the GUI loop)."""
    session = sandbox_session(fresh_sandbox.arm_url)
    try:
        whole = await region_sizes(session.compute(SUB), SUB, LOCATION)
        fresh_sandbox.page_size = 3
        paged = await region_sizes(session.compute(SUB), SUB, LOCATION)
    finally:
        await session.close()
    assert len(whole) > 3 * 2  # more than two pages' worth
    assert paged == whole

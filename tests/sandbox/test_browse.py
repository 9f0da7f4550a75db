"""Every list/get the catalog needs, through the real aio SDK clients over HTTP."""

from __future__ import annotations

import pytest
from azure.core.rest import HttpRequest
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.loopback import sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.seed import (
    DEVTEST_SUBSCRIPTION_ID,
    PRODUCTION_SUBSCRIPTION_ID,
    SANDBOX_SUBSCRIPTIONS,
    SANDBOX_TENANT_ID,
)
from gui.sandbox.seed import world as seeded
from gui.sandbox.seed.community import COMMUNITY_GALLERIES, SHARED_GALLERIES
from tests.sandbox.helpers import error_code, error_message

pytestmark = pytest.mark.asyncio

JAMMY = ("Canonical", "0001-com-ubuntu-server-jammy")
CONTOSO_COMMUNITY = COMMUNITY_GALLERIES[0].public_name


async def test_subscriptions_locations_and_resource_groups(sandbox: SandboxServer) -> None:
    subs, resources = sandbox_resource_clients(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with subs, resources:
        found = [s async for s in subs.subscriptions.list()]
        assert [(s.subscription_id, s.display_name) for s in found] == list(SANDBOX_SUBSCRIPTIONS)
        assert {s.tenant_id for s in found} == {SANDBOX_TENANT_ID}
        assert found[0].state == "Enabled"

        one = await subs.subscriptions.get(DEVTEST_SUBSCRIPTION_ID)
        assert one.display_name == "Contoso Dev/Test"

        locations = [
            loc async for loc in subs.subscriptions.list_locations(PRODUCTION_SUBSCRIPTION_ID)
        ]
        by_name = {loc.name: loc for loc in locations}
        assert {"westeurope", "eastus", "northeurope", "germanywestcentral"} <= set(by_name)
        assert by_name["westeurope"].display_name == "West Europe"
        metadata = by_name["westeurope"].metadata
        assert metadata is not None and metadata.paired_region is not None
        assert metadata.paired_region[0].name == "northeurope"

        groups = [g async for g in resources.resource_groups.list()]
        names = {g.name for g in groups}
        assert {seeded.RG_IMAGES, seeded.RG_GALLERY, seeded.RG_BUILD} <= names
        assert seeded.RG_DEVTEST not in names  # that one lives in the other subscription
        group = await resources.resource_groups.get(seeded.RG_IMAGES)
        assert group.location == "westeurope"
        assert group.properties is not None
        assert group.properties.provisioning_state == "Succeeded"


async def test_marketplace_has_real_world_scale(compute: ComputeManagementClient) -> None:
    for location in ("westeurope", "eastus"):
        publishers = await compute.virtual_machine_images.list_publishers(location)
        names = [p.name for p in publishers]
        assert len(names) >= 3000
        assert len(set(names)) == len(names)
        for known in (
            "Canonical",
            "MicrosoftWindowsServer",
            "RedHat",
            "SUSE",
            "Debian",
            "OpenLogic",
            "MicrosoftSQLServer",
            "MicrosoftWindowsDesktop",
            "Oracle",
            "almalinux",
            "kinvolk",
        ):
            assert known in names
        assert publishers[0].location == location
        assert str(publishers[0].id).startswith(
            f"/Subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/Providers/Microsoft.Compute/Locations/"
        )
    # Other regions list a different, smaller catalogue.
    north = await compute.virtual_machine_images.list_publishers("northeurope")
    assert 1000 < len(north) < 3412


async def test_marketplace_walk_down_to_an_image(compute: ComputeManagementClient) -> None:
    vmi = compute.virtual_machine_images
    offers = [o.name for o in await vmi.list_offers("westeurope", "canonical")]
    assert {"0001-com-ubuntu-server-jammy", "ubuntu-24_04-lts"} <= set(offers)
    skus = [s.name for s in await vmi.list_skus("westeurope", *JAMMY)]
    assert {"22_04-lts", "22_04-lts-gen2", "22_04-lts-arm64"} <= set(skus)
    versions = [v.name for v in await vmi.list("westeurope", *JAMMY, "22_04-lts-gen2")]
    assert len(versions) >= 3
    assert all(v.startswith("22.04.") for v in versions)
    newest = await vmi.list("westeurope", *JAMMY, "22_04-lts-gen2", top=1, orderby="name desc")
    assert [v.name for v in newest] == [max(versions, key=lambda v: [int(x) for x in v.split(".")])]

    image = await vmi.get("westeurope", *JAMMY, "22_04-lts-gen2", newest[0].name)
    assert image.name == newest[0].name
    assert image.hyper_v_generation == "V2"
    assert image.architecture == "x64"
    assert image.os_disk_image.operating_system == "Linux"
    assert image.os_disk_image["sizeInBytes"] == 30 * 1024**3 + 512
    assert image.data_disk_images == []
    features = {f.name: f.value for f in image.features}
    assert features["SecurityType"] == "TrustedLaunchAndConfidentialVmSupported"
    assert features["DiskControllerTypes"] == "SCSI, NVMe"
    assert features["IsAcceleratedNetworkSupported"] == "True"
    assert image.image_deprecation_status.image_state == "Active"
    assert image.plan is None

    arm = await vmi.get("westeurope", *JAMMY, "22_04-lts-arm64", "latest")
    assert arm.architecture == "Arm64"

    flatcar = await vmi.list_skus("westeurope", "kinvolk", "flatcar-container-linux-free")
    upgrades = {s.name: s["properties"]["automaticOSUpgradeProperties"] for s in flatcar}
    assert upgrades["stable-gen2"] == {"automaticOSUpgradeSupported": True}
    assert upgrades["stable-arm64"] == {"automaticOSUpgradeSupported": False}


async def test_marketplace_windows_sql_plan_and_deprecation(
    compute: ComputeManagementClient,
) -> None:
    vmi = compute.virtual_machine_images
    win = await vmi.get(
        "westeurope",
        "MicrosoftWindowsServer",
        "WindowsServer",
        "2022-datacenter-azure-edition",
        "latest",
    )
    assert win.os_disk_image.operating_system == "Windows"
    assert win.os_disk_image["sizeInGb"] == 128
    assert win.name.startswith("20348.")

    sql_versions = await vmi.list(
        "eastus", "MicrosoftSQLServer", "sql2022-ws2022", "enterprise-gen2"
    )
    sql = await vmi.get(
        "eastus", "MicrosoftSQLServer", "sql2022-ws2022", "enterprise-gen2", sql_versions[-1].name
    )
    assert [d.lun for d in sql.data_disk_images] == [0, 1]
    assert sql.data_disk_images[0]["sizeInBytes"] == 1024 * 1024**3 + 512

    alma = await vmi.get("westeurope", "almalinux", "almalinux-x86_64", "9-gen2", "latest")
    assert alma.plan is not None
    assert (alma.plan.publisher, alma.plan.product, alma.plan.name) == (
        "almalinux",
        "almalinux-x86_64",
        "9-gen2",
    )

    old = await vmi.get("westeurope", "Canonical", "UbuntuServer", "18.04-LTS", "latest")
    assert old.image_deprecation_status.image_state == "ScheduledForDeprecation"
    assert old.image_deprecation_status.scheduled_deprecation_time is not None

    expanded = await vmi.list("westeurope", "Debian", "debian-12", "12-gen2", expand="properties")
    # list() deserializes to VirtualMachineImageResource; the expanded properties ride along.
    assert expanded
    assert all(v["properties"]["osDiskImage"]["operatingSystem"] == "Linux" for v in expanded)


async def test_filler_publishers_have_browsable_images(compute: ComputeManagementClient) -> None:
    vmi = compute.virtual_machine_images
    publishers = await vmi.list_publishers("eastus")
    well_known = {"canonical", "microsoftwindowsserver", "redhat"}
    filler = [p.name for p in publishers if p.name.lower() not in well_known][1234]
    offers = await vmi.list_offers("eastus", filler)
    assert 1 <= len(offers) <= 3
    skus = await vmi.list_skus("eastus", filler, offers[0].name)
    versions = await vmi.list("eastus", filler, offers[0].name, skus[0].name)
    image = await vmi.get("eastus", filler, offers[0].name, skus[0].name, versions[0].name)
    assert image.os_disk_image.operating_system in ("Linux", "Windows")
    assert image.hyper_v_generation in ("V1", "V2")


async def test_community_gallery_discovery_by_resource_graph(sandbox: SandboxServer) -> None:
    _, resources = sandbox_resource_clients(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with resources:
        request = HttpRequest(
            "POST",
            "/providers/Microsoft.ResourceGraph/resources",
            params={"api-version": "2021-03-01"},
            json={
                "subscriptions": [PRODUCTION_SUBSCRIPTION_ID],
                "query": "communitygalleryresources "
                "| where type =~ 'microsoft.compute/locations/communitygalleries' "
                "| where location == 'westeurope' "
                "| project name, location, properties",
                "options": {"$top": 100},
            },
        )
        response = await resources.send_request(request)
        response.raise_for_status()
        doc = response.json()
    names = {row["name"] for row in doc["data"]}
    expected = {g.public_name for g in COMMUNITY_GALLERIES if "westeurope" in g.locations}
    assert names == expected
    assert doc["totalRecords"] == len(expected)
    row = next(r for r in doc["data"] if r["name"] == CONTOSO_COMMUNITY)
    assert set(row) == {"name", "location", "properties"}
    assert row["properties"]["communityMetadata"]["publicNames"] == [CONTOSO_COMMUNITY]


async def test_community_gallery_images_and_versions(compute: ComputeManagementClient) -> None:
    gallery = await compute.community_galleries.get("westeurope", CONTOSO_COMMUNITY)
    assert gallery.name == CONTOSO_COMMUNITY
    assert gallery.unique_id == f"/CommunityGalleries/{CONTOSO_COMMUNITY}"
    # (the SDK flattens community_metadata wrongly onto identifier; go through properties)
    assert gallery.properties is not None and gallery.properties.community_metadata is not None
    assert gallery.properties.community_metadata.publisher_contact == "imaging@contoso.example"

    images = [
        i async for i in compute.community_gallery_images.list("westeurope", CONTOSO_COMMUNITY)
    ]
    by_name = {i.name: i for i in images}
    windows = by_name["ws2022-iis"].properties
    assert windows is not None
    assert windows.os_type == "Windows"
    assert windows.os_state == "Generalized"
    assert windows.hyper_v_generation == "V2"
    assert windows.identifier.publisher == "contoso"

    versions = [
        v
        async for v in compute.community_gallery_image_versions.list(
            "westeurope", CONTOSO_COMMUNITY, "ws2022-iis"
        )
    ]
    assert [v.name for v in versions] == ["2024.10.0", "2024.11.0"]
    version = await compute.community_gallery_image_versions.get(
        "westeurope", CONTOSO_COMMUNITY, "ws2022-iis", "2024.11.0"
    )
    assert version.properties is not None
    storage = version.properties.storage_profile
    assert storage is not None and storage.os_disk_image is not None
    assert storage.os_disk_image.disk_size_gb == 127
    assert [(d.lun, d.disk_size_gb) for d in storage.data_disk_images or []] == [(0, 64)]

    # A gallery is only addressable in regions it is replicated to.
    from azure.core.exceptions import ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError) as info:
        await compute.community_galleries.get("southeastasia", CONTOSO_COMMUNITY)
    assert error_code(info.value) == "ResourceNotFound"


async def test_shared_galleries(compute: ComputeManagementClient) -> None:
    to_subscription = [g async for g in compute.shared_galleries.list("westeurope")]
    to_tenant = [g async for g in compute.shared_galleries.list("westeurope", shared_to="tenant")]
    assert [g.name for g in to_subscription] == [SHARED_GALLERIES[0].unique_name]
    assert [g.name for g in to_tenant] == [SHARED_GALLERIES[1].unique_name]
    unique = SHARED_GALLERIES[0].unique_name
    images = [i async for i in compute.shared_gallery_images.list("westeurope", unique)]
    specialized = next(i for i in images if i.name == "fabrikam-sql-node")
    assert specialized.properties is not None
    assert specialized.properties.os_state == "Specialized"
    versions = [
        v
        async for v in compute.shared_gallery_image_versions.list(
            "westeurope", unique, "fabrikam-sql-node"
        )
    ]
    assert versions[0].properties is not None
    storage = versions[0].properties.storage_profile
    assert storage is not None
    assert [(d.lun, d.disk_size_gb) for d in storage.data_disk_images or []] == [(0, 512), (1, 256)]


async def test_managed_images_os_image_and_vm_image(compute: ComputeManagementClient) -> None:
    images = [i async for i in compute.images.list_by_resource_group(seeded.RG_IMAGES)]
    names = {i.name for i in images}
    assert {seeded.IMAGE_OS_ONLY, seeded.IMAGE_WITH_DATA_DISKS, seeded.IMAGE_FROM_BLOB} <= names

    os_image = await compute.images.get(seeded.RG_IMAGES, seeded.IMAGE_OS_ONLY)
    assert os_image.storage_profile.data_disks == []
    assert os_image.storage_profile.os_disk.os_type == "Linux"
    assert os_image.storage_profile.os_disk.os_state == "Generalized"
    assert os_image.hyper_v_generation == "V2"
    assert os_image.source_virtual_machine.id.endswith("/virtualMachines/vm-ubuntu-build")

    vm_image = await compute.images.get(seeded.RG_IMAGES, seeded.IMAGE_WITH_DATA_DISKS)
    disks = vm_image.storage_profile.data_disks
    assert [(d.lun, d.disk_size_gb, d.caching, d.storage_account_type) for d in disks] == [
        (0, 256, "ReadOnly", "Premium_LRS"),
        (1, 128, "None", "StandardSSD_LRS"),
    ]
    assert vm_image.storage_profile.os_disk.disk_size_gb == 127

    everywhere = [i.name async for i in compute.images.list()]
    assert set(everywhere) == names


async def test_compute_gallery_definitions_and_versions(compute: ComputeManagementClient) -> None:
    galleries = [g async for g in compute.galleries.list()]
    assert [g.name for g in galleries] == [seeded.GALLERY_PROD]
    definitions = {
        d.name: d
        async for d in compute.gallery_images.list_by_gallery(
            seeded.RG_GALLERY, seeded.GALLERY_PROD
        )
    }
    secure = definitions[seeded.GALLERY_IMAGE_SECURE]
    assert {f.name: f.value for f in secure.features}["SecurityType"] == "TrustedLaunch"
    assert definitions[seeded.GALLERY_IMAGE_SPECIALIZED].os_state == "Specialized"
    assert definitions[seeded.GALLERY_IMAGE_GEN1].hyper_v_generation == "V1"
    assert definitions[seeded.GALLERY_IMAGE_ARM64].architecture == "Arm64"

    versions = [
        v
        async for v in compute.gallery_image_versions.list_by_gallery_image(
            seeded.RG_GALLERY, seeded.GALLERY_PROD, seeded.GALLERY_IMAGE_SECURE
        )
    ]
    assert [v.name for v in versions] == ["1.0.0", "1.1.0", "1.2.0"]
    assert versions[0].replication_status is None

    version = await compute.gallery_image_versions.get(
        seeded.RG_GALLERY,
        seeded.GALLERY_PROD,
        seeded.GALLERY_IMAGE_SPECIALIZED,
        "1.0.0",
        expand="ReplicationStatus",
    )
    regions = version.publishing_profile.target_regions
    assert [(r.name, r.regional_replica_count) for r in regions] == [("West Europe", 1)]
    assert version.replication_status.aggregated_state == "Completed"
    assert [d.lun for d in version.storage_profile.data_disk_images] == [0, 1]
    assert version.storage_profile.os_disk_image.size_in_gb == 127


async def test_not_found_errors_carry_azure_codes(compute: ComputeManagementClient) -> None:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    with pytest.raises(ResourceNotFoundError) as info:
        await compute.images.get(seeded.RG_IMAGES, "no-such-image")
    assert error_code(info.value) == "ResourceNotFound"
    assert "Microsoft.Compute/images/no-such-image" in error_message(info.value)

    with pytest.raises(ResourceNotFoundError) as info:
        await compute.images.get("rg-does-not-exist", "x")
    assert error_code(info.value) == "ResourceGroupNotFound"

    with pytest.raises(ResourceNotFoundError) as info:
        await compute.virtual_machine_images.list_offers("westeurope", "NoSuchPublisher")
    assert error_code(info.value) == "NotFound"

    with pytest.raises(HttpResponseError) as err:
        await compute.virtual_machine_images.list_publishers("atlantis")
    assert error_code(err.value) == "NoRegisteredProviderFound"


async def _graph(sandbox: SandboxServer, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    _, resources = sandbox_resource_clients(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with resources:
        response = await resources.send_request(
            HttpRequest(
                "POST",
                "/providers/Microsoft.ResourceGraph/resources",
                params={"api-version": "2022-10-01"},
                json=body,
            )
        )
        return response.status_code, response.json()


async def test_resource_graph_table_format_and_own_resources(sandbox: SandboxServer) -> None:
    status, doc = await _graph(
        sandbox,
        {
            "subscriptions": [PRODUCTION_SUBSCRIPTION_ID],
            "query": "resources | where type =~ 'microsoft.compute/images'"
            " | project name, resourceGroup | order by name asc",
            "options": {"resultFormat": "table"},
        },
    )
    assert status == 200
    table = doc["data"]
    assert [c["name"] for c in table["columns"]] == ["name", "resourceGroup"]  # type: ignore[index]
    assert table["rows"] == sorted(  # type: ignore[index]
        [
            [name, seeded.RG_IMAGES]
            for name in (seeded.IMAGE_OS_ONLY, seeded.IMAGE_WITH_DATA_DISKS, seeded.IMAGE_FROM_BLOB)
        ]
    )

    status, doc = await _graph(sandbox, {"query": "communitygalleryresources | summarize count()"})
    assert status == 400
    assert doc["error"]["details"][0]["code"] == "InvalidQuery"  # type: ignore[index]

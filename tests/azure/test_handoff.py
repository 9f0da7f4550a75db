"""Hand-offs (issue 12): the selected image as `az vm create`, as Bicep, and in the portal.

The images are read from the sandbox over HTTP through the catalog, as the window reads them, so
each source's reference comes from Azure's own answer (a community version's public ID, a
Marketplace version's URN), not from a hand-made detail."""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.clouds import CLOUDS, PUBLIC_CLOUD, Cloud, cloud_from_cli_json
from gui.azure.account.session import sandbox_session
from gui.azure.catalog.nodes import (
    CatalogNode,
    ImageDetail,
    NodeKind,
    NodeRef,
    PurchasePlan,
    SourceKind,
)
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.handoff import (
    DEFAULT_SIZE_ARM64,
    HandoffError,
    az_vm_create,
    bicep_vm,
    portal_url,
)
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID, SANDBOX_TENANT_ID
from gui.sandbox.seed.world import (
    GALLERY_IMAGE_SECURE,
    GALLERY_IMAGE_SPECIALIZED,
    GALLERY_PROD,
    IMAGE_WITH_DATA_DISKS,
    RG_GALLERY,
    RG_IMAGES,
)

LOCATION = "westeurope"


async def _detail(catalog: Catalog, ref: NodeRef) -> ImageDetail:
    node = CatalogNode(ref, NodeKind.VERSION, ref.parts[-1], is_image=True)
    return await catalog.detail(node)


async def _first_version(catalog: Catalog, ref: NodeRef) -> ImageDetail:
    """The newest version under ``ref`` (a SKU, or a public gallery's image)."""
    kind = NodeKind.SKU if ref.source is SourceKind.MARKETPLACE else NodeKind.IMAGE
    versions = await catalog.children(CatalogNode(ref, kind, ref.parts[-1]))
    return await catalog.detail(versions[0])


def _az(text: str) -> list[list[str]]:
    """The snippet as the shell reads it: one argument list per command."""
    return [shlex.split(line) for line in text.replace("\\\n", " ").splitlines() if line]


def _option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def _balanced(text: str) -> bool:
    depth = {"{": 0, "[": 0}
    pairs = {"}": "{", "]": "["}
    for char in re.sub(r"'(?:[^'\\]|\\.)*'", "''", text):  # brackets inside strings do not count
        if char in depth:
            depth[char] += 1
        elif char in pairs:
            depth[pairs[char]] -= 1
            if depth[pairs[char]] < 0:
                return False
    return all(value == 0 for value in depth.values())


def _parameters(text: str) -> dict[str, str]:
    """Bicep parameters: name -> the rest of the declaration (type and default)."""
    return dict(re.findall(r"^param (\w+) (.*)$", text, re.M))


def _used(text: str, name: str) -> bool:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("param "))
    return re.search(rf"\b{name}\b", body) is not None


@pytest_asyncio.fixture
async def catalog(sandbox: Any) -> Any:
    session = sandbox_session(sandbox.arm_url)
    try:
        yield Catalog(session, Scope(PRODUCTION_SUBSCRIPTION_ID, LOCATION))
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_a_marketplace_arm64_image_hands_off_its_urn_and_an_arm64_size(
    catalog: Catalog,
) -> None:
    sku = NodeRef(SourceKind.MARKETPLACE, ("Canonical", "ubuntu-24_04-lts", "server-arm64"))
    detail = await _first_version(catalog, sku)
    urn = ":".join(detail.ref.parts)

    [create] = _az(az_vm_create(detail))
    assert create[:3] == ["az", "vm", "create"]
    assert _option(create, "--image") == urn
    assert _option(create, "--size") == DEFAULT_SIZE_ARM64  # an x64 size would be refused
    assert _option(create, "--location") == LOCATION
    assert "--generate-ssh-keys" in create  # Linux: a key, never a password on the line

    bicep = bicep_vm(detail)
    publisher, offer, sku_name, version = detail.ref.parts
    for key, value in (("publisher", publisher), ("offer", offer), ("sku", sku_name),
                       ("version", version)):  # fmt: skip
        assert f"{key}: '{value}'" in bicep
    assert "plan:" not in bicep and detail.plan is None
    assert _balanced(bicep)
    params = _parameters(bicep)
    assert params["adminPublicKey"] == "string"  # secure, no default written in the file
    assert "@secure()\nparam adminPublicKey string" in bicep
    assert "adminPassword" not in params
    assert all(_used(bicep, name) for name in params), params


@pytest.mark.asyncio
async def test_a_plan_image_accepts_its_terms_first_and_carries_the_plan(
    catalog: Catalog,
) -> None:
    sku = NodeRef(SourceKind.MARKETPLACE, ("RedHat", "rhel-byos", "rhel-lvm94-gen2"))
    detail = await _first_version(catalog, sku)
    plan = PurchasePlan("RedHat", "rhel-byos", "rhel-lvm94-gen2")
    assert detail.plan == plan  # read from Azure's answer for the image
    # and kept through the listing cache's JSON
    assert ImageDetail.from_json(detail.to_json()).plan == plan

    accept, create = _az(az_vm_create(detail))
    assert accept[:5] == ["az", "vm", "image", "terms", "accept"]
    assert _option(accept, "--urn") == ":".join(detail.ref.parts)
    # az looks a Marketplace image's plan up itself; repeating it would only risk a mismatch
    assert "--plan-name" not in create
    assert _option(create, "--security-type") == "TrustedLaunch"  # the SKU supports it

    bicep = bicep_vm(detail)
    plan_block = re.search(r"  plan: \{\n(.*?)\n  \}", bicep, re.S)
    assert plan_block is not None
    assert plan_block.group(1).split("\n") == [
        "    publisher: 'RedHat'", "    product: 'rhel-byos'", "    name: 'rhel-lvm94-gen2'",
    ]  # fmt: skip
    assert "securityType: 'TrustedLaunch'" in bicep


@pytest.mark.asyncio
async def test_gallery_and_managed_images_hand_off_their_ids(catalog: Catalog) -> None:
    secure = await _detail(
        catalog,
        NodeRef(SourceKind.GALLERY, (RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SECURE, "1.0.0")),
    )
    [create] = _az(az_vm_create(secure))
    assert _option(create, "--image") == secure.resource_id
    assert secure.resource_id.startswith("/subscriptions/")
    assert f"id: '{secure.resource_id}'" in bicep_vm(secure)

    windows = await _detail(
        catalog, NodeRef(SourceKind.MANAGED, (RG_IMAGES, IMAGE_WITH_DATA_DISKS))
    )
    [create] = _az(az_vm_create(windows))
    assert _option(create, "--image") == windows.resource_id
    # Windows: az prompts for the password; it is never written into the command
    assert _option(create, "--admin-username") == "azureuser"
    assert "--admin-password" not in create and "--generate-ssh-keys" not in create
    bicep = bicep_vm(windows)
    assert "@secure()\nparam adminPassword string" in bicep
    assert "linuxConfiguration" not in bicep and _balanced(bicep)


@pytest.mark.asyncio
async def test_a_specialized_version_gets_no_os_profile(catalog: Catalog) -> None:
    versions = await catalog.children(
        CatalogNode(
            NodeRef(SourceKind.GALLERY, (RG_GALLERY, GALLERY_PROD, GALLERY_IMAGE_SPECIALIZED)),
            NodeKind.DEFINITION,
            GALLERY_IMAGE_SPECIALIZED,
        )
    )
    detail = await catalog.detail(versions[0])
    assert str(detail.os_state) == "Specialized"
    [create] = _az(az_vm_create(detail))
    # Azure refuses an OS profile for a specialized image
    assert "--specialized" in create and "--admin-username" not in create
    bicep = bicep_vm(detail)
    assert "osProfile" not in bicep and "adminUsername" not in _parameters(bicep)
    assert _balanced(bicep)


@pytest.mark.asyncio
async def test_community_and_shared_versions_use_their_public_ids(catalog: Catalog) -> None:
    for source, key, root in (
        (SourceKind.COMMUNITY, "communityGalleryImageId", "/CommunityGalleries/"),
        (SourceKind.SHARED, "sharedGalleryImageId", "/SharedGalleries/"),
    ):
        [top] = [node for node in catalog.roots() if node.ref.source is source]
        galleries = await catalog.children(top)
        images = await catalog.children(galleries[0])
        detail = await _first_version(catalog, images[0].ref)
        assert detail.resource_id.startswith(root), detail.resource_id
        [create] = _az(az_vm_create(detail))
        assert _option(create, "--image") == detail.resource_id
        assert f"{key}: '{detail.resource_id}'" in bicep_vm(detail)
        # no portal page for a gallery someone else publishes
        assert portal_url(detail, PUBLIC_CLOUD, SANDBOX_TENANT_ID) is None


@pytest.mark.asyncio
async def test_the_portal_link_is_the_clouds_and_the_tenants(catalog: Catalog) -> None:
    detail = await _detail(catalog, NodeRef(SourceKind.MANAGED, (RG_IMAGES, IMAGE_WITH_DATA_DISKS)))
    url = portal_url(detail, PUBLIC_CLOUD, SANDBOX_TENANT_ID)
    assert url == (
        f"https://portal.azure.com/#@{SANDBOX_TENANT_ID}/resource{detail.resource_id}/overview"
    )
    china = portal_url(detail, CLOUDS["AzureChinaCloud"])
    assert china is not None and china.startswith(
        "https://portal.azure.cn/#resource/subscriptions/"
    )
    gov = portal_url(detail, CLOUDS["AzureUSGovernment"])
    assert gov is not None and gov.startswith("https://portal.azure.us/#resource/")
    # a custom cloud without a portal address: no link rather than a wrong one
    assert (
        portal_url(detail, Cloud("Stack", "Stack", "https://arm.example", "login.example")) is None
    )

    sku = NodeRef(SourceKind.MARKETPLACE, ("Canonical", "ubuntu-24_04-lts", "server"))
    marketplace = await _first_version(catalog, sku)
    assert portal_url(marketplace, PUBLIC_CLOUD) == (
        "https://azuremarketplace.microsoft.com/marketplace/apps/canonical.ubuntu-24_04-lts"
    )
    assert portal_url(marketplace, CLOUDS["AzureChinaCloud"]) is None


def test_a_custom_cloud_from_the_cli_keeps_its_portal() -> None:
    cloud = cloud_from_cli_json(
        '{"name": "AzureStackUser", "endpoints": {"resourceManager": "https://arm.local", '
        '"activeDirectory": "https://login.local/adfs", "portal": "https://portal.local"}}'
    )
    assert cloud is not None and cloud.portal == "https://portal.local"
    plain = cloud_from_cli_json(
        '{"name": "S", "endpoints": {"resourceManager": "https://arm.local", '
        '"activeDirectory": "https://login.local", "portal": "http://portal.local"}}'
    )
    assert plain is not None and plain.portal == ""  # never a plain-http portal


def test_nodes_that_are_not_images_cannot_be_handed_off() -> None:
    detail = ImageDetail(
        ref=NodeRef(SourceKind.MARKETPLACE, ("Canonical", "ubuntu-24_04-lts")),
        title="offer", resource_id="", os_type="Linux", os_state="Generalized",
        hyper_v_generation="Gen2 (V2)", architecture="x64", security_type="", location=LOCATION,
        disks=(),
    )  # fmt: skip
    with pytest.raises(HandoffError):
        az_vm_create(detail)


def test_quotes_in_names_stay_inside_their_strings() -> None:
    detail = ImageDetail(
        ref=NodeRef(SourceKind.MANAGED, ("rg", "it's")),
        title="it's", resource_id="/subscriptions/s/resourceGroups/rg/providers/"
        "Microsoft.Compute/images/it's ${x}", os_type="Linux", os_state="Generalized",
        hyper_v_generation="Gen1 (V1)", architecture="x64", security_type="", location=LOCATION,
        disks=(),
    )  # fmt: skip
    [create] = _az(az_vm_create(detail))
    assert _option(create, "--image") == detail.resource_id  # the shell gets it back whole
    bicep = bicep_vm(detail)
    assert (
        "id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/images/it\\'s \\${x}'"
        in bicep
    )
    assert _balanced(bicep)

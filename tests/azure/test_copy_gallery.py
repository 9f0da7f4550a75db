"""Copying a gallery image version into another tenant's gallery, against the sandbox over HTTP:
the copy carries the source tenant's token, the target holds the same version, the source is
untouched, a definition that does not match is refused before any change, and without the
second tenant's token Azure's LinkedAuthorizationFailed is explained."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from gui.azure.account.session import AzureSession, sandbox_session
from gui.azure.copy.gallery import GalleryCopyPlan, GalleryVersionCopy, GalleryVersionRef
from gui.azure.copy.job import CopyRefusedError, DefinitionMismatchError
from gui.azure.copy.tenants import SANDBOX_TENANT_TOKEN_PREFIX, LinkedSession, linked_session
from gui.azure.steps import StepEvent, StepState
from gui.sandbox import SandboxServer
from gui.sandbox.seed import (
    PARTNER_SUBSCRIPTION_ID,
    PARTNER_TENANT_ID,
    PRODUCTION_SUBSCRIPTION_ID,
    TENANT_TOKEN_PREFIX,
)
from gui.sandbox.seed import world as seeded

pytestmark = pytest.mark.asyncio

SOURCE = GalleryVersionRef(
    PRODUCTION_SUBSCRIPTION_ID, seeded.RG_GALLERY, seeded.GALLERY_PROD,
    seeded.GALLERY_IMAGE_SECURE, "1.2.0",
)
TARGET = GalleryVersionRef(
    PARTNER_SUBSCRIPTION_ID, seeded.RG_PARTNER, seeded.GALLERY_PARTNER,
    seeded.PARTNER_IMAGE_UBUNTU, "1.2.0",
)


@pytest_asyncio.fixture
async def session(fresh_sandbox: SandboxServer) -> AsyncIterator[AzureSession]:
    fresh_sandbox.lro_seconds = 0.05
    # Long enough for the replication to be seen in progress on a loaded machine.
    fresh_sandbox.replication_seconds_per_region = 1.5
    made = sandbox_session(fresh_sandbox.arm_url)
    yield made
    await made.close()


@pytest_asyncio.fixture
async def partner(session: AzureSession) -> AsyncIterator[LinkedSession]:
    made = linked_session(session, PARTNER_TENANT_ID)
    yield made
    await made.close()


async def _run(job: GalleryVersionCopy) -> list[StepEvent]:
    return [event async for event in job.run()]


def _final(events: list[StepEvent]) -> dict[str, StepState]:
    return {e.key: e.state for e in events if e.state.ended}


async def _version(session: AzureSession, ref: GalleryVersionRef) -> Any:
    return await session.compute(ref.subscription_id).gallery_image_versions.get(
        ref.resource_group, ref.gallery, ref.definition, ref.version or ""
    )


async def test_both_layers_spell_the_sandbox_tenant_token_alike() -> None:
    assert SANDBOX_TENANT_TOKEN_PREFIX == TENANT_TOKEN_PREFIX


async def test_a_version_is_copied_into_another_tenant(
    session: AzureSession, partner: LinkedSession
) -> None:
    before = (await _version(session, SOURCE)).as_dict()
    job = GalleryVersionCopy(
        session, partner, GalleryCopyPlan(SOURCE, TARGET, tenant_id=PARTNER_TENANT_ID),
        poll_seconds=0.05,
    )
    events = await _run(job)
    assert _final(events) == {
        "check": StepState.DONE,
        "create-version": StepState.DONE,
        "replicate:northeurope": StepState.DONE,
    }
    assert any(e.key == "replicate:northeurope" and "%" in e.message for e in events)
    assert job.result == TARGET.id
    copied = await _version(partner, TARGET)
    assert copied.provisioning_state == "Succeeded"
    assert copied.storage_profile.source.id == SOURCE.id
    source = await _version(session, SOURCE)
    assert source.as_dict() == before  # the source is untouched
    assert copied.storage_profile.os_disk_image.size_in_gb == (
        source.storage_profile.os_disk_image.size_in_gb
    )


async def test_without_the_source_tenant_token_azure_refuses_and_the_step_says_why(
    session: AzureSession,
) -> None:
    # Signed in to the partner tenant only: no auxiliary token for the source's tenant.
    alone = LinkedSession(
        credential=partner_credential(),
        account="partner only",
        sandbox_url=session.sandbox_url,
        tenant_id=PARTNER_TENANT_ID,
        sandbox_token=TENANT_TOKEN_PREFIX + PARTNER_TENANT_ID,
    )
    try:
        job = GalleryVersionCopy(
            session, alone, GalleryCopyPlan(SOURCE, TARGET), poll_seconds=0.05
        )
        events = await _run(job)
    finally:
        await alone.close()
    assert _final(events) == {"check": StepState.DONE, "create-version": StepState.FAILED}
    failed = job.failed
    assert failed is not None
    assert failed.message.startswith("LinkedAuthorizationFailed: ")
    assert "not authorized to access linked subscription" in failed.message
    assert "sign in to it" in failed.advice
    assert job.result is None


def partner_credential() -> Any:
    from gui.azure.account.loopback import AsyncStaticTokenCredential

    return AsyncStaticTokenCredential(TENANT_TOKEN_PREFIX + PARTNER_TENANT_ID)


async def test_the_home_token_on_the_partner_subscription_is_the_wrong_issuer(
    session: AzureSession,
) -> None:
    job = GalleryVersionCopy(session, session, GalleryCopyPlan(SOURCE, TARGET))
    events = await _run(job)
    assert _final(events) == {"check": StepState.FAILED}
    assert job.failed is not None
    assert "InvalidAuthenticationTokenTenant" in job.failed.message


async def test_a_definition_that_does_not_match_is_refused_before_any_change(
    session: AzureSession, partner: LinkedSession
) -> None:
    windows = GalleryVersionRef(
        PARTNER_SUBSCRIPTION_ID, seeded.RG_PARTNER, seeded.GALLERY_PARTNER,
        seeded.PARTNER_IMAGE_WINDOWS, "1.2.0",
    )
    job = GalleryVersionCopy(session, partner, GalleryCopyPlan(SOURCE, windows))
    assert _final(await _run(job)) == {"check": StepState.FAILED}
    assert job.failed is not None
    assert "OS type: the source has Linux, the target Windows" in job.failed.message
    assert job.failed.advice == DefinitionMismatchError.advice
    listed = partner.compute(PARTNER_SUBSCRIPTION_ID).gallery_image_versions.list_by_gallery_image(
        seeded.RG_PARTNER, seeded.GALLERY_PARTNER, seeded.PARTNER_IMAGE_WINDOWS
    )
    assert [v async for v in listed] == []


async def test_a_source_not_replicated_to_the_target_region_is_refused(
    session: AzureSession, partner: LinkedSession
) -> None:
    # ws2022-appserver 2024.11.1 is in westeurope and germanywestcentral, not northeurope.
    source = GalleryVersionRef(
        PRODUCTION_SUBSCRIPTION_ID, seeded.RG_GALLERY, seeded.GALLERY_PROD,
        seeded.GALLERY_IMAGE_WINDOWS, "2024.11.1",
    )
    target = GalleryVersionRef(
        PARTNER_SUBSCRIPTION_ID, seeded.RG_PARTNER, seeded.GALLERY_PARTNER,
        seeded.PARTNER_IMAGE_WINDOWS, "2024.11.1",
    )
    job = GalleryVersionCopy(session, partner, GalleryCopyPlan(source, target))
    assert _final(await _run(job)) == {"check": StepState.FAILED}
    assert job.failed is not None
    assert "not replicated to northeurope" in job.failed.message
    assert job.failed.advice == CopyRefusedError.advice


async def test_the_auxiliary_token_goes_over_https_or_to_loopback_only() -> None:
    from azure.core.pipeline import PipelineContext, PipelineRequest
    from azure.core.rest import HttpRequest

    from gui.azure.copy.tenants import AuxiliaryTokenPolicy
    from gui.azure.errors import InsecureEndpointError

    def request(url: str) -> PipelineRequest[Any]:
        return PipelineRequest(HttpRequest("GET", url), PipelineContext(None))

    AuxiliaryTokenPolicy._enforce_https(request("https://management.azure.com/subscriptions"))
    AuxiliaryTokenPolicy._enforce_https(request("http://127.0.0.1:8443/subscriptions"))
    with pytest.raises(InsecureEndpointError):
        AuxiliaryTokenPolicy._enforce_https(request("http://management.example.com/x"))


async def test_no_data_byte_passes_through_the_app_in_a_gallery_copy(
    session: AzureSession, partner: LinkedSession, fresh_sandbox: SandboxServer
) -> None:
    traffic = fresh_sandbox.world.blobs.traffic
    before = (traffic.sent, traffic.received)
    job = GalleryVersionCopy(
        session, partner, GalleryCopyPlan(SOURCE, TARGET.with_version("3.0.0")),
        poll_seconds=0.05,
    )
    await _run(job)
    assert job.result == TARGET.with_version("3.0.0").id
    assert (traffic.sent, traffic.received) == before

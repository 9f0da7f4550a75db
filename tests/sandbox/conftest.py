"""Helpers for the sandbox tests: SDK clients bound to a sandbox server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from azure.mgmt.compute.aio import ComputeManagementClient

from gui.azure.account.loopback import sandbox_compute_client
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID


@pytest_asyncio.fixture
async def compute(sandbox: SandboxServer) -> AsyncIterator[ComputeManagementClient]:
    async with sandbox_compute_client(sandbox.arm_url, PRODUCTION_SUBSCRIPTION_ID) as client:
        yield client

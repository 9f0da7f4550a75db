"""Server life cycle: persistence across restarts, reset, auth and api-version checks."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from gui.azure.account.loopback import sandbox_resource_clients
from gui.sandbox import SandboxServer
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID
from gui.sandbox.seed import world as seeded
from tests.sandbox.helpers import group_exists


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


async def _create_group(server: SandboxServer, name: str) -> None:
    _, resources = sandbox_resource_clients(server.arm_url, PRODUCTION_SUBSCRIPTION_ID)
    async with resources:
        group = await resources.resource_groups.create_or_update(
            name, {"location": "northeurope", "tags": {"purpose": "test"}}
        )
        assert group.name == name


@pytest.mark.asyncio
async def test_state_persists_across_restart_and_reset_starts_over(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = SandboxServer(state, reset=True)
    first.start()
    try:
        await _create_group(first, "rg-persisted")
        assert await group_exists(first, "rg-persisted")
    finally:
        first.stop()

    second = SandboxServer(state)
    second.start()
    try:
        assert second.arm_url != ""
        assert await group_exists(second, "RG-PERSISTED")  # ARM names are case-insensitive
    finally:
        second.stop()

    third = SandboxServer(state, reset=True)
    third.start()
    try:
        assert not await group_exists(third, "rg-persisted")
        assert await group_exists(third, "rg-images-prod")
    finally:
        third.stop()
    # The state file is whole JSON after all this.
    doc = json.loads((state / "arm-state.json").read_text())
    assert doc["format"] == 1


def test_requests_need_a_bearer_token_and_an_api_version(sandbox: SandboxServer) -> None:
    url = f"{sandbox.arm_url}/subscriptions?api-version=2022-12-01"
    status, body = _get(url)
    assert status == 401
    assert body["error"]["code"] == "AuthenticationFailed"  # type: ignore[index]

    status, body = _get(f"{sandbox.arm_url}/subscriptions", {"Authorization": "Bearer t"})
    assert status == 400
    assert body["error"]["code"] == "MissingApiVersionParameter"  # type: ignore[index]

    status, body = _get(url, {"Authorization": "Bearer t"})
    assert status == 200
    assert len(body["value"]) == 2  # type: ignore[arg-type]


def test_request_count_counts_every_request(sandbox: SandboxServer) -> None:
    before = sandbox.request_count
    for _ in range(3):
        _get(
            f"{sandbox.arm_url}/subscriptions?api-version=2022-12-01", {"Authorization": "Bearer t"}
        )
    assert sandbox.request_count - before == 3


def test_unknown_resource_type_is_reported_as_arm_does(sandbox: SandboxServer) -> None:
    status, body = _get(
        f"{sandbox.arm_url}/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/providers/"
        "Microsoft.Compute/teleporters?api-version=2024-07-01",
        {"Authorization": "Bearer t"},
    )
    assert status == 404
    assert body["error"]["code"] == "InvalidResourceType"  # type: ignore[index]


def test_standalone_entry_point_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    with subprocess.Popen(
        [sys.executable, "-m", "gui.sandbox", "--state-dir", str(tmp_path), "--reset"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            assert first.startswith("ARM endpoint:")
            arm_url = first.split()[-1]
            status, _ = _get(
                f"{arm_url}/subscriptions?api-version=2022-12-01", {"Authorization": "Bearer t"}
            )
            assert status == 200
        finally:
            process.terminate()
            assert process.wait(10) == 0


def test_a_newer_seed_adds_its_resources_and_keeps_user_changes(tmp_path: Path) -> None:
    from gui.sandbox.store import ResourceStore

    Json = dict[str, Any]
    group: Json = {"id": "/subscriptions/s/resourceGroups/a", "name": "a", "type": "t", "n": 1}
    store = ResourceStore(tmp_path, lambda: [group], reset=True)
    store.put({**group, "n": 2})  # the user changed a seeded resource
    newer: Json = {"id": "/subscriptions/s/resourceGroups/b", "name": "b", "type": "t", "n": 1}
    again = ResourceStore(tmp_path, lambda: [group, newer], reset=False)
    changed = again.get(group["id"])
    assert changed is not None and changed["n"] == 2
    assert again.get(newer["id"]) is not None
    deleted = ResourceStore(tmp_path, lambda: [group, newer], reset=False)
    deleted.delete(newer["id"])
    # Same seed as before: a deleted seeded resource stays deleted.
    assert ResourceStore(tmp_path, lambda: [group, newer], reset=False).get(newer["id"]) is None


def test_a_restart_listens_on_the_previous_ports_while_they_are_free(tmp_path: Path) -> None:
    # A paused disk upload keeps a write SAS naming the blob port: the next start must answer there.
    with SandboxServer(tmp_path / "state") as first:
        arm, blob = first.arm_url, first.blob_url
    with SandboxServer(tmp_path / "state") as second:
        assert (second.arm_url, second.blob_url) == (arm, blob)
        # Taken meanwhile (here: by the running sandbox): another start picks free ports.
        with SandboxServer(tmp_path / "state") as third:
            assert third.arm_url != arm and third.blob_url != blob
            url = f"{third.arm_url}/subscriptions?api-version=2022-12-01"
            assert _get(url, {"Authorization": "Bearer t"})[0] == 200


def _api(path: str) -> str:
    # The api-version the SDK sends for the resource type (Azure serves each its own).
    return {"images": "2026-04-01", "snapshots": "2026-03-02", "disks": "2026-03-02"}.get(
        path.split("/", maxsplit=1)[0], "2026-03-03"
    )


@pytest.mark.parametrize(
    "path",
    [
        "images/img-never-made",
        "snapshots/snap-never-made",
        "galleries/gal_never_made",
        f"galleries/{seeded.GALLERY_PROD}/images/never-made",
        f"galleries/{seeded.GALLERY_PROD}/images/{seeded.GALLERY_IMAGE_ARM64}/versions/9.9.9",
    ],
)
def test_deleting_what_is_already_gone_is_204(sandbox: SandboxServer, path: str) -> None:
    # ARM's DELETE is idempotent: a client retrying a delete must not see an error.
    url = (
        f"{sandbox.arm_url}/subscriptions/{PRODUCTION_SUBSCRIPTION_ID}/resourceGroups/"
        f"{seeded.RG_GALLERY}/providers/Microsoft.Compute/{path}?api-version={_api(path)}"
    )
    request = urllib.request.Request(url, method="DELETE", headers={"Authorization": "Bearer t"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 204

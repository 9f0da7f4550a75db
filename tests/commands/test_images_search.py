"""``azure-image-studio images search``: the service's ranking, printed; ``--json`` stable."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gui.azure.account.session import sandbox_session
from gui.azure.catalog.cache import CachedCatalog
from gui.azure.catalog.service import Catalog, Scope
from gui.azure.search.catalog_api import MarketplaceCatalogClient
from gui.azure.search.index import SearchIndex
from gui.azure.search.service import SearchService
from gui.commands.images import main
from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

JSON_KEYS = {
    "key", "source", "kind", "title", "publisher", "offer", "sku", "urn", "alias",
    "latest_version", "release_date", "os_type", "architecture", "generation",
    "security_type", "deprecation", "plan_required", "data_disks", "origins", "score",
}  # fmt: skip


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), out)
    return code, out.getvalue()


def _sandbox_args(sandbox: Any) -> list[str]:
    return ["--sandbox", sandbox.arm_url, "--catalog-url", sandbox.catalog_url]


@pytest.mark.asyncio
async def test_the_command_prints_the_services_ranking(sandbox: Any, tmp_path: Path) -> None:
    session = sandbox_session(sandbox.arm_url)
    client = MarketplaceCatalogClient.for_sandbox(sandbox.catalog_url)
    index = SearchIndex(tmp_path / "search.sqlite3")
    scope = Scope(PRODUCTION_SUBSCRIPTION_ID, "westeurope")
    try:
        service = SearchService(
            index, catalog=Catalog(session, scope, cache=CachedCatalog()), catalog_client=client
        )
        expected = [hit.title for hit in (await service.search("ubuntu 24.04 arm64")).hits]
    finally:
        await client.close()
        index.close()
        await session.close()

    code, text = await _in_thread("ubuntu", "24.04", "arm64", "--json", *_sandbox_args(sandbox))
    assert code == 0
    document = json.loads(text)
    assert [hit["title"] for hit in document["results"]] == expected
    assert document["results"][0]["urn"] == "Canonical:ubuntu-24_04-lts:server-arm64"
    assert document["query"] == "ubuntu 24.04 arm64" and document["location"] == "westeurope"
    assert document["catalog_used"] is True
    assert set(document) == {"query", "location", "filters", "catalog_used", "results"}
    for hit in document["results"]:
        assert set(hit) == JSON_KEYS

    code, table = await _in_thread("ubuntu", "24.04", "arm64", *_sandbox_args(sandbox))
    assert code == 0
    lines = [line for line in table.splitlines() if line[:3].strip().rstrip(".").isdigit()]
    assert [line.split(". ", 1)[1].split()[0] for line in lines] == expected


async def _in_thread(*argv: str) -> tuple[int, str]:
    import asyncio

    # The command runs its own event loop (asyncio.run), so not on the test's.
    return await asyncio.to_thread(_run, "search", *argv)


@pytest.mark.asyncio
async def test_json_is_stable_and_latest_has_its_date(sandbox: Any) -> None:
    args = ("Ubuntu2404", "--json", *_sandbox_args(sandbox))
    first = json.loads((await _in_thread(*args))[1])
    second = json.loads((await _in_thread(*args))[1])
    assert first == second
    top = first["results"][0]
    assert (top["urn"], top["alias"]) == ("Canonical:ubuntu-24_04-lts:server", "Ubuntu2404")
    assert (top["latest_version"], top["release_date"]) == ("24.04.202411030", "2024-11-03")


@pytest.mark.asyncio
async def test_filters_on_the_command_line(sandbox: Any) -> None:
    code, text = await _in_thread("ubuntu", "--arm64", "--json", *_sandbox_args(sandbox))
    results = json.loads(text)["results"]
    assert code == 0 and results
    assert all(hit["architecture"] == "Arm64" for hit in results)


def test_bad_usage_is_one_line_without_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "ubuntu"]) == 2
    assert main(["search", "ubuntu", "--location", "West Europe!"]) == 2
    assert main(["search", "ubuntu", "--sandbox", "http://example.com:80"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3
    assert "--location" in err[0] and "Traceback" not in "".join(err)
    assert "loopback" in err[2] or "sandbox" in err[2]


def test_the_entry_point_dispatches_images() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gui", "images", "search", "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0 and "--location" in done.stdout

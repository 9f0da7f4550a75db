"""``azure-image-studio images search TEXT``: find an image the way the window's search box does.

The same ranking as the window (``gui.azure.search.service.SearchService``): the Marketplace
Catalog's Search API (with a key in ``AZURE_IMAGE_STUDIO_CATALOG_KEY``; the sandbox's own
catalogue with ``--sandbox``) merged with the local index of everything the app has listed,
``latest`` resolved to a version and its release date, az aliases (``Ubuntu2404``) resolved to
URNs. ``--json`` prints one object with a stable shape: ``query``, ``location``, ``filters``,
``catalog_used``, ``results`` (each ``SearchHit.to_json()``).

Exit status (the table of gui/commands/options.py): 0 with results; 1 with none, as grep says
"no match", or when the search failed in Azure (stderr says which; with ``--json`` the object
is then ``{"error": ..., "exit_code": 1}``); 2 bad usage; 3 not signed in or not allowed (with
``--subscription``); 130 interrupted. ``--sandbox`` searches a sandbox of its own (gone
afterwards) or the running one at its URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any, TextIO

from gui.commands.options import (
    EXIT_AUTH,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandParser,
    UsageError,
    add_common_options,
    checked_sandbox,
    fail,
    sandbox,
)

PROG = "azure-image-studio images"
EXIT_FOUND = EXIT_OK
EXIT_NONE = EXIT_FAILED

_LOCATION = re.compile(r"^[a-z0-9]+$")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="azure-image-studio images",
        description="Find VM images: the Marketplace, community, shared and own galleries, "
        "managed images and VMs, ranked as in the window's search box.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="search for images")
    search.add_argument("text", nargs="+", help="what to look for, e.g. ubuntu 24.04 arm64")
    search.add_argument("--location", metavar="REGION", help="region, e.g. westeurope")
    search.add_argument("--subscription", metavar="ID",
                        help="subscription id, to resolve 'latest' against ARM")
    search.add_argument("--limit", type=int, default=20, help="at most this many results")
    search.add_argument("--hide-deprecated", action="store_true", help="hide deprecated images")
    search.add_argument("--gen2", action="store_true", help="only Hyper-V generation 2")
    search.add_argument("--arm64", action="store_true", help="only Arm64 images")
    search.add_argument("--trusted-launch", action="store_true",
                        help="only images that can start with Trusted Launch")
    search.add_argument("--offline", action="store_true",
                        help="answer from the local index only (no network)")
    search.add_argument("--catalog-url", metavar="URL",
                        help="the sandbox's Marketplace Catalog endpoint (loopback), with "
                             "--sandbox URL")
    add_common_options(
        search, codes=(EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_AUTH, EXIT_INTERRUPTED),
        meanings={EXIT_OK: "images found",
                  EXIT_FAILED: "no image found, or the search failed in Azure (stderr says "
                               "which)",
                  EXIT_INTERRUPTED: "interrupted (Ctrl+C)"},
        json_help="print one JSON object",
        sandbox_help="search the offline sandbox: a new one of its own (gone afterwards), or "
                     "the running one at URL (loopback; its catalogue with --catalog-url)")
    return parser


def _checked(args: argparse.Namespace) -> tuple[str, str | None]:
    location = (args.location or "").lower().replace(" ", "")
    subscription = args.subscription
    if args.sandbox is not None:
        from gui.sandbox.seed import PRODUCTION_SUBSCRIPTION_ID

        location = location or "westeurope"
        subscription = subscription or PRODUCTION_SUBSCRIPTION_ID
    if not location:
        raise UsageError("give --location REGION (e.g. westeurope), or --sandbox to try it offline")
    if not _LOCATION.match(location):
        raise UsageError(
            f"--location {args.location!r} is not a region name; use the short name, "
            "e.g. westeurope (az account list-locations -o table)"
        )
    if subscription is not None and not _GUID.match(subscription):
        raise UsageError(f"--subscription {subscription!r} is not a subscription id (a GUID)")
    if args.limit < 1:
        raise UsageError("--limit must be 1 or more")
    checked_sandbox(args)
    if args.catalog_url:
        from gui.azure.account.loopback import LoopbackOnlyError, require_loopback_url

        try:
            require_loopback_url(args.catalog_url)
        except LoopbackOnlyError as exc:
            raise UsageError(f"--catalog-url {args.catalog_url}: {exc}") from exc
    return location, subscription


@contextlib.asynccontextmanager
async def _service(
    args: argparse.Namespace, arm_url: str | None, catalog_url: str | None,
    location: str, subscription: str | None,
) -> AsyncIterator[Any]:
    # The Azure SDK is imported here, not at the top: `--help` and usage errors stay instant.
    from gui.azure.catalog.cache import CachedCatalog
    from gui.azure.catalog.service import Catalog, Scope
    from gui.azure.search.catalog_api import MarketplaceCatalogClient
    from gui.azure.search.index import SearchIndex
    from gui.azure.search.service import SearchService

    index = SearchIndex.in_cache_dir()
    session: Any = None
    client: MarketplaceCatalogClient | None = None
    try:
        if not args.offline:
            if arm_url is not None:
                from gui.azure.account.session import sandbox_session

                session = sandbox_session(arm_url)
                if catalog_url:
                    client = MarketplaceCatalogClient.for_sandbox(catalog_url)
            else:
                client = MarketplaceCatalogClient.from_environment()
                if subscription is not None:
                    session = await _azure_session()
        catalog = None
        if session is not None and subscription is not None:
            catalog = Catalog(session, Scope(subscription, location), cache=CachedCatalog())
        yield SearchService(index, catalog=catalog, catalog_client=client)
    finally:
        if client is not None:
            await client.close()
        if session is not None:
            await session.close()
        index.close()


async def _azure_session() -> Any:
    from gui.azure.account.clouds import resolve_cloud
    from gui.azure.account.session import AzureSession
    from gui.azure.account.signin import ThreadedCredential, headless_credential

    cloud = await asyncio.to_thread(resolve_cloud, None)
    credential = ThreadedCredential(headless_credential(cloud))
    return AzureSession(credential=credential, account="headless", cloud=cloud)


async def _run(  # noqa: PLR0917 - the parsed arguments and where to search
    args: argparse.Namespace, arm_url: str | None, catalog_url: str | None,
    location: str, subscription: str | None, out: TextIO,
) -> int:
    from gui.azure.search.model import SearchFilters

    text = " ".join(args.text)
    filters = SearchFilters(
        hide_deprecated=args.hide_deprecated,
        gen2_only=args.gen2,
        arm64_only=args.arm64,
        trusted_launch_only=args.trusted_launch,
    )
    async with _service(args, arm_url, catalog_url, location, subscription) as service:
        result = await service.search(text, filters, location, limit=args.limit)
    if args.json:
        document = {
            "query": text,
            "location": location,
            "filters": {
                "hide_deprecated": filters.hide_deprecated,
                "gen2_only": filters.gen2_only,
                "arm64_only": filters.arm64_only,
                "trusted_launch_only": filters.trusted_launch_only,
            },
            "catalog_used": result.catalog_used,
            "results": [hit.to_json() for hit in result.hits],
        }
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        _table(result, out)
    return EXIT_FOUND if result.hits else EXIT_NONE


def _table(result: Any, out: TextIO) -> None:
    if not result.hits:
        out.write("No image found.\n")
        return
    for place, hit in enumerate(result.hits, start=1):
        facts = hit.facts
        gen = {"V1": "Gen1", "V2": "Gen2"}.get(facts.generation, facts.generation)
        bits = [b for b in (facts.os_type, facts.architecture, gen, facts.security_type) if b]
        if facts.deprecation:
            bits.append(facts.deprecation)
        if facts.plan:
            bits.append("plan needed")
        if facts.data_disks:
            bits.append(f"data disks: {facts.data_disks}")
        latest = ""
        if hit.latest_version:
            when = f" ({hit.release_date.isoformat()})" if hit.release_date else ""
            latest = f"  latest {hit.latest_version}{when}"
        alias = f"  [{hit.alias}]" if hit.alias else ""
        out.write(f"{place:>2}. {hit.title}{alias}{latest}\n")
        out.write(f"    {hit.source} {hit.kind}: {' · '.join(bits) or 'facts not read yet'}\n")
    if not result.catalog_used:
        out.write("(from the local index only: the Marketplace Catalog was not asked)\n")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        location, subscription = _checked(args)
    except UsageError as exc:
        return fail(PROG, exc, as_json=args.json, out=stream)
    try:
        # --offline answers from the local index alone: no sandbox is started for it.
        with (contextlib.nullcontext(None) if args.offline else sandbox(args)) as endpoints:
            arm_url = endpoints.arm_url if endpoints else None
            catalog_url = endpoints.catalog_url if endpoints else args.catalog_url
            return asyncio.run(_run(args, arm_url, catalog_url, location, subscription, stream))
    except KeyboardInterrupt:
        return fail(PROG, "interrupted", code=EXIT_INTERRUPTED, as_json=args.json, out=stream)
    except Exception as exc:
        from azure.core.exceptions import AzureError

        from gui.azure.errors import AzureServiceError, translate

        if not isinstance(exc, AzureServiceError | AzureError | OSError):
            raise  # a fault of ours: its traceback is what a bug report needs
        # The search could not run: Azure's or the network's reason, one line.
        return fail(PROG, translate(exc), as_json=args.json, out=stream)

"""Azure's contract at the sandbox's front door: api-versions per resource type, request bodies
checked against the REST spec's schema (see ``api_versions``, ``operations``, ``validation``)."""

from __future__ import annotations

from gui.sandbox.contract.api_versions import Served, served
from gui.sandbox.contract.operations import load_schemas, schema_for
from gui.sandbox.errors import invalid_api_version, no_registered_provider

__all__ = ["check_api_version", "load_schemas", "schema_for", "served"]


def check_api_version(
    path: str, api_version: str, location: str, locations: tuple[str, ...]
) -> None:
    """ARM's 400 when ``path``'s resource type is not served at ``api_version``.

    ``location`` names the request's region in NoRegisteredProviderFound (ARM routes a request to
    the provider's endpoint for a region); ``locations`` are the regions the sandbox serves.
    """
    found: Served | None = served(path)
    if found is None or api_version in found.versions:
        return
    if not found.by_provider:
        raise invalid_api_version(api_version, found.versions)
    raise no_registered_provider(
        location,
        api_version,
        found.resource_type,
        supported_versions=found.versions,
        supported_locations=locations,
    )

"""A failed image step retried under another name: what Azure has now, and a free name.

When an upload's data is in Azure but its image step failed (the name is taken, a definition
does not match the disk, a quota), the step runs again alone (``JobRun.retry_follow_up``). What
to name it is asked first; this module reads which names are taken (reads only: nothing is
created here) and proposes a free one, and builds the new spec from the old one.
"""

from __future__ import annotations

import dataclasses
import re

from azure.core.exceptions import ResourceNotFoundError

from gui.azure import naming
from gui.azure.account.session import AzureSession
from gui.azure.errors import NotFoundError, translate
from gui.azure.image_builder import (
    DefinitionSpec,
    DiskFacts,
    GalleryVersionSpec,
    ManagedImageSpec,
    definition_facts,
    existing_versions,
)
from gui.azure.upload.job import UploadPlan

_NUMBERED = re.compile(r"^(.*?)-(\d{1,3})$")  # a counter, not a date stamp
_MAX_NAME = 80  # an image name's length limit (naming.image_name)


def free_image_name(name: str, taken: frozenset[str] | set[str]) -> str:
    """``name`` with the first number suffix (-2, -3, …) no image in ``taken`` (casefolded
    names) has, shortened to fit Azure's length limit; ``name`` itself when it is free."""
    if name.casefold() not in taken and naming.image_name(name) is None:
        return name
    match = _NUMBERED.match(name)
    stem, number = (match.group(1), int(match.group(2))) if match else (name, 1)
    stem = stem.rstrip("-.") or "image"
    while True:
        number += 1
        suffix = f"-{number}"
        candidate = stem[: _MAX_NAME - len(suffix)].rstrip("-.") + suffix
        if candidate.casefold() not in taken:
            return candidate


def new_definition(name: str, facts: DiskFacts, like: DefinitionSpec) -> DefinitionSpec:
    """A definition to create for the disk: its facts, ``like``'s publisher, and an offer and
    SKU of its own name (a gallery's publisher/offer/SKU triples must be unique)."""
    return DefinitionSpec(
        name=name,
        os_type=facts.os_type,
        os_state=facts.os_state,
        hyper_v_generation=facts.hyper_v_generation,
        security_type=like.security_type,
        architecture=facts.architecture,
        publisher=like.publisher,
    )


class FollowUpNames:
    """Reads what a retried image step must not reuse, in the subscription the plan makes its
    image in."""

    def __init__(self, session: AzureSession, plan: UploadPlan) -> None:
        self.compute = session.compute(plan.target_subscription)

    async def image_names(self, resource_group: str) -> frozenset[str]:
        """The managed images of the resource group, casefolded (Azure's names ignore case)."""
        try:
            names = [
                image.name.casefold()
                async for image in self.compute.images.list_by_resource_group(resource_group)
                if image.name
            ]
        except ResourceNotFoundError:
            return frozenset()  # no such group yet: every name is free
        except Exception as exc:
            raise translate(exc) from exc
        return frozenset(names)

    async def gallery_exists(self, resource_group: str, gallery: str) -> bool:
        try:
            await self.compute.galleries.get(resource_group, gallery)
        except ResourceNotFoundError:
            return False
        except Exception as exc:
            raise translate(exc) from exc
        return True

    async def definition(
        self, resource_group: str, gallery: str, name: str
    ) -> DefinitionSpec | None:
        """The definition as Azure has it; None when the gallery has none of that name."""
        try:
            return await definition_facts(self.compute, resource_group, gallery, name)
        except NotFoundError:
            return None

    async def versions(self, resource_group: str, gallery: str, definition: str) -> list[str]:
        return await existing_versions(self.compute, resource_group, gallery, definition)


def renamed_image(spec: ManagedImageSpec, name: str) -> ManagedImageSpec:
    return dataclasses.replace(spec, name=name)


def renamed_version(
    spec: GalleryVersionSpec,
    version: str,
    definition: DefinitionSpec,
    *,
    definition_exists: bool,
    gallery_exists: bool,
    versions: list[str],
) -> GalleryVersionSpec:
    """The version step as it is to run again: what exists now is used, not made again (a
    failed run may have created the gallery or the definition before its version failed)."""
    return dataclasses.replace(
        spec,
        version=version,
        definition=definition,
        create_definition=not definition_exists,
        create_gallery=not gallery_exists,
        existing_versions=tuple(versions),
    )

"""Editing a gallery image definition: its description, end-of-life date and recommended sizes
(vCPUs and memory ranges), through ``GalleryImages_Update`` (PATCH).

``GalleryImageProperties`` requires the OS type, OS state and identifier in every body (as
Microsoft's ``GalleryImage_Update.json`` example sends them), and Azure refuses to change them (or
the Hyper-V generation): they are sent as Azure answered them. Like a version's, a definition's
end-of-life date cannot be removed by an update (a property sent empty counts as not sent), only
moved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gui.azure.arm import enum_text
from gui.azure.errors import translated
from gui.azure.manage.versions import ChangeRefused
from gui.azure.steps import Progress, StepEvent, StepSpec, run_step
from gui.i18n import QT_TR_NOOP, Text, message

# Recommended sizes are hints for the portal's size picker; Azure takes whole numbers. The
# largest VM sizes have 896 vCPUs and about 32 TiB of memory.
MAX_VCPUS = 1024
MAX_MEMORY_GIB = 32768


@dataclass(frozen=True)
class DefinitionRef:
    resource_group: str
    gallery: str
    definition: str

    @property
    def path(self) -> str:
        return f"{self.gallery}/{self.definition}"

    @property
    def args(self) -> tuple[str, str, str]:
        return (self.resource_group, self.gallery, self.definition)


Range = tuple[int | None, int | None]  # (min, max), None where not set


@dataclass(frozen=True)
class DefinitionProfile:
    ref: DefinitionRef
    description: str
    end_of_life: datetime | None
    vcpus: Range
    memory_gib: Range
    fixed: dict[str, Any]  # osType, osState, hyperVGeneration, identifier: sent as they are


@dataclass(frozen=True)
class DefinitionChange:
    description: str
    end_of_life: datetime | None
    vcpus: Range
    memory_gib: Range


def _range(value: Any) -> Range:
    if value is None:
        return (None, None)
    return (value.min, value.max)


def _aware(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def profile_of(ref: DefinitionRef, image: Any) -> DefinitionProfile:
    props = image.properties
    recommended = props.recommended
    identifier = props.identifier
    fixed: dict[str, Any] = {
        "osType": enum_text(props.os_type),
        "osState": enum_text(props.os_state),
        "identifier": {
            "publisher": identifier.publisher,
            "offer": identifier.offer,
            "sku": identifier.sku,
        },
    }
    if props.hyper_v_generation is not None:
        fixed["hyperVGeneration"] = enum_text(props.hyper_v_generation)
    return DefinitionProfile(
        ref=ref,
        description=str(props.description or ""),
        end_of_life=_aware(props.end_of_life_date),
        vcpus=_range(recommended.v_cp_us if recommended is not None else None),
        memory_gib=_range(recommended.memory if recommended is not None else None),
        fixed=fixed,
    )


async def read_definition(compute: Any, ref: DefinitionRef) -> DefinitionProfile:
    with translated():
        image = await compute.gallery_images.get(*ref.args)
    return profile_of(ref, image)


def _problem(template: str, /, **args: object) -> Text:
    return Text(message(template, **args))


def check_change(profile: DefinitionProfile, change: DefinitionChange) -> list[Text]:
    problems: list[Text] = []
    for (low, high), label, top in (
        (change.vcpus, QT_TR_NOOP("vCPUs"), MAX_VCPUS),
        (change.memory_gib, QT_TR_NOOP("memory (GiB)"), MAX_MEMORY_GIB),
    ):
        for value in (low, high):
            if value is not None and not 1 <= value <= top:
                problems.append(
                    _problem(
                        QT_TR_NOOP("Recommended {what}: {value} is outside 1 to {top}."),
                        what=Text(label),
                        value=value,
                        top=top,
                    )
                )
        if low is not None and high is not None and low > high:
            problems.append(
                _problem(
                    QT_TR_NOOP(
                        "Recommended {what}: the minimum ({low}) is above the maximum "
                        "({high}). Swap them or leave one empty."
                    ),
                    what=Text(label),
                    low=low,
                    high=high,
                )
            )
    if change.end_of_life is None and profile.end_of_life is not None:
        problems.append(
            _problem(
                QT_TR_NOOP(
                    "Azure keeps an end-of-life date once it is set (a date sent empty counts "
                    "as not sent): choose a later date instead of none."
                )
            )
        )
    if (
        change.end_of_life is not None
        and change.end_of_life != profile.end_of_life
        and change.end_of_life <= datetime.now(UTC)
    ):
        problems.append(
            _problem(
                QT_TR_NOOP(
                    "The end-of-life date must be in the future (or none): VMs would be "
                    "warned about a date that has passed."
                )
            )
        )
    return problems


def _range_body(value: Range) -> dict[str, int]:
    low, high = value
    return {k: v for k, v in (("min", low), ("max", high)) if v is not None}


def update_body(profile: DefinitionProfile, change: DefinitionChange) -> dict[str, Any]:
    props: dict[str, Any] = {**profile.fixed, "description": change.description}
    if change.end_of_life is not None and change.end_of_life != profile.end_of_life:
        props["endOfLifeDate"] = change.end_of_life.astimezone(UTC).isoformat().replace(
            "+00:00", "Z"
        )
    recommended = {
        key: body
        for key, body in (("vCPUs", _range_body(change.vcpus)),
                          ("memory", _range_body(change.memory_gib)))
        if body
    }
    if recommended:
        props["recommended"] = recommended
    return {"properties": props}


def update_step(ref: DefinitionRef) -> StepSpec:
    return StepSpec(
        f"update-definition:{ref.path}",
        Text(message(QT_TR_NOOP("Update image definition {path}"), path=ref.path)),
        change=Text(
            message(
                QT_TR_NOOP(
                    "Changes the description, end of life and recommended sizes of {path}."
                ),
                path=ref.path,
            )
        ),
    )


async def update_definition(
    compute: Any, profile: DefinitionProfile, change: DefinitionChange
) -> AsyncIterator[StepEvent]:
    """Checks ``change`` (:class:`ChangeRefused` before anything is sent) and runs it as one
    step, yielding its events; a failure is raised as the translated Azure error after the
    step's FAILED event."""
    problems = check_change(profile, change)
    if problems:
        raise ChangeRefused(problems)
    body = update_body(profile, change)

    async def action(progress: Progress) -> str:
        progress(Text(QT_TR_NOOP("Azure is updating the definition…")))
        with translated():
            # A plain JSON body: the SDK sends it as it is.
            poller = await compute.gallery_images.begin_update(*profile.ref.args, body)
            await poller.result()
        return Text(message(QT_TR_NOOP("Image definition {path} updated."), path=profile.ref.path))

    async for event in run_step(update_step(profile.ref), action):
        yield event

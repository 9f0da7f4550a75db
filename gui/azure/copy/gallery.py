"""A gallery image version into another gallery, in another subscription or tenant.

Azure copies it: the new version's ``storageProfile.source.id`` is the source version's ID, and
Azure reads the source in the new version's region (so the source must be replicated there) and
replicates the copy to the target regions. Nothing passes through this machine.

Steps: check (the source version, the target definition and the target name, read fresh; the
target definition must agree with the source's on what a VM boots: OS type, OS state, Hyper-V
generation, architecture; refused before any change otherwise), create the version, then one
replication step per target region with Azure's progress.

Across tenants the target session is a ``tenants.LinkedSession``: signed in to the target's
tenant and carrying the source tenant's token (Azure answers LinkedAuthorizationFailed without
it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.core.polling import AsyncLROPoller

from gui.azure.account.session import AzureSession
from gui.azure.arm import enum_text
from gui.azure.copy.job import (
    CopyFailedError,
    CopyJob,
    CopyRefusedError,
    DefinitionMismatchError,
)
from gui.azure.errors import translated
from gui.azure.steps import Progress, StepAction, StepSpec
from gui.i18n import QT_TR_NOOP, Message, Text

# The properties of a definition that must agree: what a VM made from the version boots with.
# (label, property of the SDK model, Azure's default when the definition leaves it out)
_BOOT_FACTS: tuple[tuple[str, str, str], ...] = (
    (QT_TR_NOOP("OS type"), "os_type", ""),
    (QT_TR_NOOP("OS state"), "os_state", ""),
    (QT_TR_NOOP("Hyper-V generation"), "hyper_v_generation", "V1"),
    (QT_TR_NOOP("architecture"), "architecture", "x64"),
)


def _key(region: str) -> str:
    return region.lower().replace(" ", "")


@dataclass(frozen=True)
class GalleryVersionRef:
    """A gallery image version (or, with ``version`` None, a definition to put one in)."""

    subscription_id: str
    resource_group: str
    gallery: str
    definition: str
    version: str | None = None

    @property
    def definition_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Compute/galleries/{self.gallery}/images/{self.definition}"
        )

    @property
    def id(self) -> str:
        return f"{self.definition_id}/versions/{self.version}" if self.version else ""

    @property
    def path(self) -> str:
        """gallery/definition[/version], as messages name it."""
        tail = f"/{self.version}" if self.version else ""
        return f"{self.gallery}/{self.definition}{tail}"

    @classmethod
    def parse(cls, resource_id: str) -> GalleryVersionRef:
        """An image definition's or version's resource ID (any case for ARM's fixed
        segments); ValueError for anything else."""
        parts = [p for p in resource_id.strip().split("/") if p]
        lowered = [p.lower() for p in parts]
        try:
            if lowered[0] != "subscriptions" or lowered[2] != "resourcegroups":
                raise ValueError(resource_id)
            gallery = lowered.index("galleries")
            images = lowered.index("images")
            if images != gallery + 2 or len(parts) not in (images + 2, images + 4):
                raise ValueError(resource_id)
            version = parts[images + 3] if len(parts) == images + 4 else None
            if version is not None and lowered[images + 2] != "versions":
                raise ValueError(resource_id)
            return cls(parts[1], parts[3], parts[gallery + 1], parts[images + 1], version)
        except (ValueError, IndexError):
            raise ValueError(f"{resource_id} is not a gallery image resource ID") from None

    def with_version(self, version: str) -> GalleryVersionRef:
        return GalleryVersionRef(
            self.subscription_id, self.resource_group, self.gallery, self.definition, version
        )


@dataclass(frozen=True)
class GalleryCopyPlan:
    source: GalleryVersionRef
    target: GalleryVersionRef  # its version names the new one
    # (region, replicas); empty: the target gallery's region, one replica
    regions: tuple[tuple[str, int], ...] = ()
    tenant_id: str | None = None  # the target's tenant when it is not the signed-in one


@dataclass
class _Facts:
    location: str = ""
    regions: list[tuple[str, int]] = field(default_factory=list)


class GalleryVersionCopy(CopyJob):
    """Copies ``plan.source`` (read with ``source``) to ``plan.target`` (written with ``target``:
    the same session for another subscription, a ``LinkedSession`` for another tenant)."""

    def __init__(
        self,
        source: AzureSession,
        target: AzureSession,
        plan: GalleryCopyPlan,
        *,
        poll_seconds: float | None = None,
    ) -> None:
        super().__init__(
            poll_seconds if poll_seconds is not None else (0.2 if source.is_sandbox else 10.0)
        )
        self.source_session = source
        self.target_session = target
        self.plan = plan
        self._facts = _Facts()
        self._poller: AsyncLROPoller[Any] | None = None
        target_ref = plan.target
        self.steps = [
            StepSpec(
                "check",
                Text(Message(QT_TR_NOOP("Check {source} and the target definition {target}"),
                             {"source": plan.source.path, "target": target_ref.path})),
                # No advice of its own: each refusal carries what to do about it.
            ),
            StepSpec(
                "create-version",
                Text(Message(QT_TR_NOOP("Create image version {version}"),
                             {"version": target_ref.path})),
                Text(Message(QT_TR_NOOP("Create image version {version} in subscription "
                                        "{subscription} from {source} (Azure copies it)"),
                             {"version": target_ref.path,
                              "subscription": target_ref.subscription_id,
                              "source": plan.source.id})),
                Text(QT_TR_NOOP(
                    "Nothing was copied. For another tenant, sign in to it with an account that "
                    "may write the target gallery, and make sure your account can read the "
                    "source version (Reader on it); then start the copy again.")),
            ),
        ]
        for region, _ in plan.regions:
            self.steps.append(self._replicate_step(region))

    @staticmethod
    def _replicate_step(region: str) -> StepSpec:
        return StepSpec(
            f"replicate:{region}",
            Text(Message(QT_TR_NOOP("Replicate to {region}"), {"region": region})),
            "",
            Text(QT_TR_NOOP("The image version exists; Azure keeps replicating. Check its "
                            "replication status in the browser, or update its target regions "
                            "to retry.")),
        )

    def made(self) -> str:
        return self.plan.target.id

    def action(self, step: StepSpec) -> StepAction:
        kind, _, arg = step.key.partition(":")
        if kind == "check":
            return self._check
        if kind == "create-version":
            return lambda progress: self._create()
        return lambda progress: self._replicate(arg, progress)

    # --- check --------------------------------------------------------------------------

    async def _check(self, progress: Progress) -> str:
        plan = self.plan
        src, dst = plan.source, plan.target
        source_compute: Any = self.source_session.compute(src.subscription_id)
        target_compute: Any = self.target_session.compute(dst.subscription_id)
        with translated():
            version = await source_compute.gallery_image_versions.get(
                src.resource_group, src.gallery, src.definition, src.version
            )
            source_definition = await source_compute.gallery_images.get(
                src.resource_group, src.gallery, src.definition
            )
        state = enum_text(version.provisioning_state)
        if state != "Succeeded":
            raise CopyRefusedError(Text(Message(
                QT_TR_NOOP("The source version {version} is {state}; it can be copied once it "
                           "has succeeded."), {"version": src.path, "state": state})))
        progress(Text(Message(QT_TR_NOOP("Source {version} read; reading the target "
                                         "definition."), {"version": src.path})))
        with translated():
            try:
                definition = await target_compute.gallery_images.get(
                    dst.resource_group, dst.gallery, dst.definition
                )
            except ResourceNotFoundError as exc:
                raise CopyRefusedError(Text(Message(
                    QT_TR_NOOP("The target image definition {definition} does not exist in "
                               "resource group {resource_group}. Create it first (with the same "
                               "OS type, state, generation and architecture as {source})."),
                    {"definition": dst.path, "resource_group": dst.resource_group,
                     "source": src.path}))) from exc
        differences = [
            Message(QT_TR_NOOP("{what}: the source has {source}, the target {target}"),
                    {"what": Message(label), "source": s, "target": t})
            for label, attribute, default in _BOOT_FACTS
            for s, t in [(
                enum_text(getattr(source_definition, attribute, None)) or default,
                enum_text(getattr(definition, attribute, None)) or default,
            )]
            if s.lower() != t.lower()
        ]
        if differences:
            listed = differences[0]
            for more in differences[1:]:
                listed = Message(QT_TR_NOOP("{first}; {second}"),
                                 {"first": listed, "second": more})
            raise DefinitionMismatchError(Text(Message(
                QT_TR_NOOP("The target definition {target} does not match the source's "
                           "definition {source}: {differences}."),
                {"target": dst.path, "source": src.path, "differences": listed})))
        location = _key(str(definition.location or ""))
        replicated = [
            _key(str(r.name or ""))
            for r in (version.publishing_profile.target_regions or [])
        ] if version.publishing_profile else []
        if location not in replicated:
            raise CopyRefusedError(Text(Message(
                QT_TR_NOOP("The source version {version} is not replicated to {region}, the "
                           "target gallery's region, where Azure reads it from. Add {region} "
                           "to its target regions first."),
                {"version": src.path, "region": location})))
        with translated():
            try:
                await target_compute.gallery_image_versions.get(
                    dst.resource_group, dst.gallery, dst.definition, dst.version
                )
            except ResourceNotFoundError:
                pass  # free: what a new version needs
            else:
                raise CopyRefusedError(Text(Message(
                    QT_TR_NOOP("The target version {version} already exists. Choose another "
                               "version number."), {"version": dst.path})))
        self._facts.location = location
        self._facts.regions = list(plan.regions) or [(location, 1)]
        if not plan.regions:
            self.steps.append(self._replicate_step(location))
        return Text(Message(QT_TR_NOOP("{source} can be copied into {target} ({region})."),
                            {"source": src.path, "target": dst.path, "region": location}))

    # --- create and replicate ----------------------------------------------------------------

    async def _create(self) -> str:
        dst = self.plan.target
        body = {
            "location": self._facts.location,
            "properties": {
                "publishingProfile": {
                    "targetRegions": [
                        {"name": region, "regionalReplicaCount": replicas}
                        for region, replicas in self._facts.regions
                    ],
                },
                "storageProfile": {"source": {"id": self.plan.source.id}},
            },
        }
        compute: Any = self.target_session.compute(dst.subscription_id)
        with translated():
            self._poller = await compute.gallery_image_versions.begin_create_or_update(
                dst.resource_group, dst.gallery, dst.definition, dst.version, body
            )
        return Text(Message(QT_TR_NOOP("Image version {version} accepted; Azure copies and "
                                       "replicates it now."), {"version": dst.path}))

    async def _replicate(self, region: str, progress: Progress) -> str:
        dst = self.plan.target
        compute: Any = self.target_session.compute(dst.subscription_id)
        last = _key(self._facts.regions[-1][0]) == _key(region)
        while True:
            with translated():
                version = await compute.gallery_image_versions.get(
                    dst.resource_group, dst.gallery, dst.definition, dst.version,
                    expand="ReplicationStatus",
                )
            status = ((version.as_dict().get("properties") or {}).get("replicationStatus")) or {}
            summary: dict[str, Any] = next(
                (s for s in status.get("summary") or []
                 if _key(str(s.get("region") or "")) == _key(region)),
                {},
            )
            state = str(summary.get("state") or "")
            if state == "Failed":
                raise CopyFailedError(Text(Message(
                    QT_TR_NOOP("Replication to {region} failed: {details}"),
                    {"region": region, "details": summary.get("details") or "no details"})))
            if state == "Completed":
                break
            if self._poller is not None and self._poller.done():
                with translated():
                    await self._poller.result()
            percent = summary.get("progress")
            progress(Text(Message(QT_TR_NOOP("{state} {percent} %"),
                                  {"state": state or "Waiting", "percent": percent or 0})))
            await self.sleep()
        if last and self._poller is not None:
            with translated():
                await self._poller.result()
        return Text(Message(QT_TR_NOOP("Replicated to {region}."), {"region": region}))

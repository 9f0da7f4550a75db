"""Azure Compute Galleries: galleries, image definitions and image versions.

A version may be made from another gallery's version (``storageProfile.source.id`` naming it),
in another subscription or another tenant. Across tenants Azure wants two tokens: the target
tenant's in ``Authorization`` and the source tenant's in ``x-ms-authorization-auxiliary``;
without the second the answer is 403 LinkedAuthorizationFailed. The seed's second tenant
(gui/sandbox/seed: Fabrikam) lets the sandbox hold the app to that.
"""

from __future__ import annotations

import functools
import re
import time
from typing import Any

from aiohttp import web

from gui.sandbox.arm.common import (
    add_read_routes,
    display_region,
    find_compute,
    missing,
    now_iso,
    parse_resource_id,
    put_in_group,
    put_request,
    region_name,
    require_compute,
    version_disks,
)
from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.lro import delete_accepted, mark_provisioned, start_operation
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError, invalid_parameter, resource_not_found
from gui.sandbox.seed import tenant_of_subscription, tenant_of_token
from gui.sandbox.seed.world import gallery as seeded_gallery
from gui.sandbox.seed.world import gallery_image as seeded_definition
from gui.sandbox.world import public

Json = dict[str, Any]
router = Router()

GALLERY_TYPE = "Microsoft.Compute/galleries"
DEFINITION_TYPE = "Microsoft.Compute/galleries/images"
VERSION_TYPE = "Microsoft.Compute/galleries/images/versions"

_GALLERIES = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries"
_GALLERY = _GALLERIES + "/{gallery}"
_DEFINITION = _GALLERY + "/images/{image}"
_VERSION = _DEFINITION + "/versions/{version}"


def require_gallery(ctx: Ctx, p: dict[str, str]) -> Json:
    return require_compute(ctx, p["sub"], p["rg"], GALLERY_TYPE, p["gallery"])


def require_definition(ctx: Ctx, p: dict[str, str]) -> Json:
    gallery = require_gallery(ctx, p)
    definition = ctx.world.store.get(f"{gallery['id']}/images/{p['image']}")
    if definition is None:
        raise resource_not_found(GALLERY_TYPE, f"{gallery['name']}/images/{p['image']}", p["rg"])
    return definition


def require_version(ctx: Ctx, p: dict[str, str]) -> Json:
    definition = require_definition(ctx, p)
    version = ctx.world.store.get(f"{definition['id']}/versions/{p['version']}")
    if version is None:
        name = f"{p['gallery']}/images/{definition['name']}/versions/{p['version']}"
        raise resource_not_found(GALLERY_TYPE, name, p["rg"])
    return version


# Where a failing region stops (a fraction of its replication), as Azure reports a failed
# region: the progress it had reached, state Failed, and the reason in details.
_FAILS_AT = 0.4


def replication_status(version: Json, now: float | None = None) -> Json:
    """Per-region replication, advancing with time for versions the sandbox is replicating.

    A version being replicated carries ``_replication``: its start time, how long each region
    takes, which regions replicate (``regions``; all of them when absent, as for a new version)
    and which of those fail (``failing``: region -> details). The replicating regions complete
    one after the other; the others stay as they were (Completed); a failing region stops
    part-way as Failed with its details.
    """
    regions = [r["name"] for r in version["properties"]["publishingProfile"]["targetRegions"]]
    plan = version.get("_replication")
    now = time.time() if now is None else now
    summary: list[Json] = []
    pending = None if plan is None else plan.get("regions")
    failing = {} if plan is None else dict(plan.get("failing") or {})
    order = [region_name(r) for r in regions] if pending is None else list(pending)
    for region in regions:
        short = region_name(region)
        details = ""
        if plan is None or short not in order:
            progress = 100
        else:
            index = order.index(short)
            per_region = float(plan["seconds_per_region"])
            elapsed = now - float(plan["started"]) - index * per_region
            fraction = max(0.0, min(1.0, elapsed / per_region)) if per_region > 0 else 1.0
            if short in failing and fraction >= _FAILS_AT:
                summary.append(
                    {
                        "region": region,
                        "state": "Failed",
                        "details": failing[short],
                        "progress": int(_FAILS_AT * 100),
                    }
                )
                continue
            progress = int(fraction * 100)
        state = "Completed" if progress >= 100 else "Replicating"
        summary.append({"region": region, "state": state, "details": details, "progress": progress})
    states = {s["state"] for s in summary}
    aggregated = (
        "Failed" if "Failed" in states else "InProgress" if "Replicating" in states else "Completed"
    )
    return {"aggregatedState": aggregated, "summary": summary}


def version_json(ctx: Ctx, version: Json) -> Json:
    doc = public(version)
    expand = (ctx.query("$expand") or "").lower()
    if expand == "replicationstatus":
        doc = {
            **doc,
            "properties": {**doc["properties"], "replicationStatus": replication_status(version)},
        }
    return doc


add_read_routes(router, GALLERY_TYPE, "gallery")


@router.get(_GALLERY + "/images")
async def list_definitions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    gallery = require_gallery(ctx, p)
    return ctx.page([public(d) for d in ctx.world.store.children(gallery["id"], DEFINITION_TYPE)])


@router.get(_DEFINITION)
async def get_definition(ctx: Ctx, p: dict[str, str]) -> web.Response:
    require_token_tenant(ctx, p["sub"])
    return reply(public(require_definition(ctx, p)))


@router.get(_DEFINITION + "/versions")
async def list_versions(ctx: Ctx, p: dict[str, str]) -> web.Response:
    definition = require_definition(ctx, p)
    versions = ctx.world.store.children(definition["id"], VERSION_TYPE)
    return ctx.page([version_json(ctx, v) for v in versions])


@router.get(_VERSION)
async def get_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    require_token_tenant(ctx, p["sub"])
    return reply(version_json(ctx, require_version(ctx, p)))


# ---- tenants -----------------------------------------------------------------------------


def _bearer_tokens(header: str) -> list[str]:
    """The tokens of an ``Authorization`` or ``x-ms-authorization-auxiliary`` header (the
    latter holds up to three, comma-separated, each "Bearer <token>")."""
    tokens = []
    for part in header.split(","):
        scheme, _, token = part.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            tokens.append(token.strip())
    return tokens


def require_token_tenant(ctx: Ctx, subscription_id: str) -> str:
    """The tenant of the subscription, which the request's token must have been issued for
    (Azure's 401 InvalidAuthenticationTokenTenant otherwise)."""
    wanted = tenant_of_subscription(subscription_id)
    tokens = _bearer_tokens(ctx.request.headers.get("Authorization", ""))
    issued = tenant_of_token(tokens[0]) if tokens else wanted
    if issued != wanted:
        raise ArmError(
            401,
            "InvalidAuthenticationTokenTenant",
            f"The access token is from the wrong issuer 'https://sts.windows.net/{issued}/'. It "
            f"must match the tenant 'https://sts.windows.net/{wanted}/' associated with this "
            f"subscription. Please use the authority (URL) 'https://login.windows.net/{wanted}' "
            "to get the token.",
        )
    return wanted


def _require_linked_tenant(ctx: Ctx, target_id: str, target_tenant: str, source_id: str) -> None:
    """A source in another tenant needs that tenant's token in x-ms-authorization-auxiliary."""
    source_sub = parse_resource_id(source_id).get("subscriptions", "")
    source_tenant = tenant_of_subscription(source_sub)
    if source_tenant == target_tenant:
        return
    auxiliary = ctx.request.headers.get("x-ms-authorization-auxiliary", "")
    if source_tenant in {tenant_of_token(t) for t in _bearer_tokens(auxiliary)}:
        return
    raise ArmError(
        403,
        "LinkedAuthorizationFailed",
        "The client has permission to perform action "
        f"'Microsoft.Compute/galleries/images/versions/read' on scope '{target_id}', however "
        f"the current tenant '{target_tenant}' is not authorized to access linked subscription "
        f"'{source_sub}'.",
    )


# ---- create and delete -----------------------------------------------------------------

_GALLERY_NAME = re.compile(r"^[A-Za-z0-9]$|^[A-Za-z0-9][A-Za-z0-9._]{0,78}[A-Za-z0-9]$")
_DEFINITION_NAME = re.compile(r"^[A-Za-z0-9]$|^[A-Za-z0-9][A-Za-z0-9._-]{0,78}[A-Za-z0-9]$")
_VERSION_NAME = re.compile(r"^\d+\.\d+\.\d+$")
_INT32_MAX = 2**31 - 1


def _check_gallery_name(name: str) -> None:
    if not _GALLERY_NAME.match(name):
        raise invalid_parameter(
            f"The gallery name '{name}' is invalid. Allowed characters are English alphanumeric "
            "characters, with underscores and periods allowed in the middle, up to 80 "
            "characters total. All other special characters, including dashes, are disallowed.",
            target="galleryName",
        )


def _check_definition_name(name: str) -> None:
    if not _DEFINITION_NAME.match(name):
        raise invalid_parameter(
            f"The gallery image name '{name}' is invalid. Allowed characters are English "
            "alphanumeric characters, with underscores, hyphens and periods allowed in the "
            "middle, up to 80 characters total.",
            target="galleryImageName",
        )


def check_version_name(name: str) -> None:
    parts = name.split(".") if _VERSION_NAME.match(name) else []
    if len(parts) != 3 or any(int(x) > _INT32_MAX for x in parts):
        raise invalid_parameter(
            f"The gallery image version name '{name}' is invalid. The version name must follow "
            "the format Major(int32).Minor(int32).Patch(int32), for example 1.0.0 or 2018.12.1.",
            target="galleryImageVersionName",
        )


def _provisioning(  # noqa: PLR0917 - what every create/update answer needs
    ctx: Ctx, sub: str, location: str, resource: Json, status: int, duration: float | None = None
) -> web.Response:
    """Save ``resource`` (Creating or Updating) and answer ``status`` with an operation that marks
    it Succeeded after ``duration`` (the world's LRO time unless given)."""
    ctx.world.store.put(resource)
    _, headers = start_operation(
        ctx,
        sub,
        location,
        duration=ctx.world.lro_seconds if duration is None else duration,
        on_done=functools.partial(mark_provisioned, ctx.world, resource["id"]),
    )
    return reply(public(resource), status, headers)


def _refuse_while_nested(ctx: Ctx, parent: Json, child_type: str, what_remains: str) -> None:
    if ctx.world.store.children(parent["id"], child_type):
        raise ArmError(
            409,
            "CannotDeleteResource",
            f"Can not delete resource before nested resources are deleted. {what_remains}",
        )


@router.put(_GALLERY)
async def put_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
    name = p["gallery"]
    group, sid, body, location, props, existing = put_in_group(
        ctx, p, GALLERY_TYPE, name, _check_gallery_name
    )
    description = str(props.get("description") or "")
    if existing is not None:
        # An update is a long-running operation too: 200, Updating, and the operation to poll
        # (Gallery_Create.json: 200 for an update, 201 for a create).
        existing["properties"]["description"] = description
        existing["tags"] = body.get("tags") or existing.get("tags") or {}
        existing["properties"]["provisioningState"] = "Updating"
        return _provisioning(ctx, sid, existing["location"], existing, 200)
    gallery = seeded_gallery(sid, group["name"], name, location, description)
    gallery["tags"] = body.get("tags") or {}
    gallery["properties"]["provisioningState"] = "Creating"
    return _provisioning(ctx, sid, location, gallery, 201)


@router.delete(_GALLERY)
async def delete_gallery(ctx: Ctx, p: dict[str, str]) -> web.Response:
    _, gallery = find_compute(ctx, p["sub"], p["rg"], GALLERY_TYPE, p["gallery"])
    if gallery is not None:
        _refuse_while_nested(
            ctx,
            gallery,
            DEFINITION_TYPE,
            f"Gallery '{gallery['name']}' still contains image definitions.",
        )
    return delete_accepted(ctx, p["sub"], gallery)


@router.put(_DEFINITION)
async def put_definition(ctx: Ctx, p: dict[str, str]) -> web.Response:
    gallery = require_gallery(ctx, p)
    name = p["image"]
    body, location, props = put_request(ctx, name, _check_definition_name)
    os_type, os_state = props.get("osType"), props.get("osState")
    if os_type not in ("Windows", "Linux"):
        raise missing("osType", "properties.osType")
    if os_state not in ("Generalized", "Specialized"):
        raise missing("osState", "properties.osState")
    identifier = props.get("identifier") or {}
    if not all(identifier.get(k) for k in ("publisher", "offer", "sku")):
        raise missing("identifier", "properties.identifier")
    generation = str(props.get("hyperVGeneration") or "V1")
    architecture = str(props.get("architecture") or "x64")
    features = list(props.get("features") or [])
    security = next((f.get("value") for f in features if f.get("name") == "SecurityType"), None)
    if security and security != "Standard" and generation != "V2":
        raise invalid_parameter(
            f"The feature SecurityType with value '{security}' is only supported for gallery "
            "images with HyperVGeneration 'V2'.",
            target="properties.features",
        )
    if architecture == "Arm64" and generation != "V2":
        raise invalid_parameter(
            "Gallery images with architecture 'Arm64' must have HyperVGeneration 'V2'.",
            target="properties.architecture",
        )
    existing = ctx.world.store.get(f"{gallery['id']}/images/{name}")
    key = tuple(str(identifier[k]).lower() for k in ("publisher", "offer", "sku"))
    for other in ctx.world.store.children(gallery["id"], DEFINITION_TYPE):
        other_id = other["properties"]["identifier"]
        other_key = tuple(str(other_id[k]).lower() for k in ("publisher", "offer", "sku"))
        if other_key == key and other["name"].lower() != name.lower():
            raise ArmError(
                409,
                "Conflict",
                f"Gallery image '{other['name']}' in gallery '{gallery['name']}' already uses "
                f"publisher '{identifier['publisher']}', offer '{identifier['offer']}' and sku "
                f"'{identifier['sku']}'. The identifier must be unique within the gallery.",
            )
    if existing is not None:
        fixed = {"osType": os_type, "osState": os_state, "hyperVGeneration": generation}
        for field_name, value in fixed.items():
            if existing["properties"].get(field_name) != value:
                raise ArmError(
                    409,
                    "PropertyChangeNotAllowed",
                    f"Changing property '{field_name}' is not allowed.",
                    target=f"properties.{field_name}",
                )
    definition = seeded_definition(
        gallery,
        name,
        os_type=os_type,
        os_state=os_state,
        generation=generation,
        identifier=(identifier["publisher"], identifier["offer"], identifier["sku"]),
        architecture=architecture,
        description=str(props.get("description") or ""),
        end_of_life=props.get("endOfLifeDate"),
    )
    definition["location"] = location
    definition["properties"]["features"] = features
    for extra in (
        "eula",
        "privacyStatementUri",
        "releaseNoteUri",
        "recommended",
        "disallowed",
        "purchasePlan",
    ):
        if props.get(extra) is not None:
            definition["properties"][extra] = props[extra]
    definition["tags"] = body.get("tags") or {}
    # Created 201, updated 200 (GalleryImage_Create.json), each polled to Succeeded.
    updating = existing is not None
    definition["properties"]["provisioningState"] = "Updating" if updating else "Creating"
    return _provisioning(ctx, p["sub"], location, definition, 200 if updating else 201)


_DEFINITION_FIXED = ("osType", "osState", "hyperVGeneration", "architecture")
_DEFINITION_UPDATABLE = (
    "description",
    "eula",
    "privacyStatementUri",
    "releaseNoteUri",
    "recommended",
    "disallowed",
)


@router.patch(_DEFINITION)
async def patch_definition(ctx: Ctx, p: dict[str, str]) -> web.Response:
    """GalleryImages_Update: what describes the definition may change (description, end of
    life, recommended sizes, links); what a VM boots (OS type and state, generation,
    architecture) and the identifier may not."""
    require_token_tenant(ctx, p["sub"])
    definition = require_definition(ctx, p)
    body = ctx.json()
    props = body.get("properties") or {}
    current = definition["properties"]
    for field_name in _DEFINITION_FIXED:
        wanted = props.get(field_name)
        if wanted is not None and str(wanted) != str(current.get(field_name) or wanted):
            raise _not_changeable(f"properties.{field_name}")
    identifier = props.get("identifier")
    if identifier is not None:
        have = current.get("identifier") or {}
        if any(
            str(identifier.get(k, "")).lower() != str(have.get(k, "")).lower()
            for k in ("publisher", "offer", "sku")
        ):
            raise _not_changeable("properties.identifier")
    _check_recommended(props.get("recommended"))
    # A property sent as null arrives here as not sent (gui.sandbox.arm.body), as in ARM.
    for field_name in (*_DEFINITION_UPDATABLE, "endOfLifeDate"):
        if props.get(field_name) is not None:
            current[field_name] = props[field_name]
    if body.get("tags") is not None:
        definition["tags"] = body["tags"]
    current["provisioningState"] = "Updating"
    return _provisioning(ctx, p["sub"], definition["location"], definition, 200)


def _check_recommended(recommended: Any) -> None:
    """Recommended vCPUs and memory: each a range whose min is not above its max."""
    if not isinstance(recommended, dict):
        return
    for key, label in (("vCPUs", "vCPUs"), ("memory", "memory")):
        rng = recommended.get(key) or {}
        low, high = rng.get("min"), rng.get("max")
        if any(v is not None and (not isinstance(v, int) or v < 1) for v in (low, high)):
            raise invalid_parameter(
                f"The recommended {label} must be whole numbers of at least 1.",
                target=f"properties.recommended.{key}",
            )
        if low is not None and high is not None and low > high:
            raise invalid_parameter(
                f"The recommended {label} minimum ({low}) is greater than its maximum ({high}).",
                target=f"properties.recommended.{key}",
            )


@router.delete(_DEFINITION)
async def delete_definition(ctx: Ctx, p: dict[str, str]) -> web.Response:
    gallery = require_gallery(ctx, p)
    definition = ctx.world.store.get(f"{gallery['id']}/images/{p['image']}")
    if definition is not None:
        _refuse_while_nested(
            ctx,
            definition,
            VERSION_TYPE,
            f"Gallery image '{definition['name']}' still has image versions.",
        )
    return delete_accepted(ctx, p["sub"], definition)


def _target_regions(profile: Json, location: str) -> list[Json]:
    requested = profile.get("targetRegions") or [{"name": location, "regionalReplicaCount": 1}]
    default_count = int(profile.get("replicaCount") or 1)
    default_storage = profile.get("storageAccountType") or "Standard_LRS"
    regions: list[Json] = []
    seen: set[str] = set()
    for entry in requested:
        short = region_name(
            str(entry.get("name") or ""), "Microsoft.Compute/galleries/images/versions"
        )
        if short in seen:
            raise invalid_parameter(
                f"Region '{entry.get('name')}' is listed twice in targetRegions.",
                target="properties.publishingProfile.targetRegions",
            )
        seen.add(short)
        count = int(entry.get("regionalReplicaCount") or default_count)
        if not 1 <= count <= 100:
            raise invalid_parameter(
                f"The regional replica count {count} for region '{entry.get('name')}' "
                "must be between 1 and 100.",
                target="properties.publishingProfile.targetRegions.regionalReplicaCount",
            )
        regions.append(
            {
                "name": display_region(short),
                "regionalReplicaCount": count,
                "storageAccountType": entry.get("storageAccountType") or default_storage,
                # Azure answers every region with its own flag (GalleryImageVersion_Create_*).
                "excludeFromLatest": bool(entry.get("excludeFromLatest", False)),
            }
        )
    if location not in seen:
        raise invalid_parameter(
            f"The gallery image version publishing profile regions "
            f"'{', '.join(r['name'] for r in regions)}' must contain the location of the image "
            f"version '{display_region(location)}'.",
            target="properties.publishingProfile.targetRegions",
        )
    return regions


@router.put(_VERSION)
async def put_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    tenant = require_token_tenant(ctx, p["sub"])
    definition = require_definition(ctx, p)
    name = p["version"]
    body, location, props = put_request(ctx, name, check_version_name)
    source_id = str(((props.get("storageProfile") or {}).get("source") or {}).get("id") or "")
    if parse_resource_id(source_id).get("versions"):
        _require_linked_tenant(ctx, f"{definition['id']}/versions/{name}", tenant, source_id)
    profile = props.get("publishingProfile") or {}
    regions = _target_regions(profile, location)
    existing = ctx.world.store.get(f"{definition['id']}/versions/{name}")
    world = ctx.world
    if existing is not None:
        # A PUT on an existing version is an update: its source stays, its publishing and
        # safety profiles may change (as a PATCH would change them).
        if body.get("tags") is not None:
            existing["tags"] = body["tags"]
        return _update_version(ctx, p["sub"], existing, props)
    storage = version_storage_profile(
        world, definition, props.get("storageProfile") or {}, location
    )
    version: Json = {
        "id": f"{definition['id']}/versions/{name}",
        "name": name,
        "type": VERSION_TYPE,
        "location": location,
        "tags": body.get("tags") or {},
        "properties": {
            "publishingProfile": {
                "targetRegions": regions,
                "replicaCount": int(profile.get("replicaCount") or 1),
                "excludeFromLatest": bool(profile.get("excludeFromLatest", False)),
                "publishedDate": now_iso(),
                "storageAccountType": profile.get("storageAccountType") or "Standard_LRS",
                "replicationMode": profile.get("replicationMode") or "Full",
            },
            "storageProfile": storage,
            "safetyProfile": _safety_profile(props.get("safetyProfile") or {}),
            "provisioningState": "Creating",
        },
        "_replication": _replication_plan(ctx, [region_name(r["name"]) for r in regions]),
    }
    if profile.get("endOfLifeDate"):
        version["properties"]["publishingProfile"]["endOfLifeDate"] = profile["endOfLifeDate"]
    duration = max(world.lro_seconds, len(regions) * world.replication_seconds_per_region)
    return _replicating(ctx, p["sub"], location, version, 201, duration)


@router.patch(_VERSION)
async def patch_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    require_token_tenant(ctx, p["sub"])
    existing = require_version(ctx, p)
    body = ctx.json()
    if body.get("tags") is not None:
        existing["tags"] = body["tags"]
    return _update_version(ctx, p["sub"], existing, body.get("properties") or {})


def _replication_plan(ctx: Ctx, regions: list[str]) -> Json:
    """What replicating ``regions`` (short names, in order) will do: when it starts, how long a
    region takes, and which of them fail (the faults planned for them)."""
    failing = {
        region: details
        for region in regions
        if (details := ctx.world.faults.take_replication_failure(region)) is not None
    }
    return {
        "started": time.time(),
        "seconds_per_region": ctx.world.replication_seconds_per_region,
        "regions": regions,
        "failing": failing,
    }


def _replicating(  # noqa: PLR0917 - what every create/update answer needs
    ctx: Ctx, sub: str, location: str, version: Json, status: int, duration: float
) -> web.Response:
    """Save a version whose replication has started and answer with the operation that ends
    when it has: Succeeded, or Failed when a region failed (the version then shows Failed, and
    its replication status which region and why)."""
    ctx.world.store.put(version)
    _, headers = start_operation(
        ctx,
        sub,
        location,
        duration=max(duration, ctx.world.lro_seconds),
        on_done=functools.partial(_replicated, ctx.world, version["id"]),
    )
    return reply(public(version), status, headers)


def _replicated(world: Any, resource_id: str) -> Json | None:
    stored = world.store.get(resource_id)
    if stored is None:
        return None
    failing = (stored.get("_replication") or {}).get("failing") or {}
    if not failing:
        return mark_provisioned(world, resource_id)
    stored["properties"]["provisioningState"] = "Failed"
    world.store.put(stored)
    regions = ", ".join(display_region(region) for region in failing)
    raise ArmError(
        500,
        "ReplicationFailed",
        f"Replication of gallery image version '{stored['name']}' failed in region(s) {regions}. "
        "See the version's replication status for details; update its target regions to retry.",
    )


def _source_key(storage: Json) -> tuple[str, ...]:
    source = storage.get("source") or {}
    os_source = (storage.get("osDiskImage") or {}).get("source") or {}
    return tuple(
        str(value or "").lower()
        for value in (
            source.get("id"),
            source.get("virtualMachineId"),
            os_source.get("id"),
            os_source.get("uri"),
        )
    )


def _not_changeable(field_name: str) -> ArmError:
    return ArmError(
        409,
        "PropertyChangeNotAllowed",
        f"Changing property '{field_name}' is not allowed.",
        target=field_name,
    )


def _update_version(ctx: Ctx, sub: str, existing: Json, props: Json) -> web.Response:
    """An update (PATCH, or a PUT on an existing version): the source may not change; target
    regions, replica counts, the flags and the safety profile may. A region's storage account
    type is set when it is added ("This property is not updatable", TargetRegion in
    GalleryRP.json). A region may leave the target regions only while
    ``safetyProfile.allowDeletionOfReplicatedLocations`` is true ("Indicates whether or not
    removing this Gallery Image Version from replicated regions is allowed"), as set before or in
    this request. The regions that are new, changed, or not completed (a failed one: the retry)
    replicate again."""
    properties = existing["properties"]
    storage = props.get("storageProfile") or {}
    given = _source_key(storage)
    if any(given) and given != _source_key(properties.get("storageProfile") or {}):
        raise _not_changeable("properties.storageProfile.source")
    publishing = properties["publishingProfile"]
    profile = props.get("publishingProfile") or {}
    safety = properties.setdefault("safetyProfile", _safety_profile({}))
    requested_safety = props.get("safetyProfile") or {}
    allow = bool(
        requested_safety.get(
            "allowDeletionOfReplicatedLocations",
            safety.get("allowDeletionOfReplicatedLocations", False),
        )
    )
    stored_type = publishing.get("storageAccountType") or "Standard_LRS"
    if profile.get("storageAccountType") not in (None, stored_type):
        raise _not_changeable("properties.publishingProfile.storageAccountType")
    before = {
        region_name(s["region"]): s["state"] for s in replication_status(existing)["summary"]
    }
    old = {region_name(r["name"]): r for r in publishing["targetRegions"]}
    regions = publishing["targetRegions"]
    if "targetRegions" in profile:
        merged = {
            "replicaCount": publishing.get("replicaCount"),
            "storageAccountType": stored_type,
            **profile,
        }
        regions = _target_regions(merged, existing["location"])
        asked = {
            region_name(str(entry.get("name") or "")): entry for entry in profile["targetRegions"]
        }
        for region in regions:
            short = region_name(region["name"])
            if short not in old:
                continue
            wanted = asked[short].get("storageAccountType")
            if wanted is not None and wanted != old[short]["storageAccountType"]:
                raise _not_changeable(
                    "properties.publishingProfile.targetRegions.storageAccountType"
                )
            region["storageAccountType"] = old[short]["storageAccountType"]
        kept = {region_name(r["name"]) for r in regions}
        dropped = [old[short]["name"] for short in old if short not in kept]
        if dropped and not allow:
            raise ArmError(
                409,
                "OperationNotAllowed",
                f"Removing gallery image version '{existing['name']}' from replicated region(s) "
                f"{', '.join(dropped)} is not allowed while "
                "properties.safetyProfile.allowDeletionOfReplicatedLocations is false. Set it to "
                "true to allow removing the version from a region it is replicated to.",
                target="properties.publishingProfile.targetRegions",
            )
    pending = [
        short
        for region in regions
        if (short := region_name(region["name"])) not in old
        or before.get(short) != "Completed"
        or old[short]["regionalReplicaCount"] != region["regionalReplicaCount"]
    ]
    publishing["targetRegions"] = regions
    for flag in ("excludeFromLatest", "replicaCount"):
        if profile.get(flag) is not None:
            publishing[flag] = profile[flag]
    if profile.get("endOfLifeDate") is not None:
        publishing["endOfLifeDate"] = profile["endOfLifeDate"]
    for flag in ("allowDeletionOfReplicatedLocations", "blockDeletionBeforeEndOfLife"):
        if requested_safety.get(flag) is not None:
            safety[flag] = bool(requested_safety[flag])
    properties["provisioningState"] = "Updating"
    existing["_replication"] = _replication_plan(ctx, pending)
    duration = len(pending) * ctx.world.replication_seconds_per_region
    return _replicating(ctx, sub, existing["location"], existing, 200, duration)


@router.delete(_VERSION)
async def delete_version(ctx: Ctx, p: dict[str, str]) -> web.Response:
    definition = require_definition(ctx, p)
    version = ctx.world.store.get(f"{definition['id']}/versions/{p['version']}")
    return delete_accepted(ctx, p["sub"], version)


def _safety_profile(requested: Json) -> Json:
    """A new version's safety profile as Azure answers it: the two flags the request may set
    (false unless set) and the read-only policy report."""
    return {
        "allowDeletionOfReplicatedLocations": bool(
            requested.get("allowDeletionOfReplicatedLocations", False)
        ),
        "reportedForPolicyViolation": False,
        "blockDeletionBeforeEndOfLife": bool(requested.get("blockDeletionBeforeEndOfLife", False)),
    }


def _mismatch(what: str, source_value: str, definition: Json, definition_value: str) -> ArmError:
    return invalid_parameter(
        f"Cannot create Gallery Image Version from a source with different {what} "
        f"('{source_value}') than the parent gallery image '{definition['name']}' "
        f"('{definition_value}').",
        target="properties.storageProfile",
    )


def version_storage_profile(
    world: Any, definition: Json, storage: Json, location: str | None = None
) -> Json:
    """Check the version's source against its definition and describe the disks it carries.

    The sources the current spec names (GalleryImageVersion_Create_*): ``source.virtualMachineId``
    for a VM, ``source.id`` for a managed image, ``osDiskImage.source.id`` for a disk or snapshot
    and ``osDiskImage.source.uri`` + ``storageAccountId`` for a VHD. ``source.id`` naming a VM is
    the older form, which Azure still takes.
    """
    d_props = definition["properties"]
    source = storage.get("source") or {}
    source_id = source.get("id")
    vm_id = source.get("virtualMachineId")
    os_image = storage.get("osDiskImage") or {}
    if vm_id or (source_id and parse_resource_id(str(source_id)).get("virtualmachines")):
        from gui.sandbox.arm.vm_sources import vm_version_storage

        given = {k: source[k] for k in ("id", "virtualMachineId") if source.get(k)}
        return vm_version_storage(world, definition, str(vm_id or source_id), given)
    if source_id and parse_resource_id(source_id).get("versions"):
        return _version_source_profile(world, definition, str(source_id), location)
    if source_id and parse_resource_id(source_id).get("images"):
        image = world.store.get(source_id)
        if image is None or image["type"].lower() != "microsoft.compute/images":
            raise ArmError(404, "NotFound", f"Source image '{source_id}' was not found.")
        profile = image["properties"]["storageProfile"]
        os_disk = profile["osDisk"]
        checks = (
            ("OS type", os_disk["osType"], "osType"),
            ("OS state", os_disk["osState"], "osState"),
            (
                "Hyper-V generation",
                image["properties"].get("hyperVGeneration", "V1"),
                "hyperVGeneration",
            ),
        )
        for what, value, key in checks:
            if value != d_props.get(key):
                raise _mismatch(what, value, definition, str(d_props.get(key)))
        return version_disks({"id": source_id}, os_disk, profile.get("dataDisks", []))
    if source_id:
        raise invalid_parameter(
            f"The source '{source_id}' is neither a managed image nor a virtual machine. Use "
            "properties.storageProfile.osDiskImage.source for a disk, snapshot or VHD.",
            target="properties.storageProfile.source.id",
        )
    os_given = os_image.get("source") or {}
    if not (os_given.get("id") or os_given.get("uri")):
        raise invalid_parameter(
            "The gallery image version needs a source: properties.storageProfile.source."
            "virtualMachineId (a virtual machine), properties.storageProfile.source.id (a managed "
            "image), or properties.storageProfile.osDiskImage.source: its id (a managed disk or "
            "snapshot) or its uri and storageAccountId (a VHD).",
            target="properties.storageProfile",
        )
    os_src, os_echo = _disk_image_source(
        world, os_given, "properties.storageProfile.osDiskImage.source"
    )
    if os_src.os_type and os_src.os_type != d_props.get("osType"):
        raise _mismatch("OS type", os_src.os_type, definition, str(d_props.get("osType")))
    if os_src.generation and os_src.generation != d_props.get("hyperVGeneration", "V1"):
        raise _mismatch(
            "Hyper-V generation",
            os_src.generation,
            definition,
            str(d_props.get("hyperVGeneration", "V1")),
        )
    data: list[Json] = []
    for entry in storage.get("dataDiskImages") or []:
        given = entry.get("source") or {}
        if not (given.get("id") or given.get("uri")) or not isinstance(entry.get("lun"), int):
            raise missing("dataDiskImages.lun/source", "properties.storageProfile.dataDiskImages")
        src, echo = _disk_image_source(
            world, given, "properties.storageProfile.dataDiskImages.source"
        )
        data.append(
            {
                "lun": entry["lun"],
                "sizeInGB": src.size_gb,
                "hostCaching": entry.get("hostCaching", "None"),
                "source": echo,
            }
        )
    return {
        "osDiskImage": {
            "sizeInGB": os_src.size_gb,
            "hostCaching": os_image.get("hostCaching", "ReadWrite"),
            "source": os_echo,
        },
        "dataDiskImages": sorted(data, key=lambda d: d["lun"]),
    }


def _version_source_profile(
    world: Any, definition: Json, source_id: str, location: str | None
) -> Json:
    """A version copied from another gallery's version: the source must be there, finished and
    replicated to the new version's region (Azure reads it there), and its definition must
    agree with the target's on what a VM boots (OS type and state, Hyper-V generation,
    architecture)."""
    source = world.store.get(source_id)
    if source is None or source["type"].lower() != VERSION_TYPE.lower():
        raise ArmError(
            404,
            "NotFound",
            f"The source gallery image version '{source_id}' was not found.",
            target="properties.storageProfile.source.id",
        )
    state = source["properties"].get("provisioningState")
    if state != "Succeeded":
        raise invalid_parameter(
            f"The source gallery image version '{source_id}' is in the '{state}' state; it can "
            "be copied once it has succeeded.",
            target="properties.storageProfile.source.id",
        )
    regions = [
        region_name(str(r.get("name") or ""))
        for r in source["properties"]["publishingProfile"].get("targetRegions") or []
    ]
    if location is not None and location not in regions:
        raise invalid_parameter(
            f"The source gallery image version '{source_id}' is not replicated to region "
            f"'{display_region(location)}', where the new version is created. Replicate it "
            f"there first (it is in: {', '.join(display_region(r) for r in regions)}).",
            target="properties.storageProfile.source.id",
        )
    source_definition = world.store.get(source_id.rsplit("/versions/", 1)[0]) or {}
    s_props = source_definition.get("properties") or {}
    d_props = definition["properties"]
    for what, key, default in (
        ("OS type", "osType", ""),
        ("OS state", "osState", ""),
        ("Hyper-V generation", "hyperVGeneration", "V1"),
        ("architecture", "architecture", "x64"),
    ):
        value, wanted = str(s_props.get(key) or default), str(d_props.get(key) or default)
        if value.lower() != wanted.lower():
            raise _mismatch(what, value, definition, wanted)
    storage = source["properties"]["storageProfile"]
    return {
        "source": {"id": source_id},
        "osDiskImage": {
            k: v for k, v in (storage.get("osDiskImage") or {}).items() if k != "source"
        },
        "dataDiskImages": [
            {k: v for k, v in d.items() if k != "source"}
            for d in storage.get("dataDiskImages") or []
        ],
    }


def _disk_image_source(world: Any, given: Json, target: str) -> tuple[Any, Json]:
    """A disk image's source (a disk or snapshot id, or a VHD's uri with its storage account)
    checked, and the source as the version shows it."""
    from gui.sandbox.arm.sources import blob_source, managed_disk_source, snapshot_source

    resource_id = given.get("id")
    if resource_id:
        if parse_resource_id(str(resource_id)).get("snapshots"):
            return snapshot_source(world, str(resource_id)), {"id": resource_id}
        return managed_disk_source(world, str(resource_id)), {"id": resource_id}
    uri = str(given["uri"])
    account_id = given.get("storageAccountId")
    if not account_id:
        # Azure needs both and checks that they match (Azure/azure-rest-api-specs#10466, where
        # the VHD source was designed: "both the storage account resource ID and the vhd uri
        # will have to be provided"; ansible-collections/azure#2114 saw it enforced).
        raise missing("storageAccountId", f"{target}.storageAccountId")
    source = blob_source(world, uri)
    _check_blob_account(world, uri, str(account_id), target)
    return source, {"uri": uri, "storageAccountId": account_id}


def _check_blob_account(world: Any, uri: str, account_id: str, target: str) -> None:
    """The storage account ``account_id`` must exist and hold the blob ``uri``."""
    from urllib.parse import unquote, urlsplit

    from gui.sandbox.seed.storage import STORAGE_ACCOUNT_HOMES

    parts = parse_resource_id(account_id)
    name = parts.get("storageaccounts", "")
    home = STORAGE_ACCOUNT_HOMES.get(name)
    if (
        home is None
        or parts.get("provider", "").lower() != "microsoft.storage"
        or parts.get("subscriptions", "").lower() != home[0].lower()
        or parts.get("resourcegroups", "").lower() != home[1].lower()
    ):
        raise ArmError(
            404,
            "NotFound",
            f"The storage account '{account_id}' of the VHD source was not found.",
            target=f"{target}.storageAccountId",
        )
    blob_account = unquote(urlsplit(uri).path.lstrip("/").split("/", 1)[0])
    if blob_account != name:
        raise invalid_parameter(
            f"The VHD '{uri}' is not in the storage account '{name}' that storageAccountId "
            "names. Give the id of the storage account that holds the blob.",
            target=f"{target}.storageAccountId",
        )

"""One async interface over every image source.

``children(node)`` lists what sits below a node of the tree, ``detail(node)`` describes an image
with its disks. Both return plain dataclasses and raise :mod:`gui.azure.errors` types only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from types import MappingProxyType
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    map_error,
)
from azure.core.rest import AsyncHttpResponse, HttpRequest
from azure.mgmt.compute.aio import ComputeManagementClient
from azure.mgmt.core.exceptions import ARMErrorFormat

from gui.azure.account.session import AzureSession
from gui.azure.arm import (
    enum_text,
    generation_label,
    generation_short,
    name_of,
    resource_group_of,
)
from gui.azure.capture.vms import Json, describe_vms, get_vm
from gui.azure.catalog.cache import CachedCatalog
from gui.azure.catalog.nodes import (
    SOURCES,
    CatalogNode,
    DiskRole,
    DiskSpec,
    ImageDetail,
    NodeKind,
    NodeRef,
    PurchasePlan,
    SourceKind,
    disk_ref,
    source_node,
)
from gui.azure.catalog.storage_blobs import blob_detail, storage_children
from gui.azure.errors import AzureServiceError, NotFoundError, translated
from gui.i18n import QT_TR_NOOP, Message, Render, Text, message

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class _RawList:
    """A list operation read past the SDK's pager: its first page's request builder, and what
    one item of its ``value`` becomes (the SDK's model, made as the pager makes it; None keeps
    the item's JSON)."""

    build: Callable[..., HttpRequest]
    model: Callable[[Json], Any] | None


try:
    from azure.mgmt.compute import models as _sdk_models
    from azure.mgmt.compute._utils.model_base import _deserialize as _sdk_deserialize
    from azure.mgmt.compute.operations import _operations as _sdk_requests

    def _sdk_model(name: str) -> Callable[[Json], Any]:
        model = getattr(_sdk_models, name)  # AttributeError: the SDK renamed it, typed path
        return lambda item: _sdk_deserialize(model, item)

    _MARKETPLACE_BUILDERS: dict[str, Callable[..., HttpRequest]] = {
        "list_publishers": _sdk_requests.build_virtual_machine_images_list_publishers_request,
        "list_offers": _sdk_requests.build_virtual_machine_images_list_offers_request,
        "list_skus": _sdk_requests.build_virtual_machine_images_list_skus_request,
        "list": _sdk_requests.build_virtual_machine_images_list_request,
    }
    # "operations.method" as the typed client names it -> how its pages are read raw.
    _RAW_LISTS: dict[str, _RawList] = {
        "gallery_image_versions.list_by_gallery_image": _RawList(
            _sdk_requests.build_gallery_image_versions_list_by_gallery_image_request,
            _sdk_model("GalleryImageVersion"),
        ),
        "gallery_images.list_by_gallery": _RawList(
            _sdk_requests.build_gallery_images_list_by_gallery_request,
            _sdk_model("GalleryImage"),
        ),
        "galleries.list": _RawList(
            _sdk_requests.build_galleries_list_request, _sdk_model("Gallery")
        ),
        "images.list": _RawList(_sdk_requests.build_images_list_request, _sdk_model("Image")),
        "disks.list": _RawList(_sdk_requests.build_disks_list_request, _sdk_model("Disk")),
        "snapshots.list": _RawList(
            _sdk_requests.build_snapshots_list_request, _sdk_model("Snapshot")
        ),
        "community_gallery_images.list": _RawList(
            _sdk_requests.build_community_gallery_images_list_request,
            _sdk_model("CommunityGalleryImage"),
        ),
        "community_gallery_image_versions.list": _RawList(
            _sdk_requests.build_community_gallery_image_versions_list_request,
            _sdk_model("CommunityGalleryImageVersion"),
        ),
        "shared_gallery_images.list": _RawList(
            _sdk_requests.build_shared_gallery_images_list_request,
            _sdk_model("SharedGalleryImage"),
        ),
        "shared_gallery_image_versions.list": _RawList(
            _sdk_requests.build_shared_gallery_image_versions_list_request,
            _sdk_model("SharedGalleryImageVersion"),
        ),
        # the capture source reads the VMs' JSON (what ``.as_dict()`` gave), no model needed
        "virtual_machines.list_all": _RawList(
            _sdk_requests.build_virtual_machines_list_all_request, None
        ),
    }
except (ImportError, AttributeError):  # pragma: no cover - depends on the SDK's internals
    _MARKETPLACE_BUILDERS = {}
    _RAW_LISTS = {}

# What the SDK's generated operations raise for a status other than 200 (their error_map): the
# raw reads raise the same, so gui.azure.errors translates both paths alike.
_ARM_ERROR_MAP: Mapping[int, type[HttpResponseError]] = MappingProxyType(
    {
        401: ClientAuthenticationError,
        404: ResourceNotFoundError,
        409: ResourceExistsError,
        304: ResourceNotModifiedError,
    }
)


# The SDK's operations of a community and of a shared gallery ("community_gallery_images", ...).
_PUBLIC_OPERATIONS = MappingProxyType(
    {SourceKind.COMMUNITY: "community", SourceKind.SHARED: "shared"}
)

_MANAGED_IMAGES = "managed-images"  # every managed image of the subscription, for all groups
_MANAGED_DISKS = "managed-disks"  # every managed disk of the subscription, for all groups
_SNAPSHOTS = "snapshots"  # every snapshot of the subscription, for all groups

# The tags the wizards put on what they leave behind, read back to say where a disk or snapshot
# came from. The upload job tags its disks (gui/azure/upload/job.py PLAN_TAG, "created-by"),
# the capture executor its backup snapshots ("capturedFrom"); tests/azure/test_manage_tree.py
# holds these names to theirs.
UPLOAD_PLAN_TAG = "upload-plan"
CREATED_BY_TAG = "created-by"
CREATED_BY_US = "azure-image-studio"
CAPTURED_FROM_TAG = "capturedFrom"

RESOURCE_GRAPH_API = "2022-10-01"
COMMUNITY_GALLERY_QUERY = (
    "communitygalleryresources"
    " | where type =~ 'microsoft.compute/locations/communitygalleries'"
    " | where location =~ '{location}'"
    " | project id, name, location, type, properties"
)


# A shared gallery's unique name is its owner's subscription id, a dash, and the gallery's name
# as its owner gave it, upper-cased ("{subscription-id}-MYGALLERYNAME" in Gallery_Create.json).
_SHARED_UNIQUE_NAME = re.compile(
    r"^(?P<owner>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(?P<name>.+)$",
    re.IGNORECASE,
)

YES = QT_TR_NOOP("Yes")
NO = QT_TR_NOOP("No")


def _yes_no(value: object) -> Text:
    return Text(YES if value else NO)


class CommunityGalleryNotFoundError(NotFoundError):
    """No community gallery answers to the public name the user typed, in this region."""

    # Made with the base's own type (a str, or the str that carries its Message), so the
    # title and advice read as the other errors' do wherever they are shown.
    title = type(NotFoundError.title)(QT_TR_NOOP("No such community gallery"))
    advice = type(NotFoundError.advice)(
        QT_TR_NOOP(
            "Check the public name: in the Azure portal, open the gallery under Community "
            "galleries (or its Sharing page) and copy its public name, which looks like "
            "prefix-GUID (for example ContosoImages-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d). "
            "A community gallery is shared to chosen regions only: pick one of them as the "
            "location."
        )
    )
    TEMPLATE = QT_TR_NOOP("No community gallery with the public name {name} exists in {location}.")

    def __init__(self, name: str, location: str, *, request_id: str | None = None) -> None:
        self.name = name
        self.location = location
        super().__init__(
            self.TEMPLATE.format(name=name, location=location), status=404, request_id=request_id
        )

    def user_text(self) -> str:
        return self.localized(Message.english)

    def localized(self, render: Render) -> str:
        """What is not there, where, and how to find the right name; no Azure error code (the
        user typed a name, Azure's 404 names a resource path they never saw)."""
        lines = [
            render(message(self.TEMPLATE, name=self.name, location=self.location)),
            render(Message(str(self.advice))),
        ]
        if self.request_id:
            label = message(QT_TR_NOOP("Request id: {request_id}"), request_id=self.request_id)
            lines.append(render(label))
        return "\n".join(lines)


def shared_gallery_display_name(unique_name: str) -> str:
    """The gallery's own name inside a shared gallery's unique name (the unique name when it
    does not follow Azure's "{subscription-id}-NAME" pattern)."""
    match = _SHARED_UNIQUE_NAME.match(unique_name)
    return match.group("name") if match else unique_name


@dataclass(frozen=True)
class Scope:
    """What the tree shows: one subscription, one location (Marketplace and galleries by region)."""

    subscription_id: str
    location: str

    @property
    def key(self) -> str:
        return f"{self.subscription_id}@{self.location}"


def _version_key(name: str) -> tuple[tuple[int, str], ...]:
    return tuple(
        (int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.\-]", name)
    )


def _natural(name: str) -> str:
    return name.casefold()


def _gb_from(raw: Mapping[str, Any] | None, *keys: str) -> int | None:
    if raw is None:
        return None
    # Marketplace reports the VHD's bytes (footer included) and rounds sizeInGb up over the
    # footer, so a 30 GiB disk says 31: the bytes give the size users know.
    size_bytes = raw.get("sizeInBytes")
    if isinstance(size_bytes, int | float):
        return int(size_bytes // (1024**3))
    for key in keys:
        value = raw.get(key)
        if isinstance(value, int | float):
            return int(value)
    return None


def _feature(features: Iterable[Any] | None, name: str) -> str:
    for feature in features or ():
        if str(getattr(feature, "name", "")).casefold() == name.casefold():
            return enum_text(getattr(feature, "value", ""))
    return ""


_SECURITY_LABELS = {
    "": QT_TR_NOOP("Standard"),
    "standard": QT_TR_NOOP("Standard"),
    "trustedlaunch": QT_TR_NOOP("Trusted launch"),
    "trustedlaunchsupported": QT_TR_NOOP("Standard or Trusted launch"),
    "confidentialvm": QT_TR_NOOP("Confidential VM"),
    "confidentialvmsupported": QT_TR_NOOP("Standard or Confidential VM"),
    "trustedlaunchandconfidentialvmsupported": QT_TR_NOOP(
        "Standard, Trusted launch or Confidential VM"
    ),
}


def _security_label(raw: str) -> str:
    """Azure's security type in the portal's words (a value we do not know, as Azure wrote it)."""
    label = _SECURITY_LABELS.get(raw.casefold())
    return Text(label) if label is not None else raw


def _when(value: object) -> datetime | str:
    """A date-time Azure sent (a datetime from the SDK, an ISO string from raw JSON), as a
    datetime the window formats; text that is not a date stays as it is."""
    if isinstance(value, datetime):
        return value
    text = str(value or "")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text


def _joined(bits: Iterable[str]) -> str:
    """Summary facts joined by " · " (a list, not a sentence): a Text when any of them is ours,
    so each part is translated where it is shown."""
    kept = [bit for bit in bits if bit]
    if not any(isinstance(bit, Text) for bit in kept):
        return " · ".join(kept)
    names = [f"{{p{i}}}" for i in range(len(kept))]
    return Text(
        Message(" · ".join(names), MappingProxyType({f"p{i}": bit for i, bit in enumerate(kept)}))
    )


class Catalog:
    """The image sources of one scope, as a lazily expanded tree."""

    def __init__(
        self,
        session: AzureSession,
        scope: Scope,
        *,
        extra_community_galleries: Iterable[str] = (),
        cache: CachedCatalog | None = None,
    ) -> None:
        self.session = session
        self.scope = scope
        self._extra_community = list(dict.fromkeys(extra_community_galleries))
        # Shared answers live in the one listing cache (the tree's, when the window hands it in).
        self.cache = cache if cache is not None else CachedCatalog()

    @property
    def _compute(self) -> ComputeManagementClient:
        return self.session.compute(self.scope.subscription_id)

    # --- the tree -----------------------------------------------------------------------------

    @staticmethod
    def roots() -> list[CatalogNode]:
        """The image sources: known without asking Azure."""
        return [source_node(source) for source in SOURCES]

    async def children(self, node: CatalogNode) -> list[CatalogNode]:
        lister = self._listers().get((node.ref.source, len(node.ref.parts)))
        if lister is None or node.is_image:
            return []
        return await self._call(lister(node.ref))

    async def detail(self, node: CatalogNode) -> ImageDetail:
        if not node.is_image:
            raise NotFoundError(f"{node.label} is not an image.")
        describe = {
            SourceKind.MARKETPLACE: self._marketplace_detail,
            SourceKind.COMMUNITY: self._public_detail,
            SourceKind.SHARED: self._public_detail,
            SourceKind.MANAGED: self._managed_detail,
            SourceKind.GALLERY: self._gallery_detail,
            SourceKind.VMS: self._vm_detail,
            SourceKind.STORAGE: self._blob_detail,
        }[node.ref.source]
        return await self._call(describe(node.ref))

    def forget_cached_listings(self) -> None:
        """Drops the shared answers, so a refresh asks Azure again."""
        self.cache.forget()

    async def add_community_gallery(self, public_name: str) -> CatalogNode:
        """Adds a community gallery by its public name (checked with Azure first)."""
        name = public_name.strip()
        if not name:
            raise NotFoundError("Enter the public name of a community gallery.")
        try:
            gallery = await self._call(
                self._compute.community_galleries.get(self.scope.location, name)
            )
        except NotFoundError as error:
            # Azure's 404 names a resource path; the user typed a name and needs to know
            # where to find the right one (the generic advice says "deleted or renamed").
            raise CommunityGalleryNotFoundError(
                name, self.scope.location, request_id=error.request_id
            ) from error
        if name not in self._extra_community:
            self._extra_community.append(name)
        return self._community_gallery_node(name, gallery.get("properties") or {})

    @property
    def extra_community_galleries(self) -> list[str]:
        return list(self._extra_community)

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            with translated():
                return await awaitable
        except AzureServiceError as error:
            log.warning("Azure call failed: %s", error.message)
            raise

    def _listers(
        self,
    ) -> dict[tuple[SourceKind, int], Callable[[NodeRef], Awaitable[list[CatalogNode]]]]:
        return {
            (SourceKind.MARKETPLACE, 0): self._publishers,
            (SourceKind.MARKETPLACE, 1): self._offers,
            (SourceKind.MARKETPLACE, 2): self._skus,
            (SourceKind.MARKETPLACE, 3): self._marketplace_versions,
            (SourceKind.COMMUNITY, 0): self._community_galleries,
            (SourceKind.COMMUNITY, 1): self._public_images,
            (SourceKind.COMMUNITY, 2): self._public_versions,
            (SourceKind.SHARED, 0): self._shared_galleries,
            (SourceKind.SHARED, 1): self._public_images,
            (SourceKind.SHARED, 2): self._public_versions,
            (SourceKind.MANAGED, 0): self._managed_groups,
            (SourceKind.MANAGED, 1): self._managed_in_group,
            (SourceKind.GALLERY, 0): self._galleries,
            (SourceKind.GALLERY, 2): self._definitions,
            (SourceKind.GALLERY, 3): self._gallery_versions,
            (SourceKind.VMS, 0): self._vms,
            (SourceKind.STORAGE, 0): self._storage_children,
            (SourceKind.STORAGE, 2): self._storage_children,
            (SourceKind.STORAGE, 3): self._storage_children,
        }

    async def _storage_children(self, ref: NodeRef) -> list[CatalogNode]:
        return await storage_children(self.session, self.scope.subscription_id, ref)

    async def _blob_detail(self, ref: NodeRef) -> ImageDetail:
        return await blob_detail(self.session, self.scope.subscription_id, ref)

    # --- raw ARM reads: the SDK's requests and pipeline, the JSON and models off the loop ---

    async def _arm_json(self, request: HttpRequest, read: Callable[[Any], T]) -> T:
        """One ARM GET through the SDK client's pipeline (its auth, retries, user agent and
        the builder's api-version); the body is parsed and ``read`` on a worker thread, since
        the GUI loop is the one the SDK awaits on.

        A status other than 200 raises what the SDK's generated operation raises (its
        ``error_map``, else ``HttpResponseError`` in ARM's error format), so ``translated()``
        gives the same error as for the typed call.
        """
        response: AsyncHttpResponse = await self._compute.send_request(request)
        if response.status_code != 200:
            map_error(status_code=response.status_code, response=response, error_map=_ARM_ERROR_MAP)
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        body = response.content
        return await asyncio.to_thread(lambda: read(json.loads(body)))

    async def _arm_list(self, operation: str, *args: str, build: Callable[[list[Any]], T]) -> T:
        """Every item of a paged ARM list operation (``"disks.list"``: the typed client's
        operations and method, called with ``args``), handed to ``build`` on a worker thread.

        A page holds up to 1,000 items, and the SDK's pager turns each into a model on the
        GUI loop (tens of ms a page, more for gallery versions and their publishing profiles).
        Here the first page comes from the SDK's own request builder and each next one from
        the page's ``nextLink`` as it is (as the pager follows it), all through the client's
        pipeline; the JSON, the models (made as the pager makes them) and ``build`` run on
        worker threads. Without the builder (a later SDK moved it) the typed pager lists.
        """
        raw = _RAW_LISTS.get(operation)
        if raw is None:
            group, method = operation.split(".")
            typed = await _collect(getattr(getattr(self._compute, group), method)(*args))
            if operation == "virtual_machines.list_all":  # its callers read JSON
                typed = [item.as_dict() for item in typed]
            return await asyncio.to_thread(build, typed)
        request = raw.build(*args, self.scope.subscription_id)
        items: list[Any] = []
        while True:
            next_link, page = await self._arm_json(request, partial(_page, raw.model))
            items.extend(page)
            if not next_link:
                return await asyncio.to_thread(build, items)
            request = HttpRequest("GET", next_link)

    # --- Marketplace ---------------------------------------------------------------------------

    async def _marketplace_names(self, operation: str, *names: str) -> list[str]:
        """Names of a Marketplace listing (publishers, offers, SKUs or versions).

        These lists hold only names, and deserializing 3,000 publishers into SDK models costs
        ~120 ms on the GUI loop against ~2 ms for the JSON itself. So they are sent through the
        SDK client's own pipeline and request builder (same URL, api-version, auth, retries),
        and only the names are read, on a worker thread (``_arm_json``).
        """
        location, subscription = self.scope.location, self.scope.subscription_id
        builder = _MARKETPLACE_BUILDERS.get(operation)
        if builder is None:  # the SDK moved its builders: take the typed (slower) path
            method = getattr(self._compute.virtual_machine_images, operation)
            return [item.name for item in await method(location, *names)]
        return await self._arm_json(builder(location, *names, subscription), _names)

    async def _publishers(self, ref: NodeRef) -> list[CatalogNode]:
        names = sorted(await self._marketplace_names("list_publishers"), key=_natural)
        return [CatalogNode(ref.child(name), NodeKind.PUBLISHER, name) for name in names]

    async def _offers(self, ref: NodeRef) -> list[CatalogNode]:
        names = sorted(await self._marketplace_names("list_offers", *ref.parts), key=_natural)
        return [CatalogNode(ref.child(name), NodeKind.OFFER, name) for name in names]

    async def _skus(self, ref: NodeRef) -> list[CatalogNode]:
        names = sorted(await self._marketplace_names("list_skus", *ref.parts), key=_natural)
        return [CatalogNode(ref.child(name), NodeKind.SKU, name) for name in names]

    async def _marketplace_versions(self, ref: NodeRef) -> list[CatalogNode]:
        names = await self._marketplace_names("list", *ref.parts)
        names.sort(key=_version_key, reverse=True)
        return [
            CatalogNode(ref.child(name), NodeKind.VERSION, name, is_image=True) for name in names
        ]

    async def _marketplace_detail(self, ref: NodeRef) -> ImageDetail:
        publisher, offer, sku, version = ref.parts
        image = await self._compute.virtual_machine_images.get(
            self.scope.location, publisher, offer, sku, version
        )
        os_raw = image.os_disk_image
        os_type = enum_text(os_raw.operating_system) if os_raw is not None else ""
        disks = [
            DiskSpec(
                DiskRole.OS,
                os_type=os_type,
                os_state="Generalized",
                size_gb=_gb_from(os_raw, "sizeInGb", "sizeInGB", "diskSizeGB"),
            )
        ]
        for data_disk in sorted(image.data_disk_images or [], key=lambda d: d.lun or 0):
            disks.append(
                DiskSpec(
                    DiskRole.DATA,
                    lun=data_disk.lun,
                    size_gb=_gb_from(data_disk, "sizeInGb", "sizeInGB", "diskSizeGB"),
                )
            )
        properties: list[tuple[str, str]] = [
            (QT_TR_NOOP("Publisher"), publisher),
            (QT_TR_NOOP("Offer"), offer),
            (QT_TR_NOOP("SKU"), sku),
            (QT_TR_NOOP("Version"), version),
        ]
        properties.extend(_feature_rows(image.features))
        plan = image.plan
        if plan is not None:
            properties.append(
                (QT_TR_NOOP("Purchase plan"), f"{plan.publisher} / {plan.product} / {plan.name}")
            )
        deprecation = image.get("properties", {}).get("imageDeprecationStatus")
        if isinstance(deprecation, dict) and deprecation.get("imageState"):
            state = str(deprecation["imageState"])
            when = deprecation.get("scheduledDeprecationTime")
            properties.append(
                (
                    QT_TR_NOOP("Deprecation"),
                    Text(
                        message(
                            QT_TR_NOOP("{state}, scheduled for {when}"),
                            state=state,
                            when=_when(when),
                        )
                    )
                    if when
                    else state,
                )
            )
        return ImageDetail(
            ref=ref,
            title=f"{publisher}:{offer}:{sku}:{version}",
            resource_id=image.id or "",
            os_type=os_type,
            os_state="Generalized",
            hyper_v_generation=generation_label(image.hyper_v_generation),
            architecture=enum_text(image.architecture) or "x64",
            security_type=_security_label(_feature(image.features, "SecurityType")),
            location=self.scope.location,
            disks=tuple(disks),
            properties=tuple(properties),
            plan=PurchasePlan.from_sdk(plan),
        )

    # --- community galleries -----------------------------------------------------------------

    async def _community_galleries(self, ref: NodeRef) -> list[CatalogNode]:
        found = await self._discover_community_galleries()
        for name in self._extra_community:
            found.setdefault(name, {})
        return [
            self._community_gallery_node(name, properties)
            for name, properties in sorted(found.items(), key=lambda item: _natural(item[0]))
        ]

    def _community_gallery_node(self, name: str, properties: Mapping[str, Any]) -> CatalogNode:
        metadata = properties.get("communityMetadata") or {}
        publisher = metadata.get("publisherUri") or metadata.get("publisherContact") or ""
        return CatalogNode(
            NodeRef(SourceKind.COMMUNITY, (name,)),
            NodeKind.GALLERY,
            name,
            summary=Text(message(QT_TR_NOOP("Published by {publisher}"), publisher=publisher))
            if publisher
            else "",
        )

    async def _discover_community_galleries(self) -> dict[str, Mapping[str, Any]]:
        """Finds community galleries as the portal does: a Resource Graph query."""
        body: dict[str, Any] = {
            "subscriptions": [self.scope.subscription_id],
            "query": COMMUNITY_GALLERY_QUERY.format(location=self.scope.location),
            "options": {"resultFormat": "objectArray", "$top": 1000},
        }
        found: dict[str, Mapping[str, Any]] = {}
        while True:
            request = HttpRequest(
                "POST",
                "/providers/Microsoft.ResourceGraph/resources",
                params={"api-version": RESOURCE_GRAPH_API},
                json=body,
            )
            response = await self._compute.send_request(request)
            response.raise_for_status()
            result = response.json()
            for row in result.get("data") or []:
                properties = row.get("properties") or {}
                names = (properties.get("communityMetadata") or {}).get("publicNames") or []
                name = row.get("name") or (names[0] if names else "")
                if name:
                    found[name] = properties
            token = result.get("$skipToken")
            if not token:
                return found
            body["options"] = {**body["options"], "$skipToken": token}

    # --- community and shared galleries: one shape, two sets of operations -------------------

    def _public_gallery_operations(self, source: SourceKind) -> tuple[Any, Any]:
        """The image and version operations of a community or a shared gallery."""
        compute = self._compute
        if source is SourceKind.COMMUNITY:
            return compute.community_gallery_images, compute.community_gallery_image_versions
        return compute.shared_gallery_images, compute.shared_gallery_image_versions

    async def _public_images(self, ref: NodeRef) -> list[CatalogNode]:
        (gallery,) = ref.parts
        items = await self._public_image_items(ref.source, gallery)
        return await asyncio.to_thread(_image_definition_nodes, ref, items)

    async def _public_image_items(self, source: SourceKind, gallery: str) -> list[Any]:
        """A community or shared gallery's image definitions; a shared gallery's listing is
        kept until "Shared with me" is listed again (it also names the gallery's publisher)."""
        operation = f"{_PUBLIC_OPERATIONS[source]}_gallery_images.list"

        async def fetch() -> list[Any]:
            return await self._arm_list(operation, self.scope.location, gallery, build=list)

        if source is SourceKind.SHARED:
            return await self.cache.shared(_shared_images_key(gallery), fetch)
        return await fetch()

    async def _public_versions(self, ref: NodeRef) -> list[CatalogNode]:
        gallery, image = ref.parts
        return await self._arm_list(
            f"{_PUBLIC_OPERATIONS[ref.source]}_gallery_image_versions.list",
            self.scope.location,
            gallery,
            image,
            build=partial(_version_nodes, ref),
        )

    async def _public_detail(self, ref: NodeRef) -> ImageDetail:
        images, versions = self._public_gallery_operations(ref.source)
        gallery, image, version = ref.parts
        definition, item = await asyncio.gather(
            images.get(self.scope.location, gallery, image),
            versions.get(self.scope.location, gallery, image, version),
        )
        # a shared gallery by its own name (the unique name is in the resource ID beneath)
        shown = shared_gallery_display_name(gallery) if ref.source is SourceKind.SHARED else gallery
        return _gallery_style_detail(
            ref, f"{shown}/{image}/{version}", definition, item, self.scope.location
        )

    # --- galleries shared with me -------------------------------------------------------------

    async def _shared_galleries(self, ref: NodeRef) -> list[CatalogNode]:
        # Azure lists galleries shared with the subscription by default and those shared with
        # the whole tenant only on request (sharedTo=tenant): "Shared with me" is both. A gallery
        # shared both ways appears in both answers, once in the tree.
        shared = self._compute.shared_galleries
        to_subscription, to_tenant = await asyncio.gather(
            _collect(shared.list(self.scope.location)),
            _collect(shared.list(self.scope.location, shared_to="tenant")),
        )
        with_subscription = {item.name for item in to_subscription if item.name}
        with_tenant = {item.name for item in to_tenant if item.name}
        names = sorted(with_subscription | with_tenant)
        # A shared gallery's listing names no publisher; its image definitions do
        # (identifier.publisher). They are listed now, once, and kept for the expansion.
        for name in names:
            self.cache.forget(_shared_images_key(name))
        publishers = await asyncio.gather(*(self._shared_publishers(name) for name in names))
        nodes = []
        for name, publisher in zip(names, publishers, strict=True):
            if name in with_subscription and name in with_tenant:
                shared_with = QT_TR_NOOP("shared with this subscription and its tenant")
            elif name in with_tenant:
                shared_with = QT_TR_NOOP("shared with this subscription's tenant")
            else:
                shared_with = QT_TR_NOOP("shared with this subscription")
            summary = (
                Text(
                    message(
                        QT_TR_NOOP("{publisher} · {shared_with}"),
                        publisher=publisher,
                        shared_with=Text(shared_with),
                    )
                )
                if publisher
                else Text(shared_with)
            )
            label = shared_gallery_display_name(name)
            nodes.append(CatalogNode(ref.child(name), NodeKind.GALLERY, label, summary=summary))
        return sorted(nodes, key=lambda node: (_natural(node.label), node.name))

    async def _shared_publishers(self, gallery: str) -> str:
        """The publishers a shared gallery's image definitions name ("" when it has none or
        they cannot be listed: the gallery is still shown, and expanding it says why)."""
        try:
            with translated():
                items = await self._public_image_items(SourceKind.SHARED, gallery)
        except AzureServiceError as error:
            log.warning("Could not list the images of shared gallery %s: %s", gallery, error)
            return ""
        found: dict[str, None] = {}
        for item in items:
            identifier = getattr(_props(item), "identifier", None)
            publisher = getattr(identifier, "publisher", None)
            if publisher:
                found.setdefault(str(publisher), None)
        return ", ".join(found)

    # --- managed images -----------------------------------------------------------------------

    async def _all_managed_images(self) -> list[Any]:
        return await self.cache.shared(
            _MANAGED_IMAGES, lambda: self._arm_list("images.list", build=list)
        )

    async def _all_disks(self) -> list[Any]:
        return await self.cache.shared(
            _MANAGED_DISKS, lambda: self._arm_list("disks.list", build=list)
        )

    async def _all_snapshots(self) -> list[Any]:
        return await self.cache.shared(
            _SNAPSHOTS, lambda: self._arm_list("snapshots.list", build=list)
        )

    async def _managed_groups(self, ref: NodeRef) -> list[CatalogNode]:
        for key in (_MANAGED_IMAGES, _MANAGED_DISKS, _SNAPSHOTS):
            self.cache.forget(key)  # listing the source again means: ask again
        listed = await asyncio.gather(
            self._all_managed_images(), self._all_disks(), self._all_snapshots()
        )
        # thousands of disks are counted off the GUI loop too
        return await asyncio.to_thread(_group_nodes, ref, listed)

    async def _managed_in_group(self, ref: NodeRef) -> list[CatalogNode]:
        """A group's managed images, then its disks, then its snapshots (each by name)."""
        images, disks, snapshots = await asyncio.gather(
            self._all_managed_images(), self._all_disks(), self._all_snapshots()
        )
        # the facts of thousands of disks are read off the GUI loop too
        return await asyncio.to_thread(_in_group_nodes, ref, images, disks, snapshots)


    async def _disk_detail(self, ref: NodeRef) -> ImageDetail:
        """A managed disk or snapshot: its facts, and itself as the one disk of the table."""
        group, _part, name = ref.parts
        kind = ref.disk_kind
        item: Any
        if kind is NodeKind.DISK:
            item = await self._compute.disks.get(group, name)
        else:
            # The group's snapshots (one call, as the capture wizard lists them), this one of them.
            listed = await _collect(self._compute.snapshots.list_by_resource_group(group))
            found = [item for item in listed if str(item.name).casefold() == name.casefold()]
            if not found:
                raise NotFoundError(
                    message(
                        QT_TR_NOOP("Snapshot {name} is no longer in resource group {group}."),
                        name=name,
                        group=group,
                    )
                )
            item = found[0]
        return disk_facts(item, kind or NodeKind.DISK).detail(ref)

    async def _managed_detail(self, ref: NodeRef) -> ImageDetail:
        if ref.disk_kind is not None:
            return await self._disk_detail(ref)
        group, name = ref.parts
        image = await self._compute.images.get(group, name)
        profile = image.storage_profile
        disks: list[DiskSpec] = []
        os_type = os_state = ""
        if profile is not None and profile.os_disk is not None:
            os_disk = profile.os_disk
            os_type, os_state = enum_text(os_disk.os_type), enum_text(os_disk.os_state)
            disks.append(
                DiskSpec(
                    DiskRole.OS,
                    os_type=os_type,
                    os_state=os_state,
                    size_gb=os_disk.disk_size_gb,
                    caching=enum_text(os_disk.caching) or None,
                    storage_type=enum_text(os_disk.storage_account_type) or None,
                    source=_disk_source(os_disk),
                )
            )
        for data_disk in sorted((profile.data_disks or []) if profile else [], key=_lun):
            disks.append(
                DiskSpec(
                    DiskRole.DATA,
                    lun=data_disk.lun,
                    size_gb=data_disk.disk_size_gb,
                    caching=enum_text(data_disk.caching) or None,
                    storage_type=enum_text(data_disk.storage_account_type) or None,
                    source=_disk_source(data_disk),
                )
            )
        properties: list[tuple[str, str]] = [
            (QT_TR_NOOP("Resource group"), group),
            (QT_TR_NOOP("Provisioning state"), image.provisioning_state or ""),
        ]
        if image.source_virtual_machine is not None and image.source_virtual_machine.id:
            properties.append(
                (QT_TR_NOOP("Captured from VM"), name_of(image.source_virtual_machine.id))
            )
        if profile is not None and profile.zone_resilient is not None:
            properties.append((QT_TR_NOOP("Zone resilient"), _yes_no(profile.zone_resilient)))
        return ImageDetail(
            ref=ref,
            title=name,
            resource_id=image.id or "",
            os_type=os_type,
            os_state=os_state,
            hyper_v_generation=generation_label(image.hyper_v_generation),
            architecture="x64",
            security_type=_security_label(""),
            location=image.location or "",
            disks=tuple(disks),
            properties=tuple(properties),
        )

    # --- own Compute Galleries ----------------------------------------------------------------

    async def _galleries(self, ref: NodeRef) -> list[CatalogNode]:
        def build(items: list[Any]) -> list[CatalogNode]:
            nodes = [
                CatalogNode(
                    ref.child(resource_group_of(item.id or ""), item.name),
                    NodeKind.GALLERY,
                    item.name,
                    summary=f"{resource_group_of(item.id or '')} · {item.location}",
                )
                for item in items
                if item.name
            ]
            return sorted(nodes, key=lambda node: _natural(node.label))

        return await self._arm_list("galleries.list", build=build)

    async def _definitions(self, ref: NodeRef) -> list[CatalogNode]:
        group, gallery = ref.parts
        return await self._arm_list(
            "gallery_images.list_by_gallery",
            group,
            gallery,
            build=partial(_image_definition_nodes, ref),
        )

    async def _gallery_versions(self, ref: NodeRef) -> list[CatalogNode]:
        group, gallery, definition = ref.parts
        return await self._arm_list(
            "gallery_image_versions.list_by_gallery_image",
            group,
            gallery,
            definition,
            build=partial(_version_nodes, ref),
        )

    async def _gallery_detail(self, ref: NodeRef) -> ImageDetail:
        group, gallery, definition_name, version = ref.parts
        definition, item = await asyncio.gather(
            self._compute.gallery_images.get(group, gallery, definition_name),
            self._compute.gallery_image_versions.get(
                group, gallery, definition_name, version, expand="ReplicationStatus"
            ),
        )
        detail = _gallery_style_detail(
            ref, f"{gallery}/{definition_name}/{version}", definition, item, item.location or ""
        )
        props = _props(item)
        extra: list[tuple[str, str | datetime]] = [
            (QT_TR_NOOP("Resource group"), group),
            (QT_TR_NOOP("Provisioning state"), enum_text(props.provisioning_state)),
        ]
        publishing = props.publishing_profile
        if publishing is not None:
            regions = [
                f"{region.name} ×{region.regional_replica_count or publishing.replica_count or 1}"
                for region in publishing.target_regions or []
            ]
            if regions:
                extra.append((QT_TR_NOOP("Target regions"), ", ".join(regions)))
            extra.append(
                (QT_TR_NOOP("Exclude from latest"), _yes_no(publishing.exclude_from_latest))
            )
        status = props.replication_status
        if status is not None:
            states = ", ".join(
                f"{summary.region}: {enum_text(summary.state)}"
                + (f" {summary.progress}%" if summary.progress is not None else "")
                for summary in status.summary or []
            )
            extra.append(
                (QT_TR_NOOP("Replication"), f"{enum_text(status.aggregated_state)} ({states})")
            )
        return ImageDetail(**{**_fields(detail), "properties": (*detail.properties, *extra)})

    # --- virtual machines (the capture source) ------------------------------------------------

    async def _vms(self, ref: NodeRef) -> list[CatalogNode]:
        listed = await self._arm_list("virtual_machines.list_all", build=list)
        vms = await describe_vms(self._compute, listed)
        nodes = [
            CatalogNode(
                ref.child(vm.resource_group, vm.name),
                NodeKind.VM,
                vm.name,
                is_image=True,
                summary=" · ".join(
                    bit for bit in (vm.os_type, vm.power_state, vm.size, vm.resource_group) if bit
                ),
            )
            for vm in vms
        ]
        return sorted(nodes, key=lambda node: _natural(node.label))

    async def _vm_detail(self, ref: NodeRef) -> ImageDetail:
        group, name = ref.parts
        vm_id = (
            f"/subscriptions/{self.scope.subscription_id}/resourceGroups/{group}"
            f"/providers/Microsoft.Compute/virtualMachines/{name}"
        )
        vm = await get_vm(self._compute, vm_id)
        os_state: str = (
            "Generalized"
            if vm.generalized
            else Text(QT_TR_NOOP("Specialized (a running machine's identity)"))
        )
        disks = tuple(
            DiskSpec(
                disk.kind,
                lun=disk.lun,
                os_type=vm.os_type if disk.kind is DiskRole.OS else None,
                os_state=("Generalized" if vm.generalized else "Specialized")
                if disk.kind is DiskRole.OS
                else None,
                size_gb=disk.size_gb,
                caching=disk.caching or None,
                storage_type=disk.storage_type or None,
                source=disk.name,
            )
            for disk in vm.disks
        )
        return ImageDetail(
            ref=ref,
            title=vm.name,
            resource_id=vm.id,
            os_type=vm.os_type,
            os_state=os_state,
            hyper_v_generation=generation_label(vm.hyper_v_generation),
            architecture=vm.architecture,
            security_type=_security_label(vm.security_type),
            location=vm.location,
            disks=disks,
            properties=(
                (QT_TR_NOOP("Power state"), vm.power_state),
                (QT_TR_NOOP("Size"), vm.size),
                (QT_TR_NOOP("Operating system"), vm.os_name),
                (QT_TR_NOOP("Resource group"), vm.resource_group),
                (QT_TR_NOOP("Admin user"), vm.admin_username),
            ),
        )


# --- shared helpers -------------------------------------------------------------------------


async def _collect(pager: AsyncIterator[T]) -> list[T]:
    return [item async for item in pager]


def _names(listed: Any) -> list[str]:
    """The names of a Marketplace listing's JSON (an array of {name, location, id})."""
    return [str(item["name"]) for item in listed if item.get("name")]


def _page(model: Callable[[Json], Any] | None, doc: Any) -> tuple[str | None, list[Any]]:
    """One page of an ARM list: its nextLink and its items (as ``model`` makes them), read as
    the SDK's pager reads them (``value`` may be missing, an empty nextLink ends the list)."""
    items: list[Any] = doc.get("value", [])
    return doc.get("nextLink") or None, [model(item) for item in items] if model else items


def _group_nodes(ref: NodeRef, listed: Iterable[list[Any]]) -> list[CatalogNode]:
    """The resource groups that hold managed images, disks or snapshots, with their counts."""
    groups: dict[str, list[int]] = {}
    for column, items in enumerate(listed):
        for item in items:
            group = resource_group_of(item.id or "")
            # Azure keeps a group's name in the case it was made with; IDs may differ.
            key = next((g for g in groups if g.casefold() == group.casefold()), group)
            groups.setdefault(key, [0, 0, 0])[column] += 1
    return [
        CatalogNode(
            ref.child(group),
            NodeKind.RESOURCE_GROUP,
            group,
            summary=Text(
                message(
                    QT_TR_NOOP("Images: {images} · disks: {disks} · snapshots: {snapshots}"),
                    images=counts[0],
                    disks=counts[1],
                    snapshots=counts[2],
                )
            ),
        )
        for group, counts in sorted(groups.items(), key=lambda item: _natural(item[0]))
    ]


def _in_group_nodes(
    ref: NodeRef, images: list[Any], disks: list[Any], snapshots: list[Any]
) -> list[CatalogNode]:
    """A group's managed images, then its disks, then its snapshots (each by name)."""
    (group,) = ref.parts

    def here(item: Any) -> bool:
        return resource_group_of(item.id or "").casefold() == group.casefold()

    nodes = _image_nodes(ref, [image for image in images if here(image)])
    for kind, items in ((NodeKind.DISK, disks), (NodeKind.SNAPSHOT, snapshots)):
        facts = [disk_facts(item, kind) for item in items if here(item) and item.name]
        nodes += [
            CatalogNode(
                disk_ref(group, fact.name, kind),
                kind,
                fact.name,
                is_image=True,  # a leaf with a detail: its facts and the disk itself
                summary=fact.summary,
            )
            for fact in sorted(facts, key=lambda fact: _natural(fact.name))
        ]
    return nodes


def _image_nodes(ref: NodeRef, images: list[Any]) -> list[CatalogNode]:
    nodes = []
    for image in images:
        profile = image.storage_profile
        os_disk = profile.os_disk if profile is not None else None
        data_count = len(profile.data_disks or []) if profile is not None else 0
        bits: list[str] = [
            enum_text(os_disk.os_type) if os_disk else "",
            generation_short(image.hyper_v_generation),
            Text(message(QT_TR_NOOP("data disks: {count}"), count=data_count)),
        ]
        nodes.append(
            CatalogNode(
                ref.child(image.name),
                NodeKind.IMAGE,
                image.name,
                is_image=True,
                summary=_joined(bits),
            )
        )
    return sorted(nodes, key=lambda node: _natural(node.label))


def _shared_images_key(gallery: str) -> str:
    return f"shared-images/{gallery}"


def _dated(value: object) -> str | datetime:
    """A date-time for a detail row: the window formats a datetime the one way it shows dates."""
    return _when(value)


def _feature_rows(features: Iterable[Any] | None) -> list[tuple[str, str]]:
    """One "Features" row in Azure's own words (name = value), one feature a line."""
    lines = [
        f"{feature.name} = {enum_text(feature.value)}"
        for feature in features or ()
        if getattr(feature, "name", None)
    ]
    return [(QT_TR_NOOP("Features"), "\n".join(lines))] if lines else []


def _lun(disk: Any) -> int:
    return int(disk.lun or 0)


def _disk_source(disk: Any) -> str | None:
    """The disk, snapshot or blob an image disk was made from (a gallery source names it by
    ``id`` or ``uri`` directly)."""
    if disk is None:
        return None
    for attribute in ("managed_disk", "snapshot"):
        sub = getattr(disk, attribute, None)
        if sub is not None and getattr(sub, "id", None):
            return name_of(str(sub.id))
    raw = disk if isinstance(disk, Mapping) else {}
    source_id = raw.get("id")
    if source_id:
        return name_of(str(source_id))
    blob = getattr(disk, "blob_uri", None) or raw.get("uri")
    return str(blob).split("?", 1)[0] if blob else None


def _fields(detail: ImageDetail) -> dict[str, Any]:
    return {name: getattr(detail, name) for name in detail.__dataclass_fields__}


def _props(model: Any) -> Any:
    """The ``properties`` of a gallery-style model.

    Read explicitly: azure-mgmt-compute 39 flattens ``CommunityGalleryImage`` attributes onto
    its top-level ``identifier`` instead of ``properties``, so ``image.os_type`` fails there.
    """
    props = getattr(model, "properties", None)
    return props if props is not None else model


def _definition_summary(item: Any) -> str:
    props = _props(item)
    bits: list[str] = [
        enum_text(getattr(props, "os_type", None)),
        enum_text(getattr(props, "os_state", None)),
        generation_short(getattr(props, "hyper_v_generation", None)),
        enum_text(getattr(props, "architecture", None)),
    ]
    security = _feature(getattr(props, "features", None), "SecurityType")
    if security:
        bits.append(_security_label(security))
    return _joined(bits)


def _image_definition_nodes(ref: NodeRef, items: Iterable[Any]) -> list[CatalogNode]:
    nodes = [
        CatalogNode(
            ref.child(item.name), NodeKind.DEFINITION, item.name, summary=_definition_summary(item)
        )
        for item in items
        if item.name
    ]
    return sorted(nodes, key=lambda node: _natural(node.label))


def _version_nodes(ref: NodeRef, items: Iterable[Any]) -> list[CatalogNode]:
    names = sorted((item.name for item in items if item.name), key=_version_key, reverse=True)
    return [CatalogNode(ref.child(name), NodeKind.VERSION, name, is_image=True) for name in names]


def _gallery_style_detail(
    ref: NodeRef, title: str, definition: Any, version: Any, location: str
) -> ImageDetail:
    """Community, shared and own gallery versions share one shape: a definition plus a version."""
    version_props = _props(version)
    definition = _props(definition)
    os_type = enum_text(definition.os_type)
    os_state = enum_text(definition.os_state)
    profile = version_props.storage_profile
    storage_type = None
    publishing = getattr(version_props, "publishing_profile", None)
    if publishing is not None:
        storage_type = enum_text(getattr(publishing, "storage_account_type", None)) or None
    disks: list[DiskSpec] = []
    if profile is not None and profile.os_disk_image is not None:
        os_image = profile.os_disk_image
        disks.append(
            DiskSpec(
                DiskRole.OS,
                os_type=os_type,
                os_state=os_state,
                size_gb=_gb_from(os_image, "sizeInGB", "diskSizeGB"),
                caching=enum_text(os_image.host_caching) or None,
                storage_type=storage_type,
                source=_disk_source(getattr(os_image, "source", None)),
            )
        )
    for data_image in sorted((profile.data_disk_images or []) if profile else [], key=_lun):
        disks.append(
            DiskSpec(
                DiskRole.DATA,
                lun=data_image.lun,
                size_gb=_gb_from(data_image, "sizeInGB", "diskSizeGB"),
                caching=enum_text(data_image.host_caching) or None,
                storage_type=storage_type,
                source=_disk_source(getattr(data_image, "source", None)),
            )
        )
    identifier = definition.identifier
    properties: list[tuple[str, str | datetime]] = []
    if identifier is not None:
        publisher = getattr(identifier, "publisher", None)
        offer = getattr(identifier, "offer", None)
        sku = getattr(identifier, "sku", None)
        if publisher or offer or sku:
            properties.append((QT_TR_NOOP("Identifier"), f"{publisher} / {offer} / {sku}"))
    properties.extend(_feature_rows(definition.features))
    # Community and shared versions carry their dates directly, own ones in the publishing
    # profile; Azure sends them as date-times, which the window shows in its one date format.
    for label, attribute in (
        (QT_TR_NOOP("Published"), "published_date"),
        (QT_TR_NOOP("End of life"), "end_of_life_date"),
    ):
        when = getattr(version_props, attribute, None) or getattr(publishing, attribute, None)
        if when:
            properties.append((label, _dated(when)))
    resource_id = (
        getattr(version, "id", None)
        or (getattr(getattr(version, "identifier", None), "unique_id", None))
        or ""
    )
    return ImageDetail(
        ref=ref,
        title=title,
        resource_id=str(resource_id),
        os_type=os_type,
        os_state=os_state,
        hyper_v_generation=generation_label(definition.hyper_v_generation),
        architecture=enum_text(getattr(definition, "architecture", None)) or "x64",
        security_type=_security_label(_feature(definition.features, "SecurityType")),
        location=location,
        disks=tuple(disks),
        properties=tuple(properties),
        # A definition made from a Marketplace image carries its plan; VMs from it need it.
        plan=PurchasePlan.from_sdk(getattr(definition, "purchase_plan", None)),
    )


# --- managed disks and snapshots ------------------------------------------------------------

_MARKETPLACE_IMAGE = re.compile(
    r"/publishers/(?P<publisher>[^/]+)/artifacttypes/vmimage/offers/(?P<offer>[^/]+)"
    r"(?:/skus/(?P<sku>[^/]+))?(?:/versions/(?P<version>[^/]+))?",
    re.IGNORECASE,
)


def _gallery_path(resource_id: str) -> str:
    """gallery/definition/version of a gallery image version's ID (its name when it is none)."""
    parts = resource_id.strip("/").split("/")
    lowered = [part.casefold() for part in parts]
    if "galleries" in lowered:
        start = lowered.index("galleries") + 1
        return "/".join(part for i, part in enumerate(parts[start:]) if i % 2 == 0)
    return name_of(resource_id)


def _created_from(kind: NodeKind, creation: Any) -> tuple[str, str | None]:
    """What a disk or snapshot was made from, in words, and the name of that source (for the
    disk table's Source column; None for an upload or an empty disk)."""
    option = enum_text(getattr(creation, "create_option", None))
    image = getattr(creation, "image_reference", None)
    gallery = getattr(creation, "gallery_image_reference", None)
    source_id = str(getattr(creation, "source_resource_id", None) or "")
    if option == "FromImage":
        image_id = str(getattr(gallery, "id", None) or getattr(image, "id", None) or "")
        market = _MARKETPLACE_IMAGE.search(image_id)
        if market is not None:
            urn = ":".join(part for part in market.group("publisher", "offer", "sku", "version")
                           if part)
            return Text(message(QT_TR_NOOP("Marketplace image {urn}"), urn=urn)), urn
        if "/galleries/" in image_id.casefold():
            path = _gallery_path(image_id)
            return Text(message(QT_TR_NOOP("Gallery image version {path}"), path=path)), path
        for attribute in ("shared_gallery_image_id", "community_gallery_image_id"):
            public_id = getattr(gallery, attribute, None) or getattr(image, attribute, None)
            if public_id:
                path = _gallery_path(str(public_id))
                return Text(message(QT_TR_NOOP("Gallery image version {path}"), path=path)), path
        name = name_of(image_id) if image_id else ""
        return Text(message(QT_TR_NOOP("Managed image {name}"), name=name)), name or None
    if option in ("Copy", "CopyStart", "CopyFromSanSnapshot") and source_id:
        name = name_of(source_id)
        if "/snapshots/" in source_id.casefold():
            return Text(message(QT_TR_NOOP("Copy of snapshot {name}"), name=name)), name
        return Text(message(QT_TR_NOOP("Copy of disk {name}"), name=name)), name
    if option in ("Upload", "UploadPreparedSecure"):
        return Text(QT_TR_NOOP("Uploaded")), None
    if option in ("Import", "ImportSecure"):
        uri = str(getattr(creation, "source_uri", None) or "").split("?", 1)[0]
        return Text(message(QT_TR_NOOP("Imported from blob {uri}"), uri=uri)), uri or None
    if option == "Empty":
        if kind is NodeKind.SNAPSHOT:
            return Text(QT_TR_NOOP("Empty snapshot")), None
        return Text(QT_TR_NOOP("Empty disk")), None
    if option == "Restore":
        return Text(message(QT_TR_NOOP("Restore point {name}"), name=name_of(source_id))), None
    return option, name_of(source_id) if source_id else None


def _origin(kind: NodeKind, tags: Mapping[str, str], option: str) -> str:
    """What made it, where the app itself did (read from the tags it sets), else ""."""
    if kind is NodeKind.SNAPSHOT and tags.get(CAPTURED_FROM_TAG):
        return Text(
            message(
                QT_TR_NOOP("Backup of VM {vm}, taken before its capture"),
                vm=tags[CAPTURED_FROM_TAG],
            )
        )
    ours = tags.get(UPLOAD_PLAN_TAG) or tags.get(CREATED_BY_TAG) == CREATED_BY_US
    if kind is NodeKind.DISK and ours and option in ("Upload", ""):
        return Text(QT_TR_NOOP("Kept from an upload with Azure Image Studio"))
    return ""


@dataclass(frozen=True)
class DiskFacts:
    """What the tree and the detail pane say of one managed disk or snapshot."""

    kind: NodeKind
    name: str
    resource_id: str
    resource_group: str
    location: str
    size_gb: int | None
    sku: str
    state: str
    os_type: str
    generation: str
    architecture: str
    security_type: str
    created_from: str
    source_name: str | None
    used_by: str  # the VM's name, "" when the disk is attached to none
    origin: str
    created: datetime | str
    provisioning_state: str
    incremental: bool | None

    @property
    def summary(self) -> str:
        size = (
            Text(message(QT_TR_NOOP("{size} GiB"), size=self.size_gb))
            if self.size_gb is not None
            else ""
        )
        use: str = self.state
        if self.used_by:
            use = Text(message(QT_TR_NOOP("attached to VM {vm}"), vm=self.used_by))
        return _joined([self.origin, size, self.sku, use, self.created_from])

    def detail(self, ref: NodeRef) -> ImageDetail:
        disk = DiskSpec(
            DiskRole.OS if self.os_type else DiskRole.DATA,
            os_type=self.os_type or None,
            size_gb=self.size_gb,
            storage_type=self.sku or None,
            source=self.source_name,
        )
        used_by: str = (
            Text(message(QT_TR_NOOP("VM {vm}"), vm=self.used_by))
            if self.used_by
            else Text(QT_TR_NOOP("No VM (not attached)"))
        )
        properties: list[tuple[str, str | datetime]] = [
            (QT_TR_NOOP("Resource group"), self.resource_group)
        ]
        if self.origin:
            properties.append((QT_TR_NOOP("Made by"), self.origin))
        size = (
            Text(message(QT_TR_NOOP("{size} GiB"), size=self.size_gb))
            if self.size_gb is not None
            else ""
        )
        properties += [
            (QT_TR_NOOP("Size"), size),
            (QT_TR_NOOP("SKU"), self.sku),
            (QT_TR_NOOP("Disk state"), self.state),
            (QT_TR_NOOP("Used by"), used_by),
            (QT_TR_NOOP("Created from"), self.created_from),
            (QT_TR_NOOP("Created"), self.created),
            (QT_TR_NOOP("Provisioning state"), self.provisioning_state),
        ]
        if self.incremental is not None:
            properties.append((QT_TR_NOOP("Incremental"), _yes_no(self.incremental)))
        return ImageDetail(
            ref=ref,
            title=self.name,
            resource_id=self.resource_id,
            os_type=self.os_type,
            os_state="",
            hyper_v_generation=generation_label(self.generation) if self.generation else "",
            architecture=self.architecture,
            security_type=_security_label(self.security_type) if self.os_type else "",
            location=self.location,
            disks=(disk,),
            properties=tuple(properties),
        )


def disk_facts(item: Any, kind: NodeKind) -> DiskFacts:
    """The facts of an SDK ``Disk`` or ``Snapshot`` (``kind`` says which)."""
    creation = getattr(item, "creation_data", None)
    created_from, source_name = _created_from(kind, creation)
    option = enum_text(getattr(creation, "create_option", None))
    sku = getattr(item, "sku", None)
    capabilities = getattr(item, "supported_capabilities", None)
    security = getattr(item, "security_profile", None)
    managed_by = str(getattr(item, "managed_by", None) or "")
    incremental = getattr(item, "incremental", None) if kind is NodeKind.SNAPSHOT else None
    return DiskFacts(
        kind=kind,
        name=str(item.name or ""),
        resource_id=str(item.id or ""),
        resource_group=resource_group_of(item.id or ""),
        location=str(item.location or ""),
        size_gb=item.disk_size_gb,
        sku=enum_text(getattr(sku, "name", None)),
        state=enum_text(getattr(item, "disk_state", None)),
        os_type=enum_text(getattr(item, "os_type", None)),
        generation=enum_text(getattr(item, "hyper_v_generation", None)),
        architecture=enum_text(getattr(capabilities, "architecture", None)),
        security_type=enum_text(getattr(security, "security_type", None)),
        created_from=created_from,
        source_name=source_name,
        used_by=name_of(managed_by) if managed_by else "",
        origin=_origin(kind, dict(item.tags or {}), option),
        created=_when(getattr(item, "time_created", None)) if item.time_created else "",
        provisioning_state=str(getattr(item, "provisioning_state", None) or ""),
        incremental=bool(incremental) if incremental is not None else None,
    )

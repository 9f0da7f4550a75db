"""ARM request bodies: read, parse and type-check once, as Azure's front door does.

Azure deserializes every body into typed models before a resource provider sees it, so a body with
the wrong JSON types never reaches the provider's logic: it gets ``400 InvalidRequestContent`` (or
``413 RequestContentTooLarge`` above ARM's 4 MB limit). The sandbox's handlers read bodies as
plain dicts, so this module gives them the same guarantee in one place: every property name the
handlers read has one JSON kind here, checked over the whole document (iteratively, so no input can
exhaust the stack), and ``null`` properties are dropped as ARM treats them as not sent.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, NoReturn

from gui.sandbox.errors import ArmError

Json = dict[str, Any]

# ARM's front door refuses request bodies above 4 MB (RequestContentTooLarge, HTTP 413).
MAX_BODY_BYTES = 4 * 1024 * 1024
# The JSON readers behind ARM stop at 64 levels (Json.NET's and System.Text.Json's MaxDepth).
MAX_DEPTH = 64

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class Kind(Enum):
    OBJECT = "object"
    ARRAY = "array"
    STRING = "string"
    INT32 = "System.Int32"
    INT64 = "System.Int64"
    BOOL = "System.Boolean"
    STRING_MAP = "string map"  # an object whose values are all strings (ARM tags)


# The JSON kind of each property the handlers read, by name. Compute and Resources use each of
# these names with one kind wherever it appears, except ``sku`` (see _kind_of).
_KINDS: dict[str, Kind] = {
    **dict.fromkeys(
        (
            "properties",
            "creationData",
            "identifier",
            "publishingProfile",
            "storageProfile",
            "safetyProfile",
            "securityProfile",
            "supportedCapabilities",
            "osDisk",
            "osDiskImage",
            "source",
            "managedDisk",
            "snapshot",
            "sourceVirtualMachine",
            "purchasePlan",
            "recommended",
            "disallowed",
            "options",
            "imageReference",
            "hardwareProfile",
            "encryption",
        ),
        Kind.OBJECT,
    ),
    **dict.fromkeys(
        (
            "location",
            "name",
            "id",
            "value",
            "osType",
            "osState",
            "createOption",
            "hyperVGeneration",
            "architecture",
            "description",
            "storageAccountType",
            "blobUri",
            "sourceUri",
            "sourceResourceId",
            "caching",
            "publisher",
            "offer",
            "access",
            "replicationMode",
            "endOfLifeDate",
            "networkAccessPolicy",
            "publicNetworkAccess",
            "eula",
            "privacyStatementUri",
            "releaseNoteUri",
            "commandId",
            "query",
            "resultFormat",
            "$skipToken",
        ),
        Kind.STRING,
    ),
    **dict.fromkeys(
        (
            "diskSizeGB",
            "durationInSeconds",
            "lun",
            "replicaCount",
            "regionalReplicaCount",
            "$top",
            "$skip",
        ),
        Kind.INT32,
    ),
    **dict.fromkeys(("uploadSizeBytes", "diskSizeBytes"), Kind.INT64),
    **dict.fromkeys(
        ("excludeFromLatest", "allowDeletionOfReplicatedLocations", "zoneResilient"), Kind.BOOL
    ),
    "tags": Kind.STRING_MAP,
}

# Arrays and the kind of their items.
_ITEMS: dict[str, Kind] = {
    "features": Kind.OBJECT,
    "targetRegions": Kind.OBJECT,
    "dataDisks": Kind.OBJECT,
    "dataDiskImages": Kind.OBJECT,
    "parameters": Kind.OBJECT,
    "script": Kind.STRING,
    "subscriptions": Kind.STRING,
    "managementGroups": Kind.STRING,
}


def _kind_of(parent: str, name: str) -> Kind | None:
    # A resource's ``sku`` is an object; an image identifier's or reference's ``sku`` a string.
    if name == "sku":
        return Kind.OBJECT if parent == "" else Kind.STRING
    if name in _ITEMS:
        return Kind.ARRAY
    return _KINDS.get(name)


def too_large() -> ArmError:
    return ArmError(
        413, "RequestContentTooLarge", "The request content size exceeds the maximum size of 4 MB."
    )


def _invalid(reason: str) -> NoReturn:
    raise ArmError(
        400,
        "InvalidRequestContent",
        f"The request content was invalid and could not be deserialized: '{reason}'",
    )


def _refuse_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON; Python's reader accepts them unless told not to.
    _invalid(f"Unexpected character encountered while parsing value: {name}.")


def parse(raw: bytes) -> Json:
    """The body as a checked JSON object, or an ArmError with ARM's code for what is wrong."""
    if len(raw) > MAX_BODY_BYTES:
        raise too_large()
    if not raw.strip():
        _invalid("The request body is empty.")
    try:
        text = raw.decode("utf-8-sig")  # ARM reads UTF-8 and tolerates a byte-order mark
    except UnicodeDecodeError as exc:
        _invalid(f"The request body is not valid UTF-8 (byte {exc.start}).")
    try:
        doc = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        _invalid(f"The reader's MaxDepth of {MAX_DEPTH} has been exceeded.")
    except ValueError as exc:
        _invalid(f"{exc}.")
    if not isinstance(doc, dict):
        _invalid(f"Unexpected JSON {_json_kind(doc)} at the top level; an object is expected.")
    _check(doc)
    return doc


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "integer"
    return "number"


def _convert_error(value: object, kind: Kind, path: str) -> NoReturn:
    shown = json.dumps(value) if isinstance(value, str | int | float | bool) else _json_kind(value)
    if kind in (Kind.OBJECT, Kind.ARRAY, Kind.STRING_MAP):
        wanted = "an object of strings" if kind is Kind.STRING_MAP else f"an {kind.value}"
        _invalid(f"Unexpected JSON {_json_kind(value)} at path '{path}'; {wanted} is expected.")
    target = "System.String" if kind is Kind.STRING else kind.value
    _invalid(f"Error converting value {shown[:64]} to type '{target}'. Path '{path}'.")


def _scalar(value: object, kind: Kind, path: str) -> object:
    """The value checked against a scalar kind (an integral number becomes an int)."""
    if kind is Kind.STRING:
        if not isinstance(value, str):
            _convert_error(value, kind, path)
        return value
    if kind is Kind.BOOL:
        if not isinstance(value, bool):
            _convert_error(value, kind, path)
        return value
    low, high = _INT32 if kind is Kind.INT32 else _INT64
    if isinstance(value, float) and value.is_integer() and low <= value <= high:
        value = int(value)  # 32.0 deserializes into an integer as it would in .NET
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _convert_error(value, kind, path)
    return value


def _check(doc: Json) -> None:
    # (container, parent property name, path, depth); iterative so depth costs no stack.
    pending: list[tuple[Json | list[Any], str, str, int]] = [(doc, "", "", 1)]
    while pending:
        node, parent, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            _invalid(f"The reader's MaxDepth of {MAX_DEPTH} has been exceeded. Path '{path}'.")
        if isinstance(node, list):
            item_kind = _ITEMS.get(parent)
            for index, item in enumerate(node):
                item_path = f"{path}[{index}]"
                if item_kind is not None:
                    if item is None:
                        _invalid(f"Unexpected null at path '{item_path}'.")
                    if item_kind is Kind.OBJECT and not isinstance(item, dict):
                        _convert_error(item, item_kind, item_path)
                    if item_kind is not Kind.OBJECT:
                        node[index] = _scalar(item, item_kind, item_path)
                if isinstance(item, dict | list):
                    pending.append((item, parent, item_path, depth + 1))
            continue
        for name in list(node):
            value = node[name]
            child_path = f"{path}.{name}" if path else name
            if value is None:
                del node[name]  # ARM treats a property sent as null as one not sent
                continue
            kind = _kind_of(parent, name)
            if kind is Kind.STRING_MAP:
                if not isinstance(value, dict):
                    _convert_error(value, kind, child_path)
                for key, tag in value.items():
                    if not isinstance(tag, str):
                        _convert_error(tag, Kind.STRING, f"{child_path}.{key}")
                continue
            if kind is Kind.OBJECT and not isinstance(value, dict):
                _convert_error(value, kind, child_path)
            if kind is Kind.ARRAY and not isinstance(value, list):
                _convert_error(value, kind, child_path)
            if kind is not None and kind not in (Kind.OBJECT, Kind.ARRAY):
                node[name] = _scalar(value, kind, child_path)
            if isinstance(value, dict | list):
                pending.append((value, name, child_path, depth + 1))

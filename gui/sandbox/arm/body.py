"""ARM request bodies: read and parse once, as Azure's front door does.

ARM refuses a body above 4 MB (``413 RequestContentTooLarge``) and one its JSON reader cannot
parse or that nests deeper than the reader's limit (``400 InvalidRequestContent``). What the
parsed document must look like - types, required properties, enum values - is the operation's
schema from Azure's REST spec, checked in ``gui.sandbox.contract`` before a handler runs.
Properties sent as ``null`` are dropped here, as ARM treats them as not sent.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from gui.sandbox.errors import ArmError, invalid_request_content

Json = dict[str, Any]

# ARM's front door refuses request bodies above 4 MB (RequestContentTooLarge, HTTP 413).
MAX_BODY_BYTES = 4 * 1024 * 1024
# The JSON readers behind ARM stop at 64 levels (Json.NET's and System.Text.Json's MaxDepth).
MAX_DEPTH = 64


def too_large() -> ArmError:
    return ArmError(
        413, "RequestContentTooLarge", "The request content size exceeds the maximum size of 4 MB."
    )


def _invalid(reason: str) -> NoReturn:
    raise invalid_request_content(reason)


def _refuse_constant(name: str) -> NoReturn:
    # NaN and Infinity are not JSON; Python's reader accepts them unless told not to.
    _invalid(f"Unexpected character encountered while parsing value: {name}.")


def _number(text: str) -> float | int:
    # .NET reads 32.0 into an integer property; a whole number is an int here too, so the
    # schema's integer check and the handlers see what Azure's model would hold.
    value = float(text)
    return int(value) if value.is_integer() else value


def parse(raw: bytes) -> Json:
    """The body as a JSON object, or an ArmError with ARM's code for what is wrong."""
    if len(raw) > MAX_BODY_BYTES:
        raise too_large()
    if not raw.strip():
        _invalid("The request body is empty.")
    try:
        text = raw.decode("utf-8-sig")  # ARM reads UTF-8 and tolerates a byte-order mark
    except UnicodeDecodeError as exc:
        _invalid(f"The request body is not valid UTF-8 (byte {exc.start}).")
    try:
        doc = json.loads(text, parse_constant=_refuse_constant, parse_float=_number)
    except RecursionError:
        _invalid(f"The reader's MaxDepth of {MAX_DEPTH} has been exceeded.")
    except ValueError as exc:
        _invalid(f"{exc}.")
    if not isinstance(doc, dict):
        _invalid(f"Unexpected JSON {_json_kind(doc)} at the top level; an object is expected.")
    _limit_depth_and_drop_nulls(doc)
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


def _limit_depth_and_drop_nulls(doc: Json) -> None:
    # Iterative, so no input can exhaust the stack.
    pending: list[tuple[Json | list[Any], str, int]] = [(doc, "", 1)]
    while pending:
        node, path, depth = pending.pop()
        if depth > MAX_DEPTH:
            _invalid(f"The reader's MaxDepth of {MAX_DEPTH} has been exceeded. Path '{path}'.")
        children = (
            [(f"{path}[{i}]", v) for i, v in enumerate(node)]
            if isinstance(node, list)
            else [(f"{path}.{k}" if path else k, v) for k, v in list(node.items())]
        )
        if isinstance(node, dict):
            for key in [k for k, v in node.items() if v is None]:
                del node[key]  # ARM treats a property sent as null as one not sent
        for child_path, value in children:
            if isinstance(value, dict | list):
                pending.append((value, child_path, depth + 1))

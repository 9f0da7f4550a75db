"""Request bodies checked against the operation's schema from Azure's REST spec, as Azure reads.

Azure deserializes a body into the operation's typed model before the resource provider's logic
runs, so the answer to a malformed body comes from that reader (Json.NET behind ARM and the
Compute RPs):

* a value of the wrong JSON type, a fixed enum value it does not know, or an integer outside its
  32/64 bits cannot be read: ``400 InvalidRequestContent`` naming the JSON path;
* a required property that is missing: ``400 InvalidParameter`` "Required parameter '<path>' is
  missing (null)." (Compute's words), or ``LocationRequired`` for a tracked resource's location;
* enum values compare case-insensitively (ARM's enum converter ignores case) and a fixed enum's
  value is read into its canonical spelling ("linux" becomes "Linux", as the .NET enum it is
  read into prints it), so handlers and responses see what Azure's would; an extensible enum
  (``x-ms-enum.modelAsString: true``) takes any string as sent;
* read-only properties are dropped from the schemas when they are made, so sending back what a
  GET returned is never refused; unknown properties are ignored (additional properties allowed).

Patterns, lengths and numeric bounds in the spec are the resource provider's business rules, not
the reader's, so they are left out of the schemas (the handlers check what the sandbox needs).
The schemas are Draft 4 (Swagger 2.0's dialect), one self-contained file per operation in
``schemas/``, made by ``make_schemas.py`` from the spec files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator, ValidationError, validators
from jsonschema.protocols import Validator

from gui.sandbox.errors import (
    ArmError,
    invalid_request_content,
    location_required,
    required_parameter_missing,
)

Json = dict[str, Any]

_INT_RANGE = {32: (-(2**31), 2**31 - 1), 64: (-(2**63), 2**63 - 1)}
_NET_TYPES = {"string": "System.String", "boolean": "System.Boolean", "number": "System.Double"}


def _is_integer(_checker: object, value: object) -> bool:
    # .NET reads 32.0 into an int; the body reader turns integral numbers into ints already, so
    # only real ints (never bools) are integers here.
    return isinstance(value, int) and not isinstance(value, bool)


def _ci_enum(
    _validator: Validator, enum: Mapping[str, Any], instance: object, _schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not isinstance(instance, str):
        return  # the "type" keyword reports it
    if instance.lower() not in {str(v).lower() for v in enum["values"]}:
        yield ValidationError(f"unknown {enum['name']}", validator="x-enum")


def _int_bits(
    _validator: Validator, bits: int, instance: object, _schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not isinstance(instance, int) or isinstance(instance, bool):
        return
    low, high = _INT_RANGE[bits]
    if not low <= instance <= high:
        yield ValidationError(f"outside Int{bits}", validator="x-int")


def _canonical(schema: object, value: object) -> object:
    if not isinstance(value, str) or not isinstance(schema, Mapping) or "x-enum" not in schema:
        return value
    wanted = value.lower()
    return next((v for v in schema["x-enum"]["values"] if str(v).lower() == wanted), value)


_DRAFT4 = Draft4Validator.VALIDATORS


def _properties(
    validator: Validator, properties: Mapping[str, Any], instance: object, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    yield from _DRAFT4["properties"](validator, properties, instance, schema)
    if isinstance(instance, dict):
        for name, sub in properties.items():
            if name in instance:
                instance[name] = _canonical(sub, instance[name])


def _items(
    validator: Validator, items: Any, instance: object, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    yield from _DRAFT4["items"](validator, items, instance, schema)
    if isinstance(instance, list) and isinstance(items, Mapping):
        instance[:] = [_canonical(items, item) for item in instance]


_Reader = validators.extend(  # type: ignore[no-untyped-call]  # jsonschema's stubs leave it untyped
    Draft4Validator,
    validators={"x-enum": _ci_enum, "x-int": _int_bits, "properties": _properties, "items": _items},
    type_checker=Draft4Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@dataclass(frozen=True)
class BodySchema:
    """One operation's request body schema, compiled once."""

    name: str
    validator: Validator

    @classmethod
    def load(cls, name: str) -> BodySchema:
        text = resources.files(__package__).joinpath("schemas", f"{name}.json").read_text("utf-8")
        schema = json.loads(text)
        return cls(name, _Reader(schema))

    def check(self, doc: Json) -> None:
        """Nothing if ``doc`` can be read as Azure reads it; else the ArmError Azure answers."""
        unreadable: list[ValidationError] = []
        missing: list[ValidationError] = []
        for error in self.validator.iter_errors(doc):
            (missing if error.validator == "required" else unreadable).append(error)
        # Azure reads the whole body first (type errors), then checks what is required.
        if unreadable:
            raise _unreadable(min(unreadable, key=_order))
        if missing:
            raise _missing(min(missing, key=_order))


def _order(error: ValidationError) -> tuple[int, str]:
    return len(error.absolute_path), _path(error.absolute_path)


def _path(steps: Iterator[str | int] | Any) -> str:
    out = ""
    for step in steps:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _json_kind(value: object) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return type(value).__name__


def _unreadable(error: ValidationError) -> ArmError:
    path = _path(error.absolute_path)
    value = error.instance
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "x-enum":
        target = str(schema["x-enum"]["name"])
    elif schema.get("type") == "integer" or error.validator == "x-int":
        target = f"System.Int{schema.get('x-int', 32)}"
    elif schema.get("type") in ("object", "array"):
        wanted = "an object" if schema["type"] == "object" else "an array"
        return invalid_request_content(
            f"Unexpected JSON {_json_kind(value)} at path '{path}'; {wanted} is expected."
        )
    else:
        target = _NET_TYPES.get(str(schema.get("type")), "System.Object")
    if isinstance(value, dict | list) or value is None:
        return invalid_request_content(
            f"Unexpected JSON {_json_kind(value)} at path '{path}'; a value of type "
            f"'{target}' is expected."
        )
    shown = json.dumps(value)[:64]
    return invalid_request_content(
        f"Error converting value {shown} to type '{target}'. Path '{path}'."
    )


def _missing(error: ValidationError) -> ArmError:
    parent = _path(error.absolute_path)
    present = error.instance if isinstance(error.instance, Mapping) else {}
    names: list[str] = (
        list(error.validator_value) if isinstance(error.validator_value, list) else []
    )
    name = next(str(n) for n in names if n not in present)
    if not parent and name == "location":
        return location_required()
    return required_parameter_missing(f"{parent}.{name}" if parent else name)

"""Maintainer script: make ``schemas/<operationId>.json`` from Azure REST spec files.

    python -m gui.sandbox.contract.make_schemas --commit <sha> --repo-path <the spec file's path
        in the repository> --operation OperationId [--operation ...] SPEC.json [SPEC.json ...]

Each spec file is a Swagger 2.0 file of Azure/azure-rest-api-specs (MIT licence); ``$ref``s to
other files are read relative to the file that holds them, so pass a checkout's files. For each
operation the body parameter's schema is written with every definition it reaches, as one Draft 4
document the sandbox reads at run time (it ships with the app and runs without the specs):

* read-only properties are dropped (Azure ignores them in a request), with their ``required``;
* ``x-ms-client-flatten`` is a client-side notion: the wire keeps ``properties``, so it is dropped;
* a fixed enum (``x-ms-enum.modelAsString`` false or absent) becomes ``x-enum`` (compared without
  case), written where it is used rather than referred to; an extensible one takes any string;
* ``format: int32/int64`` becomes ``x-int`` (the integer's width);
* descriptions, patterns, lengths, bounds and other ``x-ms-*`` annotations are left out (see
  ``validation.py`` for why); a ``discriminator`` is refused, as none of the served bodies has one.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

LICENCE = (
    "Derived from Azure/azure-rest-api-specs, Copyright (c) Microsoft Corporation, MIT License "
    "(https://github.com/Azure/azure-rest-api-specs/blob/main/LICENSE)."
)


class _Specs:
    def __init__(self) -> None:
        self._files: dict[Path, Json] = {}

    def load(self, path: Path) -> Json:
        path = path.resolve()
        if path not in self._files:
            self._files[path] = json.loads(path.read_text(encoding="utf-8"))
        return self._files[path]

    def resolve(self, ref: str, base: Path) -> tuple[str, Json, Path]:
        """(definition name, its schema, the file it is in) for a ``$ref``."""
        file_part, _, pointer = ref.partition("#")
        where = (base.parent / file_part).resolve() if file_part else base
        node: Any = self.load(where)
        for step in pointer.strip("/").split("/"):
            node = node[step.replace("~1", "/").replace("~0", "~")]
        return pointer.rsplit("/", 1)[-1], node, where


def _convert(schema: Json, base: Path, specs: _Specs, out: dict[str, Json]) -> Json:
    if "$ref" in schema:
        name, target, where = specs.resolve(schema["$ref"], base)
        if "enum" in target:
            # Inline, so the reader sees the enum where the value is (see validation.py).
            return _convert(target, where, specs, out)
        if name not in out:
            out[name] = {}  # placeholder first: definitions may refer to themselves
            out[name] = _convert(target, where, specs, out)
        return {"$ref": f"#/definitions/{name}"}
    if "discriminator" in schema:
        raise SystemExit(f"a discriminator in {base}: extend make_schemas before using it")
    result: Json = {k: schema[k] for k in ("type",) if k in schema}
    if "type" not in result and ("properties" in schema or "allOf" in schema):
        result["type"] = "object"  # Swagger models often leave it out; AutoRest reads objects
    if schema.get("format") in ("int32", "int64"):
        result["x-int"] = int(schema["format"][3:])
    if "enum" in schema:
        enum = schema.get("x-ms-enum", {})
        if not enum.get("modelAsString", False):
            result["x-enum"] = {"name": enum.get("name", "enum"), "values": schema["enum"]}
    if "items" in schema:
        result["items"] = _convert(schema["items"], base, specs, out)
    if isinstance(schema.get("additionalProperties"), dict):
        result["additionalProperties"] = _convert(schema["additionalProperties"], base, specs, out)
    writable = {
        name: prop
        for name, prop in schema.get("properties", {}).items()
        if not (prop.get("readOnly") or _ref_read_only(prop, base, specs))
    }
    if writable:
        result["properties"] = {n: _convert(p, base, specs, out) for n, p in writable.items()}
    required = [n for n in schema.get("required", []) if n in writable]
    if required:
        result["required"] = required
    if "allOf" in schema:
        result["allOf"] = [_convert(part, base, specs, out) for part in schema["allOf"]]
    return result


def _ref_read_only(prop: Json, base: Path, specs: _Specs) -> bool:
    if "$ref" not in prop:
        return False
    return bool(specs.resolve(prop["$ref"], base)[1].get("readOnly"))


def body_schema(operation_id: str, files: list[Path], specs: _Specs) -> tuple[Json, Path]:
    for path in files:
        spec = specs.load(path)
        for item in spec.get("paths", {}).values():
            for operation in item.values():
                if not isinstance(operation, dict) or operation.get("operationId") != operation_id:
                    continue
                for listed in operation.get("parameters", []):
                    parameter = (
                        specs.resolve(listed["$ref"], path.resolve())[1]
                        if "$ref" in listed
                        else listed
                    )
                    if parameter.get("in") == "body":
                        return parameter["schema"], path.resolve()
                raise SystemExit(f"{operation_id} has no body parameter")
    raise SystemExit(f"{operation_id} is in none of the spec files")


def make(operation_id: str, files: list[Path], repo_path: str, commit: str) -> Json:
    specs = _Specs()
    schema, base = body_schema(operation_id, files, specs)
    definitions: dict[str, Json] = {}
    root = _convert(schema, base, specs, definitions)
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "x-source": {
            "repository": "Azure/azure-rest-api-specs",
            "path": repo_path,
            "commit": commit,
            "operationId": operation_id,
            "licence": LICENCE,
        },
        "definitions": dict(sorted(definitions.items())),
        "allOf": [root],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commit", required=True)
    parser.add_argument("--repo-path", required=True, help="the spec file's path in the repo")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("schemas"))
    parser.add_argument("--operation", action="append", required=True, dest="operations")
    parser.add_argument("specs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for operation_id in args.operations:
        doc = make(operation_id, args.specs, args.repo_path, args.commit)
        target = args.out / f"{operation_id}.json"
        target.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

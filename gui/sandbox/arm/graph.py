"""Azure Resource Graph: POST /providers/Microsoft.ResourceGraph/resources.

The portal discovers community galleries with a query on the ``communitygalleryresources``
table; this module runs the subset of KQL such queries use (``where`` with ==, =~, !=, !~,
contains, startswith, endswith, in, in~ joined by ``and``; ``project``; ``order by``/``sort by``;
``take``/``limit``) over the sandbox's rows, with Resource Graph's paging (``$skipToken``).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from gui.sandbox.arm.context import Ctx, reply
from gui.sandbox.arm.routing import Router
from gui.sandbox.errors import ArmError
from gui.sandbox.seed import SANDBOX_SUBSCRIPTIONS, SANDBOX_TENANT_ID
from gui.sandbox.seed.community import graph_rows
from gui.sandbox.world import World, public

Json = dict[str, Any]
Row = dict[str, Any]
router = Router()

_DEFAULT_TOP = 100
_MAX_TOP = 1000


def invalid_query(detail: str) -> ArmError:
    return ArmError(
        400,
        "BadRequest",
        "Please provide below info when asking for support: timestamp = sandbox, "
        "correlationId = 00000000-0000-0000-0000-000000000000.",
        details=[
            {
                "code": "InvalidQuery",
                "message": "Query is invalid. Please refer to the documentation for the Azure "
                "Resource Graph service and fix the query before trying again.",
            },
            {"code": "ParserFailure", "message": detail},
        ],
    )


def _resource_rows(world: World, subscriptions: set[str] | None) -> list[Row]:
    rows: list[Row] = []
    for resource in world.store.all():
        doc = public(resource)
        if doc["type"].lower() == "microsoft.resources/resourcegroups":
            continue
        parts = doc["id"].split("/")
        sid = parts[2]
        if subscriptions is not None and sid.lower() not in subscriptions:
            continue
        rows.append(
            {
                "id": doc["id"],
                "name": doc["name"],
                "type": doc["type"].lower(),
                "tenantId": SANDBOX_TENANT_ID,
                "kind": "",
                "location": doc.get("location", ""),
                "resourceGroup": parts[4].lower() if len(parts) > 4 else "",
                "subscriptionId": sid,
                "managedBy": "",
                "sku": doc.get("sku"),
                "plan": None,
                "properties": doc.get("properties", {}),
                "tags": doc.get("tags"),
                "identity": None,
                "zones": None,
                "extendedLocation": None,
            }
        )
    return rows


def _container_rows(world: World, subscriptions: set[str] | None) -> list[Row]:
    rows: list[Row] = []
    for sid, name in SANDBOX_SUBSCRIPTIONS:
        if subscriptions is not None and sid.lower() not in subscriptions:
            continue
        rows.append(
            {
                "id": f"/subscriptions/{sid}",
                "name": name,
                "type": "microsoft.resources/subscriptions",
                "tenantId": SANDBOX_TENANT_ID,
                "location": "",
                "resourceGroup": "",
                "subscriptionId": sid,
                "properties": {"state": "Enabled"},
                "tags": {},
            }
        )
        for group in world.store.children(
            f"/subscriptions/{sid}", "Microsoft.Resources/resourceGroups"
        ):
            rows.append(
                {
                    "id": group["id"],
                    "name": group["name"],
                    "type": "microsoft.resources/subscriptions/resourcegroups",
                    "tenantId": SANDBOX_TENANT_ID,
                    "location": group["location"],
                    "resourceGroup": group["name"].lower(),
                    "subscriptionId": sid,
                    "properties": group["properties"],
                    "tags": group.get("tags", {}),
                }
            )
    return rows


def _lookup(row: Row, path: str) -> Any:
    value: Any = row
    for raw in path.split("."):
        part = raw.strip().strip("[]'\"").lower()
        if not isinstance(value, dict):
            return None
        match = next((k for k in value if k.lower() == part), None)
        if match is None:
            return None
        value = value[match]
    return value


_STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_CONDITION = re.compile(
    rf"^\s*(?P<field>[\w.\[\]'\"]+)\s*(?P<op>==|=~|!=|!~|contains|!contains|startswith|"
    rf"endswith|has|in~|in)\s*(?P<value>{_STRING}|\((?:\s*(?:{_STRING})\s*,?)+\)|-?\d+(?:\.\d+)?|true|false)\s*$",
    re.IGNORECASE,
)


def _unquote(token: str) -> str:
    token = token.strip()
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1].replace("\\'", "'").replace('\\"', '"')
    return token


def _split_and(clause: str) -> list[str]:
    return _split_outside(clause, " and ", parentheses=True)


def _split_outside(text: str, separator: str, *, parentheses: bool) -> list[str]:
    """``text`` split at ``separator`` (case-blind) where it stands outside quotes, and, with
    ``parentheses``, outside brackets too."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    i = 0
    lower = text.lower()
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif parentheses and ch in "()":
            depth += 1 if ch == "(" else -1
        elif depth == 0 and lower.startswith(separator, i):
            parts.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    parts.append(text[start:])
    return parts


def _condition(text: str) -> Callable[[Row], bool]:
    m = _CONDITION.match(text)
    if m is None:
        raise invalid_query(f"Unsupported condition in where clause: '{text.strip()}'")
    field, op, raw = m.group("field"), m.group("op").lower(), m.group("value")
    if raw.startswith("("):
        options = [_unquote(t) for t in re.findall(_STRING, raw)]
    else:
        options = [_unquote(raw)]
    want = options[0]

    def text_of(row: Row) -> str:
        value = _lookup(row, field)
        return "" if value is None else str(value)

    tests: dict[str, Callable[[str], bool]] = {
        "==": lambda v: v == want,
        "=~": lambda v: v.lower() == want.lower(),
        "!=": lambda v: v != want,
        "!~": lambda v: v.lower() != want.lower(),
        "contains": lambda v: want.lower() in v.lower(),
        "has": lambda v: want.lower() in v.lower(),
        "!contains": lambda v: want.lower() not in v.lower(),
        "startswith": lambda v: v.lower().startswith(want.lower()),
        "endswith": lambda v: v.lower().endswith(want.lower()),
        "in": lambda v: v in options,
        "in~": lambda v: v.lower() in [o.lower() for o in options],
    }
    test = tests[op]
    return lambda row: test(text_of(row))


def _project(rows: list[Row], spec: str) -> list[Row]:
    columns: list[tuple[str, str]] = []
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        if "=" in item:
            alias, expr = (s.strip() for s in item.split("=", 1))
        else:
            alias, expr = item.split(".")[-1], item
        columns.append((alias, expr))
    return [{alias: _lookup(row, expr) for alias, expr in columns} for row in rows]


def run_query(query: str, rows: list[Row]) -> list[Row]:
    stages = [s.strip() for s in _split_pipes(query)]
    for stage in stages[1:]:
        word, _, rest = stage.partition(" ")
        word = word.lower()
        if word == "where":
            conditions = [_condition(c) for c in _split_and(rest)]
            rows = [r for r in rows if all(c(r) for c in conditions)]
        elif word == "project":
            rows = _project(rows, rest)
        elif word in ("order", "sort"):
            m = re.match(r"by\s+([\w.]+)\s*(asc|desc)?\s*$", rest.strip(), re.IGNORECASE)
            if m is None:
                raise invalid_query(f"Unsupported order clause: '{stage}'")
            field, direction = m.group(1), (m.group(2) or "desc").lower()
            rows = sorted(
                rows,
                key=lambda r: str(_lookup(r, field) or "").lower(),
                reverse=direction == "desc",
            )
        elif word in ("take", "limit"):
            if not rest.strip().isdigit():
                raise invalid_query(f"'{word}' needs a number: '{stage}'")
            rows = rows[: int(rest.strip())]
        else:
            raise invalid_query(f"Unsupported operator '{word}' in the sandbox's Resource Graph.")
    return rows


def _split_pipes(query: str) -> list[str]:
    return _split_outside(query, "|", parentheses=False)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sandbox-offset:{offset}".encode()).decode()


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        prefix, _, number = text.partition(":")
        if prefix != "sandbox-offset":
            raise ValueError(text)
        return int(number)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArmError(400, "BadRequest", "The $skipToken is invalid.") from exc


def _as_table(rows: list[Row]) -> Json:
    """Resource Graph's ``table`` result format: typed columns and rows of values."""
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]

    def kind(value: Any) -> str:
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int | float):
            return "integer" if isinstance(value, int) else "number"
        if isinstance(value, dict | list) or value is None:
            return "object"
        return "string"

    columns = [
        {"name": n, "type": next((kind(r[n]) for r in rows if r.get(n) is not None), "object")}
        for n in names
    ]
    return {"columns": columns, "rows": [[row.get(n) for n in names] for row in rows]}


@router.post("/providers/Microsoft.ResourceGraph/resources")
async def query_resources(ctx: Ctx, p: dict[str, str]) -> web.Response:
    body = ctx.json()
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ArmError(400, "BadRequest", "The 'query' property is required.")
    subs_raw = body.get("subscriptions")
    subscriptions = {str(s).lower() for s in subs_raw} if isinstance(subs_raw, list) else None
    table = _split_pipes(query)[0].strip().lower()
    if table == "communitygalleryresources":
        rows = graph_rows()
    elif table == "resources":
        rows = _resource_rows(ctx.world, subscriptions)
    elif table == "resourcecontainers":
        rows = _container_rows(ctx.world, subscriptions)
    else:
        raise invalid_query(f"Table '{table}' is not known to the sandbox's Resource Graph.")
    rows = run_query(query, rows)
    options = body.get("options") or {}
    top = min(_MAX_TOP, int(options.get("$top") or _DEFAULT_TOP))
    skip = int(options.get("$skip") or 0)
    token = options.get("$skipToken")
    offset = _decode_token(str(token)) if token else skip
    chunk = rows[offset : offset + top]
    result_format = str(options.get("resultFormat") or "objectArray").lower()
    if result_format not in ("objectarray", "table"):
        raise ArmError(
            400,
            "BadRequest",
            f"The value '{options.get('resultFormat')}' of 'options.resultFormat' is invalid. "
            "Allowed values are 'table' and 'objectArray'.",
        )
    doc: Json = {
        "totalRecords": len(rows),
        "count": len(chunk),
        "data": _as_table(chunk) if result_format == "table" else chunk,
        "facets": [],
        "resultTruncated": "false",
    }
    if offset + top < len(rows):
        doc["$skipToken"] = _encode_token(offset + top)
    return reply(doc)

"""Replaying Azure's official REST examples against the sandbox (tests/sandbox/test_conformance.py).

An example (tests/data/azure-rest-examples) names resources the sandbox does not have
(``myResourceGroup``, ``myVM``). A ``Binding`` says which sandbox resources stand in for them:
path parameters, strings of the request body to replace (ids, blob URIs, locations), query
parameters to drop, and the requests that make its prerequisites first. ``Replay`` sends the
request over real HTTP with a bearer token, follows a long-running operation as the SDK does
(``Azure-AsyncOperation`` until a terminal status, then the resource or the ``Location`` result),
and ``differences`` compares the sandbox's answer with the example's.

What is compared, per key path (``properties.storageProfile.osDisk.osType``; a list's items
collapse into ``[]``): a key path of the example missing from the answer (unless allowlisted
for the example, with the reason); the JSON type where both have the path; and the casing of
enum-like strings (a value equal to the example's but for case); and, where a binding asks, the
set of values at a path (the status codes of a Run Command's answer).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gui.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "data" / "azure-rest-examples"

Json = dict[str, Any]
Lookup = Callable[["Replay"], str]  # a value read from the running sandbox


def manifest() -> list[Json]:
    data: Json = json.loads((EXAMPLES / "manifest.json").read_text(encoding="utf-8"))
    examples: list[Json] = data["examples"]
    return examples


def load_example(name: str) -> Json:
    example: Json = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return example


@dataclass(frozen=True)
class Step:
    """A request that makes a prerequisite (sent, and followed to its end, before the example).
    ``path`` and the body's strings may hold ``{sub}``, ``{blob}`` (the blob endpoint)."""

    method: str
    path: str
    body: Json | None = None


@dataclass(frozen=True)
class Binding:
    """How one example is replayed on the sandbox."""

    params: Mapping[str, str | Lookup] = field(default_factory=dict)
    # Exact strings of the request body replaced (example value -> sandbox value).
    body: Mapping[str, str | Lookup] = field(default_factory=dict)
    # Query parameters of the example not sent, each with the reason.
    drop_query: Mapping[str, str] = field(default_factory=dict)
    setup: tuple[Step, ...] = ()
    blobs: tuple[str, ...] = ()  # page blobs "<account>/<container>/<name>" made first (1 GiB)
    # Key paths of the example's answer the sandbox does not give, each with the reason.
    allow_missing: Mapping[str, str] = field(default_factory=dict)
    # Key paths whose value casing follows live Azure rather than the example, with the reason.
    live_casing: Mapping[str, str] = field(default_factory=dict)
    # Key paths whose values must be the example's, as a set (codes a client decides by), with
    # the reason.
    same_values: Mapping[str, str] = field(default_factory=dict)
    # Where the answer holds what the example's body shows, when the example is wrong about it
    # (the reason says why), e.g. "value" for an example showing the bare list of a pageable one.
    answer_under: tuple[str, str] | None = None


# ---- HTTP ------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}


class ReplayError(AssertionError):
    """A prerequisite or a poll failed: the answer says why."""


class Replay:
    """Requests to one sandbox as the SDK sends them (bearer token, JSON)."""

    def __init__(self, server: SandboxServer, subscription_id: str) -> None:
        self.server = server
        self.subscription_id = subscription_id

    def expand(self, text: str) -> str:
        return text.replace("{sub}", self.subscription_id).replace("{blob}", self.server.blob_url)

    def send(self, method: str, url: str, body: Any = None) -> Answer:
        if not url.startswith("http"):
            url = self.server.arm_url + url
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": "Bearer conformance-token", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with _OPENER.open(request, timeout=30) as response:
                raw, status, got = response.read(), response.status, dict(response.headers)
        except urllib.error.HTTPError as err:
            raw, status, got = err.read(), err.code, dict(err.headers)
            err.close()
        return Answer(status, got, json.loads(raw) if raw.strip() else None)

    def follow(self, method: str, url: str, first: Answer) -> Answer:
        """The final answer of a long-running operation, fetched as azure-mgmt-core's ARM
        polling does: poll Azure-AsyncOperation (else Location) until a terminal status; then
        PUT/PATCH read the resource again, POST reads the Location result, DELETE has none."""
        async_url = first.header("Azure-AsyncOperation")
        location = first.header("Location")
        if first.status not in (201, 202) or not (async_url or location):
            return first
        deadline = time.monotonic() + 20
        if async_url:
            while True:
                status = self.send("GET", async_url)
                state = str((status.body or {}).get("status", "")).lower()
                if status.status >= 400 or state in _TERMINAL:
                    break
                if time.monotonic() > deadline:
                    raise ReplayError(f"{method} {url}: the operation never ended")
                time.sleep(0.01)
            if state != "succeeded":
                return status
            if method in ("PUT", "PATCH"):
                return self.send("GET", url)
            if method == "POST" and location:
                return self.send("GET", location)
            return status
        assert location is not None
        answer = first
        while answer.status == 202:
            if time.monotonic() > deadline:
                raise ReplayError(f"{method} {url}: the operation never ended")
            time.sleep(0.01)
            answer = self.send("GET", location)
        if method in ("PUT", "PATCH") and answer.status < 400:
            return self.send("GET", url)
        return answer

    def run(self, step: Step) -> Answer:
        path = self.expand(step.path)
        body = _replace(step.body, {}, self) if step.body is not None else None
        first = self.send(step.method, path, body)
        final = self.follow(step.method, path, first)
        if first.status >= 400 or final.status >= 400:
            raise ReplayError(
                f"prerequisite {step.method} {path} failed: {first.status} {first.body} / "
                f"{final.status} {final.body}"
            )
        return final

    def page_blob(self, where: str) -> None:
        account, container, name = where.split("/", 2)
        url = self.server.blob_sas_url(account, container, name)
        request = urllib.request.Request(
            url,
            data=b"",
            method="PUT",
            headers={
                "x-ms-blob-type": "PageBlob",
                "x-ms-blob-content-length": str(1024**3 + 512),
                "x-ms-version": "2025-01-05",
            },
        )
        with _OPENER.open(request, timeout=30) as response:
            assert response.status == 201, f"page blob {where}: {response.status}"


def _value(value: str | Lookup, replay: Replay) -> str:
    return replay.expand(value) if isinstance(value, str) else value(replay)


def _replace(doc: Any, strings: Mapping[str, str | Lookup], replay: Replay) -> Any:
    if isinstance(doc, dict):
        return {key: _replace(value, strings, replay) for key, value in doc.items()}
    if isinstance(doc, list):
        return [_replace(item, strings, replay) for item in doc]
    if isinstance(doc, str):
        return _value(strings[doc], replay) if doc in strings else replay.expand(doc)
    return doc


# ---- one example, sent -----------------------------------------------------------------------

_API_VERSION_KEYS = ("api-version", "version")


@dataclass
class Replayed:
    first: Answer
    final: Answer
    sent: str


def request_of(entry: Json, example: Json, binding: Binding, replay: Replay) -> tuple[str, Any]:
    """The example's URL (path parameters bound, its query) and request body for the sandbox."""
    parameters: Json = example["parameters"]
    names = set(re.findall(r"\{(\w+)\}", entry["path"]))
    path = entry["path"]
    for name in names:
        value = binding.params.get(name)
        if value is None:
            if name != "subscriptionId":
                raise AssertionError(f"{entry['file']}: no sandbox value for {{{name}}}")
            value = replay.subscription_id
        path = path.replace("{" + name + "}", urllib.parse.quote(_value(value, replay), safe=""))
    body: Any = None
    query = {"api-version": entry["api_version"]}
    for key, value in parameters.items():
        if key in names or key in _API_VERSION_KEYS:
            continue
        if isinstance(value, dict | list):
            body = _replace(value, binding.body, replay)
        elif key not in binding.drop_query:
            query[key] = str(value).lower() if isinstance(value, bool) else str(value)
    return f"{path}?{urllib.parse.urlencode(query)}", body


def replay_example(entry: Json, binding: Binding, replay: Replay) -> Replayed:
    example = load_example(entry["file"])
    for blob in binding.blobs:
        replay.page_blob(blob)
    for step in binding.setup:
        replay.run(step)
    url, body = request_of(entry, example, binding, replay)
    first = replay.send(entry["method"], url, body)
    final = replay.follow(entry["method"], url, first) if first.status < 400 else first
    return Replayed(first, final, f"{entry['method']} {url}")


# ---- comparing answers -----------------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "null"


# Maps whose keys are data, not schema (a tag's name): their own presence is compared, their keys
# are not.
FREE_FORM = frozenset({"tags", "artifactTags"})
# Present only when a list continues on another page (paging has its own tests:
# tests/sandbox/test_faults_and_paging.py); a first page that holds everything has none.
PAGING = {
    "nextLink": "present only when the list continues; the sandbox's list fits one page",
    "$skipToken": "present only when the query's result continues; it fits one page here",
}


def key_paths(doc: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(key path, value) for every node under ``doc``; list items share the path ``<list>[]``;
    keys starting with ``_`` (this copy's annotations) are skipped, and so are the keys inside
    free-form maps (``tags``)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key.startswith("_"):
                continue
            path = f"{prefix}.{key}" if prefix else key
            yield path, value
            if key not in FREE_FORM:
                yield from key_paths(value, path)
    elif isinstance(doc, list):
        for item in doc:
            yield f"{prefix}[]", item
            yield from key_paths(item, f"{prefix}[]")


def _index(doc: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for path, value in key_paths(doc):
        found[path].append(value)
    return found


_TOKEN = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


def differences(expected: Any, got: Any, binding: Binding) -> list[str]:
    """What the sandbox's body ``got`` lacks or shapes differently from the example's body."""
    if binding.answer_under is not None and isinstance(got, dict):
        got = got.get(binding.answer_under[0])
    want, have = _index(expected), _index(got)
    problems: list[str] = []
    for path, values in want.items():
        if path not in have:
            if path not in PAGING and not _allowed(path, binding.allow_missing):
                problems.append(f"missing {path} (example: {_short(values[0])})")
            continue
        kinds = {_kind(v) for v in values} - {"null"}
        got_kinds = {_kind(v) for v in have[path]} - {"null"}
        if kinds and got_kinds and not got_kinds <= kinds:
            problems.append(
                f"type of {path}: example {sorted(kinds)}, sandbox {sorted(got_kinds)} "
                f"({_short(have[path][0])})"
            )
            continue
        if path in binding.same_values:
            wanted, got_values = sorted(set(map(str, values))), sorted(set(map(str, have[path])))
            if wanted != got_values:
                problems.append(f"values of {path}: example {wanted}, sandbox {got_values}")
        if path in binding.live_casing:
            continue
        tokens = {v for v in values if isinstance(v, str) and _TOKEN.match(v)}
        for value in {v for v in have[path] if isinstance(v, str)}:
            cased = {t for t in tokens if t.casefold() == value.casefold()}
            if cased and value not in cased:
                problems.append(f"casing of {path}: example {sorted(cased)}, sandbox {value!r}")
    return problems


def _allowed(path: str, allowlist: Mapping[str, str]) -> bool:
    """A path is allowed missing if it or one of its parents is on the list."""
    return any(path == entry or path.startswith((entry + ".", entry + "[]")) for entry in allowlist)


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


def example_body(example: Json, status: int) -> Any:
    """The example's body for ``status``, or None (a body of only annotations is none)."""
    response = example["responses"].get(str(status)) or {}
    body = response.get("body")
    if isinstance(body, dict) and all(key.startswith("_") for key in body):
        return None
    return body


def final_example_body(example: Json) -> Any:
    """The body of the finished operation: the 200 answer, else the 201 one."""
    for status in (200, 201):
        body = example_body(example, status)
        if body is not None:
            return body
    return None

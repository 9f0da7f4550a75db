"""Every ARM operation the app calls has an official example in tests/data/azure-rest-examples.

The operations are read from the code, not listed by hand, so the list cannot go stale: an AST
pass over gui/azure and gui/commands finds

* SDK calls ``<expr>.<operation group>.<method>`` (called, or passed on as a reference, as the
  capture executor does with ``self._compute.virtual_machines.begin_run_command``), where the
  group is one of the operation groups of the SDK clients the app uses, found by reading the
  clients' own ``__init__``;
* operation groups bound to a name (``shared = compute.shared_galleries``) or returned from a
  helper and unpacked by its callers, with the methods then called on those names;
* the SDK's request builders (``build_virtual_machine_images_list_publishers_request``), and a
  ``getattr(<group>, <name>)`` beside them resolved to the builders' methods;
* raw ``HttpRequest(<method>, <path>)`` requests (Resource Graph), matched against the manifest's
  method and path templates.

Each is named by its operationId (``VirtualMachineImagesOperations.list_by_gallery_image`` ->
``VirtualMachineImages_ListByGalleryImage``); the manifest's operationIds check that mapping the
other way (each maps to a real SDK method whose request builder has the manifest's path).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import sys
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "data" / "azure-rest-examples"
SCANNED = (ROOT / "gui" / "azure", ROOT / "gui" / "commands")

# The aio clients the app builds (gui/azure/account/session.py, loopback.py): their operation
# groups are what an ``<expr>.<group>.<method>`` call can reach.
CLIENTS = (
    "azure.mgmt.compute.aio:ComputeManagementClient",
    "azure.mgmt.resource.resources.aio:ResourceManagementClient",
    "azure.mgmt.resource.subscriptions.aio:SubscriptionClient",
    "azure.mgmt.storage.aio:StorageManagementClient",
    "azure.mgmt.marketplaceordering.aio:MarketplaceOrderingAgreements",
)
# Where each client's request builders live (the sync package's module holds them for both).
BUILDER_MODULES = {
    "azure.mgmt.compute.aio": "azure.mgmt.compute.operations._operations",
    "azure.mgmt.resource.resources.aio": "azure.mgmt.resource.resources.operations._operations",
    "azure.mgmt.resource.subscriptions.aio": (
        "azure.mgmt.resource.subscriptions.operations._operations"
    ),
    "azure.mgmt.storage.aio": "azure.mgmt.storage.operations._operations",
    "azure.mgmt.marketplaceordering.aio": (
        "azure.mgmt.marketplaceordering.operations._marketplace_agreements_operations"
    ),
}
_BUILDER = re.compile(r"^build_(\w+)_request$")


@dataclass(frozen=True)
class Group:
    """One operation group of an SDK client, e.g. ``disks`` -> ``DisksOperations``."""

    attribute: str
    cls: type
    builders: str  # module of the request builders

    @property
    def operation_prefix(self) -> str:
        return self.cls.__name__.removesuffix("Operations")

    @property
    def methods(self) -> frozenset[str]:
        return frozenset(
            name
            for name, _ in inspect.getmembers(self.cls, inspect.isfunction)
            if not name.startswith("_")
        )

    def operation_id(self, method: str) -> str:
        verb = method.removeprefix("begin_")
        return f"{self.operation_prefix}_" + "".join(part.title() for part in verb.split("_"))


def sdk_groups() -> dict[str, list[Group]]:
    """Operation groups by attribute name, read from each client's ``__init__`` assignments
    ``self.<attribute> = <Name>Operations(...)`` (several clients may share a name)."""
    groups: dict[str, list[Group]] = defaultdict(list)
    for spec in CLIENTS:
        package, name = spec.split(":")
        client = getattr(importlib.import_module(package), name)
        module = sys.modules[client.__module__]
        tree = ast.parse(textwrap.dedent(inspect.getsource(client.__init__)))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            target, func = node.targets[0], node.value.func
            if (
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "self"
                and isinstance(func, ast.Name)
                and func.id.endswith("Operations")
            ):
                cls = getattr(module, func.id)
                groups[target.attr].append(Group(target.attr, cls, BUILDER_MODULES[package]))
    return dict(groups)


@dataclass(frozen=True)
class Call:
    """An ARM operation the app calls, and where."""

    operation_id: str
    where: str


@dataclass(frozen=True)
class Raw:
    """A request the app builds itself: ``HttpRequest(method, path)``."""

    method: str
    path: str
    where: str


@dataclass
class Inventory:
    calls: list[Call]
    raw: list[Raw]
    unresolved: list[str]  # group references the scan could not follow to a method


def _identifier(node: ast.AST) -> str:
    """The name an expression ends in: ``self._compute`` -> ``_compute``, ``f()`` -> ``f``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _chain_end(node: ast.AST) -> tuple[str, str] | None:
    """(group, method) of ``<expr>.<group>.<method>``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
        return node.value.attr, node.attr
    return None


class _ModuleScan:
    def __init__(self, path: Path, groups: dict[str, list[Group]], base: Path) -> None:
        self.path = path
        self.base = base
        self.groups = groups
        self.tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.parents: dict[ast.AST, ast.AST] = {}
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.calls: list[Call] = []
        self.raw: list[Raw] = []
        self.unresolved: list[str] = []
        self.bare: list[ast.Attribute] = []
        # Names the code reaches SDK clients by (``compute`` in ``compute.disks.get``): only a
        # group read from one of those is an SDK operation group (``disk.tags`` is not).
        self.client_names: set[str] = set()

    def where(self, node: ast.AST) -> str:
        return f"{self.path.relative_to(self.base)}:{getattr(node, 'lineno', 0)}"

    def add(self, groups: Iterable[Group], method: str, node: ast.AST) -> bool:
        found = False
        for group in groups:
            if method in group.methods:
                self.calls.append(Call(group.operation_id(method), self.where(node)))
                found = True
        return found

    def run(self) -> None:
        """First pass: direct calls, builders, raw requests; group references kept for later."""
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute):
                end = _chain_end(node)
                if end is not None and end[0] in self.groups:
                    assert isinstance(node.value, ast.Attribute)
                    if self.add(self.groups[end[0]], end[1], node):
                        self.client_names.add(_identifier(node.value.value))
                        continue
                if node.attr in self.groups and not self._method_taken(node):
                    self.bare.append(node)
            name = node.id if isinstance(node, ast.Name) else getattr(node, "attr", None)
            if isinstance(name, str) and isinstance(node, ast.Name | ast.Attribute):
                self._builder(name, node)
            if isinstance(node, ast.Call):
                self._http_request(node)

    def follow_groups(self, client_names: set[str]) -> None:
        """Second pass: group references read from a client, followed to their methods."""
        for node in self.bare:
            if _identifier(node.value) in client_names:
                self._follow(node)

    def _method_taken(self, node: ast.Attribute) -> bool:
        """Whether ``node`` (``<expr>.<group>``) is itself followed by a method of the group."""
        parent = self.parents.get(node)
        return isinstance(parent, ast.Attribute) and any(
            parent.attr in g.methods for g in self.groups[node.attr]
        )

    def _builder(self, name: str, node: ast.AST) -> None:
        m = _BUILDER.match(name)
        if m is None:
            return
        rest = m.group(1)
        for attribute, groups in self.groups.items():
            if rest.startswith(attribute + "_"):
                method = rest[len(attribute) + 1 :]
                if self.add(groups, method, node) or self.add(groups, "begin_" + method, node):
                    return
        self.unresolved.append(f"{self.where(node)}: request builder {name} names no SDK method")

    def _http_request(self, node: ast.Call) -> None:
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        if called != "HttpRequest":
            return
        args = [*node.args, *(k.value for k in node.keywords if k.arg in {"method", "url"})]
        method = args[0] if args else None
        path = _literal_path(args[1]) if len(args) > 1 else None
        if isinstance(method, ast.Constant) and isinstance(method.value, str) and path:
            self.raw.append(Raw(method.value.upper(), path, self.where(node)))
        elif _follows_next_link(method, args[1] if len(args) > 1 else None):
            # ARM's nextLink continues the list operation whose request builder made the first
            # page (counted there, with its example); it is no operation of its own.
            pass
        else:
            self.unresolved.append(f"{self.where(node)}: HttpRequest without a literal path")

    # ---- a group held in a name, returned from a helper, or read with getattr ------------------

    def _follow(self, node: ast.Attribute) -> None:
        groups = self.groups[node.attr]
        names = self._bound_names(node)
        methods = {
            call.func.attr
            for call in ast.walk(self.tree)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in names
        }
        if self._dynamic_getattr(node):
            methods |= self._builder_methods(groups)
        added = [self.add(groups, method, node) for method in sorted(methods)]  # every one
        if not any(added):
            self.unresolved.append(
                f"{self.where(node)}: operation group '{node.attr}' is used in a way the scan "
                "cannot follow to a method (bind it to a name and call a method on that name)"
            )

    def _dynamic_getattr(self, node: ast.Attribute) -> bool:
        parent = self.parents.get(node)
        return (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Name)
            and parent.func.id == "getattr"
            and parent.args[:1] == [node]
        )

    def _builder_methods(self, groups: list[Group]) -> set[str]:
        """The methods of ``groups`` whose request builders the module names (the typed fallback
        of a builder call goes through getattr on the same names)."""
        found: set[str] = set()
        for node in ast.walk(self.tree):
            name = getattr(node, "attr", None) or getattr(node, "id", None)
            m = _BUILDER.match(name) if isinstance(name, str) else None
            for group in groups if m else ():
                assert m is not None
                prefix = group.attribute + "_"
                if m.group(1).startswith(prefix):
                    found.add(m.group(1)[len(prefix) :])
        return found

    def _bound_names(self, node: ast.Attribute) -> set[str]:
        """Names the group reference ``node`` ends up in: ``x = <group>``, or returned (alone or
        at index i of a tuple) from a function whose callers unpack it."""
        parent = self.parents.get(node)
        index: int | None = None
        if isinstance(parent, ast.Tuple):
            index = parent.elts.index(node)
            holder = self.parents.get(parent)
        else:
            holder = parent
        if isinstance(holder, ast.Assign) and index is None:
            return {t.id for t in holder.targets if isinstance(t, ast.Name)}
        if isinstance(holder, ast.Return):
            function = self._enclosing_function(holder)
            return self._unpacked_from(function, index) if function else set()
        return set()

    def _enclosing_function(self, node: ast.AST) -> str | None:
        current: ast.AST | None = node
        while current is not None:
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
                return current.name
            current = self.parents.get(current)
        return None

    def _unpacked_from(self, function: str, index: int | None) -> set[str]:
        names: set[str] = set()
        for assign in ast.walk(self.tree):
            if not (isinstance(assign, ast.Assign) and isinstance(assign.value, ast.Call)):
                continue
            func = assign.value.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called != function:
                continue
            for target in assign.targets:
                if index is None and isinstance(target, ast.Name):
                    names.add(target.id)
                elif (
                    index is not None
                    and isinstance(target, ast.Tuple)
                    and isinstance(target.elts[index], ast.Name)
                ):
                    element = target.elts[index]
                    assert isinstance(element, ast.Name)
                    names.add(element.id)
        return names


def scan(
    roots: Iterable[Path], groups: dict[str, list[Group]] | None = None, base: Path = ROOT
) -> Inventory:
    """The operations the modules under ``roots`` call (places named relative to ``base``)."""
    groups = sdk_groups() if groups is None else groups
    inventory = Inventory([], [], [])
    modules = [
        _ModuleScan(path, groups, base) for root in roots for path in sorted(root.rglob("*.py"))
    ]
    client_names: set[str] = set()
    for module in modules:
        module.run()
        client_names |= module.client_names
    for module in modules:
        module.follow_groups(client_names)
        inventory.calls += module.calls
        inventory.raw += module.raw
        inventory.unresolved += module.unresolved
    return inventory


# ---- the manifest ---------------------------------------------------------------------------


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / "manifest.json").read_text(encoding="utf-8"))
    return data


def _follows_next_link(method: ast.AST | None, url: ast.AST | None) -> bool:
    """``HttpRequest("GET", next_link)``: a page's nextLink, followed as it is."""
    return (isinstance(method, ast.Constant) and method.value == "GET"
            and isinstance(url, ast.Name) and url.id == "next_link")


def _literal_path(node: ast.expr) -> str | None:
    """The path a request's URL argument spells out: a string, or an f-string whose values
    become ``{x}`` (a leading value before a "/" is the endpoint: a data-plane base URL)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = list(node.values)
    if (
        len(parts) > 1
        and isinstance(parts[0], ast.FormattedValue)
        and isinstance(parts[1], ast.Constant)
        and str(parts[1].value).startswith("/")
    ):
        parts = parts[1:]
    if not parts or not isinstance(parts[0], ast.Constant):
        return None  # a path that starts with a variable says nothing about the operation
    return "".join(str(p.value) if isinstance(p, ast.Constant) else "{x}" for p in parts)


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{\w+\}", path)
    return re.compile("^" + "[^/]+".join(re.escape(p) for p in parts) + "$", re.IGNORECASE)


def raw_operation(raw: Raw, examples: list[dict[str, Any]]) -> str | None:
    for example in examples:
        if example["method"] == raw.method and _template(example["path"]).match(raw.path):
            return str(example["operationId"])
    return None


def missing_examples(inventory: Inventory, data: dict[str, Any]) -> list[str]:
    """Every operation ``inventory`` calls that has no example (nor a reasoned entry saying the
    spec has none), each with where it is called."""
    examples = data["examples"]
    covered = {e["operationId"] for e in examples} | set(data["without_example"])
    where: dict[str, list[str]] = defaultdict(list)
    for call in inventory.calls:
        where[call.operation_id].append(call.where)
    problems = [
        f"{operation} (called at {', '.join(sorted(set(sites)))}) has no official example in "
        f"{EXAMPLES.relative_to(ROOT)}: add one from Azure/azure-rest-api-specs to the manifest"
        for operation, sites in sorted(where.items())
        if operation not in covered
    ]
    for raw in inventory.raw:
        if raw_operation(raw, examples) is None:
            problems.append(
                f"{raw.method} {raw.path} (built at {raw.where}) matches no example's path "
                "template in the manifest"
            )
    return problems + inventory.unresolved


def called_operations(inventory: Inventory, data: dict[str, Any]) -> set[str]:
    raw = {raw_operation(r, data["examples"]) for r in inventory.raw}
    return {c.operation_id for c in inventory.calls} | {op for op in raw if op}


# ---- tests -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def groups() -> dict[str, list[Group]]:
    return sdk_groups()


@pytest.fixture(scope="module")
def app_inventory(groups: dict[str, list[Group]]) -> Inventory:
    return scan(SCANNED, groups)


def test_every_operation_the_app_calls_has_an_official_example(app_inventory: Inventory) -> None:
    problems = missing_examples(app_inventory, manifest())
    assert not problems, "\n".join(problems)


def test_the_scan_sees_the_app_s_operations(app_inventory: Inventory) -> None:
    """The scan is not vacuous: it finds operations reached each way the app calls them."""
    called = called_operations(app_inventory, manifest())
    expected = {
        "VirtualMachines_RunCommand",  # passed on as a reference (capture executor)
        "Disks_GrantAccess",  # begin_* call
        "SharedGalleries_List",  # through a name bound to the group
        "CommunityGalleryImageVersions_Get",  # returned from a helper, unpacked by callers
        "VirtualMachineImages_ListPublishers",  # request builder
        "Resources",  # raw HttpRequest to Resource Graph
        "ResourceGroups_CreateOrUpdate",  # ResourceManagementClient (smoke command)
        "StorageAccounts_ListKeys",  # StorageManagementClient
        "Subscriptions_ListLocations",  # SubscriptionClient
    }
    assert expected <= called, sorted(expected - called)


def test_entries_without_an_official_example_are_still_called(app_inventory: Inventory) -> None:
    """An operation listed as having no example in the spec is one the app calls; the list
    cannot keep an entry the code no longer needs."""
    data = manifest()
    stale = set(data["without_example"]) - called_operations(app_inventory, data)
    assert not stale, f"listed under without_example but no longer called: {sorted(stale)}"
    for operation, entry in data["without_example"].items():
        assert entry.get("reason"), f"{operation}: say why the spec has no example to use"


def test_a_new_operation_without_an_example_fails_naming_it(
    tmp_path: Path, groups: dict[str, list[Group]]
) -> None:
    """What the first test does when someone adds an operation: a scratch module with
    ``compute.disks.begin_update`` (which has no example) is named with its place."""
    scratch = tmp_path / "gui" / "azure"
    scratch.mkdir(parents=True)
    (scratch / "resize.py").write_text(
        "async def grow(compute, group, name, body):\n"
        "    poller = await compute.disks.begin_update(group, name, body)\n"
        "    return await poller.result()\n",
        encoding="utf-8",
    )
    inventory = scan([scratch], groups, tmp_path)
    problems = missing_examples(inventory, manifest())
    assert len(problems) == 1
    assert problems[0].startswith("Disks_Update (called at ")
    assert "resize.py:2" in problems[0]


def test_an_operation_group_the_scan_cannot_follow_fails(
    tmp_path: Path, groups: dict[str, list[Group]]
) -> None:
    scratch = tmp_path / "gui" / "azure"
    scratch.mkdir(parents=True)
    (scratch / "hidden.py").write_text(
        "async def operations(compute):\n"
        "    await compute.disks.get('rg', 'disk')\n"
        "    return [compute.snapshots]\n",
        encoding="utf-8",
    )
    problems = missing_examples(scan([scratch], groups, tmp_path), manifest())
    assert len(problems) == 1
    assert "operation group 'snapshots'" in problems[0]


def _builder_request(group: Group, method: str) -> tuple[str, str]:
    """(HTTP method, URL template) of the request builder behind an SDK method."""
    verb = method.removeprefix("begin_")
    module = importlib.import_module(group.builders)
    # Newer SDKs keep every group's builders in one module, named after group and method; the
    # Marketplace Ordering SDK has a module per group, its builders named after the method.
    builder = getattr(module, f"build_{group.attribute}_{verb}_request", None) or getattr(
        module, f"build_{verb}_request"
    )
    source = inspect.getsource(builder)
    # The URL template: assigned directly, or as the template_url default (older generators).
    url = re.search(r'_url = "([^"]+)"', source) or re.search(
        r'"template_url",\s*"([^"]+)"', source
    )
    http = re.search(r'HttpRequest\(method="(\w+)"', source)
    assert url is not None and http is not None, f"builder of {group.attribute}.{method} changed"
    return http.group(1), url.group(1)


def _sdk_method(operation_id: str, groups: dict[str, list[Group]]) -> tuple[Group, str] | None:
    for candidates in groups.values():
        for group in candidates:
            for method in group.methods:
                if group.operation_id(method) == operation_id:
                    return group, method
    return None


def test_manifest_operation_ids_map_to_sdk_methods_with_the_manifest_s_path(
    groups: dict[str, list[Group]],
) -> None:
    """The operationId mapping checked the other way: each example's operationId is an SDK
    method, and the SDK's request for it has the manifest's method and path template."""
    problems = []
    for example in manifest()["examples"]:
        # Resource Graph and the data-plane APIs (a "host" of their own): no SDK client here
        if example["operationId"] == "Resources" or "host" in example:
            continue
        found = _sdk_method(example["operationId"], groups)
        if found is None:
            problems.append(f"{example['file']}: no SDK method for {example['operationId']}")
            continue
        expected = (example["method"], example["path"])
        got = _builder_request(*found)
        if got != expected:
            problems.append(f"{example['file']}: SDK sends {got}, manifest says {expected}")
    assert not problems, "\n".join(problems)


def _example_files() -> Iterator[Path]:
    yield from sorted(p for p in EXAMPLES.glob("*.json") if p.name != "manifest.json")


def test_manifest_lists_every_example_with_its_source() -> None:
    examples = manifest()["examples"]
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert sorted(e["file"] for e in examples) == [p.name for p in _example_files()]
    for example in examples:
        assert example["source"].startswith("specification/"), example
        assert example["source"].endswith("/" + example["file"]), example
        assert re.fullmatch(r"[0-9a-f]{40}", example["commit"]), example
        assert f"`{example['file']}`" in readme, f"README.md does not list {example['file']}"
        parameters = json.loads((EXAMPLES / example["file"]).read_text(encoding="utf-8"))[
            "parameters"
        ]
        for name in re.findall(r"\{(\w+)\}", example["path"]):
            assert name in parameters, f"{example['file']}: no value for path parameter {name}"

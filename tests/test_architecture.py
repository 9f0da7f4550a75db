"""The shape the layers keep: no import cycle inside gui.qt or gui.azure (import-linter's layers
contract keeps the order between them; this keeps each room's modules from leaning on each other
in a circle, which is what makes a room hard to read and to move)."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest


def _cycles(graph: grimp.ImportGraph, package: str) -> list[list[str]]:
    """Strongly connected components of more than one module among ``package``'s modules
    (Tarjan's algorithm, iterative so deep packages cannot overflow the stack)."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    inside = set(modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & inside) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("gui")


@pytest.mark.parametrize("package", ["gui.qt", "gui.azure"])
def test_no_import_cycle_inside(graph: grimp.ImportGraph, package: str) -> None:
    assert _cycles(graph, package) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    # The check itself must be able to fail: a graph with a two-module cycle is reported.
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph, "pkg") == [["pkg.a", "pkg.b"]]


def test_every_folder_of_code_is_a_regular_package() -> None:
    # setuptools' find_packages ships only folders with an __init__.py: a namespace folder works
    # from a checkout and is missing from the wheel (gui.azure.search was, once).
    gui = Path(__file__).resolve().parents[1] / "gui"
    missing = sorted(
        str(folder.relative_to(gui.parent))
        for folder in [gui, *(p for p in gui.rglob("*") if p.is_dir())]
        if "__pycache__" not in folder.parts
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    )
    assert not missing, f"folders of code without __init__.py (left out of the wheel): {missing}"

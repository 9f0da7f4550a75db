"""Benchmark: the longest GUI-loop stall while the browser lists big ARM listings.

The sandbox runs in a process of its own (as the app's sandbox mode runs it), seeded through its
ARM API with many gallery image versions in one definition and many managed disks in one
resource group. On a qasync loop over a QApplication (the app's loop), a 10 ms QTimer probe
measures the longest stall while the catalog lists

  1. the definition's versions (``gallery_image_versions.list_by_gallery_image``, paged),
  2. "Managed images" (every managed image, disk and snapshot of the subscription, paged),
  3. the disks' resource group (a node per disk, from the listing kept by 2.),

once with the catalog before the raw listings (``gui/azure/catalog/service.py`` at
``BASELINE``, extracted from git into a scratch directory and imported from there: its SDK
pagers build every item's model on the loop) and once with the current one, interleaved, round
after round, in the same run. Figures are the median over rounds of each listing's stall.

The sandbox pages ARM lists by 100 items (Azure by up to 1,000), so the baseline's stall per page
here is a tenth of what a page of Azure's costs it.

Seeding: the sandbox's store rewrites its whole state file on every PUT, so 4,000 PUTs take
hours. One version and one disk are created through its ARM API; with the sandbox stopped, its
stored answers for them are copied under new names (fresh ids) up to the counts asked, and the
sandbox is started again on that state.

Run: QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_listings.py
     [--versions 2000] [--disks 2000] [--rounds 3] [--state DIR (seeded once, kept)]
     [--switch-interval S]
"""

from __future__ import annotations

import argparse
import copy as copy_module
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks.probes import StallProbe, StallSampler  # noqa: E402

# The last commit whose catalog listed through the SDK's typed pagers.
BASELINE = "dc26487"
LISTINGS = ("versions", "managed", "disk group")


def _baseline_module(scratch: Path) -> ModuleType:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BASELINE}:gui/azure/catalog/service.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = scratch / "baseline_catalog_service.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_catalog_service", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _multiply(state_file: Path, versions: int, disks: int) -> None:
    """Copies the sandbox's stored first version and first disk under new names (see Seeding)."""
    from tests.azure import listing_seed as seed

    doc = json.loads(state_file.read_text(encoding="utf-8"))
    resources: list[dict[str, Any]] = doc["resources"]
    version = next(r for r in resources if r["id"].endswith("/versions/" + seed.version_name(0)))
    disk = next(r for r in resources if r["name"] == seed.disk_name(0))
    for template, count, name_of in (
        (version, versions, seed.version_name),
        (disk, disks, seed.disk_name),
    ):
        parent = template["id"].rsplit("/", 1)[0]
        for index in range(1, count):
            copy = copy_module.deepcopy(template)
            copy["name"] = name_of(index)
            copy["id"] = f"{parent}/{copy['name']}"
            if "uniqueId" in copy["properties"]:
                copy["properties"]["uniqueId"] = str(uuid.uuid4())
            resources.append(copy)
    state_file.write_text(json.dumps(doc), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=int, default=2000)
    parser.add_argument("--disks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--state", type=Path, help="sandbox state dir, seeded once and kept")
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="the interpreter's GIL switch interval (s) for the whole run, both catalogs",
    )
    args = parser.parse_args()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)

    from gui.azure.account.session import sandbox_session
    from gui.azure.catalog import service
    from gui.azure.catalog.nodes import CatalogNode, NodeKind, NodeRef, SourceKind
    from gui.qt.main_window import settle_heap
    from gui.sandbox.process import SandboxProcess
    from tests.azure import listing_seed as seed
    from tests.benchmarks.gui_loop import GuiLoop

    scratch = Path(tempfile.mkdtemp(prefix="ais-bench-listings-"))
    baseline = _baseline_module(scratch)
    state = args.state or scratch / "sandbox"
    fresh = not (state / ".seeded").exists()
    gui = GuiLoop()
    run = gui.run
    server = SandboxProcess(state, reset=fresh)
    server.start()
    session = sandbox_session(server.arm_url)
    try:
        if fresh:
            compute = session.compute(seed.SUB)
            run(seed.seed_versions(compute, 1), timeout=600)
            run(seed.seed_disks(compute, 1), timeout=600)
            run(session.close())
            server.stop()
            _multiply(state / "arm-state.json", args.versions, args.disks)
            (state / ".seeded").write_text(f"{args.versions} {args.disks}\n")
            server = SandboxProcess(state)
            server.start()
            session = sandbox_session(server.arm_url)
        scope = service.Scope(seed.SUB, seed.LOCATION)
        versions_node = CatalogNode(
            NodeRef(SourceKind.GALLERY, (seed.GROUP, seed.GALLERY, seed.DEFINITION)),
            NodeKind.DEFINITION,
            seed.DEFINITION,
        )
        managed = next(n for n in service.Catalog.roots() if n.ref.source is SourceKind.MANAGED)
        # One probe per catalog, each with its sampler (BENCH_SAMPLE_STALLS=1 says where the
        # GUI thread was while it stalled); a probe's last tick is cleared when it stops, so
        # its sampler sleeps while the other catalog lists.
        probes = {"before": StallProbe(), "after": StallProbe()}
        samplers = {which: StallSampler(probe) for which, probe in probes.items()}
        sampling = bool(os.environ.get("BENCH_SAMPLE_STALLS"))

        def measure(module: Any, probe: StallProbe) -> dict[str, tuple[float, float, float, int]]:
            """Each listing's longest stall, the GUI thread's CPU in its longest step, its wall
            time (seconds) and its node count, with a catalog of ``module``."""
            catalog = module.Catalog(session, scope)
            found: dict[str, tuple[float, float, float, int]] = {}
            groups: list[CatalogNode] = []
            for name in LISTINGS:
                if name == "versions":
                    work = catalog.children(versions_node)
                elif name == "managed":
                    work = catalog.children(managed)
                else:
                    group = next(n for n in groups if n.label == seed.DISK_GROUP)
                    work = catalog.children(group)
                probe.start()
                # the probe's first tick is its reference: work before it would go unseen
                gui.wait(lambda: probe.last > 0)
                started = time.perf_counter()
                nodes = run(work, timeout=600)
                ended = time.perf_counter()
                # a stall that ends the work is seen at the next tick, after run() returned
                gui.wait(partial(lambda end: probe.last >= end, ended))
                stall = probe.stop()
                probe.last = 0.0
                wall = ended - started
                if name == "managed":
                    groups = nodes
                found[name] = (stall, probe.worst_cpu, wall, len(nodes))
            return found

        results: dict[str, list[dict[str, tuple[float, float, float, int]]]] = {
            "before": [], "after": []
        }
        modules = {"before": baseline, "after": service}
        for which in ("after", "before"):  # warm both (imports, first connection, SDK costs)
            measure(modules[which], probes[which])
        # as the window does once connected: start-up's objects out of the collector's reach
        settle_heap()
        if sampling:  # the measured rounds only
            for sampler in samplers.values():
                sampler.start()
        for _ in range(args.rounds):
            for which in ("before", "after"):
                results[which].append(measure(modules[which], probes[which]))
        if sampling:
            for which, sampler in samplers.items():
                sampler.stop()
                print(f"--- {which}:\n{sampler.report()}")
    finally:
        run(session.close())
        server.stop()

    def median(which: str, name: str, field: int) -> float:
        return statistics.median(r[name][field] for r in results[which])

    print(f"Longest GUI-loop stall while listing (sandbox in its own process, pages of 100; "
          f"median of {args.rounds} interleaved rounds; baseline {BASELINE}; GIL switch "
          f"interval {sys.getswitchinterval() * 1000:g} ms)")
    for name in LISTINGS:
        count = results["after"][0][name][3]
        before, after = median("before", name, 0), median("after", name, 0)
        ratio = f"{after / before:.2f}" if before else "n/a"
        print(
            f"  {name:10s} ({count} nodes): before {before * 1000:6.1f} ms, after "
            f"{after * 1000:6.1f} ms, ratio {ratio} "
            f"(GUI-thread CPU in the longest step: {median('before', name, 1) * 1000:.1f} → "
            f"{median('after', name, 1) * 1000:.1f} ms; listing wall time: "
            f"{median('before', name, 2):.2f} → {median('after', name, 2):.2f} s)"
        )
    assert all(
        results["before"][0][name][3] == results["after"][0][name][3] for name in LISTINGS
    ), "the baseline and the current catalog listed different nodes"


if __name__ == "__main__":
    main()

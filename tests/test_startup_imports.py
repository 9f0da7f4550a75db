"""What a cold start imports before the first paint: the window must not pay for the upload
engine's HTTP stack (aiohttp) or the Azure SDK, which load when they are first used."""

from __future__ import annotations

import subprocess
import sys

import gui.transfer


def test_the_window_module_imports_neither_aiohttp_nor_the_azure_sdk() -> None:
    probe = (
        "import sys, gui.app; "
        "print(sorted(m for m in ('aiohttp', 'azure.mgmt.compute', 'azure.identity') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_name_the_transfer_package_exports_resolves() -> None:
    # The package loads its names on first use; each one must still be there, and be the
    # object itself (a class, function or constant), never a submodule of the same name.
    for name in gui.transfer.__all__:
        value = getattr(gui.transfer, name)
        assert type(value).__name__ != "module", name

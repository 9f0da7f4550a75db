"""Print a pip constraints file pinning every runtime dependency to its declared floor.

``pip install -c <this output>`` then installs the lowest versions pyproject.toml allows, so the
lowest-versions CI job (``.ci/lowest-versions``) proves the floors are true. pip has no
"resolve lowest" switch (uv's ``--resolution lowest`` is not available offline here), and a
constraints file of ``name==floor`` is the documented way to pin without adding requirements.

A runtime dependency without a ``>=`` floor is an error: an unbounded dependency has no floor to
prove, so it would silently float in the lowest-versions run.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement


def floors(pyproject: Path) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    pins = []
    for text in project["dependencies"]:
        requirement = Requirement(text)
        lower = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(lower) != 1:
            raise SystemExit(f"{pyproject}: {text!r} needs exactly one '>=' floor")
        pins.append(f"{requirement.name}=={lower[0]}")
    return pins


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "pyproject.toml"
    print("\n".join(floors(path)))

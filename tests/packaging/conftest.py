"""packaging/ holds build scripts, not a package: its modules import each other by name, as they do
when PyInstaller or a developer runs them, so the tests find them the same way."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
if str(PACKAGING) not in sys.path:
    sys.path.insert(0, str(PACKAGING))

import buildinfo  # noqa: E402

from tests.packaging.helpers import ROOT, run  # noqa: E402

SPEC_NAME = "azure-image-studio.spec"


# The builds below are slow (a wheel and a fresh venv, a PyInstaller bundle, a .deb): each is made
# once per session and shared by the tests that look at it.


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel ``pip wheel`` builds from the checkout."""
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         "-q", "-w", out, ROOT])
    (built,) = out.glob("azure_image_studio-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the wheel (and its dependencies) installed."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    run([sys.executable, "-m", "venv", venv])
    # --no-compile: no byte-compiling of every installed module (the SDKs hold thousands);
    # imports compile what they load, as on a user's first start.
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--no-compile", wheel], timeout=900)
    return venv


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PyInstaller one-folder bundle built by packaging/azure-image-studio.spec."""
    work = tmp_path_factory.mktemp("pyinstaller")
    run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", work / "dist", "--workpath", work / "build", PACKAGING / SPEC_NAME],
        timeout=1500, cwd=work)
    return work / "dist" / buildinfo.BUNDLE_DIR


@pytest.fixture(scope="session")
def deb(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb packaging/build_deb.py makes from the bundle."""
    work = tmp_path_factory.mktemp("deb")
    done = run([sys.executable, PACKAGING / "build_deb.py", "--bundle", bundle,
                "--out", work / "out", "--work", work / "tree"], timeout=900)
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def deb_root(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb unpacked with ``dpkg -x`` into a scratch root, as dpkg would install it."""
    root = tmp_path_factory.mktemp("root")
    run(["dpkg", "-x", deb, root])
    return root

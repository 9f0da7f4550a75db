"""Build the Debian package from the PyInstaller bundle, with no network.

    pyinstaller packaging/azure-image-studio.spec
    python packaging/build_deb.py [--bundle dist/azure-image-studio] [--out dist]

writes ``dist/azure-image-studio_<version>_<arch>.deb``, installable with
``sudo apt install ./dist/azure-image-studio_*.deb``. Layout:

- ``/usr/lib/azure-image-studio/``: the bundle, and ``/usr/bin/azure-image-studio`` linking to it;
- ``/usr/share/applications``, ``metainfo``, ``mime/packages``, ``icons/hicolor``: the desktop
  entry, AppStream metainfo, MIME definition and icons (``gui.qt.desktop``, the same files
  ``--install-desktop`` writes for one user). The desktop's dpkg triggers (shared-mime-info,
  desktop-file-utils, the icon theme) refresh their caches, so no maintainer script is needed.

``Depends`` is what the bundle links against outside itself: every ELF file in the bundle is run
through ``ldd`` and each system library it loads is mapped to its package with ``dpkg -S``
(what dpkg-shlibdeps does, without its need for a Debian source tree).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import buildinfo
from buildinfo import BUNDLE_DIR, COMMAND, HOMEPAGE, PUBLISHER, ROOT, __version__

INSTALL_DIR = f"usr/lib/{BUNDLE_DIR}"
PACKAGE = COMMAND
ELF_MAGIC = b"\x7fELF"
# Qt plugins that are loaded only where their libraries already are, and whose absence Qt
# survives: a kiosk's EGL devices, VNC and the framebuffer (only with -platform), the Wayland
# client (a Wayland session has libwayland; without it Qt uses X11 through XWayland) and the GTK
# theme (GNOME has GTK). Their libraries are not dependencies; the X11 plugin's are.
OPTIONAL_PLUGINS = (
    "plugins/egldeviceintegrations/", "plugins/platforms/libqeglfs", "plugins/platforms/libqvnc",
    "plugins/platforms/libqlinuxfb", "plugins/platforms/libqwayland", "plugins/wayland-",
    "plugins/platformthemes/libqgtk3", "libQt6WaylandClient", "libQt6WlShellIntegration",
    "libQt6EglFsKmsSupport", "libQt6EglFSDeviceIntegration",
)


class DebBuildError(RuntimeError):
    """The .deb cannot be built from this bundle or on this machine; the message says why."""


def _elf_files(bundle: Path) -> list[Path]:
    found = []
    for path in bundle.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as f:
                if f.read(4) == ELF_MAGIC:
                    found.append(path)
    return found


def _optional(path: Path, bundle: Path) -> bool:
    relative = path.relative_to(bundle).as_posix()
    return any(marker in relative for marker in OPTIONAL_PLUGINS)


def system_libraries(bundle: Path) -> set[Path]:
    """The libraries outside ``bundle`` that its ELF files load (``ldd``, resolved)."""
    libraries: set[Path] = set()
    missing: dict[str, str] = {}
    resolved_bundle = bundle.resolve()
    elves = _elf_files(bundle)
    # The bootloader puts the bundle's folder first on the library path, so a library the bundle
    # carries is never the system's, whatever ldd (which does not know that) resolves it to.
    bundled = {elf.name for elf in elves}
    for elf in elves:
        if _optional(elf, bundle):
            continue
        done = subprocess.run(["ldd", str(elf)], capture_output=True, text=True, check=False)
        for line in done.stdout.splitlines():
            name, _, target = line.strip().partition(" => ")
            if name in bundled:
                continue
            if target.startswith("not found"):
                missing[name] = str(elf.relative_to(bundle))
                continue
            match = re.match(r"(/\S+)", target or name)
            if match is None:
                continue  # linux-vdso and the like: no file
            library = Path(match.group(1)).resolve()
            if resolved_bundle not in library.parents:
                libraries.add(library)
    if missing:
        listing = ", ".join(f"{lib} (for {user})" for lib, user in sorted(missing.items()))
        raise DebBuildError(
            f"the bundle needs libraries this machine lacks: {listing}; install them "
            "(apt install the packages that provide them) and build again."
        )
    return libraries


def library_packages(libraries: set[Path]) -> dict[str, str]:
    """``{package: version}`` of the Debian packages that provide ``libraries``."""
    packages: dict[str, str] = {}
    for library in sorted(libraries):
        candidates = [str(library)]
        # usrmerge: dpkg may know the file by its /lib path while ldd resolves /usr/lib.
        if str(library).startswith("/usr/lib/"):
            candidates.append(str(library).removeprefix("/usr"))
        for candidate in candidates:
            done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True,
                                  check=False)
            if done.returncode == 0:
                package = done.stdout.split(":", 1)[0].split(",")[0].strip()
                packages[package] = ""
                break
        else:
            raise DebBuildError(f"{library} belongs to no Debian package; the bundle cannot "
                                "declare it as a dependency.")
    for package in packages:
        done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package],
                              capture_output=True, text=True, check=True)
        packages[package] = done.stdout.strip()
    return packages


def depends(packages: dict[str, str]) -> str:
    """The Depends field: libc6 at least the build machine's (symbols are versioned up to it),
    every other library package by name (its soname already pins the ABI)."""
    parts = []
    for package in sorted(packages):
        upstream = packages[package].split("-")[0]
        parts.append(f"{package} (>= {upstream})" if package == "libc6" else package)
    return ", ".join(parts)


def _tree_size_kib(root: Path) -> int:
    total = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir())
    return (total + 1023) // 1024


def build(bundle: Path, out_dir: Path, work: Path) -> Path:
    """Lay out the package tree under ``work`` and build the .deb into ``out_dir``."""
    executable = bundle / COMMAND
    if not executable.is_file():
        raise DebBuildError(f"{executable} does not exist: run "
                            "`pyinstaller packaging/azure-image-studio.spec` first.")
    for tool in ("dpkg-deb", "dpkg", "ldd"):
        if shutil.which(tool) is None:
            raise DebBuildError(f"{tool} is missing: build the .deb on Debian or Ubuntu.")
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    packages = library_packages(system_libraries(bundle))

    root = work / f"{PACKAGE}_{__version__}_{arch}"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(bundle, root / INSTALL_DIR, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin" / COMMAND).symlink_to(f"../lib/{BUNDLE_DIR}/{COMMAND}")
    _install_desktop_files(root / "usr/share")
    doc = root / "usr/share/doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {buildinfo.APP_NAME}\nSource: {HOMEPAGE}\n\n"
        f"Files: *\nCopyright: {PUBLISHER}\nLicense: MIT\n",
        encoding="utf-8",
    )
    control = root / "DEBIAN" / "control"
    control.parent.mkdir()
    control.write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {__version__}\n"
        f"Architecture: {arch}\n"
        f"Maintainer: {PUBLISHER} <noreply@users.noreply.github.com>\n"
        f"Installed-Size: {_tree_size_kib(root)}\n"
        f"Depends: {depends(packages)}\n"
        "Recommends: qemu-utils\n"
        "Section: utils\n"
        "Priority: optional\n"
        f"Homepage: {HOMEPAGE}\n"
        "Description: Browse, inspect, capture and upload Azure VM images\n"
        " A desktop studio for Azure virtual-machine image administrators: every image\n"
        " source in one tree, image and disk details, uploads of local disk images as\n"
        " managed disks, blobs, managed images or gallery versions, and VM capture.\n",
        encoding="utf-8",
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{root.name}.deb"
    # --root-owner-group: files owned by root without fakeroot. zstd at level 3: 2 s for this
    # 223 MB bundle where gzip -9 took 47 s, and 2 % smaller; dpkg reads it since 1.21.18
    # (Debian 12, Ubuntu 21.10, which builds its own packages so), older than any system the
    # libc6 dependency lets the package on anyway.
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zzstd", "-z3", "--build", str(root),
                    str(deb)], check=True, stdout=subprocess.DEVNULL)
    return deb


def _install_desktop_files(share: Path) -> None:
    # In a child process: the icons are drawn by Qt (offscreen), and this script stays Qt-free.
    code = ("import sys; from pathlib import Path; from gui.qt.desktop import install; "
            "from PySide6.QtGui import QGuiApplication; "
            "app = QGuiApplication([sys.argv[0], '-platform', 'offscreen']); "
            f"install(Path(sys.argv[1]), [{COMMAND!r}])")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", code, str(share)], check=True, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / BUNDLE_DIR)
    parser.add_argument("--out", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "deb")
    args = parser.parse_args()
    try:
        deb = build(args.bundle, args.out, args.work)
    except DebBuildError as error:
        print(f"Cannot build the .deb: {error}", file=sys.stderr)
        return 1
    print(deb)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

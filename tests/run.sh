#!/usr/bin/env bash
# Installs everything the tests need on a fresh Debian/Ubuntu machine (system packages, Azurite,
# a virtualenv with the project and its test extras), then runs the linters and the test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=packaging/preflight.sh
source packaging/preflight.sh
# Python >= 3.11 with venv first (preflight.sh says what to install otherwise).
# desktop-file-utils, appstream, libxml2-utils and shared-mime-info: the packaging tests validate
# the desktop entry, the metainfo and the MIME XML with the tools desktops use. gdisk … btrfs-progs:
# the guest-facts tests partition and format disk images (without root or loop devices).
find_python
debs=(qemu-utils libvhdi-utils xvfb xauth libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4
      libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0 libegl1 libgl1
      libfontconfig1 libdbus-1-3 tinyproxy desktop-file-utils appstream libxml2-utils
      shared-mime-info gdisk fdisk dosfstools mtools e2fsprogs xfsprogs ntfs-3g btrfs-progs
      nodejs npm)
# nodejs may come from elsewhere than Debian; only ask apt for it when there is no node at all.
if command -v node >/dev/null 2>&1; then
    debs=("${debs[@]/nodejs}"); debs=("${debs[@]/npm}")
fi
read -r -a debs <<< "${debs[*]}"
install_debs "${debs[@]}"

# Azurite, the Azure Storage emulator (3.35.0 is the last release that runs on Node 20).
if [ ! -x .cache/azurite/node_modules/.bin/azurite ]; then
    mkdir -p .cache/azurite
    npm install --prefix .cache/azurite --no-audit --no-fund --loglevel=error azurite@3.35.0
fi
export PATH="$PWD/.cache/azurite/node_modules/.bin:$PATH"

if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,build]'
# shellcheck disable=SC1091
source .venv/bin/activate

echo "== ruff";         ruff check .
echo "== mypy";         mypy
echo "== import-linter"; lint-imports
echo "== pytest"
export QT_QPA_PLATFORM=offscreen
exec python -m pytest "$@"

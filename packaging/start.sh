#!/usr/bin/env bash
# Installs Azure Image Studio into .venv (and the Qt runtime libraries on Debian/Ubuntu when they
# are missing), then starts it. Without an Azure sign-in it opens in the embedded sandbox.
# Extra arguments go to the app (e.g. --sandbox, --sandbox-reset, a .vhd file).
# Needs Python 3.11 or later with venv; says what to install when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=packaging/preflight.sh
source packaging/preflight.sh
find_python
install_debs libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 \
    libxcb-render-util0 libxcb-image0 libegl1 libgl1 libfontconfig1 libdbus-1-3
if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/azure-image-studio "$@"

#!/usr/bin/env bash
# Installs Azure Image Studio into .venv (and the Qt runtime libraries on Debian/Ubuntu when they
# are missing), then starts it. Without an Azure sign-in it opens in the embedded sandbox.
# Extra arguments go to the app (e.g. --sandbox, --sandbox-reset, a .vhd file).
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v dpkg >/dev/null 2>&1; then
    SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    debs=(libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0
          libxcb-render-util0 libxcb-image0 libegl1 libgl1 libfontconfig1 libdbus-1-3)
    missing=()
    for deb in "${debs[@]}"; do dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb"); done
    if [ "${#missing[@]}" -gt 0 ]; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
exec .venv/bin/azure-image-studio "$@"

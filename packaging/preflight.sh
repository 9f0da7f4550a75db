# Checks a newcomer's machine before packaging/start.sh and tests/run.sh install anything.
# Sourced (not run) by both: `source packaging/preflight.sh`, then `find_python` (sets $PYTHON)
# and `install_debs PACKAGE...` (as root, through sudo, or a clear message why it cannot).
# Each failure says what to install on Debian/Ubuntu, Fedora and macOS, and exits 1.

MIN_PYTHON_MAJOR=3
MIN_PYTHON_MINOR=11

_python_advice() {
    echo "  Debian 12 / Ubuntu 24.04 or later: sudo apt install python3 python3-venv" >&2
    echo "  Ubuntu 22.04:                      sudo apt install python3.11 python3.11-venv" >&2
    echo "  Fedora:                            sudo dnf install python3.12" >&2
    echo "  macOS:                             brew install python@3.12 (or the python.org installer)" >&2
}

# Sets PYTHON to the first python3.13, python3.12, python3.11 or python3 on PATH that is at least
# 3.11 and can make a virtual environment with pip.
find_python() {
    PYTHON=""
    local candidate found_old=""
    for candidate in python3.13 python3.12 python3.11 python3; do
        command -v "$candidate" >/dev/null 2>&1 || continue
        if "$candidate" -c "import sys; sys.exit(sys.version_info < ($MIN_PYTHON_MAJOR, $MIN_PYTHON_MINOR))" 2>/dev/null; then
            PYTHON="$(command -v "$candidate")"
            break
        fi
        found_old="$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo "?")"
    done
    if [ -z "$PYTHON" ]; then
        if [ -n "$found_old" ]; then
            echo "Azure Image Studio needs Python $MIN_PYTHON_MAJOR.$MIN_PYTHON_MINOR or later; this machine has Python $found_old. Install a newer one:" >&2
        else
            echo "Azure Image Studio needs Python $MIN_PYTHON_MAJOR.$MIN_PYTHON_MINOR or later, and no python3 was found. Install it:" >&2
        fi
        _python_advice
        exit 1
    fi
    # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate package.
    if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
        local version
        version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        echo "$PYTHON (Python $version) cannot create a virtual environment: its venv module or pip bootstrap (ensurepip) is missing. Install it:" >&2
        echo "  Debian/Ubuntu: sudo apt install python$version-venv" >&2
        echo "  Fedora:        sudo dnf install python$version" >&2
        echo "  macOS:         brew reinstall python@$version" >&2
        exit 1
    fi
}

# Runs "$@" as root: directly when root, else through sudo; without sudo it says what to run.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        if ! sudo -n true 2>/dev/null; then
            echo "sudo will ask for your password to run: $*" >&2
        fi
        sudo "$@"
    else
        echo "Installing system packages needs root, and sudo is not installed. Run as root:" >&2
        echo "  $*" >&2
        echo "then run this script again." >&2
        exit 1
    fi
}

# Installs the Debian packages among "$@" that are missing (on Debian/Ubuntu only).
install_debs() {
    command -v dpkg >/dev/null 2>&1 || return 0
    local missing=() deb
    for deb in "$@"; do
        dpkg -s "$deb" >/dev/null 2>&1 || missing+=("$deb")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    echo "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

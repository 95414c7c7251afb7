#!/usr/bin/env bash
# Makes sure .venv exists and holds the project (with the given extras), on a fresh Debian machine too.
#   bash tools/venv.sh            the app only (what `rathaus demo` needs)
#   bash tools/venv.sh test       the app and everything the tests need
# Sourced by tests/run.sh, which uses its helpers (note, die, as_root, apt_install).
# PYTHON picks the interpreter that creates .venv (default python3, 3.11 or newer).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"

note() { printf 'rathaus: %s\n' "$*" >&2; }
die() {
    printf 'rathaus: error: %s\n' "$*" >&2
    exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }

# Runs a command as root: directly when we are root, through sudo when it exists, else fails.
as_root() {
    if is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}
can_be_root() { is_root || command -v sudo >/dev/null 2>&1; }

APT_UPDATED=0
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ "$APT_UPDATED" -eq 0 ]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || return 1
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

venv_works() { [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; }

ensure_venv() {  # [extras]
    local extras="${1:-}" lock="$ROOT/requirements/app.txt" stamp="$VENV/.rathaus-installed"
    [ -n "$extras" ] && lock="$ROOT/requirements/$extras.txt" && stamp="$VENV/.rathaus-installed-$extras"
    [ -f "$lock" ] || die "no lock file $lock (the extras with one: test)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || die "$PYTHON is missing or older than 3.11 (set PYTHON=/path/to/python3.11+)"
    if ! venv_works; then
        if [ -L "$VENV" ] || { [ -e "$VENV" ] && [ ! -d "$VENV" ]; }; then
            die "$VENV is a file or a link, not a virtual environment; remove it and run again"
        fi
        note "creating .venv"
        if ! "$PYTHON" -m venv --clear "$VENV" >/dev/null 2>&1; then
            # Debian ships venv/ensurepip separately (python3-venv).
            local pyver
            pyver="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            if can_be_root && { apt_install "python${pyver}-venv" || apt_install python3-venv; }; then
                "$PYTHON" -m venv --clear "$VENV"
            else
                die "'$PYTHON -m venv' failed; install the venv module (Debian: apt-get install python3-venv)"
            fi
        fi
        rm -f "$VENV"/.rathaus-installed*
    fi
    if [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ] || [ "$lock" -nt "$stamp" ]; then
        # Exactly the pinned releases, each file checked against its hash (the lock: tools/lock.sh); then the
        # project itself, without resolving anything more.
        note "installing ${lock#"$ROOT"/} and the project into .venv"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/pip" install -q --require-hashes -r "$lock"
        (cd "$ROOT" && "$VENV/bin/pip" install -q --no-deps -e .)
        touch "$stamp"
    fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    ensure_venv "${1:-}"
fi

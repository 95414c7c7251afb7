#!/usr/bin/env bash
# Pins every dependency of the app (requirements/app.txt) and of the tests (requirements/test.txt), with the
# hashes of their files, from pyproject.toml. The Dockerfile and tools/venv.sh install from these files only.
#   bash tools/lock.sh              pin what pyproject.toml asks for, keeping the pins that still fit
#   bash tools/lock.sh --upgrade    move every pin to the newest release that fits
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
TOOLS="$(mktemp -d "${TMPDIR:-/tmp}/rathaus-lock.XXXXXX")"
trap 'rm -rf "$TOOLS"' EXIT
"$PYTHON" -m venv "$TOOLS"
"$TOOLS/bin/pip" install -q "pip-tools>=7.4"
cd "$ROOT"
for target in app:redis test:test,redis; do
    name="${target%%:*}" extras="${target#*:}"
    args=()
    for extra in ${extras//,/ }; do args+=(--extra "$extra"); done
    CUSTOM_COMPILE_COMMAND="bash tools/lock.sh" "$TOOLS/bin/pip-compile" -q --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
        --no-emit-find-links --no-emit-trusted-host \
        "${args[@]}" "$@" --output-file "requirements/$name.txt" pyproject.toml
done
echo "requirements/app.txt and requirements/test.txt are up to date"

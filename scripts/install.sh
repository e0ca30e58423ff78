#!/usr/bin/env bash
# Install what geo_dash needs on Debian 12 / Ubuntu 24.04 (idempotent; quick when all is there):
#   PostgreSQL + PostGIS (OS packages), a Python virtual environment in .venv with geo_dash in it,
#   and with --test also Chromium + chromedriver (browser tests) and poppler-utils (PDF checks).
# Run as root or as a user with sudo (only apt-get needs it).
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# --- OS packages ---------------------------------------------------------------------------
pg_version() {
    # newest installed server first, else the distribution's default
    local v
    v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1 || true)
    if [ -z "$v" ]; then
        v=$(apt-cache depends postgresql 2>/dev/null | grep -o 'postgresql-[0-9]\+' | head -n 1 | cut -d- -f2 || true)
    fi
    echo "$v"
}

missing=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

PGV=$(pg_version)
if [ -z "$PGV" ]; then
    $SUDO apt-get update -qq
    PGV=$(pg_version)
fi
for p in "postgresql-$PGV" "postgresql-$PGV-postgis-3" python3-venv; do have "$p" || missing+=("$p"); done
if [ "$WITH_TEST" = 1 ]; then
    for p in chromium chromium-driver poppler-utils; do have "$p" || missing+=("$p"); done
fi
if [ "${#missing[@]}" -gt 0 ]; then
    echo "geo_dash: installing OS packages: ${missing[*]}"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts its own cluster on port 5432; geo_dash does not need it.

# --- Python ------------------------------------------------------------------------------------
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "geo_dash needs Python >= 3.11")'
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.geo_dash-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)-$WITH_TEST
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "geo_dash: installing Python packages into .venv"
    .venv/bin/python -m pip install -q --upgrade pip
    if [ "$WITH_TEST" = 1 ]; then
        .venv/bin/python -m pip install -q -e ".[test]"
    else
        .venv/bin/python -m pip install -q -e .
    fi
    echo "$want" > "$stamp"
fi
echo "geo_dash: ready (PostgreSQL $PGV, $(.venv/bin/python --version))"

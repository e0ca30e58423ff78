#!/usr/bin/env bash
# One command: install what is missing, start geo_dash's own PostGIS, load the boundaries
# (and demo data), and serve the dashboard on http://127.0.0.1:8050 .
# Extra arguments go to `geo-dash serve` (e.g. --port 8060).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
.venv/bin/geo-dash setup
if .venv/bin/geo-dash demo --help >/dev/null 2>&1; then
    .venv/bin/geo-dash demo load --if-empty
fi
exec .venv/bin/geo-dash serve --no-setup "$@"

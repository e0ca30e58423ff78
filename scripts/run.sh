#!/usr/bin/env bash
# One command: install what is missing, start geo_dash's own PostGIS, load the boundaries, the demo
# data (clearly marked synthetic) and the demo context layers, compute the hotspot analytics, make
# the first admin account (its password is printed once), and serve http://127.0.0.1:8050 .
# Extra arguments go to `geo-dash serve` (e.g. --port 8060).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
GD=.venv/bin/geo-dash
$GD setup
$GD demo load --if-empty
$GD layers demo
if $GD analytics status | grep -q "no analytics run yet"; then
    $GD analytics refresh --as-of 2025-06-30   # the demo data ends in June 2025
fi
$GD users bootstrap
exec $GD serve --no-setup "$@"

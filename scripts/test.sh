#!/usr/bin/env bash
# One command: install what is missing (incl. Chromium for the browser tests) and run the whole
# test suite against a real PostGIS cluster that the tests start themselves in /tmp.
# Extra arguments go to pytest (e.g. -k boundaries, -x).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh --test || exit 1
.venv/bin/python -m pytest "$@"
status=$?
if [ "$status" -eq 5 ]; then
    echo "geo_dash: pytest collected no tests: that is a failure" >&2
    exit 1
fi
exit "$status"

#!/usr/bin/env bash
# Set up .venv (scripts/setup.sh), then run the baseline scenario.
# Extra arguments are appended to the `reegame run` command line.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/setup.sh"

exec "$ROOT/.venv/bin/reegame" run baseline --months 240 --seed 7 --out runs/baseline "$@"

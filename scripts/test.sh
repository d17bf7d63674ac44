#!/usr/bin/env bash
# Run the test suite: set up .venv (scripts/setup.sh), make sure Debian's Chromium
# is there for the browser tests (scripts/install_browser.sh), then pytest.
# Extra arguments go to pytest, e.g. `scripts/test.sh tests/browser -q`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/install_browser.sh"

# Belt and braces: no usage telemetry from anything Solara started by the tests.
export SOLARA_TELEMETRY_MIXPANEL_ENABLE=False

exec "$ROOT/.venv/bin/python" -m pytest "$@"

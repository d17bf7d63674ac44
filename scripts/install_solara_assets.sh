#!/usr/bin/env bash
# Install Solara's browser assets so the app works with no CDN (idempotent).
#
# Solara's server proxies its front-end assets under /_solara/cdn/ and serves
# them from its cache directory, $VIRTUAL_ENV/share/solara/cdn/<name>@<version>/
# (the unpacked npm package); only on a miss does it fetch from the public CDN,
# which these machines (and air-gapped users) cannot reach. We fill that cache
# from the npm registry with `npm pack`. See docs/offline.md.
#
# Usage: scripts/install_solara_assets.sh [VENV_DIR]   (default: <repo>/.venv)
# The cache directory honours SOLARA_ASSETS_PROXY_CACHE_DIR, as Solara does.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$ROOT/.venv}"
VENV="$(cd "$VENV" && pwd)"
CDN_DIR="${SOLARA_ASSETS_PROXY_CACHE_DIR:-$VENV/share/solara/cdn}"

# <npm spec> as Solara 1.64 (ipyvue/ipyvuetify < 2) requests it. The directory
# name is exactly the spec: semver ranges (vega@5) included.
ASSETS=(
    "@widgetti/solara-vuetify-app@10.1.1"
    "@widgetti/vue-grid-layout@2.3.13-alpha.2"
    "requirejs@2.3.6"
    "font-awesome@4.5.0"
    "vega@5"
    "vega-lite@5"
    "vega-embed@6"
)
# A file per asset that must be there once it is unpacked (what Solara loads).
declare -A KEY_FILE=(
    ["@widgetti/solara-vuetify-app@10.1.1"]="dist/solara-vuetify-app8.min.js"
    ["@widgetti/vue-grid-layout@2.3.13-alpha.2"]="dist/vue-grid-layout.umd.js"
    ["requirejs@2.3.6"]="require.js"
    ["font-awesome@4.5.0"]="css/font-awesome.min.css"
    ["vega@5"]="build/vega.min.js"
    ["vega-lite@5"]="build/vega-lite.min.js"
    ["vega-embed@6"]="build/vega-embed.min.js"
)

present() { [[ -f "$CDN_DIR/$1/package.json" && -f "$CDN_DIR/$1/${KEY_FILE[$1]}" ]]; }

# Guard against a Solara upgrade silently asking for other versions.
SITE="$(echo "$VENV"/lib/python3.*/site-packages)"
TEMPLATE="$SITE/solara/server/templates/solara.html.j2"
if [[ -f "$TEMPLATE" ]]; then
    for spec in "@widgetti/solara-vuetify-app@10.1.1" "requirejs@2.3.6"; do
        if ! grep -qF "$spec" "$TEMPLATE"; then
            echo "install_solara_assets.sh: the installed Solara no longer asks for $spec" >&2
            echo "  (see $TEMPLATE); update the ASSETS list in $0 and docs/offline.md." >&2
            exit 1
        fi
    done
else
    echo "install_solara_assets.sh: Solara is not installed in $VENV (no $TEMPLATE)." >&2
    exit 1
fi

missing=()
for spec in "${ASSETS[@]}"; do
    present "$spec" || missing+=("$spec")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
    echo "install_solara_assets.sh: npm is needed to fetch Solara's browser assets from the" >&2
    echo "  npm registry (missing: ${missing[*]}). Install Node.js and npm (Debian: apt-get install npm)." >&2
    exit 1
fi

echo "install_solara_assets.sh: fetching ${#missing[@]} Solara asset package(s) from the npm registry ..." >&2
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$CDN_DIR"

# One `npm pack` per package, in parallel, each into its own directory.
pids=()
for i in "${!missing[@]}"; do
    mkdir -p "$TMP/pack$i"
    (
        cd "$TMP/pack$i"
        npm pack "${missing[$i]}" --silent --ignore-scripts \
            --no-fund --no-audit --update-notifier=false >/dev/null 2>"$TMP/pack$i.err" \
            || { echo "npm pack ${missing[$i]} failed:" >&2; cat "$TMP/pack$i.err" >&2; exit 1; }
    ) &
    pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=1
done
[[ $failed -eq 0 ]] || { echo "install_solara_assets.sh: npm pack failed (see above)." >&2; exit 1; }

for i in "${!missing[@]}"; do
    spec="${missing[$i]}"
    tgz=("$TMP/pack$i"/*.tgz)
    stage="$TMP/stage$i"
    mkdir -p "$stage"
    tar -xzf "${tgz[0]}" -C "$stage" --strip-components=1 --no-same-owner
    if [[ ! -f "$stage/${KEY_FILE[$spec]}" ]]; then
        echo "install_solara_assets.sh: $spec has no ${KEY_FILE[$spec]}; Solara could not use it." >&2
        exit 1
    fi
    dest="$CDN_DIR/$spec"
    mkdir -p "$(dirname "$dest")"
    # A partial directory (e.g. files Solara's proxy cached one by one) is replaced whole.
    rm -rf "$dest"
    mv "$stage" "$dest"
    echo "  $spec -> $(node -p "require('$dest/package.json').version" 2>/dev/null || echo ok)" >&2
done
echo "install_solara_assets.sh: Solara assets installed in $CDN_DIR" >&2

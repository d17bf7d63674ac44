#!/usr/bin/env bash
# Set up the development environment in <repo>/.venv (idempotent, fast when nothing changed).
#
#  1. finds a Python >= 3.12 ($PYTHON, python3.13, python3.12, pyenv versions, python3);
#  2. creates .venv with it (recreated if it is broken or has an older Python);
#  3. `pip install -e ".[test]"`, skipped while pyproject.toml (and the Python) are
#     unchanged since the last successful install (hash kept in .venv);
#  4. installs Solara's browser assets for offline use (scripts/install_solara_assets.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
STAMP="$VENV/.reegame-setup.sha256"
MIN_MAJOR=3
MIN_MINOR=12

log() { echo "setup.sh: $*" >&2; }

# Serialise concurrent runs on the same tree (two pip installs into one venv corrupt it).
if command -v flock >/dev/null 2>&1; then
    exec 9>"${TMPDIR:-/tmp}/reegame-setup-$(echo "$ROOT" | sha256sum | cut -c1-16).lock"
    flock 9
fi

# Prints the real interpreter path if $1 runs and is a Python >= 3.12 with venv.
check_python() {
    local candidate="$1"
    "$candidate" - "$MIN_MAJOR" "$MIN_MINOR" 2>/dev/null <<'EOF'
import sys
need = (int(sys.argv[1]), int(sys.argv[2]))
if sys.version_info[:2] < need:
    sys.exit(1)
import ensurepip, venv  # noqa: F401  (Debian splits these out as python3.X-venv)
print(sys.executable)
EOF
}

find_python() {
    local candidates=() c found
    if [[ -n "${PYTHON:-}" ]]; then
        candidates+=("$PYTHON")
    fi
    candidates+=(python3.13 python3.12)
    local pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
    # The version .python-version selects first, then the newest.
    if [[ -f "$ROOT/.python-version" ]]; then
        candidates+=("$pyenv_root/versions/$(head -n1 "$ROOT/.python-version" | tr -d '[:space:]')/bin/python3")
    fi
    local d
    while IFS= read -r d; do
        [[ -n "$d" ]] && candidates+=("$d/bin/python3")
    done < <(ls -d "$pyenv_root"/versions/3.1[2-9]* 2>/dev/null | sort -rV)
    candidates+=(python3)

    for c in "${candidates[@]}"; do
        if [[ "$c" != */* ]] && ! command -v "$c" >/dev/null 2>&1; then
            continue
        fi
        if [[ "$c" == */* && ! -x "$c" ]]; then
            continue
        fi
        if found="$(check_python "$c")" && [[ -n "$found" ]]; then
            echo "$found"
            return 0
        fi
        if [[ -n "${PYTHON:-}" && "$c" == "$PYTHON" ]]; then
            log "warning: \$PYTHON=$PYTHON is not a usable Python >= $MIN_MAJOR.$MIN_MINOR (with venv); trying others"
        fi
    done
    return 1
}

venv_ok() {
    [[ -x "$VENV/bin/python" ]] && check_python "$VENV/bin/python" >/dev/null
}

if ! venv_ok; then
    if ! PY="$(find_python)"; then
        cat >&2 <<EOF
setup.sh: no Python >= $MIN_MAJOR.$MIN_MINOR (with the venv module) was found.
  Tried: \$PYTHON${PYTHON:+=$PYTHON}, python3.13, python3.12, ${PYENV_ROOT:-$HOME/.pyenv}/versions/3.1[2-9]*, python3
  ($(python3 --version 2>&1 || echo 'python3: not found')).
  Get one, then re-run (or point PYTHON=/path/to/python3.12 at it):
    - pyenv:   pyenv install 3.12   (the repo's .python-version selects it)
    - Debian:  apt-get install python3.12 python3.12-venv   (where the release has it)
    - or a python.org / conda build of 3.12+.
EOF
        exit 1
    fi
    if [[ -e "$VENV" ]]; then
        log "existing .venv is broken or has a Python older than $MIN_MAJOR.$MIN_MINOR; recreating it"
        rm -rf "$VENV"
    fi
    log "creating .venv with $PY ($("$PY" --version 2>&1))"
    "$PY" -m venv "$VENV"
fi

# What the installed dependencies depend on: pyproject.toml and the interpreter.
want_hash="$({ cat "$ROOT/pyproject.toml"; "$VENV/bin/python" -c 'import sys; print(sys.version)'; } \
    | sha256sum | cut -d' ' -f1)"
have_hash="$(cat "$STAMP" 2>/dev/null || true)"

if [[ "$want_hash" != "$have_hash" ]]; then
    log "installing the project and its test dependencies into .venv (pip install -e \".[test]\") ..."
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install -qq --disable-pip-version-check --progress-bar off \
        -e "$ROOT[test]"
    echo "$want_hash" >"$STAMP"
fi

"$ROOT/scripts/install_solara_assets.sh" "$VENV"

# Numba kernels: compiled once per code version (~1 min), cached beside the sources.
"$VENV/bin/python" -m model.precompile

#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (idempotent).
#
# Playwright (from PyPI) drives /usr/bin/chromium; `playwright install` cannot
# download its own browser builds on these machines, so we use Debian's package.
# Does nothing when /usr/bin/chromium is already there.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install_browser.sh: $CHROMIUM is missing and apt-get is not available." >&2
    echo "  Install Chromium so that $CHROMIUM exists (Debian/Ubuntu: apt-get install chromium)." >&2
    exit 1
fi

SUDO=()
if [[ "$(id -u)" != 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "install_browser.sh: $CHROMIUM is missing and installing it needs root." >&2
        echo "  Run as root: apt-get update && apt-get install -y chromium" >&2
        exit 1
    fi
fi

echo "install_browser.sh: installing Debian's chromium (apt-get) ..." >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# fonts-liberation: readable text in screenshots (tests match DOM text, not glyphs).
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    chromium fonts-liberation </dev/null >/dev/null

if [[ ! -x "$CHROMIUM" ]]; then
    echo "install_browser.sh: apt-get finished but $CHROMIUM is still missing." >&2
    exit 1
fi
echo "install_browser.sh: $("$CHROMIUM" --version 2>/dev/null || echo chromium) installed." >&2

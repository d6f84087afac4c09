#!/usr/bin/env bash
# The Debian packages the product and its tests use beyond Python and npm, installed where missing:
# the Noto fonts every tenant's letter is set in (workflows/drawing/letter.py refuses a letter
# without them, never printing a name as empty boxes), and for the tests Debian's Chromium
# (Playwright cannot download browsers here) and redis-server (the worker tests start their own).
#     tools/system_packages.sh          # what the product needs (make install)
#     tools/system_packages.sh --tests  # and what the tests need (make test)
set -euo pipefail
missing=""
# read once: piped into grep -q, fc-list is cut off at the first match and pipefail counts it failed
families=$(fc-list : family 2>/dev/null || true)
grep -qx "Noto Sans Arabic" <<<"$families" || missing="$missing fonts-noto-core"
grep -q "Noto Sans CJK SC" <<<"$families" || missing="$missing fonts-noto-cjk"
if [ "${1:-}" = "--tests" ]; then
  command -v chromium >/dev/null || missing="$missing chromium"
  command -v redis-server >/dev/null || missing="$missing redis-server"
fi
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null; then
  echo "Install these (Debian package names) with your system's package manager:$missing" >&2
  echo "Until the fonts are there, letters are refused with a message naming the missing fonts." >&2
  [ "${1:-}" = "--tests" ] && exit 1 || exit 0
fi
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
echo "Installing$missing (apt-get)"
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq $missing

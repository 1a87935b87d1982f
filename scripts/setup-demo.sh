#!/usr/bin/env bash
# Set up what the demo needs (once) and run it: Qt's system libraries for a real window (Debian/Ubuntu),
# .venv with the project, then `ledgerdesk --demo` with any arguments given here.
#   bash scripts/setup-demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

ensure_system_packages "${QT_OFFSCREEN_PACKAGES[@]}" "${QT_XCB_PACKAGES[@]}"
ensure_venv
if [ "$(uname -s)" = "Linux" ] && [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}${QT_QPA_PLATFORM:-}" ]; then
  say "no display here (DISPLAY and WAYLAND_DISPLAY are unset): run this from a desktop session,"
  say "or under a virtual one: xvfb-run -a bash scripts/setup-demo.sh"
  exit 1
fi
exec .venv/bin/ledgerdesk --demo "$@"

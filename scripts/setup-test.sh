#!/usr/bin/env bash
# Set up what the tests need (once) and run them: the system libraries Qt needs offscreen (Debian/Ubuntu),
# .venv with `pip install -e '.[test]'`, then `python -m pytest` with any arguments given here.
#   bash scripts/setup-test.sh                 # everything
#   bash scripts/setup-test.sh tests/cli -x    # arguments go to pytest
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

# chromium: tests/auth signs in once through a real headless browser (skipped where it is missing).
ensure_system_packages "${QT_OFFSCREEN_PACKAGES[@]}" chromium
ensure_venv
# tests/conftest.py sets QT_QPA_PLATFORM=offscreen, so no display is needed.
exec .venv/bin/python -m pytest "$@"

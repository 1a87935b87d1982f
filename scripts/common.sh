# shellcheck shell=bash
# Shared by setup-test.sh and setup-demo.sh (sourced, not run). Every step checks before it acts, so a
# second run costs about a second: no apt-get, no pip, unless something is missing or pyproject changed.

# What Qt loads offscreen on a bare Debian/Ubuntu (shared/QT-NOTES.md, and ldd of the PySide6 wheels):
# EGL/GL, GLib, fontconfig/freetype, xkbcommon, X11-xcb, D-Bus (QtDBus), and one font to draw with.
# Both lists were checked on a debootstrap'd bookworm minbase: tests offscreen, the demo under Xvfb.
# shellcheck disable=SC2034  # used by the scripts that source this file
QT_OFFSCREEN_PACKAGES=(libegl1 libgl1 libglib2.0-0 libfontconfig1 libfreetype6 libx11-xcb1 libxkbcommon0
  libdbus-1-3 fonts-dejavu-core)
# A real window on X11 (or XWayland) needs the xcb platform plugin's libraries as well. Qt's error
# message blames libxcb-cursor0 even when another one is missing, so all of them are listed.
# shellcheck disable=SC2034
QT_XCB_PACKAGES=(libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-shm0 libxcb-sync1)

say() { printf '[setup] %s\n' "$*" >&2; }

# Run a command as root: directly, or through sudo when that needs no password (CI has no stdin).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 127
  fi
}

can_be_root() { [ "$(id -u)" -eq 0 ] || { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; }

# Install the Debian packages that are missing. Anything else (macOS, Windows, other Linuxes, no root)
# gets a message and carries on: the packages may well be there under other names.
ensure_system_packages() {
  [ "$(uname -s)" = "Linux" ] || return 0
  if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    say "not a Debian-like system: make sure the equivalents of these are installed: $*"
    return 0
  fi
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! can_be_root; then
    say "missing system packages: ${missing[*]}"
    say "not root and no password-less sudo: skipping; install them with"
    say "  sudo apt-get install -y --no-install-recommends ${missing[*]}"
    return 0
  fi
  say "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Try with the package lists already there; a fresh image has none, so update and retry only then.
  if ! as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    if ! { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"; }; then
      say "apt-get failed (above); carrying on, but Qt may not load without: ${missing[*]}"
    fi
  fi
}

python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

# The interpreter for the venv: $PYTHON if given, else the first python3 that is 3.11 or newer.
find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_python() {
  if ! PYTHON_BIN=$(find_python); then
    # Debian 12 / Ubuntu 24.04 ship a new enough python3; older systems need one from elsewhere.
    if [ "$(uname -s)" = "Linux" ] && command -v apt-get >/dev/null 2>&1 && can_be_root; then
      ensure_system_packages python3 python3-venv
    fi
    PYTHON_BIN=$(find_python) || { say "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)"; exit 1; }
  fi
  # Debian splits venv's pip bootstrap into python3-venv; without it `python3 -m venv` fails.
  if ! "$PYTHON_BIN" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    local version
    version=$("$PYTHON_BIN" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
    ensure_system_packages "python${version}-venv"
  fi
}

# Finds, without loading Qt's libraries (they may be what is missing), that the install is complete.
INSTALLED_CHECK='
import importlib.metadata as m, importlib.util as u, sys
m.version("ledgerdesk")
sys.exit(not all(u.find_spec(n) for n in ("PySide6", "qasync", "pytest", "pytestqt", "httpx", "uvicorn")))'

# .venv with the project installed editable and its test extras. Reinstalls only when pyproject.toml
# changed since the last install or the environment cannot import what it needs.
ensure_venv() {
  local stamp=.venv/.ledgerdesk-installed want
  if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python; then
    ensure_python
    say "creating .venv with $("$PYTHON_BIN" --version 2>&1) ($PYTHON_BIN)"
    rm -rf .venv
    "$PYTHON_BIN" -m venv .venv
  fi
  want="$(cksum < pyproject.toml)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
     .venv/bin/python -c "$INSTALLED_CHECK" >/dev/null 2>&1; then
    return 0
  fi
  say "installing ledgerdesk and its test tools into .venv (pip)"
  .venv/bin/python -m pip install --disable-pip-version-check -q -e '.[test]'
  printf '%s' "$want" > "$stamp"
}

#!/usr/bin/env bash
# Composer's one entry point for a newcomer.
#
#   ./run.sh              set up .venv/ and run the main job (`composer start`): the app where
#                         there is a display; otherwise compose out/chorale.mid + out/chorale.wav
#   ./run.sh test [ARGS]  set up .venv/ if needed and run the tests (pytest ARGS)
#   ./run.sh setup        only set up
#   ./run.sh COMMAND ...  any `composer` subcommand, e.g. ./run.sh generate --key "D minor"
#
# Set-up: Debian/Ubuntu system libraries (FluidSynth for audio, Qt's X11 libraries, a C compiler)
# when missing and this user can install them; then .venv/ with everything in pyproject.toml's
# [dev] extra, installed through constraints.txt (it pins the CPU build of torch); then the
# sampler's kernels compiled ahead of time for this machine (composer/runtime/aot.py: a faster
# start; without a C compiler composing uses numba's kernels). Re-runs are quick: the venv is
# rebuilt only when pyproject.toml, setup.py or constraints.txt change, the kernels only when
# their sources do.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON=${PYTHON:-python3}
VENV=.venv
SYSTEM_PACKAGES=(libfluidsynth3 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1
  libdbus-1-3 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-randr0
  libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libglib2.0-0)

say() { printf '\033[1m%s\033[0m\n' "$*" >&2; }

install_system_packages() {
  command -v dpkg >/dev/null 2>&1 || return 0 # not Debian/Ubuntu: see README
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  # the ahead-of-time kernels: a C compiler, and Python's headers where this Python lacks them
  command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
  dpkg -s python3-dev >/dev/null 2>&1 || "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
    2>/dev/null || missing+=(python3-dev)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo"; else
      say "Missing system libraries: ${missing[*]}"
      say "Install them with: sudo apt-get install ${missing[*]}   (audio and the app need them)"
      return 0
    fi
  fi
  say "Installing system libraries: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# The kernels compiled ahead of time, when their sources changed since the last build here
# (composer/runtime/native.py names a build by the exact sources, numba, CPU and Python, and
# the build checks that first). A failed build is reported and leaves numba's kernels in use.
build_kernels() {
  local stamp="$VENV/.composer-kernels"
  local want
  want=$(cat composer/runtime/*.py composer/encoding.py composer/theory/*.py | sha256sum | cut -c1-16)
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  say "Compiling the sampler's kernels ahead of time (about a minute, once)"
  "$VENV/bin/python" -m composer.runtime.aot >/dev/null || true # failed: said why, not retried
  echo "$want" >"$stamp"
}

setup() {
  install_system_packages
  local stamp="$VENV/.composer-installed"
  local want
  want=$(cat pyproject.toml setup.py constraints.txt | sha256sum | cut -c1-16)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/composer" ]; then
    build_kernels
    return 0
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    say "Creating $VENV/"
    "$PYTHON" -m venv "$VENV"
  fi
  say "Installing Composer and its dependencies into $VENV/ (a minute or two the first time)"
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[dev]"
  say "Compiling the sampler's kernels (once)"
  "$VENV/bin/python" -c "import composer.runtime.kernels, composer.runtime.faults"
  # Composer's own bytecode too: where PYTHONDONTWRITEBYTECODE is set (CI, containers), Python
  # never writes it, and every start compiles the modules a command imports again (0.05-0.1 s
  # of a cold generate). A module edited later is compiled from source until this runs again.
  "$VENV/bin/python" -m compileall -q composer >/dev/null
  echo "$want" >"$stamp"
  build_kernels
}

case "${1:-start}" in
  setup)
    setup
    ;;
  test)
    shift
    setup
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
  *)
    setup
    exec "$VENV/bin/composer" "${@:-start}"
    ;;
esac

#!/usr/bin/env bash
# tmsnav set-up and launch in one command.
#   ./run.sh demo [args]   install (first time) and start the app on the sample head + simulated tracker
#   ./run.sh test [args]   install (first time, with the test and benchmark extras) and run the test suite headless (Xvfb)
#   ./run.sh app  [args]   install and start the app with your own arguments (tmsnav --help)
#   ./run.sh bench NAME    run benchmarks/NAME.py (writes benchmarks/results/NAME.json)
#
# Missing Debian/Ubuntu packages (Qt/OpenGL libraries, Xvfb) are listed first. Then:
#   as root, or without a terminal (CI, CI=true): installed with apt-get, as before;
#   on a terminal as a normal user: you are asked before `sudo apt-get` runs (default: no);
#   TMSNAV_NO_APT=1      never run apt-get: print the command to run yourself and go on;
#   TMSNAV_ASSUME_YES=1  install without asking (unattended set-ups);
#   TMSNAV_DRY_RUN=1     print every install/launch command instead of running it.
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(python3-venv xvfb xauth libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libglib2.0-0
  libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxcb-randr0
  libxcb-xfixes0)
# test and bench only: the clinic-database tests start a throwaway PostgreSQL server (initdb/pg_ctl)
APT_TEST_PACKAGES=(postgresql)
VENV=.venv
PY=${PYTHON:-python3}

say() { printf '\033[1m[tmsnav]\033[0m %s\n' "$*" >&2; }

# Run a command, or only print it with TMSNAV_DRY_RUN=1.
run() {
  if [ "${TMSNAV_DRY_RUN:-0}" = 1 ]; then
    local line="+" arg
    for arg in "$@"; do
      case "$arg" in *[[:space:]]*) line+=" '$arg'" ;; *) line+=" $arg" ;; esac
    done
    printf '%s\n' "$line"
  else
    "$@"
  fi
}

is_interactive() { [ -t 0 ] && [ "${CI:-}" != true ]; }

missing_system_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || printf '%s\n' "$p"
  done
}

install_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system: install Qt/GL/Xvfb libraries yourself (see README)"; return 0; }
  local missing=()
  mapfile -t missing < <(missing_system_packages)
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo "
  say "missing Debian packages (Qt, OpenGL and Xvfb libraries the app needs; PostgreSQL for the tests): ${missing[*]}"
  say "command: ${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "${TMSNAV_NO_APT:-0}" = 1 ]; then
    say "TMSNAV_NO_APT=1: not running apt-get; run the command above yourself if something fails"
    return 0
  fi
  if [ -n "$sudo" ]; then
    command -v sudo >/dev/null 2>&1 || { say "need root: run the command above as root (or set TMSNAV_NO_APT=1)"; exit 1; }
    if [ "${TMSNAV_ASSUME_YES:-0}" != 1 ] && is_interactive; then
      local answer=""
      read -r -p "[tmsnav] install them now with sudo apt-get? [y/N] " answer || answer=""
      case "$answer" in
        [yY]|[yY][eE][sS]) ;;
        *) say "not installed. Run the command above, or set TMSNAV_NO_APT=1 to skip this step."; exit 1 ;;
      esac
    fi
  fi
  run $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive run $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# $1: pip extras for this command ("" for the app, "test,bench" for the test suite).
install_python_packages() {
  local extras=${1:-}
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment in $VENV"
    run "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.tmsnav-installed${extras:+-$extras}"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing tmsnav${extras:+ with extras [$extras]} and its Python packages into $VENV (first run takes about a minute)"
    run "$VENV/bin/python" -m pip install -q --upgrade pip
    run "$VENV/bin/python" -m pip install -q -e ".${extras:+[$extras]}"
    run touch "$stamp"
  fi
}

have_display() { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }

cmd=${1:-demo}
shift || true
case "$cmd" in
  demo|app) extras="" ;;
  test) extras="test,bench"; APT_PACKAGES+=("${APT_TEST_PACKAGES[@]}") ;;      # tests use pyigtl/mne as reference peers; CI also needs what benchmarks import
  bench) extras="bench"; APT_PACKAGES+=("${APT_TEST_PACKAGES[@]}") ;;
  *) say "unknown command '$cmd' (demo | test | app | bench)"; exit 2 ;;
esac
install_system_packages
install_python_packages "$extras"
export VTK_SMP_BACKEND_IN_USE=${VTK_SMP_BACKEND_IN_USE:-STDThread}
launch() { if [ "${TMSNAV_DRY_RUN:-0}" = 1 ]; then run "$@"; exit 0; fi; exec "$@"; }
case "$cmd" in
  demo|app)
    [ "$cmd" = demo ] && set -- --demo "$@"
    if have_display; then
      launch "$VENV/bin/tmsnav" "$@"
    else
      say "no display found: running under Xvfb (add --screenshot out.png to see the window)"
      QT_QPA_PLATFORM=xcb launch xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/tmsnav" "$@"
    fi ;;
  test)
    unset PYVISTA_OFF_SCREEN
    QT_QPA_PLATFORM=xcb launch xvfb-run -a -s "-screen 0 1280x1024x24" "$VENV/bin/python" -m pytest -q "$@" ;;
  bench)
    name=${1:?usage: ./run.sh bench NAME}; shift
    QT_QPA_PLATFORM=xcb launch xvfb-run -a -s "-screen 0 1280x1024x24" "$VENV/bin/python" "benchmarks/$name.py" "$@" ;;
esac

#!/usr/bin/env bash
# tmsnav set-up and launch in one command.
#   ./run.sh demo [args]   install (first time) and start the app on the sample head + simulated tracker
#   ./run.sh test [args]   install (first time) and run the whole test suite headless (Xvfb)
#   ./run.sh app  [args]   install and start the app with your own arguments (tmsnav --help)
#   ./run.sh bench NAME    run benchmarks/NAME.py (writes benchmarks/results/NAME.json)
# System packages (Debian/Ubuntu) are installed with apt-get when missing (needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(python3-venv xvfb xauth libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libglib2.0-0
  libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-image0 libxcb-keysyms1 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxcb-randr0
  libxcb-xfixes0)
VENV=.venv
PY=${PYTHON:-python3}

say() { printf '\033[1m[tmsnav]\033[0m %s\n' "$*" >&2; }

install_system_packages() {
  command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system: install Qt/GL/Xvfb libraries yourself (see README)"; return 0; }
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing system packages: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "need root to run: apt-get install ${missing[*]}"; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

install_python_packages() {
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment in $VENV"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.tmsnav-installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    say "installing tmsnav and its Python packages (first run takes about a minute)"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[test]'
    touch "$stamp"
  fi
}

have_display() { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }

cmd=${1:-demo}
shift || true
install_system_packages
install_python_packages
export VTK_SMP_BACKEND_IN_USE=${VTK_SMP_BACKEND_IN_USE:-STDThread}
case "$cmd" in
  demo|app)
    [ "$cmd" = demo ] && set -- --demo "$@"
    if have_display; then
      exec "$VENV/bin/tmsnav" "$@"
    else
      say "no display found: running under Xvfb (add --screenshot out.png to see the window)"
      QT_QPA_PLATFORM=xcb exec xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/tmsnav" "$@"
    fi ;;
  test)
    unset PYVISTA_OFF_SCREEN
    QT_QPA_PLATFORM=xcb exec xvfb-run -a -s "-screen 0 1280x1024x24" "$VENV/bin/python" -m pytest -q "$@" ;;
  bench)
    name=${1:?usage: ./run.sh bench NAME}; shift
    QT_QPA_PLATFORM=xcb exec xvfb-run -a -s "-screen 0 1280x1024x24" "$VENV/bin/python" "benchmarks/$name.py" "$@" ;;
  *) say "unknown command '$cmd' (demo | test | app | bench)"; exit 2 ;;
esac

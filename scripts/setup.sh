#!/usr/bin/env bash
# Idempotent setup for a fresh Linux machine: Debian packages (when missing), a project
# venv in .venv/, and Emotrack installed into it (editable). Extras: setup.sh test ray bench
set -euo pipefail
cd "$(dirname "$0")/.."

# Runtime: PortAudio for sounddevice; Qt's xcb platform and Mesa GL for the window;
# Xvfb for the tests' virtual display; espeak-ng makes the tests' speech fixtures.
DEBIAN_PACKAGES=(python3-venv libportaudio2 xvfb xauth espeak-ng libxcb-icccm4 libxcb-keysyms1
  libxcb-cursor0 libxkbcommon-x11-0 libgl1 libgl1-mesa-dri libegl1 libopengl0 libxcb-image0
  libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xkb1 libfontconfig1 libdbus-1-3)

if command -v dpkg-query >/dev/null 2>&1; then
  missing=()
  for pkg in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  echo "setup: not a Debian/Ubuntu system; install PortAudio, Xvfb and espeak-ng yourself" >&2
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

extras="$(IFS=,; echo "$*")"
target="."
[ -n "$extras" ] && target=".[$extras]"
stamp=".venv/.emotrack-installed-$(sha1sum pyproject.toml | cut -c1-12)-${extras:-base}"
if [ ! -e "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e "$target"
  touch "$stamp"
fi

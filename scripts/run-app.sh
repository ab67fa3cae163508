#!/usr/bin/env bash
# Set up (first time) and start Emotrack with the bundled sample clip, or the given file.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "run-app: no display; starting on a virtual one (xvfb-run)" >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/emotrack "$@"
fi
exec .venv/bin/emotrack "$@"

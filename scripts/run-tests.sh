#!/usr/bin/env bash
# Set up (first time) and run the whole test suite, under a virtual display when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
# ray: the optional cluster engine of `emotrack batch`, so its test (about 25 s) runs too.
bash scripts/setup.sh test ray
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-xcb}"
if [ -z "${DISPLAY:-}" ]; then
  exec xvfb-run -a -s "-screen 0 1280x1024x24" .venv/bin/python -m pytest -p no:xvfb "$@"
fi
exec .venv/bin/python -m pytest "$@"

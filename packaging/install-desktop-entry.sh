#!/usr/bin/env bash
# Adds Emotrack to the desktop menu for the current user (uses the project's .venv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$root/resources/icons/emotrack.svg" "$icons/emotrack.svg"
sed "s|^Exec=emotrack|Exec=$root/.venv/bin/emotrack|" "$root/packaging/emotrack.desktop" > "$apps/emotrack.desktop"
echo "installed $apps/emotrack.desktop"

#!/usr/bin/env bash
# Regenerates sample_voice.flac: synthetic speech from espeak-ng (its output is free to
# use and ship), two voices with pauses, resampled to 16 kHz mono FLAC.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
espeak-ng -v en-us -s 150 -p 60 -w "$tmp/1.wav" "Oh, it is wonderful to see you again! I missed you so much."
espeak-ng -v en-gb -s 175 -p 30 -a 180 -w "$tmp/2.wav" "How could you do this? I told you never to touch my things!"
espeak-ng -v en-us+f3 -s 110 -p 25 -w "$tmp/3.wav" "I suppose it does not matter any more. Nothing ever changes."
../../.venv/bin/python - "$tmp" <<'PY'
import sys, numpy as np, soundfile as sf, soxr
parts = []
for name in ("1.wav", "2.wav", "3.wav"):
    audio, rate = sf.read(f"{sys.argv[1]}/{name}", dtype="float32")
    parts += [soxr.resample(audio, rate, 16000), np.zeros(8000, np.float32)]
clip = np.concatenate([np.zeros(4000, np.float32)] + parts)
sf.write("sample_voice.flac", 0.8 * clip / np.abs(clip).max(), 16000)
PY
rm -r "$tmp"

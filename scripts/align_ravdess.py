"""Force-align every RAVDESS clip to its known statement; one JSON line per clip.

    PYTHONPATH=app python scripts/align_ravdess.py --data ../shared/data/emotion --out runs/ravdess_phones.jsonl

Reads ``labels.csv`` under ``--data`` (corpus ``ravdess`` rows), aligns with pocketsphinx
(extra ``face-data``) and writes records ``{"path", "speaker", "emotion", "strong",
"text", "seconds", "phones": [[phone, start, end], ...]}``. Prints the clip count,
failures and time taken. The data stays where it is: only the timings are written.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import soundfile as sf

from emotrack.core.atomic import write_text_atomic
from emotrack.errors import EmotrackError
from emotrack.ml.face.alignment import SAMPLE_RATE, PhoneAligner
from emotrack.ml.face.ravdess import parse_ravdess_name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the emotion data folder (with labels.csv)")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--limit", type=int, default=0, help="align only the first N clips (0 = all)")
    args = parser.parse_args()
    with open(args.data / "labels.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["corpus"] == "ravdess"]
    if args.limit:
        rows = rows[: args.limit]
    aligner = PhoneAligner()
    records, failures = [], []
    started = time.perf_counter()
    for row in rows:
        name = parse_ravdess_name(row["path"])
        audio, rate = sf.read(args.data / row["path"], dtype="float32")
        if rate != SAMPLE_RATE or audio.ndim != 1:
            failures.append((row["path"], f"not 16 kHz mono ({rate} Hz)"))
            continue
        try:
            phones = aligner.align(audio, name.statement)
        except EmotrackError as error:
            failures.append((row["path"], str(error)))
            continue
        records.append({"path": row["path"], "speaker": row["speaker"], "emotion": name.emotion,
                        "strong": name.strong, "text": name.statement, "seconds": len(audio) / rate,
                        "phones": [[p.phone, round(p.start, 3), round(p.end, 3)] for p in phones]})
    seconds = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out, "".join(json.dumps(r) + "\n" for r in records))
    print(f"{len(rows)} clips, {len(records)} aligned, {len(failures)} failed, "
          f"{seconds:.1f} s ({1000 * seconds / max(1, len(rows)):.0f} ms/clip) -> {args.out}")
    for path, reason in failures:
        print(f"  failed {path}: {reason}")
    return 0 if records else 1


if __name__ == "__main__":
    sys.exit(main())

"""Are the articulation targets right? Share of bilabials the targets shut, and their cost.

    PYTHONPATH=app python benchmarks/face_targets.py runs/ravdess_phones.jsonl [--fps 30 50]

For every aligned clip (``scripts/align_ravdess.py`` output) builds the ARKit targets
with the clip's emotion (one-hot from its label) and counts the /p b m/ segments with a
frame where the lips touch (``lip_gap < CLOSED_GAP``). By construction this should be
100 %: anything less means the targets, not the network, are wrong. Also prints the
time per clip.

The same check on the bundled face rig, independent of the ``lip_gap`` rule: the lip
opening (mm, :class:`emotrack.core.face_lips.LipProbe`) at each bilabial's most closed
frame against the rig's neutral (lips at rest, touching). A bilabial counts as shut on
the rig when that opening is at most the neutral one + ``RIG_TOLERANCE_MM``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core.articulation import articulation_targets, bilabial_closures, count_closed_bilabials  # noqa: E402
from emotrack.core.emotions import EMOTIONS  # noqa: E402
from emotrack.core.face_lips import LipProbe  # noqa: E402
from emotrack.core.face_rig import load_face_rig  # noqa: E402
from emotrack.core.phonemes import phone_segments  # noqa: E402

RIG_TOLERANCE_MM = 0.5


def rig_closures(segments, weights, fps, probe: LipProbe) -> tuple[int, int]:
    closed = probe.opening_mm(weights) <= probe.rest_mm + RIG_TOLERANCE_MM
    return count_closed_bilabials(segments, closed, fps)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phones", type=Path, help="JSONL of aligned clips")
    parser.add_argument("--fps", type=float, nargs="+", default=[30.0, 50.0])
    args = parser.parse_args()
    records = [json.loads(line) for line in args.phones.read_text().splitlines() if line.strip()]
    if not records:
        print(f"no clips in {args.phones}")
        return 1
    probe = LipProbe(load_face_rig())
    print(f"rig lips at rest: {probe.rest_mm:.2f} mm apart (upper above lower)")
    for fps in args.fps:
        closed = total = rig_shut = rig_total = 0
        started = time.perf_counter()
        for record in records:
            emotion = np.zeros(len(EMOTIONS), np.float32)
            if record["emotion"] in EMOTIONS:
                emotion[EMOTIONS.index(record["emotion"])] = 1.0
            segments = phone_segments(record["phones"])
            weights = articulation_targets(segments, record["seconds"], fps, emotion)
            shut, count = bilabial_closures(segments, weights, fps)
            closed, total = closed + shut, total + count
            shut, count = rig_closures(segments, weights, fps, probe)
            rig_shut, rig_total = rig_shut + shut, rig_total + count
        per_clip_ms = 1000 * (time.perf_counter() - started) / len(records)
        print(f"{fps:g} fps: {len(records)} clips, bilabials shut {closed}/{total} "
              f"({100 * closed / max(1, total):.1f} %), on the rig {rig_shut}/{rig_total} "
              f"({100 * rig_shut / max(1, rig_total):.1f} %), {per_clip_ms:.2f} ms per clip (targets + checks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Voice activity on lines trimmed tight to their words, and what it does to emotion.

    PYTHONPATH=app python benchmarks/vad_trimmed.py --data ../shared/data/emotion [--emotion]

Voice-over usually arrives trimmed: a line starts at its first word and stops at its
last. An energy detector that takes a low percentile of the frame levels as the noise
floor then measures speech instead of silence. This benchmark trims every clip of the
corpus to the speech that the detector finds in the clip as recorded (with its pauses
around it, where the floor is real), detects again on the trimmed clip, and prints, for
each floor percentile, how much of that speech the trimmed clip keeps and how far
whole clips move from the shipped setting.

``--emotion`` also classifies the test speakers' clips
(``whisper_training.TEST_SPEAKERS``) as recorded and trimmed, each alone, with the
bundled model (``--model`` for another) and the shipped detector: accuracy and macro-F1.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core.vad import HOP_SECONDS, detect_voice  # noqa: E402
from emotrack.ml.emotion.data import SAMPLE_RATE, read_labelled_clips  # noqa: E402

PERCENTILES = (10.0, 5.0, 2.0, 1.0)


def trimmed(samples: np.ndarray, sample_rate: int) -> np.ndarray | None:
    """The clip from its first to its last detected speech, or None without speech."""
    voiced = np.flatnonzero(detect_voice(samples, sample_rate).voiced)
    if not len(voiced):
        return None
    hop = int(HOP_SECONDS * sample_rate)
    return samples[voiced[0] * hop:(voiced[-1] + 1) * hop]


def detector_table(clips) -> None:
    shipped = {i: detect_voice(c.samples, SAMPLE_RATE).voiced for i, c in enumerate(clips)}
    print(f"{len(clips)} clips; speech as detected in the clip as recorded (shipped setting) is the reference")
    print("floor percentile | trimmed: share of the speech kept (mean, 10th pct) | as recorded: frames that change")
    for q in PERCENTILES:
        kept, changed = [], []
        for i, clip in enumerate(clips):
            reference = shipped[i]
            voiced = np.flatnonzero(reference)
            if not len(voiced):
                continue
            first, last = voiced[0], voiced[-1] + 1
            short = trimmed(clip.samples, SAMPLE_RATE)
            found = detect_voice(short, SAMPLE_RATE, floor_percentile=q).voiced[:last - first]
            kept.append(found[reference[first:first + len(found)]].mean())
            changed.append(np.mean(detect_voice(clip.samples, SAMPLE_RATE, floor_percentile=q).voiced
                                   != reference))
        print(f"{q:>16g} | {np.mean(kept):.3f}, {np.percentile(kept, 10):.3f} | {np.mean(changed):.4f}")


def emotion_table(clips, model_name: str | None) -> None:
    from emotrack.ml.emotion.modeling import EmotionModel
    from emotrack.ml.emotion.training import evaluate
    from emotrack.ml.emotion.whisper_training import TEST_SPEAKERS

    model = EmotionModel.from_pretrained(model_name, device="cpu")
    test = [c for c in clips if c.speaker in set(TEST_SPEAKERS)]
    short = [dataclasses.replace(c, samples=trimmed(c.samples, SAMPLE_RATE)) for c in test]
    for name, chosen in (("as recorded", test), ("trimmed to speech", short)):
        scores = evaluate(model, chosen)
        print(f"test speakers, {name}, each alone: accuracy {scores.accuracy:.3f}, macro-F1 {scores.macro_f1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--emotion", action="store_true")
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    clips = read_labelled_clips(args.data)
    detector_table(clips)
    if args.emotion:
        emotion_table(clips, args.model)


if __name__ == "__main__":
    main()

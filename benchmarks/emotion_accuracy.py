"""Clip-level accuracy of the emotion model on labelled speech of unseen speakers.

    PYTHONPATH=app python benchmarks/emotion_accuracy.py --data ../shared/data/emotion [--model DIR]

The data folder is laid out like the shared emotion data (labels.csv: path, corpus,
speaker, label, lang, seconds). By default only the speakers that training holds out
(``emotrack.ml.emotion.training.VALIDATION_SPEAKERS``) are evaluated; ``--speakers``
picks others, ``--speakers all`` every clip. A clip's emotion is the argmax of the mean
probabilities of its speech windows (0.9 s windows at 0.45 s hop; silent ones do not
vote), exactly as the app classifies.
Prints accuracy, macro-F1, per-class accuracy and the confusion matrix (``--json`` writes
them to a file too).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.ml.emotion.data import read_labelled_clips  # noqa: E402
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel  # noqa: E402
from emotrack.ml.emotion.training import VALIDATION_SPEAKERS, Evaluation, predict_clip_labels  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with labels.csv")
    parser.add_argument("--model", type=Path, default=None, help="checkpoint folder (default: bundled)")
    parser.add_argument("--speakers", nargs="+", default=list(VALIDATION_SPEAKERS),
                        help="speakers to evaluate ('all' for every clip); default: held-out speakers")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW)
    parser.add_argument("--hop", type=int, default=DEFAULT_HOP)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    speakers = None if args.speakers == ["all"] else set(args.speakers)
    clips = read_labelled_clips(args.data, speakers)
    model = EmotionModel.from_pretrained(args.model, device=args.device)
    began = time.perf_counter()
    predicted = predict_clip_labels(model, clips, args.window, args.hop)
    evaluation = Evaluation.count(model.labels, [c.label for c in clips], predicted)
    elapsed = time.perf_counter() - began

    print(f"{len(clips)} clips of {len({c.speaker for c in clips})} speakers "
          f"({', '.join(sorted({c.speaker for c in clips}))}), window {args.window} hop {args.hop} "
          f"samples, {elapsed:.0f} s")
    print(f"accuracy {evaluation.accuracy:.3f}  macro-F1 {evaluation.macro_f1:.3f}  "
          f"(chance {1 / len({c.label for c in clips}):.3f})")
    for label, accuracy in evaluation.per_class_accuracy.items():
        print(f"  {label:<10} {accuracy:.3f}")
    print(evaluation.table())
    by_speaker = {}
    for clip, label in zip(clips, predicted):
        by_speaker.setdefault(clip.speaker, []).append(clip.label == label)
    for speaker, hits in sorted(by_speaker.items()):
        print(f"{speaker}: {len(hits)} clips, accuracy {sum(hits) / len(hits):.3f}")
    if args.json:
        args.json.write_text(json.dumps(evaluation.as_dict(), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

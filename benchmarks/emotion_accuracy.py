"""Clip-level accuracy and calibration of an emotion model on speakers it never heard.

    PYTHONPATH=app python benchmarks/emotion_accuracy.py --data ../shared/data/emotion \
        [--model accurate|fast|DIR] [--reliability docs/reliability-accurate.png]

The data folder is laid out like the shared emotion data (labels.csv: path, corpus,
speaker, label, lang, seconds). By default only the test speakers are evaluated
(``emotrack.ml.emotion.whisper_training.TEST_SPEAKERS``): no training run reads them
and no choice (epoch, setting, temperature) was made on them. ``--speakers`` picks
others, ``--speakers all`` every clip. A clip's emotion is the argmax of the mean
probabilities of its speech windows (0.9 s windows at 0.45 s hop; silent ones do not
vote), exactly as ``emotrack classify`` and the app compute it.

Prints accuracy and macro-F1 overall, per corpus and per speaker; per-class recall;
the confusion matrix; and the expected calibration error (10 bins) of the top-label
confidence, with the model's fitted temperature and without it. ``--reliability``
writes the reliability diagram (PNG, needs matplotlib: ``pip install -e .[bench]``),
``--json`` every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core.calibration import reliability  # noqa: E402
from emotrack.ml.emotion.data import read_labelled_clips  # noqa: E402
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel  # noqa: E402
from emotrack.ml.emotion.training import Evaluation  # noqa: E402
from emotrack.ml.emotion.whisper_training import TEST_SPEAKERS  # noqa: E402


def classify_all(model: EmotionModel, clips, window: int, hop: int, temperature: float) -> np.ndarray:
    model.temperature = temperature
    return np.stack([model.classify(clip.samples, window, hop) for clip in clips])


def draw_reliability(path: Path, curves: dict[str, tuple], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 5), dpi=120)
    axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfect calibration")
    for (name, (bins, ece)), colour in zip(curves.items(), ("tab:blue", "tab:orange")):
        used = bins.count > 0
        centres = (bins.edges[:-1] + bins.edges[1:])[used] / 2
        axis.bar(centres, bins.accuracy[used], width=0.09, alpha=0.35, color=colour)
        axis.plot(bins.confidence[used], bins.accuracy[used], marker="o", color=colour,
                  label=f"{name} (ECE {ece:.3f})")
    axis.set_xlabel("confidence of the predicted emotion")
    axis.set_ylabel("accuracy")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.set_title(title, fontsize=9)
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    figure.savefig(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with labels.csv")
    parser.add_argument("--model", default=None, help="accurate, fast or a checkpoint folder (default: accurate)")
    parser.add_argument("--speakers", nargs="+", default=list(TEST_SPEAKERS),
                        help="speakers to evaluate ('all' for every clip); default: the test speakers")
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW)
    parser.add_argument("--hop", type=int, default=DEFAULT_HOP)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reliability", type=Path, default=None, help="write the reliability diagram here (PNG)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    speakers = None if args.speakers == ["all"] else set(args.speakers)
    clips = read_labelled_clips(args.data, speakers)
    model = EmotionModel.from_pretrained(args.model, device=args.device)
    fitted = model.temperature
    began = time.perf_counter()
    probabilities = classify_all(model, clips, args.window, args.hop, fitted)
    elapsed = time.perf_counter() - began
    truth = np.array([model.labels.index(clip.label) if clip.label in model.labels else -1 for clip in clips])
    predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
    evaluation = Evaluation.count(model.labels, [c.label for c in clips], predicted)
    calibrated = reliability(probabilities, truth)
    has_temperature = getattr(model.model.config, "emotrack_temperature", None) is not None
    name = f"T = {fitted:.2f} (fitted on speakers other than these)" if has_temperature else "T = 1 (none fitted)"
    curves = {name: (calibrated, calibrated.expected_calibration_error)}
    if fitted != 1.0:
        raw = reliability(classify_all(model, clips, args.window, args.hop, 1.0), truth)
        curves["T = 1 (no calibration)"] = (raw, raw.expected_calibration_error)

    print(f"model {args.model or 'accurate'}: {len(clips)} clips of {len({c.speaker for c in clips})} speakers "
          f"({', '.join(sorted({c.speaker for c in clips}))}), window {args.window} hop {args.hop} samples, "
          f"{elapsed:.0f} s")
    print(f"accuracy {evaluation.accuracy:.3f}  macro-F1 {evaluation.macro_f1:.3f}  "
          f"(chance {1 / len({c.label for c in clips}):.3f})")
    for name, (bins, ece) in curves.items():
        print(f"expected calibration error {ece:.3f} at {name}")
    groups = {"corpus": lambda c: c.corpus, "speaker": lambda c: c.speaker}
    figures = {"overall": evaluation.as_dict(), "ece": {k: v[1] for k, v in curves.items()}}
    for group, key in groups.items():
        figures[group] = {}
        for value in sorted({key(c) for c in clips}):
            picked = [i for i, c in enumerate(clips) if key(c) == value]
            part = Evaluation.count(model.labels, [clips[i].label for i in picked], [predicted[i] for i in picked])
            figures[group][value] = {"clips": len(picked), "accuracy": part.accuracy, "macro_f1": part.macro_f1}
            print(f"  {group} {value:<12} {len(picked):4d} clips  accuracy {part.accuracy:.3f}  "
                  f"macro-F1 {part.macro_f1:.3f}")
    print("per-class recall:")
    for label, accuracy in evaluation.per_class_accuracy.items():
        print(f"  {label:<10} {accuracy:.3f}")
    print(evaluation.table())
    if args.reliability:
        draw_reliability(args.reliability, curves, f"{args.model or 'accurate'} model, {len(clips)} clips of "
                         f"{len({c.speaker for c in clips})} unseen speakers")
        print(f"reliability diagram: {args.reliability}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

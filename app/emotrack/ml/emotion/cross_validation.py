"""Cross-validation over speakers: an honest estimate, a temperature, then the final model.

A single split of the shared corpus leaves five validation speakers (260 clips), on
which two recipes must differ by more than ~0.03 before the difference means anything,
and whose clips a final model can no longer train on. Here every non-test speaker is
held out once instead: K models, each trained on the other folds' speakers and kept at
its last epoch (no choice made on its held-out speakers), predict the clips of the
speakers they never heard. Those out-of-fold predictions

- score the recipe on all non-test speakers (``cv.json``), and
- fit the softmax temperature (cross-fitting: the final model is calibrated on
  speakers that models of the same recipe never heard, which the final model itself
  can no longer offer, since it trains on all of them).

The final model then trains with the same recipe on every non-test speaker, in
``OUT/best``, with that temperature. Each fold resumes on its own, so an interrupted
run picks up at the fold and epoch where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emotrack.core.atomic import write_text_atomic
from emotrack.core.calibration import clip_probabilities, fit_temperature, reliability
from emotrack.errors import ParameterError
from emotrack.ml.emotion.calibrate import store_temperature, window_logits_per_clip
from emotrack.ml.emotion.data import LabelledClip
from emotrack.ml.emotion.modeling import EmotionModel
from emotrack.ml.emotion.training import Evaluation

# train(train_clips, held_out_clips, folder) -> folder of the trained model
Trainer = Callable[[list[LabelledClip], list[LabelledClip], Path], Path]
OUT_OF_FOLD_FILE = "out-of-fold.npz"
SUMMARY_FILE = "cv.json"


def speaker_folds(speakers: list[str], corpora: dict[str, str], folds: int, seed: int = 0) -> list[list[str]]:
    """Speakers dealt into ``folds`` groups, each corpus spread over the folds (so
    every fold model trains on both languages), in a seeded order."""
    if folds > len(speakers):
        raise ParameterError(f"--folds {folds} exceeds the {len(speakers)} speakers to hold out")
    rng = np.random.default_rng(seed)
    groups: list[list[str]] = [[] for _ in range(folds)]
    dealt = 0
    for corpus in sorted(set(corpora.values()), key=lambda c: sum(v == c for v in corpora.values())):
        members = sorted(s for s in speakers if corpora[s] == corpus)
        for speaker in rng.permutation(members):
            groups[dealt % folds].append(str(speaker))
            dealt += 1
    return [sorted(group) for group in groups]


def cross_validate(clips: list[LabelledClip], folds: int, out: Path, train: Trainer, seed: int = 0,
                   log: Callable[[str], None] = print) -> dict:
    """Run the K fold models, score and calibrate on their held-out clips, train the
    final model on all ``clips``; returns the summary also written to ``OUT/cv.json``."""
    corpora = {clip.speaker: clip.corpus for clip in clips}
    groups = speaker_folds(sorted(corpora), corpora, folds, seed)
    labels: list[str] | None = None
    logits: list[np.ndarray] = []
    truth: list[str] = []
    fold_rows = []
    for index, held_out_speakers in enumerate(groups, 1):
        held_out = [clip for clip in clips if clip.speaker in held_out_speakers]
        directory = out / f"fold-{index}"
        log(f"fold {index}/{folds}: holding out {', '.join(held_out_speakers)} ({len(held_out)} clips)")
        fold_labels, fold_logits = _out_of_fold(directory, clips, held_out, train)
        if labels is not None and fold_labels != labels:
            raise ParameterError(f"fold {index} learned the labels {fold_labels}, the others {labels}: "
                                 "every fold needs every emotion among its training speakers")
        labels = fold_labels
        fold_truth = [clip.label for clip in held_out]
        predicted = [labels[int(i)] for i in clip_probabilities(fold_logits, 1.0).argmax(axis=1)]
        evaluation = Evaluation.count(labels, fold_truth, predicted)
        fold_rows.append({"speakers": held_out_speakers, "clips": len(held_out),
                          "accuracy": evaluation.accuracy, "macro_f1": evaluation.macro_f1})
        log(f"fold {index}: accuracy {evaluation.accuracy:.3f}, macro-F1 {evaluation.macro_f1:.3f}")
        logits += fold_logits
        truth += fold_truth

    truth_index = np.array([labels.index(label) for label in truth])
    temperature = fit_temperature(logits, truth_index)
    probabilities = clip_probabilities(logits, temperature)
    evaluation = Evaluation.count(labels, truth, [labels[int(i)] for i in probabilities.argmax(axis=1)])
    ece_raw = reliability(clip_probabilities(logits, 1.0), truth_index).expected_calibration_error
    ece = reliability(probabilities, truth_index).expected_calibration_error
    summary = {"folds": fold_rows, "out_of_fold": evaluation.as_dict(), "temperature": temperature,
               "ece_at_temperature_1": ece_raw, "ece": ece}
    write_text_atomic(out / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    log(f"out of fold ({len(truth)} clips): accuracy {evaluation.accuracy:.3f}, macro-F1 "
        f"{evaluation.macro_f1:.3f}; temperature {temperature:.3f} (ECE {ece_raw:.3f} -> {ece:.3f})")

    log(f"final model: all {len(corpora)} speakers")
    best = train(clips, [], out)
    store_temperature(best, temperature)
    log(f"final model in {best} (temperature {temperature:.3f} from the out-of-fold clips)")
    return summary


def _out_of_fold(directory: Path, clips: list[LabelledClip], held_out: list[LabelledClip],
                 train: Trainer) -> tuple[list[str], list[np.ndarray]]:
    """The fold model's labels and each held-out clip's speech-window logits (the model
    is trained unless its logits are already saved)."""
    saved = directory / OUT_OF_FOLD_FILE
    if saved.is_file():
        data = np.load(saved)
        split = np.cumsum(data["lengths"])[:-1]
        return [str(label) for label in data["labels"]], np.split(data["logits"], split)
    held_out_speakers = {clip.speaker for clip in held_out}
    model_dir = train([clip for clip in clips if clip.speaker not in held_out_speakers], held_out, directory)
    model = EmotionModel.from_pretrained(model_dir, device="cpu")
    model.temperature = 1.0
    per_clip, _ = window_logits_per_clip(model, held_out)
    partial = saved.with_suffix(".partial.npz")
    np.savez(partial, labels=np.array(model.labels), lengths=np.array([len(x) for x in per_clip]),
             logits=np.concatenate(per_clip))
    partial.replace(saved)
    return model.labels, per_clip

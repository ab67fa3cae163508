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

``--actor SOURCE`` reads each speaker's clips relative to an actor reference made from
that speaker's unlabelled lines, as ``emotrack classify --same-actor`` does (the
accurate model's actor head): ``all`` (every evaluated clip of the speaker, the
session), ``random:K`` (K of the speaker's clips drawn at random, ``--draws`` times),
or ``emotion:E`` (only the speaker's clips of emotion E: the worst case, a session of
one mood; ``emotion:each`` takes each non-neutral emotion in turn). ``--actor voices``
gives the model every evaluated clip as one unlabelled batch, as ``emotrack classify``
does with many files: it groups them by voice and reads each against its own group
(``emotrack.ml.emotion.voices``), and the benchmark prints which speakers each voice holds;
``--voice-batches`` splits the clips into several batches instead (each speaker's, each
speaker's of one emotion, or random ones of K clips). ``--gain DB`` changes every clip's
level first, to see how much the figures depend on it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core.calibration import reliability  # noqa: E402
from emotrack.ml.emotion.actor import build_reference  # noqa: E402
from emotrack.ml.emotion.voices import read_by_voice  # noqa: E402
from emotrack.ml.emotion.data import read_labelled_clips  # noqa: E402
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel  # noqa: E402
from emotrack.ml.emotion.training import Evaluation  # noqa: E402
from emotrack.ml.emotion.whisper_training import TEST_SPEAKERS  # noqa: E402


def classify_all(model: EmotionModel, clips, window: int, hop: int, temperature: float,
                 references: dict | list | None = None) -> np.ndarray:
    """Clip probabilities; with ``references`` ({clip index: ActorReference}) each clip is
    read relative to its own reference; with a list of batches (lists of clip indices),
    each batch is grouped by voice (``temperature`` then stands for both heads': 1 or the
    fitted ones)."""
    if isinstance(references, list):
        return read_batches_by_voice(model, clips, references, window, hop, temperature)[0]
    if references is None:
        model.temperature = temperature
        return np.stack([model.classify(clip.samples, window, hop) for clip in clips])
    model.actor_temperature = temperature
    rows = []
    for index, clip in enumerate(clips):
        model.use_actor(references[index])
        rows.append(model.classify(clip.samples, window, hop))
    model.use_actor(None)
    return np.stack(rows)


def actor_references(model: EmotionModel, clips, source: str, window: int, hop: int, draws: int,
                     seed: int = 0) -> list[dict]:
    """One {clip index: reference} per draw, each speaker's reference made from its clips
    as ``source`` says (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    kind, _, value = source.partition(":")
    if kind not in ("all", "random", "emotion"):
        raise SystemExit(f"--actor must be all, random:K or emotion:E, got {source!r}")
    if kind == "emotion":
        emotions = [e for e in model.labels if e != "neutral"] if value == "each" else [value]
    memo: dict[tuple, object] = {}

    def reference(indices: tuple[int, ...]):
        if indices not in memo:
            memo[indices] = build_reference(model, [(clips[i].path.name, clips[i].samples) for i in indices],
                                            window, hop)
        return memo[indices]

    out = []
    for draw in range(1 if kind == "all" else (len(emotions) if kind == "emotion" else draws)):
        chosen = {}
        for speaker in sorted({c.speaker for c in clips}):
            own = [i for i, c in enumerate(clips) if c.speaker == speaker]
            if kind == "all":
                picked = own
            elif kind == "random":
                picked = sorted(rng.choice(own, min(int(value), len(own)), replace=False).tolist())
            else:
                picked = [i for i in own if clips[i].label == emotions[draw]]
            ref = reference(tuple(picked))
            chosen.update({i: ref for i in own})
        out.append(chosen)
    return out


def read_batches_by_voice(model: EmotionModel, clips, batches: list[list[int]], window: int, hop: int,
                          temperature: float) -> tuple[np.ndarray, list[list]]:
    """(clip probabilities, each batch's voice groups as (their clip indices, VoiceGroup)):
    each batch read by voice as one ``classify`` call would read it."""
    fitted = model.temperature, model.actor_temperature
    if temperature == 1.0:
        model.temperature = model.actor_temperature = 1.0
    probabilities, found = np.zeros((len(clips), len(model.labels))), []
    for batch in batches:
        readings = read_by_voice(model, ((str(i), clips[i].samples) for i in batch), window, hop)
        for i, reading in zip(batch, readings):
            probabilities[i] = reading.probabilities
        found.append([([batch[m] for m in group.members], group)
                      for group in {r.group.number: r.group for r in readings}.values()])
    model.temperature, model.actor_temperature = fitted
    return probabilities, found


def voice_batches(clips, split: str, draws: int, seed: int = 0) -> list[list[list[int]]]:
    """One list of batches per draw, covering every clip once: ``all`` (one batch),
    ``speaker`` (each speaker's clips), ``emotion`` (each speaker's clips of one emotion:
    the worst case) or ``random:K`` (random batches of K clips, ``draws`` times)."""
    by = {"all": lambda c: "", "speaker": lambda c: c.speaker, "emotion": lambda c: (c.speaker, c.label)}
    if split in by:
        keys = [by[split](c) for c in clips]
        return [[[i for i, k in enumerate(keys) if k == key] for key in dict.fromkeys(keys)]]
    kind, _, size = split.partition(":")
    if kind != "random" or not size.isdigit() or int(size) < 1:
        raise SystemExit(f"--voice-batches must be all, speaker, emotion or random:K, got {split!r}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(draws):
        order = rng.permutation(len(clips)).tolist()
        out.append([sorted(order[at:at + int(size)]) for at in range(0, len(order), int(size))])
    return out


def print_voices(clips, found: list[list], split: str) -> None:
    """Which speakers each voice group held, or for many batches how many groups they made."""
    groups = [group for batch in found for group in batch]
    alone = [members for members, group in groups if group.reference is None]
    print(f"voices ({split} batches): {len(found)} batch(es) of {len(clips)} clips -> {len(groups)} voice "
          f"groups, {len(alone)} of them one-sided (read alone, {sum(map(len, alone))} clips)")
    if len(found) == 1 and len(groups) <= 12:
        for number, (members, group) in enumerate(groups, 1):
            held: dict[str, int] = {}
            for i in members:
                held[clips[i].speaker] = held.get(clips[i].speaker, 0) + 1
            kind = "own reference" if group.reference is not None else "one-sided: read alone"
            print(f"  voice {number} ({kind}): " + ", ".join(f"{s} {n}" for s, n in sorted(held.items())))


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
    parser.add_argument("--actor", default=None, metavar="SOURCE",
                        help="read each speaker relative to an actor reference: all, random:K or emotion:E|each; "
                             "voices: group all clips by voice, as classify does")
    parser.add_argument("--draws", type=int, default=5, help="random:K draws (figures are their mean)")
    parser.add_argument("--voice-batches", default="all", metavar="SPLIT",
                        help="with --actor voices, the batches classify is given: all (one), speaker, "
                             "emotion (each speaker's clips of one emotion) or random:K")
    parser.add_argument("--gain", type=float, default=0.0, metavar="DB",
                        help="change every clip's level by this many dB first (clipped at full scale): how "
                             "much the figures depend on recording level")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    speakers = None if args.speakers == ["all"] else set(args.speakers)
    clips = read_labelled_clips(args.data, speakers)
    if args.gain:
        scale = 10 ** (args.gain / 20)
        clips = [dataclasses.replace(clip, samples=np.clip(clip.samples * scale, -1.0, 1.0)) for clip in clips]
    model = EmotionModel.from_pretrained(args.model, device=args.device)
    draws = [None]
    if args.actor == "voices":
        if model.voice_space is None:
            raise SystemExit("--actor voices needs a model with an actor head and a voice space (the bundled "
                             "accurate model)")
        draws = voice_batches(clips, args.voice_batches, args.draws)
    elif args.actor:
        if model.actor_head is None:
            raise SystemExit("--actor needs a model with an actor head (the bundled accurate model)")
        draws = actor_references(model, clips, args.actor, args.window, args.hop, args.draws)
    fitted = model.temperature if args.actor is None else model.actor_temperature
    truth = np.array([model.labels.index(clip.label) if clip.label in model.labels else -1 for clip in clips])
    began = time.perf_counter()
    if args.actor == "voices":  # the groups found are printed below
        read = [read_batches_by_voice(model, clips, batches, args.window, args.hop, fitted) for batches in draws]
        runs, voices_found = [probabilities for probabilities, _ in read], read[0][1]
    else:
        runs = [classify_all(model, clips, args.window, args.hop, fitted, references) for references in draws]
    elapsed = time.perf_counter() - began
    if len(runs) > 1:
        accuracies = [float(np.mean(r.argmax(axis=1) == truth)) for r in runs]
        print(f"{len(runs)} reference draws: accuracy per draw {', '.join(f'{a:.3f}' for a in accuracies)}; "
              "the figures below pool every draw's predictions")
    probabilities = np.concatenate(runs)
    n_clips = len(clips)
    clips = clips * len(runs)  # each draw's predictions count as clips below
    truth = np.tile(truth, len(runs))
    predicted = [model.labels[i] for i in probabilities.argmax(axis=1)]
    evaluation = Evaluation.count(model.labels, [c.label for c in clips], predicted)
    calibrated = reliability(probabilities, truth)
    has_temperature = (getattr(model.model.config, "emotrack_temperature", None) is not None
                       or args.actor is not None)
    name = f"T = {fitted:.2f} (fitted on speakers other than these)" if has_temperature else "T = 1 (none fitted)"
    curves = {name: (calibrated, calibrated.expected_calibration_error)}
    if fitted != 1.0:
        raw = reliability(np.concatenate([classify_all(model, clips[:len(truth) // len(runs)], args.window, args.hop,
                                                       1.0, references) for references in draws]), truth)
        curves["T = 1 (no calibration)"] = (raw, raw.expected_calibration_error)
    if args.actor == "voices":
        print_voices(clips[:n_clips], voices_found, args.voice_batches)  # the first draw's batches
    elif args.actor:
        references = {id(r): r for chosen in draws for r in chosen.values()}.values()
        flagged = sum(r.one_sided for r in references)
        print(f"actor reference: {args.actor} (each speaker's own unlabelled lines); {flagged} of "
              f"{len(references)} references flagged as one-sided (ActorReference.one_sided)")

    print(f"model {args.model or 'accurate'}: {n_clips} clips of {len({c.speaker for c in clips})} speakers "
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
        actor = f", actor reference: {args.actor}" if args.actor else ""
        draw_reliability(args.reliability, curves, f"{args.model or 'accurate'} model, {n_clips} clips of "
                         f"{len({c.speaker for c in clips})} unseen speakers{actor}")
        print(f"reliability diagram: {args.reliability}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

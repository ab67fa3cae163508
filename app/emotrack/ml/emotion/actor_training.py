"""Train a window-mean head of a Whisper emotion model (``emotrack train emotion-actor``):
the actor-referenced head, or with ``--plain`` the plain head that replaces the checkpoint's.

    emotrack train emotion-actor --data ../shared/data/emotion --out runs/actor \\
        --babble ../shared/data/speech_clean --copies 2 --layers 2 3 4 [--plain [--neutral-speech DIR]]

The encoder stays frozen (it is the model's own); each speech window of each training
clip becomes ``mean_t(h_t)`` of the head's layers (concatenated) minus its speaker's
reference (the mean over all of that speaker's clean speech windows, as ``emotrack
actor-reference`` makes it from an actor's lines). A multinomial logistic regression on
those vectors is the head. Augmented copies of each clip (``--copies``) are centred on
the speaker's clean reference, so the head also learns lines recorded unlike the
reference. The head keeps the training speakers' mean reference and blends a reference
of few lines with it (``--prior-lines``: as if it were that many more lines). ``--plain``
leaves the windows as they are (no reference): the head for every line of an unknown actor.
With ``--neutral-speech DIR`` the plain head also learns calm read speech (the training
half of the readers in DIR, ``data.read_speech_part``) as neutral: acted corpora hold only a
few speakers' neutral, and a flat narrator's line otherwise sounds sad to the head.

Speaker cross-validation over the training speakers (``--folds``) chooses the L2
strength (by the mean over corpora of their out-of-fold macro-F1), scores the recipe on
speakers no fold model heard, and fits the temperature on their out-of-fold clips; the
head that ships is then fitted on all training speakers.
The test speakers (``whisper_training.TEST_SPEAKERS``) are never read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emotrack.core.atomic import write_text_atomic
from emotrack.core.calibration import clip_probabilities, fit_temperature, reliability
from emotrack.core.emotions import canonical_labels
from emotrack.errors import ParameterError
from emotrack.ml.emotion.actor import ACTOR_FOLDER, speech_window_means
from emotrack.ml.emotion.cross_validation import speaker_folds
from emotrack.ml.emotion.data import (
    LabelledClip, add_read_speech_arguments, read_labelled_clips, read_speech_clips,
)
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel
from emotrack.ml.emotion.whisper_training import TEST_SPEAKERS
from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, WindowMeanHead, WindowMeanHeadConfig

FEATURES_FILE = "window-features.npz"
NEUTRAL_FEATURES_FILE = "read-speech-features.npz"
SUMMARY_FILE = "actor-cv.json"
PLAIN_SUMMARY_FILE = "plain-cv.json"
L2_GRID = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="labelled emotion corpus (labels.csv)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the head, its figures and cache")
    parser.add_argument("--model", default=None, metavar="NAME|DIR",
                        help="the Whisper emotion model whose encoder the head reads (default: bundled)")
    parser.add_argument("--layers", type=int, nargs="+", default=None,
                        help="encoder hidden states to read, concatenated (default: the one the model's "
                             "own head reads)")
    parser.add_argument("--plain", action="store_true",
                        help="train the plain head instead (windows as they are, no actor reference): it goes "
                             "to the model folder's plain/ and replaces the checkpoint's own head")
    add_read_speech_arguments(parser, "--plain: ")
    parser.add_argument("--prior-lines", type=float, default=3.0,
                        help="blend a reference of n lines with the training speakers' mean reference as if "
                             "that were this many more lines (0: off; the actor head only)")
    parser.add_argument("--copies", type=int, default=2, help="augmented copies of each clip (0: clean only)")
    parser.add_argument("--babble", type=Path, default=None, help="clean speech folder for babble noise")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--l2", type=float, nargs="+", default=list(L2_GRID),
                        help="L2 strengths to choose from by cross-validation")
    parser.add_argument("--test-speakers", nargs="*", default=list(TEST_SPEAKERS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)


def model_layer(model: EmotionModel) -> int:
    """The hidden state the model's own head reads: the one layer of a one-hot weighted
    layer sum, else the last."""
    config = model.whisper.model.config
    if getattr(config, "use_weighted_layer_sum", False):
        weights = model.whisper.model.layer_weights.detach().float()
        if int((weights > weights.min()).sum()) == 1:
            return int(weights.argmax())
    return int(config.encoder_layers)


def reference_id(model: EmotionModel, layers: tuple[int, ...]) -> str:
    """Names the encoder up to the last of ``layers``: references fit any model that shares it."""
    encoder = model.whisper.model.encoder
    digest = hashlib.sha256()
    modules = [encoder.conv1, encoder.conv2, encoder.embed_positions, *encoder.layers[:max(layers)]]
    for module in modules:
        for tensor in module.state_dict().values():
            digest.update(tensor.detach().to(torch.float16).cpu().numpy().tobytes())
    return f"whisper-encoder-{digest.hexdigest()[:16]}"


def clip_features(model: EmotionModel, clips: list[LabelledClip], copies: int, layers: tuple[int, ...], seed: int,
                  babble: list[np.ndarray], cache: Path) -> list[list[np.ndarray]]:
    """``[clip][copy]`` -> speech-window means ``[windows, d_model * len(layers)]``; copy 0
    is the clip as recorded. Cached in ``cache`` (keyed by clip path, copy count, layers
    and seed)."""
    from emotrack.ml.emotion.augment import augment

    key = json.dumps({"paths": [str(c.path) for c in clips], "copies": copies, "layers": list(layers),
                      "seed": seed})
    if cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        if str(stored["key"]) == key:
            counts, flat = stored["counts"], stored["features"]
            out, at = [], 0
            for row in counts:
                out.append([])
                for count in row:
                    out[-1].append(flat[at:at + count])
                    at += count
            return out
    features, started = [], time.monotonic()
    with torch.inference_mode():
        for index, clip in enumerate(clips):
            rng = np.random.default_rng([seed, index])
            variants = [clip.samples] + [augment(clip.samples, rng, babble) for _ in range(copies)]
            features.append([speech_window_means(model, v, layers, DEFAULT_WINDOW, DEFAULT_HOP) for v in variants])
            if (index + 1) % 100 == 0:
                _log(f"window features: {index + 1}/{len(clips)} clips ({time.monotonic() - started:.0f} s)")
    counts = np.array([[len(f) for f in row] for row in features])
    flat = np.concatenate([f for row in features for f in row])
    np.savez(cache, key=key, counts=counts, features=flat)
    return features


def speaker_references(clips: list[LabelledClip], features: list[list[np.ndarray]]) -> dict[str, np.ndarray]:
    """Each speaker's reference: the mean of all their clean speech windows."""
    references = {}
    for speaker in sorted({c.speaker for c in clips}):
        rows = [features[i][0] for i, c in enumerate(clips) if c.speaker == speaker and len(features[i][0])]
        references[speaker] = np.concatenate(rows).mean(axis=0)
    return references


def training_rows(indices: list[int], clips: list[LabelledClip], features: list[list[np.ndarray]],
                  references: dict[str, np.ndarray], targets: np.ndarray, n_labels: int):
    """Centred windows, their labels and weights: every clip (all copies together) weighs
    the same within its class, and every class the same in all."""
    xs, ys, ws = [], [], []
    class_clips = np.bincount(targets[indices], minlength=n_labels)
    for i in indices:
        windows = [f for f in features[i] if len(f)]
        if not windows:
            continue
        rows = np.concatenate(windows) - references[clips[i].speaker]
        xs.append(rows)
        ys.append(np.full(len(rows), targets[i]))
        ws.append(np.full(len(rows), 1.0 / (len(rows) * class_clips[targets[i]])))
    weights = np.concatenate(ws)
    return np.concatenate(xs), np.concatenate(ys), weights / weights.mean()


def with_read_speech(rows: tuple[np.ndarray, np.ndarray, np.ndarray], read_speech: np.ndarray,
                     neutral: int, share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training ``rows`` (windows, labels, weights) plus every read-speech window as label
    ``neutral``, weighing ``share`` of the acted neutral windows' weight in all. Read speech
    is what a flat line sounds like from speakers far more varied than the acted corpora's:
    without it, unseen readers were heard as neutral only about a fifth of the time."""
    x, y, weights = rows
    if not len(read_speech) or share <= 0:
        return rows
    extra = np.full(len(read_speech), share * weights[y == neutral].sum() / len(read_speech))
    return (np.concatenate([x, read_speech]), np.concatenate([y, np.full(len(read_speech), neutral)]),
            np.concatenate([weights, extra]))


def fit_logistic(x: np.ndarray, y: np.ndarray, weights: np.ndarray, n_labels: int, l2: float,
                 iterations: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """(weight ``[labels, d]``, bias ``[labels]``) of an L2-penalised multinomial logistic
    regression, fitted on standardised inputs (L-BFGS) and folded back to raw ones."""
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    inputs = torch.from_numpy(((x - mean) / scale).astype(np.float32))
    target, weight = torch.from_numpy(y.astype(np.int64)), torch.from_numpy(weights.astype(np.float32))
    w = torch.zeros(n_labels, x.shape[1], requires_grad=True)
    b = torch.zeros(n_labels, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (torch.nn.functional.cross_entropy(inputs @ w.T + b, target, reduction="none") * weight).mean()
        loss = loss + l2 * (w ** 2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    w_raw = w.detach().numpy() / scale
    return w_raw, b.detach().numpy() - w_raw @ mean


def clip_window_logits(indices: list[int], clips, features, references, w, b) -> list[np.ndarray]:
    """Window logits of each clip as recorded (copy 0), centred on its speaker."""
    out = []
    for i in indices:
        rows = features[i][0]
        if not len(rows):
            out.append(np.zeros((1, len(b))))
            continue
        out.append((rows - references[clips[i].speaker]) @ w.T + b)
    return out


def scores(probabilities: np.ndarray, truth: np.ndarray, n_labels: int) -> dict:
    predicted = probabilities.argmax(axis=1)
    f1 = []
    for c in range(n_labels):
        tp, fp = np.sum((predicted == c) & (truth == c)), np.sum((predicted == c) & (truth != c))
        fn = np.sum((predicted != c) & (truth == c))
        if np.any(truth == c):
            f1.append(2 * tp / max(1, 2 * tp + fp + fn))
    return {"accuracy": float(np.mean(predicted == truth)), "macro_f1": float(np.mean(f1))}


def corpus_balanced_f1(probabilities: np.ndarray, truth: np.ndarray, corpora: np.ndarray, n_labels: int) -> float:
    """The mean over corpora of each corpus's macro-F1."""
    return float(np.mean([scores(probabilities[corpora == corpus], truth[corpora == corpus], n_labels)["macro_f1"]
                          for corpus in np.unique(corpora)]))


def run(args: argparse.Namespace) -> int:
    if args.copies < 0 or args.folds < 2 or args.threads < 1 or not args.l2 or min(args.l2) <= 0 \
            or args.prior_lines < 0 or args.neutral_share < 0:
        raise ParameterError("--copies, --prior-lines and --neutral-share must be >= 0, --folds >= 2, "
                             "--threads >= 1 and every --l2 > 0")
    if args.neutral_speech is not None and not args.plain:
        raise ParameterError("--neutral-speech teaches the plain head (--plain): read speech has no actor reference")
    torch.set_num_threads(args.threads)
    model = EmotionModel.from_pretrained(args.model, device="cpu")
    if model.whisper is None:
        raise ParameterError("the actor head needs a Whisper-based emotion model (--model)")
    layers = (model_layer(model),) if args.layers is None else tuple(args.layers)
    deepest = model.whisper.model.config.encoder_layers
    if not all(0 <= layer <= deepest for layer in layers) or len(set(layers)) != len(layers):
        raise ParameterError(f"--layers must be distinct values 0..{deepest}, got {list(layers)}")
    config = model.whisper.model.config
    checkpoint_labels = canonical_labels([config.id2label[i] for i in range(config.num_labels)])
    test_speakers = set(args.test_speakers)
    clips = [c for c in read_labelled_clips(args.data) if c.speaker not in test_speakers]
    unknown = sorted({c.label for c in clips} - set(checkpoint_labels))
    if unknown:
        raise ParameterError(f"the model has no output for labels {unknown}")
    targets = np.array([checkpoint_labels.index(c.label) for c in clips])
    n_labels = len(checkpoint_labels)
    babble = []
    if args.babble is not None:
        from emotrack.ml.quality.training import find_audio, read_mono_16k

        babble = [read_mono_16k(p) for p in find_audio(args.babble)[:60]]
    args.out.mkdir(parents=True, exist_ok=True)
    _log(f"{len(clips)} clips of {len({c.speaker for c in clips})} speakers; layers {', '.join(map(str, layers))}; "
         f"{args.copies} augmented copies; test speakers never read: {', '.join(sorted(test_speakers))}")
    features = clip_features(model, clips, args.copies, layers, args.seed, babble, args.out / FEATURES_FILE)
    references = speaker_references(clips, features)
    if args.plain:
        references = {speaker: 0.0 for speaker in references}
    read_speech, neutral = np.zeros((0, features[0][0].shape[1])), -1  # no read speech: no rows added
    if args.neutral_speech is not None:
        if "neutral" not in checkpoint_labels:
            raise ParameterError("--neutral-speech teaches the neutral class, and this model has none")
        neutral = checkpoint_labels.index("neutral")
        readers = read_speech_clips(args.neutral_speech, "train")
        rows = clip_features(model, readers, args.copies, layers, args.seed, babble, args.out / NEUTRAL_FEATURES_FILE)
        read_speech = np.concatenate([f for row in rows for f in row if len(f)])
        _log(f"read speech as neutral: {len(readers)} utterances of the training half of the readers in "
             f"{args.neutral_speech}, {len(read_speech)} windows, weighing {args.neutral_share:g} of the neutral class")

    def rows_of(indices: list[int]):
        return with_read_speech(training_rows(indices, clips, features, references, targets, n_labels),
                                read_speech, neutral, args.neutral_share)

    speakers = sorted(references)
    corpora = {c.speaker: c.corpus for c in clips}
    folds = speaker_folds(speakers, corpora, args.folds, args.seed)
    by_l2: dict[float, list[np.ndarray]] = {}
    figures_by_l2: dict[float, dict] = {}
    order = [i for fold in folds for i, c in enumerate(clips) if c.speaker in fold]
    clip_corpora = np.array([clips[i].corpus for i in order])
    for l2 in args.l2:
        logits: dict[int, np.ndarray] = {}
        for fold in folds:
            held = [i for i, c in enumerate(clips) if c.speaker in fold]
            train = [i for i, c in enumerate(clips) if c.speaker not in fold]
            w, b = fit_logistic(*rows_of(train), n_labels, l2)
            logits.update(zip(held, clip_window_logits(held, clips, features, references, w, b)))
        by_l2[l2] = [logits[i] for i in order]
        figures = scores(clip_probabilities(by_l2[l2], 1.0), targets[order], n_labels)
        balanced = corpus_balanced_f1(clip_probabilities(by_l2[l2], 1.0), targets[order], clip_corpora, n_labels)
        _log(f"L2 {l2:g}: out of fold accuracy {figures['accuracy']:.3f}, macro-F1 {figures['macro_f1']:.3f}, "
             f"mean over corpora {balanced:.3f}")
        figures_by_l2[l2] = {**figures, "corpus_balanced_macro_f1": balanced}
    # Each corpus counts alike: speakers of other languages are held out elsewhere, and a
    # choice carried by one corpus's many speakers fits that corpus.
    chosen = max(args.l2, key=lambda l2: figures_by_l2[l2]["corpus_balanced_macro_f1"])
    temperature = fit_temperature(by_l2[chosen], targets[order])
    calibrated = clip_probabilities(by_l2[chosen], temperature)
    summary = {"layers": list(layers), "copies": args.copies, "l2": chosen, "temperature": temperature,
               "folds": folds, "clips": len(order),
               "out_of_fold": scores(calibrated, targets[order], n_labels),
               "ece_at_1": reliability(clip_probabilities(by_l2[chosen], 1.0), targets[order])
               .expected_calibration_error,
               "ece": reliability(calibrated, targets[order]).expected_calibration_error,
               "by_l2": {str(l2): figures for l2, figures in figures_by_l2.items()},
               "read_speech": None if args.neutral_speech is None else {
                   "folder": str(args.neutral_speech), "windows": len(read_speech), "share": args.neutral_share}}
    _log(f"chosen L2 {chosen:g}, temperature {temperature:.3f}: out of fold "
         f"{summary['out_of_fold']['accuracy']:.3f} / {summary['out_of_fold']['macro_f1']:.3f}, "
         f"ECE {summary['ece_at_1']:.3f} -> {summary['ece']:.3f}")

    w, b = fit_logistic(*rows_of(list(range(len(clips)))), n_labels, chosen)
    prior_lines = 0.0 if args.plain else args.prior_lines
    head = WindowMeanHead(WindowMeanHeadConfig(
        d_model=w.shape[1], num_labels=n_labels, layers=layers, temperature=round(temperature, 4),
        reference_id="" if args.plain else reference_id(model, layers), prior_lines=prior_lines))
    with torch.no_grad():
        head.classifier.weight.copy_(torch.from_numpy(w))
        head.classifier.bias.copy_(torch.from_numpy(b))
        if prior_lines > 0:  # the training speakers' mean reference, each speaker alike
            head.prior_reference.copy_(torch.from_numpy(np.mean([references[s] for s in speakers], axis=0)))
    folder = args.out / (PLAIN_FOLDER if args.plain else ACTOR_FOLDER)
    head.save_pretrained(folder, half=True)  # fp16, as models ship
    write_text_atomic(args.out / (PLAIN_SUMMARY_FILE if args.plain else SUMMARY_FILE),
                      json.dumps(summary, indent=1) + "\n")
    _log(f"{'plain' if args.plain else 'actor'} head in {folder} (copy it into the model folder to ship it)")
    return 0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

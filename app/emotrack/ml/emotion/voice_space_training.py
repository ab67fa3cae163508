"""Fit the voice space of a Whisper emotion model (``emotrack train voice-space``): where
lines of one actor land together whatever their emotion (``emotrack.core.voice_groups``).

    emotrack train voice-space --data ../shared/data/emotion --out runs/voices --layers 1 2

Each training line becomes the mean of its speech windows' encoder states ``--layers``
(the model's own, frozen), standardised. ``--method wccn`` (the default) whitens them by
the scatter of each speaker's lines around that speaker's mean (within-class covariance
normalisation, shrunk toward its average variance by ``--shrinkage``): the directions
along which one actor's emotions and sentences move count little, and every other
direction keeps its weight, including those along which unseen actors differ from the
training ones. ``--method lda`` keeps only the directions of a linear discriminant
analysis of the training speakers (at most one fewer than there are speakers; out of
fold it merged more voices). Speaker cross-validation (``--folds``) reports how well
average-linkage clustering cut at ``--threshold`` recovers the speakers of each held-out
fold, mixed; then the space fitted on every training speaker is written to
``OUT/actor/voice-space.safetensors`` (copy it into the model's ``actor/`` folder beside
the actor head). The test speakers (``whisper_training.TEST_SPEAKERS``) are never read.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from emotrack.core.atomic import write_text_atomic
from emotrack.core.voice_groups import VoiceSpace, group_voices
from emotrack.errors import ParameterError
from emotrack.ml.emotion.actor import ACTOR_FOLDER, speech_window_means
from emotrack.ml.emotion.cross_validation import speaker_folds
from emotrack.ml.emotion.data import read_labelled_clips
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel
from emotrack.ml.emotion.whisper_training import TEST_SPEAKERS

SUMMARY_FILE = "voice-space-cv.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="labelled emotion corpus (labels.csv)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the voice space and its figures")
    parser.add_argument("--model", default=None, metavar="NAME|DIR",
                        help="the Whisper emotion model whose encoder the voice space reads (default: bundled)")
    parser.add_argument("--layers", type=int, nargs="+", default=[1, 2],
                        help="encoder hidden states whose speech-window mean is a line's voice")
    parser.add_argument("--method", choices=("wccn", "lda"), default="wccn",
                        help="whiten by the within-speaker scatter (wccn) or keep the discriminant directions (lda)")
    parser.add_argument("--shrinkage", type=float, default=0.6,
                        help="within-speaker scatter shrunk this far toward its average variance (0..1)")
    parser.add_argument("--threshold", type=float, default=0.85,
                        help="cosine distance at which the average-linkage tree is cut into voices")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--test-speakers", nargs="*", default=list(TEST_SPEAKERS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)


def within_speaker_scatter(points: np.ndarray, speakers: np.ndarray, shrinkage: float) -> np.ndarray:
    """The scatter of each speaker's points around that speaker's mean, shrunk toward
    ``mean variance × I`` (a few hundred lines cannot estimate a full d × d scatter)."""
    within = np.zeros((points.shape[1],) * 2)
    for name in sorted(set(speakers)):
        own = points[speakers == name]
        within += (own - own.mean(axis=0)).T @ (own - own.mean(axis=0))
    within /= len(points)
    return (1 - shrinkage) * within + shrinkage * np.trace(within) / len(within) * np.eye(len(within))


def whitening_projection(points: np.ndarray, speakers: np.ndarray, shrinkage: float) -> np.ndarray:
    """``[d, d]``: ``W`` with ``W.T S_within W = I``."""
    values, vectors = np.linalg.eigh(within_speaker_scatter(points, speakers, shrinkage))
    return vectors / np.sqrt(values)


def discriminant_projection(points: np.ndarray, speakers: np.ndarray, shrinkage: float) -> np.ndarray:
    """``[d, n_speakers - 1]``: the leading solutions of ``S_between v = λ S_within v``."""
    import scipy.linalg

    centre = points.mean(axis=0)
    between = np.zeros((points.shape[1],) * 2)
    for name in sorted(set(speakers)):
        own = points[speakers == name]
        between += len(own) * np.outer(own.mean(axis=0) - centre, own.mean(axis=0) - centre)
    _, vectors = scipy.linalg.eigh(between / len(points), within_speaker_scatter(points, speakers, shrinkage))
    return vectors[:, ::-1][:, :len(set(speakers)) - 1]


PROJECTIONS = {"wccn": whitening_projection, "lda": discriminant_projection}


def fit_voice_space(states: np.ndarray, speakers: np.ndarray, layers: tuple[int, ...], method: str,
                    shrinkage: float, threshold: float) -> VoiceSpace:
    mean, scale = states.mean(axis=0), states.std(axis=0) + 1e-6
    standard = (states - mean) / scale
    projection = PROJECTIONS[method](standard, speakers, shrinkage)
    return VoiceSpace(layers=layers, mean=mean, scale=scale, projection=projection,
                      centre=(standard @ projection).mean(axis=0), threshold=threshold)


def pair_scores(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(precision, recall) over pairs of lines: of the pairs put in one group, how many
    share a speaker; of the pairs sharing a speaker, how many were put in one group."""
    same_group = found[:, None] == found[None, :]
    same_speaker = truth[:, None] == truth[None, :]
    off_diagonal = ~np.eye(len(found), dtype=bool)
    together = (same_group & off_diagonal).sum()
    both = (same_group & same_speaker & off_diagonal).sum()
    return float(both / max(together, 1)), float(both / max((same_speaker & off_diagonal).sum(), 1))


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.shrinkage <= 1 or not 0 < args.threshold <= 2 or args.folds < 2 or args.threads < 1:
        raise ParameterError("--shrinkage must be in 0..1, --threshold in (0, 2], --folds >= 2, --threads >= 1")
    torch.set_num_threads(args.threads)
    model = EmotionModel.from_pretrained(args.model, device="cpu")
    if model.whisper is None:
        raise ParameterError("the voice space needs a Whisper-based emotion model (--model)")
    layers = tuple(args.layers)
    deepest = model.whisper.model.config.encoder_layers
    if not all(0 <= layer <= deepest for layer in layers) or len(set(layers)) != len(layers):
        raise ParameterError(f"--layers must be distinct values 0..{deepest}, got {list(layers)}")
    test_speakers = set(args.test_speakers)
    clips = [c for c in read_labelled_clips(args.data) if c.speaker not in test_speakers]
    if len({c.speaker for c in clips}) < max(3, args.folds):
        raise ParameterError(f"the voice space needs at least {max(3, args.folds)} training speakers")
    _log(f"{len(clips)} clips of {len({c.speaker for c in clips})} speakers; layers {', '.join(map(str, layers))}; "
         f"test speakers never read: {', '.join(sorted(test_speakers))}")
    states, kept, started = [], [], time.monotonic()
    with torch.inference_mode():
        for index, clip in enumerate(clips):
            windows = speech_window_means(model, clip.samples, layers, DEFAULT_WINDOW, DEFAULT_HOP)
            if len(windows):
                states.append(windows.mean(axis=0))
                kept.append(clip)
            if (index + 1) % 100 == 0:
                _log(f"voice states: {index + 1}/{len(clips)} clips ({time.monotonic() - started:.0f} s)")
    states = np.stack(states)
    speakers = np.array([c.speaker for c in kept])
    corpora = {c.speaker: c.corpus for c in kept}
    folds = speaker_folds(sorted(set(speakers)), corpora, args.folds, args.seed)
    per_fold = []
    for fold in folds:
        held = np.isin(speakers, fold)
        space = fit_voice_space(states[~held], speakers[~held], layers, args.method, args.shrinkage,
                                args.threshold)
        found = group_voices(space.embed(states[held]), args.threshold)
        precision, recall = pair_scores(found, speakers[held])
        per_fold.append({"speakers": sorted(fold), "voices_found": int(found.max()) + 1,
                         "pair_precision": precision, "pair_recall": recall})
        _log(f"fold {sorted(fold)}: {len(fold)} speakers mixed -> {found.max() + 1} voices; pairs grouped "
             f"together share a speaker {precision:.3f}, pairs of one speaker grouped together {recall:.3f}")
    space = fit_voice_space(states, speakers, layers, args.method, args.shrinkage, args.threshold)
    folder = args.out / ACTOR_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = space.save(folder)
    summary = {"layers": list(layers), "method": args.method, "shrinkage": args.shrinkage,
               "threshold": args.threshold,
               "clips": len(kept), "speakers": len(set(speakers)), "folds": per_fold}
    write_text_atomic(args.out / SUMMARY_FILE, json.dumps(summary, indent=1) + "\n")
    _log(f"voice space in {path} (copy it into the model folder's {ACTOR_FOLDER}/ beside the actor head)")
    return 0


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

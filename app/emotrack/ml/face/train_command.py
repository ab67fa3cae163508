"""``emotrack train face``: train the face network from RAVDESS, a synthetic corpus
and/or a studio's own Live Link Face captures.

    emotrack train face --data ../shared/data/emotion --phones runs/ravdess_phones.jsonl \\
        --synthetic-dir runs/synthetic --init resources/models/face --out runs/facenet/v3
    emotrack train face --captures takes/ --init resources/models/face --out runs/facenet/studio

Sources (at least one):
* ``--data`` + ``--phones``: RAVDESS clips with their aligned phones
  (``scripts/align_ravdess.py``); targets from the articulation model. Their encoder
  states are cached under ``--cache`` (default ``OUT/cache``). Test actors never train;
  the validation actors validate.
* ``--synthetic-dir`` (repeatable): a corpus built by ``python -m emotrack.ml.face.synthetic_corpus``
  or ``foreign_corpus``.
* ``--captures``: Live Link Face CSV takes, each with its audio (``ml.face.captures``);
  the captured curves are the targets. Every tenth take validates (when there are ten).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from emotrack.errors import ParameterError
from emotrack.ml.face.training import (TEST_SPEAKERS, VALIDATION_SPEAKERS, FaceExample, TrainSettings, VertexLoss,
                                       add_loss_arguments, corpus_examples, emotion_vector, ravdess_examples,
                                       read_phone_records, train_face_net)

CAPTURE_VALIDATION_EVERY = 10  # every tenth take validates, once there are that many


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = TrainSettings()
    parser.add_argument("--out", required=True, type=Path, help="run folder; the best network goes to OUT/best")
    parser.add_argument("--data", type=Path, default=None, help="the emotion data folder (RAVDESS, labels.csv)")
    parser.add_argument("--phones", type=Path, default=None, help="aligned RAVDESS phones (JSONL); needs --data")
    parser.add_argument("--cache", type=Path, default=None, help="encoder-state cache of --data (default OUT/cache)")
    parser.add_argument("--copies", type=int, default=1, help="RAVDESS copies per clip: 1 as recorded, more augmented")
    parser.add_argument("--synthetic-dir", type=Path, action="append", default=[],
                        help="a synthetic corpus (synthetic_corpus, foreign_corpus); repeat for several")
    parser.add_argument("--captures", type=Path, default=None,
                        help="folder of Live Link Face CSV takes, each with an audio file of the same stem")
    parser.add_argument("--capture-fps", type=float, default=None,
                        help="the takes' timecode frame rate (default: read off the timecodes)")
    parser.add_argument("--init", type=Path, default=None, help="start from this saved face network")
    parser.add_argument("--encoder", default="accurate",
                        help="emotion model whose Whisper encoder feeds the network ('accurate' or a folder)")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--max-minutes", type=float, default=defaults.max_minutes)
    add_loss_arguments(parser)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def capture_examples(folder: Path, encode, fps: float | None) -> list[FaceExample]:
    """One example per take: the encoder states of its audio and its curves at 50 Hz."""
    from emotrack.ml.emotion.data import read_mono
    from emotrack.ml.face.captures import capture_files, check_lengths, read_live_link_csv, resampled_targets
    from emotrack.ml.face.modeling import ENCODER_FPS

    neutral = emotion_vector("neutral", True)
    examples = []
    for csv_path, audio_path in capture_files(folder):
        take = read_live_link_csv(csv_path, fps)
        samples = read_mono(audio_path)
        check_lengths(take, len(samples) / 16000, csv_path.name)
        states = np.asarray(encode(samples), np.float16)
        frames = states.shape[1]
        examples.append(FaceExample(lambda states=states: states, [], neutral, frames, f"capture:{csv_path.stem}",
                                    targets=resampled_targets(take, frames, ENCODER_FPS), captured=True))
    return examples


def run(args: argparse.Namespace) -> int:
    from emotrack.core.face_rig import load_face_rig
    from emotrack.ml.emotion.modeling import EmotionModel
    from emotrack.ml.face.modeling import FaceNetConfig, load_face_net

    if not (args.data or args.synthetic_dir or args.captures):
        raise ParameterError("nothing to train on: give --data (with --phones), --synthetic-dir or --captures")
    if args.data and not args.phones:
        raise ParameterError("--data needs --phones: align the clips first (scripts/align_ravdess.py)")
    for name in ("epochs", "batch_size", "threads", "copies"):
        if getattr(args, name) < 1:
            raise ParameterError(f"--{name.replace('_', '-')} must be at least 1")
    if args.lip_weight <= 0 or args.closure_weight < 0:
        raise ParameterError("--lip-weight must be positive and --closure-weight at least 0")
    torch.set_num_threads(args.threads)
    encoder = EmotionModel.from_pretrained(args.encoder, device="cpu").whisper
    if encoder is None:
        raise ParameterError(f"--encoder {args.encoder} is not a Whisper emotion model")

    def encode(samples: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return encoder.encode(samples).hidden_states.numpy()

    train, validation = [], []
    if args.data:
        from emotrack.ml.emotion.data import read_labelled_clips
        from emotrack.ml.emotion.encoding_cache import encode_corpus

        records = read_phone_records(args.phones)
        speakers = {r["speaker"] for r in records} - TEST_SPEAKERS - VALIDATION_SPEAKERS
        cache = args.cache or args.out / "cache"
        clips = read_labelled_clips(args.data, speakers | set(VALIDATION_SPEAKERS))
        encode_corpus(encoder, [c for c in clips if c.speaker in VALIDATION_SPEAKERS], cache, 1, log=_log)
        encode_corpus(encoder, [c for c in clips if c.speaker in speakers], cache, args.copies, log=_log)
        train += ravdess_examples(records, args.data, cache, speakers, args.copies)
        validation += ravdess_examples(records, args.data, cache, VALIDATION_SPEAKERS, 1)
    for corpus in args.synthetic_dir:
        train += corpus_examples(corpus, validation=False)
        validation += corpus_examples(corpus, validation=True)
    if args.captures:
        for number, take in enumerate(capture_examples(args.captures, encode, args.capture_fps), 1):
            (validation if number % CAPTURE_VALIDATION_EVERY == 0 else train).append(take)
    if not train:
        raise ParameterError("no training examples left (test speakers and validation takes are never trained on)")
    _log(f"{len(train)} training examples, {len(validation)} validation")
    initial = load_face_net(args.init) if args.init else None
    shape = np.shape(train[0].encoding())
    config = initial.config if initial else FaceNetConfig(n_layers_in=shape[0], width_in=shape[2])
    if (config.n_layers_in, config.width_in) != (shape[0], shape[2]):
        raise ParameterError(f"--init {args.init} takes {config.n_layers_in} layers of width {config.width_in}, "
                             f"the encoder gives {shape[0]} of width {shape[2]}")
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             max_minutes=args.max_minutes, seed=args.seed)
    train_face_net(train, validation, VertexLoss(load_face_rig(), lip_weight=args.lip_weight,
                                                    closure_weight=args.closure_weight), args.out, settings,
                   config=config, log=_log, initial=initial)
    print(f"face network saved in {args.out / 'best'}")
    return 0

"""Fine-tuning a Whisper-based emotion classifier on CPU.

The model is ``transformers``' ``WhisperForAudioClassification`` on the encoder that
``scripts/import_whisper_base.py`` imports (OpenAI Whisper base): a softmax-weighted
sum of all hidden states, a projection, the mean over an analysis window's frames, and a
linear classifier. The lower encoder layers stay frozen; their hidden states are
computed once per clip and augmented copy and cached on disk (``encoding_cache``), so
each step runs only the top ``--train-layers`` layers and the head.

Each step takes class-balanced clips, crops them to a common length inside their voiced
part, and puts every analysis window of the crop (0.9 s at 0.45 s hop, as the app
slides them) through the head with the clip's label. Validation speakers choose the
epoch and fit the softmax temperature; test speakers (``--test-speakers``) are never
read at all. Every epoch writes a resumable checkpoint.

    emotrack train emotion --encoder runs/whisper-base --data ../shared/data/emotion --out runs/emotion-whisper
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import WhisperFeatureExtractor, WhisperForAudioClassification
from transformers.utils import logging as transformers_logging

from emotrack.core.emotions import EMOTIONS
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.checkpoint import save_training_state
from emotrack.ml.emotion.calibrate import calibrate
from emotrack.ml.emotion.data import (
    READ_SPEECH_CORPUS, SAMPLE_RATE, LabelledClip, add_read_speech_arguments, read_labelled_clips, read_mono,
    read_speech_clips, voiced_bounds,
)
from emotrack.ml.emotion.encoding_cache import encode_corpus, load_encoding
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel
from emotrack.ml.emotion.training import evaluate
from emotrack.ml.whisper.convert import feature_extractor
from emotrack.ml.whisper.encoder import FRAME_SAMPLES, WhisperClipEncoder

# Speakers of the shared corpus, by role. Test speakers are never read by training (the
# benchmark's); validation speakers pick the epoch and the temperature. Both sets have
# men and women, and one Italian speaker, like the training set.
TEST_SPEAKERS: tuple[str, ...] = ("ravdess_A03", "ravdess_A04", "ravdess_A17", "ravdess_A18", "emovo_f2")
VALIDATION_SPEAKERS: tuple[str, ...] = ("ravdess_A05", "ravdess_A06", "ravdess_A11", "ravdess_A12", "emovo_m1")

CHECKPOINT_FILE = "checkpoint.pt"
BEST_DIR = "best"
VALIDATION_FILE = "validation.json"
WINDOW_FRAMES = DEFAULT_WINDOW // FRAME_SAMPLES  # 45 frames = 0.9 s
HOP_FRAMES = DEFAULT_HOP // FRAME_SAMPLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoder", required=True, type=Path,
                        help="Whisper encoder checkpoint folder (scripts/import_whisper_base.py)")
    parser.add_argument("--data", required=True, type=Path, help="folder with labels.csv and the clips")
    parser.add_argument("--out", required=True, type=Path, help="folder for checkpoints and the best model")
    parser.add_argument("--cache", type=Path, default=None, help="encoding cache (default OUT/cache)")
    parser.add_argument("--babble", type=Path, default=None,
                        help="folder of other speech (FLAC) mixed in as babble noise when augmenting")
    parser.add_argument("--copies", type=int, default=6, help="encodings per clip: 1 as recorded + augmented")
    parser.add_argument("--train-layers", type=int, default=0,
                        help="top encoder layers to fine-tune (0: the head alone, on a frozen encoder)")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this trained classifier (e.g. a head-only run's best/)")
    parser.add_argument("--chunk-seconds", type=float, default=10.0,
                        help="longest stretch the encoder hears at once (Whisper's own: 30)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="default: one pass over the clips")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--objective", choices=["window", "clip"], default="window",
                        help="cross-entropy per window, or of the crop's mean window probability")
    parser.add_argument("--balance", choices=["class", "corpus-class"], default="class",
                        help="draw classes equally often, or (corpus, class) pairs equally often")
    parser.add_argument("--max-crop-seconds", type=float, default=5.0)
    parser.add_argument("--lr", type=float, default=3e-4, help="peak lr of the head")
    parser.add_argument("--encoder-lr", type=float, default=5e-5, help="peak lr of the fine-tuned layers")
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--projection", type=int, default=256)
    parser.add_argument("--layers", nargs="+", type=int, default=None, metavar="N",
                        help="hidden states the head reads, equally weighted and fixed (0: the embeddings, "
                             "6: the last layer of Whisper base); default: a learned weighting of all")
    parser.add_argument("--folds", type=int, default=0,
                        help="cross-validate over the non-test speakers in K speaker folds (each fold's model "
                             "keeps its last epoch), fit the temperature on the out-of-fold clips, then train "
                             "the final model on all of them; --val-speakers is then ignored")
    add_read_speech_arguments(parser)
    parser.add_argument("--test-speakers", nargs="*", default=list(TEST_SPEAKERS),
                        help="speakers never read (the benchmark's)")
    parser.add_argument("--val-speakers", nargs="*", default=list(VALIDATION_SPEAKERS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--resume", action="store_true", help=f"continue from OUT/{CHECKPOINT_FILE}")
    parser.add_argument("--seed", type=int, default=0)


def load_base_model(encoder_dir: Path, labels: list[str], projection: int, chunk_frames: int
                    ) -> tuple[WhisperForAudioClassification, np.ndarray]:
    """A classifier on the imported encoder, its positional table cut to ``chunk_frames``."""
    if not (encoder_dir / "config.json").is_file():
        raise ModelError(f"no Whisper encoder checkpoint in {encoder_dir} (run scripts/import_whisper_base.py)")
    model = WhisperForAudioClassification.from_pretrained(
        encoder_dir, local_files_only=True, dtype=torch.float32, num_labels=len(labels),
        id2label=dict(enumerate(labels)), label2id={label: i for i, label in enumerate(labels)},
        use_weighted_layer_sum=True, classifier_proj_size=projection,
        # A folder that already holds a classifier (other labels) still gives its encoder.
        ignore_mismatched_sizes=True)
    positions = model.encoder.embed_positions
    if chunk_frames > positions.num_embeddings:
        raise ParameterError(f"--chunk-seconds allows at most {positions.num_embeddings * FRAME_SAMPLES / SAMPLE_RATE:g}")
    truncated = nn.Embedding(chunk_frames, positions.embedding_dim)
    truncated.weight.data.copy_(positions.weight.data[:chunk_frames])
    truncated.requires_grad_(False)
    model.encoder.embed_positions = truncated
    model.config.max_source_positions = chunk_frames
    extractor = WhisperFeatureExtractor.from_pretrained(encoder_dir, local_files_only=True)
    return model, extractor.mel_filters


@dataclass
class TrainingClip:
    clip: LabelledClip
    target: int
    voiced: tuple[float, float]  # voiced span as fractions of the clip's length


def voiced_fractions(samples: np.ndarray) -> tuple[float, float]:
    """Where ``trim_silence`` would cut, as fractions of the clip (so they carry over to
    augmented copies whose speed, and so length, changed)."""
    begin, end = voiced_bounds(samples)
    return begin / len(samples), end / len(samples)


class TopLayers(nn.Module):
    """What training runs: the fine-tuned top encoder layers and the classification head
    (views of the full model's modules, so their weights are the model's)."""

    def __init__(self, model: WhisperForAudioClassification, n_train: int) -> None:
        super().__init__()
        self.model = model
        self.first = len(model.encoder.layers) - n_train
        self.layers = model.encoder.layers[self.first:]

    def forward(self, lower: torch.Tensor) -> torch.Tensor:
        """Frame features ``[batch, frames, projection]`` from the cached states
        ``lower``: ``[first + 1, batch, frames, d]`` (embedding .. input of the first trained layer)."""
        encoder = self.model.encoder
        states = list(lower)
        if len(self.layers):  # else the cache already ends with the final layer norm's output
            x = states[-1]
            for layer in self.layers:
                x = layer(x, None)
                states.append(x)
            states[-1] = encoder.layer_norm(x)
        weights = torch.softmax(self.model.layer_weights, dim=-1)
        hidden = torch.einsum("l,lbtd->btd", weights, torch.stack(states))
        return self.model.projector(hidden)


def window_logits(model: WhisperForAudioClassification, features: torch.Tensor) -> torch.Tensor:
    """Logits of every analysis window of each crop: ``[batch, windows, labels]``."""
    frames = features.shape[1]
    n_windows = max(1, 1 + (frames - WINDOW_FRAMES) // HOP_FRAMES)
    pooled = torch.stack([features[:, i * HOP_FRAMES:i * HOP_FRAMES + WINDOW_FRAMES].mean(dim=1)
                          for i in range(n_windows)], dim=1)
    return model.classifier(pooled)


def sampling_weights(clips: list[LabelledClip], targets: np.ndarray, balance: str,
                     read_share: float = 0.25) -> np.ndarray:
    """How often each clip is drawn: every class equally often ("class"), or every
    (corpus, class) cell equally often ("corpus-class"), so a corpus with fewer
    speakers (EMOVO: 2 of 14 here) is not drowned out by the larger one. Read speech
    (``--neutral-speech``) is drawn ``read_share`` as often as the acted neutral clips."""
    if balance == "class":
        groups = targets
    elif balance == "corpus-class":
        corpora = sorted({clip.corpus for clip in clips})
        groups = np.array([corpora.index(clip.corpus) for clip in clips]) * (targets.max() + 1) + targets
    else:
        raise ParameterError(f"--balance must be 'class' or 'corpus-class', got {balance!r}")
    read = np.array([clip.corpus == READ_SPEECH_CORPUS for clip in clips])
    weights = np.zeros(len(clips))
    weights[~read] = 1.0 / np.bincount(groups[~read])[groups[~read]]
    if read.any():
        acted_neutral = weights[~read & (targets == targets[read][0])].sum()
        weights[read] = read_share * acted_neutral / read.sum()
    return weights / weights.sum()


def training_loss(logits: torch.Tensor, targets: torch.Tensor, objective: str, smoothing: float) -> torch.Tensor:
    """Cross-entropy of ``logits`` ``[batch, windows, labels]`` against each crop's label.

    "window": every window on its own must name the clip's emotion. "clip": the mean of
    the windows' probabilities must, which is what ``classify`` reports; a window
    without a clear emotion (a breath, a plosive) may then stay uncertain.
    """
    n_labels = logits.shape[-1]
    if objective == "window":
        return nn.functional.cross_entropy(logits.reshape(-1, n_labels), targets.repeat_interleave(logits.shape[1]),
                                           label_smoothing=smoothing)
    if objective == "clip":
        log_mean = torch.logsumexp(torch.log_softmax(logits, dim=-1), dim=1) - np.log(logits.shape[1])
        soft = nn.functional.one_hot(targets, n_labels).float() * (1 - smoothing) + smoothing / n_labels
        return -(soft * log_mean).sum(dim=-1).mean()
    raise ParameterError(f"--objective must be 'window' or 'clip', got {objective!r}")


def run(args: argparse.Namespace) -> int:
    if args.train_layers < 0:
        raise ParameterError("--train-layers must be at least 0 (0 trains the head alone)")
    for name in ("copies", "epochs", "batch_size", "threads"):
        if getattr(args, name) < 1:
            raise ParameterError(f"--{name.replace('_', '-')} must be at least 1")
    if args.folds < 0 or args.folds == 1:
        raise ParameterError("--folds must be 0 (no cross-validation) or at least 2")
    if args.neutral_share < 0:
        raise ParameterError("--neutral-share must be 0 or more")
    torch.set_num_threads(args.threads)
    transformers_logging.set_verbosity_error()  # the new head's "newly initialized" report is expected
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.resume and not (out / CHECKPOINT_FILE).is_file() and not args.folds:
        raise ParameterError(f"--resume given but there is no {out / CHECKPOINT_FILE}")

    test_speakers = set(args.test_speakers)
    clips = [clip for clip in read_labelled_clips(args.data) if clip.speaker not in test_speakers]
    cache = args.cache or out / "cache"
    # Read speech only ever teaches: it joins every model's training clips and no fold holds it out.
    read_speech = read_speech_clips(args.neutral_speech, "train") if args.neutral_speech is not None else []
    if read_speech:
        _log(f"read speech as neutral: {len(read_speech)} utterances of the training half of the readers in "
             f"{args.neutral_speech}, drawn {args.neutral_share:g} as often as the acted neutral clips")
    if args.folds:
        from emotrack.ml.emotion.cross_validation import cross_validate

        def train(train_clips: list[LabelledClip], held_out: list[LabelledClip], directory: Path) -> Path:
            return train_model(args, train_clips + read_speech, held_out, directory, cache, keep="last",
                               resume=(directory / CHECKPOINT_FILE).is_file())

        cross_validate(clips, args.folds, out, train, seed=args.seed, log=_log)
        return 0

    val_speakers = set(args.val_speakers)
    train_clips = [clip for clip in clips if clip.speaker not in val_speakers]
    val_clips = [clip for clip in clips if clip.speaker in val_speakers]
    _log(f"{len(train_clips)} training clips of {len({c.speaker for c in train_clips})} speakers; "
         f"{len(val_clips)} validation clips ({', '.join(sorted(val_speakers))}); "
         f"test speakers never read: {', '.join(sorted(test_speakers))}")
    best = train_model(args, train_clips + read_speech, val_clips, out, cache, keep="best", resume=args.resume)
    if val_clips:
        calibrate(best, val_clips)
    _log(f"best model in {best}")
    return 0


def train_model(args: argparse.Namespace, train_clips: list[LabelledClip], val_clips: list[LabelledClip],
                out: Path, cache: Path, keep: str, resume: bool) -> Path:
    """Train one classifier on ``train_clips``; returns the folder of the model kept:
    the epoch with the best validation macro-F1 (``keep="best"``) or the last one."""
    if not train_clips:
        raise ParameterError("no training clips left after removing test and validation speakers")
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / CHECKPOINT_FILE
    labels = [e for e in EMOTIONS if any(clip.label == e for clip in train_clips)]
    chunk_frames = int(round(args.chunk_seconds * SAMPLE_RATE / FRAME_SAMPLES))
    torch.manual_seed(args.seed)
    model, mel_filters = load_base_model(args.encoder, labels, args.projection, chunk_frames)
    if args.init is not None:
        # Linear probe, then fine-tune (Kumar et al., ICLR 2022): starting the encoder's
        # fine-tuning from a trained head distorts its features less than from a random one.
        start = WhisperForAudioClassification.from_pretrained(args.init, local_files_only=True, dtype=torch.float32)
        if start.config.id2label != model.config.id2label or start.config.max_source_positions != chunk_frames:
            raise ParameterError(f"--init {args.init} has other labels or another chunk length")
        model.load_state_dict(start.state_dict())
    n_layers = len(model.encoder.layers)
    if args.train_layers > n_layers:
        raise ParameterError(f"--train-layers is at most {n_layers} for this encoder")
    if args.layers is not None:
        fix_layer_selection(model, args.layers)
    frozen = n_layers - args.train_layers

    babble = [read_mono(p) for p in sorted(args.babble.rglob("*.flac"))[:60]] if args.babble else []
    clip_encoder = WhisperClipEncoder(model.encoder, mel_filters).eval()
    encode_corpus(clip_encoder, train_clips, cache, args.copies, args.seed, babble, log=_log)

    model.requires_grad_(False)
    top = TopLayers(model, args.train_layers)
    encoder_params = [p for layer in top.layers for p in layer.parameters()]
    if encoder_params:
        encoder_params += list(model.encoder.layer_norm.parameters())
    head_params = [*model.projector.parameters(), *model.classifier.parameters()]
    if args.layers is None:
        head_params.append(model.layer_weights)
    for parameter in encoder_params + head_params:
        parameter.requires_grad_(True)
    groups = [{"params": head_params, "lr": args.lr}]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": args.encoder_lr})
    optimizer = torch.optim.AdamW(groups, weight_decay=args.weight_decay)
    steps_per_epoch = args.steps_per_epoch or math.ceil(len(train_clips) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[group["lr"] for group in groups], total_steps=total_steps, pct_start=0.1)

    items = [TrainingClip(clip, labels.index(clip.label), voiced_fractions(clip.samples)) for clip in train_clips]
    targets = np.array([item.target for item in items])
    weights = sampling_weights(train_clips, targets, args.balance, args.neutral_share)
    rng = np.random.default_rng(args.seed)
    start_epoch, best_score = 0, -1.0
    if resume:
        state = torch.load(checkpoint_path, weights_only=False)
        if state.get("total_steps") != total_steps:
            raise ParameterError(f"--resume continues the run in {out} with its own schedule of "
                                 f"{state.get('total_steps')} steps; give the same --epochs and --steps-per-epoch")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best_score = state["epoch"], state["best_score"]
        _log(f"resuming after epoch {start_epoch} (best validation macro-F1 {best_score:.3f})")

    max_crop = int(args.max_crop_seconds * SAMPLE_RATE / FRAME_SAMPLES)
    validator = EmotionModel(model, SAMPLE_RATE, device=torch.device("cpu"), mel_filters=mel_filters)
    for epoch in range(start_epoch, args.epochs):
        began = time.perf_counter()
        model.train()
        loss_sum = 0.0
        for _ in range(steps_per_epoch):
            picks = rng.choice(len(items), size=args.batch_size, p=weights)
            lower, batch_targets = _batch(items, picks, cache, rng, frozen, args.copies, max_crop)
            logits = window_logits(model, top(lower))
            loss = training_loss(logits, batch_targets, args.objective, args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder_params + head_params, 1.0)
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach())
        model.eval()
        last = epoch + 1 == args.epochs
        summary = {"epoch": epoch + 1, "train_loss": loss_sum / steps_per_epoch}
        # Keeping the last epoch needs no choice, so held-out clips are read only at the end.
        if val_clips and (keep == "best" or last):
            evaluation = evaluate(validator, val_clips)
            summary.update(accuracy=evaluation.accuracy, macro_f1=evaluation.macro_f1)
        score = summary.get("macro_f1", float(epoch)) if keep == "best" else float(epoch)
        if score > best_score:
            best_score = score
            save_model(model, out / BEST_DIR, mel_filters)
            (out / VALIDATION_FILE).write_text(json.dumps(summary, indent=2) + "\n")
        save_training_state(checkpoint_path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(), "numpy_rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(), "epoch": epoch + 1, "best_score": best_score,
            "total_steps": total_steps})
        _log(f"epoch {epoch + 1}/{args.epochs} loss {summary['train_loss']:.3f} "
             + (f"held-out acc {summary['accuracy']:.3f} macro-F1 {summary['macro_f1']:.3f} "
                if "accuracy" in summary else "")
             + (f"(best {best_score:.3f}) " if keep == "best" and val_clips else "")
             + f"{time.perf_counter() - began:.0f} s")
    return out / BEST_DIR


def fix_layer_selection(model: WhisperForAudioClassification, layers: list[int]) -> None:
    """Make the head read only ``layers`` (equal weights) and stop it learning others:
    the standard weighted layer sum with all other logits at -1e4, whose softmax
    weight is exactly 0 (and which fp16 still stores)."""
    n_states = model.layer_weights.numel()
    if not layers or any(not 0 <= layer < n_states for layer in layers):
        raise ParameterError(f"--layers takes hidden-state indices 0..{n_states - 1}, got {layers}")
    logits = torch.full((n_states,), -1e4)
    logits[sorted(set(layers))] = 0.0
    model.layer_weights.data.copy_(logits)


def _batch(items, picks, cache: Path, rng, frozen: int, copies: int, max_crop: int):
    """Cached lower states of the picked clips (a random copy each), cropped inside
    their voiced part to one common length: ``[frozen + 1, batch, frames, d]``."""
    crops = []
    for index in picks:
        item = items[index]
        states = load_encoding(cache, item.clip, int(rng.integers(copies)))[: frozen + 1]
        frames = states.shape[1]
        begin = int(item.voiced[0] * frames)
        end = max(begin + 1, int(math.ceil(item.voiced[1] * frames)))
        crops.append(states[:, begin:end])
    length = min(max_crop, min(crop.shape[1] for crop in crops))
    batch = []
    for crop in crops:
        offset = int(rng.integers(0, crop.shape[1] - length + 1))
        batch.append(crop[:, offset:offset + length])
    lower = torch.from_numpy(np.stack(batch, axis=1).astype(np.float32))
    return lower, torch.from_numpy(np.array([items[i].target for i in picks]))


def save_model(model: WhisperForAudioClassification, directory: Path, mel_filters: np.ndarray) -> None:
    """A folder EmotionModel.from_pretrained loads: config, weights, feature extractor."""
    model.save_pretrained(directory, safe_serialization=True)
    feature_extractor(model.config).save_pretrained(directory)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)

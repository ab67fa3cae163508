"""Training the bundled emotion classifier from scratch on CPU.

A small ``Wav2Vec2ForSequenceClassification`` (no pretrained weights: none are
available offline) learns from random 0.9 s crops of acted emotional speech, the same
window length the app classifies. Validation is on speakers never seen in training,
at clip level exactly as the app computes it (mean of window probabilities, 0.9 s
windows at 0.45 s hop). Every epoch writes a resumable checkpoint; the best epoch by
validation macro-F1 is kept as a ``save_pretrained`` folder that
:class:`~emotrack.ml.emotion.modeling.EmotionModel` loads.

Usage (wired by the CLI as ``emotrack train emotion``)::

    emotrack train emotion --data ../shared/data/emotion --out runs/emotion --epochs 60
    emotrack train emotion --data ../shared/data/emotion --out runs/emotion --epochs 60 --resume
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
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2ForSequenceClassification

from emotrack.core.emotions import EMOTIONS
from emotrack.errors import ParameterError
from emotrack.ml.checkpoint import save_training_state
from emotrack.ml.emotion.data import (
    SAMPLE_RATE,
    CropAugmentation,
    LabelledClip,
    random_crop,
    read_labelled_clips,
    trim_silence,
)
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel, normalise_windows

# Held-out speakers of the shared corpus: two men and two women of RAVDESS (odd actor
# numbers are male) and one Italian woman of EMOVO. Never trained on.
VALIDATION_SPEAKERS: tuple[str, ...] = (
    "ravdess_A03", "ravdess_A04", "ravdess_A17", "ravdess_A18", "emovo_f2",
)

CHECKPOINT_FILE = "checkpoint.pt"
BEST_DIR = "best"
VALIDATION_FILE = "validation.json"


def small_emotion_config(labels: list[str], hidden_size: int = 192, layers: int = 4) -> Wav2Vec2Config:
    """The bundled architecture, sized for >= 70x real time on 2 CPU cores.

    The conv feature extractor dominates CPU time and its early layers run at the
    highest frame rate, so they are the narrowest (32 -> 128 channels); the usual
    320x downsampling gives 45 frames per 0.9 s window for the transformer.
    """
    return Wav2Vec2Config(
        conv_dim=(32, 48, 64, 96, 128, 128, 128),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        feat_extract_norm="group",
        # Pre-LN transformer layers: the post-LN default diverged from scratch at lr 1e-3.
        do_stable_layer_norm=True,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=4 * hidden_size,
        num_conv_pos_embeddings=128,
        num_conv_pos_embedding_groups=16,
        hidden_dropout=0.1,
        attention_dropout=0.1,
        activation_dropout=0.0,
        feat_proj_dropout=0.1,
        final_dropout=0.1,
        layerdrop=0.0,
        # SpecAugment-style time masking; a 0.9 s window has only 45 frames.
        apply_spec_augment=True,
        mask_time_prob=0.05,
        mask_time_length=5,
        mask_time_min_masks=1,
        classifier_proj_size=128,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
    )


@dataclass
class Evaluation:
    """Clip-level results on labelled clips; rows of ``confusion`` are true labels."""

    labels: list[str]
    confusion: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.trace(self.confusion) / max(1, self.confusion.sum()))

    @property
    def per_class_accuracy(self) -> dict[str, float]:
        totals = self.confusion.sum(axis=1)
        return {label: float(self.confusion[i, i] / totals[i]) if totals[i] else float("nan")
                for i, label in enumerate(self.labels)}

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the classes that occur among the true labels."""
        true_positive = np.diag(self.confusion).astype(float)
        predicted = self.confusion.sum(axis=0)
        actual = self.confusion.sum(axis=1)
        scores = [2 * tp / (p + a) if p + a else 0.0
                  for tp, p, a in zip(true_positive, predicted, actual) if a > 0]
        return float(np.mean(scores)) if scores else 0.0

    def as_dict(self) -> dict:
        return {
            "clips": int(self.confusion.sum()),
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "per_class_accuracy": self.per_class_accuracy,
            "labels": self.labels,
            "confusion": self.confusion.tolist(),
        }

    def table(self) -> str:
        """The confusion matrix as aligned text, true labels down, predictions across."""
        width = max(len(label) for label in [*self.labels, "true/pred"]) + 1
        lines = ["true/pred".ljust(width) + "".join(label[:7].rjust(8) for label in self.labels)]
        for label, row in zip(self.labels, self.confusion):
            lines.append(label.ljust(width) + "".join(str(int(v)).rjust(8) for v in row))
        return "\n".join(lines)


    @classmethod
    def count(cls, model_labels: list[str], true: list[str], predicted: list[str]) -> Evaluation:
        """Tally (true, predicted) label pairs. True labels the model lacks are appended
        to the rows and columns and can only count as errors."""
        labels = list(model_labels) + sorted(set(true) - set(model_labels))
        confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
        for t, p in zip(true, predicted, strict=True):
            confusion[labels.index(t), labels.index(p)] += 1
        return cls(labels, confusion)


def predict_clip_labels(model: EmotionModel, clips: list[LabelledClip], window: int = DEFAULT_WINDOW,
                        hop: int = DEFAULT_HOP) -> list[str]:
    """The most probable label of each whole clip, classified as the app does."""
    return [model.labels[int(np.argmax(model.classify(clip.samples, window, hop)))] for clip in clips]


def evaluate(model: EmotionModel, clips: list[LabelledClip], window: int = DEFAULT_WINDOW,
             hop: int = DEFAULT_HOP) -> Evaluation:
    predicted = predict_clip_labels(model, clips, window, hop)
    return Evaluation.count(model.labels, [clip.label for clip in clips], predicted)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, type=Path, help="folder with labels.csv and the clips")
    parser.add_argument("--out", required=True, type=Path, help="folder for checkpoints and the best model")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--resume", action="store_true", help=f"continue from OUT/{CHECKPOINT_FILE}")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch (default 2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps-per-epoch", type=int, default=None,
                        help="batches per epoch (default: one crop per training clip)")
    parser.add_argument("--lr", type=float, default=5e-4, help="peak learning rate of AdamW")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of all steps spent warming up")
    parser.add_argument("--label-smoothing", type=float, default=0.05)
    parser.add_argument("--hidden-size", type=int, default=192)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--window", type=int, default=DEFAULT_WINDOW, help="crop length in samples")
    parser.add_argument("--val-speakers", nargs="+", default=list(VALIDATION_SPEAKERS),
                        help="speakers held out for validation")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    if args.epochs < 1 or args.batch_size < 1 or args.threads < 1:
        raise ParameterError("--epochs, --batch-size and --threads must be at least 1")
    torch.set_num_threads(args.threads)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / CHECKPOINT_FILE
    if args.resume and not checkpoint_path.is_file():
        raise ParameterError(f"--resume given but there is no {checkpoint_path}")

    clips = read_labelled_clips(args.data)
    val_speakers = set(args.val_speakers)
    missing = val_speakers - {clip.speaker for clip in clips}
    if missing:
        raise ParameterError(f"validation speakers not in {args.data}/labels.csv: {sorted(missing)}")
    train_clips = [clip for clip in clips if clip.speaker not in val_speakers]
    val_clips = [clip for clip in clips if clip.speaker in val_speakers]
    if not train_clips:
        raise ParameterError("every speaker is a validation speaker: nothing left to train on")
    labels = [e for e in EMOTIONS if any(clip.label == e for clip in train_clips)]
    _log(f"{len(train_clips)} training clips, {len(val_clips)} validation clips "
         f"({', '.join(sorted(val_speakers))}); classes {labels}")

    train_audio = [trim_silence(clip.samples) for clip in train_clips]
    train_targets = np.array([labels.index(clip.label) for clip in train_clips])
    # Class-balanced sampling: every class is drawn equally often (neutral has fewer clips).
    class_counts = np.bincount(train_targets, minlength=len(labels))
    sample_weights = 1.0 / class_counts[train_targets]
    sample_weights /= sample_weights.sum()

    steps_per_epoch = args.steps_per_epoch or math.ceil(len(train_clips) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    warmup_steps = max(1, int(args.warmup * total_steps))

    torch.manual_seed(args.seed)
    # transformers draws SpecAugment masks from numpy's global generator.
    np.random.seed(args.seed)
    model = Wav2Vec2ForSequenceClassification(small_emotion_config(labels, args.hidden_size, args.layers))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)

    def learning_rate_factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor)
    rng = np.random.default_rng(args.seed)
    start_epoch, best_f1 = 0, -1.0
    if args.resume:
        state = torch.load(checkpoint_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        np.random.set_state(state["global_numpy_rng"])
        start_epoch, best_f1 = state["epoch"], state["best_macro_f1"]
        _log(f"resuming after epoch {start_epoch} (best macro-F1 {best_f1:.3f})")

    augmentation = CropAugmentation()
    validator = EmotionModel(model, SAMPLE_RATE, normalize=True, device=torch.device("cpu"))
    n_params = sum(p.numel() for p in model.parameters())
    _log(f"model: {n_params / 1e6:.2f} M parameters; {steps_per_epoch} steps x {args.batch_size} "
         f"crops of {args.window} samples per epoch")

    for epoch in range(start_epoch, args.epochs):
        began = time.perf_counter()
        model.train()
        loss_sum, correct, seen = 0.0, 0, 0
        for _ in range(steps_per_epoch):
            picks = rng.choice(len(train_clips), size=args.batch_size, p=sample_weights)
            crops = np.stack([random_crop(train_audio[i], args.window, rng, augmentation) for i in picks])
            inputs = normalise_windows(torch.from_numpy(crops))
            targets = torch.from_numpy(train_targets[picks])
            logits = model(input_values=inputs).logits
            loss = torch.nn.functional.cross_entropy(logits, targets, label_smoothing=args.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            loss_sum += float(loss.detach()) * len(picks)
            correct += int((logits.argmax(dim=-1) == targets).sum())
            seen += len(picks)

        model.eval()
        # Non-overlapping windows halve the cost of validating every epoch; the final
        # figures (benchmarks/emotion_accuracy.py) use the app's half-window hop.
        evaluation = evaluate(validator, val_clips, args.window, args.window) if val_clips else None
        macro_f1 = evaluation.macro_f1 if evaluation else 0.0
        if evaluation is None or macro_f1 > best_f1:
            best_f1 = macro_f1
            save_model(model, out / BEST_DIR)
            summary = {"epoch": epoch + 1, "validation_speakers": sorted(val_speakers)}
            if evaluation:
                summary.update(evaluation.as_dict())
            (out / VALIDATION_FILE).write_text(json.dumps(summary, indent=2) + "\n")
        save_training_state(checkpoint_path, {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "numpy_rng": rng.bit_generator.state,
            "torch_rng": torch.get_rng_state(),
            "global_numpy_rng": np.random.get_state(),
            "epoch": epoch + 1,
            "best_macro_f1": best_f1,
            "config": model.config.to_dict(),
        })
        validation_text = (f"val acc {evaluation.accuracy:.3f} macro-F1 {macro_f1:.3f} (best {best_f1:.3f})"
                           if evaluation else "no validation clips")
        _log(f"epoch {epoch + 1}/{args.epochs} loss {loss_sum / seen:.3f} train acc {correct / seen:.3f} "
             f"{validation_text} lr {scheduler.get_last_lr()[0]:.2e} {time.perf_counter() - began:.0f} s")
    _log(f"best model (macro-F1 {best_f1:.3f}) in {out / BEST_DIR}")
    return 0


def save_model(model: Wav2Vec2ForSequenceClassification, directory: Path) -> None:
    """A folder EmotionModel.from_pretrained loads: config, safetensors weights, preprocessor."""
    model.save_pretrained(directory, safe_serialization=True)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0,
        do_normalize=True, return_attention_mask=False,
    ).save_pretrained(directory)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emotrack train emotion", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

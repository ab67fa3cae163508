"""Fitting a Whisper emotion model's softmax temperature on validation speakers.

The temperature is fitted on what ``classify`` reports, each clip's mean probability
over its speech windows, and stored in the checkpoint's config.json as
``emotrack_temperature``, where :class:`EmotionModel` reads it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from emotrack.core.analysis import WindowProbabilities, voiced_windows
from emotrack.core.atomic import write_text_atomic
from emotrack.core.calibration import fit_temperature
from emotrack.core.vad import detect_voice
from emotrack.core.windowing import window_starts
from emotrack.ml.emotion.data import SAMPLE_RATE, LabelledClip
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def calibrate(model_dir: Path, val_clips: list[LabelledClip], log: Callable[[str], None] = _stderr) -> float:
    """Fit the softmax temperature on the validation clips (clip level, as ``classify``
    reports) and store it in the model's config."""
    model = EmotionModel.from_pretrained(model_dir, device="cpu")
    model.temperature = 1.0
    logits, truth = window_logits_per_clip(model, val_clips)
    temperature = fit_temperature(logits, truth)
    store_temperature(model_dir, temperature)
    log(f"temperature {temperature:.3f} fitted on {len(val_clips)} validation clips")
    return temperature


def store_temperature(model_dir: Path, temperature: float) -> None:
    """Write ``emotrack_temperature`` into the checkpoint's config.json (atomically)."""
    config_path = model_dir / "config.json"
    config = json.loads(config_path.read_text())
    config["emotrack_temperature"] = temperature
    write_text_atomic(config_path, json.dumps(config, indent=2) + "\n")


def window_logits_per_clip(model: EmotionModel, clips: list[LabelledClip]):
    """Each clip's speech-window logits (model label order) and its true label index."""
    per_clip, truth = [], []
    for clip in clips:
        starts = window_starts(len(clip.samples), DEFAULT_WINDOW, DEFAULT_HOP)
        with torch.inference_mode():
            logits = model.plain_window_logits(clip.samples, starts, DEFAULT_WINDOW)[:, model.column_order]
        frame = WindowProbabilities(starts=starts, window=DEFAULT_WINDOW, hop=DEFAULT_HOP,
                                    n_samples=len(clip.samples), probabilities=np.zeros((len(starts), 1)),
                                    sample_rate=SAMPLE_RATE)
        voiced = voiced_windows(frame, detect_voice(clip.samples, SAMPLE_RATE))
        per_clip.append(logits.numpy()[voiced if voiced.any() else slice(None)])
        truth.append(model.labels.index(clip.label))
    return per_clip, np.array(truth)

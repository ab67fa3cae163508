"""The actor-referenced emotion head: each window read relative to its actor's own voice.

A Whisper emotion model may carry, in its folder's ``actor/`` subfolder, a
:class:`~emotrack.ml.emotion.window_mean_head.WindowMeanHead` that reads each window's
mean encoder states minus ``reference``: the mean of the same quantity over the speech
windows of many of the actor's lines
(:class:`~emotrack.core.actor_reference.ActorReference`). The encoder pass is the one the
plain head uses, so the actor head costs nothing extra per clip.

Why: on speakers it never heard, the frozen Whisper encoder's emotion is mixed up with
who is speaking; taking away the speaker's average leaves mostly emotion. Measured on
held-out speakers in ``benchmarks/emotion_accuracy.py --actor`` and the model card.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from emotrack.core.actor_reference import ACTOR_FOLDER, ActorReference, ReferenceAccumulator
from emotrack.core.analysis import WindowProbabilities, voting_windows
from emotrack.core.vad import detect_voice
from emotrack.core.windowing import window_starts
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.emotion.window_mean_head import WindowMeanHead, load_window_mean_head


def load_actor_head(model_dir: Path, device: torch.device) -> WindowMeanHead | None:
    """The actor head that ships beside a checkpoint, or None when it has none."""
    return load_window_mean_head(Path(model_dir) / ACTOR_FOLDER, device, "actor emotion head")


def speech_window_encodings(model, samples: np.ndarray, window: int, hop: int, min_pause: float = 0.25):
    """``(encoding, starts)`` for each group of the analysis windows that vote in
    ``classify`` (those that hold speech; all of them in a clip without detected speech)."""
    if model.whisper is None:
        raise ModelError("actor references need a Whisper-based emotion model")
    samples = np.asarray(samples, dtype=np.float32)
    starts = window_starts(len(samples), window, hop)
    if len(starts) == 0:
        return
    windows = WindowProbabilities(starts=starts, window=window, hop=hop, n_samples=len(samples),
                                  probabilities=np.zeros((len(starts), 1)), sample_rate=model.sample_rate)
    chosen = starts[voting_windows(windows, detect_voice(samples, model.sample_rate, min_pause=min_pause))]
    for begin, end in model.whisper.window_groups(chosen, window):
        yield model.whisper.encode_windows(samples, chosen[begin:end], window), chosen[begin:end]


def speech_window_means(model, samples: np.ndarray, layers: tuple[int, ...], window: int, hop: int,
                        min_pause: float = 0.25, with_plain_mood: bool = False):
    """``[speech windows, d_model * len(layers)]``: the mean hidden states ``layers`` over each
    window of :func:`speech_window_encodings`, float32. ``with_plain_mood``: also the
    emotion the plain head hears in the line (its clip label), from the same encoder pass."""
    rows, plain = [], []
    for encoding, starts in speech_window_encodings(model, samples, window, hop, min_pause):
        rows.append(model.whisper.window_means(encoding, starts, window, layers))
        if with_plain_mood:
            plain.append(model.plain_logits_from_encoding(encoding, starts, window))
    if not rows:
        empty = np.zeros((0, model.whisper.model.config.d_model * len(layers)), np.float32)
        return (empty, None) if with_plain_mood else empty
    means = torch.cat(rows).float().cpu().numpy()
    if not with_plain_mood:
        return means
    # The plain head's probabilities, as classify would average them without a reference.
    probabilities = model._probabilities(torch.cat(plain))
    return means, model.labels[int(probabilities.mean(axis=0).argmax())]


def build_reference(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int, name: str = "",
                    min_pause: float = 0.25, total: int | None = None, progress=None) -> ActorReference:
    """An :class:`ActorReference` for ``model`` from ``(name, samples)`` lines of one actor;
    ``progress(done, total)`` after each line when ``total`` is known. The reference also
    counts the moods the plain head hears in the lines, so a one-sided session is caught
    (``ActorReference.one_sided``)."""
    head = model.actor_head
    if head is None:
        raise ModelError("this emotion model has no actor head (its folder has no 'actor' subfolder): "
                         "actor references need the bundled accurate model or one trained with "
                         "'emotrack train emotion-actor'")
    accumulator = ReferenceAccumulator()
    with torch.inference_mode():
        for done, (line, samples) in enumerate(lines, 1):
            means, mood = speech_window_means(model, samples, head.config.layers, window, hop, min_pause,
                                              with_plain_mood=True)
            accumulator.add(line, means, mood)
            if progress is not None and total:
                progress(done, total)
    return accumulator.reference(head.config.reference_id, head.config.layers, name)


def check_reference(head: WindowMeanHead, reference: ActorReference) -> None:
    if reference.model != head.config.reference_id or reference.layers != head.config.layers:
        raise ParameterError(f"the actor reference was made for {reference.model!r} (layers "
                             f"{_names(reference.layers)}), but this emotion model needs "
                             f"{head.config.reference_id!r} (layers {_names(head.config.layers)}): "
                             "make it again with this model")
    if reference.mean.size != head.config.d_model:
        raise ParameterError(f"the actor reference has {reference.mean.size} values; the model needs "
                             f"{head.config.d_model}")


def _names(layers: tuple[int, ...]) -> str:
    return ", ".join(str(layer) for layer in layers)

"""The actor-referenced emotion head: each window read relative to its actor's own voice.

A Whisper emotion model may carry, in its folder's ``actor/`` subfolder, a second head:
a linear classifier of ``mean_t(h_t) - reference`` for the frames ``t`` of a window, with
``h_t`` the encoder's hidden states ``layers`` (concatenated) and ``reference`` the mean
of the same quantity over the speech windows of many of the actor's lines
(:class:`~emotrack.core.actor_reference.ActorReference`). The encoder pass is the one the
plain head uses, so the actor head costs nothing extra per clip.

Why: on speakers it never heard, the frozen Whisper encoder's emotion is mixed up with
who is speaking; taking away the speaker's average leaves mostly emotion. Measured on
held-out speakers in ``benchmarks/emotion_accuracy.py --actor`` and the model card.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from emotrack.core.actor_reference import ACTOR_FOLDER, ActorReference, ReferenceAccumulator
from emotrack.core.analysis import WindowProbabilities, voting_windows
from emotrack.core.vad import detect_voice
from emotrack.core.windowing import window_starts
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.checkpoint import load_checkpoint, save_checkpoint


@dataclass(frozen=True)
class ActorHeadConfig:
    d_model: int  # input width: the encoder's width times len(layers)
    num_labels: int
    layers: tuple[int, ...]  # which hidden states (0 = input embedding) the windows pool, concatenated
    temperature: float = 1.0
    reference_id: str = ""  # references made for one head fit every head with the same id

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(int(layer) for layer in self.layers))

    def to_dict(self) -> dict:
        return {**vars(self), "layers": list(self.layers)}

    @classmethod
    def from_dict(cls, values: dict) -> ActorHeadConfig:
        values = dict(values)
        if "layer" in values:  # heads saved before several layers were read
            values["layers"] = [values.pop("layer")]
        return cls(**values)


class ActorHead(nn.Module):
    """Logits (checkpoint label order) of actor-centred window means."""

    def __init__(self, config: ActorHeadConfig):
        super().__init__()
        self.config = config
        self.classifier = nn.Linear(config.d_model, config.num_labels)

    def forward(self, window_means: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        return self.classifier(window_means - reference)

    def save_pretrained(self, directory: str | Path, half: bool = False) -> None:
        save_checkpoint(self, self.config.to_dict(), directory, half)

    @classmethod
    def from_pretrained(cls, directory: str | Path, device: str | torch.device = "cpu") -> ActorHead:
        # The fp16 weights load into the fp32 layer: no cast needed.
        return load_checkpoint(lambda values: cls(ActorHeadConfig.from_dict(values)), directory,
                               "actor emotion head", device)


def load_actor_head(model_dir: Path, device: torch.device) -> ActorHead | None:
    """The actor head that ships beside a checkpoint, or None when it has none."""
    folder = Path(model_dir) / ACTOR_FOLDER
    return ActorHead.from_pretrained(folder, device) if folder.is_dir() else None


def speech_window_means(model, samples: np.ndarray, layers: tuple[int, ...], window: int, hop: int,
                        min_pause: float = 0.25, with_plain_mood: bool = False):
    """``[speech windows, d_model * len(layers)]``: the mean hidden states ``layers`` over each analysis
    window that votes in ``classify`` (those that hold speech; all of them in a clip
    without detected speech), float32. ``with_plain_mood``: also the emotion the plain
    head hears in the line (its clip label), from the same encoder pass."""
    if model.whisper is None:
        raise ModelError("actor references need a Whisper-based emotion model")
    samples = np.asarray(samples, dtype=np.float32)
    starts = window_starts(len(samples), window, hop)
    if len(starts) == 0:
        empty = np.zeros((0, model.whisper.model.config.d_model * len(layers)), np.float32)
        return (empty, None) if with_plain_mood else empty
    windows = WindowProbabilities(starts=starts, window=window, hop=hop, n_samples=len(samples),
                                  probabilities=np.zeros((len(starts), 1)), sample_rate=model.sample_rate)
    chosen = starts[voting_windows(windows, detect_voice(samples, model.sample_rate, min_pause=min_pause))]
    rows, plain = [], []
    for begin, end in model.whisper.window_groups(chosen, window):
        encoding = model.whisper.encode_windows(samples, chosen[begin:end], window)
        rows.append(model.whisper.window_means(encoding, chosen[begin:end], window, layers))
        if with_plain_mood:
            plain.append(model.whisper.logits_from_encoding(encoding, chosen[begin:end], window))
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


def check_reference(head: ActorHead, reference: ActorReference) -> None:
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

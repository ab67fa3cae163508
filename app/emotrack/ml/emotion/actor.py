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

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from emotrack.core.actor_reference import ACTOR_FOLDER, ActorReference, ReferenceAccumulator
from emotrack.core.analysis import WindowProbabilities, voiced_windows, voting_windows, warn_no_speech
from emotrack.core.vad import detect_voice
from emotrack.core.windowing import window_starts
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.emotion.window_mean_head import WindowMeanHead, load_window_mean_head


def load_actor_head(model_dir: Path, device: torch.device) -> WindowMeanHead | None:
    """The actor head that ships beside a checkpoint, or None when it has none."""
    return load_window_mean_head(Path(model_dir) / ACTOR_FOLDER, device, "actor emotion head")


def speech_window_starts(samples: np.ndarray, sample_rate: int, window: int, hop: int,
                         min_pause: float = 0.25) -> tuple[np.ndarray, bool]:
    """``(starts, speech)``: the analysis windows that vote in ``classify``, and whether they
    are the ones that hold speech (False: none does, so all of them vote)."""
    starts = window_starts(len(samples), window, hop)
    if len(starts) == 0:
        return starts, False
    windows = WindowProbabilities(starts=starts, window=window, hop=hop, n_samples=len(samples),
                                  probabilities=np.zeros((len(starts), 1)), sample_rate=sample_rate)
    voice = detect_voice(samples, sample_rate, min_pause=min_pause)
    return starts[voting_windows(windows, voice)], bool(voiced_windows(windows, voice).any())


def speech_window_encodings(model, samples: np.ndarray, window: int, hop: int, min_pause: float = 0.25,
                            starts: np.ndarray | None = None):
    """``(encoding, starts)`` for each group of the analysis windows that vote in
    ``classify`` (:func:`speech_window_starts`, unless ``starts`` are given)."""
    if model.whisper is None:
        raise ModelError("actor references need a Whisper-based emotion model")
    samples = np.asarray(samples, dtype=np.float32)
    if starts is None:
        starts, _ = speech_window_starts(samples, model.sample_rate, window, hop, min_pause)
    for begin, end in model.whisper.window_groups(starts, window):
        group = starts[begin:end]
        yield model.whisper.encode_windows(samples, group, window, model.encoder_layers()), group


def speech_window_means(model, samples: np.ndarray, layers: tuple[int, ...], window: int, hop: int,
                        min_pause: float = 0.25) -> np.ndarray:
    """``[speech windows, d_model * len(layers)]``: the mean hidden states ``layers`` over each
    window of :func:`speech_window_encodings`, float32."""
    rows = [model.whisper.window_means(encoding, starts, window, layers)
            for encoding, starts in speech_window_encodings(model, samples, window, hop, min_pause)]
    if not rows:
        return np.zeros((0, model.whisper.model.config.d_model * len(layers)), np.float32)
    return torch.cat(rows).float().cpu().numpy()


@dataclass(frozen=True)
class LineReading:
    """What one encoder pass over a line gives the actor head (and voice grouping).

    The actor head is linear, ``W (m - r) + b = (W m + b) - W r``, so a line keeps its
    windows' logits without a reference and the sum of its window states, not the states
    themselves: it can be read against any reference later (:func:`read_against`), and a
    batch of lines waiting for their reference costs about 10 kB a line."""

    name: str
    head_logits: torch.Tensor  # [speech windows, labels]: the actor head's logits with no reference
    state_sum: np.ndarray  # [d]: the sum over the speech windows of the actor head's states
    voice_state: np.ndarray  # [d_voice] (empty unless asked for): the mean of the voice space's layers
    plain: np.ndarray  # clip probabilities (``labels`` order) of the plain head: the line read alone
    # False when no window holds speech: every window was read, and the line's states say
    # nothing of its actor, so it joins no voice group and no reference.
    speech: bool = True

    @property
    def windows(self) -> int:
        return len(self.head_logits)

    def mood(self, labels: list[str]) -> str:
        """The emotion the plain head hears in the line, as ``classify`` would label it alone."""
        return labels[int(self.plain.argmax())]


def check_actor_model(model) -> None:
    if model.whisper is None or model.actor_head is None:
        raise ModelError("this emotion model has no actor head (its folder has no 'actor' subfolder): actor "
                         "references need a bundled model or one trained with "
                         "'emotrack train emotion-actor'")


@torch.inference_mode()
def read_line(model, name: str, samples: np.ndarray, window: int, hop: int, min_pause: float = 0.25,
              voice: bool = False) -> LineReading | None:
    """One encoder pass over a line: its :class:`LineReading`, with the voice state when
    ``voice`` (the model's voice space's layers); None for a line without audio."""
    check_actor_model(model)
    head_layers = model.actor_head.config.layers
    samples = np.asarray(samples, dtype=np.float32)
    chosen, speech = speech_window_starts(samples, model.sample_rate, window, hop, min_pause)
    if not speech and len(chosen):
        warn_no_speech(Path(name).name, ", alone (it joins no voice group or actor reference)")
    states, voices, plain = [], [], []
    for encoding, starts in speech_window_encodings(model, samples, window, hop, starts=chosen):
        states.append(model.whisper.window_means(encoding, starts, window, head_layers))
        if voice:
            voices.append(model.whisper.window_means(encoding, starts, window, model.voice_space.layers))
        plain.append(model.plain_logits_from_encoding(encoding, starts, window))
    if not states:
        return None
    states = torch.cat(states).float()
    voice_state = torch.cat(voices).float().mean(dim=0).cpu().numpy() if voices else np.zeros(0, np.float32)
    return LineReading(name=name, head_logits=model.actor_head(states), state_sum=states.sum(dim=0).cpu().numpy(),
                       voice_state=voice_state, plain=model._probabilities(torch.cat(plain)).mean(axis=0),
                       speech=speech)


def read_lines(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int, min_pause: float = 0.25,
               voice: bool = False, progress: Callable[[int], None] | None = None) -> list[LineReading]:
    """:func:`read_line` of each ``(name, samples)`` that holds audio; ``progress(lines
    done)`` after each."""
    readings = []
    for done, (name, samples) in enumerate(lines, 1):
        reading = read_line(model, name, samples, window, hop, min_pause, voice)
        if reading is not None:
            readings.append(reading)
        if progress is not None:
            progress(done)
    return readings


def reference_of(model, readings: list[LineReading], name: str = "") -> ActorReference:
    """The actor reference of ``readings`` taken as one actor's lines (those that hold
    speech), with the moods the plain head hears in them (so a one-sided session is caught:
    ``ActorReference.one_sided``)."""
    accumulator = ReferenceAccumulator()
    for reading in (r for r in readings if r.speech):
        accumulator.add_sum(reading.name, reading.state_sum, reading.windows, reading.mood(model.labels))
    head = model.actor_head.config
    return accumulator.reference(head.reference_id, head.layers, name)


def reference_vector(model, reference: ActorReference) -> torch.Tensor:
    """What the model's actor head reads windows against for ``reference``: checked to fit
    the head, and blended with the training speakers' mean while its lines are few."""
    check_reference(model.actor_head, reference)
    return model.actor_head.blended_reference(torch.from_numpy(reference.mean).to(model.device),
                                              len(reference.lines))


@torch.inference_mode()
def read_against(model, reading: LineReading, reference: ActorReference) -> np.ndarray:
    """Clip probabilities (``labels`` order) of a line read against ``reference``, as
    ``classify --actor`` gives them: the mean over its speech windows."""
    logits = reading.head_logits - model.actor_head.classifier.weight @ reference_vector(model, reference)
    return model._probabilities(logits, model.actor_temperature).mean(axis=0)  # = head(states - reference)


def build_reference(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int, name: str = "",
                    min_pause: float = 0.25, total: int | None = None, progress=None) -> ActorReference:
    """An :class:`ActorReference` for ``model`` from ``(name, samples)`` lines of one actor;
    ``progress(done, total)`` after each line when ``total`` is known."""
    check_actor_model(model)
    on_line = (lambda done: progress(done, total)) if progress is not None and total else None
    return reference_of(model, read_lines(model, lines, window, hop, min_pause, progress=on_line), name)


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

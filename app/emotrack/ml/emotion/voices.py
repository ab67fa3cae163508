"""Read a batch of lines by voice: group them (``emotrack.core.voice_groups``), then read
each line against its own group's actor reference; or read them all as one actor's
(``classify --same-actor``).

One encoder pass per line gives everything: the actor head's window states, the line's
voice vector and what the plain head hears. A group's reference needs every line of
the group, so what each line needs is kept until all are in. The actor head is linear,
``W (m - r) + b = (W m + b) - W r``, so a line keeps its windows' logits without a
reference and the sum of its window states, not the states themselves: about 10 kB a
line with the bundled model, whatever its length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch

from emotrack.core.actor_reference import ReferenceAccumulator
from emotrack.core.voice_groups import VoiceGroup, group_voices, voice_groups
from emotrack.errors import ModelError
from emotrack.ml.emotion.actor import check_reference, speech_window_encodings


@dataclass(frozen=True)
class LineReading:
    """What one encoder pass over a line gives the actor head and voice grouping."""

    name: str
    head_logits: torch.Tensor  # [speech windows, labels]: the actor head's logits with no reference
    state_sum: np.ndarray  # [d]: the sum over the speech windows of the actor head's states
    voice_state: np.ndarray  # [d_voice]: the mean over the speech windows of the voice space's layers
    plain: np.ndarray  # clip probabilities (``labels`` order) of the plain head: the line read alone

    @property
    def windows(self) -> int:
        return len(self.head_logits)

    def mood(self, labels: list[str]) -> str:
        return labels[int(self.plain.argmax())]


@dataclass(frozen=True)
class VoiceReading:
    """A line's clip probabilities (``labels`` order) and the voice group it was read in."""

    name: str
    probabilities: np.ndarray
    group: VoiceGroup


def check_voice_model(model) -> None:
    if model.whisper is None or model.actor_head is None or model.voice_space is None:
        raise ModelError("reading lines by voice needs an emotion model with an actor head and a voice space "
                         "(the bundled accurate model has both)")


def check_actor_model(model) -> None:
    if model.whisper is None or model.actor_head is None:
        raise ModelError("this emotion model has no actor head (its folder has no 'actor' subfolder): actor "
                         "references need the bundled accurate model or one trained with "
                         "'emotrack train emotion-actor'")


@torch.inference_mode()
def read_line(model, name: str, samples: np.ndarray, window: int, hop: int, min_pause: float = 0.25) -> LineReading:
    """One encoder pass over a line: its :class:`LineReading` (``voice_state`` empty when
    the model has no voice space)."""
    check_actor_model(model)
    head_layers = model.actor_head.config.layers
    voice_layers = model.voice_space.layers if model.voice_space is not None else None
    states, voices, plain = [], [], []
    for encoding, starts in speech_window_encodings(model, samples, window, hop, min_pause):
        states.append(model.whisper.window_means(encoding, starts, window, head_layers))
        if voice_layers is not None:
            voices.append(model.whisper.window_means(encoding, starts, window, voice_layers))
        plain.append(model.plain_logits_from_encoding(encoding, starts, window))
    if not states:
        raise ModelError(f"{name}: the line has no audio to read")
    states = torch.cat(states).float()
    voice = torch.cat(voices).float().mean(dim=0).cpu().numpy() if voices else np.zeros(0, np.float32)
    return LineReading(name=name, head_logits=model.actor_head(states), state_sum=states.sum(dim=0).cpu().numpy(),
                       voice_state=voice, plain=model._probabilities(torch.cat(plain)).mean(axis=0))


def read_lines(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int, min_pause: float = 0.25,
               progress: Callable[[int], None] | None = None) -> list[LineReading]:
    """:func:`read_line` of each ``(name, samples)``; ``progress(lines done)`` after each."""
    readings = []
    for done, (name, samples) in enumerate(lines, 1):
        readings.append(read_line(model, name, samples, window, hop, min_pause))
        if progress is not None:
            progress(done)
    return readings


def read_as_one_actor(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int,
                      min_pause: float = 0.25, progress: Callable[[int], None] | None = None):
    """(the reference of all ``lines`` as one actor's, or None when there is no line;
    [(name, clip probabilities against it)]), as ``classify --same-actor`` reads them:
    one encoder pass per line, whatever the reference's moods (the caller warns)."""
    check_actor_model(model)
    readings = read_lines(model, lines, window, hop, min_pause, progress)
    if not readings:
        return None, []
    accumulator = ReferenceAccumulator()
    for reading in readings:
        accumulator.add_sum(reading.name, reading.state_sum, reading.windows, reading.mood(model.labels))
    head = model.actor_head.config
    reference = accumulator.reference(head.reference_id, head.layers)
    return reference, [(r.name, read_against(model, r, reference)) for r in readings]


@torch.inference_mode()
def read_against(model, reading: LineReading, reference) -> np.ndarray:
    """Clip probabilities (``labels`` order) of a line read against ``reference``, as
    ``classify --actor`` gives them: the mean over its speech windows."""
    head = model.actor_head
    check_reference(head, reference)
    mean = head.blended_reference(torch.from_numpy(reference.mean).to(model.device), len(reference.lines))
    logits = reading.head_logits - head.classifier.weight @ mean  # = head(states - mean)
    return model._probabilities(logits, model.actor_temperature).mean(axis=0)


def read_by_voice(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int, min_pause: float = 0.25,
                  progress: Callable[[int], None] | None = None) -> list[VoiceReading]:
    """Group ``(name, samples)`` lines by voice and read each against its group's
    reference (a one-sided group's lines alone); ``progress(lines done)`` after each
    line's encoder pass."""
    check_voice_model(model)
    readings = read_lines(model, lines, window, hop, min_pause, progress)
    if not readings:
        return []
    groups = group_voices(model.voice_space.embed(np.stack([r.voice_state for r in readings])),
                          model.voice_space.threshold)
    head = model.actor_head.config
    found = voice_groups(groups, [(r.state_sum, r.windows) for r in readings],
                         [r.mood(model.labels) for r in readings], [r.name for r in readings], head.reference_id,
                         head.layers)
    out = [None] * len(readings)
    for group in found:
        for i in group.members:
            reading = readings[i]
            probabilities = reading.plain if group.reference is None else read_against(model, reading,
                                                                                       group.reference)
            out[i] = VoiceReading(reading.name, probabilities, group)
    return out

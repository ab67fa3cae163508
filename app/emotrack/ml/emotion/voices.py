"""Read a batch of lines by voice: group them (``emotrack.core.voice_groups``), then read
each line against its own group's actor reference; or read them all as one actor's
(``classify --same-actor``).

One encoder pass per line gives everything (:class:`~emotrack.ml.emotion.actor.LineReading`):
the actor head's window logits and state sum, the line's voice vector and what the
plain head hears. A group's reference needs every line of the group, so each line's
reading is kept until all are in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emotrack.core.actor_reference import ActorReference
from emotrack.core.voice_groups import VoiceGroup, group_voices, voice_groups
from emotrack.errors import ModelError, ParameterError
from emotrack.ml.emotion.actor import check_actor_model, read_against, read_lines, reference_of


@dataclass(frozen=True)
class VoiceReading:
    """A line's clip probabilities (``labels`` order) and the voice group it was read in."""

    name: str
    probabilities: np.ndarray
    group: VoiceGroup
    speech: bool = True  # False: no window held speech, so all of the line was read, alone


def check_voice_model(model) -> None:
    if model.whisper is None or model.actor_head is None or model.voice_space is None:
        raise ModelError("reading lines by voice needs an emotion model with an actor head and a voice space "
                         "(both bundled models have both)")


def read_as_one_actor(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int,
                      min_pause: float = 0.25, progress: Callable[[int], None] | None = None):
    """(the reference of all ``lines`` as one actor's, or None when no line holds speech;
    [(name, clip probabilities against it)]), as ``classify --same-actor`` reads them:
    one encoder pass per line, whatever the reference's moods (the caller warns); a line
    without speech is left out of the reference and read alone, as every line is when
    there is no reference."""
    check_actor_model(model)
    readings = read_lines(model, lines, window, hop, min_pause, progress=progress)
    if not any(r.speech for r in readings):
        return None, [(r.name, r.plain) for r in readings]
    reference = reference_of(model, readings)
    return reference, [(r.name, read_against(model, r, reference) if r.speech else r.plain) for r in readings]


def read_by_voice(model, lines: Iterable[tuple[str, np.ndarray]], window: int, hop: int, min_pause: float = 0.25,
                  progress: Callable[[int], None] | None = None) -> list[VoiceReading]:
    """Group ``(name, samples)`` lines by voice and read each against its group's
    reference (a one-sided group's lines alone; a line without speech alone, in a group of
    its own); ``progress(lines done)`` after each line's encoder pass."""
    check_voice_model(model)
    readings = read_lines(model, lines, window, hop, min_pause, voice=True, progress=progress)
    if not readings:
        return []
    speech = np.array([r.speech for r in readings])
    groups = np.empty(len(readings), dtype=np.int64)
    if speech.any():
        groups[speech] = group_voices(model.voice_space.embed(np.stack([r.voice_state for r in readings
                                                                        if r.speech])),
                                      model.voice_space.threshold)
    first_alone = int(groups[speech].max()) + 1 if speech.any() else 0
    groups[~speech] = first_alone + np.arange(int((~speech).sum()))
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
            out[i] = VoiceReading(reading.name, probabilities, group, reading.speech)
    return out


def reference_for_line(readings: list[VoiceReading], name: str, folder: str) -> tuple[ActorReference | None, str]:
    """The actor reference of line ``name``'s own voice among ``readings`` (the recordings of
    its folder, ``folder``, read by voice; the line among them), named "FOLDER voice", and a
    sentence for people on what was found. None when the line has no speech, no other line
    shares its voice, or they mostly sound alike (a reference of one mood hides that mood)."""
    own = next((r for r in readings if r.name == name), None)
    if own is None:
        raise ParameterError(f"cannot read {Path(name).name}")
    if not own.speech:
        return None, f"No speech was detected in {Path(name).name}, so its voice cannot be matched."
    group = own.group
    if len(group.members) == 1:
        return None, f"None of the other {len(readings) - 1} recordings in {folder} has this voice."
    if group.reference is None:
        return None, (f"{len(group.members)} recordings in {folder} share this voice, but most of them sound "
                      "alike: a reference of one mood would hide that mood, so none was made.")
    reference = dataclasses.replace(group.reference, name=f"{folder} voice",
                                    lines=tuple(Path(line).name for line in group.reference.lines))
    return reference, f"{len(group.members)} of the {len(readings)} recordings in {folder} share this voice."

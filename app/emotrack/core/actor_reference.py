"""An actor reference: what an actor's voice sounds like on average, across their lines.

Emotion in the voice is a departure from the speaker's own habits: a deep, slow voice
is not sad, and a bright, fast one is not joyful. A classifier that hears one line of an
unknown actor confuses the two. Given a reference (the mean encoder state over the
speech of many of the actor's lines), the actor-referenced emotion head reads each
window relative to that actor instead (``emotrack.ml.emotion.actor``).

The reference must span the actor's range: lines of one emotion only make that emotion
their "normal" and hide it. ``MIN_LINES`` is the fewest lines that the benchmark found
worth it (``benchmarks/emotion_accuracy.py --actor``).

Plain numpy + JSON, so projects and pipelines can keep references without torch. A
reference belongs to one encoder layer of one model (``model``): it means nothing to
another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError, ProjectError
from .atomic import write_json_atomic

FORMAT = "emotrack-actor-reference"
VERSION = 1
MIN_LINES = 12  # fewer lines than this: the accuracy gain is small and the risk large


@dataclass(frozen=True)
class ActorReference:
    """Mean encoder state over the speech windows of an actor's lines."""

    mean: np.ndarray  # [d_model] float32
    model: str  # the emotion model it was computed with (its head and encoder layer)
    layer: int  # encoder hidden state it averages
    lines: tuple[str, ...] = ()  # names of the lines it was made from, for the record
    windows: int = 0  # speech windows averaged
    name: str = ""  # the actor, as the user calls them

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float32)
        if mean.ndim != 1 or mean.size == 0:
            raise ParameterError(f"an actor reference's mean must be a non-empty vector, got shape {mean.shape}")
        if not np.all(np.isfinite(mean)):
            raise ParameterError("an actor reference's mean holds NaN or infinite values")
        if self.windows < 1:
            raise ParameterError("an actor reference needs at least one speech window")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "lines", tuple(self.lines))

    @property
    def too_few_lines(self) -> bool:
        return len(self.lines) < MIN_LINES

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "name": self.name, "model": self.model,
                "layer": self.layer, "lines": list(self.lines), "windows": self.windows,
                "mean": [round(float(v), 6) for v in self.mean]}

    @classmethod
    def from_json(cls, data: object, source: str = "actor reference") -> ActorReference:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProjectError(f"{source} is not an Emotrack actor reference (format {FORMAT!r} expected)")
        if data.get("version") != VERSION:
            raise ProjectError(f"{source}: actor reference version {data.get('version')!r} is not supported "
                               f"(this Emotrack reads version {VERSION})")
        try:
            return cls(mean=np.asarray(data["mean"], dtype=np.float32), model=str(data["model"]),
                       layer=int(data["layer"]), lines=tuple(str(line) for line in data.get("lines", ())),
                       windows=int(data["windows"]), name=str(data.get("name", "")))
        except (KeyError, TypeError, ValueError) as error:
            raise ProjectError(f"{source}: damaged actor reference ({error})") from error

    def save(self, path: str | Path) -> Path:
        return write_json_atomic(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> ActorReference:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProjectError(f"actor reference not found: {path}") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ProjectError(f"cannot read actor reference {path}: {error}") from error
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ProjectError(f"{path} is not valid JSON (line {error.lineno}): a damaged actor reference?") \
                from error
        return cls.from_json(data, str(path))


@dataclass
class ReferenceAccumulator:
    """Sums speech-window states line by line, so a reference over hundreds of lines
    never holds their windows at once."""

    total: np.ndarray | None = None
    windows: int = 0
    lines: list[str] = field(default_factory=list)

    def add(self, line: str, window_states: np.ndarray) -> None:
        states = np.asarray(window_states, dtype=np.float64)
        if states.ndim != 2 or len(states) == 0:
            return  # a line without speech adds nothing
        self.total = states.sum(axis=0) if self.total is None else self.total + states.sum(axis=0)
        self.windows += len(states)
        self.lines.append(line)

    def reference(self, model: str, layer: int, name: str = "") -> ActorReference:
        if self.total is None:
            raise ParameterError("none of the lines holds speech: no actor reference can be made")
        return ActorReference(mean=(self.total / self.windows).astype(np.float32), model=model, layer=layer,
                              lines=tuple(self.lines), windows=self.windows, name=name)

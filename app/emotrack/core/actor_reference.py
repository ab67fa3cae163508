"""An actor reference: what an actor's voice sounds like on average, across their lines.

Emotion in the voice is a departure from the speaker's own habits: a deep, slow voice
is not sad, and a bright, fast one is not joyful. A classifier that hears one line of an
unknown actor confuses the two. Given a reference (the mean encoder state over the
speech of many of the actor's lines), the actor-referenced emotion head reads each
window relative to that actor instead (``emotrack.ml.emotion.actor``).

The reference must span the actor's range: lines of one emotion only make that emotion
their "normal" and hide it. ``MIN_LINES`` is the number of lines from which the benchmark
found the full gain (``benchmarks/emotion_accuracy.py --actor``; the head leans a
reference of fewer lines on the training speakers' average voice), and each reference
counts the moods the plain emotion head hears in its lines, so that a one-sided session
is flagged (:meth:`ActorReference.warnings`).

Plain numpy + JSON, so projects and pipelines can keep references without torch. A
reference belongs to the encoder layers of one model (``model``, ``layers``): it means
nothing to another.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ParameterError, ProjectError
from ..resources import ACTOR_FOLDER
from .atomic import write_json_atomic

FORMAT = "emotrack-actor-reference"
VERSION = 2  # 2: several encoder layers ("layers"); version 1 held one ("layer")
MIN_LINES = 12  # fewer lines than this: the head blends the reference with its prior, and gains less
# More of the lines than this heard as one emotion (by the plain head): a one-sided session.
ONE_SIDED_SHARE = 0.5


@dataclass(frozen=True)
class ActorReference:
    """Mean encoder state over the speech windows of an actor's lines."""

    mean: np.ndarray  # [d_model * len(layers)] float32: the layers' means, concatenated
    model: str  # the emotion model it was computed with (its head and encoder layers)
    layers: tuple[int, ...]  # encoder hidden states it averages
    lines: tuple[str, ...] = ()  # names of the lines it was made from, for the record
    windows: int = 0  # speech windows averaged
    name: str = ""  # the actor, as the user calls them
    moods: dict[str, int] = field(default_factory=dict)  # lines per emotion the plain head hears

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float32)
        if mean.ndim != 1 or mean.size == 0:
            raise ParameterError(f"an actor reference's mean must be a non-empty vector, got shape {mean.shape}")
        if not np.all(np.isfinite(mean)):
            raise ParameterError("an actor reference's mean holds NaN or infinite values")
        if self.windows < 1:
            raise ParameterError("an actor reference needs at least one speech window")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "layers", tuple(int(layer) for layer in self.layers))
        if not self.layers:
            raise ParameterError("an actor reference must name the encoder layers it averages")
        object.__setattr__(self, "lines", tuple(self.lines))
        object.__setattr__(self, "moods", dict(self.moods))

    @property
    def too_few_lines(self) -> bool:
        return len(self.lines) < MIN_LINES

    @property
    def dominant_mood(self) -> tuple[str, float]:
        """(the emotion heard in most lines, its share of the lines); ("", 0) when unknown."""
        total = sum(self.moods.values())
        if not total:
            return "", 0.0
        mood = max(self.moods, key=self.moods.get)
        return mood, self.moods[mood] / total

    @property
    def one_sided(self) -> bool:
        """Most lines sound alike: the reference would make that mood the actor's normal."""
        return self.dominant_mood[1] > ONE_SIDED_SHARE

    def warnings(self) -> list[str]:
        """What the user should know before trusting this reference."""
        notes = []
        if self.too_few_lines:
            notes.append(f"it holds {len(self.lines)} lines; under {MIN_LINES} lines (spanning several emotions) "
                         "it leans on the average voice of the speakers the model was trained on, and helps less")
        if self.one_sided:
            mood, share = self.dominant_mood
            notes.append(f"{share:.0%} of its lines sound like {mood}: a reference of one mood hides that mood "
                         "(add lines of other moods)")
        return notes

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "name": self.name, "model": self.model,
                "layers": list(self.layers), "lines": list(self.lines), "windows": self.windows,
                "moods": dict(self.moods), "mean": [round(float(v), 6) for v in self.mean]}

    @classmethod
    def from_json(cls, data: object, source: str = "actor reference") -> ActorReference:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ProjectError(f"{source} is not an Emotrack actor reference (format {FORMAT!r} expected)")
        if data.get("version") not in (1, VERSION):
            raise ProjectError(f"{source}: actor reference version {data.get('version')!r} is not supported "
                               f"(this Emotrack reads versions 1 to {VERSION})")
        try:
            layers = [data["layer"]] if data["version"] == 1 else data["layers"]
            return cls(mean=np.asarray(data["mean"], dtype=np.float32), model=str(data["model"]),
                       layers=tuple(int(layer) for layer in layers),
                       lines=tuple(str(line) for line in data.get("lines", ())),
                       windows=int(data["windows"]), name=str(data.get("name", "")),
                       moods={str(k): int(v) for k, v in dict(data.get("moods", {})).items()})
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


def actor_head_id(model: str | None) -> str | None:
    """The encoder identity that the actor head of emotion model ``model`` (bundled name or
    folder) asks of references, read from its config.json without loading the model;
    None when it has no actor head (or its config cannot be read)."""
    from ..resources import emotion_model_dir

    config = emotion_model_dir(model) / ACTOR_FOLDER / "config.json"
    try:
        return str(json.loads(config.read_text(encoding="utf-8")).get("reference_id", ""))
    except (OSError, ValueError, AttributeError):
        return None


@dataclass
class ReferenceAccumulator:
    """Sums speech-window states line by line, so a reference over hundreds of lines
    never holds their windows at once."""

    total: np.ndarray | None = None
    windows: int = 0
    lines: list[str] = field(default_factory=list)
    moods: dict[str, int] = field(default_factory=dict)

    def add(self, line: str, window_states: np.ndarray, mood: str | None = None) -> None:
        """``mood``: the emotion heard in the line without a reference, if known."""
        states = np.asarray(window_states, dtype=np.float64)
        if states.ndim != 2 or len(states) == 0:
            return  # a line without audio adds nothing
        self.add_sum(line, states.sum(axis=0), len(states), mood)

    def add_sum(self, line: str, state_sum: np.ndarray, windows: int, mood: str | None = None) -> None:
        """A line given by the sum of its ``windows`` window states."""
        if windows < 1:
            return
        state_sum = np.asarray(state_sum, dtype=np.float64)
        self.total = state_sum if self.total is None else self.total + state_sum
        self.windows += int(windows)
        self.lines.append(line)
        if mood:
            self.moods[mood] = self.moods.get(mood, 0) + 1

    def reference(self, model: str, layers: tuple[int, ...], name: str = "") -> ActorReference:
        if self.total is None:
            raise ParameterError("none of the lines holds speech: no actor reference can be made")
        return ActorReference(mean=(self.total / self.windows).astype(np.float32), model=model, layers=layers,
                              lines=tuple(self.lines), windows=self.windows, name=name, moods=self.moods)

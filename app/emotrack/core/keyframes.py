"""Emotion keyframes and the curves they define.

A :class:`Keyframe` is immutable: edits make new keyframes, so an undo command can hold
the before and after tracks by reference and a view can compare identities cheaply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from ..errors import ParameterError

KeyframeSource = Literal["inferred", "edited"]


@dataclass(frozen=True, eq=False)
class Keyframe:
    """One emotion key.

    ``values`` is what the animation shows (sums to 1). ``inferred`` is the network's
    vector before heuristics, kept so heuristics can be re-applied live; it is None for
    keyframes the user added. A ``locked`` keyframe is never rewritten by re-analysis or
    heuristics. ``low_confidence`` marks keys inferred over audio flagged as bad.
    """

    time: float
    values: tuple[float, ...]
    inferred: tuple[float, ...] | None = None
    locked: bool = False
    source: KeyframeSource = "inferred"
    low_confidence: bool = False
    id: int = field(default=-1)  # stable identity for selection and undo; set by the track

    def __post_init__(self) -> None:
        if not np.isfinite(self.time) or self.time < 0:
            raise ParameterError(f"keyframe time must be a finite number >= 0, got {self.time!r}")
        object.__setattr__(self, "values", tuple(float(x) for x in self.values))
        if self.inferred is not None:
            object.__setattr__(self, "inferred", tuple(float(x) for x in self.inferred))
        if any(not np.isfinite(x) or x < 0 for x in self.values):
            raise ParameterError(f"keyframe values must be finite and >= 0, got {self.values}")

    @property
    def vector(self) -> np.ndarray:
        return np.asarray(self.values)

    def with_values(self, values: tuple[float, ...]) -> "Keyframe":
        """A copy with new ``values``, skipping validation: for values the heuristics
        computed (finite, >= 0), where re-validating hundreds of keys per slider step
        would cost more than the blend itself."""
        fields = self.__dict__.copy()
        fields["values"] = values
        copy = object.__new__(Keyframe)
        object.__setattr__(copy, "__dict__", fields)
        return copy

    def edited(self, values: Sequence[float]) -> "Keyframe":
        """The user set these values: the key becomes edited and locked."""
        return replace(self, values=tuple(values), locked=True, source="edited")


class IdAllocator:
    """Hands out keyframe ids unique within one project."""

    def __init__(self, start: int = 0) -> None:
        self._next = start

    def __call__(self) -> int:
        self._next += 1
        return self._next - 1

    def see(self, used: int) -> None:
        self._next = max(self._next, used + 1)


def sorted_track(keyframes: Sequence[Keyframe]) -> tuple[Keyframe, ...]:
    return tuple(sorted(keyframes, key=lambda k: (k.time, k.id)))


def track_arrays(keyframes: Sequence[Keyframe], n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """(times[n], values[n, n_labels]) of a time-sorted track."""
    if not keyframes:
        return np.zeros(0), np.zeros((0, n_labels))
    times = np.fromiter((k.time for k in keyframes), dtype=np.float64, count=len(keyframes))
    values = np.array([k.values for k in keyframes], dtype=np.float64)
    return times, values


def sample_curves(keyframes: Sequence[Keyframe], times: np.ndarray, n_labels: int) -> np.ndarray:
    """Curve values at ``times``: linear between keys, held before the first and after the last.

    Returns (len(times), n_labels); with no keyframes every sample is all-zero.
    """
    times = np.asarray(times, dtype=np.float64)
    key_times, key_values = track_arrays(keyframes, n_labels)
    if len(key_times) == 0:
        return np.zeros((len(times), n_labels))
    return np.stack(
        [np.interp(times, key_times, key_values[:, j]) for j in range(n_labels)], axis=1
    )

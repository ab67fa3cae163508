"""Analysis and heuristic settings: frozen dataclasses with validated ranges.

Frozen so that an undo command can keep the before/after settings by reference, and so a
settings object seen by a worker thread never changes underneath it. Use
``dataclasses.replace(settings, field=value)`` to derive a changed copy; ``validate()``
runs on construction and raises :class:`ParameterError` naming the field and its range.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal

from ..errors import ParameterError
from .emotions import EMOTIONS

SAMPLE_RATE = 16_000

KeyframeAnchor = Literal["start", "middle", "end"]
ANCHORS: tuple[str, ...] = ("start", "middle", "end")


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    if not (low <= value <= high):
        raise ParameterError(f"{name} must be between {low:g} and {high:g}, got {value:g}")


@dataclass(frozen=True)
class AnalysisSettings:
    """How windows of audio become keyframes (patent FIG. 2B).

    A window of ``window`` samples slides by ``hop`` samples; every window whose centre
    falls inside a keyframe frame of ``keyframe_interval`` seconds contributes to that
    frame's vector. Valid ranges follow the patent: W/10 <= hop <= W/2 and
    F/10 <= W <= 9F/10, with F the frame length in samples.
    """

    window: int = 14_400  # 0.9 s at 16 kHz: 9/10 of the default 1 s frame
    hop: int = 7_200  # W/2: two window passes per window length
    keyframe_interval: float = 1.0  # seconds (F)
    anchor: KeyframeAnchor = "middle"  # where in its frame a keyframe is placed
    adaptive: bool = False  # cut keyframes at pauses and emotion changes instead
    switch_margin: float = 0.15  # adaptive: a rival must lead the current emotion by this
    switch_windows: int = 2  # adaptive: ... for more than this many consecutive windows
    min_pause: float = 0.25  # seconds of non-speech that count as a pause
    batch_size: int = 32

    def __post_init__(self) -> None:
        self.validate()

    @property
    def frame_samples(self) -> int:
        return int(round(self.keyframe_interval * SAMPLE_RATE))

    def validate(self) -> None:
        for name in ("window", "hop", "switch_windows", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ParameterError(f"{name} must be a positive whole number, got {value!r}")
        _check_range("keyframe_interval (s)", self.keyframe_interval, 0.05, 60.0)
        _check_range("window (samples)", self.window, 400, 30 * SAMPLE_RATE)
        if self.anchor not in ANCHORS:
            raise ParameterError(f"anchor must be one of {', '.join(ANCHORS)}, got {self.anchor!r}")
        _check_range("switch_margin", self.switch_margin, 0.0, 1.0)
        _check_range("min_pause (s)", self.min_pause, 0.0, 10.0)
        w, h, f = self.window, self.hop, self.frame_samples
        if not (w / 10 <= h <= w / 2):
            raise ParameterError(
                f"hop must be between window/10 and window/2 ({w / 10:.0f}..{w / 2:.0f} samples "
                f"for a {w}-sample window), got {h}"
            )
        if not self.adaptive and not (f / 10 <= w <= 9 * f / 10):
            raise ParameterError(
                f"window must be between 1/10 and 9/10 of the keyframe interval "
                f"({f / 10:.0f}..{9 * f / 10:.0f} samples for {self.keyframe_interval:g} s), got {w}"
            )

    def needs_inference_since(self, other: "AnalysisSettings") -> bool:
        """Whether going from ``other`` to self changes the windows the network sees."""
        return (self.window, self.hop) != (other.window, other.hop)


@dataclass(frozen=True)
class HeuristicSettings:
    """Post-processing of inferred emotion vectors; each step can be switched off.

    Applied in this order to every unlocked keyframe (see ``heuristics.apply``):
    smoothing → contrast → strength → prior → threshold → max emotions → normalise.
    """

    smoothing_enabled: bool = False
    smoothing: int = 3  # N neighbouring keyframes (2-10)
    contrast_enabled: bool = False
    contrast: float = 1.0  # exponent: > 1 sharpens, < 1 flattens
    strength_enabled: bool = True
    strengths: tuple[float, ...] = field(default=(1.0,) * len(EMOTIONS))
    prior_enabled: bool = False
    prior_emotion: str = "neutral"
    prior_strength: float = 0.0  # 0.9 ≈ mostly the prior, 0.3 ≈ a tint
    threshold_enabled: bool = False
    threshold: float = 0.1  # emotions below this share are not "present"
    max_emotions_enabled: bool = False
    max_emotions: int = 2

    def __post_init__(self) -> None:
        # Accept lists (from JSON) but store a tuple so the dataclass stays hashable.
        object.__setattr__(self, "strengths", tuple(float(s) for s in self.strengths))
        self.validate()

    def validate(self) -> None:
        if isinstance(self.smoothing, bool) or not isinstance(self.smoothing, int):
            raise ParameterError(f"smoothing must be a whole number of keyframes, got {self.smoothing!r}")
        _check_range("smoothing (keyframes)", self.smoothing, 2, 10)
        _check_range("contrast", self.contrast, 0.1, 10.0)
        if len(self.strengths) != len(EMOTIONS):
            raise ParameterError(f"strengths needs {len(EMOTIONS)} values, got {len(self.strengths)}")
        for name, value in zip(EMOTIONS, self.strengths):
            _check_range(f"{name} strength", value, 0.0, 1.0)
        if self.prior_emotion not in EMOTIONS:
            raise ParameterError(
                f"prior emotion must be one of {', '.join(EMOTIONS)}, got {self.prior_emotion!r}"
            )
        _check_range("prior strength", self.prior_strength, 0.0, 1.0)
        _check_range("threshold", self.threshold, 0.0, 0.9)
        if isinstance(self.max_emotions, bool) or not isinstance(self.max_emotions, int):
            raise ParameterError(f"max emotions must be a whole number, got {self.max_emotions!r}")
        _check_range("max emotions", self.max_emotions, 1, len(EMOTIONS))

    def with_strength(self, emotion: str, value: float) -> "HeuristicSettings":
        strengths = list(self.strengths)
        strengths[EMOTIONS.index(emotion)] = value
        return replace(self, strengths=tuple(strengths))


def settings_to_dict(settings: AnalysisSettings | HeuristicSettings) -> dict[str, Any]:
    data = asdict(settings)
    if isinstance(settings, HeuristicSettings):
        data["strengths"] = dict(zip(EMOTIONS, settings.strengths))
    return data


def settings_from_dict(cls: type, data: dict[str, Any]):
    """Build settings from a dict, naming unknown keys instead of ignoring them."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ParameterError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
    data = dict(data)
    if cls is HeuristicSettings and isinstance(data.get("strengths"), dict):
        given = data["strengths"]
        extra = sorted(set(given) - set(EMOTIONS))
        if extra:
            raise ParameterError(f"strengths name unknown emotion(s): {', '.join(extra)}")
        data["strengths"] = tuple(float(given.get(e, 1.0)) for e in EMOTIONS)
    return cls(**data)

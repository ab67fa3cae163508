"""From per-window emotion probabilities to keyframes (times + raw vectors).

The network's output is kept as :class:`WindowProbabilities`, so changing the keyframe
interval, anchor or adaptive mode re-keys the clip here without running the network
again; only a change of window or hop needs new inference.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .emotions import EMOTIONS
from .settings import AnalysisSettings
from .vad import VoiceActivity
from .windowing import anchor_time, frame_starts, pool_windows_into_frames, window_centres

NEUTRAL = EMOTIONS.index("neutral")
# A window counts as speech when at least this share of it is voiced.
MIN_VOICED_SHARE = 0.3


@dataclass(frozen=True)
class WindowProbabilities:
    """The network's output for one clip: one probability row per window."""

    starts: np.ndarray  # window start samples
    window: int  # samples
    hop: int
    probabilities: np.ndarray  # (n_windows, n_labels)
    n_samples: int
    sample_rate: int

    @property
    def centres_seconds(self) -> np.ndarray:
        return window_centres(self.starts, self.window, self.n_samples) / self.sample_rate

    def clip_vector(self, voice: VoiceActivity | None = None) -> np.ndarray:
        """Clip-level probabilities: the mean over the windows that hold speech.

        With ``voice``, windows under ``MIN_VOICED_SHARE`` speech do not vote, as they
        get no keyframe emotion either: the network never heard silence in training,
        and leading and trailing silence can be half of a short line. Without speech
        anywhere (or without ``voice``), every window votes.
        """
        if len(self.probabilities) == 0:
            raise ValueError("no windows to combine")
        return self.probabilities[voting_windows(self, voice)].mean(axis=0)


@dataclass(frozen=True)
class KeySpec:
    """A keyframe the analysis proposes: time (s) and the raw (pre-heuristic) vector."""

    time: float
    vector: np.ndarray
    start: float  # the span of audio this key summarises, seconds
    end: float


def _neutral(n_labels: int) -> np.ndarray:
    v = np.zeros(n_labels)
    v[NEUTRAL] = 1.0
    return v


def voiced_windows(wp: WindowProbabilities, voice: VoiceActivity | None) -> np.ndarray:
    """Which windows hold at least ``MIN_VOICED_SHARE`` speech (all of them without ``voice``)."""
    if voice is None:
        return np.ones(len(wp.starts), dtype=bool)
    sr = wp.sample_rate
    ends = np.minimum(wp.starts + wp.window, wp.n_samples)
    return np.array(
        [voice.fraction(s / sr, e / sr) >= MIN_VOICED_SHARE for s, e in zip(wp.starts, ends)],
        dtype=bool,
    )


class NoSpeechWarning(UserWarning):
    """No analysis window of a clip holds speech, so its emotion is read from all of its
    sound (the network never heard silence or noise alone in training)."""


def warn_no_speech(name: str, consequence: str = "") -> None:
    warnings.warn(f"no speech detected in {name}: its emotion is read from all of its sound{consequence}",
                  NoSpeechWarning, stacklevel=3)


def voting_windows(wp: WindowProbabilities, voice: VoiceActivity | None) -> np.ndarray:
    """The windows a clip-level vector averages: those that hold speech, or all of them
    when none does (see :meth:`WindowProbabilities.clip_vector`)."""
    voiced = voiced_windows(wp, voice)
    if not voiced.any():
        voiced[:] = True
    return voiced


def fixed_keyframes(
    wp: WindowProbabilities, settings: AnalysisSettings, voice: VoiceActivity | None = None
) -> list[KeySpec]:
    """One key per frame of ``keyframe_interval`` seconds; silent frames are neutral."""
    sr = wp.sample_rate
    frame = settings.frame_samples
    frames = frame_starts(wp.n_samples, frame)
    ends = np.minimum(frames + frame, max(wp.n_samples, 1))
    n_labels = wp.probabilities.shape[1]
    voiced = voiced_windows(wp, voice)
    centres = window_centres(wp.starts, wp.window, wp.n_samples)
    if voiced.any():
        pooled = pool_windows_into_frames(wp.probabilities[voiced], centres[voiced], frames, frame)
    else:
        pooled = np.tile(_neutral(n_labels), (len(frames), 1))
    times = anchor_time(frames, ends, settings.anchor) / sr
    keys = []
    for start, end, time, vector in zip(frames, ends, times, pooled):
        if voice is not None and voice.fraction(start / sr, end / sr) == 0.0:
            vector = _neutral(n_labels)
        keys.append(KeySpec(float(time), vector, start / sr, end / sr))
    return keys


def _emotion_cuts(probabilities: np.ndarray, margin: float, patience: int) -> list[int]:
    """Window indices where a new key starts: a rival leads the current emotion by more
    than ``margin`` for more than ``patience`` consecutive windows."""
    cuts = [0]
    current = int(np.argmax(probabilities[0]))
    run_start, run_length, rival = 0, 0, -1
    for i, p in enumerate(probabilities):
        leader = int(np.argmax(p))
        if leader != current and p[leader] - p[current] > margin:
            if leader != rival:
                rival, run_start, run_length = leader, i, 0
            run_length += 1
            if run_length > patience:
                cuts.append(run_start)
                current, rival, run_length = leader, -1, 0
        else:
            rival, run_length = -1, 0
    return cuts


def adaptive_keyframes(
    wp: WindowProbabilities, settings: AnalysisSettings, voice: VoiceActivity
) -> list[KeySpec]:
    """Keys at the start of each stretch of speech and where the emotion changes; pauses
    get a neutral key, since silence is not given an emotion."""
    sr = wp.sample_rate
    n_labels = wp.probabilities.shape[1]
    duration = wp.n_samples / sr
    centres = wp.centres_seconds
    keys: list[KeySpec] = []
    cursor = 0.0
    for seg_start, seg_end in voice.segments():
        seg_end = min(seg_end, duration)
        if seg_start > cursor:
            keys.append(_span_key(cursor, seg_start, _neutral(n_labels), settings.anchor))
        inside = np.flatnonzero((centres >= seg_start) & (centres < seg_end))
        if inside.size == 0:
            inside = np.array([int(np.argmin(np.abs(centres - (seg_start + seg_end) / 2)))])
        probs = wp.probabilities[inside]
        cuts = _emotion_cuts(probs, settings.switch_margin, settings.switch_windows)
        bounds = [seg_start] + [float(centres[inside[c]] - wp.hop / sr / 2) for c in cuts[1:]] + [seg_end]
        for k, (a, b) in enumerate(zip(cuts, cuts[1:] + [len(probs)])):
            keys.append(_span_key(bounds[k], bounds[k + 1], probs[a:b].mean(axis=0), settings.anchor))
        cursor = seg_end
    if cursor < duration or not keys:
        keys.append(_span_key(cursor, max(duration, cursor), _neutral(n_labels), settings.anchor))
    return keys


def _span_key(start: float, end: float, vector: np.ndarray, anchor: str) -> KeySpec:
    time = float(anchor_time(np.array([start]), np.array([end]), anchor)[0])
    return KeySpec(time, vector, start, end)


def propose_keyframes(
    wp: WindowProbabilities, settings: AnalysisSettings, voice: VoiceActivity | None
) -> list[KeySpec]:
    if settings.adaptive:
        if voice is None:
            raise ValueError("adaptive keyframes need voice activity")
        return adaptive_keyframes(wp, settings, voice)
    return fixed_keyframes(wp, settings, voice)
